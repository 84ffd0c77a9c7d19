"""Benchmark detectors on the CPU, side by side, against the machine's peak.

For every config it measures, each in a fresh subprocess (so that peak
memory is the config's own):

* forward latency (backbone, neck and head, no post-processing) at batch 1
  and at the other ``--batch`` sizes, and the throughput they give;
* end-to-end latency from an image file to final detections: load, test
  pipeline, preprocessing, forward, decoding and NMS (``inference_detector``);
* peak resident memory;
* the model's FLOPs (2 per multiply-accumulate counted by mmengine's
  analyzer, as ``get_flops.py``) and the GFLOP/s its forward achieves.

Once per run it also measures the physical limit: the GFLOP/s of a large
float32 and bfloat16 matrix multiply on the same threads, so every row shows
its fraction of peak. Times are medians over ``--repeat`` runs after
``--warmup``; the thread count is set and reported.

    python tools/analysis_tools/benchmark_cpu.py configs/m2det_vgg16_320.py \\
        mmdet::ssd/ssd300_coco.py mmdet::retinanet/retinanet_r50_fpn_1x_coco.py \\
        --input-sizes 0 0 320 --threads 2 --out work_dirs/bench.json

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
import time
from typing import Callable, Dict, List, Optional

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


def matmul_gflops(dtype: torch.dtype,
                  size: int = 4096,
                  warmup: int = 2,
                  repeat: int = 5) -> float:
    """GFLOP/s of a ``size`` x ``size`` matrix multiply in ``dtype``."""
    a = torch.randn(size, size).to(dtype)
    b = torch.randn(size, size).to(dtype)
    seconds = median_seconds(lambda: torch.mm(a, b), warmup, repeat)
    return 2 * size**3 / seconds / 1e9


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
    forward = forward_seconds(net, size, batches, warmup, repeat)
    result = dict(
        config=f'official M2Det-VGG16-{size}',
        input_size=size,
        params=sum(p.numel() for p in net.parameters()),
        threads=torch.get_num_threads(),
        gflops=gflops_of(net, size),
        forward_s=forward,
        throughput_img_s={b: b / s for b, s in forward.items()},
        end_to_end_s=None)
    return result


def measure_config(config: str, checkpoint: Optional[str], size: int,
                   image: str, batches: List[int], warmup: int, repeat: int,
                   fast: bool) -> dict:
    """All figures of one config; runs in its own process."""
    from mmdet.apis import inference_detector, init_detector
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
    if fast:
        from projects.m2det import optimize_for_inference
        optimize_for_inference(model)
        config += ' --fast'
    forward = forward_seconds(model._forward, size, batches, warmup, repeat)
    with torch.inference_mode():
        end_to_end = median_seconds(lambda: inference_detector(model, image),
                                    warmup, repeat)
    return dict(
        config=config,
        input_size=size,
        params=sum(p.numel() for p in model.parameters()),
        threads=torch.get_num_threads(),
        gflops=flops,
        forward_s=forward,
        throughput_img_s={b: b / s for b, s in forward.items()},
        end_to_end_s=end_to_end)


def run_worker(args: argparse.Namespace, config: str,
               checkpoint: Optional[str], size: int, fast: bool) -> dict:
    """Measure ``config`` in a subprocess and return its figures."""
    command = [
        sys.executable, osp.abspath(__file__), config, '--worker',
        '--threads', str(args.threads), '--image', args.image,
        '--warmup', str(args.warmup), '--repeat', str(args.repeat),
        '--input-sizes', str(size), '--batch', *map(str, args.batch)
    ]
    if checkpoint:
        command += ['--checkpoint', checkpoint]
    if args.official_repo:
        command += ['--official-repo', args.official_repo]
    if fast:
        command.append('--fast')
    proc = subprocess.run(command, capture_output=True, text=True)
    if proc.returncode:
        raise RuntimeError(f'benchmark of {config} failed:\n{proc.stderr}')
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _fmt(value: Optional[float], spec: str) -> str:
    return '-' if value is None else format(value, spec)


def table(rows: List[dict], peaks: Dict[str, float]) -> str:
    """A markdown table of the results."""
    lines = [
        '| model | input | params (M) | GFLOP | forward b1 (s) | '
        'throughput b8 (img/s) | end-to-end (s) | GFLOP/s | '
        'of fp32 peak | peak RSS (MiB) |', '|---' * 10 + '|'
    ]
    for r in rows:
        lines.append(' | '.join([
            f"| {osp.basename(r['config'])}", str(r['input_size']),
            f"{r['params'] / 1e6:.1f}", f"{r['gflops']:.1f}",
            f"{r['forward_s']['1']:.3f}",
            _fmt(r['throughput_img_s'].get('8'), '.2f'),
            _fmt(r['end_to_end_s'], '.3f'), f"{r['gflop_per_s']:.1f}",
            f"{r['gflop_per_s'] / peaks['float32']:.0%}",
            f"{r['peak_rss_mib']:.0f} |"
        ]))
    return '\n'.join(lines)


def family(row: dict) -> str:
    """A row's model without its input size, e.g. ``m2det_vgg16``."""
    name = osp.basename(row['config']).replace('.py', '')
    size = str(row['input_size'])
    for sep in ('_', '-', ''):
        head, found, tail = name.rpartition(sep + size)
        if found:
            return head + tail
    return name


def plot(rows: List[dict], path: str) -> None:
    """Forward latency (batch 1) against input size, a line per model."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6, 4))
    for name in dict.fromkeys(family(r) for r in rows):
        points = sorted((r['input_size'], r['forward_s']['1']) for r in rows
                        if family(r) == name)
        ax.plot(*zip(*points), marker='o', label=name)
    ax.set_xlabel('input size (px, square)')
    ax.set_ylabel('forward latency, batch 1 (s)')
    ax.set_title(f"CPU, {rows[0]['threads']} threads")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('configs', nargs='+', help='config files')
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
        '--fast', action='store_true',
        help='also measure each config optimized for inference (BN folded, '
        'channels-last, bfloat16)')
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument('--warmup', type=int, default=2)
    parser.add_argument('--repeat', type=int, default=5)
    parser.add_argument('--out', help='json file for the results')
    parser.add_argument('--plot', help='png of latency against input size')
    parser.add_argument('--worker', action='store_true', help=argparse.SUPPRESS)
    args = parser.parse_args()
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
    if not osp.isfile(args.image):
        parser.error(f'--image {args.image} not found')
    return args


def main() -> None:
    args = parse_args()
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
                                    args.warmup, args.repeat, args.fast)
        result['gflop_per_s'] = result['gflops'] / result['forward_s'][1]
        # ru_maxrss is in KiB on Linux
        result['peak_rss_mib'] = resource.getrusage(
            resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps(result))
        return
    peaks = {
        'float32': matmul_gflops(torch.float32),
        'bfloat16': matmul_gflops(torch.bfloat16)
    }
    checkpoints = [None if c in (None, 'none') else c
                   for c in args.checkpoint] or [None] * len(args.configs)
    # json turns the batch keys into strings; keep one form throughout
    sizes = args.input_sizes or [0] * len(args.configs)
    rows = []
    for config, checkpoint, size in zip(args.configs, checkpoints, sizes):
        modes = [False, True] if args.fast and not config.startswith(
            'official:') else [False]
        for fast in modes:
            rows.append(json.loads(json.dumps(
                run_worker(args, config, checkpoint, size, fast))))
            print(f"{rows[-1]['config']}: forward "
                  f"{rows[-1]['forward_s']['1']:.3f} s", flush=True)
    report = dict(
        threads=args.threads,
        torch=torch.__version__,
        matmul_peak_gflop_per_s=peaks,
        results=rows)
    print(f'threads: {args.threads}; matmul peak: fp32 '
          f"{peaks['float32']:.0f} GFLOP/s, bf16 {peaks['bfloat16']:.0f} "
          'GFLOP/s')
    print(table(rows, peaks))
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(report, f, indent=1)
    if args.plot:
        plot(rows, args.plot)


if __name__ == '__main__':
    main()
