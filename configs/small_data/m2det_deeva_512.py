# Fitted to data/deeva_person/annotations/train.json by
# tools/misc/dataset_stats.py: 91 training images, 182 boxes, box sides at
# the input 10-354 px (5th-95th percentile); the priors match 82% of the
# boxes at IoU 0.5.
_base_ = '../m2det_demo.py'
data_root = 'data/deeva_person/'
classes = ('person',)
input_size = 512
img_scale = (input_size, input_size)

model = dict(
    bbox_head=dict(
        num_classes=len(classes),
        anchor_generator=dict(
            input_size=input_size,
            strides=(8, 16, 32, 64, 85),
            size_ratios=(0.058, 0.117, 0.235, 0.389, 0.71, 0.88))))

train_pipeline = [
    dict(t, scale=img_scale) if 'scale' in t else t
    for t in _base_.train_pipeline
]
test_pipeline = [
    dict(t, scale=img_scale) if 'scale' in t else t
    for t in _base_.test_pipeline
]
# the training images 33 times per epoch
train_dataloader = dict(dataset=dict(
    _delete_=True, type='RepeatDataset', times=33,
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
