"""Inference from Python: :class:`M2DetInferencer` detects in images,
folders of images and videos."""
from .inferencer import (VIDEO_EXTENSIONS, InputError, M2DetInferencer,
                         check_input, video_output_paths)

__all__ = [
    'InputError', 'M2DetInferencer', 'VIDEO_EXTENSIONS', 'check_input',
    'video_output_paths'
]
