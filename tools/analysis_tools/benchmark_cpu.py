"""Benchmark detectors on the CPU, side by side, against the machine's peak.

For every config it measures, each in a fresh subprocess (so that peak
memory is the config's own):

* forward latency (normalisation, backbone, neck and head, no
  post-processing) at batch 1 and at the other ``--batch`` sizes, and the
  throughput they give;
* end-to-end latency from an image file to final detections: load, test
  pipeline, preprocessing, forward, decoding and NMS (``inference_detector``,
  or ``OnnxDetector`` for ONNX Runtime);
* peak resident memory;
* the model's FLOPs (2 per multiply-accumulate counted by mmengine's
  analyzer, as ``get_flops.py``) and the GFLOP/s its forward achieves;
* in ``--modes`` other than fp32 (fast inference, torch.compile, ONNX
  Runtime), how far the head's raw outputs are from the float32 model's.

Once per round it also measures the physical limit: the best GFLOP/s of
float32 and bfloat16 matrix multiplies on the same threads, so every row
shows its fraction of the peak in its own precision. Times are medians over
``--repeat`` runs after ``--warmup``; the thread count is set and reported.

``--rounds N`` measures every row N times, the rows interleaved (A, B, A,
B, ...), and reports the median round. Rows at the input size of an
``official:SIZE`` row are compared with it round by round: the "vs
official" column is the median of the paired ratios, with their range.

    python tools/analysis_tools/benchmark_cpu.py configs/m2det_vgg16_320.py \\
        mmdet::ssd/ssd300_coco.py mmdet::retinanet/retinanet_r50_fpn_1x_coco.py \\
        --input-sizes 0 0 320 --threads 2 --out work_dirs/bench.json
    python tools/analysis_tools/benchmark_cpu.py configs/m2det_vgg16_320.py \
        --modes fp32 fast compile onnx
    python tools/analysis_tools/benchmark_cpu.py configs/m2det_vgg16_320.py \
        official:320 --official-repo /path/to/M2Det --rounds 5

``REPORT.json --from-json [--plot PNG]`` prints an earlier ``--out``
report's table again and redraws its plot, measuring nothing.
``CONFIG@MODE,MODE`` runs that config in its own modes instead of
``--modes`` (say, mmdet's peers in fp32 and fast only).
``official:SIZE`` in place of a config times the official M2Det-VGG16
network (forward only) from a checkout given by ``--official-repo``; it is
imported from there at run time, never copied here.

Models get random weights unless ``--checkpoint`` is given (one per config,
in order, or ``none``); the forward time does not depend on them, the
post-processing time does (how many boxes pass the score threshold).
"""
import argparse
import json
import os.path as osp
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Callable, Dict, List, Optional, Sequence

import torch

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def median_seconds(fn: Callable[[], object], warmup: int,
                   repeat: int) -> float:
    """Median wall time of ``fn()`` over ``repeat`` calls after ``warmup``."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _fastest(fn: Callable[[], object], repeat: int) -> float:
    """The shortest of ``repeat`` timed calls of ``fn``, after one more."""
    fn()
    return min(median_seconds(fn, 0, 1) for _ in range(repeat))


def _onnxruntime_matmul(size: int, threads: int) -> Callable[[], object]:
    """A ``size``-square float32 MatMul in ONNX Runtime."""
    import numpy as np
    import onnxruntime as ort
    from onnx import TensorProto, helper, numpy_helper
    b = numpy_helper.from_array(
        np.random.rand(size, size).astype(np.float32), 'b')
    graph = helper.make_graph(
        [helper.make_node('MatMul', ['a', 'b'], ['c'])], 'matmul',
        [helper.make_tensor_value_info('a', TensorProto.FLOAT, [size, size])],
        [helper.make_tensor_value_info('c', TensorProto.FLOAT, [size, size])],
        [b])
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    session = ort.InferenceSession(
        helper.make_model(graph).SerializeToString(), options,
        providers=['CPUExecutionProvider'])
    a = np.random.rand(size, size).astype(np.float32)
    return lambda: session.run(None, {'a': a})


def matmul_gflops(dtype: torch.dtype,
                  sizes: Sequence[int] = (1024, 2048, 4096),
                  repeat: int = 5) -> Dict[str, float]:
    """The machine's matrix-multiply limit in ``dtype``, per library.

    Each library multiplies square matrices of every size; its figure is
    its best GFLOP/s, each size timed as the fastest of ``repeat`` calls.
    The libraries: ``torch.mm`` (MKL for float32, oneDNN for bfloat16), a
    1x1 convolution in oneDNN (a matrix multiply of the pixels by the
    weights, the kernel family the networks' convolutions run on) and, for
    float32, ONNX Runtime. They differ by CPU: on AMD, MKL's float32 path
    is about 25 % below oneDNN's. The limit is the best of them.
    """
    threads = torch.get_num_threads()
    best = {}
    for size in sizes:
        a = torch.randn(size, size).to(dtype)
        b = torch.randn(size, size).to(dtype)
        conv = torch.nn.Conv2d(size, size, 1, bias=False).to(dtype)
        conv = conv.to(memory_format=torch.channels_last)
        # (1, size, 64, 64): a (4096, size) x (size, size) product
        pixels = torch.randn(1, size, 64, 64).to(dtype).contiguous(
            memory_format=torch.channels_last)
        candidates = {
            'torch.mm': (lambda: torch.mm(a, b), 2 * size**3),
            'onednn_conv1x1': (lambda: conv(pixels), 2 * 4096 * size**2),
        }
        if dtype == torch.float32:
            candidates['onnxruntime'] = (_onnxruntime_matmul(size, threads),
                                         2 * size**3)
        with torch.inference_mode():
            for name, (fn, flops) in candidates.items():
                gflops = flops / _fastest(fn, repeat) / 1e9
                best[name] = max(best.get(name, 0.0), gflops)
    return best


def input_size(cfg, size: int = 0) -> int:
    """The square input side a config tests at (its test Resize scale), or
    ``size`` if non-zero, which then becomes the config's test scale."""
    for step in cfg.test_dataloader.dataset.pipeline:
        if 'scale' in step:
            if size:
                step.update(scale=(size, size), keep_ratio=False)
            return size or max(step['scale'])
    raise ValueError('the test pipeline of the config has no Resize scale')


def gflops_of(model, size: int) -> float:
    """FLOPs (2 per multiply-accumulate) of one ``size`` x ``size`` image."""
    from mmengine.analysis import FlopAnalyzer
    analyzer = FlopAnalyzer(model, (torch.rand(1, 3, size, size), ))
    analyzer.unsupported_ops_warnings(False)
    analyzer.uncalled_modules_warnings(False)
    return 2 * analyzer.total() / 1e9


def forward_seconds(forward: Callable, size: int, batches: List[int],
                    warmup: int, repeat: int) -> Dict[int, float]:
    """Median forward time at each batch size, on random pixels."""
    times = {}
    with torch.inference_mode():
        for batch in batches:
            x = torch.rand(batch, 3, size, size) * 255
            times[batch] = median_seconds(lambda: forward(x), warmup, repeat)
    return times


def measure_official(size: int, official_repo: str, batches: List[int],
                     warmup: int, repeat: int) -> dict:
    """Forward figures of the official M2Det-VGG16 at ``size``."""
    from pathlib import Path
    sys.path.insert(0, osp.join(REPO_ROOT, 'tools', 'misc'))
    from make_official_reference import M2DET_CONFIG, import_official
    official = import_official(Path(official_repo).resolve())
    net = official.build_net('test', size, M2DET_CONFIG).eval()
    # the official BGR mean, subtracted as in our forward
    mean = torch.tensor([104., 117., 123.]).view(1, 3, 1, 1)
    forward = forward_seconds(lambda x: net(x - mean), size, batches, warmup,
                              repeat)
    result = dict(
        config=f'official M2Det-VGG16-{size}',
        mode='fp32',
        precision='float32',
        input_size=size,
        params=sum(p.numel() for p in net.parameters()),
        threads=torch.get_num_threads(),
        gflops=gflops_of(net, size),
        forward_s=forward,
        throughput_img_s={b: b / s for b, s in forward.items()},
        end_to_end_s=None,
        max_rel_error_vs_fp32=None)
    return result


# optimize_for_inference arguments of each mode; 'fp32' is the model as
# built, 'onnx' the network exported and run by ONNX Runtime (float32)
FAST_MODES = {
    'fast': dict(dtype='bfloat16'),
    'fast-fp32': dict(dtype='float32'),
    'compile': dict(dtype='bfloat16', compile=True),
    'compile-fp32': dict(dtype='float32', compile=True),
}
MODES = ['fp32', *FAST_MODES, 'onnx']


def precision(mode: str) -> str:
    """The dtype a mode computes in, for its fraction of peak."""
    return FAST_MODES.get(mode, {}).get('dtype', 'float32')


def network_outputs(forward: Callable, x: torch.Tensor) -> torch.Tensor:
    """The head's raw outputs for ``x``, flattened into one vector."""
    with torch.inference_mode():
        outputs = forward(x)
    return torch.cat([torch.as_tensor(o).flatten() for o in outputs])


def relative_error(out: torch.Tensor, ref: torch.Tensor) -> float:
    """Largest absolute difference relative to the largest output."""
    return ((out - ref).abs().max() / ref.abs().max()).item()


def onnx_detector(model, size: int, threads: int, directory: str):
    """``model``'s network exported to ``directory`` and loaded in ONNX
    Runtime, with the config's pre- and post-processing."""
    from projects.m2det.deploy.onnx_export import export_onnx
    from projects.m2det.deploy.onnx_detector import OnnxDetector
    path = osp.join(directory, 'model.onnx')
    export_onnx(model, path, (size, size))
    return OnnxDetector(path, model.cfg, threads)


def measure_config(config: str, checkpoint: Optional[str], size: int,
                   image: str, batches: List[int], warmup: int, repeat: int,
                   mode: str) -> dict:
    """All figures of one config in one mode; runs in its own process."""
    from mmcv.transforms import Compose
    from mmdet.apis import inference_detector, init_detector
    from mmdet.utils import get_test_pipeline_cfg
    from mmengine.config import Config

    sys.path.insert(0, REPO_ROOT)
    import projects.m2det  # noqa: F401  (registers M2Det, applies fixes)

    if config.startswith('mmdet::'):
        # mmdet's own configs, as `_base_` and mim name them
        import mmdet
        config = osp.join(osp.dirname(mmdet.__file__), '.mim', 'configs',
                          config[len('mmdet::'):])
    cfg = Config.fromfile(config)
    size = input_size(cfg, size)
    model = init_detector(cfg, checkpoint, device='cpu').eval()
    flops = gflops_of(model, size)
    params = sum(p.numel() for p in model.parameters())
    # agreement with the float32 model on fixed random pixels
    x = torch.rand(1, 3, size, size, generator=torch.Generator().manual_seed(
        0)) * 255
    normalized = model.data_preprocessor(dict(inputs=x), False)['inputs']
    reference = network_outputs(lambda x: sum(model._forward(x), []),
                                normalized)
    error = None
    with tempfile.TemporaryDirectory() as directory:
        if mode == 'onnx':
            detector = onnx_detector(model, size, torch.get_num_threads(),
                                     directory)
            forward_fn = lambda x: detector.run(x.numpy())  # noqa: E731
            error = relative_error(network_outputs(forward_fn, x), reference)
            predict = detector
        else:
            if mode != 'fp32':
                from projects.m2det import optimize_for_inference
                optimize_for_inference(model, **FAST_MODES[mode])
                # compilation happens on the first call, never timed
                warmup = max(warmup, 1)
                error = relative_error(
                    network_outputs(lambda x: sum(model._forward(x), []),
                                    normalized), reference)

            def forward_fn(x):
                return model._forward(
                    model.data_preprocessor(dict(inputs=x), False)['inputs'])

            # built once, as mmdet's DetInferencer does; inference_detector
            # would rebuild it for every image
            pipeline = Compose(get_test_pipeline_cfg(cfg))

            def predict(image):
                return inference_detector(model, image, pipeline)

        forward = forward_seconds(forward_fn, size, batches, warmup, repeat)
        with torch.inference_mode():
            end_to_end = median_seconds(lambda: predict(image), warmup,
                                        repeat)
    return dict(
        config=config,
        mode=mode,
        precision=precision(mode),
        input_size=size,
        params=params,
        threads=torch.get_num_threads(),
        gflops=flops,
        forward_s=forward,
        throughput_img_s={b: b / s for b, s in forward.items()},
        end_to_end_s=end_to_end,
        max_rel_error_vs_fp32=error)


def run_worker(args: argparse.Namespace, config: str,
               checkpoint: Optional[str], size: int, mode: str) -> dict:
    """Measure ``config`` in a subprocess and return its figures."""
    command = [
        sys.executable, osp.abspath(__file__), config, '--worker',
        '--threads', str(args.threads), '--image', args.image,
        '--warmup', str(args.warmup), '--repeat', str(args.repeat),
        '--input-sizes', str(size), '--batch', *map(str, args.batch),
        '--modes', mode
    ]
    if checkpoint:
        command += ['--checkpoint', checkpoint]
    if args.official_repo:
        command += ['--official-repo', args.official_repo]
    proc = subprocess.run(command, capture_output=True, text=True)
    if proc.returncode:
        raise RuntimeError(
            f'benchmark of {config} ({mode}) failed:\n{proc.stderr}')
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _fmt(value: Optional[float], spec: str) -> str:
    return '-' if value is None else format(value, spec)


def merge_rounds(results: List[dict]) -> dict:
    """One row from a config's results in every round: the median of each
    time, the largest memory, the per-round batch-1 forward times kept."""
    row = dict(results[0])
    row['forward_s'] = {
        b: statistics.median(r['forward_s'][b] for r in results)
        for b in row['forward_s']
    }
    row['throughput_img_s'] = {
        b: int(b) / s for b, s in row['forward_s'].items()
    }
    if row['end_to_end_s'] is not None:
        row['end_to_end_s'] = statistics.median(r['end_to_end_s']
                                                for r in results)
        row['end_to_end_over_forward'] = (
            row['end_to_end_s'] / row['forward_s']['1'])
    row['forward_s_rounds'] = [r['forward_s']['1'] for r in results]
    row['gflop_per_s'] = row['gflops'] / row['forward_s']['1']
    row['peak_rss_mib'] = max(r['peak_rss_mib'] for r in results)
    return row


def compare_with_official(rows: List[dict]) -> None:
    """Add ``vs_official`` to every row of the official network (same
    parameter count) at the input size of an official row: the median,
    smallest and largest of the per-round ratios of its batch-1 forward time
    to the official one (below 1: faster)."""
    official = {(r['input_size'], r['params']): r['forward_s_rounds']
                for r in rows if r['config'].startswith('official ')}
    for row in rows:
        theirs = official.get((row['input_size'], row['params']))
        if theirs is None or row['config'].startswith('official '):
            continue
        ratios = [a / b for a, b in zip(row['forward_s_rounds'], theirs)]
        row['vs_official'] = dict(
            median=statistics.median(ratios),
            min=min(ratios),
            max=max(ratios))


def _vs_official(row: dict) -> str:
    vs = row.get('vs_official')
    if vs is None:
        return '-'
    if vs['min'] == vs['max']:
        return f"{vs['median']:.2f}x"
    return f"{vs['median']:.2f}x ({vs['min']:.2f}-{vs['max']:.2f})"


def table(rows: List[dict], peaks: Dict[str, float]) -> str:
    """A markdown table of the results."""
    lines = [
        '| model | mode | input | params (M) | GFLOP | forward b1 (s) | '
        'throughput b8 (img/s) | end-to-end (s) | end-to-end / forward | '
        'GFLOP/s | of peak | vs official | max rel. error vs fp32 | '
        'peak RSS (MiB) |', '|---' * 14 + '|'
    ]
    for r in rows:
        peak = peaks[r['precision']]
        lines.append(' | '.join([
            f"| {osp.basename(r['config'])}", r['mode'],
            str(r['input_size']), f"{r['params'] / 1e6:.1f}",
            f"{r['gflops']:.1f}", f"{r['forward_s']['1']:.3f}",
            _fmt(r['throughput_img_s'].get('8'), '.2f'),
            _fmt(r['end_to_end_s'], '.3f'),
            _fmt(r.get('end_to_end_over_forward'), '.2f'),
            f"{r['gflop_per_s']:.1f}",
            f"{r['gflop_per_s'] / peak:.0%} "
            f"{'bf16' if r['precision'] == 'bfloat16' else 'fp32'}",
            _vs_official(r),
            _fmt(r['max_rel_error_vs_fp32'], '.1e'),
            f"{r['peak_rss_mib']:.0f} |"
        ]))
    return '\n'.join(lines)


def cpu_name() -> str:
    """The CPU's model name, as the kernel reports it."""
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    import platform
    return platform.processor() or 'unknown'


def family(row: dict) -> str:
    """A row's model and mode without its input size, e.g. ``m2det_vgg16``
    or ``m2det_vgg16 (fast)``."""
    name = osp.basename(row['config']).replace('.py', '')
    size = str(row['input_size'])
    for sep in ('_', '-', ''):
        head, found, tail = name.rpartition(sep + size)
        if found:
            name = head + tail
            break
    return name if row['mode'] == 'fp32' else f"{name} ({row['mode']})"


def plot(rows: List[dict], path: str, title: str) -> None:
    """Forward latency (batch 1) against input size, a line per model."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(9, 4.5))
    for name in dict.fromkeys(family(r) for r in rows):
        points = sorted((r['input_size'], r['forward_s']['1']) for r in rows
                        if family(r) == name)
        ax.plot(*zip(*points), marker='o', label=name)
    ax.set_xlabel('input size (px, square)')
    ax.set_ylabel('forward latency, batch 1 (s)')
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(loc='center left', bbox_to_anchor=(1.02, 0.5), fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def config_modes(entry: str, modes: List[str]) -> List[tuple]:
    """``(config, mode)`` pairs of a command-line entry: ``CONFIG`` runs in
    ``modes``, ``CONFIG@MODE,MODE`` in its own, ``official:SIZE`` in fp32."""
    if entry.startswith('official:'):
        return [(entry, 'fp32')]
    config, _, own = entry.partition('@')
    own_modes = own.split(',') if own else modes
    unknown = [m for m in own_modes if m not in MODES]
    if unknown:
        raise ValueError(f'{entry}: unknown mode(s) {unknown}; choose from '
                         f'{MODES}')
    return [(config, mode) for mode in own_modes]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        'configs', nargs='+',
        help='config files (CONFIG@MODE,MODE: this one in its own modes), '
        'mmdet::PATH for mmdet\'s configs, official:SIZE')
    parser.add_argument(
        '--checkpoint', nargs='+', default=[],
        help='one checkpoint per config, in order ("none": random weights)')
    parser.add_argument(
        '--image', default=osp.join(REPO_ROOT, 'data', 'demo', 'val',
                                    '000000.jpg'),
        help='image for the end-to-end latency')
    parser.add_argument(
        '--input-sizes', type=int, nargs='+', default=[],
        help='square test input per config, in order (0: its own)')
    parser.add_argument(
        '--official-repo',
        help='checkout of the official M2Det, for official:SIZE entries')
    parser.add_argument('--batch', type=int, nargs='+', default=[1, 8])
    parser.add_argument(
        '--modes', nargs='+', choices=MODES, default=['fp32'],
        help='how to run each config: fp32 (as built), fast (BN folded, '
        'channels-last, bfloat16), fast-fp32 (the same in float32), compile '
        '/ compile-fp32 (fast with torch.compile), onnx (ONNX Runtime, '
        'float32); official:SIZE runs fp32 only')
    parser.add_argument('--fast', action='store_true',
                        help='shorthand for --modes fp32 fast')
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument(
        '--peak-sizes', type=int, nargs='+', default=[1024, 2048, 4096],
        help='square matrix sizes of the matmul limit')
    parser.add_argument(
        '--rounds', type=int, default=1,
        help='measure every row this many times, interleaved, and report '
        'the median round')
    parser.add_argument('--warmup', type=int, default=2)
    parser.add_argument('--repeat', type=int, default=5)
    parser.add_argument('--out', help='json file for the results')
    parser.add_argument('--plot', help='png of latency against input size')
    parser.add_argument(
        '--from-json', action='store_true',
        help='measure nothing: print the table of the report given as the '
        'one CONFIG argument (an earlier --out) and draw its --plot')
    parser.add_argument('--worker', action='store_true', help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.fast:
        args.modes = list(dict.fromkeys([*args.modes, 'fast']))
    if 1 not in args.batch:
        args.batch = [1] + args.batch
    for name in ('checkpoint', 'input_sizes'):
        given = getattr(args, name)
        if given and len(given) != len(args.configs):
            parser.error(f'--{name.replace("_", "-")} needs one entry per '
                         f'config ({len(args.configs)}), got {len(given)}')
    if any(c.startswith('official:') for c in args.configs) and \
            not args.official_repo:
        parser.error('official:SIZE entries need --official-repo')
    for entry in args.configs:
        try:
            config_modes(entry, args.modes)
        except ValueError as error:
            parser.error(str(error))
    if args.from_json:
        return args
    if not osp.isfile(args.image):
        parser.error(f'--image {args.image} not found')
    return args


def report_out(report: dict, args: argparse.Namespace) -> None:
    """Print a report's table and write its json and plot, if asked."""
    peaks, rows = report['matmul_peak_gflop_per_s'], report['results']
    print(f"{report['cpu']}, {report['threads']} threads, "
          f"{report['rounds']} round(s); matmul peak: fp32 "
          f"{peaks['float32']:.0f} GFLOP/s, bf16 {peaks['bfloat16']:.0f} "
          f"GFLOP/s (best of "
          f"{', '.join(report['matmul_gflop_per_s_by_library']['float32'])})")
    print(table(rows, peaks))
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(report, f, indent=1)
    if args.plot:
        plot(rows, args.plot,
             f"{report['cpu']}, {report['threads']} threads, "
             f"torch {report['torch']}")


def main() -> None:
    args = parse_args()
    if args.from_json:
        with open(args.configs[0]) as f:
            report_out(json.load(f), args)
        return
    torch.set_num_threads(args.threads)
    if args.worker:
        config, size = args.configs[0], args.input_sizes[0]
        if config.startswith('official:'):
            result = measure_official(int(config.split(':')[1]),
                                      args.official_repo, args.batch,
                                      args.warmup, args.repeat)
        else:
            result = measure_config(config, (args.checkpoint or [None])[0],
                                    size, args.image, args.batch,
                                    args.warmup, args.repeat, args.modes[0])
        # ru_maxrss is in KiB on Linux
        result['peak_rss_mib'] = resource.getrusage(
            resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps(result))
        return
    checkpoints = [None if c in (None, 'none') else c
                   for c in args.checkpoint] or [None] * len(args.configs)
    sizes = args.input_sizes or [0] * len(args.configs)
    jobs = [(config, checkpoint, size, mode)
            for config, checkpoint, size in zip(args.configs, checkpoints,
                                                sizes)
            for config, mode in config_modes(config, args.modes)]
    peak_by_library = dict(float32={}, bfloat16={})
    results = [[] for _ in jobs]
    for round_ in range(args.rounds):
        for dtype, best in peak_by_library.items():
            for name, gflops in matmul_gflops(getattr(torch, dtype),
                                              args.peak_sizes).items():
                best[name] = max(best.get(name, 0.0), gflops)
        for job, job_results in zip(jobs, results):
            # json turns the batch keys into strings; keep one form throughout
            job_results.append(json.loads(json.dumps(run_worker(args,
                                                                *job))))
            print(f"round {round_ + 1}/{args.rounds}: "
                  f"{job_results[-1]['config']} ({job[3]}): forward "
                  f"{job_results[-1]['forward_s']['1']:.3f} s", flush=True)
    rows = [merge_rounds(r) for r in results]
    compare_with_official(rows)
    peaks = {
        dtype: max(best.values())
        for dtype, best in peak_by_library.items()
    }
    report = dict(
        cpu=cpu_name(),
        threads=args.threads,
        rounds=args.rounds,
        torch=torch.__version__,
        matmul_peak_gflop_per_s=peaks,
        matmul_gflop_per_s_by_library=peak_by_library,
        results=rows)
    report_out(report, args)


if __name__ == '__main__':
    main()
