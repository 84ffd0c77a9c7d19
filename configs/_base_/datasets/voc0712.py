# Pascal VOC 07+12 trainval for training, VOC2007 test for evaluation (11-point
# mAP, as the official code's VOC evaluation), from data/VOCdevkit/. The
# pipelines and loaders are the COCO ones; only the files and the metric differ.
_base_ = './coco_detection.py'
dataset_type = 'VOCDataset'
data_root = 'data/VOCdevkit/'


def _voc(year, split, **kwargs):
    return dict(
        type=dataset_type,
        data_root=data_root,
        ann_file=f'VOC{year}/ImageSets/Main/{split}.txt',
        data_prefix=dict(sub_data_root=f'VOC{year}/'),
        **kwargs)


train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='ConcatDataset',
        # each VOCDataset sets its own `dataset_type` in its metainfo
        ignore_keys=['dataset_type'],
        datasets=[
            _voc(year, 'trainval',
                 filter_cfg=dict(filter_empty_gt=False),
                 pipeline=_base_.train_pipeline) for year in (2007, 2012)
        ]))
val_dataloader = dict(
    dataset=dict(
        _delete_=True,
        **_voc(2007, 'test', test_mode=True, pipeline=_base_.test_pipeline)))
test_dataloader = val_dataloader

val_evaluator = dict(_delete_=True, type='VOCMetric', metric='mAP',
                     eval_mode='11points')
test_evaluator = val_evaluator
