"""Plot or summarise training logs: mmdet's analyze_logs.py (same
arguments), for the json logs our runs write under <work_dir>/<time>/vis_data/.

    python tools/analysis_tools/analyze_logs.py plot_curve LOG.json \\
        --keys loss loss_cls --out loss.png
"""
import os.path as osp
import sys

# the repo root, where ``projects`` lives, from any working directory
sys.path.insert(
    0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
from projects.m2det.utils.mmdet_tools import run_mmdet_tool  # noqa: E402

if __name__ == '__main__':
    run_mmdet_tool('analysis_tools/analyze_logs.py')
