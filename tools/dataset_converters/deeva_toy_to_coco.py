"""Real photographs with boxes, from a pinned PyPI wheel, as a COCO dataset.

``deeva==1.0.1`` (Apache-2.0) ships ``deeva/toy_data/``: COCO train2017
photographs exported by Roboflow at 640 x 640 (``000000000009_jpg.rf.*.jpg``)
with their boxes as Pascal VOC xml. This script takes the images that have an
xml, keeps the boxes of ``--classes`` (default: person, the largest class),
splits by COCO image id (every ``--val-every``-th id, sorted, to val) and
writes ``annotations/{train,val}.json`` and ``{train,val}/`` images, ready for
``tools/misc/dataset_stats.py``. Images without a box of the classes stay in
as negatives. Nothing is downloaded: install the wheel first
(``pip install deeva==1.0.1 --no-deps``) or pass ``--toy-data``.

    python tools/dataset_converters/deeva_toy_to_coco.py data/deeva_person
"""
import argparse
import importlib.util
import os
import os.path as osp
import shutil
import sys
import xml.etree.ElementTree as ET
from typing import Dict, List, Optional, Sequence, Tuple

sys.path.insert(
    0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from projects.m2det.datasets import write_coco_splits  # noqa: E402


def find_toy_data() -> str:
    spec = importlib.util.find_spec('deeva')  # no import: deeva needs a GUI
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit('deeva is not installed: pip install deeva==1.0.1 '
                         '--no-deps, or pass --toy-data DIR')
    return osp.join(list(spec.submodule_search_locations)[0], 'toy_data')


def read_xml(path: str, classes: Sequence[str]
             ) -> Tuple[int, int, List[Tuple[str, List[float]]]]:
    root = ET.parse(path).getroot()
    size = root.find('size')
    width, height = (int(size.find(k).text) for k in ('width', 'height'))
    objects = []
    for obj in root.findall('object'):
        name = obj.find('name').text
        if name not in classes:
            continue
        box = obj.find('bndbox')
        x1, y1, x2, y2 = (float(box.find(k).text)
                          for k in ('xmin', 'ymin', 'xmax', 'ymax'))
        if x2 <= x1 or y2 <= y1:
            raise ValueError(f'{path}: object {name} has an empty box '
                             f'{[x1, y1, x2, y2]}')
        objects.append((name, [x1, y1, x2 - x1, y2 - y1]))
    return width, height, objects


def convert(toy_data: str, out: str, classes: Sequence[str],
            val_every: int) -> Dict[str, int]:
    """Write the COCO split; return images and boxes per split."""
    pairs = {}
    for name in sorted(os.listdir(osp.join(toy_data, 'images'))):
        stem, ext = osp.splitext(name)
        xml = osp.join(toy_data, 'voc_labels', stem + '.xml')
        # the wheel's own malformed samples (wrong_format_*) have no COCO id
        if ext == '.jpg' and osp.isfile(xml) and stem[:12].isdigit():
            pairs[int(stem[:12])] = (name, xml)
    if not pairs:
        raise SystemExit(f'{toy_data}: no images/*.jpg with a '
                         'voc_labels/*.xml')
    categories = [dict(id=i + 1, name=c) for i, c in enumerate(classes)]
    splits = {s: dict(images=[], annotations=[], categories=categories)
              for s in ('train', 'val')}
    for index, image_id in enumerate(sorted(pairs)):
        split = 'val' if index % val_every == val_every - 1 else 'train'
        name, xml = pairs[image_id]
        width, height, objects = read_xml(xml, classes)
        coco = splits[split]
        coco['images'].append(
            dict(id=image_id, file_name=name, width=width, height=height))
        for label, box in objects:
            coco['annotations'].append(
                dict(id=len(coco['annotations']) + 1, image_id=image_id,
                     category_id=classes.index(label) + 1, bbox=box,
                     area=box[2] * box[3], iscrowd=0))
        os.makedirs(osp.join(out, split), exist_ok=True)
        shutil.copyfile(osp.join(toy_data, 'images', name),
                        osp.join(out, split, name))
    return write_coco_splits(out, splits)


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('out', help='the COCO dataset folder to write')
    parser.add_argument('--toy-data',
                        help='deeva\'s toy_data folder (default: the '
                        'installed package\'s)')
    parser.add_argument('--classes', nargs='+', default=['person'],
                        help='classes to keep (default: %(default)s)')
    parser.add_argument('--val-every', type=int, default=4,
                        help='every n-th COCO id to val (default: '
                        '%(default)s)')
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> None:
    args = parse_args(argv)
    counts = convert(args.toy_data or find_toy_data(), args.out,
                     list(args.classes), args.val_every)
    print(', '.join(f'{k} {v}' for k, v in counts.items()))


if __name__ == '__main__':
    main()
