"""The official training augmentation as mmdet transforms, and the
filters it needs."""
from .transforms import (FilterSmallBoxes, M2DetExpand,
                         M2DetPhotoMetricDistortion, M2DetRandomCrop,
                         RandomInterpResize)

__all__ = [
    'FilterSmallBoxes', 'M2DetExpand', 'M2DetPhotoMetricDistortion',
    'M2DetRandomCrop', 'RandomInterpResize'
]
