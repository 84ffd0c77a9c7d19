"""The official test recipe (per-class cap, soft-NMS), hard NMS and TTA."""
import pickle

import pytest
import torch
from mmcv.ops import batched_nms
from mmdet.registry import MODELS
from mmdet.utils import register_all_modules
from mmengine.config import Config
from mmengine.runner import save_checkpoint

from conftest import REPO, TINY_CONFIG, data_root_options, run_tool

register_all_modules()


def load(name):
    return Config.fromfile(REPO / 'configs' / name)


def class_logits(probs, sizes=(20, 10, 5, 3, 1)):
    """The head's class outputs at 160 (5 scales): ``probs``, of shape
    (20, 20, priors per location, classes + 1), on the first level, all
    background elsewhere."""
    logits = []
    for size in sizes:
        if size == probs.shape[0]:
            level_probs = probs
        else:
            level_probs = torch.zeros(size, size, *probs.shape[2:])
            level_probs[..., -1] = 1
        # (1, priors x (classes + 1), H, W), as the head's convs give it
        logits.append(level_probs.clamp(min=1e-12).log().flatten(2).permute(
            2, 0, 1)[None])
    return logits


def test_each_class_keeps_its_50_best_boxes_before_the_image_keeps_100():
    cfg = load('m2det_demo.py').model
    head = MODELS.build(dict(cfg.bbox_head, test_cfg=cfg.test_cfg))
    head.test_cfg.score_thr = 0.1  # the official threshold
    head.test_cfg.max_per_class = 50  # official; the demo config lifts it
    num_classes, num_priors = head.num_classes, head.num_base_priors[0]
    # 160 input: 20x20 stride-8 cells; the min-size squares (12.8 px) of a
    # checkerboard's cells overlap by IoU 0.08 at most, under soft-NMS's 0.3,
    # so NMS keeps all of them as they are
    probs = torch.zeros(20, 20, num_priors, num_classes + 1)
    probs[..., -1] = 1
    cells = [(i, j) for i in range(20) for j in range(20) if (i + j) % 2 == 0]
    expected = {0: [], 1: []}

    def score(cell, label, p):
        probs[cell][0, label], probs[cell][0, -1] = p, 1 - p

    for k, cell in enumerate(cells[:70]):  # class 0: 70 boxes, 0.55 to 0.9
        score(cell, 0, 0.55 + 0.005 * k)
        expected[0].append(0.55 + 0.005 * k)
    for k, cell in enumerate(cells[70:130]):  # class 1: 60, 0.2 to 0.5
        score(cell, 1, 0.2 + 0.005 * k)
        expected[1].append(0.2 + 0.005 * k)
    for cell in cells[130:]:  # class 2: 14 boxes at 0.09, under 0.1
        score(cell, 2, 0.09)
    cls_scores = class_logits(probs)
    bbox_preds = [torch.zeros(1, num_priors * 4, *s.shape[2:])
                  for s in cls_scores]
    meta = dict(img_shape=(160, 160), ori_shape=(160, 160),
                scale_factor=(1., 1.))

    result = head.predict_by_feat(cls_scores, bbox_preds,
                                  batch_img_metas=[meta],
                                  rescale=True)[0]

    # without the per-class cap the best 100 would be 70 of class 0 and 30
    # of class 1
    assert len(result) == 100
    for label in (0, 1):
        scores = result.scores[result.labels == label]
        assert len(scores) == 50
        torch.testing.assert_close(
            scores, torch.tensor(sorted(expected[label])[-50:][::-1]))
    assert (result.labels == 2).sum() == 0


def test_the_soft_nms_rescores_as_the_official_linear_soft_nms():
    nms_cfg = load('m2det_vgg16_320.py').model.test_cfg.nms
    # one class; box areas and overlaps in the official +1 pixel convention
    boxes = torch.tensor([
        [0., 0, 9, 9],  # A: 10 x 10
        [0., 0, 9, 4],  # B: inside A, IoU 50 / 100
        [0., 0, 9, 7],  # C: inside A, IoU 80 / 100
        [30., 0, 39, 9],  # D: far from everything
        [7., 0, 16, 9],  # E: IoU 30 / 170 with A, 15 / 135 with B
    ])
    scores = torch.tensor([0.9, 0.8, 0.002, 0.6, 0.5])
    dets, keep = batched_nms(boxes, scores, torch.zeros(5, dtype=torch.long),
                             nms_cfg)

    # weight 1 - IoU where IoU > 0.3; C falls to 0.0004, under the 0.001
    # floor; E overlaps A and B by less than 0.3 and keeps its score
    assert keep.tolist() == [0, 3, 4, 1]
    torch.testing.assert_close(
        dets[:, 4], torch.tensor([0.9, 0.6, 0.5, 0.8 * (1 - 50 / 100)]))


def test_the_hard_nms_config_changes_only_the_nms():
    soft, hard = load('m2det_vgg16_320.py'), load('m2det_vgg16_320_hard_nms.py')
    assert hard.model.test_cfg.nms == dict(type='nms', iou_threshold=0.45,
                                           offset=1)
    soft.model.test_cfg.pop('nms'), hard.model.test_cfg.pop('nms')
    assert soft.to_dict() == hard.to_dict()


def test_the_documented_hard_nms_option_is_hard_nms():
    """``model.test_cfg.nms.method=naive`` with ``iou_threshold=0.45``."""
    nms_cfg = load('m2det_vgg16_320.py').model.test_cfg.nms
    torch.manual_seed(0)
    xy = torch.rand(300, 2) * 100
    boxes = torch.cat([xy, xy + 10 + torch.rand(300, 2) * 40], 1)
    # over the score threshold, so soft-NMS's 0.001 floor drops none
    scores = 0.1 + 0.9 * torch.rand(300)
    labels = torch.randint(0, 3, (300, ))
    hard, hard_keep = batched_nms(
        boxes, scores, labels, dict(type='nms', iou_threshold=0.45, offset=1))
    naive, naive_keep = batched_nms(
        boxes, scores, labels,
        dict(nms_cfg, method='naive', iou_threshold=0.45))
    assert 50 < len(hard_keep) < 250  # NMS removed some, not all
    assert naive_keep.tolist() == hard_keep.tolist()
    assert torch.equal(naive, hard)


@pytest.mark.parametrize('name, sizes', [
    ('m2det_vgg16_320.py', (256, 320, 384)),
    ('m2det_demo.py', (136, 160, 192)),
    ('m2det_vgg16_800_ms_test.py', (640, 800, 960, 1120, 1280)),
])
def test_tta_resizes_to_squares_and_flips(name, sizes):
    cfg = load(name)
    load_image, tta = cfg.tta_pipeline
    resizes, flips, load_boxes, pack = tta.transforms
    assert [r.scale for r in resizes] == [(s, s) for s in sizes]
    assert {r.keep_ratio for r in resizes} == {False}
    assert [f.prob for f in flips] == [1., 0.]
    assert cfg.tta_model.type == 'DetTTAModel'
    # loading, boxes and packing as in the single-scale test, plus the flip
    test = cfg.test_dataloader.dataset.pipeline
    assert load_image == test[0]
    assert load_boxes == [t for t in test if t.type == 'LoadAnnotations']
    assert pack == [dict(test[-1], meta_keys=test[-1].meta_keys +
                         ('flip', 'flip_direction'))]


def test_tools_test_runs_the_multi_scale_flip_test(demo_root, tmp_path):
    cfg = Config.fromfile(TINY_CONFIG)
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    ckpt = tmp_path / 'init.pth'
    save_checkpoint({'state_dict': model.state_dict()}, str(ckpt))

    proc = run_tool('tools/test.py', TINY_CONFIG, ckpt, '--tta',
                    '--work-dir', tmp_path, '--out', tmp_path / 'out.pkl',
                    '--cfg-options', *data_root_options(demo_root))

    log = proc.stdout + proc.stderr
    assert 'Cannot find ``tta_pipeline``' not in log
    assert 'coco/bbox_mAP:' in log
    results = pickle.loads((tmp_path / 'out.pkl').read_bytes())
    assert len(results) == 4  # the val images
    for result in results:
        # 3 sizes x 2 flips merged into one image's detections, at most 100
        assert 0 < len(result['pred_instances']['labels']) <= 100
        height, width = result['ori_shape']
        boxes = result['pred_instances']['bboxes']
        assert boxes[:, 0::2].max() <= width
        assert boxes[:, 1::2].max() <= height
