"""What a detection dataset asks of M2Det: its image and box sizes, how well
a config's priors match its boxes, and a config fitted to it.

``tools/misc/dataset_stats.py`` is the command line over this module.
"""
import math
import os.path as osp
import textwrap
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from mmdet.structures.bbox import bbox_overlaps

from ..models.anchor_generator import M2DetAnchorGenerator
from ..models.tum import tum_feature_sizes
from .coco_dataset import load_coco_json

# the square input sizes offered, smallest first (those of the configs)
INPUT_SIZES = (160, 320, 512, 704, 800)
# boxes smaller than this many pixels at the input are hard for any level
MIN_BOX_SIDE = 16


@dataclass
class DatasetBoxes:
    """The boxes of a dataset, in pixels of their images.

    Attributes:
        source (str): The file or folder they were read from.
        classes (tuple[str]): Class names, in label order.
        image_sizes (np.ndarray): (I, 2) width and height of every image.
        boxes (np.ndarray): (B, 4) x1, y1, x2, y2.
        image_index (np.ndarray): (B, ) the image of every box.
        labels (np.ndarray): (B, ) class index of every box.
    """
    source: str
    classes: Tuple[str, ...]
    image_sizes: np.ndarray
    boxes: np.ndarray
    image_index: np.ndarray
    labels: np.ndarray

    def boxes_at_input(self, input_size: int) -> np.ndarray:
        """The boxes after the square resize of the pipelines
        (``keep_ratio=False``): (B, 4) in pixels of the input."""
        scale = input_size / self.image_sizes[self.image_index]
        return self.boxes * np.tile(scale, 2)

    def boxes_per_image(self) -> np.ndarray:
        """(I, ) the number of boxes of every image."""
        return np.bincount(self.image_index,
                           minlength=len(self.image_sizes))


def read_coco(path: str) -> DatasetBoxes:
    """Read a COCO detection json (crowd boxes are left out, as in
    training)."""
    data = load_coco_json(path)
    categories = sorted(data['categories'], key=lambda c: c['id'])
    label_of = {c['id']: i for i, c in enumerate(categories)}
    index_of = {img['id']: i for i, img in enumerate(data['images'])}
    anns = [a for a in data['annotations'] if not a.get('iscrowd', 0)]
    for ann in anns:
        if ann['image_id'] not in index_of:
            raise ValueError(f"annotation file '{path}': annotation "
                             f"{ann['id']} names image {ann['image_id']}, "
                             "which is not in 'images'")
    xywh = np.array([a['bbox'] for a in anns], dtype=np.float64).reshape(-1, 4)
    return DatasetBoxes(
        source=path,
        classes=tuple(c['name'] for c in categories),
        image_sizes=np.array([[img['width'], img['height']]
                              for img in data['images']], dtype=np.float64),
        boxes=np.concatenate([xywh[:, :2], xywh[:, :2] + xywh[:, 2:]], 1),
        image_index=np.array([index_of[a['image_id']] for a in anns],
                             dtype=np.int64),
        labels=np.array([label_of[a['category_id']] for a in anns],
                        dtype=np.int64))


def read_voc(root: str, split: str = 'train',
             classes: Optional[Sequence[str]] = None) -> DatasetBoxes:
    """Read a Pascal VOC folder: ``ImageSets/Main/<split>.txt`` and
    ``Annotations/<id>.xml``.

    Args:
        root (str): The folder.
        split (str): The image set. Defaults to ``'train'``.
        classes (Sequence[str], optional): Class names in label order;
            None takes those found, sorted. Defaults to None.
    """
    id_file = osp.join(root, 'ImageSets', 'Main', f'{split}.txt')
    if not osp.isfile(id_file):
        raise FileNotFoundError(
            f'{id_file} not found; expected a Pascal VOC folder with '
            'ImageSets/Main/<split>.txt and Annotations/<id>.xml')
    with open(id_file) as f:
        ids = [line.split()[0] for line in f if line.strip()]
    sizes, objects = [], []
    for i, image_id in enumerate(ids):
        xml = osp.join(root, 'Annotations', f'{image_id}.xml')
        try:
            tree = ET.parse(xml).getroot()
            size = tree.find('size')
            sizes.append([float(size.find(k).text)
                          for k in ('width', 'height')])
            for obj in tree.iter('object'):
                box = obj.find('bndbox')
                objects.append((i, obj.find('name').text, [
                    float(box.find(k).text)
                    for k in ('xmin', 'ymin', 'xmax', 'ymax')
                ]))
        except (OSError, ET.ParseError, AttributeError, TypeError,
                ValueError) as error:
            raise ValueError(
                f'{xml}: not a Pascal VOC annotation with size/width, '
                f'size/height and object/name, object/bndbox ({error})'
            ) from None
    names = tuple(classes) if classes else tuple(
        sorted({name for _, name, _ in objects}))
    unknown = sorted({n for _, n, _ in objects} - set(names))
    if unknown:
        raise ValueError(f'{root}: classes {unknown} are not in {names}')
    return DatasetBoxes(
        source=root,
        classes=names,
        image_sizes=np.array(sizes, dtype=np.float64).reshape(-1, 2),
        boxes=np.array([b for *_, b in objects],
                       dtype=np.float64).reshape(-1, 4),
        image_index=np.array([i for i, *_ in objects], dtype=np.int64),
        labels=np.array([names.index(n) for _, n, _ in objects],
                        dtype=np.int64))


def pyramid(input_size: int, num_scales: int) -> Tuple[List[int], List[int]]:
    """The pyramid sides of an input (FFMv1 gives the TUMs the stride-8
    map) and the prior step of each level."""
    sides = tum_feature_sizes(math.ceil(input_size / 8), num_scales)
    return sides, [round(input_size / side) for side in sides]


def prior_generator(input_size: int, size_ratios: Sequence[float]
                    ) -> Tuple[M2DetAnchorGenerator, List[int]]:
    """M2Det's priors for ``input_size`` with ``size_ratios``, one level per
    ratio but the last, and the pyramid sides they are laid on."""
    sides, strides = pyramid(input_size, len(size_ratios) - 1)
    return M2DetAnchorGenerator(input_size, strides, size_ratios), sides


def level_match_shares(boxes: np.ndarray, generator: M2DetAnchorGenerator,
                       sides: Sequence[int],
                       iou: float = 0.5) -> Dict[str, float]:
    """The share of ``boxes`` (at the input) that each level's priors match
    at ``iou``, and the share no prior matches (only the forced match of
    training makes them positive).

    Returns:
        dict: ``level_<k>`` for every level and ``none``; a box can be
        matched on several levels.
    """
    priors = generator.grid_priors([(s, s) for s in sides], device='cpu')
    boxes = torch.as_tensor(boxes, dtype=torch.float32)
    matched = []
    for level in priors:
        hits = torch.zeros(len(boxes), dtype=torch.bool)
        # in chunks: boxes x priors IoUs of the 40x40 level are large
        for start in range(0, len(boxes), 256):
            chunk = boxes[start:start + 256]
            best = bbox_overlaps(chunk, level).max(1).values
            hits[start:start + 256] = best >= iou
        matched.append(hits)
    shares = {f'level_{k}': hits.float().mean().item()
              for k, hits in enumerate(matched)}
    any_level = torch.stack(matched).any(0) if matched else torch.zeros(0)
    shares['none'] = 1 - any_level.float().mean().item()
    return shares


def box_sides(boxes: np.ndarray) -> np.ndarray:
    """The side of the square of the same area as each box."""
    return np.sqrt(np.prod(boxes[:, 2:] - boxes[:, :2], axis=1).clip(0))


def choose_input_size(data: DatasetBoxes,
                      sizes: Sequence[int] = INPUT_SIZES) -> int:
    """The smallest of ``sizes`` at which nine boxes in ten have a side of
    at least :data:`MIN_BOX_SIDE` pixels, and no larger than the median
    image's longer side allows (never upsampling most images); the largest
    allowed if none is enough."""
    longest = float(np.median(data.image_sizes.max(1)))
    allowed = [s for s in sizes if s <= max(longest, sizes[0])]
    for size in allowed:
        if np.quantile(box_sides(data.boxes_at_input(size)),
                       0.1) >= MIN_BOX_SIDE:
            return size
    return allowed[-1]


def matched_share(boxes: np.ndarray, input_size: int,
                  size_ratios: Sequence[float]) -> float:
    """The share of ``boxes`` (at the input) that some prior matches at IoU
    0.5 with ``size_ratios``."""
    shares = level_match_shares(boxes,
                                *prior_generator(input_size, size_ratios))
    return 1 - shares['none']


def fit_size_ratios(data: DatasetBoxes, input_size: int, num_levels: int,
                    start: Optional[Sequence[float]] = None,
                    max_boxes: int = 2000) -> Tuple[float, ...]:
    """Prior sizes that match as many of the dataset's boxes as they can, as
    ratios of the input.

    Starts from the better of ``start`` and sizes growing geometrically from
    the 5th percentile of the box sides at the input to 1.2 times their 98th
    percentile, then moves one size at a time (by x0.8, x0.9, x1.1 or x1.25,
    keeping them increasing) while that raises the share of boxes some prior
    matches at IoU 0.5 (:func:`matched_share`), in three sweeps.

    Args:
        data (DatasetBoxes): The training boxes.
        input_size (int): The square input side.
        num_levels (int): Pyramid levels; ``num_levels + 1`` ratios result.
        start (Sequence[float], optional): Ratios to start from, say the base
            config's. Defaults to None.
        max_boxes (int): Boxes the share is measured on, drawn with a fixed
            seed from larger datasets. Defaults to 2000.

    Returns:
        tuple[float]: The ratios, rounded to 3 decimals.
    """
    boxes = data.boxes_at_input(input_size)
    if len(boxes) > max_boxes:
        pick = np.random.default_rng(0).choice(len(boxes), max_boxes,
                                               replace=False)
        boxes = boxes[pick]
    sides = box_sides(boxes)
    low = max(float(np.quantile(sides, 0.05)), 1.0)
    high = max(1.2 * float(np.quantile(sides, 0.98)), 2 * low)
    candidates = [tuple(np.geomspace(low, high, num_levels + 1) /
                        input_size)]
    if start is not None and len(start) == num_levels + 1:
        candidates.append(tuple(start))
    best = max(candidates, key=lambda r: matched_share(boxes, input_size, r))
    best_share = matched_share(boxes, input_size, best)
    for _ in range(3):
        for k in range(num_levels + 1):
            for factor in (0.8, 0.9, 1.1, 1.25):
                trial = list(best)
                trial[k] = round(trial[k] * factor, 3)
                if any(b <= a for a, b in zip(trial, trial[1:])):
                    continue
                share = matched_share(boxes, input_size, trial)
                if share > best_share:
                    best, best_share = tuple(trial), share
    return tuple(round(float(r), 3) for r in best)


def describe(data: DatasetBoxes, input_size: int) -> Dict[str, object]:
    """Summary figures of a dataset at ``input_size``: counts, image sizes,
    box sides (in the images and at the input), aspect ratios and boxes per
    image, each as (min, 5th percentile, median, 95th percentile, max)."""

    def spread(values: np.ndarray) -> Tuple[float, ...]:
        if len(values) == 0:
            return ()
        return tuple(
            float(np.quantile(values, q)) for q in (0, 0.05, 0.5, 0.95, 1))

    wh = data.boxes[:, 2:] - data.boxes[:, :2]
    per_image = data.boxes_per_image()
    return dict(
        images=len(data.image_sizes),
        boxes=len(data.boxes),
        classes=len(data.classes),
        boxes_per_class=dict(zip(
            data.classes,
            np.bincount(data.labels, minlength=len(data.classes)).tolist())),
        image_width=spread(data.image_sizes[:, 0]),
        image_height=spread(data.image_sizes[:, 1]),
        box_side=spread(box_sides(data.boxes)),
        box_side_at_input=spread(box_sides(data.boxes_at_input(input_size))),
        aspect_ratio=spread(wh[:, 0] / np.maximum(wh[:, 1], 1e-6)),
        boxes_per_image=spread(per_image),
        images_without_boxes=int((per_image == 0).sum()))


def detections_per_image(data: DatasetBoxes, base_cap: int) -> Optional[int]:
    """The per-image detection cap (``test_cfg.max_per_img``) a config
    needs for ``data``: 1.5 times the most crowded image's boxes, rounded up
    to a hundred, or None where the base's ``base_cap`` already keeps that
    many (COCO's AP in mmdet counts up to 1000 detections an image, so a
    lower cap bounds the recall of crowded images)."""
    per_image = data.boxes_per_image()
    most = int(per_image.max()) if len(per_image) else 0
    need = math.ceil(1.5 * most / 100) * 100
    return need if need > base_cap else None


def repeat_times(num_images: int, batch_size: int, iterations: int,
                 epochs: int) -> int:
    """How often to repeat a dataset of ``num_images`` so that ``epochs``
    epochs at ``batch_size`` make at least ``iterations`` steps."""
    per_epoch = math.ceil(iterations / epochs) * batch_size
    return max(1, math.ceil(per_epoch / max(num_images, 1)))


_COCO_DATA = """\
train_dataloader = dict(dataset=dict(
    _delete_=True, type='RepeatDataset', times={times},
    dataset=dict(
        _base_.train_dataloader.dataset, data_root=data_root,
        metainfo=dict(classes=classes), ann_file={train_ann!r},
        data_prefix=dict(img={train_img!r}), pipeline=train_pipeline)))
val_dataloader = dict(dataset=dict(
    data_root=data_root, metainfo=dict(classes=classes),
    ann_file={val_ann!r}, data_prefix=dict(img={val_img!r}),
    pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + {val_ann!r})
test_evaluator = val_evaluator
"""
_VOC_DATA = """\
voc = dict(type='XMLDataset', data_root=data_root,
           metainfo=dict(classes=classes), data_prefix=dict(sub_data_root=''))
train_dataloader = dict(dataset=dict(
    _delete_=True, type='RepeatDataset', times={times},
    dataset=dict(**voc, ann_file='ImageSets/Main/{train_split}.txt',
                 filter_cfg=dict(filter_empty_gt=False),
                 pipeline=train_pipeline)))
val_dataloader = dict(dataset=dict(
    _delete_=True, **voc, ann_file='ImageSets/Main/{val_split}.txt',
    test_mode=True, pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(_delete_=True, type='VOCMetric', metric='mAP')
test_evaluator = val_evaluator
"""


def fitted_config(data: DatasetBoxes, base: str, out: str, input_size: int,
                  size_ratios: Sequence[float], times: int,
                  matched: float, paths: Dict[str, str],
                  max_per_img: Optional[int] = None) -> str:
    """The text of a config for ``data``: a child of ``base`` with the input
    size, priors, classes, paths and a repeated training set.

    Args:
        data (DatasetBoxes): The training set.
        base (str): The project config it inherits from.
        out (str): Where it will be written (``_base_`` is relative to it).
        input_size (int): The square input side.
        size_ratios (Sequence[float]): The priors' size ratios.
        times (int): How often an epoch repeats the training set.
        matched (float): The share of boxes the priors match (a comment).
        paths (dict): ``data_root`` and, for COCO, ``train_ann``,
            ``train_img``, ``val_ann``, ``val_img`` relative to it; for VOC,
            ``train_split`` and ``val_split``.
        max_per_img (int, optional): The detection cap per image, where
            the base's is too low (:func:`detections_per_image`).
            Defaults to None.
    """
    _, strides = pyramid(input_size, len(size_ratios) - 1)
    sides = box_sides(data.boxes_at_input(input_size))
    relative_base = osp.relpath(osp.abspath(base),
                                osp.dirname(osp.abspath(out)))
    template = _VOC_DATA if 'train_split' in paths else _COCO_DATA
    cap = '' if max_per_img is None else (
        f',\n    # crowded images: up to {max_per_img} detections an image'
        f'\n    test_cfg=dict(max_per_img={max_per_img})')
    header = textwrap.fill(
        f'Fitted to {data.source} by tools/misc/dataset_stats.py: '
        f'{len(data.image_sizes)} training images, {len(data.boxes)} boxes, '
        f'box sides at the input {np.quantile(sides, 0.05):.0f}-'
        f'{np.quantile(sides, 0.95):.0f} px (5th-95th percentile); the '
        f'priors match {matched:.0%} of the boxes at IoU 0.5.',
        width=77, initial_indent='# ', subsequent_indent='# ')
    return header + f"""
_base_ = {relative_base!r}
data_root = {paths['data_root']!r}
classes = {tuple(data.classes)!r}
input_size = {input_size}
img_scale = (input_size, input_size)

model = dict(
    bbox_head=dict(
        num_classes=len(classes),
        anchor_generator=dict(
            input_size=input_size,
            strides={tuple(strides)!r},
            size_ratios={tuple(size_ratios)!r})){cap})

train_pipeline = [
    dict(t, scale=img_scale) if 'scale' in t else t
    for t in _base_.train_pipeline
]
test_pipeline = [
    dict(t, scale=img_scale) if 'scale' in t else t
    for t in _base_.test_pipeline
]
# the training images {times} times per epoch
""" + template.format(times=times, **paths)
