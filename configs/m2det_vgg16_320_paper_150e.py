# M2Det VGG16 at 320 with the paper's schedule instead of the official code's:
# warm-up to 2e-3 over 5 epochs, x0.1 at epochs 90 and 120, 150 epochs.
_base_ = './m2det_vgg16_320.py'
base_lr = 2e-3
max_epochs = 150

train_cfg = dict(max_epochs=max_epochs)
optim_wrapper = dict(optimizer=dict(lr=base_lr))
param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=1e-6 / base_lr,
        by_epoch=True,
        begin=0,
        end=5,
        convert_to_iter_based=True),
    dict(type='MultiStepLR', by_epoch=True, milestones=[90, 120], gamma=0.1),
]
