"""The report of ``tools/analysis_tools/benchmark_cpu.py``: rows measured
round after round in worker processes (:mod:`.benchmark`), merged into
their median round, paired with the official network, as a table and a
plot."""
import json
import os
import os.path as osp
import statistics
import subprocess
import sys
from typing import Dict, List, Optional, Sequence, Tuple

import torch

from .benchmark import MODES, matmul_gflops

# where the `projects` package lives, for the workers' imports
REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.dirname(
    osp.abspath(__file__)))))


def config_modes(entry: str, modes: List[str]) -> List[Tuple[str, str]]:
    """``(config, mode)`` pairs of a command-line entry.

    Args:
        entry (str): ``CONFIG`` (runs in ``modes``), ``CONFIG@MODE,MODE``
            (in its own) or ``official:SIZE`` (in fp32).
        modes (list[str]): The modes of entries without their own.

    Returns:
        list[tuple[str, str]]: The config and mode of every row.
    """
    if entry.startswith('official:'):
        return [(entry, 'fp32')]
    config, _, own = entry.partition('@')
    own_modes = own.split(',') if own else modes
    unknown = [m for m in own_modes if m not in MODES]
    if unknown:
        raise ValueError(f'{entry}: unknown mode(s) {unknown}; choose from '
                         f'{MODES}')
    return [(config, mode) for mode in own_modes]


def run_worker(job: dict) -> dict:
    """Measure one row in a fresh process, so that its peak memory is its
    own.

    Args:
        job (dict): The arguments of
            :func:`projects.m2det.utils.benchmark.measure`.

    Returns:
        dict: Its figures, as json gives them back (batch keys are
        strings).
    """
    # the working directory stays the caller's, for relative paths in the
    # job; the repository root goes on the path for `projects`
    env = dict(os.environ)
    env['PYTHONPATH'] = os.pathsep.join(
        p for p in (REPO_ROOT, env.get('PYTHONPATH')) if p)
    command = [
        sys.executable, '-m', 'projects.m2det.utils.benchmark',
        json.dumps(job)
    ]
    proc = subprocess.run(command, capture_output=True, text=True, env=env)
    if proc.returncode:
        raise RuntimeError(f"benchmark of {job['config']} ({job['mode']}) "
                           f'failed:\n{proc.stderr}')
    return json.loads(proc.stdout.strip().splitlines()[-1])


def merge_rounds(results: List[dict]) -> dict:
    """One row from a config's results in every round.

    Args:
        results (list[dict]): The worker's figures of every round.

    Returns:
        dict: The first round's row with the median of each time, the
        throughput, GFLOP/s and end-to-end / forward ratio they give, the
        largest memory and the per-round batch-1 forward times
        (``forward_s_rounds``).
    """
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


def measure_rounds(jobs: List[dict], rounds: int, threads: int,
                   peak_sizes: Sequence[int]) -> dict:
    """Measure every job ``rounds`` times, interleaved, with the matmul
    limit once per round, and report the median round.

    Args:
        jobs (list[dict]): Arguments of
            :func:`projects.m2det.utils.benchmark.measure`, one per row.
        rounds (int): How many times to measure each row.
        threads (int): Torch's threads, here and in the workers.
        peak_sizes (Sequence[int]): Square matrix sizes of the limit.

    Returns:
        dict: The report: CPU, threads, rounds, torch version, the matmul
        limit per precision and per library, and the rows
        (:func:`merge_rounds`, :func:`compare_with_official`).
    """
    torch.set_num_threads(threads)
    peak_by_library = dict(float32={}, bfloat16={})
    results = [[] for _ in jobs]
    for round_ in range(rounds):
        for dtype, best in peak_by_library.items():
            for name, gflops in matmul_gflops(getattr(torch, dtype),
                                              peak_sizes).items():
                best[name] = max(best.get(name, 0.0), gflops)
        for job, job_results in zip(jobs, results):
            job_results.append(run_worker(job))
            print(f'round {round_ + 1}/{rounds}: '
                  f"{job_results[-1]['config']} ({job['mode']}): forward "
                  f"{job_results[-1]['forward_s']['1']:.3f} s", flush=True)
    rows = [merge_rounds(r) for r in results]
    compare_with_official(rows)
    peaks = {
        dtype: max(best.values())
        for dtype, best in peak_by_library.items()
    }
    return dict(
        cpu=cpu_name(),
        cpu_flags=cpu_flags(),
        threads=threads,
        rounds=rounds,
        torch=torch.__version__,
        matmul_peak_gflop_per_s=peaks,
        matmul_gflop_per_s_by_library=peak_by_library,
        results=rows)


def _fmt(value: Optional[float], spec: str) -> str:
    return '-' if value is None else format(value, spec)


def _vs_official(row: dict) -> str:
    vs = row.get('vs_official')
    if vs is None:
        return '-'
    if vs['min'] == vs['max']:
        return f"{vs['median']:.2f}x"
    return f"{vs['median']:.2f}x ({vs['min']:.2f}-{vs['max']:.2f})"


def table(rows: List[dict], peaks: Dict[str, float]) -> str:
    """A markdown table of the report's rows.

    Args:
        rows (list[dict]): The report's ``results``.
        peaks (dict[str, float]): The matmul limit of each precision.
    """
    lines = [
        '| model | mode | input | params (M) | GFLOP | forward b1 (s) | '
        'throughput b8 (img/s) | end-to-end (s) | end-to-end / forward | '
        'GFLOP/s | of peak | vs official | max rel. error vs fp32 | '
        'peak RSS (MiB) |', '|---' * 14 + '|'
    ]
    for r in rows:
        # no int8 limit is probed
        peak = peaks.get(r['precision'])
        of_peak = '-' if peak is None else (
            f"{r['gflop_per_s'] / peak:.0%} "
            f"{'bf16' if r['precision'] == 'bfloat16' else 'fp32'}")
        lines.append(' | '.join([
            f"| {osp.basename(r['config'])}", r['mode'],
            str(r['input_size']), f"{r['params'] / 1e6:.1f}",
            f"{r['gflops']:.1f}", f"{r['forward_s']['1']:.3f}",
            _fmt(r['throughput_img_s'].get('8'), '.2f'),
            _fmt(r['end_to_end_s'], '.3f'),
            _fmt(r.get('end_to_end_over_forward'), '.2f'),
            f"{r['gflop_per_s']:.1f}",
            of_peak, _vs_official(r),
            _fmt(r['max_rel_error_vs_fp32'], '.1e'),
            f"{r['peak_rss_mib']:.0f} |"
        ]))
    return '\n'.join(lines)


# the instruction sets the modes' speed depends on: AVX-512, VNNI (int8
# dot products), native bfloat16, AMX
ISA_FLAGS = ('avx2', 'avx512f', 'avx512_vnni', 'avx512_bf16', 'amx_bf16',
             'amx_int8')


def _cpuinfo(field: str) -> Optional[str]:
    """The value of the first ``field`` line of ``/proc/cpuinfo``, or None
    where there is none."""
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith(field):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return None


def cpu_flags() -> List[str]:
    """Which of :data:`ISA_FLAGS` the CPU has, as ``lscpu`` names them."""
    present = set((_cpuinfo('flags') or '').split())
    return [flag for flag in ISA_FLAGS if flag in present]


def cpu_kind(report: dict) -> str:
    """The CPU of a report with its instruction sets, e.g. ``AMD EPYC
    (avx2)``; reports written before the flags were kept give the name
    only."""
    flags = report.get('cpu_flags')
    return f"{report['cpu']} ({', '.join(flags)})" if flags else report['cpu']


def cpu_name() -> str:
    """The CPU's model name, as the kernel reports it."""
    name = _cpuinfo('model name')
    if name is not None:
        return name
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
    """Draw forward latency (batch 1) against input size, a line per
    :func:`family`, into the png ``path``."""
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


def plot_kinds(reports: Sequence[dict], labels: Sequence[str],
               path: str) -> None:
    """Draw the batch-1 forward of several reports (one per CPU kind) as
    grouped bars: a group per row (:func:`family` and input size) of the
    configs that every report measured, in any mode, a bar per report
    labelled ``labels``, into the png ``path``."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    shared = set.intersection(*({r['config'] for r in report['results']}
                                for report in reports))
    seconds = [{f"{family(r)} {r['input_size']}": r['forward_s']['1']
                for r in report['results'] if r['config'] in shared}
               for report in reports]
    groups = list(dict.fromkeys(name for s in seconds for name in s))
    width = 0.8 / len(reports)
    fig, ax = plt.subplots(figsize=(max(6, 1.4 * len(groups)), 4.5))
    for i, (label, times) in enumerate(zip(labels, seconds)):
        xs = [g + (i - (len(reports) - 1) / 2) * width
              for g, name in enumerate(groups) if name in times]
        bars = ax.bar(xs, [times[name] for name in groups if name in times],
                      width, label=label)
        ax.bar_label(bars, fmt='%.2f', fontsize=7)
    ax.set_xticks(range(len(groups)), groups, rotation=20, ha='right',
                  fontsize=8)
    ax.set_ylabel('forward latency, batch 1 (s)')
    ax.set_title(f"{reports[0]['threads']} threads, torch "
                 f"{reports[0]['torch']}")
    ax.grid(axis='y', alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
