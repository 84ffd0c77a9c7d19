"""Count a detector's FLOPs: mmdet's get_flops.py (same arguments) for our
configs. It reads images from the config's val dataloader; mmengine's counter
reports one flop per multiply-accumulate.

    python tools/analysis_tools/get_flops.py configs/m2det_vgg16_320.py \\
        --num-images 1
"""
import os.path as osp
import sys

# the repo root, where ``projects`` lives, from any working directory
sys.path.insert(
    0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
from projects.m2det.utils.mmdet_tools import run_mmdet_tool  # noqa: E402

if __name__ == '__main__':
    run_mmdet_tool('analysis_tools/get_flops.py')
