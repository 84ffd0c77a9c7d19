"""The two custom-data configs of ``docs/custom_data.md``, run as written on
the demo data converted to COCO json (as it is) and to Pascal VOC xml."""
import re

import pytest

from conftest import REPO, read_scalars, run_tool, to_voc
from projects.m2det.datasets import DEMO_CLASSES

CUSTOM_DATA_DOC = REPO / 'docs' / 'custom_data.md'


def doc_configs():
    """The config blocks of ``docs/custom_data.md`` that start from the demo
    config."""
    blocks = re.findall(r'```python\n(.*?)```', CUSTOM_DATA_DOC.read_text(),
                        re.S)
    return [b for b in blocks if b.startswith("_base_ = './m2det_demo.py'")]


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
