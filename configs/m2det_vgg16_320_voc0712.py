# M2Det VGG16 at 320 on Pascal VOC 07+12 (20 classes), official schedule.
_base_ = [
    '_base_/models/m2det_vgg16.py', '_base_/datasets/voc0712.py',
    '_base_/schedules/m2det_160e.py', '_base_/default_runtime.py'
]
model = dict(bbox_head=dict(num_classes=20))
