# COCO 2017 detection at M2Det's square input, from data/coco/ (annotations/,
# train2017/, val2017/). Elsewhere, set {train,val,test}_dataloader.dataset.
# data_root and {val,test}_evaluator.ann_file (--cfg-options or a child config).
dataset_type = 'CheckedCocoDataset'
data_root = 'data/coco/'
img_scale = (320, 320)  # the square network input; the model sets its priors for it
backend_args = None

# the official augmentation (data_augment.py), in its order and with its
# values; projects/m2det/datasets/transforms/transforms.py says where each differs from mmdet's
train_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(
        type='M2DetRandomCrop',
        min_ious=(0.1, 0.3, 0.5, 0.7, 0.9),
        min_crop_size=0.3),
    dict(
        type='M2DetPhotoMetricDistortion',
        brightness_delta=32,
        contrast_range=(0.5, 1.5),
        saturation_range=(0.5, 1.5),
        hue_delta=18),
    dict(
        type='M2DetExpand',
        mean=[104, 117, 123],
        ratio_range=(1, 4),
        prob=0.6),
    dict(type='RandomFlip', prob=0.5),
    dict(type='FilterSmallBoxes', min_size=0.01),
    dict(type='RandomInterpResize', scale=img_scale, keep_ratio=False),
    dict(type='PackDetInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='Resize', scale=img_scale, keep_ratio=False),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                   'scale_factor'))
]
train_dataloader = dict(
    batch_size=16,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='annotations/instances_train2017.json',
        data_prefix=dict(img='train2017/'),
        # the official code keeps images without boxes and trains on crowd
        # boxes as on any other
        filter_cfg=dict(filter_empty_gt=False),
        crowd_as_boxes=True,
        pipeline=train_pipeline,
        backend_args=backend_args))
val_dataloader = dict(
    batch_size=8,
    num_workers=2,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='annotations/instances_val2017.json',
        data_prefix=dict(img='val2017/'),
        test_mode=True,
        pipeline=test_pipeline,
        backend_args=backend_args))
test_dataloader = val_dataloader

val_evaluator = dict(
    type='CocoMetric',
    ann_file=data_root + 'annotations/instances_val2017.json',
    metric='bbox',
    format_only=False,
    backend_args=backend_args)
test_evaluator = val_evaluator
