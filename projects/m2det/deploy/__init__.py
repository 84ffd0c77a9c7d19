"""Deployment: BN folding and the precision the CPU runs fast, ONNX export,
and detection with the exported graph in ONNX Runtime."""
from .fast_inference import optimize_for_inference
from .onnx_detector import OnnxDetector
from .onnx_export import export_onnx, graph_input_size, output_names

__all__ = [
    'OnnxDetector', 'export_onnx', 'graph_input_size',
    'optimize_for_inference', 'output_names'
]
