"""Scale-wise Feature Aggregation Module (SFAM) of M2Det."""
from typing import Sequence, Tuple

import torch.nn as nn
from torch import Tensor


class SFAM(nn.Module):
    """Channel attention (squeeze-excitation) on each pyramid scale.

    Each scale is multiplied by ``sigmoid(fc2(relu(fc1(avgpool(x)))))``, with
    1x1 convs for fc1 (``channels -> channels // reduction``) and fc2. The
    official code shares one SE block across all scales; the paper describes
    one per scale::

        (N, 2048, 40, 40) -> pool -> (N, 2048, 1, 1) -> (N, 128, 1, 1)
        -> (N, 2048, 1, 1) -> sigmoid -> x * attention -> (N, 2048, 40, 40)

    Args:
        channels (int): Channels of every scale (TUM width x levels).
        num_scales (int): Number of scales. Defaults to 6.
        reduction (int): Squeeze ratio of the SE block. Defaults to 16.
        shared (bool): Whether one SE block serves all scales (official
            code) instead of one per scale (paper). Defaults to True.

    Example:
        >>> import torch
        >>> sfam = SFAM(64, num_scales=2)
        >>> outs = sfam([torch.rand(1, 64, 4, 4), torch.rand(1, 64, 2, 2)])
        >>> [tuple(o.shape) for o in outs]
        [(1, 64, 4, 4), (1, 64, 2, 2)]
    """

    def __init__(self,
                 channels: int,
                 num_scales: int = 6,
                 reduction: int = 16,
                 shared: bool = True) -> None:
        super().__init__()
        if channels % reduction:
            raise ValueError(f'SFAM channels ({channels}) must be divisible '
                             f'by reduction ({reduction})')

        def se_block() -> nn.Sequential:
            return nn.Sequential(
                nn.AdaptiveAvgPool2d(1),
                nn.Conv2d(channels, channels // reduction, 1),
                nn.ReLU(inplace=True),
                nn.Conv2d(channels // reduction, channels, 1), nn.Sigmoid())

        if shared:
            self.se_blocks = nn.ModuleList([se_block()] * num_scales)
        else:
            self.se_blocks = nn.ModuleList(
                se_block() for _ in range(num_scales))

    def forward(self, feats: Sequence[Tensor]) -> Tuple[Tensor, ...]:
        """Reweight the channels of every scale."""
        return tuple(x * se(x) for x, se in zip(feats, self.se_blocks))
