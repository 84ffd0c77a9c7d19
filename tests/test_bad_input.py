"""Bad input stops with a message naming the file or key and what was
expected."""
import json
import shutil

import pytest
from mmdet.registry import DATASETS, MODELS
from mmdet.utils import register_all_modules
from mmengine.config import Config

from conftest import REPO, TINY_CONFIG, run_tool

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


def test_corrupt_image_names_the_file(demo_copy):
    image = sorted((demo_copy / 'train').glob('*.jpg'))[0]
    image.write_bytes(b'this is not a jpeg')
    dataset = DATASETS.build(dataset_cfg(demo_copy))
    index = [i for i in range(len(dataset))
             if dataset.get_data_info(i)['img_path'] == str(image)][0]
    with pytest.raises(Exception, match=f'failed to load image: {image}'):
        dataset[index]


@pytest.mark.parametrize('content, message', [
    ('{"images": [', 'is not valid JSON'),
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
