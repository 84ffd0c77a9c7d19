"""End-to-end ONNX: the graph's detections are PyTorch's under hard NMS,
eagerly, in ONNX Runtime at any batch, and in the standalone demo."""
import copy
import json
import sys

import numpy as np
import pytest
import torch
from mmdet.apis import inference_detector
from mmengine.config import Config, ConfigDict
from mmengine.runner import save_checkpoint

from conftest import REPO, TINY_CONFIG, build_eval_detector, run_tool
from projects.m2det.deploy import End2EndDetector, graph_nms_iou
from projects.m2det.deploy.onnx_detector import build_test_pipeline

INPUT_SIZE = (160, 160)  # the tiny config's test size
MAX_PER_IMG = 100
# what the graph runs for the tiny config's soft-NMS
HARD_NMS = dict(type='nms', iou_threshold=0.45)


def untied_detector():
    """The seeded tiny detector with class logits of std about 1: at random
    weights they reach 150 and most scores round to 1.0, a tie NMS and the
    top-K break arbitrarily."""
    detector = build_eval_detector(TINY_CONFIG)
    with torch.no_grad():
        for conv in detector.bbox_head.cls_convs:
            conv[-1].weight.mul_(1 / 40)
    return detector


def hard_nms_detector(max_per_class=-1, nms_pre=-1):
    detector = untied_detector()
    cfg = detector.bbox_head.test_cfg  # the detector's own, shared
    cfg.nms = ConfigDict(HARD_NMS)  # assigned: update() would merge
    cfg.update(max_per_class=max_per_class, nms_pre=nms_pre)
    return detector


def pipeline_batch(cfg, images):
    pipeline = build_test_pipeline(cfg)
    data = [pipeline(dict(img_path=str(p), img_id=0)) for p in images]
    batch = torch.stack([d['inputs'] for d in data]).float()
    scales = [np.tile(d['data_samples'].metainfo['scale_factor'], 2)
              for d in data]
    return batch, scales


def assert_same_detections(dets, labels, scale, ref):
    """One image's graph outputs against ``inference_detector``'s."""
    keep = labels >= 0
    assert int(keep.sum()) == len(ref) > 0
    assert (labels[~keep] == -1).all() and (dets[~keep] == 0).all()
    np.testing.assert_array_equal(labels[keep], ref.labels.numpy())
    np.testing.assert_allclose(dets[keep, 4], ref.scores.numpy(), rtol=0,
                               atol=1e-5)
    np.testing.assert_allclose(dets[keep, :4] / scale, ref.bboxes.numpy(),
                               rtol=1e-4, atol=1e-3)


@pytest.fixture(scope='module')
def val_images(demo_root):
    return sorted((demo_root / 'val').glob('*.jpg'))[:3]


@pytest.mark.parametrize('max_per_class,nms_pre', [(-1, -1), (3, 400)])
def test_eager_graph_matches_inference_detector(val_images, max_per_class,
                                                nms_pre):
    detector = hard_nms_detector(max_per_class, nms_pre)
    batch, scales = pipeline_batch(detector.cfg, val_images)
    network = End2EndDetector(detector, INPUT_SIZE).eval()
    with torch.no_grad():
        dets, labels = network(batch)
    assert dets.shape == (3, MAX_PER_IMG, 5)
    assert labels.shape == (3, MAX_PER_IMG)
    for i, image in enumerate(val_images):
        ref = inference_detector(detector, str(image)).pred_instances
        if max_per_class > 0:
            assert np.bincount(ref.labels.numpy()).max() == max_per_class
        assert_same_detections(dets[i].numpy(), labels[i].numpy(), scales[i],
                               ref)


def test_nms_settings_from_test_cfg():
    cfg = Config.fromfile(TINY_CONFIG).model.test_cfg
    assert cfg.nms.type == 'soft_nms'
    assert graph_nms_iou(cfg) == 0.45
    cfg.nms = ConfigDict(type='nms', iou_threshold=0.6, offset=1)
    assert graph_nms_iou(cfg) == 0.6
    cfg.nms.type = 'matrix_nms'
    with pytest.raises(ValueError, match="test_cfg.nms.type 'matrix_nms'"):
        graph_nms_iou(cfg)
    cfg.nms.type, cfg.min_bbox_size = 'nms', 2
    with pytest.raises(ValueError, match='min_bbox_size 2'):
        graph_nms_iou(cfg)


@pytest.fixture(scope='module')
def end2end_file(tmp_path_factory, val_images):
    """The tiny config exported by the tool, checked by its --verify."""
    tmp = tmp_path_factory.mktemp('end2end')
    ckpt, out = tmp / 'tiny.pth', tmp / 'tiny_end2end.onnx'
    detector = untied_detector()
    save_checkpoint(
        dict(state_dict=detector.state_dict(),
             meta=dict(dataset_meta=dict(classes=detector.cfg.classes))),
        str(ckpt))
    proc = run_tool('tools/deployment/pytorch2onnx.py', TINY_CONFIG, ckpt,
                    '--out', out, '--end2end', '--verify', val_images[0])
    assert 'outputs dets, labels; hard NMS at IoU 0.45' in proc.stdout
    assert 'labels equal' in proc.stdout
    return out


@pytest.mark.parametrize('batch', [1, 3])
def test_onnx_runtime_matches_pytorch(end2end_file, val_images, batch):
    import onnxruntime as ort
    detector = hard_nms_detector()
    images = (val_images * 2)[:batch]
    inputs, scales = pipeline_batch(detector.cfg, images)
    session = ort.InferenceSession(str(end2end_file),
                                   providers=['CPUExecutionProvider'])
    dets, labels = session.run(None, {'image': inputs.numpy()})
    assert dets.shape == (batch, MAX_PER_IMG, 5)
    assert labels.dtype == np.int64
    classes = session.get_modelmeta().custom_metadata_map['classes']
    assert json.loads(classes) == list(detector.cfg.classes)
    for i, image in enumerate(images):
        ref = inference_detector(detector, str(image)).pred_instances
        assert_same_detections(dets[i], labels[i], scales[i], ref)


def test_standalone_demo_matches_pytorch(end2end_file, val_images,
                                         tmp_path):
    import cv2
    out_json = tmp_path / 'dets.json'
    drawn = [tmp_path / f'{i}.jpg' for i in range(2)]
    blocked = ('torch', 'mmdet', 'mmcv', 'mmengine')
    # the demo must run with none of them importable
    code = ('import runpy, sys\n'
            f'for name in {blocked!r}: sys.modules[name] = None\n'
            'sys.argv = sys.argv[1:]\n'
            'runpy.run_path(sys.argv[0], run_name="__main__")\n')
    proc = run_tool('-c', code, REPO / 'demo' / 'onnx_demo.py',
                    end2end_file, *val_images[:2], '--json', out_json,
                    '--out', *drawn, '--score-thr', '0.2')
    assert f'{val_images[0]}: ' in proc.stdout
    results = json.loads(out_json.read_text())
    detector = hard_nms_detector()
    for image, result, picture in zip(val_images, results, drawn):
        ref = inference_detector(detector, str(image)).pred_instances
        np.testing.assert_array_equal(result['labels'], ref.labels.numpy())
        np.testing.assert_allclose(result['scores'], ref.scores.numpy(),
                                   rtol=0, atol=1e-5)
        np.testing.assert_allclose(result['bboxes'], ref.bboxes.numpy(),
                                   rtol=1e-4, atol=1e-2)
        assert cv2.imread(str(picture)).shape == cv2.imread(
            str(image)).shape


def test_demo_refuses_a_network_only_graph(tmp_path):
    from projects.m2det.deploy import export_onnx
    path = tmp_path / 'network.onnx'
    export_onnx(build_eval_detector(TINY_CONFIG), str(path), INPUT_SIZE)
    sys.path.insert(0, str(REPO / 'demo'))
    try:
        from onnx_demo import End2EndOnnxDetector
    finally:
        sys.path.pop(0)
    with pytest.raises(ValueError, match='expected outputs dets and labels'):
        End2EndOnnxDetector(str(path))


def test_tool_end2end_iou_override(tmp_path, val_images):
    cfg = copy.deepcopy(Config.fromfile(TINY_CONFIG))
    assert cfg.model.test_cfg.nms.type == 'soft_nms'
    out = tmp_path / 'tiny.onnx'
    proc = run_tool('tools/deployment/pytorch2onnx.py', TINY_CONFIG, 'none',
                    '--out', out, '--end2end', '--iou-thr', '0.6',
                    '--static-batch')
    assert 'hard NMS at IoU 0.6' in proc.stdout
    import onnxruntime as ort
    session = ort.InferenceSession(str(out),
                                   providers=['CPUExecutionProvider'])
    assert session.get_inputs()[0].shape == [1, 3, *INPUT_SIZE]
