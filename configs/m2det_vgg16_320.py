# M2Det VGG16 at 320, the official model and recipe on COCO 2017.
_base_ = [
    '_base_/models/m2det_vgg16.py', '_base_/datasets/coco_detection.py',
    '_base_/schedules/m2det_160e.py', '_base_/default_runtime.py'
]
