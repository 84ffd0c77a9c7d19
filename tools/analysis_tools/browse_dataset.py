"""mmdet's browse_dataset.py (same arguments) for our configs: draws the
training images after the config's train pipeline (M2Det's augmentation
included) with their boxes.

    python tools/analysis_tools/browse_dataset.py configs/m2det_demo.py \\
        --output-dir work_dirs/browse --not-show
"""
import os.path as osp
import sys

# the repo root, where ``projects`` lives, from any working directory
sys.path.insert(
    0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
from projects.m2det.utils.mmdet_tools import run_mmdet_tool  # noqa: E402

if __name__ == '__main__':
    run_mmdet_tool('analysis_tools/browse_dataset.py')
