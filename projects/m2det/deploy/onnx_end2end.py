"""Export an SSD-style detector to one ONNX graph, image to detections.

The graph takes the resized image as the config's test pipeline gives it
(``(N, 3, H, W)`` float, 0-255, the channel order the pipeline loads, BGR
for mmdet's) and gives mmdeploy's outputs: ``dets`` ``(N, K, 5)`` rows
``x1, y1, x2, y2, score`` in the input's pixels and ``labels`` ``(N, K)``,
sorted by score; an image with fewer than ``K`` detections is padded with
zero rows and label -1. Inside: normalisation, the network, the softmax,
box decoding with the head's own coder against the priors of the input
size (a constant: M2Det's prior sizes are fractions of the configured
input, so the spatial size is fixed; the batch is dynamic), the config's
``score_thr``, ``nms_pre``, per-class cap and ``max_per_img``, and hard NMS
as ONNX ``NonMaxSuppression``.

Soft-NMS has no ONNX operator: a config with soft-NMS (the official test
recipe) is exported with hard NMS at :data:`SOFT_NMS_REPLACEMENT_IOU`,
the official code's hard-NMS threshold. mmcv's ``offset=1`` (box sides
counted one pixel longer) is dropped: mmdet applies it in the original
image's pixels, which the graph does not see, and in the input's pixels it
would be another rule. docs/deployment.md has what both cost on the demo
model.
"""
from typing import Dict, Optional, Tuple

import torch
from torch import nn

from .graph_nms import ONNX_TRANSLATION, nms_indices
from .onnx_export import INPUT_NAME, NetworkWithNormalization, torch_export

OUTPUT_NAMES = ('dets', 'labels')
SOFT_NMS_REPLACEMENT_IOU = 0.45


def graph_nms_iou(test_cfg) -> float:
    """The IoU of the hard NMS the graph runs for the head's ``test_cfg``."""
    nms_cfg = test_cfg.nms
    if nms_cfg.type == 'nms':
        iou = nms_cfg.iou_threshold
    elif nms_cfg.type == 'soft_nms':
        iou = SOFT_NMS_REPLACEMENT_IOU
    else:
        raise ValueError(f'model.test_cfg.nms.type {nms_cfg.type!r}: the '
                         "end-to-end graph runs 'nms' (or 'soft_nms', "
                         'replaced by hard NMS)')
    if test_cfg.get('min_bbox_size', -1) > 0:
        raise ValueError(
            f'model.test_cfg.min_bbox_size {test_cfg.min_bbox_size}: the '
            'graph sees boxes in input pixels, not the original image\'s; '
            'use 0 or -1')
    return float(iou)


class End2EndDetector(nn.Module):
    """Image batch to ``(dets, labels)``; see the module docstring.

    Args:
        detector (nn.Module): An mmdet single-stage detector whose head is
            an ``SSDHead`` (softmax scores, background last), float32.
        input_size (tuple[int, int]): ``(height, width)`` of the input.
        iou_threshold (float, optional): Hard NMS IoU. Defaults to None:
            the config's (see :func:`graph_nms_iou`).
    """

    def __init__(self,
                 detector: nn.Module,
                 input_size: Tuple[int, int],
                 iou_threshold: Optional[float] = None) -> None:
        super().__init__()
        self.network = NetworkWithNormalization(detector).eval()
        head = detector.bbox_head
        cfg = head.test_cfg
        self.bbox_coder = head.bbox_coder
        self.num_classes = head.num_classes
        self.input_size = tuple(input_size)
        with torch.no_grad():
            outputs = self.network(torch.zeros(1, 3, *input_size))
        featmap_sizes = [o.shape[-2:] for o in outputs[:len(outputs) // 2]]
        self.level_sizes = [
            s[0] * s[1] * n for s, n in zip(
                featmap_sizes, head.prior_generator.num_base_priors)
        ]
        self.register_buffer(
            'priors',
            torch.cat(
                head.prior_generator.grid_priors(featmap_sizes, device='cpu')))
        self.iou_threshold = float(
            graph_nms_iou(cfg) if iou_threshold is None else iou_threshold)
        self.score_thr = float(cfg.score_thr)
        self.nms_pre = cfg.get('nms_pre', -1)
        self.max_per_img = cfg.max_per_img
        max_per_class = cfg.get('max_per_class', -1)
        # no class gives more than max_per_img boxes to the image's top-K
        self.max_per_class = (self.max_per_img if max_per_class < 0 else min(
            max_per_class, self.max_per_img))

    def _level_flat(self, outputs, width: int) -> torch.Tensor:
        return torch.cat([
            o.permute(0, 2, 3, 1).reshape(o.shape[0], -1, width)
            for o in outputs
        ], 1)

    def _keep_nms_pre(self, scores: torch.Tensor) -> torch.Tensor:
        """mmdet's ``filter_scores_and_topk``: per level, the ``nms_pre``
        best (box, class) scores; the others set to -1."""
        kept = []
        for level in scores.split(self.level_sizes, 1):
            flat = level.flatten(1)  # (N, P_l * C)
            k = min(self.nms_pre, flat.shape[1])
            kth = flat.topk(k, dim=1).values[:, -1:]
            kept.append(torch.where(flat >= kth, flat, -1).view_as(level))
        return torch.cat(kept, 1)

    def forward(self, image: torch.Tensor
                ) -> Tuple[torch.Tensor, torch.Tensor]:
        outputs = self.network(image)
        num_levels = len(outputs) // 2
        num_images = image.shape[0]
        logits = self._level_flat(outputs[:num_levels], self.num_classes + 1)
        deltas = self._level_flat(outputs[num_levels:], 4)  # (N, P, 4)
        scores = logits.softmax(-1)[..., :-1]  # (N, P, C), background last
        if self.nms_pre > 0:
            scores = self._keep_nms_pre(scores)
        # one (N * P, 4) decode: the coder's batched path is deprecated
        boxes = self.bbox_coder.decode(
            self.priors.repeat(num_images, 1), deltas.flatten(0, 1),
            max_shape=self.input_size).view_as(deltas)  # (N, P, 4)
        # mmdet drops boxes of no area (min_bbox_size 0), e.g. clipped ones
        empty = ((boxes[..., 2] <= boxes[..., 0]) |
                 (boxes[..., 3] <= boxes[..., 1]))
        scores = torch.where(empty[..., None], -1, scores)
        kept = nms_indices(boxes, scores.transpose(1, 2).contiguous(),
                           self.max_per_class, self.iou_threshold,
                           self.score_thr)  # (M, 3)
        image_index, label, box_index = kept.unbind(1)
        kept_scores = scores[image_index, box_index, label]  # (M, )
        # each image's max_per_img best: rows of other images score -1,
        # K padding columns score 0
        per_image = torch.where(
            image_index[None] == torch.arange(num_images)[:, None],
            kept_scores[None], -1)  # (N, M)
        padding = per_image.new_zeros(num_images, self.max_per_img)
        top, order = torch.cat([per_image, padding],
                               1).topk(self.max_per_img, dim=1)  # (N, K)
        kept_boxes = torch.cat(
            [boxes[image_index, box_index],
             boxes.new_zeros(self.max_per_img, 4)])
        kept_labels = torch.cat(
            [label, label.new_full((self.max_per_img, ), -1)])
        dets = torch.cat([kept_boxes[order], top[..., None]], -1)
        return dets, kept_labels[order]


def export_end2end(detector: nn.Module,
                   path: str,
                   input_size: Tuple[int, int],
                   iou_threshold: Optional[float] = None,
                   dynamic_batch: bool = True,
                   opset_version: int = 18,
                   metadata: Optional[Dict[str, str]] = None) -> None:
    """Write ``detector`` as one ONNX graph from image to detections.

    Args:
        detector (nn.Module): As :class:`End2EndDetector`'s.
        path (str): The ``.onnx`` file to write.
        input_size (tuple[int, int]): ``(height, width)`` of the input.
        iou_threshold (float, optional): Hard NMS IoU. Defaults to None:
            the config's, or :data:`SOFT_NMS_REPLACEMENT_IOU` for soft-NMS.
        dynamic_batch (bool): Whether the batch size may vary. Defaults to
            True.
        opset_version (int): ONNX opset. Defaults to 18.
        metadata (dict[str, str], optional): Written to the model's
            ``metadata_props`` (ONNX Runtime: ``custom_metadata_map``).
            Defaults to None.
    """
    network = End2EndDetector(detector, input_size, iou_threshold).eval()
    torch_export(network, path, input_size, list(OUTPUT_NAMES),
                 dynamic_batch, opset_version,
                 custom_translation_table=ONNX_TRANSLATION)
    if metadata:
        import onnx
        model = onnx.load(path)
        onnx.helper.set_model_props(model, dict(metadata))
        onnx.save(model, path)


__all__ = [
    'End2EndDetector', 'INPUT_NAME', 'OUTPUT_NAMES',
    'SOFT_NMS_REPLACEMENT_IOU', 'export_end2end', 'graph_nms_iou'
]
