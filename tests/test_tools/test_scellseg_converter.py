"""tools/dataset_converters/scellseg_cells_to_coco.py: label masks as COCO
cell boxes, split by source image, on a hand-made archive and on the pinned
package's."""
import importlib.util
import io
import json
import re
import tarfile

import cv2
import numpy as np
import pytest

from conftest import REPO, run_tool
from projects.m2det.datasets import stats

TOOL = REPO / 'tools' / 'dataset_converters' / 'scellseg_cells_to_coco.py'
spec = importlib.util.spec_from_file_location('scellseg_cells_to_coco', TOOL)
converter = importlib.util.module_from_spec(spec)
spec.loader.exec_module(converter)
DATA = 'scellseg-0.1.8/scellseg/assets/contrast_data/'


def png(array):
    return cv2.imencode('.png', array)[1].tobytes()


def write_sdist(path, files):
    with tarfile.open(path, 'w:gz') as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return str(path)


def labels(height, width, boxes):
    """A uint16 label image with one rectangle per (label, x1, y1, x2, y2)."""
    mask = np.zeros((height, width), np.uint16)
    for label, x1, y1, x2, y2 in boxes:
        mask[y1:y2, x1:x2] = label
    return mask


@pytest.fixture
def sdist(tmp_path):
    """Two styles: three images of 'a', one of 'b'; a/007's labels have a
    gap (1 and 3), a/010's start at 4."""
    image = np.full((40, 50, 3), 90, np.uint8)
    files = {'scellseg-0.1.8/setup.py': b''}
    for style, number, boxes in [
            ('a', '007', [(1, 0, 0, 10, 5), (3, 20, 10, 50, 40)]),
            ('a', '002', [(1, 5, 5, 6, 6)]),
            ('a', '010', [(4, 1, 2, 3, 4)]),
            ('b', '100', [(1, 10, 10, 20, 30), (2, 30, 0, 40, 8)])]:
        files[f'{DATA}{style}/{number}_img.png'] = png(image)
        files[f'{DATA}{style}/{number}_masks.png'] = png(
            labels(40, 50, boxes))
    return write_sdist(tmp_path / 'scellseg-0.1.8.tar.gz', files)


def test_boxes_from_labels_split_by_source_image(sdist, tmp_path):
    out = tmp_path / 'coco'
    counts = converter.convert(sdist, str(out))
    # the last (by number) image of each style to val
    assert counts == dict(train_images=2, train_boxes=3, val_images=2,
                          val_boxes=3)
    train = json.loads((out / 'annotations' / 'train.json').read_text())
    val = json.loads((out / 'annotations' / 'val.json').read_text())
    assert [i['file_name'] for i in train['images']] == ['a_002.png',
                                                          'a_007.png']
    assert [i['file_name'] for i in val['images']] == ['a_010.png',
                                                        'b_100.png']
    assert train['categories'] == [dict(id=1, name='cell')]
    # x, y, w, h of each label's pixels, in label order
    assert [a['bbox'] for a in train['annotations']] == [
        [5, 5, 1, 1], [0, 0, 10, 5], [20, 10, 30, 30]]
    assert [a['bbox'] for a in val['annotations']] == [
        [1, 2, 2, 2], [10, 10, 10, 20], [30, 0, 10, 8]]
    assert val['images'][1] == dict(id=4, file_name='b_100.png', width=50,
                                    height=40)
    assert cv2.imread(str(out / 'val' / 'b_100.png')).shape == (40, 50, 3)
    data = stats.read_coco(str(out / 'annotations' / 'train.json'))
    assert len(data.boxes) == 3 and data.classes == ('cell', )


def test_bad_archives_are_named(tmp_path):
    image = png(np.zeros((8, 8, 3), np.uint8))
    missing = write_sdist(tmp_path / 'missing.tar.gz',
                          {f'{DATA}a/001_img.png': image})
    with pytest.raises(SystemExit, match=r'missing.tar.gz: a/001 has '
                       r"\['img'\], expected img and masks"):
        converter.convert(missing, str(tmp_path / 'out'))
    shape = write_sdist(tmp_path / 'shape.tar.gz', {
        f'{DATA}a/001_img.png': image,
        f'{DATA}a/001_masks.png': png(np.zeros((8, 9), np.uint16))})
    with pytest.raises(SystemExit, match=r'shape.tar.gz: a/001: mask '
                       r'\(8, 9\) is not the image'):
        converter.convert(shape, str(tmp_path / 'out'))
    for name in ('a/deeper/001_img.png', 'a/001img.png'):
        nested = write_sdist(tmp_path / 'nested.tar.gz',
                             {f'{DATA}{name}': image})
        with pytest.raises(SystemExit, match=re.escape(
                f'nested.tar.gz: {DATA}{name}: expected scellseg/assets/'
                'contrast_data/<style>/<number>_<img|masks>.png')):
            converter.convert(nested, str(tmp_path / 'out'))
    empty = write_sdist(tmp_path / 'empty.tar.gz', {'x/setup.py': b''})
    with pytest.raises(SystemExit, match='empty.tar.gz: no scellseg/assets'):
        converter.convert(empty, str(tmp_path / 'out'))
    (tmp_path / 'broken.tar.gz').write_bytes(b'not an archive')
    with pytest.raises(SystemExit, match='broken.tar.gz: not a readable'):
        converter.convert(str(tmp_path / 'broken.tar.gz'),
                          str(tmp_path / 'out'))


def test_the_pinned_package(tmp_path):
    """pip downloads scellseg==0.1.8's archive (PyPI; pip caches it)."""
    out = tmp_path / 'cells'
    proc = run_tool(TOOL, out)
    assert proc.stdout.strip() == ('train_images 28, train_boxes 2984, '
                                   'val_images 7, val_boxes 1217')
    val = json.loads((out / 'annotations' / 'val.json').read_text())
    assert [i['file_name'] for i in val['images']] == [
        'Kc167_103.png', 'cytomembrane_326.png', 'macrophagocyte_121.png',
        'neurocyte_080.png', 'style1_141.png', 'style2_152.png',
        'style3_505.png']
