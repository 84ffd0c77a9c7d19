"""Data: a COCO dataset that checks its annotation file, the bundled
synthetic demo data, and the training transforms."""
from .coco_dataset import (CheckedCocoDataset, load_coco_json,
                           write_coco_splits)
from .demo_data import DEMO_CLASSES, generate_demo_dataset
from .transforms import (FilterSmallBoxes, M2DetExpand,
                         M2DetPhotoMetricDistortion, M2DetRandomCrop,
                         RandomInterpResize)

__all__ = [
    'CheckedCocoDataset', 'DEMO_CLASSES', 'FilterSmallBoxes', 'M2DetExpand',
    'M2DetPhotoMetricDistortion', 'M2DetRandomCrop', 'RandomInterpResize',
    'generate_demo_dataset', 'load_coco_json', 'write_coco_splits'
]
