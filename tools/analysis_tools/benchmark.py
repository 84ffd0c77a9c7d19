"""mmdet's benchmark.py (same arguments) for our configs.

    python tools/analysis_tools/benchmark.py CONFIG --task dataloader
    python tools/analysis_tools/benchmark.py CONFIG --task dataset
    python tools/analysis_tools/benchmark.py CONFIG --checkpoint CKPT \\
        --task inference      # needs a CUDA GPU

mmdet's inference benchmark moves the model to CUDA; without a GPU this
wrapper says so and points to ``benchmark_cpu.py``, which measures the CPU.
The dataloader and dataset benchmarks run anywhere.
"""
import argparse
import os.path as osp
import sys

import torch

# the repo root, where ``projects`` lives, from any working directory
sys.path.insert(
    0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
from projects.m2det.utils.mmdet_tools import run_mmdet_tool  # noqa: E402

if __name__ == '__main__':
    # mmdet's own parser reads every argument; only --task matters here
    task_parser = argparse.ArgumentParser(add_help=False)
    task_parser.add_argument('--task', default='dataloader')
    task = task_parser.parse_known_args()[0].task
    if task == 'inference' and not torch.cuda.is_available():
        sys.exit('benchmark.py --task inference: mmdet\'s InferenceBenchmark '
                 'runs on a CUDA GPU and none is available; on the CPU use '
                 'tools/analysis_tools/benchmark_cpu.py CONFIG')
    run_mmdet_tool('analysis_tools/benchmark.py')
