# A small M2Det that trains from scratch on the bundled demo data in about
# 15 minutes on 2 CPU cores: ResNet-18 at a quarter of its width (layer3 at
# stride 1 as in M2Det's ResNet), 4 TUMs of width 64, the official 320 priors.
_base_ = [
    '_base_/models/m2det_vgg16.py', '_base_/datasets/demo_detection.py',
    '_base_/default_runtime.py'
]
base_channels = 16
planes = 64
num_levels = 4
num_scales = 6
max_epochs = 36

model = dict(
    backbone=dict(
        _delete_=True,
        type='ResNet',
        depth=18,
        base_channels=base_channels,
        strides=(1, 2, 1, 2),
        out_indices=(1, 3),
        norm_eval=False,
        init_cfg=None),
    neck=dict(
        in_channels=(base_channels * 2, base_channels * 8),
        ffm_channels=(32, 64),
        planes=planes,
        num_levels=num_levels),
    bbox_head=dict(
        num_classes=5,  # the demo classes; NumClassCheckHook checks it
        in_channels=(planes * num_levels, ) * num_scales))

train_cfg = dict(
    type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=12)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

# Adam converges from scratch within the demo budget where SGD does not.
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=2e-3, weight_decay=0.05))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=100),
    dict(
        type='CosineAnnealingLR',
        by_epoch=True,
        begin=0,
        end=max_epochs,
        eta_min=2e-5,
        convert_to_iter_based=True)
]

default_hooks = dict(
    logger=dict(interval=10),
    checkpoint=dict(interval=12, max_keep_ckpts=1, save_last=True))
log_processor = dict(window_size=10)
randomness = dict(seed=0)
