"""int8 with ONNX Runtime (projects/m2det/deploy/quantize.py,
tools/deployment/quantize_int8.py): calibration on the config's data, a QDQ
graph close to float32, and its val metric measured as tools/test.py's."""
import json
import re

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from mmengine.runner import save_checkpoint

from conftest import (TINY_CONFIG, build_eval_detector, data_root_options,
                      run_tool, tiny_config_on)
from projects.m2det.deploy import export_onnx
from projects.m2det.deploy.onnx_detector import build_test_pipeline
from projects.m2det.deploy.optimize import MAX_OUTPUT_ERROR
from projects.m2det.deploy.quantize import calibration_batches, quantize_int8

INPUT_SIZE = (160, 160)


def test_calibration_images_are_the_test_pipeline_s(demo_root):
    cfg = tiny_config_on(demo_root)
    batches = list(calibration_batches(cfg, 3))
    assert len(batches) == 3
    first = sorted((demo_root / 'train').glob('*.jpg'))[0]
    ref = build_test_pipeline(cfg)(dict(img_path=str(first), img_id=0))
    # the dataset's first image, as the graph takes it: resized, 0-255
    np.testing.assert_array_equal(batches[0][0], ref['inputs'].numpy())
    assert batches[0].shape == (1, 3, *INPUT_SIZE)
    assert batches[0].dtype == np.float32
    # no more than the set holds (8 training images)
    assert len(list(calibration_batches(cfg, 100))) == 8


@pytest.fixture(scope='module')
def graphs(demo_root, tmp_path_factory):
    tmp = tmp_path_factory.mktemp('int8')
    float_file, int8_file = str(tmp / 'float.onnx'), str(tmp / 'int8.onnx')
    export_onnx(build_eval_detector(TINY_CONFIG), float_file, INPUT_SIZE)
    batches = list(calibration_batches(tiny_config_on(demo_root), 8))
    quantize_int8(float_file, int8_file, batches)
    return float_file, int8_file, batches


def test_quantized_graph_is_int8_and_close(graphs):
    float_file, int8_file, batches = graphs
    nodes = onnx.load(int8_file).graph.node
    convs = [n for n in nodes if n.op_type == 'Conv']
    producers = {out: n.op_type for n in nodes for out in n.output}
    # every conv takes dequantized int8 weights and activations
    assert convs and all(
        producers.get(n.input[0]) == 'DequantizeLinear'
        and producers.get(n.input[1]) == 'DequantizeLinear' for n in convs)
    weights = {i.name: i for i in onnx.load(int8_file).graph.initializer}
    assert any(w.data_type == onnx.TensorProto.INT8 for w in weights.values())
    outputs = {}
    for name, path in (('float', float_file), ('int8', int8_file)):
        session = ort.InferenceSession(path,
                                       providers=['CPUExecutionProvider'])
        outputs[name] = session.run(None, {'image': batches[0]})
    for ref, out in zip(outputs['float'], outputs['int8']):
        assert out.shape == ref.shape
        error = np.abs(out - ref).max() / np.abs(ref).max()
        # quantization moves the outputs, within what --fast accepts (up
        # to 0.103 measured with AVX2 kernels, a few per cent with VNNI)
        assert 1e-4 < error < MAX_OUTPUT_ERROR, error


def test_unknown_calibration_method_is_named(graphs):
    float_file, _, batches = graphs
    with pytest.raises(ValueError, match="calibration method 'kl': one of"):
        quantize_int8(float_file, '/nonexistent.onnx', batches, 'kl')


def detections(prefix):
    """A CocoMetric ``outfile_prefix`` run's boxes, per image by score."""
    boxes = json.loads(open(f'{prefix}.bbox.json').read())
    boxes.sort(key=lambda b: (b['image_id'], -b['score']))
    return (np.array([b['image_id'] for b in boxes]),
            np.array([b['score'] for b in boxes]),
            np.array([b['bbox'] for b in boxes]))


def assert_same_detections(a, b):
    assert len(a[0]) == len(b[0]) > 0
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_allclose(a[1], b[1], rtol=0, atol=1e-5)
    # decoding exponentiates the deltas: boxes to 1e-4 relative
    np.testing.assert_allclose(a[2], b[2], rtol=1e-4, atol=1e-3)


def test_tool_and_tools_test_onnx_give_the_same_detections(
        demo_root, tmp_path):
    detector = build_eval_detector(TINY_CONFIG, score_thr=0.0)
    ckpt = tmp_path / 'tiny.pth'
    save_checkpoint(dict(state_dict=detector.state_dict()), str(ckpt))
    float_file, int8_file = tmp_path / 'float.onnx', tmp_path / 'int8.onnx'
    export_onnx(detector, str(float_file), INPUT_SIZE)
    options = [*data_root_options(demo_root), 'model.test_cfg.score_thr=0']
    proc = run_tool('tools/deployment/quantize_int8.py', TINY_CONFIG, ckpt,
                    '--out', int8_file, '--calib-images', '4', '--eval',
                    '--cfg-options', *options,
                    f'val_evaluator.outfile_prefix={tmp_path}/tool')
    assert 'int8 (QDQ), calibrated on 4 training images' in proc.stdout
    found = re.findall(r'^(float32|int8): coco/bbox_mAP [0-9.]+', proc.stdout,
                       re.M)
    assert found == ['float32', 'int8']
    runs = {}
    for name, extra in (('torch', []), ('float', ['--onnx', float_file]),
                        ('int8', ['--onnx', int8_file])):
        proc = run_tool('tools/test.py', TINY_CONFIG, ckpt, '--work-dir',
                        tmp_path / name, *extra, '--cfg-options', *options,
                        f'test_evaluator.outfile_prefix={tmp_path}/{name}')
        assert ('network in ONNX Runtime' in proc.stdout) == bool(extra)
        runs[name] = detections(tmp_path / name)
    # the float32 graph in tools/test.py: PyTorch's detections
    assert_same_detections(runs['float'], runs['torch'])
    # the tool evaluated int8 last: the same as tools/test.py --onnx int8
    assert_same_detections(detections(tmp_path / 'tool'), runs['int8'])
