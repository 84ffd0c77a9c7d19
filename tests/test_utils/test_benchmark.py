"""The CPU benchmark tool measures what it says (no timing thresholds:
speed figures live in docs/benchmarks.md)."""
import json

import torch

from conftest import TINY_CONFIG, run_tool
from projects.m2det.utils import benchmark, cpu_has_native_bfloat16
from projects.m2det.utils.benchmark_report import (ISA_FLAGS, _vs_official,
                                                   compare_with_official,
                                                   config_modes, merge_rounds)


def test_benchmark_reports_every_figure(demo_root, tmp_path):
    image = sorted((demo_root / 'val').glob('*.jpg'))[0]
    out, png = tmp_path / 'bench.json', tmp_path / 'latency.png'
    proc = run_tool('tools/analysis_tools/benchmark_cpu.py', TINY_CONFIG,
                    TINY_CONFIG, '--input-sizes', '0', '224', '--image',
                    image, '--batch', '1', '2', '--threads', '1',
                    '--warmup', '0', '--repeat', '1', '--rounds', '2',
                    '--peak-sizes', '256', '512', '--out', out, '--plot', png)
    report = json.loads(out.read_text())
    assert report['threads'] == 1 and report['rounds'] == 2
    assert report['cpu']
    # both kinds of CI machine have AVX2; the rest names the kind
    assert 'avx2' in report['cpu_flags']
    assert set(report['cpu_flags']) <= set(ISA_FLAGS)
    assert ('avx512_bf16' in report['cpu_flags']) == cpu_has_native_bfloat16()
    peaks = report['matmul_peak_gflop_per_s']
    assert peaks['float32'] > 0 and peaks['bfloat16'] > 0
    # the limit is the best library's, each measured in the run
    by_library = report['matmul_gflop_per_s_by_library']
    assert set(by_library['float32']) == {
        'torch.mm', 'onednn_conv1x1', 'onnxruntime'
    }
    assert set(by_library['bfloat16']) == {'torch.mm', 'onednn_conv1x1'}
    for dtype, best in by_library.items():
        assert peaks[dtype] == max(best.values())
    own, resized = report['results']
    assert own['input_size'] == 160 and resized['input_size'] == 224
    for r in (own, resized):
        assert r['threads'] == 1 and r['mode'] == 'fp32'
        assert r['max_rel_error_vs_fp32'] is None
        assert set(r['forward_s']) == {'1', '2'}
        assert r['throughput_img_s']['2'] == 2 / r['forward_s']['2']
        assert r['end_to_end_s'] > 0 and r['peak_rss_mib'] > 100
        assert r['gflop_per_s'] == r['gflops'] / r['forward_s']['1']
        # two interleaved rounds, the reported batch-1 time is their median
        assert len(r['forward_s_rounds']) == 2
        assert r['forward_s']['1'] == sum(r['forward_s_rounds']) / 2
        assert r['end_to_end_over_forward'] == (r['end_to_end_s'] /
                                                r['forward_s']['1'])
        assert 'vs_official' not in r  # no official row to pair with
    # the same model costs (224 / 160)^2 as much at 224, up to the edges of
    # the odd-sized maps
    ratio = resized['gflops'] / own['gflops']
    assert 1.7 < ratio < 2.2
    assert 'm2det_tiny.py | fp32 | 160 |' in proc.stdout
    assert png.stat().st_size > 10_000
    # the same table and plot again from the json alone, nothing measured
    again = run_tool('tools/analysis_tools/benchmark_cpu.py', out,
                     '--from-json', '--plot', tmp_path / 'again.png')
    table_lines = [line for line in proc.stdout.splitlines()
                   if line.startswith('|')]
    assert table_lines and table_lines == [
        line for line in again.stdout.splitlines() if line.startswith('|')
    ]
    assert (tmp_path / 'again.png').stat().st_size > 10_000
    # two reports (say, one per CPU kind): both tables, one plot of both
    both = run_tool('tools/analysis_tools/benchmark_cpu.py', out, out,
                    '--from-json', '--labels', 'kind A', 'kind B', '--plot',
                    tmp_path / 'kinds.png')
    assert [line for line in both.stdout.splitlines()
            if line.startswith('|')] == table_lines * 2
    assert (tmp_path / 'kinds.png').stat().st_size > 10_000


def test_benchmark_rejects_mismatched_lists(tmp_path):
    proc = run_tool('tools/analysis_tools/benchmark_cpu.py', TINY_CONFIG,
                    '--input-sizes', '192', '256', check=False)
    assert proc.returncode == 2
    assert '--input-sizes needs one entry per config (1), got 2' in \
        proc.stderr
    proc = run_tool('tools/analysis_tools/benchmark_cpu.py', 'official:320',
                    check=False)
    assert 'official:SIZE entries need --official-repo' in proc.stderr


def test_median_seconds_times_only_the_repeats(monkeypatch):
    clock = [0.0]
    # two untimed warm-up calls, then three timed ones
    durations = iter([5.0, 5.0, 3.0, 1.0, 2.0])

    def fn():
        clock[0] += next(durations)

    monkeypatch.setattr(benchmark.time, 'perf_counter', lambda: clock[0])
    assert benchmark.median_seconds(fn, warmup=2, repeat=3) == 2.0
    assert next(durations, None) is None


def test_relative_error_is_relative_to_the_largest_reference():
    out, ref = torch.tensor([1., -3., 0.5]), torch.tensor([1., -4., 0.])
    # the largest difference (1) over the largest reference (4), not the
    # largest element-wise ratio (0.5 / 0)
    assert benchmark.relative_error(out, ref) == 1 / 4


def test_limit_probe_leaves_out_sizes_that_would_take_long():
    # 2 x 4096^3 flops at an emulated 19 GFLOP/s: 7.2 s a multiply
    assert not benchmark.probe_fits(2 * 4096**3, 19)
    assert benchmark.probe_fits(2 * 1024**3, 19)  # 0.11 s
    assert benchmark.probe_fits(2 * 2048**3, 173)  # 0.10 s in float32
    # a real probe with a size no CPU here multiplies in half a second
    best = benchmark.matmul_gflops(torch.float32, sizes=(64, 128, 16384),
                                   repeat=1)
    assert set(best) == {'torch.mm', 'onednn_conv1x1', 'onnxruntime'}
    assert all(value > 0 for value in best.values())


def test_rounds_merge_into_their_median():
    rounds = [
        dict(config='a.py', gflops=10.0, forward_s={'1': 1.0, '8': 4.0},
             end_to_end_s=1.5, peak_rss_mib=100.0),
        dict(config='a.py', gflops=10.0, forward_s={'1': 3.0, '8': 8.0},
             end_to_end_s=2.5, peak_rss_mib=120.0),
        dict(config='a.py', gflops=10.0, forward_s={'1': 2.0, '8': 6.0},
             end_to_end_s=2.0, peak_rss_mib=110.0),
    ]
    row = merge_rounds(rounds)
    assert row['forward_s'] == {'1': 2.0, '8': 6.0}
    assert row['throughput_img_s'] == {'1': 0.5, '8': 8 / 6.0}
    assert row['end_to_end_s'] == 2.0 and row['end_to_end_over_forward'] == 1
    assert row['forward_s_rounds'] == [1.0, 3.0, 2.0]
    assert row['gflop_per_s'] == 5.0 and row['peak_rss_mib'] == 120.0
    # the rounds themselves are left as they were
    assert rounds[0]['forward_s'] == {'1': 1.0, '8': 4.0}
    # the official network has no end-to-end time to relate
    official = merge_rounds([dict(rounds[0], end_to_end_s=None)])
    assert official['end_to_end_s'] is None
    assert 'end_to_end_over_forward' not in official


def test_rows_are_paired_with_the_official_row_of_their_size():
    rows = [
        dict(config='official M2Det-VGG16-320', input_size=320, params=7,
             forward_s_rounds=[1.0, 2.0, 1.0]),
        dict(config='m2det_vgg16_320.py', input_size=320, params=7,
             forward_s_rounds=[0.9, 1.0, 1.2]),
        dict(config='m2det_vgg16_512.py', input_size=512, params=7,
             forward_s_rounds=[3.0, 3.0, 3.0]),
        # another network at the official size is not paired with it
        dict(config='ssd320.py', input_size=320, params=3,
             forward_s_rounds=[0.5, 0.5, 0.5]),
    ]
    compare_with_official(rows)
    # round by round: 0.9 / 1, 1 / 2, 1.2 / 1
    assert rows[1]['vs_official'] == dict(median=0.9, min=0.5, max=1.2)
    assert not any('vs_official' in rows[i] for i in (0, 2, 3))
    assert _vs_official(rows[1]) == '0.90x (0.50-1.20)'


def test_each_config_can_have_its_own_modes():
    assert config_modes('a.py', ['fp32', 'onnx']) == [('a.py', 'fp32'),
                                                      ('a.py', 'onnx')]
    assert config_modes('mmdet::ssd/ssd300_coco.py@fp32,fast',
                        ['onnx']) == [('mmdet::ssd/ssd300_coco.py', 'fp32'),
                                      ('mmdet::ssd/ssd300_coco.py', 'fast')]
    assert config_modes('official:320', ['fast']) == [('official:320',
                                                       'fp32')]
    proc = run_tool('tools/analysis_tools/benchmark_cpu.py',
                    f'{TINY_CONFIG}@fp32,turbo', check=False)
    assert proc.returncode == 2
    assert "m2det_tiny.py@fp32,turbo: unknown mode(s) ['turbo']" in \
        proc.stderr
