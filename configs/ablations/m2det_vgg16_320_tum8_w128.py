# Ablation: 8 TUMs of width 128 (the official model has width 256).
_base_ = '../m2det_vgg16_320.py'
planes = 128

model = dict(
    neck=dict(planes=planes),
    bbox_head=dict(
        in_channels=(planes * _base_.num_levels, ) * _base_.num_scales))
