"""What ``--fast`` runs: of the inference backends this machine has, the
fastest one that keeps the network's outputs, measured on the config's data.

The backends:

- ``'bfloat16'``: PyTorch, BN folded, channels-last, bfloat16
  (:func:`.fast_inference.fold_and_cast`). A candidate only where the CPU
  runs bfloat16 natively (AVX512-BF16 or AMX); emulated, it is about 7x
  slower than float32, not worth timing.
- ``'float32'``: the same in float32. Always a candidate, and the choice
  when nothing else is kept.
- ``'int8'``: the network in ONNX Runtime, int8 (QDQ), its activation
  ranges calibrated on the config's training images (:mod:`.quantize`).
  A candidate where onnxruntime is installed, the config's test pipeline
  resizes to a fixed size and its data can be read.

Each candidate is built on a copy of the detector and timed on the first
image of the config's test set (median of 3 forwards after a warm-up); its
head outputs are compared with the float32 model's. The fastest whose
relative error is at most :data:`MAX_OUTPUT_ERROR` wins. Without an int8
candidate nothing is timed: bfloat16 where it is native (4x faster than
float32 on the AVX512-BF16 CPUs measured), float32 elsewhere.
"""
import copy
import hashlib
import os
import os.path as osp
import tempfile
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from mmengine.config import Config
from torch import nn

from ..utils.benchmark import median_seconds
from ..utils.precision import cpu_has_native_bfloat16, resolve_dtype
from .fast_inference import fold_and_cast
from .onnx_export import graph_input_size
from .onnx_network import use_onnx_network
from .quantize import calibration_batches, export_int8

BACKENDS = ('bfloat16', 'float32', 'int8')
RUNS_IN = dict(bfloat16='PyTorch, BN folded', float32='PyTorch, BN folded',
               int8='ONNX Runtime, QDQ')
# Largest |output - float32 output| over the largest |float32 output| a
# backend may give on the timing image. It guards against a broken
# calibration, not for accuracy, which is measured on the val set. On the
# demo model int8 gives about 2e-2 with VNNI (AVX512-BF16 EPYC) and 9.2e-2
# with AVX2 only (Zen 3), keeping the mAP on both (docs/benchmarks.md);
# bfloat16 about 1e-2.
MAX_OUTPUT_ERROR = 0.2
CALIBRATION_IMAGES = 32


@dataclass
class BackendChoice:
    """The backend :func:`optimize_for_inference` chose and why.

    Attributes:
        backend (str): One of :data:`BACKENDS`.
        seconds (dict[str, float]): Measured forward time of each timed
            candidate; empty when nothing was timed.
        errors (dict[str, float]): Each timed candidate's output error
            relative to float32.
        skipped (dict[str, str]): Backends that were no candidate, and why.
        int8_file (str, optional): The cached int8 graph, if one was made
            in a cache folder.
    """
    backend: str
    seconds: Dict[str, float] = field(default_factory=dict)
    errors: Dict[str, float] = field(default_factory=dict)
    skipped: Dict[str, str] = field(default_factory=dict)
    int8_file: Optional[str] = None

    def summary(self) -> str:
        """One line for the log: the choice, the timings and the skips."""
        text = f'{self.backend} in {RUNS_IN[self.backend]}'
        if self.seconds:
            text += ' (forward: ' + ', '.join(
                f'{name} {seconds:.3f} s, error {self.errors[name]:.1e}'
                for name, seconds in sorted(self.seconds.items(),
                                            key=lambda item: item[1])) + ')'
        else:
            text += ' (by capability, not timed)'
        for name, why in self.skipped.items():
            text += f'; no {name}: {why}'
        return text


def candidate_backends(native_bfloat16: bool, int8: bool) -> List[str]:
    """The backends worth timing, given the CPU's bfloat16 capability and
    whether an int8 graph can be made."""
    return [name for name, ok in zip(BACKENDS, (native_bfloat16, True, int8))
            if ok]


def choose_backend(seconds: Dict[str, float],
                   errors: Dict[str, float],
                   max_error: float = MAX_OUTPUT_ERROR) -> str:
    """The fastest backend whose error is at most ``max_error``, or
    ``'float32'`` when none is."""
    kept = [name for name in seconds if errors[name] <= max_error]
    return min(kept, key=seconds.__getitem__) if kept else 'float32'


def _head_outputs(outputs) -> torch.Tensor:
    """``(cls_scores, bbox_preds)`` per level, flattened into one vector."""
    return torch.cat([torch.as_tensor(o).float().flatten()
                      for part in outputs for o in part])


def _time_forward(detector: nn.Module, image: np.ndarray,
                  reference: Optional[torch.Tensor] = None,
                  repeat: int = 3) -> Tuple[float, torch.Tensor, float]:
    """Median seconds of ``detector``'s forward on a raw ``image`` (data
    preprocessor included), its head outputs, and their error relative to
    ``reference`` (0 without one)."""
    x = torch.from_numpy(image)

    def forward():
        inputs = detector.data_preprocessor(dict(inputs=x), False)['inputs']
        return detector._forward(inputs)

    with torch.inference_mode():
        seconds = median_seconds(forward, 1, repeat)
        outputs = _head_outputs(forward())
    error = 0.0 if reference is None else (
        (outputs - reference).abs().max() / reference.abs().max()).item()
    return seconds, outputs, error


def _state_key(detector: nn.Module, batches: Sequence[np.ndarray],
               input_size: Tuple[int, int]) -> str:
    """A digest of the weights, the calibration images and the settings
    that an int8 graph depends on."""
    import onnxruntime
    digest = hashlib.sha1(
        repr((input_size, onnxruntime.__version__)).encode())
    for name, tensor in sorted(detector.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    for batch in batches:
        digest.update(batch.tobytes())
    return digest.hexdigest()[:16]


def _int8_file(detector: nn.Module, batches: Sequence[np.ndarray],
               input_size: Tuple[int, int], folder: str) -> str:
    """The int8 graph of ``detector`` in ``folder``, made unless a graph of
    the same weights and calibration images is there."""
    path = osp.join(folder,
                    f'int8_{_state_key(detector, batches, input_size)}.onnx')
    if not osp.exists(path):
        os.makedirs(folder, exist_ok=True)
        # written aside first, so that an interrupted run leaves no file
        partial = f'{path}.partial'
        export_int8(detector, partial, batches, input_size)
        os.replace(partial, path)
    return path


def _int8_data(
    cfg: Optional[Config], calibration: Union[int, Sequence[np.ndarray]]
) -> Tuple[Tuple[int, int], List[np.ndarray], np.ndarray]:
    """Input size, calibration images and timing image of the int8
    candidate; raises what keeps it from being one."""
    import onnxruntime  # noqa: F401 (ImportError: no int8 candidate)
    if cfg is None:
        raise ValueError('no config to calibrate from (pass cfg=)')
    input_size = graph_input_size(cfg)
    if isinstance(calibration, int):
        batches = list(calibration_batches(cfg, calibration))
        image = next(calibration_batches(cfg, 1, 'test'))
    else:
        batches = list(calibration)
        if not batches:
            raise ValueError('no calibration images')
        image = batches[-1]
    return input_size, batches, image


def _apply(detector: nn.Module, backend: str, channels_last: bool,
           int8_file: Optional[str]) -> nn.Module:
    if backend == 'int8':
        return use_onnx_network(detector, int8_file, torch.get_num_threads())
    return fold_and_cast(detector, backend, channels_last)


def optimize_for_inference(
        detector: nn.Module,
        dtype: str = 'auto',
        channels_last: bool = True,
        compile: bool = False,
        cfg: Optional[Config] = None,
        calibration: Union[int, Sequence[np.ndarray]] = CALIBRATION_IMAGES,
        cache_dir: Optional[str] = None,
        native_bfloat16: Optional[bool] = None) -> nn.Module:
    """Make a single-stage detector faster for inference, in place.

    With ``dtype='auto'`` the backend is the fastest one measured here (see
    the module's description); the choice, with its timings, is
    ``detector.fast_inference`` (a :class:`BackendChoice`). Decoding and
    NMS are unchanged, in float32. The detector is put in eval mode and
    can no longer be trained.

    Args:
        detector (nn.Module): An mmdet single-stage detector (float32, on
            the CPU).
        dtype (str): ``'auto'``, or one of :data:`BACKENDS` to use it
            without measuring. Defaults to ``'auto'``.
        channels_last (bool): Whether the PyTorch backends use the
            channels-last memory format. Defaults to True.
        compile (bool): Whether to compile the PyTorch network with
            torch.compile (:func:`.fast_inference.fold_and_cast`); ``'auto'``
            then picks bfloat16 where native, else float32, untimed (each
            compilation takes 20-50 s). Defaults to False.
        cfg (Config, optional): The config whose data calibrates int8
            and gives the timing image; None takes ``detector.cfg`` (set
            by mmdet's ``init_detector``). Defaults to None.
        calibration (int | Sequence[np.ndarray]): The number of the
            config's training images to calibrate int8 on, or the
            calibration images ``(1, 3, H, W)`` themselves (the last one
            then times). Defaults to :data:`CALIBRATION_IMAGES`.
        cache_dir (str, optional): A folder that keeps the int8 graph for
            the next run with the same weights and images; None makes it
            again every time. Defaults to None.
        native_bfloat16 (bool, optional): The CPU's bfloat16 capability;
            None asks this CPU. Defaults to None.

    Returns:
        nn.Module: ``detector`` itself.
    """
    if getattr(detector, '_optimized_for_inference', False):
        return detector
    if native_bfloat16 is None:
        native_bfloat16 = cpu_has_native_bfloat16()
    if dtype not in (*BACKENDS, 'auto'):
        raise ValueError(
            f"dtype must be one of {[*BACKENDS, 'auto']}, got {dtype!r}")
    if compile:
        if dtype == 'int8':
            raise ValueError('compile applies to the PyTorch backends '
                             "(bfloat16, float32), not to 'int8'")
        dtype = resolve_dtype(dtype, native_bfloat16)
        detector.fast_inference = BackendChoice(dtype)
        return fold_and_cast(detector, dtype, channels_last, compile=True)
    cfg = cfg if cfg is not None else getattr(detector, 'cfg', None)
    detector.eval()
    if dtype != 'auto':
        int8_file = None
        with tempfile.TemporaryDirectory() as tmp:
            if dtype == 'int8':
                input_size, batches, _ = _int8_data(cfg, calibration)
                int8_file = _int8_file(detector, batches, input_size,
                                       cache_dir or tmp)
            _apply(detector, dtype, channels_last, int8_file)
        detector.fast_inference = BackendChoice(
            dtype, int8_file=int8_file if cache_dir else None)
        return detector
    with tempfile.TemporaryDirectory() as tmp:
        choice = _measure(detector, cfg, calibration, cache_dir or tmp,
                          channels_last, native_bfloat16)
        _apply(detector, choice.backend, channels_last, choice.int8_file)
    if cache_dir is None:
        choice.int8_file = None
    detector.fast_inference = choice
    return detector


def _measure(detector: nn.Module, cfg: Optional[Config],
             calibration: Union[int, Sequence[np.ndarray]], folder: str,
             channels_last: bool, native_bfloat16: bool) -> BackendChoice:
    """Time every candidate on a copy of ``detector``; the choice."""
    skipped = {}
    if not native_bfloat16:
        skipped['bfloat16'] = 'emulated on this CPU'
    try:
        input_size, batches, image = _int8_data(cfg, calibration)
    except Exception as error:  # whatever keeps int8 out is logged
        skipped['int8'] = f'{type(error).__name__}: {error}'
        return BackendChoice(
            resolve_dtype('auto', native_bfloat16), skipped=skipped)
    int8_file = _int8_file(detector, batches, input_size, folder)
    _, reference, _ = _time_forward(detector, image, repeat=1)
    seconds, errors = {}, {}
    for backend in candidate_backends(native_bfloat16, int8=True):
        candidate = _apply(copy.deepcopy(detector), backend, channels_last,
                           int8_file)
        seconds[backend], _, errors[backend] = _time_forward(
            candidate, image, reference)
        del candidate
    return BackendChoice(choose_backend(seconds, errors), seconds, errors,
                         skipped, int8_file)
