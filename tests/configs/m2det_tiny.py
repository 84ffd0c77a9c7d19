# The demo model at toy widths, for tests that run real training on a few
# images in seconds.
_base_ = ['../../configs/m2det_demo.py']
base_channels = 8
planes = 16
num_levels = 2
num_scales = 5  # as the demo config

model = dict(
    backbone=dict(base_channels=base_channels),
    neck=dict(
        in_channels=(base_channels * 2, base_channels * 8),
        ffm_channels=(8, 16),
        planes=planes,
        num_levels=num_levels),
    bbox_head=dict(in_channels=(planes * num_levels, ) * num_scales))

loader = dict(batch_size=4, num_workers=0, persistent_workers=False)
train_dataloader = loader
val_dataloader = loader
test_dataloader = loader

train_cfg = dict(max_epochs=6, val_interval=6)
optim_wrapper = dict(optimizer=dict(lr=2e-3))
param_scheduler = []
default_hooks = dict(
    logger=dict(interval=1), checkpoint=dict(interval=2, max_keep_ckpts=-1))
log_processor = dict(window_size=1)
