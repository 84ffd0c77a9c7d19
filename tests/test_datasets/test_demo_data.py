"""Tests for the synthetic shapes demo dataset generator."""
import itertools
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from pycocotools.coco import COCO

from projects.m2det.datasets import DEMO_CLASSES, generate_demo_dataset

SPLITS = ('train', 'val')


def _files(root: Path) -> dict[str, bytes]:
    """Map every file under ``root`` (relative path) to its bytes."""
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob('*')) if p.is_file()
    }


def _iou(a: list[float], b: list[float]) -> float:
    """IoU of two COCO ``[x, y, w, h]`` boxes."""
    iw = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])
    ih = min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1])
    inter = max(iw, 0) * max(ih, 0)
    return inter / (a[2] * a[3] + b[2] * b[3] - inter)


@pytest.fixture(scope='module')
def small_set(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    root = tmp_path_factory.mktemp('small')
    return root, generate_demo_dataset(root, num_train=12, num_val=6, seed=3)


@pytest.fixture(scope='module')
def stats_set(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    root = tmp_path_factory.mktemp('stats')
    return root, generate_demo_dataset(root, num_train=48, num_val=12, seed=0)


def test_deterministic(small_set: tuple[Path, dict], tmp_path: Path) -> None:
    root, summary = small_set
    again = generate_demo_dataset(
        tmp_path / 'again', num_train=12, num_val=6, seed=3)
    first, second = _files(root), _files(tmp_path / 'again')
    assert len(first) == 12 + 6 + 2
    assert first.keys() == second.keys()
    for name in first:
        assert first[name] == second[name], name
    counts = ('images', 'annotations', 'empty_images')
    for split in SPLITS:
        assert [again['splits'][split][k] for k in counts
                ] == [summary['splits'][split][k] for k in counts]


def test_other_seed_differs(small_set: tuple[Path, dict],
                            tmp_path: Path) -> None:
    root, _ = small_set
    generate_demo_dataset(tmp_path, num_train=12, num_val=6, seed=4)
    for split in SPLITS:
        name = Path('annotations') / f'{split}.json'
        ann_a = json.loads((root / name).read_text())
        ann_b = json.loads((tmp_path / name).read_text())
        assert ann_a['annotations'] != ann_b['annotations']


@pytest.mark.parametrize('split', SPLITS)
def test_coco_valid(small_set: tuple[Path, dict], split: str) -> None:
    root, summary = small_set
    info = summary['splits'][split]
    assert Path(info['ann_file']) == root / 'annotations' / f'{split}.json'
    assert Path(info['img_dir']) == root / split
    coco = COCO(info['ann_file'])
    assert len(coco.getImgIds()) == info['images']
    assert len(coco.getAnnIds()) == info['annotations']
    assert coco.getCatIds() == list(range(1, len(DEMO_CLASSES) + 1))
    assert [c['name'] for c in coco.loadCats(coco.getCatIds())] == list(
        DEMO_CLASSES)
    empty = 0
    for img in coco.loadImgs(coco.getImgIds()):
        with Image.open(root / split / img['file_name']) as im:
            assert im.size == (img['width'], img['height'])
            assert im.mode == 'RGB'
        anns = coco.loadAnns(coco.getAnnIds(imgIds=img['id']))
        empty += not anns
        for ann in anns:
            x, y, w, h = ann['bbox']
            assert w > 0 and h > 0
            assert x >= 0 and y >= 0
            assert x + w <= img['width'] and y + h <= img['height']
            assert ann['area'] == pytest.approx(w * h)
            assert ann['iscrowd'] == 0
            assert ann['category_id'] in coco.getCatIds()
    assert empty == info['empty_images']


def test_statistics(stats_set: tuple[Path, dict]) -> None:
    root, summary = stats_set
    images, anns = {}, []
    for split in SPLITS:
        data = json.loads(
            (root / 'annotations' / f'{split}.json').read_text())
        images.update({(split, img['id']): img for img in data['images']})
        anns += [(split, ann) for ann in data['annotations']]
    assert len(images) == 60

    assert {ann['category_id'] for _, ann in anns} == set(
        range(1, len(DEMO_CLASSES) + 1))
    assert sum(info['empty_images']
               for info in summary['splits'].values()) >= 1
    per_image = {key: [] for key in images}
    for split, ann in anns:
        per_image[split, ann['image_id']].append(ann['bbox'])
    assert max(len(boxes) for boxes in per_image.values()) <= 6

    boxes = np.array([ann['bbox'] for _, ann in anns], dtype=float)
    assert boxes[:, 2:].max(axis=1).min() < 16
    relative = [
        max(ann['bbox'][2] / images[split, ann['image_id']]['width'],
            ann['bbox'][3] / images[split, ann['image_id']]['height'])
        for split, ann in anns
    ]
    assert max(relative) > 0.5
    aspect = boxes[:, 2] / boxes[:, 3]
    assert aspect.min() < 0.5 and aspect.max() > 2

    assert any(
        _iou(a, b) > 0 for boxes in per_image.values()
        for a, b in itertools.combinations(boxes, 2))


def test_rejects_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        generate_demo_dataset(tmp_path, num_train=1, num_val=0, seed=-1)
    with pytest.raises(ValueError):
        generate_demo_dataset(
            tmp_path, num_train=1, num_val=0, min_image_side=8,
            max_image_side=8)
