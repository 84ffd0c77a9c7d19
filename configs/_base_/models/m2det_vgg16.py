# M2Det with a VGG16 backbone, as the official code builds it (320 input).
input_size = 320
planes = 256  # TUM width
num_levels = 8  # TUMs
num_scales = 6

model = dict(
    type='SingleStageDetector',
    # official preprocessing: BGR minus the ImageNet mean, no std division
    data_preprocessor=dict(
        type='DetDataPreprocessor',
        mean=[104, 117, 123],
        std=[1, 1, 1],
        bgr_to_rgb=False,
        pad_size_divisor=1),
    backbone=dict(
        type='SSDVGG',
        depth=16,
        with_last_pool=False,
        ceil_mode=True,
        # ReLU after conv4_3 (stride 8) and after fc7 (stride 16)
        out_feature_indices=(22, 34),
        # SSD's reduced-fc VGG16 ImageNet weights (caffe, BGR, mean-only),
        # converted by tools/model_converters/vgg16_reducedfc_to_mmdet.py
        init_cfg=dict(
            type='Pretrained',
            checkpoint='checkpoints/vgg16_reducedfc_mmdet.pth')),
    neck=dict(
        type='MLFPN',
        in_channels=(512, 1024),
        planes=planes,
        num_levels=num_levels,
        num_scales=num_scales),
    bbox_head=dict(
        type='M2DetHead',  # SSDHead with a per-class cap at test time
        num_classes=80,
        in_channels=(planes * num_levels, ) * num_scales,
        stacked_convs=0,
        anchor_generator=dict(
            type='M2DetAnchorGenerator',
            input_size=input_size,
            strides=(8, 16, 32, 64, 107, 320),
            size_ratios=(0.08, 0.15, 0.33, 0.51, 0.69, 0.87, 1.05)),
        bbox_coder=dict(
            type='DeltaXYWHBBoxCoder',
            target_means=[.0, .0, .0, .0],
            target_stds=[0.1, 0.1, 0.2, 0.2]),
        # official: PyTorch's default conv init with zero bias
        init_cfg=dict(
            type='Kaiming',
            layer='Conv2d',
            a=5**0.5,
            mode='fan_in',
            nonlinearity='leaky_relu',
            distribution='uniform',
            bias=0)),
    # SSD MultiBox matching and hard negative mining, as the official code
    train_cfg=dict(
        assigner=dict(
            type='MaxIoUAssigner',
            pos_iou_thr=0.5,
            neg_iou_thr=0.5,
            min_pos_iou=0.,
            ignore_iof_thr=-1,
            gt_max_assign_all=False),
        sampler=dict(type='PseudoSampler'),
        smoothl1_beta=1.,
        allowed_border=-1,
        pos_weight=-1,
        neg_pos_ratio=3,
        debug=False),
    # The official test recipe (utils/core.py nms_process): per class, boxes
    # scoring > 0.1, linear soft-NMS (the configured 0.45 lands in its
    # sigma, so the IoU threshold is the default 0.3; offset 1 for the
    # official +1 box areas), rescored boxes under 0.001 dropped, the 50 best
    # kept. The official code has no per-image cap; COCO scores the best 100.
    test_cfg=dict(
        nms_pre=-1,
        score_thr=0.1,
        nms=dict(
            type='soft_nms',
            method='linear',
            iou_threshold=0.3,
            min_score=0.001,
            offset=1),
        max_per_class=50,
        min_bbox_size=0,
        max_per_img=100))

# Multi-scale and flip test (tools/test.py CONFIG CKPT --tta): square resizes
# to 0.8, 1 and 1.2 times the input size (multiples of 8), each also flipped.
# Each view gets the test recipe above; DetTTAModel merges the views' boxes
# by NMS per class. The priors follow the feature map sizes, so any size
# works with the trained prior sizes. A config with another input size sets
# its tta_sizes and rebuilds tta_pipeline (see m2det_demo.py).
tta_sizes = (256, 320, 384)
tta_model = dict(
    type='DetTTAModel',
    tta_cfg=dict(nms=dict(type='nms', iou_threshold=0.5), max_per_img=100))
tta_pipeline = [
    dict(type='LoadImageFromFile', backend_args=None),
    dict(
        type='TestTimeAug',
        transforms=[
            [
                dict(type='Resize', scale=(s, s), keep_ratio=False)
                for s in tta_sizes
            ],
            [dict(type='RandomFlip', prob=1.),
             dict(type='RandomFlip', prob=0.)],
            [dict(type='LoadAnnotations', with_bbox=True)],
            [
                dict(
                    type='PackDetInputs',
                    meta_keys=('img_id', 'img_path', 'ori_shape',
                               'img_shape', 'scale_factor', 'flip',
                               'flip_direction'))
            ],
        ])
]
