# m2det_deeva_320_ssd_aug.py with GroupNorm (8 groups) in the MLFPN
_base_ = './m2det_deeva_320_ssd_aug.py'
model = dict(neck=dict(norm_cfg=dict(_delete_=True, type='GN', num_groups=8)))
