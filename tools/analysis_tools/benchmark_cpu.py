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
shows its fraction of the peak in its own precision (a matrix size is left
out where one multiply would take over a second, as in emulated
bfloat16, so the probe takes seconds). Times are medians over
``--repeat`` runs after ``--warmup``; the thread count is set and reported.

``--rounds N`` measures every row N times, the rows interleaved (A, B, A,
B, ...), and reports the median round. Rows at the input size of an
``official:SIZE`` row are compared with it round by round: the "vs
official" column is the median of the paired ratios, with their range.

    python tools/analysis_tools/benchmark_cpu.py configs/m2det_vgg16_320.py \\
        mmdet::ssd/ssd300_coco.py \\
        mmdet::retinanet/retinanet_r50_fpn_1x_coco.py \\
        --input-sizes 0 0 320 --threads 2 --out work_dirs/bench.json
    python tools/analysis_tools/benchmark_cpu.py configs/m2det_vgg16_320.py \\
        --modes fp32 fast compile onnx
    python tools/analysis_tools/benchmark_cpu.py configs/m2det_vgg16_320.py \\
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
import sys

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, REPO_ROOT)

from projects.m2det.utils.benchmark import MODES, PROBE_SIZES  # noqa: E402
from projects.m2det.utils.benchmark_report import (  # noqa: E402
    config_modes, cpu_kind, measure_rounds, plot, plot_kinds, table)


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
        help='how to run each config: fp32 (as built), fast (what --fast '
        'picks on this CPU: the fastest of bfloat16 where native, float32 '
        'with BN folded, and int8 in ONNX Runtime, timed as --fast times '
        'them), fast-fp32 / fast-bf16 (BN folded, channels-last, in that '
        'precision), compile / compile-fp32 / compile-bf16 '
        '(those with torch.compile), onnx (ONNX Runtime, float32); '
        'official:SIZE runs fp32 only')
    parser.add_argument('--fast', action='store_true',
                        help='shorthand for --modes fp32 fast')
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument(
        '--peak-sizes', type=int, nargs='+', default=list(PROBE_SIZES),
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
        help='measure nothing: print the tables of the reports given as '
        'CONFIG arguments (earlier --out files) and draw their --plot; '
        'several reports (one per CPU kind) are drawn side by side')
    parser.add_argument(
        '--labels', nargs='+', default=[],
        help='with --from-json, a name per report for the plot (default: '
        'its CPU and instruction sets)')
    args = parser.parse_args()
    if args.fast:
        args.modes = list(dict.fromkeys([*args.modes, 'fast']))
    if 1 not in args.batch:
        args.batch = [1] + args.batch
    for name in ('checkpoint', 'input_sizes', 'labels'):
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
    print(f"{cpu_kind(report)}, {report['threads']} threads, "
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
             f"{cpu_kind(report)}, {report['threads']} threads, "
             f"torch {report['torch']}")


def main() -> None:
    """Measure the configs (or read a report) and give the report out."""
    args = parse_args()
    if args.from_json:
        reports = []
        for path in args.configs:
            with open(path) as f:
                reports.append(json.load(f))
        if len(reports) == 1:
            report_out(reports[0], args)
            return
        for report in reports:
            report_out(report, argparse.Namespace(out=None, plot=None))
        if args.plot:
            labels = args.labels or [cpu_kind(r) for r in reports]
            plot_kinds(reports, labels, args.plot)
        return
    checkpoints = [None if c in (None, 'none') else c
                   for c in args.checkpoint] or [None] * len(args.configs)
    sizes = args.input_sizes or [0] * len(args.configs)
    jobs = [
        dict(config=config, checkpoint=checkpoint, size=size, mode=mode,
             image=args.image, batches=args.batch, warmup=args.warmup,
             repeat=args.repeat, threads=args.threads,
             official_repo=args.official_repo)
        for entry, checkpoint, size in zip(args.configs, checkpoints, sizes)
        for config, mode in config_modes(entry, args.modes)
    ]
    report_out(
        measure_rounds(jobs, args.rounds, args.threads, args.peak_sizes),
        args)


if __name__ == '__main__':
    main()
