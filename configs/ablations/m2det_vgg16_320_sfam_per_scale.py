# Ablation: SFAM on, one SE block per scale as the paper describes it.
_base_ = '../m2det_vgg16_320.py'
model = dict(neck=dict(sfam='per_scale'))
