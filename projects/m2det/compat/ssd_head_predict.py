"""``SSDHead.predict`` in mmdet 3.x fails for want of ``loss_cls``.

``BaseDenseHead._predict_by_feat_single`` reads ``self.loss_cls`` to look for
custom class channels, but ``SSDHead`` skips ``AnchorHead.__init__`` and never
builds a ``loss_cls``: its loss (softmax cross-entropy with hard negative
mining) is computed inline. Declaring that it has no loss module makes the
check read ``None`` and fall through to the softmax that ``SSDHead`` uses.
Every SSD head benefits, mmdet's own SSD300/512 configs included.

Delete this module once mmdet defines ``SSDHead.loss_cls``.
"""
from mmdet.models.dense_heads import SSDHead

UPSTREAM = 'https://github.com/open-mmlab/mmdetection/issues/11063'
AFFECTED = 'mmdet 3.0.0 to 3.3.0 (SSDHead has no loss_cls)'


def is_needed() -> bool:
    """Whether the installed ``SSDHead`` lacks ``loss_cls`` (or has only
    the one this fix gave it)."""
    return (getattr(SSDHead, '_m2det_compat', False)
            or not hasattr(SSDHead, 'loss_cls'))


def apply() -> bool:
    """Give ``SSDHead`` the ``loss_cls = None`` its prediction path expects.

    Returns:
        bool: Whether the fix is in effect.
    """
    if is_needed():
        SSDHead.loss_cls = None
        SSDHead._m2det_compat = True
        return True
    return False
