"""tools/test.py on a trained tiny model: drawn detections, a results json
for COCO test-dev, and crowd boxes handled as the official code does."""
import json

import pytest
from mmdet.registry import DATASETS
from mmdet.utils import register_all_modules
from mmengine.config import Config

from conftest import REPO, TINY_CONFIG, run_tool

register_all_modules()


@pytest.fixture(scope='module')
def checkpoint(tmp_path_factory, demo_root):
    work_dir = tmp_path_factory.mktemp('eval_train')
    run_tool('tools/train.py', TINY_CONFIG, '--work-dir', work_dir,
             '--cfg-options', f'data_root={demo_root}',
             'train_cfg.max_epochs=2', 'train_cfg.val_interval=100')
    return work_dir / 'epoch_2.pth'


def test_show_dir_draws_every_test_image(checkpoint, demo_root, tmp_path):
    run_tool('tools/test.py', TINY_CONFIG, checkpoint, '--work-dir',
             tmp_path, '--show-dir', 'drawn', '--cfg-options',
             f'data_root={demo_root}')
    drawn = sorted(p.name for p in tmp_path.glob('*/drawn/*.jpg'))
    assert drawn == sorted(p.name for p in (demo_root / 'val').glob('*.jpg'))


def test_format_only_writes_a_test_dev_results_json(checkpoint, demo_root,
                                                    tmp_path):
    # an image-info file as COCO test-dev ships it: no annotations
    val = json.loads((demo_root / 'annotations' / 'val.json').read_text())
    info = tmp_path / 'image_info_test.json'
    info.write_text(json.dumps(dict(images=val['images'],
                                    categories=val['categories'])))
    prefix = tmp_path / 'results'
    proc = run_tool(
        'tools/test.py', TINY_CONFIG, checkpoint, '--work-dir',
        tmp_path / 'work', '--cfg-options', f'data_root={demo_root}',
        f'test_dataloader.dataset.ann_file={info}',
        f'test_evaluator.ann_file={info}', 'test_evaluator.format_only=True',
        f'test_evaluator.outfile_prefix={prefix}',
        'model.test_cfg.score_thr=0.0')
    assert 'bbox_mAP' not in proc.stdout  # nothing to score against
    results = json.loads((tmp_path / 'results.bbox.json').read_text())
    assert results, 'no detections written'
    image_ids = {img['id'] for img in val['images']}
    category_ids = {c['id'] for c in val['categories']}
    for r in results:
        assert set(r) == {'image_id', 'bbox', 'score', 'category_id'}
        assert r['image_id'] in image_ids
        assert r['category_id'] in category_ids
        assert len(r['bbox']) == 4 and r['bbox'][2] >= 0


@pytest.mark.parametrize('crowd_as_boxes, flag', [(True, 0), (False, 1)])
def test_crowd_boxes(demo_root, tmp_path, crowd_as_boxes, flag):
    data = json.loads((demo_root / 'annotations' / 'train.json').read_text())
    data['annotations'][0]['iscrowd'] = 1
    ann = tmp_path / 'crowd.json'
    ann.write_text(json.dumps(data))
    cfg = Config.fromfile(TINY_CONFIG).train_dataloader.dataset
    cfg.update(data_root=f'{demo_root}/', ann_file=str(ann),
               crowd_as_boxes=crowd_as_boxes)
    dataset = DATASETS.build(cfg)
    image_id = data['annotations'][0]['image_id']
    info = next(dataset.get_data_info(i) for i in range(len(dataset))
                if dataset.get_data_info(i)['img_id'] == image_id)
    flags = [inst['ignore_flag'] for inst in info['instances']]
    assert flags[0] == flag and set(flags[1:]) <= {0}


def test_coco_configs_train_on_crowd_boxes_as_the_official_code():
    cfg = Config.fromfile(REPO / 'configs' / 'm2det_vgg16_320.py')
    assert cfg.train_dataloader.dataset.crowd_as_boxes is True
