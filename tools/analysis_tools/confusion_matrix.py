"""mmdet's confusion_matrix.py (same arguments) for our configs, from the
predictions ``tools/test.py CONFIG CKPT --out results.pkl`` writes.

    python tools/analysis_tools/confusion_matrix.py configs/m2det_demo.py \\
        results.pkl work_dirs/confusion --score-thr 0.3
"""
import os.path as osp
import sys

# the repo root, where ``projects`` lives, from any working directory
sys.path.insert(
    0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
from projects.m2det.utils.mmdet_tools import run_mmdet_tool  # noqa: E402

if __name__ == '__main__':
    run_mmdet_tool('analysis_tools/confusion_matrix.py')
