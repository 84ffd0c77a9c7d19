"""Deployment: BN folding and the precision the CPU runs fast, ONNX export
of the network or of the whole detector (NMS in the graph), and detection
with the exported network in ONNX Runtime."""
from .fast_inference import optimize_for_inference
from .onnx_detector import OnnxDetector
from .onnx_end2end import (End2EndDetector, export_end2end,
                           graph_nms_iou)
from .onnx_export import export_onnx, graph_input_size, output_names
from .onnx_network import use_onnx_network

__all__ = [
    'End2EndDetector', 'OnnxDetector', 'export_end2end', 'export_onnx',
    'graph_input_size', 'graph_nms_iou', 'optimize_for_inference',
    'output_names', 'use_onnx_network'
]
