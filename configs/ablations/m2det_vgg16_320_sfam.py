# Ablation: SFAM on, one SE block shared by all scales as the official code
# builds it (every official config leaves it off).
_base_ = '../m2det_vgg16_320.py'
model = dict(neck=dict(sfam='shared'))
