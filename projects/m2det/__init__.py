"""M2Det for MMDetection 3.x.

Importing this package registers the project's modules in mmdet's
registries (``MLFPN``, ``M2DetHead``, ``M2DetAnchorGenerator``,
``CheckedCocoDataset``, the transforms, hooks and optimizer wrappers) and
changes nothing else. The fixes to mmdet 3.3, mmengine 0.10.7 and torch live
in :mod:`projects.m2det.compat`; the configs apply them through
``custom_imports``.

Folders, one concern each: ``models`` (the architecture), ``datasets``,
``engine`` (hooks and optimizer wrappers), ``deploy`` (fast inference and
ONNX), ``converters`` (official weights), ``apis`` (the inferencer),
``utils`` and ``compat``.
"""
from .datasets import (CheckedCocoDataset, FilterSmallBoxes, M2DetExpand,
                       M2DetPhotoMetricDistortion, M2DetRandomCrop,
                       RandomInterpResize)
from .deploy import optimize_for_inference
from .engine import (BF16OptimWrapper, FastInferenceHook,
                     StopOnInvalidLossHook, build_auto_precision_optim_wrapper)
from .models import (FFMv1, FFMv2, M2DetAnchorGenerator, M2DetHead, MLFPN,
                     SFAM, TUM, tum_encoder_strides, tum_feature_sizes)

__all__ = [
    'BF16OptimWrapper', 'build_auto_precision_optim_wrapper',
    'CheckedCocoDataset', 'FFMv1', 'FFMv2', 'M2DetAnchorGenerator',
    'M2DetHead', 'MLFPN', 'SFAM', 'StopOnInvalidLossHook', 'TUM',
    'FastInferenceHook', 'optimize_for_inference', 'tum_encoder_strides',
    'tum_feature_sizes', 'FilterSmallBoxes', 'M2DetExpand',
    'M2DetPhotoMetricDistortion', 'M2DetRandomCrop', 'RandomInterpResize'
]
