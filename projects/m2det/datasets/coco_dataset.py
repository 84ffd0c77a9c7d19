"""A COCO dataset that checks its files before a run starts on them."""
import json
import os
import os.path as osp
from functools import partial
from typing import Dict, List

from mmdet.datasets import CocoDataset
from mmdet.datasets.api_wrappers import COCO
from mmdet.registry import DATASETS
from mmengine.logging import MMLogger


def write_coco_splits(out: str, splits: Dict[str, dict]) -> Dict[str, int]:
    """Write each split's COCO dict to ``out/annotations/<split>.json``.

    Returns:
        dict: ``<split>_images`` and ``<split>_boxes`` of every split, what
        the dataset converters print.
    """
    os.makedirs(osp.join(out, 'annotations'), exist_ok=True)
    counts = {}
    for split, coco in splits.items():
        with open(osp.join(out, 'annotations', split + '.json'), 'w') as f:
            json.dump(coco, f)
        counts[f'{split}_images'] = len(coco['images'])
        counts[f'{split}_boxes'] = len(coco['annotations'])
    return counts


def load_coco_json(path: str, with_annotations: bool = True) -> dict:
    """Load a COCO detection json, with errors that name the file and field.

    Args:
        path (str): The annotation file.
        with_annotations (bool): Whether the file must have an
            ``annotations`` list. Image-info files such as COCO test-dev's
            have none. Defaults to True.

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
    if not with_annotations:
        data.setdefault('annotations', [])
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

    def __init__(self,
                 annotation_file: str,
                 with_annotations: bool = True) -> None:
        super().__init__()
        self.dataset = load_coco_json(annotation_file, with_annotations)
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
    categories, that it lists images and that every one of them exists; each
    error names the file, the field or the config key and says what was
    expected. Boxes that mmdet leaves out (outside the image, under 1 px)
    are counted in a warning, and in training an image that fails to decode
    is logged and skipped. In test mode the file may lack ``annotations``
    (image-info files such as COCO test-dev's).

    Args:
        crowd_as_boxes (bool): Whether ``iscrowd`` boxes are trained on as
            ordinary boxes, as the official M2Det code does, instead of being
            ignored, as mmdet does. Defaults to False.
        **kwargs: The arguments of ``CocoDataset``.
    """

    def __init__(self, *args, crowd_as_boxes: bool = False, **kwargs) -> None:
        # read by parse_data_info while the parent's __init__ loads the file
        self.crowd_as_boxes = crowd_as_boxes
        super().__init__(*args, **kwargs)

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
        self._dropped = dict(outside=0, tiny=0)
        self.COCOAPI = partial(
            CheckedCOCO, with_annotations=not self.test_mode)
        data_list = super().load_data_list()
        classes = self.metainfo['classes']
        if len(self.cat_ids) != len(classes):
            # error path only: read the names again, the index is gone
            categories = load_coco_json(
                self.ann_file,
                with_annotations=not self.test_mode)['categories']
            names = {c['name'] for c in categories}
            raise ValueError(
                f"annotation file '{self.ann_file}' has no categories named "
                f'{[c for c in classes if c not in names]}: the config\'s '
                f'classes (metainfo.classes) are {list(classes)}, the '
                f'file\'s categories are {sorted(names)}')
        if not data_list:
            raise ValueError(
                f"annotation file '{self.ann_file}' lists no images; expected "
                "at least one entry in 'images'")
        missing = [d['img_path'] for d in data_list
                   if not osp.isfile(d['img_path'])]
        if missing:
            raise FileNotFoundError(
                f"{len(missing)} of the {len(data_list)} images of "
                f"'{self.ann_file}' are missing, e.g. {missing[:3]}")
        self._report_dropped_boxes()
        return data_list

    def parse_data_info(self, raw_data_info: dict) -> dict:
        """Parse one image as ``CocoDataset`` does, counting the boxes it
        silently leaves out: wholly outside the image, or under 1 px wide or
        high (or of area <= 0)."""
        img = raw_data_info['raw_img_info']
        for ann in raw_data_info['raw_ann_info']:
            x, y, w, h = ann['bbox']
            inter_w = max(0, min(x + w, img['width']) - max(x, 0))
            inter_h = max(0, min(y + h, img['height']) - max(y, 0))
            if inter_w * inter_h == 0:
                self._dropped['outside'] += 1
            elif ann.get('area', w * h) <= 0 or w < 1 or h < 1:
                self._dropped['tiny'] += 1
            else:
                continue
            self._dropped.setdefault('example',
                                     (img['file_name'], ann['bbox']))
        data_info = super().parse_data_info(raw_data_info)
        if self.crowd_as_boxes:
            for instance in data_info['instances']:
                instance['ignore_flag'] = 0
        return data_info

    def _report_dropped_boxes(self) -> None:
        """Log how many boxes :meth:`parse_data_info` saw dropped, so that a
        broken annotation file does not go unnoticed."""
        outside, tiny = self._dropped['outside'], self._dropped['tiny']
        if outside or tiny:
            file_name, bbox = self._dropped['example']
            MMLogger.get_current_instance().warning(
                f"'{self.ann_file}': skipped {outside} boxes outside their "
                f'image and {tiny} under 1 px wide or high (or with area <= '
                f'0), e.g. {bbox} in {file_name}')

    def prepare_data(self, idx: int):
        """Run the pipeline; in training, skip an image that fails to load.

        A corrupt or vanished image among thousands should not end a long
        run: outside test mode it is logged and mmengine's dataset draws
        another sample (it retries when this returns None). In test mode
        every image counts, so the error stands, naming the file.
        """
        try:
            return super().prepare_data(idx)
        except (AssertionError, FileNotFoundError) as error:
            if isinstance(error, AssertionError) and \
                    'failed to load image' not in str(error):
                raise
            if self.test_mode:
                raise
            path = self.get_data_info(idx)['img_path']
            MMLogger.get_current_instance().warning(
                f"skipped image '{path}': it failed to load ({error}); "
                'training goes on with another image')
            return None
