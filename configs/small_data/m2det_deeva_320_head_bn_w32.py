# m2det_deeva_320_head_bn.py with the ResNet-18 at half width (base 32)
_base_ = './m2det_deeva_320_head_bn.py'
base_channels = 32
model = dict(
    backbone=dict(base_channels=base_channels),
    neck=dict(in_channels=(base_channels * 2, base_channels * 8)))
