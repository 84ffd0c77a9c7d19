"""The M2Det architecture: FFMv1/FFMv2, TUM and SFAM, assembled into the
MLFPN neck, with the SSD head and priors of the official code."""
from .anchor_generator import M2DetAnchorGenerator
from .ffm import FFMv1, FFMv2
from .m2det_head import M2DetHead
from .mlfpn import MLFPN
from .sfam import SFAM
from .tum import (TUM, min_tum_input_size, tum_encoder_strides,
                  tum_feature_sizes)

__all__ = [
    'FFMv1', 'FFMv2', 'M2DetAnchorGenerator', 'M2DetHead', 'MLFPN', 'SFAM',
    'TUM', 'min_tum_input_size', 'tum_encoder_strides', 'tum_feature_sizes'
]
