# mmdet's SSDLite-MobileNetV2 from-scratch recipe, as compressed to the CPU
# budget for the deeva split, on the scellseg cell split: its priors' min
# sizes fitted to the cells as M2Det's (dataset_stats.py's fit at 320 over
# its 6 levels, from its own sizes), its detection cap raised as the stats
# tool raises M2Det's
_base_ = './ssdlite_mobilenetv2_deeva_320.py'
data_root = 'data/scellseg_cells/'
classes = ('cell', )
min_sizes = [18, 37, 86, 202, 253, 304]
model = dict(
    bbox_head=dict(
        anchor_generator=dict(min_sizes=min_sizes,
                              max_sizes=min_sizes[1:] + [320])),
    test_cfg=dict(max_per_img=500))
train_dataloader = dict(
    dataset=dict(dataset=dict(data_root=data_root,
                              metainfo=dict(classes=classes))))
val_dataloader = dict(
    dataset=dict(data_root=data_root, metainfo=dict(classes=classes)))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'annotations/val.json')
test_evaluator = val_evaluator
