"""The CPU benchmark tool's modes against the float32 model (in a module
of its own: its workers take a minute, which the other half of the suite's
two processes can use)."""
import json

from conftest import TINY_CONFIG, run_tool
from projects.m2det.utils import cpu_has_native_bfloat16


def test_benchmark_modes_agree_with_float32(demo_root, tmp_path):
    image = sorted((demo_root / 'val').glob('*.jpg'))[0]
    out = tmp_path / 'bench.json'
    run_tool('tools/analysis_tools/benchmark_cpu.py', TINY_CONFIG, '--modes',
             'fast-fp32', 'fast', 'onnx', 'onnx-int8', '--image', image,
             '--batch', '1', '2', '--warmup', '0', '--repeat', '1',
             '--peak-sizes', '256', '--out', out)
    rows = json.loads(out.read_text())['results']
    assert [r['mode'] for r in rows] == [
        'fast-fp32', 'fast', 'onnx', 'onnx-int8']
    # 'fast' is what --fast picks here: the fastest candidate it timed
    fast = rows[1]['precision']
    assert [r['precision'] for r in rows] == [
        'float32', fast, 'float32', 'int8']
    assert rows[1]['backend_choice'].startswith(f'{fast} in ')
    assert 'int8' in rows[1]['backend_choice']
    if not cpu_has_native_bfloat16():
        assert 'no bfloat16: emulated' in rows[1]['backend_choice']
    errors = [r['max_rel_error_vs_fp32'] for r in rows]
    # float32 paths agree to rounding; bfloat16 keeps about 3 digits, int8
    # calibrated on random images about 1 to 2
    assert errors[0] < 1e-5 and errors[2] < 1e-5
    assert 1e-4 < errors[3] < 0.3
    if fast == 'float32':
        assert errors[1] < 1e-5
    else:
        assert 1e-5 < errors[1] < 0.3
    for r in rows:
        assert set(r['forward_s']) == {'1', '2'} and r['end_to_end_s'] > 0
