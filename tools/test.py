"""Test a detector: mmdet's tools/test.py (same arguments) for our configs.

    python tools/test.py CONFIG CHECKPOINT [--show-dir DIR] [--tta] ...
"""
from _mmdet_tool import run_mmdet_tool

if __name__ == '__main__':
    run_mmdet_tool('test.py')
