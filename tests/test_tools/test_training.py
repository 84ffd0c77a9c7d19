"""Real training, resuming, testing and inference on a few demo images."""
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from mmdet.apis import inference_detector, init_detector
from mmdet.structures import DetDataSample

from conftest import (REPO, TINY_CONFIG, data_root_options,
                      load_mmengine_checkpoint, read_scalars, run_tool)


@pytest.fixture(scope='module')
def trained(tmp_path_factory, demo_root):
    """Train the tiny config for 6 epochs (2 iterations each)."""
    work_dir = tmp_path_factory.mktemp('train')
    run_tool('tools/train.py', TINY_CONFIG, '--work-dir', work_dir,
             '--cfg-options', *data_root_options(demo_root),
             'train_cfg.max_epochs=6')
    return work_dir


def losses(records):
    return [r['loss'] for r in records if 'loss' in r]


def test_training_lowers_the_loss_and_saves_checkpoints(trained):
    loss = losses(read_scalars(trained, run=0))
    assert len(loss) == 12  # 6 epochs x 2 iterations, logged every iteration
    assert all(torch.isfinite(torch.tensor(loss)))
    # from about 15.3 to 11.5 in 12 iterations; a model that does not learn
    # stays within noise of its start
    assert sum(loss[-2:]) < 0.85 * sum(loss[:2])
    assert all((trained / f'epoch_{e}.pth').is_file() for e in (2, 4, 6))
    assert (trained / 'last_checkpoint').read_text().strip().endswith(
        'epoch_6.pth')


def test_resume_continues_the_iteration_count(trained, demo_root):
    run_tool('tools/train.py', TINY_CONFIG, '--work-dir', trained,
             '--resume', '--cfg-options', *data_root_options(demo_root),
             'train_cfg.max_epochs=8')
    records = [r for r in read_scalars(trained) if 'loss' in r]
    # only the two new epochs ran, numbered after the first six
    assert [r['iter'] for r in records] == [13, 14, 15, 16]
    assert [r['epoch'] for r in records] == [7, 7, 8, 8]
    ckpt = load_mmengine_checkpoint(trained / 'epoch_8.pth')
    assert ckpt['meta']['epoch'] == 8 and ckpt['meta']['iter'] == 16
    assert ckpt['optimizer']['state'], 'optimizer state was not restored'


def test_load_from_a_checkpoint(trained, demo_root, tmp_path):
    proc = run_tool('tools/train.py', TINY_CONFIG, '--work-dir', tmp_path,
                    '--cfg-options', *data_root_options(demo_root),
                    f'load_from={trained / "epoch_6.pth"}',
                    'train_cfg.max_epochs=1')
    assert f'Load checkpoint from {trained / "epoch_6.pth"}' in proc.stderr \
        + proc.stdout
    assert (tmp_path / 'epoch_1.pth').is_file()


def test_tools_test_evaluates_with_the_coco_metric(trained, demo_root,
                                                   tmp_path):
    proc = run_tool('tools/test.py', TINY_CONFIG, trained / 'epoch_6.pth',
                    '--work-dir', tmp_path, '--cfg-options',
                    *data_root_options(demo_root))
    log = proc.stdout + proc.stderr
    assert 'coco/bbox_mAP:' in log and 'coco/bbox_mAP_50:' in log


def test_inference_from_a_saved_checkpoint(trained, demo_root):
    model = init_detector(str(TINY_CONFIG), str(trained / 'epoch_6.pth'),
                          device='cpu', cfg_options=dict(
                              model=dict(test_cfg=dict(score_thr=0.0))))
    image = sorted((demo_root / 'val').glob('*.jpg'))[0]
    result = inference_detector(model, str(image))
    assert isinstance(result, DetDataSample)
    boxes = result.pred_instances.bboxes
    height, width = result.ori_shape
    assert len(boxes) > 0
    assert boxes[:, 0::2].max() <= width and boxes[:, 1::2].max() <= height


def test_mmengine_checkpoints_need_the_fix_under_torch_2_6(trained):
    """Without the project's allowlist, torch refuses mmengine's checkpoints;
    with it, mmengine's loader reads them."""
    ckpt = trained / 'epoch_6.pth'
    plain = subprocess.run(
        [sys.executable, '-c', f'import torch; torch.load({str(ckpt)!r})'],
        cwd=REPO, capture_output=True, text=True)
    assert plain.returncode != 0
    assert 'Weights only load failed' in plain.stderr
    assert 'HistoryBuffer' in plain.stderr
    assert load_mmengine_checkpoint(ckpt)['meta']['epoch'] == 6


def run_mim(*args, cwd):
    """``mim`` from outside the repo: projects.m2det must import via .pth."""
    env = {k: v for k, v in os.environ.items() if k != 'PYTHONPATH'}
    proc = subprocess.run(
        [str(Path(sys.executable).with_name('mim')), *map(str, args)],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout + proc.stderr


def test_mim_train_and_test_run_mmdets_own_tools(trained, demo_root,
                                                 tmp_path):
    run_mim('train', 'mmdet', TINY_CONFIG, '--gpus', 0, '--work-dir',
            tmp_path / 'train', '--cfg-options',
            *data_root_options(demo_root), 'train_cfg.max_epochs=1',
            cwd=tmp_path)
    assert (tmp_path / 'train' / 'epoch_1.pth').is_file()
    log = run_mim('test', 'mmdet', TINY_CONFIG, '--checkpoint',
                  trained / 'epoch_6.pth', '--gpus', 0, '--work-dir',
                  tmp_path / 'test', '--cfg-options',
                  *data_root_options(demo_root), cwd=tmp_path)
    assert 'coco/bbox_mAP:' in log
