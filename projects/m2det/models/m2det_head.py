"""``SSDHead`` with the official M2Det test recipe: every candidate over the
score threshold, soft-NMS per class and a per-class cap."""
import inspect
from typing import List, Optional

import mmcv.ops
import torch
from mmdet.models.dense_heads import SSDHead
from mmdet.registry import MODELS
from mmdet.structures.bbox import get_box_tensor
from mmengine.config import ConfigDict
from mmengine.structures import InstanceData
from torch import Tensor


@MODELS.register_module()
class M2DetHead(SSDHead):
    """mmdet's ``SSDHead`` with the official test recipe's candidates and
    per-class cap.

    The official test (``nms_process`` in the official ``utils/core.py``)
    takes, in each class, every box scoring over the threshold, runs NMS
    and keeps the 50 best boxes (ranked by the score NMS leaves, so after
    soft-NMS's rescoring); only then does it look at the whole image.

    - Candidates: with ``nms_pre`` at -1 (or 0) in ``test_cfg``, every box
      over ``score_thr`` is a candidate, as in the official code. mmdet's
      ``filter_scores_and_topk`` would cut the last one of each level
      (``scores[:min(-1, n)]``); a positive ``nms_pre`` keeps mmdet's
      per-level top-k.
    - Cap: with ``max_per_class`` in ``test_cfg``, each class keeps its
      ``max_per_class`` best boxes after NMS, then the image its
      ``max_per_img`` best. ``SSDHead`` has no per-class cap, and its
      per-image cap would cut before it. NMS then runs in each class on
      its own, as in the official code. Without ``max_per_class`` (or
      with a negative value, or a class-agnostic NMS) the NMS and the
      per-image cap are ``SSDHead``'s.

    Training, the layers and their checkpoint keys are ``SSDHead``'s; it
    takes ``SSDHead``'s arguments.

    Example:
        >>> import torch
        >>> from mmengine.config import ConfigDict
        >>> from mmengine.structures import InstanceData
        >>> head = M2DetHead(
        ...     num_classes=2, in_channels=(8, ), anchor_generator=dict(
        ...         type='M2DetAnchorGenerator', input_size=64, strides=(8, ),
        ...         size_ratios=(0.2, 0.4)))
        >>> cfg = ConfigDict(nms=dict(type='nms', iou_threshold=0.5),
        ...                  max_per_class=2, max_per_img=3)
        >>> boxes = torch.tensor([[10. * i, 0, 10 * i + 5, 5]
        ...                       for i in range(5)])
        >>> results = InstanceData(
        ...     bboxes=boxes, scores=torch.tensor([.9, .8, .7, .6, .5]),
        ...     labels=torch.tensor([0, 0, 0, 1, 1]))
        >>> head._bbox_post_process(results, cfg).labels.tolist()
        [0, 0, 1]
    """

    def _predict_by_feat_single(self,
                                cls_score_list: List[Tensor],
                                bbox_pred_list: List[Tensor],
                                score_factor_list: List[Optional[Tensor]],
                                mlvl_priors: List[Tensor],
                                img_meta: dict,
                                cfg: ConfigDict,
                                rescale: bool = False,
                                with_nms: bool = True) -> InstanceData:
        """Every box over ``score_thr`` of all levels at once, decoded, then
        :meth:`_bbox_post_process`; with a positive ``nms_pre``,
        ``SSDHead``'s per-level top-k. Arguments as ``SSDHead``'s."""
        cfg = self.test_cfg if cfg is None else cfg
        if cfg.get('nms_pre', -1) > 0:
            return super()._predict_by_feat_single(
                cls_score_list, bbox_pred_list, score_factor_list,
                mlvl_priors, img_meta, cfg, rescale, with_nms)
        # (num_priors, num_classes + 1) and (num_priors, 4), level by level
        cls_score = torch.cat([
            score.permute(1, 2, 0).reshape(-1, self.cls_out_channels)
            for score in cls_score_list
        ])
        bbox_pred = torch.cat([
            pred.permute(1, 2, 0).reshape(-1, self.bbox_coder.encode_size)
            for pred in bbox_pred_list
        ])
        scores = cls_score.softmax(-1)[:, :-1]  # the last one: background
        prior_idxs, labels = torch.nonzero(
            scores > cfg.get('score_thr', 0), as_tuple=True)
        scores = scores[prior_idxs, labels]
        # best first, as mmdet's levels give them: mmcv's soft-NMS takes
        # 1.5x longer on boxes in prior order
        scores, order = scores.sort(descending=True)
        prior_idxs, labels = prior_idxs[order], labels[order]
        results = InstanceData(
            bboxes=self.bbox_coder.decode(
                torch.cat(mlvl_priors)[prior_idxs],
                bbox_pred[prior_idxs],
                max_shape=img_meta['img_shape']),
            scores=scores,
            labels=labels)
        return self._bbox_post_process(results, cfg, rescale, with_nms,
                                       img_meta)

    def _bbox_post_process(self,
                           results: InstanceData,
                           cfg: ConfigDict,
                           rescale: bool = False,
                           with_nms: bool = True,
                           img_meta: Optional[dict] = None) -> InstanceData:
        """Rescale, NMS, then at most ``cfg.max_per_class`` boxes per class
        and ``cfg.max_per_img`` per image; see ``SSDHead``."""
        max_per_class = cfg.get('max_per_class', -1)
        # without NMS the boxes are not ranked after it, nothing to cap
        if (not with_nms or max_per_class < 0
                or cfg.nms.get('class_agnostic', False)):
            return super()._bbox_post_process(results, cfg, rescale,
                                              with_nms, img_meta)
        # SSDHead's rescaling and size filter, without its NMS
        results = super()._bbox_post_process(results, cfg, rescale, False,
                                             img_meta)
        return self._nms_per_class(results, cfg.nms,
                                   max_per_class)[:cfg.max_per_img]

    @staticmethod
    def _nms_per_class(results: InstanceData, nms_cfg: ConfigDict,
                       max_per_class: int) -> InstanceData:
        """NMS in each class on its own, as the official test runs it, and
        the ``max_per_class`` best boxes of each class, best first.

        mmcv's ``batched_nms`` would shift the classes apart and run one
        NMS over all of them, whose cost grows with the square of all the
        boxes (2.5x slower with 6,600 boxes in 65 classes), and round the
        shifted coordinates.
        """
        nms_cfg = dict(nms_cfg)
        # without mmcv's decorator for renamed arguments, which reads the
        # signature on every call: 0.3 ms a class, 20 ms with 65 classes
        nms_op = inspect.unwrap(getattr(mmcv.ops, nms_cfg.pop('type', 'nms')))
        nms_cfg.pop('split_thr', None)
        bboxes = get_box_tensor(results.bboxes)
        # each class's boxes in one run, in their order (best first)
        order = results.labels.argsort(stable=True)
        keep, scores, start = [], [], 0
        for count in torch.bincount(results.labels).tolist():
            if count:
                idxs = order[start:start + count]
                dets, kept = nms_op(bboxes[idxs], results.scores[idxs],
                                    **nms_cfg)
                keep.append(idxs[kept[:max_per_class]])
                scores.append(dets[:max_per_class, -1])
            start += count
        if not keep:
            return results
        scores, ranked = torch.cat(scores).sort(descending=True, stable=True)
        results = results[torch.cat(keep)[ranked]]
        results.scores = scores
        return results
