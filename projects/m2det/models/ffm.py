"""Feature Fusion Modules (FFMv1, FFMv2) of M2Det."""
from typing import Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmdet.utils import ConfigType
from torch import Tensor


class FFMv1(nn.Module):
    """Fuses the shallow and deep backbone features into the base feature.

    A 3x3 conv reduces the shallow (stride 8) feature, a 1x1 conv reduces the
    deep (stride 16) one, which is then upsampled (nearest) to the shallow
    size; the two are concatenated, shallow first::

        (N, 512, 40, 40) -> 3x3 -> (N, 256, 40, 40) --+
        (N, 1024, 20, 20) -> 1x1 -> up x2 -> (N, 512, 40, 40) --+-> (N, 768, 40, 40)

    Args:
        in_channels (Sequence[int]): Channels of the shallow and deep
            features: (512, 1024) for VGG16, (512, 2048) for ResNet-50/101.
            Defaults to (512, 1024).
        out_channels (Sequence[int]): Channels after reducing each of them.
            Defaults to (256, 512).
        norm_cfg (dict): Norm layer of both convs. Defaults to
            ``dict(type='BN', momentum=0.01)``.
        act_cfg (dict): Activation of both convs. Defaults to
            ``dict(type='ReLU')``.
    """  # noqa: E501

    def __init__(self,
                 in_channels: Sequence[int] = (512, 1024),
                 out_channels: Sequence[int] = (256, 512),
                 norm_cfg: ConfigType = dict(type='BN', momentum=0.01),
                 act_cfg: ConfigType = dict(type='ReLU')) -> None:
        super().__init__()
        conv = dict(norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.out_channels = sum(out_channels)
        self.shallow_conv = ConvModule(
            in_channels[0], out_channels[0], 3, padding=1, **conv)
        self.deep_conv = ConvModule(in_channels[1], out_channels[1], 1, **conv)

    def forward(self, shallow: Tensor, deep: Tensor) -> Tensor:
        """Return the base feature at the shallow feature's resolution."""
        shallow = self.shallow_conv(shallow)  # (N, 256, 40, 40)
        # The official x2 upsample equals a resize to the shallow size at every
        # supported input; the resize also copes with odd shallow sizes.
        deep = F.interpolate(
            self.deep_conv(deep), size=shallow.shape[-2:],
            mode='nearest')  # (N, 512, 40, 40)
        return torch.cat([shallow, deep], dim=1)  # (N, 768, 40, 40)


class FFMv2(nn.Module):
    """Fuses the base feature with the largest output of the previous TUM.

    A 1x1 conv reduces the base feature; for every TUM but the first, the
    previous TUM's largest output is concatenated after it::

        (N, 768, 40, 40) -> 1x1 -> (N, 128, 40, 40) [| (N, 256, 40, 40)]

    Args:
        in_channels (int): Channels of the base feature. Defaults to 768.
        out_channels (int): Channels of the reduced base feature. Defaults
            to 128.
        norm_cfg (dict): Norm layer of the conv. Defaults to
            ``dict(type='BN', momentum=0.01)``.
        act_cfg (dict): Activation of the conv. Defaults to
            ``dict(type='ReLU')``.
    """

    def __init__(self,
                 in_channels: int = 768,
                 out_channels: int = 128,
                 norm_cfg: ConfigType = dict(type='BN', momentum=0.01),
                 act_cfg: ConfigType = dict(type='ReLU')) -> None:
        super().__init__()
        self.conv = ConvModule(
            in_channels, out_channels, 1, norm_cfg=norm_cfg, act_cfg=act_cfg)

    def forward(self, base: Tensor, previous: Optional[Tensor] = None) -> Tensor:
        """Return the input of the next TUM."""
        x = self.conv(base)  # (N, 128, 40, 40)
        if previous is None:
            return x
        return torch.cat([x, previous], dim=1)  # (N, 384, 40, 40)
