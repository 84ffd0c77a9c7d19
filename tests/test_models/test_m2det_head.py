"""M2DetHead's test-time candidates and per-class NMS against mmdet's."""
import pytest
import torch
from mmcv.ops import batched_nms
from mmdet.registry import MODELS
from mmdet.utils import register_all_modules
from mmengine.config import ConfigDict
from mmengine.structures import InstanceData

from projects.m2det.compat import apply_fixes

register_all_modules()
apply_fixes()  # SSDHead.predict_by_feat needs it

SOFT_NMS = dict(type='soft_nms', method='linear', iou_threshold=0.3,
                min_score=0.001, offset=1)


def build_head(head_type='M2DetHead', **test_cfg):
    """A 3-class head at 64 with two levels (8x8 and 4x4) and 4 priors a
    location; ``'SSDHead'`` gives mmdet's post-processing."""
    cfg = ConfigDict(nms_pre=-1, score_thr=0.1, nms=SOFT_NMS,
                     max_per_class=50, min_bbox_size=0, max_per_img=100)
    cfg.update(test_cfg)
    return MODELS.build(
        dict(type=head_type, num_classes=3, in_channels=(8, 8),
             anchor_generator=dict(type='M2DetAnchorGenerator',
                                   input_size=64, strides=(8, 16),
                                   size_ratios=(0.2, 0.4, 0.6)),
             bbox_coder=dict(type='DeltaXYWHBBoxCoder',
                             target_means=[.0, .0, .0, .0],
                             target_stds=[0.1, 0.1, 0.2, 0.2]),
             test_cfg=cfg))


def head_outputs(head, seed=0):
    """Random logits, scaled so that about a tenth of the scores pass 0.1."""
    generator = torch.Generator().manual_seed(seed)
    priors = head.num_base_priors[0]
    cls_scores, bbox_preds = [], []
    for size in (8, 4):
        cls_scores.append(3 * torch.randn(
            1, priors * head.cls_out_channels, size, size,
            generator=generator))
        bbox_preds.append(torch.randn(1, priors * 4, size, size,
                                      generator=generator))
    return cls_scores, bbox_preds


META = dict(img_shape=(64, 64), ori_shape=(64, 64), scale_factor=(1., 1.))


def candidate_scores(head, cls_scores):
    """Every (score, level) over the threshold, from the logits."""
    found = []
    for level, logits in enumerate(cls_scores):
        scores = logits[0].permute(1, 2, 0).reshape(
            -1, head.cls_out_channels).softmax(-1)[:, :-1]
        found += [(s, level) for s in scores[scores > 0.1].tolist()]
    return found


def test_every_box_over_the_threshold_is_a_candidate():
    # no NMS, no caps: the candidates themselves
    head = build_head(max_per_class=-1, max_per_img=1000)
    cls_scores, bbox_preds = head_outputs(head)
    expected = candidate_scores(head, cls_scores)

    ours = head.predict_by_feat(cls_scores, bbox_preds,
                                batch_img_metas=[META], with_nms=False)[0]
    mmdet = build_head('SSDHead', max_per_class=-1,
                       max_per_img=1000).predict_by_feat(
                           cls_scores, bbox_preds, batch_img_metas=[META],
                           with_nms=False)[0]

    assert len(ours) == len(expected) > 20
    assert sorted(ours.scores.tolist()) == pytest.approx(
        sorted(s for s, _ in expected))
    # mmdet with nms_pre=-1 cuts the lowest candidate of each level
    lowest = [min(s for s, lv in expected if lv == level)
              for level in (0, 1)]
    assert len(mmdet) == len(expected) - 2
    assert not any(torch.isclose(mmdet.scores, torch.tensor(s)).any()
                   for s in lowest)
    # the same boxes, decoded from the same priors
    for box, score, label in zip(mmdet.bboxes, mmdet.scores, mmdet.labels):
        match = (ours.scores - score).abs().argmin()
        assert ours.labels[match] == label
        torch.testing.assert_close(ours.bboxes[match], box)


def test_a_positive_nms_pre_keeps_mmdets_per_level_top_k():
    head = build_head(nms_pre=5)
    cls_scores, bbox_preds = head_outputs(head)
    ours = head.predict_by_feat(cls_scores, bbox_preds,
                                batch_img_metas=[META], with_nms=False)[0]
    assert len(ours) == 10  # 5 of each of the two levels
    best = sorted((s for s, _ in candidate_scores(head, cls_scores)),
                  reverse=True)
    assert ours.scores.max().item() == pytest.approx(best[0])


@pytest.mark.parametrize('nms', [SOFT_NMS,
                                 dict(type='nms', iou_threshold=0.45)])
def test_nms_per_class_gives_mmcv_batched_nms_results(nms):
    generator = torch.Generator().manual_seed(1)
    num = 300
    corners = torch.rand(num, 2, generator=generator) * 200
    sizes = 10 + torch.rand(num, 2, generator=generator) * 60
    results = InstanceData(
        bboxes=torch.cat([corners, corners + sizes], 1),
        scores=torch.rand(num, generator=generator),
        labels=torch.randint(0, 3, (num, ), generator=generator))
    # best first, as the head gives them to NMS
    results = results[results.scores.argsort(descending=True)]

    ours = build_head()._nms_per_class(results, ConfigDict(nms), 1000)
    dets, keep = batched_nms(results.bboxes, results.scores, results.labels,
                             nms)

    assert ours.scores.tolist() == sorted(ours.scores.tolist(),
                                          reverse=True)
    # the same boxes with the same scores, up to the rounding of the class
    # offsets batched_nms adds to the coordinates
    assert len(ours) == len(keep)
    for label in range(3):
        mine = ours.scores[ours.labels == label]
        theirs = dets[results.labels[keep] == label, 4]
        torch.testing.assert_close(mine, theirs, atol=1e-5, rtol=0)
    torch.testing.assert_close(ours.bboxes, results.bboxes[keep])


def test_nms_per_class_caps_each_class():
    head = build_head()
    results = InstanceData(
        bboxes=torch.tensor([[10. * i, 0, 10 * i + 5, 5] for i in range(6)]),
        scores=torch.tensor([.9, .8, .7, .6, .5, .4]),
        labels=torch.tensor([2, 0, 2, 2, 0, 0]))
    capped = head._nms_per_class(results, ConfigDict(SOFT_NMS), 2)
    assert capped.labels.tolist() == [2, 0, 2, 0]
    torch.testing.assert_close(capped.scores,
                               torch.tensor([.9, .8, .7, .5]))


def test_detections_with_soft_nms_and_caps_match_mmdets_path():
    # the whole post-processing against SSDHead's with the same cap, on
    # candidates that mmdet keeps too (its cut removes one a level)
    head = build_head(max_per_class=4, max_per_img=10)
    cls_scores, bbox_preds = head_outputs(head, seed=3)
    ours = head.predict_by_feat(cls_scores, bbox_preds,
                                batch_img_metas=[META], rescale=True)[0]
    # SSDHead's NMS over all classes at once, then the caps
    everything = build_head('SSDHead', max_per_img=None).predict_by_feat(
        cls_scores, bbox_preds, batch_img_metas=[META], rescale=True)[0]
    mmdet = everything[torch.cat([
        (everything.labels[:i] == label).sum(0, keepdim=True) < 4
        for i, label in enumerate(everything.labels)
    ])][:10]

    assert len(ours) == 10
    torch.testing.assert_close(ours.scores, mmdet.scores, atol=1e-5,
                               rtol=0)
    assert ours.labels.tolist() == mmdet.labels.tolist()
