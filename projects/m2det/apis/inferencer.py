"""M2Det inference on an image, a folder of images or a video.

:class:`M2DetInferencer` is mmdet's ``DetInferencer`` with a score
threshold applied to everything it returns, draws and writes, the class
names of the config when the checkpoint has none, optional fast inference
and video input. Problems with the user's files raise :class:`InputError`,
naming the file; :func:`check_input` finds them before a model loads.

Under ``out_dir``, an image gives ``vis/<file name>`` (the image with its
detections drawn) and ``preds/<file stem>.json`` (``labels``, ``scores``
and ``bboxes``: x1, y1, x2, y2 in pixels of the original image); a video
gives ``vis/<stem>.mp4`` (same size and frame rate) and
``preds/<stem>.json`` (``classes``, ``fps`` and ``frames``: ``frame``, its
index from 0, ``labels``, ``scores`` and ``bboxes`` per frame).
"""
import copy
import os
import os.path as osp
import warnings
from contextlib import contextmanager
from typing import (Dict, Iterable, Iterator, List, Optional, Sequence,
                    Tuple, Union)

import cv2
import mmengine
import numpy as np
from mmdet.apis import DetInferencer
from mmdet.apis.det_inferencer import IMG_EXTENSIONS
from mmdet.registry import DATASETS
from mmdet.structures import DetDataSample
from mmengine.config import Config
from rich.progress import track
from torch import nn

from ..compat import apply_fixes
from ..deploy import BackendChoice, optimize_for_inference

PathType = Union[str, os.PathLike]
ImageType = Union[PathType, np.ndarray]

VIDEO_EXTENSIONS = ('.mp4', '.avi', '.mov', '.mkv')
# containers without a frame rate (some .avi and .mkv) report 0
FALLBACK_FPS = 25.0
# what inference needs of projects.m2det.compat: M2DetHead predicts through
# SSDHead.predict, and mmengine loads the checkpoints it wrote
INFERENCE_FIXES = ('ssd_head_predict', 'checkpoint_safe_globals')
_KINDS = dict(image='an image', folder='a folder', video='a video')


class InputError(ValueError):
    """A problem with the user's files: missing, unreadable or of a kind
    that cannot be detected in; the message names the file."""


def check_input(path: PathType,
                show_progress: bool = True) -> Tuple[str, List[str]]:
    """Check an image, a folder of images or a video before a model loads.

    Every image is decoded (at 1/8 size, which still reads the whole file,
    at about half the cost of a full decode), so that a corrupt file is
    named at once rather than stopping a long run part-way.

    Args:
        path (str | os.PathLike): An image, a folder (the images directly
            in it, not in its sub-folders) or a video.
        show_progress (bool): Whether to show a bar while the images are
            checked. Defaults to True.

    Returns:
        tuple[str, list[str]]: The kind of input, ``'image'``, ``'folder'``
        or ``'video'``, and the files to detect in: the folder's images,
        sorted, or ``[path]``.

    Raises:
        InputError: If ``path`` does not exist, has an unsupported
            extension, is a folder without images or with two whose
            predictions would overwrite each other, or holds an image or a
            video that cannot be read.
    """
    kind, files = _find_inputs(os.fspath(path))
    _check_readable(kind, files, show_progress)
    return kind, files


def video_output_paths(video: PathType, out_dir: PathType) -> Tuple[str, str]:
    """Where :meth:`M2DetInferencer.detect_video` writes.

    Args:
        video (str | os.PathLike): The video.
        out_dir (str | os.PathLike): The output folder.

    Returns:
        tuple[str, str]: ``vis/<stem>.mp4`` and ``preds/<stem>.json`` in
        ``out_dir``.
    """
    stem = osp.splitext(osp.basename(video))[0]
    return (osp.join(out_dir, 'vis', f'{stem}.mp4'),
            osp.join(out_dir, 'preds', f'{stem}.json'))


class M2DetInferencer(DetInferencer):
    """Detect with M2Det in images, folders of images and videos.

    Detections scoring below ``score_thr`` are dropped before they are
    returned, drawn or written. The classes are those the checkpoint names,
    or else those of the config's test dataset (mmdet would fall back to
    the 80 COCO names). Images can also be given as arrays, or passed to
    ``__call__`` as to ``DetInferencer``.

    Args:
        config (str | os.PathLike | Config): The model config, or its file.
        checkpoint (str | os.PathLike): The checkpoint file.
        device (str, optional): ``'cpu'``, ``'cuda'`` or ``'cuda:N'``; None
            takes the GPU if there is one. Defaults to None.
        score_thr (float): Lowest score of the detections kept.
            Defaults to 0.3.
        fast (bool): Whether to run the network in the fastest backend
            measured on this CPU
            (:func:`projects.m2det.deploy.optimize_for_inference`: BN
            folded in bfloat16 or float32, or int8 in ONNX Runtime,
            calibrated on the config's training images). Defaults to False.
        dtype (str): Backend of fast inference: ``'auto'`` (measured),
            ``'bfloat16'``, ``'float32'`` or ``'int8'``. Defaults to
            ``'auto'``.
        compile (bool): Whether to add torch.compile to fast inference
            (implies ``fast``): faster from the second batch on, after
            about 20-50 s of compilation per batch size. Defaults to False.
        cache_dir (str, optional): Where fast inference keeps its int8
            graph for the next inferencer of the same checkpoint; None
            calibrates again each time. Defaults to None.
        show_progress (bool): Whether to show progress bars.
            Defaults to True.

    Raises:
        InputError: If the config or checkpoint file does not exist.

    Example:
        >>> from projects.m2det.apis import M2DetInferencer
        >>> inferencer = M2DetInferencer(
        ...     'configs/m2det_demo.py', 'work_dirs/m2det_demo/epoch_5.pth',
        ...     score_thr=0.5)
        >>> pred = inferencer.detect_image('data/demo/val/000000.jpg')
        >>> sorted(pred)
        ['bboxes', 'labels', 'scores']
        >>> preds = inferencer.detect_folder('data/demo/val',
        ...                                  out_dir='outputs/val')
        >>> video = inferencer.detect_video('clip.mp4', out_dir='outputs')
        >>> sorted(video)
        ['classes', 'fps', 'frames']
    """

    def __init__(self,
                 config: Union[PathType, Config],
                 checkpoint: PathType,
                 device: Optional[str] = None,
                 score_thr: float = 0.3,
                 fast: bool = False,
                 dtype: str = 'auto',
                 compile: bool = False,
                 cache_dir: Optional[str] = None,
                 show_progress: bool = True) -> None:
        if isinstance(config, (str, os.PathLike)):
            config = os.fspath(config)
            _check_file('config', config)
        checkpoint = os.fspath(checkpoint)
        _check_file('checkpoint', checkpoint)
        # a config file applies every fix through its custom_imports, but
        # a Config object has been loaded already, maybe without them
        apply_fixes(INFERENCE_FIXES)
        self.score_thr = score_thr
        with _quiet_visualizer():
            super().__init__(
                model=config,
                weights=checkpoint,
                device=device,
                show_progress=show_progress)
        #: the backend fast inference chose and why; None when it is off
        self.fast_inference: Optional[BackendChoice] = None
        if fast or compile:
            optimize_for_inference(
                self.model, dtype, compile=compile, cache_dir=cache_dir)
            self.fast_inference = self.model.fast_inference

    @property
    def classes(self) -> Tuple[str, ...]:
        """The names of the classes that the labels index."""
        return tuple(self.model.dataset_meta['classes'])

    def detect_image(self,
                     image: ImageType,
                     out_dir: PathType = '',
                     save_vis: bool = True) -> dict:
        """Detect in one image.

        Args:
            image (str | os.PathLike | np.ndarray): An image file, or an
                image in BGR order as ``cv2.imread`` gives it.
            out_dir (str | os.PathLike): Where ``vis/`` and ``preds/`` are
                written; nothing is written if empty. An array is named
                after a counter, as by ``DetInferencer``: ``vis/<8-digit
                count>.jpg`` and ``preds/<count>.json``. Defaults to ''.
            save_vis (bool): Whether to write the drawn image.
                Defaults to True.

        Returns:
            dict: ``labels`` (list[int]), ``scores`` (list[float], sorted
            down) and ``bboxes`` (list of [x1, y1, x2, y2]).

        Raises:
            InputError: If the image file cannot be detected in.
        """
        if not isinstance(image, np.ndarray):
            image = self._check_input(image, 'image')[0]
        return self.detect_images([image], out_dir=out_dir,
                                  save_vis=save_vis)[0]

    def detect_folder(self,
                      folder: PathType,
                      out_dir: PathType = '',
                      batch_size: int = 1,
                      save_vis: bool = True) -> Dict[str, dict]:
        """Detect in the images directly in a folder (not in sub-folders).

        Args:
            folder (str | os.PathLike): The folder.
            out_dir (str | os.PathLike): Where ``vis/`` and ``preds/`` are
                written; nothing is written if empty. Defaults to ''.
            batch_size (int): Images per forward pass. Defaults to 1.
            save_vis (bool): Whether to write the drawn images.
                Defaults to True.

        Returns:
            dict[str, dict]: For each image path, sorted, its detections as
            :meth:`detect_image` returns them.

        Raises:
            InputError: As :func:`check_input`, and if ``folder`` is not a
                folder.
        """
        images = self._check_input(folder, 'folder')
        preds = self.detect_images(images, out_dir=out_dir,
                                   batch_size=batch_size, save_vis=save_vis)
        return dict(zip(images, preds))

    def detect_images(self,
                      images: Sequence[ImageType],
                      out_dir: PathType = '',
                      batch_size: int = 1,
                      save_vis: bool = True) -> List[dict]:
        """Detect in images that :func:`check_input` found readable.

        Args:
            images (Sequence[str | os.PathLike | np.ndarray]): Image files
                or BGR arrays.
            out_dir (str | os.PathLike): As in :meth:`detect_image`.
                Defaults to ''.
            batch_size (int): Images per forward pass. Defaults to 1.
            save_vis (bool): Whether to write the drawn images.
                Defaults to True.

        Returns:
            list[dict]: For each image, its detections as
            :meth:`detect_image` returns them.

        Raises:
            InputError: If two files would write the same ``preds/`` file.
        """
        _check_batch_size(batch_size)
        images = [
            image if isinstance(image, np.ndarray) else os.fspath(image)
            for image in images
        ]
        out_dir = os.fspath(out_dir)
        if out_dir:
            _check_unique_stems(
                [image for image in images if isinstance(image, str)])
        return self(
            images,
            batch_size=batch_size,
            out_dir=out_dir,
            no_save_vis=not save_vis,
            no_save_pred=False,
            # what DetInferencer draws; the detections under score_thr are
            # gone already
            pred_score_thr=self.score_thr)['predictions']

    def detect_video(self,
                     video: PathType,
                     out_dir: PathType = '',
                     batch_size: int = 1,
                     save_vis: bool = True) -> dict:
        """Detect in every frame of a video.

        Args:
            video (str | os.PathLike): The video file.
            out_dir (str | os.PathLike): Where ``vis/<stem>.mp4`` and
                ``preds/<stem>.json`` are written (see
                :func:`video_output_paths`); nothing is written if empty.
                Defaults to ''.
            batch_size (int): Frames per forward pass. Defaults to 1.
            save_vis (bool): Whether to write the drawn video.
                Defaults to True.

        Returns:
            dict: ``classes`` (list[str]), ``fps`` (float) and ``frames``:
            for each frame, ``frame`` (its index from 0) and its detections
            as :meth:`detect_image` returns them.

        Raises:
            InputError: If the file is not a video, cannot be opened or
                has no frame that can be decoded.
        """
        _check_batch_size(batch_size)
        video = self._check_input(video, 'video')[0]
        out_dir = os.fspath(out_dir)
        vis_path, pred_path = video_output_paths(video, out_dir)
        capture = _open_video(video)
        fps = capture.get(cv2.CAP_PROP_FPS) or FALLBACK_FPS
        frames = _read_frames(capture)
        if self.show_progress:
            # an estimate from the container's header, good for a bar only
            num_frames = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
            frames = track(
                frames,
                total=num_frames if num_frames > 0 else None,
                description='Inference')
        writer = None
        records = []
        try:
            for batch in _chunks(frames, batch_size):
                for frame, pred in zip(batch, self._predict(batch)):
                    records.append(
                        dict(frame=len(records), **self.pred2dict(pred)))
                    if not (out_dir and save_vis):
                        continue
                    if writer is None:
                        # sized from the decoded frames: a VideoWriter
                        # silently drops frames of any other size
                        os.makedirs(osp.dirname(vis_path), exist_ok=True)
                        height, width = frame.shape[:2]
                        writer = cv2.VideoWriter(
                            vis_path, cv2.VideoWriter_fourcc(*'mp4v'), fps,
                            (width, height))
                    writer.write(self._draw(frame, pred))
        finally:
            capture.release()
            if writer is not None:
                writer.release()
        if not records:
            raise InputError(f"no frame of video '{video}' could be decoded")
        result = dict(classes=list(self.classes), fps=fps, frames=records)
        if out_dir:
            mmengine.dump(result, pred_path)
        return result

    def _check_input(self, path: PathType, kind: str) -> List[str]:
        """The files of ``path`` (see :func:`check_input`), which must be
        of ``kind``."""
        path = os.fspath(path)
        # the kind first: decoding a folder to learn that it is one would
        # be a waste
        found, files = _find_inputs(path)
        if found != kind:
            raise InputError(f"input '{path}' is {_KINDS[found]}, not "
                             f'{_KINDS[kind]}; use detect_{found}()')
        _check_readable(found, files, self.show_progress)
        return files

    def _load_weights_to_model(self, model: nn.Module, checkpoint: dict,
                               cfg: Config) -> None:
        """Name the classes from the config if the checkpoint does not."""
        meta = checkpoint.setdefault('meta', {})
        if 'dataset_meta' not in meta and 'CLASSES' not in meta:
            dataset_cfg = copy.deepcopy(cfg.test_dataloader.dataset)
            dataset_cfg['lazy_init'] = True  # the metainfo reads no files
            classes = DATASETS.build(dataset_cfg).metainfo['classes']
            meta['dataset_meta'] = dict(classes=classes)
        super()._load_weights_to_model(model, checkpoint, cfg)

    def forward(self, inputs: dict, **kwargs) -> List[DetDataSample]:
        """Predict, keeping the detections that reach ``score_thr``."""
        preds = super().forward(inputs, **kwargs)
        for pred in preds:
            instances = pred.pred_instances
            pred.pred_instances = instances[instances.scores >= self.score_thr]
        return preds

    def visualize(self, inputs: list, preds: List[DetDataSample],
                  **kwargs) -> None:
        """Draw and save the images, returning none of them."""
        # mmdet draws arrays as if they were RGB, which the files it reads
        # are once it converts them
        inputs = [
            image[..., ::-1] if isinstance(image, np.ndarray) else image
            for image in inputs
        ]
        # mmdet returns every drawn image and keeps them all until the end
        # of the run; saved to files, they need not stay in memory
        with _quiet_visualizer():
            super().visualize(inputs, preds, **kwargs)

    def pred2dict(self,
                  data_sample: DetDataSample,
                  pred_out_dir: str = '') -> dict:
        """The detections of ``data_sample`` as lists, written to
        ``preds/`` in ``pred_out_dir`` unless it is empty."""
        # an array's sample has an img_path of None, which mmdet would take
        # for a file name; without one, it names the file after a counter
        if 'img_path' in data_sample and data_sample.img_path is None:
            del data_sample.img_path
        return super().pred2dict(data_sample, pred_out_dir)

    def _predict(self, images: List[np.ndarray]) -> List[DetDataSample]:
        """The detections in a batch of BGR images."""
        # DetInferencer.__call__ would show a bar per batch inside the bar
        # over the frames, which rich refuses
        (_, data), = self.preprocess(images, batch_size=len(images))
        return self.forward(data)

    def _draw(self, frame: np.ndarray, pred: DetDataSample) -> np.ndarray:
        """The BGR frame with ``pred`` drawn as DetInferencer draws
        images."""
        with _quiet_visualizer():
            self.visualizer.add_datasample(
                'frame',
                frame[..., ::-1],
                pred,
                draw_gt=False,
                pred_score_thr=self.score_thr)
        return np.ascontiguousarray(self.visualizer.get_image()[..., ::-1])


@contextmanager
def _quiet_visualizer() -> Iterator[None]:
    """Silence two warnings of mmengine's visualizer that flag nothing
    wrong."""
    with warnings.catch_warnings():
        # Boxes are clipped to the image, so those that touch its right or
        # bottom edge reach the width or height, which the visualizer calls
        # out of bounds.
        warnings.filterwarnings(
            'ignore',
            message='Warning: The (bbox|polygon|text) is out of bounds')
        # Its LocalVisBackend wants a save_dir that DetInferencer, writing
        # its files itself, never gives it.
        warnings.filterwarnings(
            'ignore', message='Failed to add .*LocalVisBackend')
        yield


def _check_file(what: str, path: str) -> None:
    if not osp.isfile(path):
        raise InputError(f"{what} file '{path}' does not exist")


def _check_batch_size(batch_size: int) -> None:
    # DetInferencer would loop forever on empty batches
    if batch_size < 1:
        raise ValueError(f'batch_size must be at least 1, got {batch_size}')


def _is_image(path: str) -> bool:
    return osp.splitext(path)[1].lower() in IMG_EXTENSIONS


def _find_inputs(path: str) -> Tuple[str, List[str]]:
    """The kind of input and its files, as :func:`check_input` returns
    them, before any file is read."""
    expected = (f"an image ({', '.join(IMG_EXTENSIONS)}), a folder of "
                f"images or a video ({', '.join(VIDEO_EXTENSIONS)})")
    if not osp.exists(path):
        raise InputError(f"input '{path}' does not exist; expected "
                         f'{expected}')
    if osp.isdir(path):
        images = sorted(entry.path for entry in os.scandir(path)
                        if entry.is_file() and _is_image(entry.name))
        if not images:
            raise InputError(f"folder '{path}' holds no images ("
                             f"{', '.join(IMG_EXTENSIONS)}); sub-folders "
                             'are not searched')
        _check_unique_stems(images)
        return 'folder', images
    if _is_image(path):
        return 'image', [path]
    if osp.splitext(path)[1].lower() in VIDEO_EXTENSIONS:
        return 'video', [path]
    raise InputError(f"input '{path}' has an unsupported extension; "
                     f'expected {expected}')


def _check_readable(kind: str, files: List[str], show_progress: bool) -> None:
    if kind == 'video':
        _open_video(files[0]).release()
    else:
        _check_images(files, show_progress)


def _check_unique_stems(images: List[str]) -> None:
    """Refuse images whose predictions would overwrite each other."""
    # DetInferencer names preds/<stem>.json, so a.jpg and a.png would clash
    seen = {}
    for path in images:
        stem = osp.splitext(osp.basename(path))[0]
        if stem in seen:
            raise InputError(f"'{seen[stem]}' and '{path}' would both write "
                             f'preds/{stem}.json; rename one of them')
        seen[stem] = path


def _check_images(images: List[str], show_progress: bool) -> None:
    """Name every image that cannot be read."""
    checked = (track(images, description='Checking', transient=True)
               if show_progress else images)
    unreadable = [path for path in checked if not _readable(path)]
    if unreadable:
        shown = ', '.join(f"'{path}'" for path in unreadable[:10])
        more = (f' and {len(unreadable) - 10} more'
                if len(unreadable) > 10 else '')
        what = (f'{len(unreadable)} of {len(images)} images'
                if len(images) > 1 else 'the image')
        raise InputError(f'cannot read {what} (corrupt, not an image or '
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
        raise InputError(f"cannot open video '{path}' (corrupt or a codec "
                         'OpenCV does not read)')
    return capture


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
