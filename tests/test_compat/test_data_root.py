"""``--cfg-options data_root=PATH`` moves every dataset of a config."""
import pytest
from mmengine.config import Config

import projects.m2det  # noqa: F401  (extends Config.merge_from_dict)
from conftest import REPO, TINY_CONFIG, read_scalars, run_tool


def roots(cfg):
    """Every dataset's data_root and evaluator ann_file of a config."""
    found = []
    for split in ('train', 'val', 'test'):
        dataset = cfg[f'{split}_dataloader'].dataset
        for d in dataset.get('datasets', [dataset]):
            found.append(d.data_root)
        ann_file = cfg.get(f'{split}_evaluator', {}).get('ann_file')
        if ann_file:
            found.append(ann_file)
    return found


@pytest.mark.parametrize('config, count', [
    ('m2det_vgg16_320.py', 5),  # 3 datasets, 2 evaluator annotation files
    ('m2det_vgg16_512_voc0712.py', 4),  # VOC2007 + VOC2012, val, test
    ('m2det_demo.py', 5),
])
def test_every_dataset_and_evaluator_follows(config, count):
    cfg = Config.fromfile(REPO / 'configs' / config)
    old = cfg.data_root
    assert all(r.startswith(old) for r in roots(cfg))
    cfg.merge_from_dict({'data_root': '/srv/data'})  # no trailing slash
    moved = roots(cfg)
    assert len(moved) == count
    assert all(r.startswith('/srv/data/') for r in moved), moved
    assert not any('//' in r for r in moved)
    assert cfg.data_root == '/srv/data/'


def test_explicit_dataloader_options_win_and_other_roots_stay():
    cfg = Config.fromfile(REPO / 'configs' / 'm2det_vgg16_320.py')
    cfg.val_dataloader.dataset.data_root = '/elsewhere/'
    cfg.merge_from_dict({
        'data_root': '/srv/coco/',
        'train_dataloader.dataset.data_root': '/fast/coco/'
    })
    assert cfg.train_dataloader.dataset.data_root == '/fast/coco/'
    assert cfg.val_dataloader.dataset.data_root == '/elsewhere/'
    assert cfg.test_dataloader.dataset.data_root == '/srv/coco/'
    assert cfg.val_evaluator.ann_file == \
        '/srv/coco/annotations/instances_val2017.json'


def test_other_options_leave_the_roots_alone():
    cfg = Config.fromfile(REPO / 'configs' / 'm2det_vgg16_320.py')
    before = roots(cfg)
    cfg.merge_from_dict({'train_dataloader.batch_size': 4})
    assert roots(cfg) == before


def test_training_run_reads_the_data_root_option(demo_root, tmp_path):
    run_tool('tools/train.py', TINY_CONFIG, '--work-dir', tmp_path,
             '--cfg-options', f'data_root={demo_root}',
             'train_cfg.max_epochs=1', 'train_cfg.val_interval=1')
    # 8 images / batch 4: 2 iterations, then a COCO evaluation on val
    scalars = read_scalars(tmp_path)
    assert [s['iter'] for s in scalars if 'loss' in s] == [1, 2]
    assert any('coco/bbox_mAP' in s for s in scalars)
