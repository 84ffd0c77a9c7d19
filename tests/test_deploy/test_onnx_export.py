"""ONNX export: ONNX Runtime gives PyTorch's outputs and detections."""
import copy

import numpy as np
import pytest
import torch
from mmdet.apis import inference_detector
from mmdet.registry import MODELS
from mmdet.utils import register_all_modules
from mmengine.config import Config

from conftest import TINY_CONFIG, build_eval_detector, run_tool
from projects.m2det.deploy import (OnnxDetector, export_onnx, graph_input_size,
                                   output_names)

register_all_modules()
INPUT_SIZE = (160, 160)  # the tiny config's test size
NUM_LEVELS = 5


@pytest.fixture(scope='module')
def detector():
    # random weights: keep every box
    return build_eval_detector(TINY_CONFIG, score_thr=0.0)


@pytest.fixture(scope='module')
def onnx_file(detector, tmp_path_factory):
    path = str(tmp_path_factory.mktemp('onnx') / 'tiny.onnx')
    names = export_onnx(detector, path, INPUT_SIZE)
    assert names == output_names(NUM_LEVELS)
    return path


def test_test_input_size():
    assert graph_input_size(Config.fromfile(TINY_CONFIG)) == INPUT_SIZE
    cfg = Config.fromfile(TINY_CONFIG)
    cfg.test_dataloader.dataset.pipeline[1].keep_ratio = True
    with pytest.raises(ValueError, match='test_dataloader.dataset.pipeline'):
        graph_input_size(cfg)


@pytest.mark.parametrize('batch', [1, 3])
def test_raw_outputs_match_pytorch(detector, onnx_file, batch):
    image = torch.rand(batch, 3, *INPUT_SIZE) * 255
    with torch.no_grad():
        inputs = detector.data_preprocessor(dict(inputs=image),
                                            False)['inputs']
        cls_scores, bbox_preds = detector._forward(inputs)
    outputs = OnnxDetector(onnx_file, detector.cfg).run(image.numpy())
    assert len(outputs) == 2 * NUM_LEVELS
    for ref, out in zip([*cls_scores, *bbox_preds], outputs):
        assert out.shape == tuple(ref.shape)
        error = np.abs(out - ref.numpy()).max()
        assert error <= 1e-4 * ref.abs().max().item(), error


def test_detections_match_inference_detector(detector, onnx_file,
                                             demo_root):
    images = sorted(str(p) for p in (demo_root / 'val').glob('*.jpg'))[:2]
    onnx_detector = OnnxDetector(onnx_file, detector.cfg)
    results = onnx_detector(images)
    assert len(results) == 2
    for image, result in zip(images, results):
        ref = inference_detector(detector, image).pred_instances
        out = result.pred_instances
        assert len(ref) == 100  # the max_per_img cap: every box was kept
        assert torch.equal(out.labels, ref.labels)
        torch.testing.assert_close(out.scores, ref.scores, rtol=0, atol=1e-5)
        # decoding exponentiates the deltas: compare boxes to 1e-4 relative
        torch.testing.assert_close(out.bboxes, ref.bboxes, rtol=1e-4,
                                   atol=1e-3)
        # in the original image's pixels, as inference_detector's
        height, width = result.ori_shape
        assert out.bboxes[:, 2].max() <= width
        assert out.bboxes[:, 3].max() <= height
    # a BGR array in place of a file gives the same detections
    import mmcv
    from_array = onnx_detector(mmcv.imread(images[0])).pred_instances
    torch.testing.assert_close(from_array.bboxes,
                               results[0].pred_instances.bboxes)


def test_mismatched_config_is_refused(detector, onnx_file):
    cfg = copy.deepcopy(detector.cfg)
    cfg.model.bbox_head.anchor_generator.strides = (8, 16, 32, 64)
    cfg.model.bbox_head.anchor_generator.size_ratios = (0.1, 0.3, 0.5, 0.7,
                                                        0.9)
    cfg.model.bbox_head.in_channels = (32, ) * 4
    with pytest.raises(ValueError, match='has 10 outputs.*4 levels'):
        OnnxDetector(onnx_file, cfg)


def test_other_input_size_is_refused(detector, onnx_file, demo_root):
    cfg = copy.deepcopy(detector.cfg)
    cfg.test_dataloader.dataset.pipeline[1].scale = (192, 192)
    image = str(next((demo_root / 'val').glob('*.jpg')))
    with pytest.raises(ValueError, match=r'\(3, 192, 192\).*\(3, 160, 160\)'):
        OnnxDetector(onnx_file, cfg)(image)


def test_export_tool_verifies(tmp_path, demo_root):
    from mmengine.runner import save_checkpoint
    cfg = Config.fromfile(TINY_CONFIG)
    torch.manual_seed(1)
    ckpt = tmp_path / 'tiny.pth'
    save_checkpoint(dict(state_dict=MODELS.build(cfg.model).state_dict()),
                    str(ckpt))
    image = next((demo_root / 'val').glob('*.jpg'))
    out = tmp_path / 'tiny.onnx'
    proc = run_tool('tools/deployment/pytorch2onnx.py', TINY_CONFIG, ckpt,
                    '--out', out, '--verify', image, '--cfg-options',
                    'model.test_cfg.score_thr=0')
    assert out.stat().st_size > 0
    assert 'cls_score_4  (1, 36, 1, 1)' in proc.stdout
    assert 'labels equal' in proc.stdout


def test_sessions_stop_spinning_after_a_run(detector, onnx_file):
    # ONNX Runtime's spinning threads would slow down the decoding and NMS
    # that follow each run in PyTorch
    options = OnnxDetector(onnx_file,
                           detector.cfg).session.get_session_options()
    assert options.get_session_config_entry(
        'session.force_spinning_stop') == '1'
