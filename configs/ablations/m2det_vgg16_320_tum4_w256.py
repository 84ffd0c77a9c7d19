# Ablation: 4 TUM(s) of width 256.
_base_ = '../m2det_vgg16_320.py'
num_levels = 4

model = dict(
    neck=dict(num_levels=num_levels),
    bbox_head=dict(
        in_channels=(_base_.planes * num_levels, ) * _base_.num_scales))
