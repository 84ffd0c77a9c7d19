"""Shared fixtures: demo datasets, runners for the tools, checkpoints."""
import json
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

# xdist's workers share the cores: each takes its share of threads, and so
# do the tools it starts (they inherit the environment). OpenMP threads
# spinning against another process's slow both down several-fold on 2 cores.
_workers = int(os.environ.get('PYTEST_XDIST_WORKER_COUNT', '1'))
if _workers > 1:
    os.environ.setdefault('OMP_NUM_THREADS',
                          str(max(1, (os.cpu_count() or 1) // _workers)))

import pytest  # noqa: E402

from projects.m2det.datasets.demo_data import generate_demo_dataset  # noqa: E402,E501

REPO = Path(__file__).resolve().parents[1]
TINY_CONFIG = REPO / 'tests' / 'configs' / 'm2det_tiny.py'


def data_root_options(root: Path) -> list:
    """--cfg-options entries that point every split of a config at ``root``."""
    root = f'{root}/'
    options = [f'{split}_dataloader.dataset.data_root={root}'
               for split in ('train', 'val', 'test')]
    options += [f'{split}_evaluator.ann_file={root}annotations/val.json'
                for split in ('val', 'test')]
    return options


def tiny_config_on(root: Path):
    """The tiny test config with every split's data at ``root``."""
    from mmengine.config import Config
    cfg = Config.fromfile(TINY_CONFIG)
    cfg.merge_from_dict(
        dict(opt.split('=', 1) for opt in data_root_options(root)))
    return cfg


def run_tool(*args, check=True, timeout=600) -> subprocess.CompletedProcess:
    """Run ``python tools/<args>`` from the repo root, as a user would."""
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.run([sys.executable, *map(str, args)], cwd=REPO,
                          env=env, capture_output=True, text=True,
                          timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(
            f'{args} exited {proc.returncode}:\n{proc.stdout[-4000:]}\n'
            f'{proc.stderr[-4000:]}')
    return proc


def build_eval_detector(config, score_thr=None):
    """A seeded detector of ``config`` in eval mode, with BN statistics that
    are not the identity (so folding or exporting them has work to do) and
    its config as ``model.cfg``; ``score_thr`` overrides the test one."""
    import torch
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules
    from mmengine.config import Config
    register_all_modules()
    cfg = Config.fromfile(config)
    if score_thr is not None:
        cfg.model.test_cfg.score_thr = score_thr
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.2, 0.2)
            m.running_var.uniform_(0.5, 1.5)
    model.cfg = cfg
    return model.eval()


def load_mmengine_checkpoint(path) -> dict:
    """A checkpoint mmengine wrote, read as mmengine's tools read it: through
    its ``CheckpointLoader``, with the project's allowlist for torch >= 2.6
    (:mod:`projects.m2det.compat.checkpoint_safe_globals`)."""
    from mmengine.runner import CheckpointLoader

    from projects.m2det.compat import apply_fixes
    apply_fixes(['checkpoint_safe_globals'])
    return CheckpointLoader.load_checkpoint(str(path), map_location='cpu')


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


def read_scalars(work_dir: Path, run: int = -1) -> list:
    """The logged scalar records of a run in ``work_dir`` (default newest)."""
    from projects.m2det.utils.recipe_comparison import read_scalars
    return read_scalars(str(work_dir), run)


@pytest.fixture(scope='session')
def demo_root(tmp_path_factory) -> Path:
    """A few demo images (8 train, 4 val) in COCO format."""
    root = tmp_path_factory.mktemp('demo')
    generate_demo_dataset(root, num_train=8, num_val=4, seed=1)
    return root
