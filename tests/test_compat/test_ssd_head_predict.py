"""mmdet #11063: ``SSDHead.predict`` without ``loss_cls``, and the fix."""
import subprocess
import sys

from conftest import REPO

SSD_PREDICT = """
import torch
from mmdet.models.dense_heads import SSDHead
from mmengine.config import ConfigDict
head = SSDHead(num_classes=3, in_channels=(8, 8), anchor_generator=dict(
    type='SSDAnchorGenerator', scale_major=False, input_size=300,
    basesize_ratio_range=(0.15, 0.9), strides=[8, 16], ratios=[[2], [2]],
    min_sizes=[20, 40], max_sizes=[40, 80]),
    test_cfg=ConfigDict(nms=dict(type='nms', iou_threshold=0.45),
                        score_thr=0.0, max_per_img=10))
feats = (torch.rand(1, 8, 4, 4), torch.rand(1, 8, 2, 2))
res = head.predict_by_feat(*head(feats), batch_img_metas=[dict(
    img_shape=(32, 32), scale_factor=(1.0, 1.0), ori_shape=(32, 32))])
print('boxes', len(res[0].bboxes))
"""


def test_ssd_head_predict_fails_in_plain_mmdet():
    """mmdet #11063: the upstream bug this project fixes still exists."""
    proc = subprocess.run([sys.executable, '-c', SSD_PREDICT],
                          capture_output=True, text=True)
    assert proc.returncode != 0
    assert "'SSDHead' object has no attribute 'loss_cls'" in proc.stderr


def test_ssd_head_predict_works_with_the_fix():
    fix = ('from projects.m2det.compat import apply_fixes\n'
           "assert apply_fixes(['ssd_head_predict']) == "
           "{'ssd_head_predict': True}\n")
    proc = subprocess.run([sys.executable, '-c', fix + SSD_PREDICT],
                          capture_output=True, text=True, cwd=REPO)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == 'boxes 10'
