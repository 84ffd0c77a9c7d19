"""Train a detector: mmdet's tools/train.py (same arguments) for our configs.

    python tools/train.py configs/m2det_vgg16_320.py [--resume] [--amp] ...

``--amp`` is mmdet's switch to mmengine's float16 ``AmpOptimWrapper``, which
asserts a GPU; without one (mmengine runs on the CPU), it selects the
project's ``AutoPrecisionOptimWrapper`` instead: bfloat16 autocast where the
CPU runs bfloat16 natively, float32 where it would only emulate it.
"""
import os.path as osp
import sys

from mmengine.device import get_device

# the repo root, where ``projects`` lives, from any working directory
sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
from projects.m2det.utils.mmdet_tools import run_mmdet_tool  # noqa: E402

if __name__ == '__main__':
    if '--amp' in sys.argv and get_device() == 'cpu':
        sys.argv.remove('--amp')
        # merged after any --cfg-options of the user's, so it takes effect
        sys.argv += [
            '--cfg-options', 'optim_wrapper.type=AutoPrecisionOptimWrapper'
        ]
        print('--amp without a GPU: mixed precision as this CPU runs it fast '
              '(AutoPrecisionOptimWrapper)', file=sys.stderr)
    run_mmdet_tool('train.py')
