"""int8 for CPUs without fast bfloat16: ONNX Runtime static quantization.

The network graph of :func:`projects.m2det.deploy.onnx_export.export_onnx`
(or the end-to-end one) is quantized post-training: weights int8 per output
channel, activations uint8 with ranges calibrated on images of the config's
own data, QDQ format, which ONNX Runtime runs with VNNI / AVX2 int8
kernels. Decoding and NMS stay float (they are not convolutions).
"""
from typing import Iterator, Sequence

import numpy as np
import torch
from mmengine.config import Config

from .onnx_detector import build_test_pipeline
from .onnx_export import INPUT_NAME


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
    """ONNX Runtime's ``CalibrationDataReader`` protocol over arrays."""

    def __init__(self, batches: Sequence[np.ndarray]) -> None:
        self._batches = iter(batches)

    def get_next(self):
        batch = next(self._batches, None)
        return None if batch is None else {INPUT_NAME: batch}


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
    quantize_static(
        float_onnx, out, _Reader(list(batches)),
        quant_format=QuantFormat.QDQ,
        activation_type=QuantType.QUInt8,
        weight_type=QuantType.QInt8,
        per_channel=True,
        calibrate_method=methods[method],
        # only what ONNX Runtime runs in int8 on the CPU
        op_types_to_quantize=['Conv', 'MatMul', 'Add', 'Mul', 'Concat',
                              'MaxPool', 'Relu', 'Resize'],
        extra_options=dict(CalibMovingAverage=False))


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
