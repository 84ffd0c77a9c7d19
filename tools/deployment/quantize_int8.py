"""Calibrate and save an int8 ONNX model of a config and checkpoint.

    python tools/deployment/quantize_int8.py CONFIG CHECKPOINT \\
        --out work_dirs/m2det_int8.onnx --calib-images 64 --eval

Exports the float32 network (or with ``--end2end`` the whole detector, NMS
included) to ONNX, calibrates activation ranges on the first
``--calib-images`` training images through the test pipeline, and writes a
QDQ int8 graph (ONNX Runtime static quantization, weights per channel).
``--eval`` runs the float32 and the int8 network graphs over the val set
with the config's head and metric and prints both, so the accuracy cost is
measured, not assumed. The int8 network graph runs where the float32 one
does (``projects.m2det.deploy.OnnxDetector``); the end-to-end one in
``demo/onnx_demo.py``.
"""
import argparse
import logging
import os.path as osp
import sys
import tempfile

from mmengine.config import Config, DictAction

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, REPO_ROOT)

from projects.m2det.deploy import export_onnx, graph_input_size  # noqa
from projects.m2det.deploy.quantize import (calibration_batches,  # noqa
                                            evaluate_onnx, export_int8)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('--out', required=True, help='the int8 .onnx file')
    parser.add_argument('--calib-images', type=int, default=64,
                        help='training images to calibrate on (default: '
                        '%(default)s)')
    parser.add_argument('--method', default='percentile',
                        choices=['minmax', 'percentile', 'entropy'],
                        help='activation range calibration (default: '
                        '%(default)s)')
    parser.add_argument('--end2end', action='store_true',
                        help='quantize the end-to-end graph (NMS inside)')
    parser.add_argument('--eval', action='store_true',
                        help='val metric of the float32 and int8 network')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, as in tools/test.py')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    if args.eval and args.end2end:
        sys.exit('--eval measures the network graph; drop --end2end')
    from mmdet.apis import init_detector
    logging.getLogger('torch.onnx').setLevel(logging.ERROR)
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    model = init_detector(cfg, args.checkpoint, device='cpu').eval()
    size = graph_input_size(cfg)
    export_int8(model, args.out,
                list(calibration_batches(cfg, args.calib_images)), size,
                args.method, args.end2end)
    print(f'wrote {args.out}: int8 (QDQ), calibrated on '
          f'{args.calib_images} training images ({args.method})')
    if args.eval:
        with tempfile.TemporaryDirectory() as tmp:
            float_file = osp.join(tmp, 'float32.onnx')
            export_onnx(model, float_file, size)
            for name, path in (('float32', float_file), ('int8', args.out)):
                metrics = evaluate_onnx(path, cfg)
                print(f'{name}: ' + ', '.join(
                    f'{k} {v:.4f}' for k, v in metrics.items()
                    if isinstance(v, float)))


if __name__ == '__main__':
    main()
