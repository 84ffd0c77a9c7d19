# Ablation: 2 TUM(s) of width 128.
_base_ = './m2det_vgg16_320_tum8_w128.py'
num_levels = 2

model = dict(
    neck=dict(num_levels=num_levels),
    bbox_head=dict(
        in_channels=(_base_.planes * num_levels, ) * _base_.num_scales))
