# M2Det VGG16 at 512: the official anchors for 512 and the data at 512.
_base_ = './m2det_vgg16_320.py'
input_size = 512
img_scale = (input_size, input_size)

model = dict(
    bbox_head=dict(
        anchor_generator=dict(
            input_size=input_size,
            strides=(8, 16, 32, 64, 128, 256),
            size_ratios=(0.06, 0.15, 0.33, 0.51, 0.69, 0.87, 1.05))))

# mmengine replaces lists whole: rebuild the pipelines with the new size
train_pipeline = [
    dict(t, scale=img_scale) if 'scale' in t else t
    for t in _base_.train_pipeline
]
test_pipeline = [
    dict(t, scale=img_scale) if 'scale' in t else t
    for t in _base_.test_pipeline
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader

# multi-scale and flip test (--tta) at 0.8, 1 and 1.2 times the input size
tta_sizes = (408, 512, 616)
tta_pipeline = [
    dict(t, transforms=[[
        dict(type='Resize', scale=(s, s), keep_ratio=False) for s in tta_sizes
    ]] + t.transforms[1:]) if t.type == 'TestTimeAug' else t
    for t in _base_.tta_pipeline
]
