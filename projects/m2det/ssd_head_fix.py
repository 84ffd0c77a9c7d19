"""Makes mmdet 3.3's ``SSDHead.predict`` work (mmdet issue #11063).

``BaseDenseHead._predict_by_feat_single`` reads ``self.loss_cls`` to look for
custom class channels, but ``SSDHead`` skips ``AnchorHead.__init__`` and never
builds a ``loss_cls``: its loss (softmax cross-entropy with hard negative
mining) is computed inline. Declaring that it has no loss module makes the
check read ``None`` and fall through to the softmax that ``SSDHead`` uses.
Every SSD head benefits, including mmdet's own SSD300/512 configs once this
project is imported.
"""
from mmdet.models.dense_heads import SSDHead


def fix_ssd_head_predict() -> None:
    """Give ``SSDHead`` the ``loss_cls = None`` its prediction path expects.

    Idempotent, and a no-op on an mmdet that already defines it.
    """
    if not hasattr(SSDHead, 'loss_cls'):
        SSDHead.loss_cls = None
