"""The two custom-data configs of ``docs/custom_data.md``, run as written on
the demo data converted to COCO json (as it is) and to Pascal VOC xml."""
import json
import re
import shutil
import xml.etree.ElementTree as ET

import pytest

from conftest import REPO, read_scalars, run_tool
from projects.m2det.datasets import DEMO_CLASSES

CUSTOM_DATA_DOC = REPO / 'docs' / 'custom_data.md'


def doc_configs():
    """The config blocks of ``docs/custom_data.md`` that start from the demo
    config."""
    blocks = re.findall(r'```python\n(.*?)```', CUSTOM_DATA_DOC.read_text(),
                        re.S)
    return [b for b in blocks if b.startswith("_base_ = './m2det_demo.py'")]


def to_voc(coco_root, voc_root):
    """Write the demo data in the Pascal VOC layout: one xml per image."""
    (voc_root / 'ImageSets' / 'Main').mkdir(parents=True)
    for sub in ('Annotations', 'JPEGImages'):
        (voc_root / sub).mkdir()
    for split in ('train', 'val'):
        data = json.loads(
            (coco_root / 'annotations' / f'{split}.json').read_text())
        names = {c['id']: c['name'] for c in data['categories']}
        ids = []
        for img in data['images']:
            image_id = f"{split}_{img['file_name'].rsplit('.', 1)[0]}"
            ids.append(image_id)
            shutil.copy(coco_root / split / img['file_name'],
                        voc_root / 'JPEGImages' / f'{image_id}.jpg')
            root = ET.Element('annotation')
            size = ET.SubElement(root, 'size')
            for key in ('width', 'height'):
                ET.SubElement(size, key).text = str(img[key])
            ET.SubElement(size, 'depth').text = '3'
            for ann in data['annotations']:
                if ann['image_id'] != img['id']:
                    continue
                obj = ET.SubElement(root, 'object')
                ET.SubElement(obj, 'name').text = names[ann['category_id']]
                ET.SubElement(obj, 'difficult').text = '0'
                box = ET.SubElement(obj, 'bndbox')
                x, y, w, h = ann['bbox']
                for key, value in zip(('xmin', 'ymin', 'xmax', 'ymax'),
                                      (x, y, x + w, y + h)):
                    ET.SubElement(box, key).text = str(round(value))
            ET.ElementTree(root).write(
                voc_root / 'Annotations' / f'{image_id}.xml')
        (voc_root / 'ImageSets' / 'Main' / f'{split}.txt').write_text(
            '\n'.join(ids) + '\n')


def test_custom_data_doc_has_both_configs():
    blocks = doc_configs()
    assert len(blocks) == 2
    assert "type='XMLDataset'" in blocks[1]
    # the README points to the page instead of holding a second copy
    assert not any(block in (REPO / 'README.md').read_text()
                   for block in blocks)


@pytest.mark.parametrize('fmt, metric', [('coco', 'coco/bbox_mAP'),
                                         ('voc', 'pascal_voc/mAP')])
def test_custom_data_config_trains_and_evaluates(fmt, metric, demo_root,
                                                 tmp_path):
    root = demo_root
    if fmt == 'voc':
        root = tmp_path / 'voc'
        to_voc(demo_root, root)
    block = doc_configs()[fmt == 'voc']
    block = block.replace("'./m2det_demo.py'",
                          repr(str(REPO / 'configs' / 'm2det_demo.py')))
    block = block.replace("'/data/mine/'", repr(f'{root}/'))
    block = block.replace("('cat', 'dog')", repr(DEMO_CLASSES))
    config = tmp_path / f'my_{fmt}.py'
    config.write_text(block)
    loader = dict(batch_size=4, num_workers=0, persistent_workers=False)
    options = [f'{split}_dataloader.{k}={v}' for split in ('train', 'val')
               for k, v in loader.items()]
    run_tool('tools/train.py', config, '--work-dir', tmp_path / 'work',
             '--cfg-options', 'train_cfg.max_epochs=1',
             'default_hooks.logger.interval=1',
             'train_cfg.val_interval=1', *options)
    scalars = read_scalars(tmp_path / 'work')
    # 8 training images, 4 a batch
    assert [s['iter'] for s in scalars if 'loss' in s] == [1, 2]
    assert any(metric in s for s in scalars), scalars[-1]
    # and tools/test.py scores the checkpoint with the same metric
    proc = run_tool('tools/test.py', config, tmp_path / 'work' / 'epoch_1.pth',
                    '--work-dir', tmp_path / 'test', '--cfg-options',
                    *[o for o in options if o.startswith('val_')])
    assert metric in proc.stdout
