"""Deployment: the fastest inference backend measured on this CPU (BN
folding and bfloat16 in PyTorch, int8 in ONNX Runtime), ONNX export of the
network or of the whole detector (NMS in the graph), and detection with the
exported network in ONNX Runtime."""
from .onnx_detector import OnnxDetector
from .onnx_end2end import (End2EndDetector, export_end2end,
                           graph_nms_iou)
from .onnx_export import export_onnx, graph_input_size, output_names
from .onnx_network import use_onnx_network
from .optimize import BackendChoice, optimize_for_inference

__all__ = [
    'BackendChoice', 'End2EndDetector', 'OnnxDetector', 'export_end2end',
    'export_onnx', 'graph_input_size', 'graph_nms_iou',
    'optimize_for_inference', 'output_names', 'use_onnx_network'
]
