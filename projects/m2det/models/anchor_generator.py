"""Prior boxes of M2Det, as the official code builds them."""
from typing import List, Sequence

import torch
from mmdet.models.task_modules.prior_generators import SSDAnchorGenerator
from mmdet.registry import TASK_UTILS
from torch import Tensor


@TASK_UTILS.register_module()
class M2DetAnchorGenerator(SSDAnchorGenerator):
    """SSD-style priors with M2Det's sizes and the official width/height clamp.

    Per location, in the official order (which is also mmdet's SSD order):
    the ``min_size`` square, the ``sqrt(min_size * max_size)`` square, then
    ``min_size`` boxes of width:height 2:1, 1:2, 3:1, 1:3. Centres are at
    ``(j + 0.5) * stride``. The min and max sizes of level ``k`` are
    ``input_size * size_ratios[k]`` and ``input_size * size_ratios[k + 1]``,
    rounded to 2 decimals as the official code does. The official priors are
    clipped to the image in normalised (cx, cy, w, h) form, which caps widths
    and heights at the input size; ``clip_wh`` reproduces that.

    Args:
        input_size (int): Side of the square network input.
        strides (Sequence[int]): Prior step of each level, e.g.
            ``(8, 16, 32, 64, 107, 320)`` at 320.
        size_ratios (Sequence[float]): ``num_levels + 1`` ratios of the input
            size, e.g. ``(0.08, 0.15, 0.33, 0.51, 0.69, 0.87, 1.05)``.
        ratios (Sequence[Sequence[float]]): Extra aspect ratios per level.
            Defaults to ``[2, 3]`` on every level.
        clip_wh (bool): Whether to cap prior widths and heights at the input
            size. Defaults to True.
        use_box_type (bool): Whether to wrap priors in a box type. Defaults
            to False.

    Example:
        >>> self = M2DetAnchorGenerator(
        ...     320, (8, 16, 32, 64, 107, 320),
        ...     (0.08, 0.15, 0.33, 0.51, 0.69, 0.87, 1.05))
        >>> sizes = [(40, 40), (20, 20), (10, 10), (5, 5), (3, 3), (1, 1)]
        >>> sum(len(p) for p in self.grid_priors(sizes))
        12810
    """

    def __init__(self,
                 input_size: int,
                 strides: Sequence[int],
                 size_ratios: Sequence[float],
                 ratios: Sequence[Sequence[float]] = None,
                 clip_wh: bool = True,
                 use_box_type: bool = False) -> None:
        if len(size_ratios) != len(strides) + 1:
            raise ValueError(
                f'size_ratios needs len(strides) + 1 = {len(strides) + 1} '
                f'entries, got {len(size_ratios)}')
        if ratios is None:
            ratios = [[2, 3]] * len(strides)
        sizes = [round(input_size * r, 2) for r in size_ratios]
        # read by gen_base_anchors, which the parent's __init__ calls
        self.input_size = input_size
        self.clip_wh = clip_wh
        super().__init__(
            strides=list(strides),
            ratios=[list(r) for r in ratios],
            min_sizes=sizes[:-1],
            max_sizes=sizes[1:],
            scale_major=False,
            use_box_type=use_box_type)

    def gen_base_anchors(self) -> List[Tensor]:
        """Generate the base priors of every level, clamped if asked to."""
        base_anchors = super().gen_base_anchors()
        if not self.clip_wh:
            return base_anchors
        return [
            self._clamp_wh(anchors, center)
            for anchors, center in zip(base_anchors, self.centers)
        ]

    def _clamp_wh(self, anchors: Tensor, center: Sequence[float]) -> Tensor:
        """Cap the width and height of ``anchors`` at the input size."""
        wh = anchors[:, 2:] - anchors[:, :2]
        too_big = wh > self.input_size
        if not too_big.any():
            return anchors
        cxy = anchors.new_tensor(center)
        half = wh.clamp(max=self.input_size) / 2
        # rebuild only the capped sides so the others stay bit-identical
        return torch.where(too_big.repeat(1, 2),
                           torch.cat([cxy - half, cxy + half], dim=1), anchors)
