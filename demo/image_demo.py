"""Detect objects in an image, a folder of images or a video with M2Det.

Examples, run from the repository root::

    # one image: outputs/vis/000000.jpg and outputs/preds/000000.json
    python demo/image_demo.py data/demo/val/000000.jpg \\
        configs/m2det_demo.py work_dirs/m2det_demo/epoch_16.pth

    # the images directly in a folder (not in its sub-folders), 4 at a time
    python demo/image_demo.py data/demo/val configs/m2det_demo.py \\
        work_dirs/m2det_demo/epoch_16.pth --out-dir outputs/val --batch-size 4

    # a video: outputs/vis/clip.mp4 and outputs/preds/clip.json
    python demo/image_demo.py clip.mp4 configs/m2det_demo.py \\
        work_dirs/m2det_demo/epoch_16.pth --score-thr 0.5

    # BN folded, channels-last, bfloat16: the M2Det-VGG16-320 forward takes
    # 0.16 s instead of 0.6 s on a 2-core CPU with bfloat16 units
    python demo/image_demo.py data/demo/val configs/m2det_demo.py \\
        work_dirs/m2det_demo/epoch_16.pth --fast

Images go through mmdet's ``DetInferencer``: ``vis/<file name>`` is the
image with its detections drawn, ``preds/<file stem>.json`` holds
``labels``, ``scores`` and ``bboxes`` (x1, y1, x2, y2 in pixels of the
original image). A video gives ``vis/<stem>.mp4`` (same size and frame rate)
and ``preds/<stem>.json``: ``classes``, ``fps`` and ``frames``, one entry of
``frame`` (index from 0), ``labels``, ``scores`` and ``bboxes`` per frame.
Only detections scoring at least ``--score-thr`` are drawn and written;
labels index the model's classes, which the checkpoint names (or else the
config's test dataset) and the last line printed lists.
"""
import argparse
import copy
import os
import os.path as osp
import sys
import warnings
from typing import Iterable, Iterator, List, Optional, Tuple

# Run from a checkout without installing the project.
sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import cv2  # noqa: E402
import mmengine  # noqa: E402
import numpy as np  # noqa: E402
from mmdet.apis import DetInferencer  # noqa: E402
from mmdet.apis.det_inferencer import IMG_EXTENSIONS  # noqa: E402
from mmdet.registry import DATASETS  # noqa: E402
from rich.progress import track  # noqa: E402

# Importing the project registers M2Det's modules and lets torch >= 2.6
# load the checkpoints mmengine writes.
from projects.m2det.deploy.fast_inference import optimize_for_inference  # noqa: E402
from projects.m2det.utils.precision import default_dtype  # noqa: E402

VIDEO_EXTENSIONS = ('.mp4', '.avi', '.mov', '.mkv')
# containers without a frame rate (some .avi and .mkv) report 0
FALLBACK_FPS = 25.0

# Boxes are clipped to the image, so those that touch its right or bottom
# edge reach the width or height, which mmengine's visualizer calls out of
# bounds; its LocalVisBackend wants a save_dir that DetInferencer, writing
# its files itself, never gives it.
warnings.filterwarnings(
    'ignore', message='Warning: The (bbox|polygon|text) is out of bounds')
warnings.filterwarnings('ignore', message='Failed to add .*LocalVisBackend')


class _InputError(Exception):
    """A problem with the user's files, reported without a traceback."""


class _Inferencer(DetInferencer):
    """``DetInferencer`` with a score threshold and the config's classes.

    Args:
        score_thr (float): Detections scoring below it are dropped before
            they are drawn, written or returned.
        **kwargs: ``DetInferencer``'s arguments.
    """

    def __init__(self, score_thr: float, **kwargs) -> None:
        self.score_thr = score_thr
        super().__init__(**kwargs)

    def _load_weights_to_model(self, model, checkpoint, cfg) -> None:
        """Name the classes from the config if the checkpoint does not."""
        # mmdet would fall back to the 80 COCO names
        meta = checkpoint.setdefault('meta', {})
        if 'dataset_meta' not in meta and 'CLASSES' not in meta:
            dataset_cfg = copy.deepcopy(cfg.test_dataloader.dataset)
            dataset_cfg['lazy_init'] = True  # the metainfo reads no files
            classes = DATASETS.build(dataset_cfg).metainfo['classes']
            meta['dataset_meta'] = dict(classes=classes)
        super()._load_weights_to_model(model, checkpoint, cfg)

    def forward(self, inputs, **kwargs) -> list:
        """Predict, keeping the detections that reach ``score_thr``."""
        preds = super().forward(inputs, **kwargs)
        for pred in preds:
            instances = pred.pred_instances
            pred.pred_instances = instances[instances.scores >= self.score_thr]
        return preds

    def visualize(self, inputs, preds, **kwargs) -> None:
        """Draw and save the images, returning none of them."""
        # mmdet returns every drawn image and keeps them all until the end
        # of the run; saved to files, they need not stay in memory
        super().visualize(inputs, preds, **kwargs)


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        'input',
        help='an image, a folder of images (only the files directly in it, '
        f"not in sub-folders) or a video ({', '.join(VIDEO_EXTENSIONS)})")
    parser.add_argument('config', help='the model config file')
    parser.add_argument('checkpoint', help='the model checkpoint file')
    parser.add_argument(
        '--out-dir',
        default='outputs',
        help='where vis/ and preds/ are written (default: %(default)s)')
    parser.add_argument(
        '--score-thr',
        type=float,
        default=0.3,
        help='lowest score of the detections drawn and written '
        '(default: %(default)s)')
    parser.add_argument(
        '--device',
        help='cpu, cuda or cuda:N (default: cuda if available, else cpu)')
    parser.add_argument(
        '--batch-size',
        type=_positive_int,
        default=1,
        help='images or frames per forward pass (default: %(default)s)')
    parser.add_argument(
        '--fast',
        action='store_true',
        help='fold BN into the convs and run channels-last in bfloat16 '
        '(float32 where the CPU lacks bfloat16 support)')
    parser.add_argument(
        '--compile',
        action='store_true',
        help='--fast plus torch.compile: faster from the second image on, '
        'after about 20-50 s of compilation (worth it on folders and videos)')
    parser.add_argument(
        '--no-vis',
        action='store_true',
        help='write the predictions only, no drawn images or video')
    return parser


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f'must be at least 1, got {value}')
    return value


def _is_image(path: str) -> bool:
    return osp.splitext(path)[1].lower() in IMG_EXTENSIONS


def _collect_inputs(path: str) -> Tuple[List[str], bool]:
    """The image files to detect in, or the video.

    Args:
        path (str): The user's input: an image, a folder or a video.

    Returns:
        tuple[list[str], bool]: The files, sorted, and whether ``path`` is
        a video.
    """
    expected = (f"an image ({', '.join(IMG_EXTENSIONS)}), a folder of "
                f"images or a video ({', '.join(VIDEO_EXTENSIONS)})")
    if not osp.exists(path):
        raise _InputError(f"input '{path}' does not exist; expected "
                          f'{expected}')
    if osp.isdir(path):
        images = sorted(entry.path for entry in os.scandir(path)
                        if entry.is_file() and _is_image(entry.name))
        if not images:
            raise _InputError(
                f"folder '{path}' holds no images ("
                f"{', '.join(IMG_EXTENSIONS)}); sub-folders are not "
                'searched')
        _check_unique_stems(images)
        return images, False
    if _is_image(path):
        return [path], False
    if osp.splitext(path)[1].lower() in VIDEO_EXTENSIONS:
        return [path], True
    raise _InputError(f"input '{path}' has an unsupported extension; "
                      f'expected {expected}')


def _check_unique_stems(images: List[str]) -> None:
    """Refuse images whose predictions would overwrite each other."""
    # DetInferencer names preds/<stem>.json, so a.jpg and a.png would clash
    seen = {}
    for path in images:
        stem = osp.splitext(osp.basename(path))[0]
        if stem in seen:
            raise _InputError(
                f"'{seen[stem]}' and '{path}' would both write "
                f'preds/{stem}.json; rename one of them')
        seen[stem] = path


def _check_images(images: List[str]) -> None:
    """Name every image that cannot be read, before the model loads.

    A corrupt file would otherwise stop a long run part-way, one file at a
    time. Decoding at 1/8 size still reads the whole file, at about half
    the cost of a full decode for a JPEG (23 against 42 ms at 6 megapixels).
    """
    unreadable = [
        path for path in track(images, description='Checking', transient=True)
        if not _readable(path)
    ]
    if unreadable:
        shown = ', '.join(f"'{path}'" for path in unreadable[:10])
        more = (f' and {len(unreadable) - 10} more'
                if len(unreadable) > 10 else '')
        what = (f'{len(unreadable)} of {len(images)} images'
                if len(images) > 1 else 'the image')
        raise _InputError(f'cannot read {what} (corrupt, not an image or '
                          f'not readable): {shown}{more}')


def _readable(path: str) -> bool:
    try:
        data = np.fromfile(path, np.uint8)
    except OSError:  # no permission, a dangling link
        return False
    # OpenCV raises on an empty buffer and returns None on any other failure
    return data.size > 0 and cv2.imdecode(
        data, cv2.IMREAD_REDUCED_GRAYSCALE_8) is not None


def _open_video(path: str) -> cv2.VideoCapture:
    capture = cv2.VideoCapture(path)
    if not capture.isOpened():
        raise _InputError(f"cannot open video '{path}' (corrupt or a codec "
                          'OpenCV does not read)')
    return capture


def _detect_images(inferencer: _Inferencer, images: List[str],
                   args: argparse.Namespace) -> None:
    inferencer(
        images,
        batch_size=args.batch_size,
        out_dir=args.out_dir,
        no_save_vis=args.no_vis,
        no_save_pred=False,
        pred_score_thr=args.score_thr)
    written = 'preds/' if args.no_vis else 'vis/ and preds/'
    print(f'{len(images)} image(s): {written} in {args.out_dir}')


def _detect_video(inferencer: _Inferencer, capture: cv2.VideoCapture,
                  path: str, args: argparse.Namespace) -> None:
    stem = osp.splitext(osp.basename(path))[0]
    vis_path = osp.join(args.out_dir, 'vis', f'{stem}.mp4')
    pred_path = osp.join(args.out_dir, 'preds', f'{stem}.json')
    fps = capture.get(cv2.CAP_PROP_FPS) or FALLBACK_FPS
    # an estimate from the container's header, good for a progress bar only
    num_frames = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
    frames = track(
        _read_frames(capture),
        total=num_frames if num_frames > 0 else None,
        description='Inference')
    writer = None
    records = []
    for batch in _chunks(frames, args.batch_size):
        preds = inferencer(
            batch, batch_size=len(batch),
            return_datasamples=True)['predictions']
        for frame, pred in zip(batch, preds):
            records.append(
                dict(frame=len(records), **inferencer.pred2dict(pred)))
            if args.no_vis:
                continue
            if writer is None:
                # sized from the decoded frames: a VideoWriter silently
                # drops frames of any other size
                os.makedirs(osp.dirname(vis_path), exist_ok=True)
                height, width = frame.shape[:2]
                writer = cv2.VideoWriter(vis_path,
                                         cv2.VideoWriter_fourcc(*'mp4v'),
                                         fps, (width, height))
            writer.write(_draw(inferencer, frame, pred))
    capture.release()
    if writer is not None:
        writer.release()
    if not records:
        raise _InputError(f"no frame of video '{path}' could be decoded")
    mmengine.dump(
        dict(
            classes=list(inferencer.model.dataset_meta['classes']),
            fps=fps,
            frames=records),
        pred_path)
    written = pred_path if args.no_vis else f'{vis_path} and {pred_path}'
    print(f'{len(records)} frames: {written}')


def _read_frames(capture: cv2.VideoCapture) -> Iterator[np.ndarray]:
    while True:
        ok, frame = capture.read()
        if not ok:
            return
        yield frame


def _chunks(items: Iterable, size: int) -> Iterator[list]:
    chunk = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _draw(inferencer: _Inferencer, frame: np.ndarray, pred) -> np.ndarray:
    """The BGR frame with ``pred`` drawn as DetInferencer draws images."""
    # mmdet's visualizer draws on RGB images (DetInferencer converts the
    # files it reads, but not the arrays it is given)
    inferencer.visualizer.add_datasample(
        'frame',
        frame[..., ::-1],
        pred,
        draw_gt=False,
        pred_score_thr=inferencer.score_thr)
    return np.ascontiguousarray(inferencer.visualizer.get_image()[..., ::-1])


def main(argv: Optional[List[str]] = None) -> None:
    """Detect in the input given on the command line and write the results.

    Args:
        argv (list[str], optional): The arguments; ``sys.argv[1:]`` if None.
    """
    parser = _build_parser()
    args = parser.parse_args(argv)
    try:
        _run(args)
    except _InputError as e:
        parser.exit(2, f'{parser.prog}: error: {e}\n')


def _run(args: argparse.Namespace) -> None:
    inputs, is_video = _collect_inputs(args.input)
    for what, path in dict(
            config=args.config, checkpoint=args.checkpoint).items():
        if not osp.isfile(path):
            raise _InputError(f"{what} file '{path}' does not exist")
    # the input is checked before the model loads, which takes a while
    capture = _open_video(inputs[0]) if is_video else None
    if not is_video:
        _check_images(inputs)

    inferencer = _Inferencer(
        score_thr=args.score_thr,
        model=args.config,
        weights=args.checkpoint,
        device=args.device,
        # a video shows its own bar, over frames
        show_progress=not is_video)
    if args.fast or args.compile:
        dtype = default_dtype()
        optimize_for_inference(inferencer.model, dtype, compile=args.compile)
        print(f'fast inference: BN folded, {dtype}, channels-last'
              f"{', torch.compile' if args.compile else ''}")

    if is_video:
        _detect_video(inferencer, capture, inputs[0], args)
    else:
        _detect_images(inferencer, inputs, args)
    classes = inferencer.model.dataset_meta['classes']
    print('labels: ' + ', '.join(f'{i} {name}'
                                 for i, name in enumerate(classes)))


if __name__ == '__main__':
    main()
