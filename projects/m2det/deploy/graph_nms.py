"""Hard NMS as one graph op: ``m2det::nms_indices`` and its ONNX form.

A ``torch.library`` custom op in the project's own namespace (registering
it changes nothing of torch's): eagerly it runs mmcv's NMS per image and
class; under ``torch.export`` its output length is data-dependent; and
:data:`ONNX_TRANSLATION` maps it to ONNX ``NonMaxSuppression``, whose
``selected_indices`` it reproduces: rows ``(image, class, box)``, image by
image, class by class, each class's boxes by descending score.
"""
from typing import Callable, Dict

import torch
from mmcv.ops import nms

__all__ = ['nms_indices', 'ONNX_TRANSLATION']


@torch.library.custom_op('m2det::nms_indices', mutates_args=())
def nms_indices(boxes: torch.Tensor, scores: torch.Tensor,
                max_per_class: int, iou_threshold: float,
                score_threshold: float) -> torch.Tensor:
    """Indices of the boxes NMS keeps, as ONNX ``NonMaxSuppression``.

    Args:
        boxes (Tensor): ``(N, P, 4)`` boxes ``x1, y1, x2, y2``.
        scores (Tensor): ``(N, C, P)`` scores of each class.
        max_per_class (int): At most this many boxes per image and class.
        iou_threshold (float): A box goes when its IoU with a kept box of
            its class is above this.
        score_threshold (float): Only boxes scoring above this are kept.

    Returns:
        Tensor: ``(M, 3)`` int64 rows ``(image, class, box)``.
    """
    rows = []
    for image in range(scores.shape[0]):
        for label in range(scores.shape[1]):
            candidates = (scores[image, label] >
                          score_threshold).nonzero()[:, 0]
            if not len(candidates):
                continue
            # mmcv's nms sorts by score and returns the kept rows in order
            _, keep = nms(boxes[image, candidates],
                          scores[image, label, candidates], iou_threshold)
            keep = candidates[keep[:max_per_class]]
            rows.append(
                torch.stack([
                    torch.full_like(keep, image),
                    torch.full_like(keep, label), keep
                ], 1))
    if not rows:
        return boxes.new_zeros((0, 3), dtype=torch.int64)
    return torch.cat(rows)


@nms_indices.register_fake
def _(boxes, scores, max_per_class, iou_threshold, score_threshold):
    num_kept = torch.library.get_ctx().new_dynamic_size()
    return boxes.new_empty((num_kept, 3), dtype=torch.int64)


def _onnx_nms_indices(boxes, scores, max_per_class: int,
                      iou_threshold: float, score_threshold: float):
    from onnxscript import opset18 as op
    return op.NonMaxSuppression(
        boxes, scores, op.Constant(value_ints=[max_per_class]),
        op.Constant(value_floats=[iou_threshold]),
        op.Constant(value_floats=[score_threshold]))


# for torch.onnx.export(..., custom_translation_table=ONNX_TRANSLATION)
ONNX_TRANSLATION: Dict[Callable, Callable] = {
    torch.ops.m2det.nms_indices.default: _onnx_nms_indices
}
