# M2Det ResNet-50 at 512: m2det_r101_512.py with a 50-layer ResNet.
_base_ = './m2det_r101_512.py'
model = dict(
    backbone=dict(
        depth=50,
        init_cfg=dict(checkpoint='checkpoints/resnet50-19c8e357.pth')))
