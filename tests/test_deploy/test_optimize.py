"""The backend --fast runs (projects/m2det/deploy/optimize.py): the fastest
candidate measured here that keeps the outputs, int8 calibrated on the
config's data and cached, and what it falls back to without data."""
import copy
import os

import numpy as np
import pytest
import torch

from conftest import TINY_CONFIG, build_eval_detector, tiny_config_on
from projects.m2det.deploy import optimize_for_inference
from projects.m2det.deploy.optimize import (MAX_OUTPUT_ERROR,
                                            candidate_backends,
                                            choose_backend)
from projects.m2det.deploy.quantize import calibration_batches
from projects.m2det.utils import default_dtype


@pytest.mark.parametrize('native_bfloat16, int8, expected', [
    (True, True, ['bfloat16', 'float32', 'int8']),
    (False, True, ['float32', 'int8']),
    (True, False, ['bfloat16', 'float32']),
    (False, False, ['float32']),
])
def test_candidates_leave_emulated_bfloat16_out(native_bfloat16, int8,
                                                expected):
    assert candidate_backends(native_bfloat16, int8) == expected


def test_the_fastest_backend_that_keeps_the_outputs_is_chosen():
    seconds = dict(bfloat16=0.16, float32=0.61, int8=0.13)
    errors = dict(bfloat16=7e-3, float32=1e-6, int8=3e-2)
    assert choose_backend(seconds, errors) == 'int8'
    # an int8 graph that moved the outputs too far is passed over
    assert choose_backend(seconds, dict(errors, int8=0.5)) == 'bfloat16'
    # the AVX2-only kind: no bfloat16 candidate
    assert choose_backend(dict(float32=1.42, int8=0.64),
                          dict(float32=1e-6, int8=3e-2)) == 'int8'
    assert choose_backend(dict(float32=0.5, int8=0.6),
                          dict(float32=0.0, int8=0.0)) == 'float32'
    # nothing kept: float32
    assert choose_backend(dict(int8=0.1), dict(int8=1.0)) == 'float32'
    assert choose_backend(dict(int8=0.1), dict(int8=MAX_OUTPUT_ERROR)) == (
        'int8')


def head_outputs(model, x):
    inputs = model.data_preprocessor(dict(inputs=x), False)['inputs']
    with torch.inference_mode():
        outputs = model._forward(inputs)
    return torch.cat([torch.as_tensor(o).flatten() for part in outputs
                      for o in part])


@pytest.fixture(scope='module')
def measured(demo_root, tmp_path_factory):
    """The tiny model optimized as on a CPU without native bfloat16, with
    the demo data, and its float32 original."""
    cache = tmp_path_factory.mktemp('cache')
    detector = build_eval_detector(TINY_CONFIG)
    fast = optimize_for_inference(copy.deepcopy(detector),
                                  cfg=tiny_config_on(demo_root),
                                  calibration=4, cache_dir=str(cache),
                                  native_bfloat16=False)
    return detector, fast, cache


def test_without_native_bfloat16_float32_and_int8_are_timed(measured):
    detector, fast, cache = measured
    choice = fast.fast_inference
    assert sorted(choice.seconds) == sorted(choice.errors) == [
        'float32', 'int8']
    assert all(seconds > 0 for seconds in choice.seconds.values())
    assert choice.skipped == dict(bfloat16='emulated on this CPU')
    assert choice.errors['float32'] < 1e-4  # BN folding only rounds
    assert 1e-4 < choice.errors['int8'] < MAX_OUTPUT_ERROR
    assert choice.backend == choose_backend(choice.seconds, choice.errors)
    assert choice.summary().startswith(f'{choice.backend} in ')
    # the int8 graph stays in the cache folder
    assert os.listdir(cache) == [os.path.basename(choice.int8_file)]


def test_the_chosen_backend_runs_the_detector(measured, demo_root):
    detector, fast, _ = measured
    # a val image: int8 ranges fit images like the training ones
    x = torch.from_numpy(
        next(calibration_batches(tiny_config_on(demo_root), 1, 'val')))
    ref, out = head_outputs(detector, x), head_outputs(fast, x)
    error = ((out - ref).abs().max() / ref.abs().max()).item()
    assert error < MAX_OUTPUT_ERROR
    # int8 in ONNX Runtime or BN folded in PyTorch, as chosen
    folded = not any(isinstance(m, torch.nn.BatchNorm2d)
                     for m in fast.backbone.modules())
    assert folded == (fast.fast_inference.backend == 'float32')


def test_the_cached_int8_graph_is_reused(measured, demo_root):
    _, fast, cache = measured
    first = fast.fast_inference.int8_file
    before = os.stat(first).st_mtime_ns
    again = optimize_for_inference(
        build_eval_detector(TINY_CONFIG), 'int8',
        cfg=tiny_config_on(demo_root), calibration=4, cache_dir=str(cache))
    assert again.fast_inference.int8_file == first
    assert os.stat(first).st_mtime_ns == before
    # other weights: another graph
    other = build_eval_detector(TINY_CONFIG)
    with torch.no_grad():
        next(other.backbone.parameters()).mul_(2)
    optimize_for_inference(other, 'int8', cfg=tiny_config_on(demo_root),
                           calibration=4, cache_dir=str(cache))
    assert len(os.listdir(cache)) == 2


def test_given_calibration_images_time_on_the_last(demo_root):
    generator = torch.Generator().manual_seed(0)
    images = [(torch.rand(1, 3, 160, 160, generator=generator) *
               255).numpy() for _ in range(2)]
    fast = optimize_for_inference(build_eval_detector(TINY_CONFIG),
                                  calibration=images, native_bfloat16=True)
    choice = fast.fast_inference
    assert sorted(choice.seconds) == ['bfloat16', 'float32', 'int8']
    assert choice.skipped == {} and choice.int8_file is None


def test_without_data_the_capability_decides(tmp_path):
    cfg = tiny_config_on(tmp_path / 'nothing_here')
    for native, dtype in ((True, 'bfloat16'), (False, 'float32')):
        fast = optimize_for_inference(build_eval_detector(TINY_CONFIG),
                                      cfg=cfg, native_bfloat16=native)
        choice = fast.fast_inference
        assert choice.backend == dtype and choice.seconds == {}
        # the reason int8 was left out names the missing file
        assert 'nothing_here' in choice.skipped['int8']
        assert 'not timed' in choice.summary()
        assert next(fast.backbone.parameters()).dtype == getattr(torch, dtype)


def test_explicit_int8_without_data_says_why(tmp_path):
    with pytest.raises(FileNotFoundError, match='nothing_here'):
        optimize_for_inference(build_eval_detector(TINY_CONFIG), 'int8',
                               cfg=tiny_config_on(tmp_path / 'nothing_here'))


def test_bad_backend_and_compiled_int8_are_named():
    with pytest.raises(ValueError, match="got 'int4'"):
        optimize_for_inference(build_eval_detector(TINY_CONFIG), 'int4')
    with pytest.raises(ValueError, match="not to 'int8'"):
        optimize_for_inference(build_eval_detector(TINY_CONFIG), 'int8',
                               compile=True)


def test_compile_takes_the_capability_s_dtype():
    fast = optimize_for_inference(build_eval_detector(TINY_CONFIG),
                                  compile=True)
    assert fast.fast_inference.backend == default_dtype()
    assert np.isfinite(head_outputs(fast, torch.rand(1, 3, 160, 160) *
                                    255).numpy()).all()
