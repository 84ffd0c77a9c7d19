# Ablation: TUMs without their 1x1 smooth convs.
_base_ = '../m2det_vgg16_320.py'
model = dict(neck=dict(use_smooth=False))
