"""The training loss equals the official MultiBoxLoss.

``tests/data/m2det320_multibox_loss_official_reference.json`` holds what the
official ``layers/modules/multibox_loss.py`` (with its ``match``: IoU 0.5,
each box's best prior forced, 3:1 hard negatives, smooth L1, normalised by
the batch's positives) computes on seeded head outputs and ground truth
(:mod:`projects.m2det.converters.official_reference`;
``tools/misc/make_official_reference.py`` made the file). Here our head's
``loss_by_feat`` sees the same outputs and boxes.
"""
import json

import pytest
import torch
from mmdet.registry import MODELS
from mmdet.utils import register_all_modules
from mmengine.config import Config
from mmengine.structures import InstanceData

from conftest import REPO
from projects.m2det.converters import official_reference as ref

register_all_modules()

REFERENCE = REPO / 'tests' / 'data' / \
    'm2det320_multibox_loss_official_reference.json'
INPUT_SIZE = 320
SIDES = (40, 20, 10, 5, 3, 1)
NUM_ANCHORS = 6
NUM_CLASSES = ref.LOSS_NUM_CLASSES - 1
RTOL = 1e-5


@pytest.fixture(scope='module')
def reference():
    return json.loads(REFERENCE.read_text())


@pytest.fixture(scope='module')
def head():
    cfg = Config.fromfile(REPO / 'configs' / 'm2det_vgg16_320.py').model
    return MODELS.build(
        dict(cfg.bbox_head, train_cfg=cfg.train_cfg, test_cfg=cfg.test_cfg))


def level_maps(loc, conf):
    """Official (N, P, 4) deltas and (N, P, 81) logits, background first,
    as our head's per-level maps: (N, A * 4, H, W) and (N, A * 81, H, W)
    with the background last."""
    classes = [*range(1, NUM_CLASSES + 1), 0]
    bbox_preds, cls_scores, start = [], [], 0
    for side in SIDES:
        end = start + side * side * NUM_ANCHORS
        n = loc.shape[0]
        bbox_preds.append(loc[:, start:end].reshape(n, side, side, -1)
                          .permute(0, 3, 1, 2))
        logits = conf[:, start:end].reshape(n, side, side, NUM_ANCHORS, -1)
        cls_scores.append(logits[..., classes].reshape(n, side, side, -1)
                          .permute(0, 3, 1, 2))
        start = end
    return cls_scores, bbox_preds


def gt_instances(target):
    """Official (G, 5) normalised boxes with 1-based labels as ours."""
    target = torch.tensor(target).reshape(-1, 5)
    return InstanceData(bboxes=target[:, :4] * INPUT_SIZE,
                        labels=target[:, 4].long() - 1)


def our_loss(head, loc, conf, targets):
    """Our head's summed box and class losses on official-layout inputs."""
    cls_scores, bbox_preds = level_maps(loc, conf)
    shape = (INPUT_SIZE, INPUT_SIZE)
    metas = [dict(img_shape=shape, pad_shape=shape, batch_input_shape=shape)
             for _ in targets]
    losses = head.loss_by_feat(cls_scores, bbox_preds,
                               [gt_instances(t) for t in targets], metas)
    return (sum(losses['loss_bbox']).item(), sum(losses['loss_cls']).item())


@pytest.fixture(scope='module')
def outputs(reference):
    return ref.make_loss_outputs(reference['num_priors'])


@pytest.fixture(scope='module')
def priors(head):
    """Our priors at 320, x1y1x2y2 normalised."""
    return torch.cat(head.prior_generator.grid_priors(
        [(s, s) for s in SIDES], device='cpu')) / INPUT_SIZE


def test_ground_truth_has_one_matching(reference, priors):
    """No prior ties another for a box's forced match, and no IoU is near
    the threshold, so float rounding cannot pick another assignment."""
    for target in reference['targets']:
        boxes = torch.tensor(target)[:, :4]
        assert ref.is_unambiguous(boxes, priors)


def test_the_forced_match_is_exercised(reference, priors):
    """Some boxes reach IoU 0.5 with no prior: only the forced match makes
    them positive."""
    boxes = torch.cat([torch.tensor(t)[:, :4] for t in reference['targets']])
    best = ref.box_iou(boxes.double(), priors.double()).max(1).values
    assert (best < 0.5).any() and (best >= 0.5).any()


def test_loss_equals_official_multibox_loss(head, outputs, reference):
    loss_bbox, loss_cls = our_loss(head, *outputs, reference['targets'])
    assert loss_bbox == pytest.approx(reference['loss_l'], rel=RTOL)
    assert loss_cls == pytest.approx(reference['loss_c'], rel=RTOL)


def test_loss_of_one_image_equals_official(head, outputs, reference):
    loc, conf = outputs
    loss_bbox, loss_cls = our_loss(head, loc[:1], conf[:1],
                                   reference['targets'][:1])
    assert loss_bbox == pytest.approx(reference['first_image_loss_l'],
                                      rel=RTOL)
    assert loss_cls == pytest.approx(reference['first_image_loss_c'],
                                     rel=RTOL)


def test_positives_are_the_official_ones(head, reference):
    """The first image's positives, counted by our assigner, are as many as
    the official ``match`` makes."""
    shape = (INPUT_SIZE, INPUT_SIZE)
    meta = dict(img_shape=shape, pad_shape=shape, batch_input_shape=shape)
    anchors, valid = head.get_anchors([(s, s) for s in SIDES], [meta],
                                      device='cpu')
    *_, num_pos = head.get_targets(
        anchors, valid, [gt_instances(reference['targets'][0])], [meta])
    assert num_pos == reference['first_image_num_pos']


def test_an_image_without_boxes_trains(head, outputs, reference):
    """The official loss fails on an image without boxes (its ``match``
    takes the max of an empty tensor); ours trains on it. The image has no
    positives, so no hard negatives either; it adds 1 to the normaliser
    (mmdet's ``SamplingResult`` counts at least one positive per image),
    so the batch's loss is the other image's times N / (N + 1)."""
    assert reference['empty_image'].startswith('IndexError')
    loc, conf = outputs
    loss_bbox, loss_cls = our_loss(
        head, loc, conf, [reference['targets'][0], []])
    num_pos = reference['first_image_num_pos']
    scale = num_pos / (num_pos + 1)
    assert loss_bbox == pytest.approx(
        reference['first_image_loss_l'] * scale, rel=RTOL)
    assert loss_cls == pytest.approx(
        reference['first_image_loss_c'] * scale, rel=RTOL)
