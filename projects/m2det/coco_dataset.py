"""A COCO dataset that checks its files before a run starts on them."""
import json
import os.path as osp
from typing import List

from mmdet.datasets import CocoDataset
from mmdet.datasets.api_wrappers import COCO
from mmdet.registry import DATASETS


def load_coco_json(path: str) -> dict:
    """Load a COCO detection json, with errors that name the file and field.

    Args:
        path (str): The annotation file.

    Returns:
        dict: The parsed annotations.
    """
    with open(path) as f:
        try:
            data = json.load(f)
        except json.JSONDecodeError as e:
            raise ValueError(
                f"annotation file '{path}' is not valid JSON ({e}); expected "
                'a COCO detection json') from None
    if not isinstance(data, dict):
        raise ValueError(
            f"annotation file '{path}' holds a {type(data).__name__}; "
            "expected a COCO json object with 'images', 'annotations' and "
            "'categories'")
    for field in ('images', 'annotations', 'categories'):
        if not isinstance(data.get(field), list):
            raise ValueError(
                f"annotation file '{path}' has no '{field}' list; expected "
                "a COCO json object with 'images', 'annotations' and "
                "'categories'")
    required = dict(
        images=('id', 'file_name', 'width', 'height'),
        annotations=('id', 'image_id', 'category_id', 'bbox'),
        categories=('id', 'name'))
    for field, keys in required.items():
        for i, entry in enumerate(data[field]):
            missing = [k for k in keys if k not in entry]
            if missing:
                raise ValueError(
                    f"annotation file '{path}': {field}[{i}] lacks "
                    f'{missing}; every entry of {field} needs {list(keys)}')
    for i, ann in enumerate(data['annotations']):
        bbox = ann['bbox']
        if not (isinstance(bbox, list) and len(bbox) == 4):
            raise ValueError(
                f"annotation file '{path}': annotations[{i}].bbox is "
                f'{bbox!r}; expected [x, y, width, height]')
    return data


class CheckedCOCO(COCO):
    """mmdet's COCO API, reading the file through :func:`load_coco_json`."""

    def __init__(self, annotation_file: str) -> None:
        super().__init__()
        self.dataset = load_coco_json(annotation_file)
        self.createIndex()
        # the aliases mmdet's wrapper makes, pointing at the new index
        self.img_ann_map = self.imgToAnns
        self.cat_img_map = self.catToImgs


@DATASETS.register_module()
class CheckedCocoDataset(CocoDataset):
    """``CocoDataset`` that stops with a clear message on bad input.

    mmdet's ``CocoDataset`` turns a missing data root into a bare
    ``FileNotFoundError``, a json without ``categories`` or with other class
    names into an empty dataset, and a non-COCO json into a ``KeyError``.
    This one checks, before any training starts, that the annotation file
    exists and is COCO, that every class of the config is among its
    categories and that the image folder exists; each error names the file,
    the field or the config key and says what was expected. Arguments are
    those of ``CocoDataset``.
    """

    COCOAPI = CheckedCOCO

    def load_data_list(self) -> List[dict]:
        """Check the annotation file and image folder, then load them."""
        if not osp.isfile(self.ann_file):
            where = (f" (data_root '{self.data_root}' does not exist)"
                     if self.data_root and not osp.isdir(self.data_root)
                     else '')
            raise FileNotFoundError(
                f"annotation file '{self.ann_file}' not found{where}; "
                'expected a COCO json: point the config at your data, e.g. '
                '--cfg-options data_root=/path/to/data/ (every dataset '
                'follows), or set the dataset\'s data_root and ann_file')
        img_dir = self.data_prefix.get('img', '')
        if img_dir and not osp.isdir(img_dir):
            raise FileNotFoundError(
                f"image folder '{img_dir}' not found; expected the images "
                "of the annotation file there: set the dataset's data_root "
                "and data_prefix.img")
        data_list = super().load_data_list()
        classes = self.metainfo['classes']
        if len(self.cat_ids) != len(classes):
            # error path only: read the names again, the index is gone
            categories = load_coco_json(self.ann_file)['categories']
            names = {c['name'] for c in categories}
            raise ValueError(
                f"annotation file '{self.ann_file}' has no categories named "
                f'{[c for c in classes if c not in names]}: the config\'s '
                f'classes (metainfo.classes) are {list(classes)}, the '
                f'file\'s categories are {sorted(names)}')
        return data_list
