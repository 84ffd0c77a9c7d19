# mmdet's SSDLite-MobileNetV2 from-scratch recipe on the deeva person split,
# its priors' min sizes fitted to the boxes as M2Det's (dataset_stats.py's
# fit at 320 over 6 levels); mmdet's model, augmentation, SGD lr 0.015 and
# cosine schedule, compressed to the CPU budget: batch 8, 24 epochs of the
# repeated set, warm-up 100 steps
_base_ = 'mmdet::ssd/ssdlite_mobilenetv2-scratch_8xb24-600e_coco.py'
data_root = 'data/deeva_person/'
classes = ('person', )
min_sizes = [25, 58, 108, 202, 253, 304]
model = dict(
    bbox_head=dict(
        num_classes=1,
        anchor_generator=dict(min_sizes=min_sizes,
                              max_sizes=min_sizes[1:] + [320])))
train_dataloader = dict(
    batch_size=8, num_workers=1, persistent_workers=True,
    dataset=dict(
        times=3,
        dataset=dict(
            data_root=data_root, metainfo=dict(classes=classes),
            ann_file='annotations/train.json', data_prefix=dict(img='train/'),
            filter_cfg=dict(filter_empty_gt=False))))
val_dataloader = dict(
    batch_size=16, num_workers=1,
    dataset=dict(
        data_root=data_root, metainfo=dict(classes=classes),
        ann_file='annotations/val.json', data_prefix=dict(img='val/')))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'annotations/val.json')
test_evaluator = val_evaluator
default_hooks = dict(logger=dict(interval=50),
                     checkpoint=dict(interval=1000, max_keep_ckpts=1,
                                     save_last=True))
# the project's mmdet fixes (SSDHead.predict without loss_cls, ...)
custom_imports = dict(
    imports=['projects.m2det.compat.apply_all'], allow_failed_imports=False)
max_epochs = 24
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0,
         end=100),
    dict(type='CosineAnnealingLR', begin=0, T_max=max_epochs,
         end=max_epochs, by_epoch=True, eta_min=0)
]
