# A starting point for your own small dataset, trained from scratch on a CPU
# (docs/custom_data.md): the demo model and optimiser at a 320 input, with
# the official zoom-in crop added to the demo's photometric distortion and
# flip. Write a child fitted to your data with
#   python tools/misc/dataset_stats.py TRAIN.json ... \
#       --base-config configs/m2det_small_data.py --out configs/mine.py
# Compared at equal wall time on real microscopy (docs/custom_data.md):
# the crop lets a few dozen images show their objects at many scales and
# positions; at 320 a step costs half one at 512.
_base_ = './m2det_demo.py'
input_size = 320
img_scale = (input_size, input_size)

model = dict(
    bbox_head=dict(
        anchor_generator=dict(
            input_size=input_size,
            # pyramid 40, 20, 10, 5, 3 at 320
            strides=(8, 16, 32, 64, round(input_size / 3)))))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='M2DetRandomCrop', min_ious=(0.1, 0.3, 0.5, 0.7, 0.9),
         min_crop_size=0.3),
    dict(type='M2DetPhotoMetricDistortion', brightness_delta=32,
         contrast_range=(0.5, 1.5), saturation_range=(0.5, 1.5),
         hue_delta=18),
    dict(type='RandomFlip', prob=0.5),
    dict(type='FilterSmallBoxes', min_size=0.01),
    dict(type='Resize', scale=img_scale, keep_ratio=False),
    dict(type='PackDetInputs')
]
test_pipeline = [
    dict(t, scale=img_scale) if 'scale' in t else t
    for t in _base_.test_pipeline
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
