# The official M2Det schedule: per-iteration linear warm-up over 5 epochs from
# 1e-6 to 4e-3, then 2e-3 / 4e-4 / 4e-5 / 4e-6 from epochs 90 / 110 / 130 /
# 150, 160 epochs in all, SGD with momentum 0.9 and weight decay 5e-4.
base_lr = 4e-3
max_epochs = 160

train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=10)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=base_lr, momentum=0.9, weight_decay=5e-4))

# Schedulers compose multiplicatively, so each step states its own factor.
param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=1e-6 / base_lr,
        by_epoch=True,
        begin=0,
        end=5,
        convert_to_iter_based=True),
    dict(type='MultiStepLR', by_epoch=True, milestones=[90], gamma=0.5),
    dict(type='MultiStepLR', by_epoch=True, milestones=[110], gamma=0.2),
    dict(type='MultiStepLR', by_epoch=True, milestones=[130, 150], gamma=0.1),
]

# The official code trains with 4 GPUs x 16 images.
auto_scale_lr = dict(enable=False, base_batch_size=64)
