"""tools/dataset_converters/deeva_toy_to_coco.py: deeva's VOC boxes as a
COCO split by image id, on a hand-made folder and on the pinned wheel."""
import importlib.util
import json
import xml.etree.ElementTree as ET

import cv2
import numpy as np
import pytest

from conftest import REPO, run_tool
from projects.m2det.datasets import stats

TOOL = REPO / 'tools' / 'dataset_converters' / 'deeva_toy_to_coco.py'
spec = importlib.util.spec_from_file_location('deeva_toy_to_coco', TOOL)
converter = importlib.util.module_from_spec(spec)
spec.loader.exec_module(converter)


def write_voc(path, objects, size=(640, 480)):
    root = ET.Element('annotation')
    node = ET.SubElement(root, 'size')
    ET.SubElement(node, 'width').text = str(size[0])
    ET.SubElement(node, 'height').text = str(size[1])
    for name, (x1, y1, x2, y2) in objects:
        obj = ET.SubElement(root, 'object')
        ET.SubElement(obj, 'name').text = name
        box = ET.SubElement(obj, 'bndbox')
        for key, value in zip(('xmin', 'ymin', 'xmax', 'ymax'),
                              (x1, y1, x2, y2)):
            ET.SubElement(box, key).text = str(value)
    ET.ElementTree(root).write(path)


@pytest.fixture
def toy_data(tmp_path):
    """Four id-named images with xml, one without, two malformed samples."""
    root = tmp_path / 'toy_data'
    (root / 'images').mkdir(parents=True)
    (root / 'voc_labels').mkdir()
    boxes = {
        1: [('person', (10, 20, 110, 220)), ('dog', (0, 0, 50, 50))],
        5: [('cat', (5, 5, 60, 60))],  # no person: a negative
        9: [('person', (300, 100, 400, 400)), ('person', (1, 2, 3, 4))],
        12: [('person', (50, 60, 70, 90))],
    }
    for image_id, objects in boxes.items():
        stem = f'{image_id:012d}_jpg.rf.abc'
        cv2.imwrite(str(root / 'images' / f'{stem}.jpg'),
                    np.zeros((48, 64, 3), np.uint8))
        write_voc(root / 'voc_labels' / f'{stem}.xml', objects)
    cv2.imwrite(str(root / 'images' / f'{20:012d}_jpg.rf.x.jpg'),
                np.zeros((8, 8, 3), np.uint8))  # no xml: unlabelled
    write_voc(root / 'voc_labels' / 'wrong_format_4.xml', [])
    (root / 'images' / 'wrong_format_1.jpg').write_bytes(b'')
    return root


def test_split_by_image_id_with_negatives(toy_data, tmp_path):
    out = tmp_path / 'coco'
    counts = converter.convert(str(toy_data), str(out), ['person'], 2)
    assert counts == dict(train_images=2, train_boxes=3, val_images=2,
                          val_boxes=1)
    train = json.loads((out / 'annotations' / 'train.json').read_text())
    val = json.loads((out / 'annotations' / 'val.json').read_text())
    # ids sorted 1, 5, 9, 12: every second to val
    assert [i['id'] for i in train['images']] == [1, 9]
    assert [i['id'] for i in val['images']] == [5, 12]
    assert train['categories'] == [dict(id=1, name='person')]
    # x, y, w, h; other classes left out
    assert [a['bbox'] for a in train['annotations']] == [
        [10, 20, 100, 200], [300, 100, 100, 300], [1, 2, 2, 2]]
    assert [a['image_id'] for a in val['annotations']] == [12]
    assert val['images'][0]['width'] == 640
    assert sorted(p.name for p in (out / 'val').iterdir()) == [
        '000000000005_jpg.rf.abc.jpg', '000000000012_jpg.rf.abc.jpg'
    ]
    # what the stats tool and mmdet read
    data = stats.read_coco(str(out / 'annotations' / 'train.json'))
    assert len(data.boxes) == 3 and data.classes == ('person', )


def test_empty_box_names_the_file(toy_data, tmp_path):
    xml = next((toy_data / 'voc_labels').glob('000000000012*.xml'))
    write_voc(xml, [('person', (50, 60, 50, 90))])
    with pytest.raises(ValueError, match=f'{xml}: object person has an '
                       'empty box'):
        converter.convert(str(toy_data), str(tmp_path / 'coco'), ['person'],
                          2)


def test_pinned_wheel_gives_the_documented_split(tmp_path):
    out = tmp_path / 'deeva_person'
    proc = run_tool(TOOL, out)
    assert proc.stdout.strip() == ('train_images 91, train_boxes 182, '
                                   'val_images 30, val_boxes 61')
    train = json.loads((out / 'annotations' / 'train.json').read_text())
    val = json.loads((out / 'annotations' / 'val.json').read_text())
    train_ids = {i['id'] for i in train['images']}
    val_ids = {i['id'] for i in val['images']}
    assert not train_ids & val_ids and len(train_ids) == 91
    for split, coco in (('train', train), ('val', val)):
        for image in coco['images']:
            img = cv2.imread(str(out / split / image['file_name']))
            assert img.shape[:2] == (image['height'], image['width'])
