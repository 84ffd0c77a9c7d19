"""``SSDHead`` with the official M2Det test recipe's per-class cap."""
from typing import Optional

import torch.nn.functional as F
from mmdet.models.dense_heads import SSDHead
from mmdet.registry import MODELS
from mmengine.config import ConfigDict
from mmengine.structures import InstanceData


@MODELS.register_module()
class M2DetHead(SSDHead):
    """mmdet's ``SSDHead`` that can also cap the detections of each class.

    The official test (``nms_process`` in the official ``utils/core.py``)
    keeps, in each class, the 50 best boxes after NMS (ranked by the score
    NMS leaves, so after soft-NMS's rescoring) and only then looks at the
    whole image. ``SSDHead`` has no per-class cap, and its per-image cap
    ``max_per_img`` would cut before it. With ``max_per_class`` in
    ``test_cfg``, this head runs ``SSDHead``'s post-processing without the
    per-image cap, keeps the ``max_per_class`` best boxes of each class, then
    the ``max_per_img`` best of the image. Without it (or with a negative
    value) it is ``SSDHead``. Training, the layers and their checkpoint keys
    are ``SSDHead``'s; it takes ``SSDHead``'s arguments.

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

    def _bbox_post_process(self,
                           results: InstanceData,
                           cfg: ConfigDict,
                           rescale: bool = False,
                           with_nms: bool = True,
                           img_meta: Optional[dict] = None) -> InstanceData:
        """Rescale, NMS, then at most ``cfg.max_per_class`` boxes per class
        and ``cfg.max_per_img`` per image; see ``SSDHead``."""
        max_per_class = cfg.get('max_per_class', -1)
        # without NMS the boxes are not sorted by score, nothing to cap
        if not with_nms or max_per_class < 0:
            return super()._bbox_post_process(results, cfg, rescale,
                                              with_nms, img_meta)
        uncapped = ConfigDict({**cfg, 'max_per_img': None})
        results = super()._bbox_post_process(results, uncapped, rescale,
                                             with_nms, img_meta)
        # NMS returns boxes sorted by score: count each one's rank in its class
        labels = results.labels
        rank = F.one_hot(labels, self.num_classes).cumsum(0).gather(
            1, labels[:, None])[:, 0]
        return results[rank <= max_per_class][:cfg.max_per_img]
