"""Real microscopy with hand-drawn cell masks, from a pinned PyPI package, as
a COCO detection dataset.

``scellseg==0.1.8`` (BSD-3-Clause code; it bundles Cellpose's licence) ships
``scellseg/assets/contrast_data/<style>/NNN_img.png`` with ``NNN_masks.png``:
35 fluorescence and bright-field images, 225-512 px, in 7 styles of 5, with
one integer label per cell (4,201 cells), numbered as the Cellpose dataset's
images, from which they appear to come (its terms: research use). Each
label's bounding box becomes a ``cell`` box. The split is by source image:
the last image of each style (sorted by number) goes to val, 28 training
images and 7 val images.

The package has no wheel and its install pulls TensorFlow and Qt, so the
script reads its source archive: ``--sdist scellseg-0.1.8.tar.gz``, or it
runs ``pip download --no-deps scellseg==0.1.8`` (99 MB, pip caches it).

    python tools/dataset_converters/scellseg_cells_to_coco.py data/scellseg_cells
"""
import argparse
import glob
import os
import os.path as osp
import subprocess
import sys
import tarfile
import tempfile
from typing import Dict, List, Optional, Sequence

import cv2
import numpy as np
from scipy import ndimage

sys.path.insert(
    0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from projects.m2det.datasets import write_coco_splits  # noqa: E402

PACKAGE = 'scellseg==0.1.8'
DATA_DIR = 'scellseg/assets/contrast_data/'


def download_sdist(folder: str) -> str:
    """``pip download`` the pinned source archive into ``folder``."""
    subprocess.run([
        sys.executable, '-m', 'pip', 'download', '--no-deps', '--no-binary',
        ':all:', '--disable-pip-version-check', '-q', '-d', folder, PACKAGE
    ], check=True)
    found = glob.glob(osp.join(folder, 'scellseg-*.tar.gz'))
    if not found:
        raise SystemExit(f'pip download {PACKAGE} left no source archive in '
                         f'{folder}')
    return found[0]


def read_pairs(sdist: str) -> Dict[str, List[tuple]]:
    """Map each style to its sorted ``(number, image bytes, mask bytes)``."""
    styles: Dict[str, Dict[str, dict]] = {}
    try:
        archive = tarfile.open(sdist)
    except (tarfile.TarError, OSError) as error:
        raise SystemExit(f'{sdist}: not a readable source archive ({error})')
    with archive:
        for member in archive.getmembers():
            path = member.name.split('/', 1)[-1]  # drop scellseg-0.1.8/
            if not (member.isfile() and path.startswith(DATA_DIR)):
                continue
            parts = path[len(DATA_DIR):].split('/')
            stem = osp.splitext(parts[-1])[0].split('_')
            if len(parts) != 2 or len(stem) != 2:
                raise SystemExit(
                    f'{sdist}: {member.name}: expected {DATA_DIR}<style>/'
                    '<number>_<img|masks>.png')
            style, (number, kind) = parts[0], stem
            styles.setdefault(style, {}).setdefault(number, {})[kind] = (
                archive.extractfile(member).read())
    if not styles:
        raise SystemExit(f'{sdist}: no {DATA_DIR} in the archive')
    pairs = {}
    for style, numbers in sorted(styles.items()):
        for number, files in numbers.items():
            if set(files) != {'img', 'masks'}:
                raise SystemExit(f'{sdist}: {style}/{number} has '
                                 f'{sorted(files)}, expected img and masks')
        pairs[style] = [(n, numbers[n]['img'], numbers[n]['masks'])
                        for n in sorted(numbers)]
    return pairs


def mask_boxes(mask: np.ndarray) -> List[List[float]]:
    """COCO ``[x, y, w, h]`` of every nonzero label of a label image."""
    boxes = []
    for found in ndimage.find_objects(mask):
        if found is not None:  # labels need not be consecutive
            rows, cols = found
            boxes.append([float(cols.start), float(rows.start),
                          float(cols.stop - cols.start),
                          float(rows.stop - rows.start)])
    return boxes


def convert(sdist: str, out: str, val_per_style: int = 1) -> Dict[str, int]:
    """Write the COCO split; return images and boxes per split."""
    categories = [dict(id=1, name='cell')]
    splits = {s: dict(images=[], annotations=[], categories=categories)
              for s in ('train', 'val')}
    for style, items in read_pairs(sdist).items():
        for index, (number, img_bytes, mask_bytes) in enumerate(items):
            split = 'val' if index >= len(items) - val_per_style else 'train'
            name = f'{style}_{number}'
            image = cv2.imdecode(np.frombuffer(img_bytes, np.uint8),
                                 cv2.IMREAD_COLOR)
            mask = cv2.imdecode(np.frombuffer(mask_bytes, np.uint8),
                                cv2.IMREAD_UNCHANGED)
            if image is None or mask is None or mask.ndim != 2:
                raise SystemExit(f'{sdist}: {style}/{number}: expected an '
                                 'image and a one-channel label mask')
            if mask.shape != image.shape[:2]:
                raise SystemExit(f'{sdist}: {style}/{number}: mask '
                                 f'{mask.shape} is not the image\'s size '
                                 f'{image.shape[:2]}')
            coco = splits[split]
            image_id = len(splits['train']['images']) + len(
                splits['val']['images']) + 1
            height, width = mask.shape
            coco['images'].append(dict(id=image_id, file_name=name + '.png',
                                       width=width, height=height))
            for box in mask_boxes(mask.astype(np.int32)):
                coco['annotations'].append(
                    dict(id=len(coco['annotations']) + 1, image_id=image_id,
                         category_id=1, bbox=box, area=box[2] * box[3],
                         iscrowd=0))
            os.makedirs(osp.join(out, split), exist_ok=True)
            cv2.imwrite(osp.join(out, split, name + '.png'), image)
    return write_coco_splits(out, splits)


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('out', help='the COCO dataset folder to write')
    parser.add_argument('--sdist',
                        help=f'{PACKAGE}\'s source archive (default: pip '
                        'download it)')
    parser.add_argument('--val-per-style', type=int, default=1,
                        help='last images of each style to val (default: '
                        '%(default)s)')
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> None:
    args = parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        sdist = args.sdist or download_sdist(tmp)
        counts = convert(sdist, args.out, args.val_per_style)
    print(', '.join(f'{k} {v}' for k, v in counts.items()))


if __name__ == '__main__':
    main()
