"""Bad input stops with a message naming the file or key and what was
expected."""
import json
import logging
import shutil

import pytest
from mmdet.registry import DATASETS, MODELS
from mmdet.utils import register_all_modules
from mmengine.config import Config
from mmengine.logging import MMLogger

from conftest import REPO, TINY_CONFIG, read_scalars, run_tool
from projects.m2det.datasets import DEMO_CLASSES

register_all_modules()


def dataset_cfg(root, ann_file='annotations/train.json', **kwargs):
    cfg = Config.fromfile(TINY_CONFIG).train_dataloader.dataset
    cfg.update(data_root=f'{root}/', ann_file=ann_file, **kwargs)
    return cfg


@pytest.fixture
def demo_copy(demo_root, tmp_path):
    root = tmp_path / 'demo'
    shutil.copytree(demo_root, root)
    return root


def test_missing_data_root_stops_training_with_the_path(tmp_path):
    missing = tmp_path / 'no_such_dir'
    proc = run_tool('tools/train.py', TINY_CONFIG, '--work-dir',
                    tmp_path / 'work', '--cfg-options',
                    f'data_root={missing}/',
                    check=False)
    assert proc.returncode != 0
    assert (f"annotation file '{missing}/annotations/train.json' not found "
            f"(data_root '{missing}/' does not exist)") in proc.stderr
    assert 'expected a COCO json' in proc.stderr


def test_missing_image_folder_is_named(demo_copy):
    shutil.rmtree(demo_copy / 'train')
    with pytest.raises(FileNotFoundError,
                       match=f"image folder '{demo_copy}/train/' not found"):
        DATASETS.build(dataset_cfg(demo_copy))


def corrupt_first_image(root):
    image = sorted((root / 'train').glob('*.jpg'))[0]
    image.write_bytes(b'this is not a jpeg')
    return image


def test_corrupt_image_is_skipped_in_training_with_a_warning(demo_copy,
                                                              tmp_path):
    image = corrupt_first_image(demo_copy)
    proc = run_tool('tools/train.py', TINY_CONFIG, '--work-dir', tmp_path,
                    '--cfg-options', f'data_root={demo_copy}',
                    'train_cfg.max_epochs=1', 'train_cfg.val_interval=1')
    assert f"skipped image '{image}': it failed to load" in proc.stdout
    # both iterations of the epoch ran, on other images
    assert [s['iter'] for s in read_scalars(tmp_path) if 'loss' in s] == [1, 2]


def test_corrupt_image_stops_a_test_run_with_its_name(demo_copy):
    image = corrupt_first_image(demo_copy)
    dataset = DATASETS.build(dataset_cfg(demo_copy, test_mode=True))
    index = [i for i in range(len(dataset))
             if dataset.get_data_info(i)['img_path'] == str(image)][0]
    with pytest.raises(AssertionError, match=f'failed to load image: {image}'):
        dataset[index]


def test_missing_images_are_counted_before_training(demo_copy):
    images = sorted((demo_copy / 'train').glob('*.jpg'))
    images[0].unlink()
    images[3].unlink()
    with pytest.raises(FileNotFoundError,
                       match=r'2 of the 8 images of .*train.json. are missing'):
        DATASETS.build(dataset_cfg(demo_copy))


def test_boxes_mmdet_drops_are_reported(demo_copy):
    ann = demo_copy / 'annotations' / 'train.json'
    data = json.loads(ann.read_text())
    width = data['images'][0]['width']
    data['annotations'][0]['bbox'] = [width + 5, 3, 10, 10]  # outside
    data['annotations'][1]['bbox'] = [3, 3, 0.5, 10]  # under 1 px wide
    ann.write_text(json.dumps(data))
    records = []
    handler = logging.Handler(logging.WARNING)
    handler.emit = records.append
    logger = MMLogger.get_current_instance()
    logger.addHandler(handler)
    try:
        dataset = DATASETS.build(dataset_cfg(demo_copy))
    finally:
        logger.removeHandler(handler)
    assert len(dataset) == 8
    assert any('skipped 1 boxes outside their image and 1 under 1 px' in
               r.getMessage() for r in records)


def test_wrong_class_count_stops_before_the_first_iteration(tmp_path,
                                                            demo_root):
    proc = run_tool('tools/train.py', TINY_CONFIG, '--work-dir', tmp_path,
                    '--cfg-options', f'data_root={demo_root}',
                    'model.bbox_head.num_classes=3', check=False)
    assert proc.returncode != 0
    assert 'The `num_classes` (3) in ' in proc.stderr
    assert 'does not matches the length of `classes` 5' in proc.stderr
    assert 'Epoch(train)' not in proc.stdout  # no iteration ran


@pytest.mark.parametrize('content, message', [
    ('', 'is not valid JSON'),
    ('{"images": [', 'is not valid JSON'),
    ('{"images": [], "annotations": [], "categories": %s}' % json.dumps(
        [dict(id=i, name=n) for i, n in enumerate(DEMO_CLASSES)]),
     'lists no images'),
    ('[1, 2, 3]', 'holds a list; expected a COCO json object'),
    ('{"images": [], "annotations": []}', "has no 'categories' list"),
    (json.dumps(dict(images=[dict(id=1, file_name='a.jpg')],
                     annotations=[], categories=[])),
     r"images\[0\] lacks \['width', 'height'\]"),
    (json.dumps(dict(images=[], categories=[], annotations=[
        dict(id=1, image_id=1, category_id=1, bbox=[1, 2, 3])])),
     r'annotations\[0\].bbox is \[1, 2, 3\]; expected \[x, y, width, height\]'),
])
def test_annotation_file_that_is_not_coco(demo_copy, content, message):
    ann = demo_copy / 'annotations' / 'train.json'
    ann.write_text(content)
    with pytest.raises(ValueError, match=f"'{ann}'.*{message}"):
        DATASETS.build(dataset_cfg(demo_copy))


def test_classes_missing_from_the_annotation_file(demo_copy):
    cfg = dataset_cfg(demo_copy, metainfo=dict(classes=('ellipse', 'dog')))
    with pytest.raises(ValueError, match=r"no categories named \['dog'\]"):
        DATASETS.build(cfg)


def test_unknown_module_names_the_type_and_the_registry():
    cfg = Config.fromfile(REPO / 'configs' / 'm2det_vgg16_320.py')
    cfg.model.neck.type = 'NoSuchNeck'
    with pytest.raises(KeyError,
                       match='NoSuchNeck is not in the mmdet::model registry'):
        MODELS.build(cfg.model)
