"""Detect with an exported network in ONNX Runtime.

The graph (see :mod:`projects.m2det.deploy.onnx_export`) gives the head's raw
outputs; the config's test pipeline prepares the images and the config's
head decodes the outputs and runs NMS, exactly as ``inference_detector``
does in PyTorch.
"""
import copy
from typing import List, Sequence, Union

import numpy as np
import torch
from mmcv.transforms import Compose
from mmdet.registry import MODELS, TASK_UTILS
from mmdet.structures import DetDataSample
from mmdet.utils import get_test_pipeline_cfg
from mmengine.config import Config

from .onnx_export import INPUT_NAME

ImageType = Union[str, np.ndarray]


def build_test_pipeline(cfg: Config, from_array: bool = False) -> Compose:
    """The config's test pipeline, from files or (``from_array``) arrays."""
    # a deep copy: the steps are the config's own dicts
    steps = copy.deepcopy(get_test_pipeline_cfg(cfg))
    if from_array:
        steps[0].type = 'mmdet.LoadImageFromNDArray'
    return Compose(steps)


def network_session(onnx_file: str, num_levels: int, threads: int = 0):
    """An ONNX Runtime session of a network graph of
    :func:`projects.m2det.deploy.onnx_export.export_onnx`, checked to take
    the ``(N, 3, H, W)`` image and give a head of ``num_levels`` levels."""
    import onnxruntime as ort
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    # ONNX Runtime's threads spin after a run by default, taking cores
    # from the PyTorch decoding and NMS that follow: on 2 cores that made
    # them 1.3-1.7x slower (docs/benchmarks.md)
    options.add_session_config_entry('session.force_spinning_stop', '1')
    session = ort.InferenceSession(
        onnx_file, options, providers=['CPUExecutionProvider'])
    graph_input = session.get_inputs()[0]
    if graph_input.name != INPUT_NAME or len(graph_input.shape) != 4:
        raise ValueError(
            f'{onnx_file}: expected one input {INPUT_NAME!r} of shape '
            f'(N, 3, H, W), got {graph_input.name!r} {graph_input.shape}'
            '; export it with tools/deployment/pytorch2onnx.py')
    num_outputs = len(session.get_outputs())
    if num_outputs != 2 * num_levels:
        raise ValueError(
            f'{onnx_file} has {num_outputs} outputs, but the config\'s '
            f'model.bbox_head has {num_levels} levels (expected '
            f'{2 * num_levels} outputs): was it exported from this '
            'config?')
    return session


class OnnxDetector:
    """An ONNX Runtime session with the config's pre- and post-processing.

    Args:
        onnx_file (str): A graph written by
            :func:`projects.m2det.deploy.onnx_export.export_onnx`.
        config (str | Config): The config the graph was exported from.
        threads (int): ONNX Runtime intra-op threads; 0 lets it choose.
            Defaults to 0.

    Example:
        >>> detector = OnnxDetector('m2det_320.onnx',
        ...                         'configs/m2det_vgg16_320.py')
        >>> result = detector('demo.jpg')  # a DetDataSample
        >>> result.pred_instances.bboxes.shape
        torch.Size([K, 4])
    """

    def __init__(self,
                 onnx_file: str,
                 config: Union[str, Config],
                 threads: int = 0) -> None:
        self.cfg = Config.fromfile(config) if isinstance(config,
                                                         str) else config
        self.head = self._build_head(self.cfg)
        self.session = network_session(
            onnx_file, self.head.prior_generator.num_levels, threads)
        self.input_size = tuple(self.session.get_inputs()[0].shape[2:])
        self._pipelines = {}

    @staticmethod
    def _build_head(cfg: Config) -> torch.nn.Module:
        """The config's head for decoding only: its convolutions run in the
        graph, so they go on the meta device and take no memory."""
        head_cfg = cfg.model.bbox_head.copy()
        head_cfg.update(train_cfg=None, test_cfg=cfg.model.test_cfg)
        with torch.device('meta'):
            head = MODELS.build(head_cfg)
        head.prior_generator = TASK_UTILS.build(head_cfg.anchor_generator)
        return head

    def _pipeline(self, from_array: bool) -> Compose:
        if from_array not in self._pipelines:
            self._pipelines[from_array] = build_test_pipeline(
                self.cfg, from_array)
        return self._pipelines[from_array]

    def run(self, images: np.ndarray) -> List[np.ndarray]:
        """The graph's raw outputs for a ``(N, 3, H, W)`` float32 batch."""
        return self.session.run(None, {INPUT_NAME: images})

    def __call__(
        self, imgs: Union[ImageType, Sequence[ImageType]]
    ) -> Union[DetDataSample, List[DetDataSample]]:
        """Detect in image files or BGR arrays, as ``inference_detector``.

        Args:
            imgs (str | np.ndarray | Sequence): One image or several; several
                run as one batch.

        Returns:
            DetDataSample | list[DetDataSample]: ``pred_instances`` with
            boxes in the original image's pixels.
        """
        is_batch = isinstance(imgs, (list, tuple))
        inputs, samples = [], []
        for img in imgs if is_batch else [imgs]:
            from_array = isinstance(img, np.ndarray)
            data = self._pipeline(from_array)(
                dict(img=img, img_id=0) if from_array else dict(
                    img_path=img, img_id=0))
            if tuple(data['inputs'].shape[1:]) != self.input_size:
                raise ValueError(
                    f'the test pipeline gives a {tuple(data["inputs"].shape)}'
                    f' image but the graph takes (3, {self.input_size[0]}, '
                    f'{self.input_size[1]}): export it at the config\'s test '
                    'size')
            inputs.append(data['inputs'])
            samples.append(data['data_samples'])
        self.predict(torch.stack(inputs).float().numpy(), samples)
        return samples if is_batch else samples[0]

    def predict(self, batch: np.ndarray,
                samples: Sequence[DetDataSample]) -> None:
        """Run a ``(N, 3, H, W)`` float32 batch and set each sample's
        ``pred_instances`` (boxes in its original image's pixels)."""
        outputs = [torch.from_numpy(out) for out in self.run(batch)]
        num_levels = len(outputs) // 2
        results = self.head.predict_by_feat(
            outputs[:num_levels],
            outputs[num_levels:],
            batch_img_metas=[sample.metainfo for sample in samples],
            rescale=True)
        for sample, result in zip(samples, results):
            sample.pred_instances = result
