"""int8 for CPUs without fast bfloat16: ONNX Runtime static quantization.

The network graph of :func:`projects.m2det.deploy.onnx_export.export_onnx`
(or the end-to-end one) is quantized post-training: weights int8 per output
channel, activations uint8 with ranges calibrated on images of the config's
own data, QDQ format, which ONNX Runtime runs with VNNI / AVX2 int8
kernels. Decoding and NMS stay float (they are not convolutions).
"""
import os.path as osp
import tempfile
from typing import Iterator, Sequence, Tuple

import numpy as np
import torch
from mmengine.config import Config
from torch import nn

from .onnx_detector import build_test_pipeline
from .onnx_end2end import export_end2end
from .onnx_export import INPUT_NAME, export_onnx

# calibration runs this many images at a time: ONNX Runtime keeps every
# activation of the images of one pass (about 0.5 GB an image for
# M2Det-VGG16-320) and merges the ranges between passes
CALIBRATION_PASS_IMAGES = 4


def calibration_batches(cfg: Config, num_images: int,
                        split: str = 'train') -> Iterator[np.ndarray]:
    """The first ``num_images`` images of ``split``'s dataset, one at a
    time, through the test pipeline (resized, unnormalised)."""
    from mmdet.registry import DATASETS
    from mmdet.utils import register_all_modules
    register_all_modules()
    dataset_cfg = cfg[f'{split}_dataloader'].dataset
    while dataset_cfg.type in ('RepeatDataset', 'ClassBalancedDataset'):
        dataset_cfg = dataset_cfg.dataset
    dataset_cfg = dataset_cfg.copy()
    dataset_cfg.pipeline = []
    dataset = DATASETS.build(dataset_cfg)
    if len(dataset) == 0:
        raise ValueError(f'{split}_dataloader.dataset has no images to '
                         'calibrate on')
    pipeline = build_test_pipeline(cfg)
    for index in range(min(num_images, len(dataset))):
        info = dataset.get_data_info(index)
        data = pipeline(dict(img_path=info['img_path'], img_id=index))
        yield data['inputs'][None].float().numpy()  # (1, 3, H, W)


class _Reader:
    """ONNX Runtime's ``CalibrationDataReader`` protocol over arrays, with
    the ``set_range`` its strided calibration (``CalibStridedMinMax``,
    which applies to every method) reads passes with."""

    def __init__(self, batches: Sequence[np.ndarray]) -> None:
        self._batches = list(batches)
        self.set_range(0, len(self._batches))

    def __len__(self) -> int:
        return len(self._batches)

    def set_range(self, start_index: int, end_index: int) -> None:
        self._next = iter(self._batches[start_index:end_index])

    def get_next(self):
        batch = next(self._next, None)
        return None if batch is None else {INPUT_NAME: batch}


def _pass_size(num_images: int) -> int:
    """The largest number of images up to :data:`CALIBRATION_PASS_IMAGES`
    that divides ``num_images`` (ONNX Runtime needs equal passes)."""
    return max(size for size in range(1, CALIBRATION_PASS_IMAGES + 1)
               if num_images % size == 0)


def quantize_int8(float_onnx: str, out: str,
                  batches: Sequence[np.ndarray],
                  method: str = 'percentile') -> None:
    """Write ``float_onnx`` quantized to int8 (QDQ) to ``out``.

    Args:
        float_onnx (str): A float32 graph from this package's exporters.
        out (str): The int8 ``.onnx`` file to write.
        batches (Sequence[np.ndarray]): Calibration inputs ``(1, 3, H, W)``.
        method (str): Activation range calibration, ``'minmax'``,
            ``'percentile'`` (99.999th) or ``'entropy'``. Defaults to
            ``'percentile'``.
    """
    from onnxruntime.quantization import (CalibrationMethod, QuantFormat,
                                          QuantType, quantize_static)
    methods = dict(minmax=CalibrationMethod.MinMax,
                   percentile=CalibrationMethod.Percentile,
                   entropy=CalibrationMethod.Entropy)
    if method not in methods:
        raise ValueError(f'calibration method {method!r}: one of '
                         f'{sorted(methods)}')
    reader = _Reader(batches)
    if not len(reader):
        raise ValueError('no calibration images')
    quantize_static(
        float_onnx, out, reader,
        quant_format=QuantFormat.QDQ,
        activation_type=QuantType.QUInt8,
        weight_type=QuantType.QInt8,
        per_channel=True,
        calibrate_method=methods[method],
        # only what ONNX Runtime runs in int8 on the CPU
        op_types_to_quantize=['Conv', 'MatMul', 'Add', 'Mul', 'Concat',
                              'MaxPool', 'Relu', 'Resize'],
        extra_options=dict(
            CalibMovingAverage=False,
            CalibStridedMinMax=_pass_size(len(reader))))


def export_int8(detector: nn.Module, out: str,
                batches: Sequence[np.ndarray], input_size: Tuple[int, int],
                method: str = 'percentile', end2end: bool = False) -> None:
    """Export ``detector``'s network (or, with ``end2end``, the whole
    detector) and write it quantized to int8 to ``out``.

    Args:
        detector (nn.Module): A float32 mmdet single-stage detector.
        out (str): The int8 ``.onnx`` file to write.
        batches (Sequence[np.ndarray]): Calibration inputs ``(1, 3, H, W)``.
        input_size (tuple[int, int]): ``(height, width)`` of the graph.
        method (str): See :func:`quantize_int8`. Defaults to
            ``'percentile'``.
        end2end (bool): Whether to export prior decoding and NMS too
            (:func:`projects.m2det.deploy.onnx_end2end.export_end2end`).
            Defaults to False.
    """
    with tempfile.TemporaryDirectory() as tmp:
        float_file = osp.join(tmp, 'float32.onnx')
        if end2end:
            export_end2end(detector, float_file, input_size)
        else:
            export_onnx(detector, float_file, input_size)
        quantize_int8(float_file, out, batches, method)


def evaluate_onnx(onnx_file: str, cfg: Config) -> dict:
    """COCO (or the config's) metric of a network graph on the val set,
    decoded and NMS'd by the config's head, as ``tools/test.py`` would."""
    from mmdet.registry import DATASETS, METRICS
    from mmengine.dataset import pseudo_collate

    from .onnx_detector import OnnxDetector
    detector = OnnxDetector(onnx_file, cfg)
    dataset = DATASETS.build(cfg.val_dataloader.dataset)
    evaluator = METRICS.build(cfg.val_evaluator)
    evaluator.dataset_meta = dataset.metainfo
    batch_size = cfg.val_dataloader.get('batch_size', 1)
    for start in range(0, len(dataset), batch_size):
        data = pseudo_collate(
            [dataset[i] for i in range(start,
                                       min(start + batch_size, len(dataset)))])
        samples = data['data_samples']
        detector.predict(torch.stack(data['inputs']).float().numpy(),
                         samples)
        evaluator.process(data_batch=data,
                          data_samples=[s.to_dict() for s in samples])
    return evaluator.evaluate(len(dataset))
