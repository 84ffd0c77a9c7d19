"""Run a detector's network in ONNX Runtime, inside the mmdet model.

For ``tools/test.py --onnx FILE``: the graph of
:func:`projects.m2det.deploy.onnx_export.export_onnx` (float32, or the int8
one of ``tools/deployment/quantize_int8.py``) stands in for backbone, neck
and head convolutions; data preprocessing, decoding, NMS and evaluation
stay mmdet's.
"""
import torch
from torch import nn

from .onnx_detector import network_session
from .onnx_export import INPUT_NAME


def use_onnx_network(detector: nn.Module, onnx_file: str,
                     threads: int = 0) -> nn.Module:
    """Make ``detector`` compute its head outputs with ``onnx_file``, in
    place.

    The graph normalises (and flips BGR to RGB where the config does)
    itself, so the detector's data preprocessor keeps only batching.

    Args:
        detector (nn.Module): An mmdet single-stage detector, on the CPU.
        onnx_file (str): A network graph exported from the same config.
        threads (int): ONNX Runtime intra-op threads; 0 lets it choose.
            Defaults to 0.

    Returns:
        nn.Module: ``detector`` itself, in eval mode.
    """
    num_levels = detector.bbox_head.prior_generator.num_levels
    session = network_session(onnx_file, num_levels, threads)
    preprocessor = detector.data_preprocessor
    preprocessor._enable_normalize = False
    preprocessor._channel_conversion = False

    def extract_feat(inputs: torch.Tensor):
        return (inputs, )  # the graph's input: (N, 3, H, W), 0-255

    def head_forward(feats):
        images = feats[0].float().contiguous().numpy()
        outputs = [torch.from_numpy(o)
                   for o in session.run(None, {INPUT_NAME: images})]
        return outputs[:num_levels], outputs[num_levels:]

    detector.eval()
    detector.extract_feat = extract_feat
    detector.bbox_head.forward = head_forward
    detector._optimized_for_inference = True
    return detector
