"""Fast inference (BN folded, channels-last, bfloat16) agrees with float32."""
import copy
import re

import pytest
import torch
from mmdet.registry import MODELS
from mmdet.utils import register_all_modules
from mmengine.config import Config

from conftest import REPO, TINY_CONFIG, build_eval_detector, run_tool
from projects.m2det.deploy import optimize_for_inference

register_all_modules()


@pytest.fixture(scope='module')
def detector():
    return build_eval_detector(REPO / 'configs' / 'm2det_demo.py')


def head_outputs(model, x):
    with torch.no_grad():
        cls_scores, bbox_preds = model._forward(x)
    return torch.cat([c.flatten() for c in cls_scores]), torch.cat(
        [b.flatten() for b in bbox_preds])


@pytest.mark.parametrize('dtype, rtol', [('float32', 1e-4),
                                         ('bfloat16', 3e-2)])
def test_outputs_agree_with_float32(detector, dtype, rtol):
    x = torch.rand(2, 3, 160, 160) * 255
    ref_cls, ref_box = head_outputs(detector, x)
    fast = optimize_for_inference(copy.deepcopy(detector), dtype)
    # every BN that follows a conv is folded away; the neck's output BN
    # follows a concat and stays
    assert [m for m in fast.modules()
            if isinstance(m, torch.nn.BatchNorm2d)] == [fast.neck.out_norm]
    assert next(fast.backbone.parameters()).dtype == getattr(torch, dtype)
    cls, box = head_outputs(fast, x)
    assert cls.dtype == torch.float32  # post-processing stays float32
    for out, ref in ((cls, ref_cls), (box, ref_box)):
        err = (out - ref).abs().max() / ref.abs().max()
        assert err < rtol, f'{dtype}: relative error {err:.2e}'


def test_predictions_match_float32(detector):
    from mmdet.testing import demo_mm_inputs
    packed = demo_mm_inputs(1, [[3, 160, 160]], num_classes=5)
    base = copy.deepcopy(detector)
    base.bbox_head.test_cfg.score_thr = 0.0
    data = base.data_preprocessor(packed, False)
    with torch.no_grad():
        ref = base.predict(data['inputs'], data['data_samples'])
        fast = optimize_for_inference(copy.deepcopy(base), 'float32')
        out = fast.predict(data['inputs'], data['data_samples'])
    ref, out = ref[0].pred_instances, out[0].pred_instances
    assert len(out) == len(ref)
    torch.testing.assert_close(out.bboxes, ref.bboxes, rtol=1e-4, atol=1e-3)
    torch.testing.assert_close(out.scores, ref.scores, rtol=1e-4, atol=1e-5)


def test_tools_test_fast_flag(demo_root, tmp_path):
    from mmengine.runner import save_checkpoint
    cfg = Config.fromfile(TINY_CONFIG)
    model = MODELS.build(cfg.model)
    ckpt = tmp_path / 'tiny.pth'
    save_checkpoint(dict(state_dict=model.state_dict()), str(ckpt))
    proc = run_tool('tools/test.py', TINY_CONFIG, ckpt, '--fast',
                    '--work-dir', tmp_path / 'work', '--cfg-options',
                    f'data_root={demo_root}')
    # the backend measured fastest here, int8 among the candidates
    log = proc.stdout + proc.stderr
    assert re.search(r'fast inference: (bfloat16|float32|int8) in [^(]+'
                     r'\(forward: .*int8 [0-9.]+ s', log), log[-2000:]
    # the calibrated int8 graph is kept for the next run
    assert [f.suffix for f in (tmp_path / 'work' /
                               'fast_inference').iterdir()] == ['.onnx']
    assert 'coco/bbox_mAP' in proc.stdout


def test_compiled_outputs_agree_with_float32(detector):
    x = torch.rand(1, 3, 160, 160) * 255
    ref_cls, ref_box = head_outputs(detector, x)
    fast = optimize_for_inference(copy.deepcopy(detector), 'float32',
                                  compile=True)
    cls, box = head_outputs(fast, x)
    for out, ref in ((cls, ref_cls), (box, ref_box)):
        err = (out - ref).abs().max() / ref.abs().max()
        assert err < 1e-4, f'compiled: relative error {err:.2e}'
    # the network went through inductor, not eager
    from torch._dynamo.utils import counters
    assert counters['stats']['unique_graphs'] >= 2
