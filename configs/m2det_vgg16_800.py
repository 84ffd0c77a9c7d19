# M2Det VGG16 at 800: the official anchors for 800 (configs/m2det800_vgg.py:
# the size pattern starts at 0.04, 32 px), the data at 800 and the
# official 9 images per GPU.
_base_ = './m2det_vgg16_512.py'
input_size = 800
img_scale = (input_size, input_size)

model = dict(
    bbox_head=dict(
        anchor_generator=dict(
            input_size=input_size,
            strides=(8, 16, 32, 62, 115, 160),
            size_ratios=(0.04, 0.15, 0.33, 0.51, 0.69, 0.87, 1.05))))

train_pipeline = [
    dict(t, scale=img_scale) if 'scale' in t else t
    for t in _base_.train_pipeline
]
test_pipeline = [
    dict(t, scale=img_scale) if 'scale' in t else t
    for t in _base_.test_pipeline
]
train_dataloader = dict(batch_size=9, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
# the official total batch: 4 GPUs x 9 images
auto_scale_lr = dict(base_batch_size=36)

# multi-scale and flip test (--tta) at 0.8, 1 and 1.2 times the input size
tta_sizes = (640, 800, 960)
tta_pipeline = [
    dict(t, transforms=[[
        dict(type='Resize', scale=(s, s), keep_ratio=False) for s in tta_sizes
    ]] + t.transforms[1:]) if t.type == 'TestTimeAug' else t
    for t in _base_.tta_pipeline
]
