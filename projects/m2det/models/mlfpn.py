"""Multi-Level Feature Pyramid Network (MLFPN), the neck of M2Det."""
from typing import Optional, Sequence, Tuple

import torch
import torch.nn as nn
from mmcv.cnn import build_norm_layer
from mmdet.registry import MODELS
from mmdet.utils import ConfigType, OptMultiConfig
from mmengine.model import BaseModule
from torch import Tensor

from .ffm import FFMv1, FFMv2
from .sfam import SFAM
from .tum import TUM, tum_feature_sizes

SFAM_MODES = (None, 'shared', 'per_scale')


@MODELS.register_module()
class MLFPN(BaseModule):
    """Multi-Level Feature Pyramid Network of M2Det.

    `M2Det: A Single-Shot Object Detector based on Multi-Level Feature
    Pyramid Network <https://arxiv.org/abs/1811.04533>`_, built as the
    official code does. For the VGG16-320 defaults::

        shallow (N, 512, 40, 40), deep (N, 1024, 20, 20)
          -> FFMv1 -> base (N, 768, 40, 40)
          -> num_levels x [FFMv2 (N, 128 | 128+256, 40, 40) -> TUM]
             each TUM: (N, 256, s, s) for s in 40, 20, 10, 5, 3, 1
          -> scale-wise concat, TUM 1 first: (N, 2048, s, s)
          -> SFAM (optional) -> BN on the 40x40 scale
          -> 6 maps of (N, 2048, s, s)

    Args:
        in_channels (Sequence[int]): Channels of the shallow (stride 8) and
            deep (stride 16) backbone features: (512, 1024) for VGG16,
            (512, 2048) for ResNet-50/101. Defaults to (512, 1024).
        ffm_channels (Sequence[int]): Channels FFMv1 reduces the shallow and
            deep features to; the base feature has their sum. Defaults to
            (256, 512).
        planes (int): Width of every TUM and of its outputs; FFMv2 reduces
            the base feature to ``planes // 2``. Defaults to 256.
        num_levels (int): Number of TUMs. Defaults to 8.
        num_scales (int): Number of pyramid scales. Defaults to 6.
        use_smooth (bool): Whether the TUMs apply their 1x1 smooth convs.
            Defaults to True.
        sfam (str, optional): SFAM mode: None (off, as in every official
            config), ``'shared'`` (one SE block for all scales, as the
            official code builds it) or ``'per_scale'`` (as the paper
            describes it). Defaults to None.
        share_ffm_v2 (bool): Whether one FFMv2 serves all levels, as in the
            official code, instead of one per level. Defaults to True.
        base_to_all_levels (bool): Whether every TUM reads the base feature
            (through FFMv2) besides the previous TUM's largest output, as in
            the official code and the paper's final model. If False, only
            the first TUM reads it (the paper's ablation). Defaults to True.
        tum_decoder (str): TUM decoder variant, ``'official'`` or
            ``'paper'``; see :class:`TUM`. Defaults to ``'official'``.
        norm_cfg (dict): Norm layer of the FFM and TUM convs. Defaults to
            ``dict(type='BN', momentum=0.01)`` as in the official code.
        act_cfg (dict): Activation of the FFM and TUM convs. Defaults to
            ``dict(type='ReLU')``.
        out_norm_cfg (dict, optional): Norm layer applied to the largest
            scale only (official code, not in the paper); None disables it.
            Defaults to ``dict(type='BN')``.
        init_cfg (dict or list[dict], optional): Initialization config.
            Defaults to Kaiming normal (fan_out) for convs and 1 for norm
            weights, as in the official code.

    Example:
        >>> import torch
        >>> self = MLFPN(in_channels=(16, 32), ffm_channels=(8, 16),
        ...              planes=8, num_levels=2).eval()
        >>> outs = self((torch.rand(1, 16, 40, 40), torch.rand(1, 32, 20, 20)))
        >>> for out in outs:
        ...     print(tuple(out.shape))
        (1, 16, 40, 40)
        (1, 16, 20, 20)
        (1, 16, 10, 10)
        (1, 16, 5, 5)
        (1, 16, 3, 3)
        (1, 16, 1, 1)
    """

    def __init__(
        self,
        in_channels: Sequence[int] = (512, 1024),
        ffm_channels: Sequence[int] = (256, 512),
        planes: int = 256,
        num_levels: int = 8,
        num_scales: int = 6,
        use_smooth: bool = True,
        sfam: Optional[str] = None,
        share_ffm_v2: bool = True,
        base_to_all_levels: bool = True,
        tum_decoder: str = 'official',
        norm_cfg: ConfigType = dict(type='BN', momentum=0.01),
        act_cfg: ConfigType = dict(type='ReLU'),
        out_norm_cfg: Optional[ConfigType] = dict(type='BN'),
        init_cfg: OptMultiConfig = [
            dict(type='Kaiming', layer='Conv2d', mode='fan_out'),
            dict(type='Constant', layer='_BatchNorm', val=1, bias=0)
        ]
    ) -> None:
        super().__init__(init_cfg=init_cfg)
        if len(in_channels) != 2 or len(ffm_channels) != 2:
            raise ValueError(
                'MLFPN fuses exactly two backbone features: in_channels and '
                'ffm_channels need 2 entries each, got '
                f'{tuple(in_channels)} and {tuple(ffm_channels)}')
        if planes % 2:
            raise ValueError(f'planes must be even, got {planes}')
        if num_levels < 1:
            raise ValueError(f'num_levels must be >= 1, got {num_levels}')
        if sfam not in SFAM_MODES:
            raise ValueError(f'sfam must be one of {SFAM_MODES}, got {sfam!r}')
        self.num_levels = num_levels
        self.num_scales = num_scales
        self.out_channels = planes * num_levels
        conv = dict(norm_cfg=norm_cfg, act_cfg=act_cfg)

        self.ffm_v1 = FFMv1(in_channels, ffm_channels, **conv)
        base_channels = self.ffm_v1.out_channels
        num_ffm_v2 = num_levels if base_to_all_levels else 1
        if share_ffm_v2:
            self.ffm_v2 = nn.ModuleList(
                [FFMv2(base_channels, planes // 2, **conv)] * num_ffm_v2)
        else:
            self.ffm_v2 = nn.ModuleList(
                FFMv2(base_channels, planes // 2, **conv)
                for _ in range(num_ffm_v2))
        # TUMs after the first read the previous TUM's largest output, and
        # the base feature reduced by FFMv2 where they have one.
        tum_in_channels = [planes // 2] + [
            planes + (planes // 2 if base_to_all_levels else 0)
        ] * (num_levels - 1)
        self.tums = nn.ModuleList(
            TUM(channels,
                planes,
                num_scales,
                use_smooth,
                decoder=tum_decoder,
                **conv) for channels in tum_in_channels)
        self.sfam = None if sfam is None else SFAM(
            self.out_channels, num_scales, shared=sfam == 'shared')
        self.out_norm = None if out_norm_cfg is None else build_norm_layer(
            out_norm_cfg, self.out_channels)[1]

    def forward(self, inputs: Sequence[Tensor]) -> Tuple[Tensor, ...]:
        """Return ``num_scales`` maps of ``planes * num_levels`` channels."""
        if len(inputs) != 2:
            raise ValueError(
                'MLFPN expects 2 backbone features (stride 8, stride 16), got '
                f'{len(inputs)}: set the backbone to output exactly two '
                '(SSDVGG out_feature_indices=(22, 34), ResNet out_indices=(1, 3))')
        shallow, deep = inputs
        # the official and any supported input give a valid pyramid; fail
        # early with the sizes that work otherwise
        tum_feature_sizes(shallow.shape[-1], self.num_scales)

        base = self.ffm_v1(shallow, deep)  # (N, 768, 40, 40)

        # stack TUMs, each fed the base feature (where it has an FFMv2) and
        # the previous TUM's largest output
        levels = []
        previous = None
        for level, tum in enumerate(self.tums):
            if level < len(self.ffm_v2):
                tum_input = self.ffm_v2[level](base, previous)
            else:
                tum_input = previous
            outs = tum(tum_input)  # 6 x (N, 256, s, s)
            levels.append(outs)
            previous = outs[0]  # (N, 256, 40, 40)

        # aggregate same-scale maps, TUM 1 first: 6 x (N, 2048, s, s)
        feats = tuple(torch.cat(scale, dim=1) for scale in zip(*levels))
        if self.sfam is not None:
            feats = self.sfam(feats)
        if self.out_norm is not None:
            feats = (self.out_norm(feats[0]), ) + tuple(feats[1:])
        return feats
