"""The official M2Det training augmentation
(projects/m2det/datasets/transforms/transforms.py) on real arrays, and the
configured train pipeline on real demo images."""
import doctest

import mmcv
import numpy as np
import pytest
from mmcv.transforms import Compose
from mmdet.datasets.transforms import RandomFlip
from mmdet.registry import DATASETS
from mmdet.structures.bbox import HorizontalBoxes
from mmdet.utils import register_all_modules
from mmengine.config import Config

import projects.m2det.datasets.transforms.transforms as m2det_transforms
from conftest import REPO
from projects.m2det.datasets import DEMO_CLASSES
from projects.m2det.datasets.transforms import (FilterSmallBoxes, M2DetExpand,
                                                M2DetPhotoMetricDistortion,
                                                M2DetRandomCrop,
                                                RandomInterpResize)

register_all_modules()

BACKGROUND = (128, 128, 128)
# one colour per label, far from the background and the expand fill
COLOURS = ((255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0),
           (0, 255, 255), (255, 0, 255))


def make_results(img, boxes, ignore=None):
    """A results dict as mmdet's loading transforms leave it."""
    boxes = np.asarray(boxes, np.float32).reshape(-1, 4)
    if ignore is None:
        ignore = np.zeros(len(boxes), bool)
    return dict(
        img=img,
        img_shape=img.shape[:2],
        gt_bboxes=HorizontalBoxes(boxes),
        gt_bboxes_labels=np.arange(len(boxes), dtype=np.int64),
        gt_ignore_flags=np.asarray(ignore, bool))


def painted_results():
    """Disjoint boxes, each a solid colour (its label's) on a grey image."""
    img = np.full((180, 260, 3), BACKGROUND, np.uint8)
    boxes = [(10, 10, 70, 60), (90, 20, 200, 80), (20, 90, 60, 170),
             (80, 100, 130, 150), (150, 100, 250, 175), (215, 15, 245, 85)]
    for (x1, y1, x2, y2), colour in zip(boxes, COLOURS):
        img[y1:y2, x1:x2] = colour
    return make_results(img, boxes, ignore=[0, 1, 0, 0, 1, 0])


def coordinate_image(height, width):
    """Channel 0 holds x, channel 1 holds y: a crop tells where it came
    from."""
    ys, xs = np.mgrid[:height, :width]
    return np.stack([xs, ys, np.zeros_like(xs)], axis=-1).astype(np.uint8)


def assert_boxes_inside(boxes, shape):
    h, w = shape[:2]
    b = boxes.tensor.numpy()
    assert (b[:, 0] >= 0).all() and (b[:, 1] >= 0).all()
    assert (b[:, 2] <= w).all() and (b[:, 3] <= h).all()
    assert (b[:, 2] > b[:, 0]).all() and (b[:, 3] > b[:, 1]).all()


def test_docstring_examples_run():
    failed, attempted = doctest.testmod(m2det_transforms)
    assert failed == 0 and attempted > 0


def test_boxes_stay_on_their_colour_through_crop_expand_flip_resize():
    chain = Compose([
        M2DetRandomCrop(),
        M2DetExpand(),
        RandomFlip(prob=0.5),
        RandomInterpResize(scale=(320, 320))
    ])
    np.random.seed(0)
    checked = 0
    for _ in range(150):
        out = chain(painted_results())
        img = out['img']
        assert img.shape == (320, 320, 3)
        assert_boxes_inside(out['gt_bboxes'], img.shape)
        assert len(out['gt_bboxes']) >= 1
        assert (len(out['gt_bboxes_labels']) == len(out['gt_ignore_flags'])
                == len(out['gt_bboxes']))
        for box, label, ignore in zip(out['gt_bboxes'].tensor.numpy(),
                                      out['gt_bboxes_labels'],
                                      out['gt_ignore_flags']):
            assert ignore == (label in (1, 4))
            # 2 px in from the border, away from interpolation blur
            x1, y1 = np.ceil(box[:2]).astype(int) + 2
            x2, y2 = np.floor(box[2:]).astype(int) - 2
            if x2 <= x1 or y2 <= y1:
                continue
            inside = img[y1:y2, x1:x2].astype(int)
            near = np.abs(inside - COLOURS[label]).max(axis=-1) <= 10
            assert near.mean() >= 0.9, (label, box, near.mean())
            checked += 1
    assert checked > 300


def test_crop_keeps_exactly_the_boxes_whose_centre_is_inside():
    crop = M2DetRandomCrop()
    rng = np.random.default_rng(0)
    np.random.seed(0)
    height, width = 150, 240
    kept_some = dropped_some = uncropped = 0
    for _ in range(200):
        xy = rng.uniform(0, (width - 10, height - 10), size=(6, 2))
        wh = rng.uniform(5, 80, size=(6, 2))
        boxes = np.concatenate([xy, np.minimum(xy + wh, (width, height))], 1)
        ignore = rng.integers(0, 2, 6).astype(bool)
        results = make_results(
            coordinate_image(height, width), boxes, ignore)
        out = crop(results)
        img = out['img']
        left, top = int(img[0, 0, 0]), int(img[0, 0, 1])
        crop_h, crop_w = img.shape[:2]
        uncropped += (crop_h, crop_w) == (height, width)
        # the official shape: area s^2 with s >= 0.3, aspect relative to
        # the image's within [0.5, 2] (int() truncation aside)
        assert crop_h * crop_w >= 0.3**2 * height * width - width - height
        rel_aspect = (crop_w / crop_h) / (width / height)
        assert 0.5 * 0.9 <= rel_aspect <= 2 * 1.1
        centres = (boxes[:, :2] + boxes[:, 2:]) / 2
        inside = ((centres > (left, top)) &
                  (centres < (left + crop_w, top + crop_h))).all(1)
        expected = boxes[inside] - (left, top, left, top)
        expected = np.clip(expected, 0, (crop_w, crop_h, crop_w, crop_h))
        np.testing.assert_allclose(
            out['gt_bboxes'].tensor.numpy(), expected, atol=1e-4)
        np.testing.assert_array_equal(out['gt_bboxes_labels'],
                                      np.flatnonzero(inside))
        np.testing.assert_array_equal(out['gt_ignore_flags'], ignore[inside])
        assert inside.any()
        kept_some += inside.sum()
        dropped_some += (~inside).sum()
    assert kept_some > 200 and dropped_some > 200
    # the keep mode, also reached when the drawn IoU modes keep failing
    assert 20 <= uncropped <= 180


def test_crop_aspect_follows_the_image_as_the_official_code():
    # mmdet's MinIoURandomCrop caps width/height at 2 whatever the image
    crop = M2DetRandomCrop()
    np.random.seed(1)
    aspects = []
    for _ in range(100):
        out = crop(make_results(
            np.zeros((60, 360, 3), np.uint8), [(150, 20, 210, 40)]))
        aspects.append(out['img'].shape[1] / out['img'].shape[0])
    assert max(aspects) > 8
    assert min(aspects) >= 6 * 0.5 * 0.9


def test_expand_happens_60_percent_of_the_time_with_jittered_aspect():
    expand = M2DetExpand()
    np.random.seed(0)
    img = np.full((40, 60, 3), 7, np.uint8)
    expanded, rel_aspects = 0, []
    for _ in range(400):
        out = expand(make_results(img.copy(), [(10, 5, 30, 25)]))
        canvas = out['img']
        h, w = canvas.shape[:2]
        if (h, w) == (40, 60):
            assert (canvas == 7).all()
            continue
        expanded += 1
        # sides from 1 to 4 * sqrt(2) times the image's, area up to 16 times
        assert 40 <= h <= 227 and 60 <= w <= 340 and h * w <= 16 * 40 * 60
        rel_aspects.append((w / h) / (60 / 40))
        # the image sits where its box moved to, the rest is the mean
        x1, y1 = out['gt_bboxes'].tensor.numpy()[0, :2].astype(int)
        left, top = x1 - 10, y1 - 5
        assert (canvas[top:top + 40, left:left + 60] == 7).all()
        canvas[top:top + 40, left:left + 60] = (104, 117, 123)
        assert (canvas == (104, 117, 123)).all()
    assert 0.53 <= expanded / 400 <= 0.67
    assert min(rel_aspects) < 0.8 and max(rel_aspects) > 1.25
    assert 0.5 * 0.95 <= min(rel_aspects) and max(rel_aspects) <= 2 * 1.05


def test_distortion_never_swaps_channels_and_shifts_hue_both_ways():
    distort = M2DetPhotoMetricDistortion()
    np.random.seed(0)
    blue = np.full((8, 8, 3), (200, 60, 40), np.uint8)  # BGR
    greenish = reddish = 0
    outputs = set()
    for _ in range(300):
        out = distort(dict(img=blue.copy()))['img']
        assert out.dtype == np.uint8 and out.shape == blue.shape
        b, g, r = out[0, 0].astype(int)
        # hue moves at most 36 degrees from blue: blue stays the largest
        assert b > g and b > r, (b, g, r)
        greenish += g > r
        reddish += r > g
        outputs.add((b, g, r))
    assert greenish > 30 and reddish > 30
    assert len(outputs) > 100


def test_distortion_wants_the_uint8_image():
    with pytest.raises(TypeError, match='needs the uint8 image'):
        M2DetPhotoMetricDistortion()(
            dict(img=np.zeros((4, 4, 3), np.float32)))


def test_resize_draws_each_official_interpolation():
    resize = RandomInterpResize(scale=(96, 96))
    img = np.random.default_rng(0).integers(0, 256, (37, 53, 3), np.uint8)
    references = {
        method: mmcv.imresize(img, (96, 96), interpolation=method)
        for method in ('bilinear', 'bicubic', 'area', 'nearest', 'lanczos')
    }
    np.random.seed(0)
    drawn = []
    for _ in range(60):
        out = resize(dict(img=img.copy()))['img']
        matches = [m for m, ref in references.items()
                   if np.array_equal(out, ref)]
        assert len(matches) == 1
        drawn += matches
    assert {m: drawn.count(m) >= 5 for m in references} == dict.fromkeys(
        references, True)


def test_filter_small_boxes_is_relative_to_the_image_and_keeps_alignment():
    img = np.zeros((100, 200, 3), np.uint8)
    # 1 % of 200 x 100 is 2 x 1 px: sizes at the limit go, above it stay
    boxes = [(0, 0, 2, 50), (0, 0, 2.5, 50), (10, 10, 60, 11),
             (10, 10, 60, 11.5), (5, 5, 50, 50)]
    out = FilterSmallBoxes()(make_results(img, boxes, [1, 0, 1, 0, 1]))
    np.testing.assert_array_equal(out['gt_bboxes_labels'], [1, 3, 4])
    np.testing.assert_array_equal(out['gt_ignore_flags'], [0, 0, 1])
    np.testing.assert_allclose(out['gt_bboxes'].tensor.numpy(),
                               np.array(boxes, np.float32)[[1, 3, 4]])


def test_images_without_boxes_go_through_the_configured_chain():
    cfg = Config.fromfile(REPO / 'configs' / 'm2det_vgg16_320.py')
    # from the crop on, the loaded image given directly
    chain = Compose(cfg.train_pipeline[2:-1])
    img = np.random.default_rng(0).integers(0, 256, (90, 140, 3), np.uint8)
    np.random.seed(0)
    for _ in range(30):
        out = chain(make_results(img.copy(), np.zeros((0, 4))))
        assert out['img'].shape == (320, 320, 3)
        assert len(out['gt_bboxes']) == len(out['gt_bboxes_labels']) == 0
    # the crop leaves them whole, as the official code
    results = make_results(img, np.zeros((0, 4)))
    assert M2DetRandomCrop()(results)['img'] is img


def test_configs_use_the_official_chain_at_their_size():
    types = [
        'LoadImageFromFile', 'LoadAnnotations', 'M2DetRandomCrop',
        'M2DetPhotoMetricDistortion', 'M2DetExpand', 'RandomFlip',
        'FilterSmallBoxes', 'RandomInterpResize', 'PackDetInputs'
    ]
    for name, size in (('m2det_vgg16_320.py', 320), ('m2det_vgg16_512.py',
                                                     512),
                       ('m2det_vgg16_800.py', 800)):
        cfg = Config.fromfile(REPO / 'configs' / name)
        pipeline = cfg.train_dataloader.dataset.pipeline
        assert [t.type for t in pipeline] == types
        assert pipeline[-2].scale == (size, size)
        assert cfg.test_dataloader.dataset.pipeline[1] == dict(
            type='Resize', scale=(size, size), keep_ratio=False)


def test_configured_train_pipeline_on_demo_images(demo_root):
    cfg = Config.fromfile(REPO / 'configs' / 'm2det_vgg16_320.py')
    dataset_cfg = cfg.train_dataloader.dataset
    dataset_cfg.update(
        data_root=f'{demo_root}/',
        ann_file='annotations/train.json',
        data_prefix=dict(img='train/'),
        metainfo=dict(classes=DEMO_CLASSES))
    dataset = DATASETS.build(dataset_cfg)
    np.random.seed(0)
    boxes_seen = 0
    for _ in range(3):
        for i in range(len(dataset)):
            data = dataset[i]
            assert tuple(data['inputs'].shape) == (3, 320, 320)
            instances = data['data_samples'].gt_instances
            assert data['data_samples'].img_shape == (320, 320)
            if len(instances):
                boxes = instances.bboxes
                assert_boxes_inside(boxes, (320, 320))
                assert (boxes.widths > 3.2).all()
                assert (boxes.heights > 3.2).all()
                assert ((instances.labels >= 0) &
                        (instances.labels < len(DEMO_CLASSES))).all()
            boxes_seen += len(instances)
    assert boxes_seen > 20


@pytest.mark.parametrize('cls, kwargs, message', [
    (M2DetRandomCrop, dict(min_ious=(0.5, 1.0)), r'min_ious must lie in'),
    (M2DetRandomCrop, dict(min_crop_size=0), r'min_crop_size must lie in'),
    (M2DetRandomCrop, dict(aspect_ratio_range=(1.2, 2)),
     r'0 < low <= 1 <= high'),
    (M2DetExpand, dict(ratio_range=(0.5, 4)), r'1 <= low <= high'),
    (M2DetExpand, dict(prob=1.5), r'prob must lie in \[0, 1\]'),
    (M2DetExpand, dict(mean=(104, 117)), r'mean needs 3 channel values'),
    (M2DetExpand, dict(aspect_ratio_range=(0.5, 0.8)),
     r'0 < low <= 1 <= high'),
    (M2DetPhotoMetricDistortion, dict(brightness_delta=-1),
     r'brightness_delta must be >= 0'),
    (M2DetPhotoMetricDistortion, dict(contrast_range=(1.5, 0.5)),
     r'contrast_range must be \(low, high\)'),
    (M2DetPhotoMetricDistortion, dict(hue_delta=200),
     r'hue_delta must be an int in \[0, 180\)'),
    (FilterSmallBoxes, dict(min_size=1), r'min_size must lie in \[0, 1\)'),
    (RandomInterpResize, dict(scale=320, interpolations=('cubic', )),
     r"interpolations must be a non-empty list of \['area', 'bicubic'"),
])
def test_bad_arguments_are_named(cls, kwargs, message):
    with pytest.raises(ValueError, match=message):
        cls(**kwargs)
