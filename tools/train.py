"""Train a detector: mmdet's tools/train.py (same arguments) for our configs.

    python tools/train.py configs/m2det_vgg16_320.py [--resume] [--amp] ...
"""
from _mmdet_tool import run_mmdet_tool

if __name__ == '__main__':
    run_mmdet_tool('train.py')
