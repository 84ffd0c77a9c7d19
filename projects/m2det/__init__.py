"""M2Det for MMDetection 3.x.

Importing this package registers ``MLFPN``, ``M2DetAnchorGenerator``,
``CheckedCocoDataset``, ``BF16OptimWrapper`` and
``AutoPrecisionOptimWrapper`` in the registries and applies
the project's fixes to mmdet 3.3 and mmengine 0.10.7 (``SSDHead.predict``;
checkpoint loading under torch >= 2.6; ``--cfg-options data_root=``
reaching every dataset).
"""
from .anchor_generator import M2DetAnchorGenerator
from .checkpoint import allow_mmengine_checkpoints
from .coco_dataset import CheckedCocoDataset
from .cpu_distributed import enable_cpu_distributed
from .data_root import follow_data_root_option
from .fast_inference import FastInferenceHook, optimize_for_inference
from .ffm import FFMv1, FFMv2
from .invalid_loss_hook import StopOnInvalidLossHook
from .m2det_head import M2DetHead
from .mlfpn import MLFPN
from .optim_wrappers import (BF16OptimWrapper,
                             build_auto_precision_optim_wrapper)
from .resume import resume_from_complete_checkpoints
from .sfam import SFAM
from .ssd_head_fix import fix_ssd_head_predict
from .transforms import (FilterSmallBoxes, M2DetExpand,
                         M2DetPhotoMetricDistortion, M2DetRandomCrop,
                         RandomInterpResize)
from .tum import TUM, tum_encoder_strides, tum_feature_sizes

fix_ssd_head_predict()
allow_mmengine_checkpoints()
enable_cpu_distributed()
follow_data_root_option()
resume_from_complete_checkpoints()

__all__ = [
    'BF16OptimWrapper', 'build_auto_precision_optim_wrapper',
    'CheckedCocoDataset', 'FFMv1', 'FFMv2',
    'M2DetAnchorGenerator', 'M2DetHead', 'MLFPN', 'SFAM',
    'StopOnInvalidLossHook', 'TUM',
    'allow_mmengine_checkpoints', 'fix_ssd_head_predict',
    'enable_cpu_distributed',
    'follow_data_root_option', 'resume_from_complete_checkpoints',
    'FastInferenceHook', 'optimize_for_inference',
    'tum_encoder_strides', 'tum_feature_sizes',
    'FilterSmallBoxes', 'M2DetExpand', 'M2DetPhotoMetricDistortion',
    'M2DetRandomCrop', 'RandomInterpResize'
]
