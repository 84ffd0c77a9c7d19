# M2Det ResNet-101 at 320, as the official ResNet config: layer3 at stride 1,
# so layer2 (512 ch) and layer4 (2048 ch) come out at strides 8 and 16; every
# stage and every BN trains; 12 images per GPU.
_base_ = './m2det_vgg16_320.py'

model = dict(
    backbone=dict(
        _delete_=True,
        type='ResNet',
        depth=101,
        strides=(1, 2, 1, 2),
        out_indices=(1, 3),
        frozen_stages=-1,
        norm_eval=False,
        # torchvision's ImageNet weights (resnet101-5d3b4d8f.pth), stored
        # locally; mmdet's ResNet has the same key names
        init_cfg=dict(
            type='Pretrained',
            checkpoint='checkpoints/resnet101-5d3b4d8f.pth')),
    neck=dict(in_channels=(512, 2048)))

train_dataloader = dict(batch_size=12)
# the official total batch: 4 GPUs x 12 images
auto_scale_lr = dict(base_batch_size=48)
