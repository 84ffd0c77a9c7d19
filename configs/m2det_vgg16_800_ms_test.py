# M2Det VGG16 at 800 with the paper's multi-scale test (44.2 AP on COCO
# test-dev against 41.0 single-scale). Neither the paper nor the official
# code gives the scales; these are 0.8 to 1.6 times the input in steps of
# 0.2, each also flipped, leaning upwards because the paper's gain is mostly
# on small objects (AP_S 22.1 -> 29.2, AP_L 53.8 -> 55.1). Run with
#   python tools/test.py configs/m2det_vgg16_800_ms_test.py CKPT --tta
_base_ = './m2det_vgg16_800.py'

tta_sizes = (640, 800, 960, 1120, 1280)
tta_pipeline = [
    dict(t, transforms=[[
        dict(type='Resize', scale=(s, s), keep_ratio=False) for s in tta_sizes
    ]] + t.transforms[1:]) if t.type == 'TestTimeAug' else t
    for t in _base_.tta_pipeline
]
