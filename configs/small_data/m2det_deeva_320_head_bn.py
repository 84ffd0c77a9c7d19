# m2det_deeva_320_ssd_aug.py with a conv-BN-ReLU before each head output
# (BN in the head, as from-scratch detectors such as ScratchDet have)
_base_ = './m2det_deeva_320_ssd_aug.py'
model = dict(
    bbox_head=dict(stacked_convs=1, feat_channels=64,
                   norm_cfg=dict(type='BN', momentum=0.1),
                   act_cfg=dict(type='ReLU')))
