"""Export a single-stage detector's network to ONNX.

The graph holds what runs per pixel: input normalisation, backbone, neck and
the head's convolutions. Its input is the resized image as the test pipeline
gives it (``(N, 3, H, W)`` float, the config's channel order, 0-255); its
outputs are the head's raw outputs per pyramid level, ``cls_score_<i>``
``(N, A * (C + 1), H_i, W_i)`` and ``bbox_pred_<i>`` ``(N, A * 4, H_i, W_i)``.
Prior generation, box decoding and NMS stay out of the graph: they run in
Python through the head's own ``predict_by_feat``
(:class:`projects.m2det.deploy.onnx_detector.OnnxDetector`), so ONNX and
PyTorch share one post-processing.
"""
from typing import Any, List, Tuple

import torch
from torch import nn

INPUT_NAME = 'image'


def graph_input_size(cfg) -> Tuple[int, int]:
    """``(height, width)`` of the images the config's test pipeline gives:
    its ``Resize`` must have a fixed ``scale`` and ``keep_ratio=False``."""
    for step in cfg.test_dataloader.dataset.pipeline:
        if 'scale' in step and not step.get('keep_ratio', False):
            width, height = step['scale']
            return height, width
    raise ValueError(
        'test_dataloader.dataset.pipeline has no Resize to a fixed size '
        '(scale=(W, H), keep_ratio=False); give the export an input size')


def output_names(num_levels: int) -> List[str]:
    """Names of the graph outputs: scores per level, then boxes per level."""
    return [f'cls_score_{i}' for i in range(num_levels)
            ] + [f'bbox_pred_{i}' for i in range(num_levels)]


class NetworkWithNormalization(nn.Module):
    """Normalisation (from the data preprocessor) followed by the network."""

    def __init__(self, detector: nn.Module) -> None:
        super().__init__()
        self.detector = detector
        preprocessor = detector.data_preprocessor
        self.bgr_to_rgb = bool(getattr(preprocessor, '_channel_conversion',
                                       False))
        if preprocessor._enable_normalize:
            mean, std = preprocessor.mean, preprocessor.std
        else:
            mean, std = torch.zeros(3, 1, 1), torch.ones(3, 1, 1)
        self.register_buffer('mean', mean.detach().clone().float())
        self.register_buffer('std', std.detach().clone().float())

    def forward(self, image: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        if self.bgr_to_rgb:
            image = image.flip(1)
        x = (image - self.mean) / self.std  # (N, 3, H, W)
        cls_scores, bbox_preds = self.detector._forward(x)
        return (*cls_scores, *bbox_preds)


def export_onnx(detector: nn.Module,
                path: str,
                input_size: Tuple[int, int],
                dynamic_batch: bool = True,
                opset_version: int = 18) -> List[str]:
    """Write ``detector``'s network to ``path`` as ONNX.

    Args:
        detector (nn.Module): An mmdet single-stage detector with a
            ``DetDataPreprocessor`` (float32, on the CPU).
        path (str): The ``.onnx`` file to write.
        input_size (tuple[int, int]): ``(height, width)`` of the resized
            image the graph takes; the spatial size is fixed.
        dynamic_batch (bool): Whether the batch size may vary. Defaults to
            True.
        opset_version (int): ONNX opset. Defaults to 18.

    Returns:
        list[str]: The output names, in order.
    """
    network = NetworkWithNormalization(detector).eval()
    with torch.no_grad():
        num_levels = len(network(torch.zeros(1, 3, *input_size))) // 2
    names = output_names(num_levels)
    torch_export(network, path, input_size, names, dynamic_batch,
                 opset_version)
    return names


def torch_export(network: nn.Module, path: str, input_size: Tuple[int, int],
                 names: List[str], dynamic_batch: bool, opset_version: int,
                 **kwargs: Any) -> None:
    """``torch.onnx.export`` of ``network(image)``, the image input named
    :data:`INPUT_NAME`; ``kwargs`` go to the exporter."""
    image = torch.rand(1, 3, *input_size) * 255
    dynamic_shapes = ({
        0: torch.export.Dim('batch', min=1, max=1024)
    }, ) if dynamic_batch else None
    # torch.export-based exporter (torch's default since 2.9); the legacy
    # TorchScript one is deprecated
    torch.onnx.export(
        network, (image, ),
        path,
        input_names=[INPUT_NAME],
        output_names=names,
        opset_version=opset_version,
        dynamic_shapes=dynamic_shapes,
        dynamo=True,
        external_data=False,
        verbose=False,
        **kwargs)
