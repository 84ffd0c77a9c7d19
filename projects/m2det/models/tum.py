"""Thinned U-shape Module (TUM) of M2Det."""
from typing import List, Tuple

import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmdet.utils import ConfigType
from torch import Tensor


def tum_encoder_strides(num_scales: int) -> List[Tuple[int, int]]:
    """(stride, padding) of each 3x3 conv of a TUM encoder.

    The official encoder halves the map with stride-2 pad-1 convs and ends
    with one stride-1 pad-0 conv, which turns a 3x3 map into the 1x1 top of
    the pyramid (40 -> 20 -> 10 -> 5 -> 3 -> 1 at 320).

    Args:
        num_scales (int): Number of pyramid scales the TUM outputs.

    Returns:
        list[tuple[int, int]]: ``num_scales - 1`` pairs, input side first.

    Example:
        >>> tum_encoder_strides(6)
        [(2, 1), (2, 1), (2, 1), (2, 1), (1, 0)]
    """
    if num_scales < 3:
        raise ValueError(f'num_scales must be >= 3, got {num_scales}')
    return [(2, 1)] * (num_scales - 2) + [(1, 0)]


def tum_feature_sizes(size: int, num_scales: int) -> List[int]:
    """Side lengths of the maps a TUM produces from a ``size`` x ``size`` input.

    Args:
        size (int): Side of the TUM input map (input size / 8 in M2Det).
        num_scales (int): Number of pyramid scales.

    Returns:
        list[int]: ``num_scales`` sides, largest first.

    Example:
        >>> tum_feature_sizes(40, 6)
        [40, 20, 10, 5, 3, 1]
        >>> tum_feature_sizes(100, 6)
        [100, 50, 25, 13, 7, 5]
    """
    sizes = [size]
    for stride, padding in tum_encoder_strides(num_scales):
        sizes.append((sizes[-1] + 2 * padding - 3) // stride + 1)
    if sizes[-1] < 1:
        smallest = min_tum_input_size(num_scales)
        raise ValueError(
            f'a TUM with num_scales={num_scales} cannot reduce a {size}x{size} '
            f'feature map (stride 8 of a {size * 8}px input) to '
            f'{num_scales} maps: it would give sides {sizes}; the feature '
            f'map side must be >= {smallest} (input size >= '
            f'{(smallest - 1) * 8 + 1}px)')
    return sizes


def min_tum_input_size(num_scales: int) -> int:
    """Smallest TUM input side that still yields ``num_scales`` maps."""
    # Undo the encoder backwards from a 1x1 top: s1/p0 needs 3, each s2/p1
    # maps 2k-1 to k.
    size = 1
    for stride, padding in reversed(tum_encoder_strides(num_scales)):
        size = (size - 1) * stride + 3 - 2 * padding
    return size


TUM_DECODERS = ('official', 'paper')


class TUM(nn.Module):
    """Thinned U-shape Module of M2Det.

    `M2Det <https://arxiv.org/abs/1811.04533>`_. An encoder of 3x3 convs
    shrinks the input to ``num_scales`` maps; a decoder goes back up from a
    1x1 top conv on the smallest map. The ``'official'`` decoder (the code
    the authors trained) adds, at each scale, a 3x3 lateral conv of the
    encoder map to the previous decoder map upsampled (nearest) to the exact
    lateral size. The ``'paper'`` decoder (Fig. 4 of the paper) puts the 3x3
    conv on the top-down path instead, upsamples bilinearly and adds the
    encoder map itself; only the TUM input gets a 1x1 lateral projection,
    and only when its width differs from ``planes``. 1x1 smooth convs then
    refine every decoder output but the smallest. For a 320 input and the
    official widths::

        x (N, 384, 40, 40) -> encoder -> 20, 10, 5, 3, 1
        top 1x1 conv on the 1x1 map, then up + lateral: 3, 5, 10, 20, 40
        outputs, largest first: (N, 256, 40, 40) ... (N, 256, 1, 1)

    Args:
        in_channels (int): Channels of the TUM input (the FFMv2 output).
        planes (int): Width of every conv of the TUM and of its outputs.
            Defaults to 256.
        num_scales (int): Number of output scales. Defaults to 6.
        use_smooth (bool): Whether to apply the 1x1 smooth convs. Defaults
            to True.
        norm_cfg (dict): Norm layer of every conv. Defaults to
            ``dict(type='BN', momentum=0.01)`` as in the official code.
        act_cfg (dict): Activation of every conv. Defaults to
            ``dict(type='ReLU')``.
        decoder (str): ``'official'`` or ``'paper'``, see above. Defaults
            to ``'official'``.

    Example:
        >>> import torch
        >>> tum = TUM(in_channels=128, planes=256, num_scales=6)
        >>> outs = tum(torch.rand(1, 128, 40, 40))
        >>> [tuple(o.shape) for o in outs]
        [(1, 256, 40, 40), (1, 256, 20, 20), (1, 256, 10, 10), (1, 256, 5, 5), (1, 256, 3, 3), (1, 256, 1, 1)]
    """  # noqa: E501

    def __init__(self,
                 in_channels: int,
                 planes: int = 256,
                 num_scales: int = 6,
                 use_smooth: bool = True,
                 norm_cfg: ConfigType = dict(type='BN', momentum=0.01),
                 act_cfg: ConfigType = dict(type='ReLU'),
                 decoder: str = 'official') -> None:
        super().__init__()
        if decoder not in TUM_DECODERS:
            raise ValueError(
                f'decoder must be one of {TUM_DECODERS}, got {decoder!r}')
        self.num_scales = num_scales
        self.use_smooth = use_smooth
        self.decoder = decoder
        conv = dict(norm_cfg=norm_cfg, act_cfg=act_cfg)

        self.encoder = nn.ModuleList()
        channels = in_channels
        for stride, padding in tum_encoder_strides(num_scales):
            self.encoder.append(
                ConvModule(channels, planes, 3, stride, padding, **conv))
            channels = planes
        self.top_conv = ConvModule(planes, planes, 1, **conv)
        if decoder == 'official':
            # lateral_convs[k] reads the encoder map of scale k (0 = input)
            self.lateral_convs = nn.ModuleList(
                ConvModule(in_channels if k == 0 else planes, planes, 3,
                           padding=1, **conv) for k in range(num_scales - 1))
        else:
            # topdown_convs[k] refines the decoder map before it is
            # upsampled to scale k; the input needs a projection to be added
            self.topdown_convs = nn.ModuleList(
                ConvModule(planes, planes, 3, padding=1, **conv)
                for _ in range(num_scales - 1))
            self.input_proj = None if in_channels == planes else ConvModule(
                in_channels, planes, 1, **conv)
        if use_smooth:
            self.smooth_convs = nn.ModuleList(
                ConvModule(planes, planes, 1, **conv)
                for _ in range(num_scales - 1))

    def forward(self, x: Tensor) -> Tuple[Tensor, ...]:
        """Return ``num_scales`` maps of ``planes`` channels, largest first."""
        # encoder: (N, C, 40, 40) -> 20, 10, 5, 3, 1
        feats = [x]
        for conv in self.encoder:
            feats.append(conv(feats[-1]))

        # decoder, smallest first: 1 -> 3 -> 5 -> 10 -> 20 -> 40
        out = self.top_conv(feats[-1])  # (N, 256, 1, 1)
        outs = [out]
        for k in range(self.num_scales - 2, -1, -1):
            if self.decoder == 'official':
                lateral = self.lateral_convs[k](feats[k])
                out = F.interpolate(
                    out, size=lateral.shape[-2:], mode='nearest') + lateral
            else:
                lateral = feats[k]
                if k == 0 and self.input_proj is not None:
                    lateral = self.input_proj(lateral)
                out = F.interpolate(
                    self.topdown_convs[k](out),
                    size=lateral.shape[-2:],
                    mode='bilinear',
                    align_corners=False) + lateral
            outs.append(out)
        outs.reverse()

        if self.use_smooth:
            # the 1x1 top map is the top conv's output, left unsmoothed
            outs = [conv(o) for conv, o in zip(self.smooth_convs, outs)] + \
                outs[-1:]
        return tuple(outs)
