"""Detect objects in an image, a folder of images or a video with M2Det.

Examples, run from the repository root::

    # one image: outputs/vis/000000.jpg and outputs/preds/000000.json
    python demo/image_demo.py data/demo/val/000000.jpg \\
        configs/m2det_demo.py work_dirs/m2det_demo/epoch_5.pth

    # the images directly in a folder (not in its sub-folders), 4 at a time
    python demo/image_demo.py data/demo/val configs/m2det_demo.py \\
        work_dirs/m2det_demo/epoch_5.pth --out-dir outputs/val --batch-size 4

    # a video: outputs/vis/clip.mp4 and outputs/preds/clip.json
    python demo/image_demo.py clip.mp4 configs/m2det_demo.py \\
        work_dirs/m2det_demo/epoch_5.pth --score-thr 0.5

    # BN folded, channels-last, bfloat16: the M2Det-VGG16-320 forward takes
    # 0.16 s instead of 0.6 s on a 2-core CPU with bfloat16 units
    python demo/image_demo.py data/demo/val configs/m2det_demo.py \\
        work_dirs/m2det_demo/epoch_5.pth --fast

Images go through mmdet's ``DetInferencer``: ``vis/<file name>`` is the
image with its detections drawn, ``preds/<file stem>.json`` holds
``labels``, ``scores`` and ``bboxes`` (x1, y1, x2, y2 in pixels of the
original image). A video gives ``vis/<stem>.mp4`` (same size and frame rate)
and ``preds/<stem>.json``: ``classes``, ``fps`` and ``frames``, one entry of
``frame`` (index from 0), ``labels``, ``scores`` and ``bboxes`` per frame.
Only detections scoring at least ``--score-thr`` are drawn and written;
labels index the model's classes, which the checkpoint names (or else the
config's test dataset) and the last line printed lists. From Python, use
``projects.m2det.apis.M2DetInferencer``.
"""
import argparse
import os.path as osp
import sys
from typing import List, Optional

# Run from a checkout without installing the project.
sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from projects.m2det.apis import (VIDEO_EXTENSIONS, InputError,  # noqa: E402
                                 M2DetInferencer, check_input,
                                 video_output_paths)


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    add = parser.add_argument
    add('input',
        help='an image, a folder of images (only the files directly in it, '
        f"not in sub-folders) or a video ({', '.join(VIDEO_EXTENSIONS)})")
    add('config', help='the model config file')
    add('checkpoint', help='the model checkpoint file')
    add('--out-dir', default='outputs',
        help='where vis/ and preds/ are written (default: %(default)s)')
    add('--score-thr', type=float, default=0.3,
        help='lowest score of the detections drawn and written '
        '(default: %(default)s)')
    add('--device',
        help='cpu, cuda or cuda:N (default: cuda if available, else cpu)')
    add('--batch-size', type=_positive_int, default=1,
        help='images or frames per forward pass (default: %(default)s)')
    add('--fast', action='store_true',
        help='run the network in the fastest backend measured on this CPU: '
        'BN folded in bfloat16 (where native) or float32, or int8 in ONNX '
        "Runtime calibrated on the config's training images")
    add('--compile', action='store_true',
        help='--fast plus torch.compile: faster from the second image on, '
        'after about 20-50 s of compilation (worth it on folders and videos)')
    add('--no-vis', action='store_true',
        help='write the predictions only, no drawn images or video')
    return parser


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f'must be at least 1, got {value}')
    return value


def main(argv: Optional[List[str]] = None) -> None:
    """Detect in the input given on the command line and write the results.

    Args:
        argv (list[str], optional): The arguments; ``sys.argv[1:]`` if None.
    """
    parser = _build_parser()
    args = parser.parse_args(argv)
    try:
        _run(args)
    except InputError as e:
        parser.exit(2, f'{parser.prog}: error: {e}\n')


def _run(args: argparse.Namespace) -> None:
    # the input is checked before the model loads, which takes a while
    kind, files = check_input(args.input)
    inferencer = M2DetInferencer(
        args.config, args.checkpoint, device=args.device,
        score_thr=args.score_thr, fast=args.fast, compile=args.compile)
    if inferencer.fast_inference is not None:
        print(f'fast inference: {inferencer.fast_inference.summary()}'
              f"{', torch.compile' if args.compile else ''}")

    options = dict(out_dir=args.out_dir, batch_size=args.batch_size,
                   save_vis=not args.no_vis)
    if kind == 'video':
        num_frames = len(
            inferencer.detect_video(args.input, **options)['frames'])
        vis_path, pred_path = video_output_paths(args.input, args.out_dir)
        written = pred_path if args.no_vis else f'{vis_path} and {pred_path}'
        print(f'{num_frames} frames: {written}')
    else:
        inferencer.detect_images(files, **options)
        written = 'preds/' if args.no_vis else 'vis/ and preds/'
        print(f'{len(files)} image(s): {written} in {args.out_dir}')
    print('labels: ' + ', '.join(
        f'{i} {name}' for i, name in enumerate(inferencer.classes)))


if __name__ == '__main__':
    main()
