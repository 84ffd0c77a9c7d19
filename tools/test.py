"""Test a detector: mmdet's tools/test.py (same arguments) for our configs.

    python tools/test.py CONFIG CHECKPOINT [--show-dir DIR] [--tta] [--fast]

``--fast`` (ours) runs the test with the model optimized for inference: BN
folded into the convs, channels-last, bfloat16 (``FastInferenceHook``).
"""
import sys

from _mmdet_tool import run_mmdet_tool

if __name__ == '__main__':
    if '--fast' in sys.argv:
        sys.argv.remove('--fast')
        # merged after any --cfg-options of the user's
        sys.argv += ['--cfg-options', 'default_hooks.fast_inference.enabled=True']
    run_mmdet_tool('test.py')
