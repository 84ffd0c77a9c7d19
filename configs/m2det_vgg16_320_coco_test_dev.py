# Test M2Det VGG16-320 on COCO test-dev: writes the results json that the
# evaluation server takes (there are no annotations to score locally), e.g.
#   python tools/test.py configs/m2det_vgg16_320_coco_test_dev.py CHECKPOINT
# Any other config tests on test-dev with the same four keys.
_base_ = './m2det_vgg16_320.py'
data_root = 'data/coco/'

test_dataloader = dict(
    dataset=dict(
        data_root=data_root,
        ann_file='annotations/image_info_test-dev2017.json',
        data_prefix=dict(img='test2017/')))
test_evaluator = dict(
    ann_file=data_root + 'annotations/image_info_test-dev2017.json',
    format_only=True,
    outfile_prefix='work_dirs/m2det_vgg16_320_coco_test_dev/detections')
