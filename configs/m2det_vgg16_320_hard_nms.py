# M2Det VGG16 at 320 tested with hard NMS at IoU 0.45, the alternative the
# official README suggests for demos (faster, fewer overlapping boxes; lower
# COCO AP than soft-NMS). Only test_cfg.nms differs from m2det_vgg16_320.py.
# The same from the command line, on any config:
#   --cfg-options model.test_cfg.nms.method=naive \
#       model.test_cfg.nms.iou_threshold=0.45
# (soft-NMS's 'naive' method drops every box at IoU >= 0.45: hard NMS.)
_base_ = './m2det_vgg16_320.py'

model = dict(
    test_cfg=dict(
        nms=dict(_delete_=True, type='nms', iou_threshold=0.45, offset=1)))
