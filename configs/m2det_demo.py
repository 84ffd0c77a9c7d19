# A small M2Det that trains from scratch on the bundled demo data on 2 CPU
# cores in float32: ResNet-18 at a quarter of its width (layer3 at stride 1
# as in M2Det's ResNet), 2 TUMs of width 64, 5 scales at a 160 input, 4
# images per step. From scratch the detector needs many updates more than
# many images: at equal wall time batches of 4 reach a higher mAP than 8 or
# 16, which cost about the same per image (README, The demo).
_base_ = [
    '_base_/models/m2det_vgg16.py', '_base_/datasets/demo_detection.py',
    '_base_/default_runtime.py'
]
input_size = _base_.img_scale[0]  # the demo dataset's square input
base_channels = 16
planes = 64
num_levels = 2
num_scales = 5
max_epochs = 5

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
        num_levels=num_levels,
        num_scales=num_scales,
        # mmdet's BN momentum, not the official 0.01 tuned for 160 epochs: in
        # a short run the eval statistics then follow the weights
        norm_cfg=dict(type='BN', momentum=0.1)),
    bbox_head=dict(
        num_classes=5,  # the demo classes; NumClassCheckHook checks it
        in_channels=(planes * num_levels, ) * num_scales,
        anchor_generator=dict(
            input_size=input_size,
            # pyramid 20, 10, 5, 3, 1 at 160
            strides=(8, 16, 32, round(input_size / 3), input_size),
            size_ratios=(0.08, 0.2, 0.37, 0.54, 0.71, 0.88))),
    # priors match a box from IoU 0.35, not the official 0.5: 11.9 positives
    # per demo box instead of 2.6, more signal per image for a short run
    # from scratch (README, The demo, has the measurements)
    train_cfg=dict(assigner=dict(pos_iou_thr=0.35, neg_iou_thr=0.35)),
    # the official recipe, but scoring down to 0.02 and without the official
    # 50-per-class cap: the COCO metric scores the best 100 boxes of an
    # image, and with 5 classes the cap cuts into them (0.097 mAP, not 0.117)
    test_cfg=dict(score_thr=0.02, max_per_class=-1))

train_dataloader = dict(batch_size=4)

train_cfg = dict(
    type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=max_epochs)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

# Adam converges from scratch faster than SGD; torch's fused kernel updates
# all weights at once (the per-tensor loop took 14 % of a step). float32, so
# that every CPU computes the same; bfloat16 (--amp) is emulated, ~7x
# slower, on AVX2-only CPUs.
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=3e-3, weight_decay=0.05, fused=True))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=100),
    dict(
        type='CosineAnnealingLR',
        by_epoch=True,
        begin=0,
        end=max_epochs,
        eta_min=3e-5,
        convert_to_iter_based=True)
]

default_hooks = dict(
    logger=dict(interval=50),
    checkpoint=dict(interval=1, max_keep_ckpts=1, save_last=True))
log_processor = dict(window_size=50)
randomness = dict(seed=0)

# the model base's multi-scale and flip test (--tta) at about 0.85, 1 and 1.2
# times this input size: multiples of 8 above the smallest input that 5 TUM
# scales take (129)
tta_sizes = (136, 160, 192)
tta_pipeline = [
    dict(t, transforms=[[
        dict(type='Resize', scale=(s, s), keep_ratio=False) for s in tta_sizes
    ]] + t.transforms[1:]) if t.type == 'TestTimeAug' else t
    for t in _base_.tta_pipeline
]
