# Fitted to data/scellseg_cells/annotations/train.json by
# tools/misc/dataset_stats.py: 28 training images, 2984 boxes, box sides at
# the input 12-73 px (5th-95th percentile); the priors match 90% of the boxes
# at IoU 0.5.
_base_ = '../m2det_demo.py'
data_root = 'data/scellseg_cells/'
classes = ('cell',)
input_size = 512
img_scale = (input_size, input_size)

model = dict(
    bbox_head=dict(
        num_classes=len(classes),
        anchor_generator=dict(
            input_size=input_size,
            strides=(8, 16, 32, 64, 85),
            size_ratios=(0.037, 0.075, 0.153, 0.311, 0.71, 0.88))),
    # crowded images: up to 500 detections an image
    test_cfg=dict(max_per_img=500))

train_pipeline = [
    dict(t, scale=img_scale) if 'scale' in t else t
    for t in _base_.train_pipeline
]
test_pipeline = [
    dict(t, scale=img_scale) if 'scale' in t else t
    for t in _base_.test_pipeline
]
# the training images 108 times per epoch
train_dataloader = dict(dataset=dict(
    _delete_=True, type='RepeatDataset', times=108,
    dataset=dict(
        _base_.train_dataloader.dataset, data_root=data_root,
        metainfo=dict(classes=classes), ann_file='annotations/train.json',
        data_prefix=dict(img='train/'), pipeline=train_pipeline)))
val_dataloader = dict(dataset=dict(
    data_root=data_root, metainfo=dict(classes=classes),
    ann_file='annotations/val.json', data_prefix=dict(img='val/'),
    pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'annotations/val.json')
test_evaluator = val_evaluator
