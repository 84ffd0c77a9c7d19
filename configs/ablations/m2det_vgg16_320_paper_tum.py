# Ablation: the paper's TUM decoder (3x3 convs on the top-down path, bilinear
# upsampling) instead of the official code's.
_base_ = '../m2det_vgg16_320.py'
model = dict(neck=dict(tum_decoder='paper'))
