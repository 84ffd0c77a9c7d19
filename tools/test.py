"""Test a detector: mmdet's tools/test.py (same arguments) for our configs.

    python tools/test.py CONFIG CHECKPOINT [--show-dir DIR] [--tta] [--fast]
        [--compile] [--onnx FILE]

``--fast`` (ours) runs the test with the model optimized for inference: BN
folded into the convs, channels-last, bfloat16 where the CPU supports it
(``FastInferenceHook``; ``--cfg-options
default_hooks.fast_inference.dtype=float32`` keeps float32).
``--compile`` adds torch.compile to it (implies ``--fast``).
``--onnx FILE`` runs the network in ONNX Runtime instead: the graph of
``tools/deployment/pytorch2onnx.py`` or the int8 one of
``tools/deployment/quantize_int8.py`` (the fast path on CPUs without native
bfloat16: docs/deployment.md).
"""
import os.path as osp
import sys

# the repo root, where ``projects`` lives, from any working directory
sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
from projects.m2det.utils.mmdet_tools import run_mmdet_tool  # noqa: E402

if __name__ == '__main__':
    options = []
    if '--onnx' in sys.argv:
        at = sys.argv.index('--onnx')
        if at + 1 >= len(sys.argv):
            sys.exit('--onnx needs a .onnx file')
        onnx_file = sys.argv.pop(at + 1)
        sys.argv.pop(at)
        options.append(f'default_hooks.fast_inference.onnx_file={onnx_file}')
        sys.argv.append('--fast')
    if '--compile' in sys.argv:
        sys.argv.remove('--compile')
        options.append('default_hooks.fast_inference.compile=True')
        sys.argv.append('--fast')
    if '--fast' in sys.argv:
        sys.argv.remove('--fast')
        options.append('default_hooks.fast_inference.enabled=True')
    if options:
        # merged after any --cfg-options of the user's
        sys.argv += ['--cfg-options', *options]
    run_mmdet_tool('test.py')
