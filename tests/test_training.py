"""Real training, resuming, testing and inference on a few demo images."""
import subprocess
import sys

import pytest
import torch
from mmdet.apis import inference_detector, init_detector
from mmdet.structures import DetDataSample

from conftest import REPO, TINY_CONFIG, data_root_options, read_scalars, run_tool


@pytest.fixture(scope='module')
def trained(tmp_path_factory, demo_root):
    """Train the tiny config for 4 epochs (2 iterations each)."""
    work_dir = tmp_path_factory.mktemp('train')
    run_tool('tools/train.py', TINY_CONFIG, '--work-dir', work_dir,
             '--cfg-options', *data_root_options(demo_root),
             'train_cfg.max_epochs=4')
    return work_dir


def losses(records):
    return [r['loss'] for r in records if 'loss' in r]


def test_training_lowers_the_loss_and_saves_checkpoints(trained):
    loss = losses(read_scalars(trained))
    assert len(loss) == 8  # 4 epochs x 2 iterations, logged every iteration
    assert all(torch.isfinite(torch.tensor(loss)))
    assert sum(loss[-2:]) < 0.8 * sum(loss[:2])
    assert (trained / 'epoch_2.pth').is_file()
    assert (trained / 'epoch_4.pth').is_file()
    assert (trained / 'last_checkpoint').read_text().strip().endswith(
        'epoch_4.pth')


def test_resume_continues_the_iteration_count(trained, demo_root):
    run_tool('tools/train.py', TINY_CONFIG, '--work-dir', trained,
             '--resume', '--cfg-options', *data_root_options(demo_root),
             'train_cfg.max_epochs=6')
    records = [r for r in read_scalars(trained) if 'loss' in r]
    # only the two new epochs ran, numbered after the first four
    assert [r['iter'] for r in records] == [9, 10, 11, 12]
    assert [r['epoch'] for r in records] == [5, 5, 6, 6]
    ckpt = torch.load(trained / 'epoch_6.pth', map_location='cpu')
    assert ckpt['meta']['epoch'] == 6 and ckpt['meta']['iter'] == 12
    assert ckpt['optimizer']['state'], 'optimizer state was not restored'


def test_load_from_a_checkpoint(trained, demo_root, tmp_path):
    proc = run_tool('tools/train.py', TINY_CONFIG, '--work-dir', tmp_path,
                    '--cfg-options', *data_root_options(demo_root),
                    f'load_from={trained / "epoch_4.pth"}',
                    'train_cfg.max_epochs=1')
    assert f'Load checkpoint from {trained / "epoch_4.pth"}' in proc.stderr \
        + proc.stdout
    assert (tmp_path / 'epoch_1.pth').is_file()


def test_tools_test_evaluates_with_the_coco_metric(trained, demo_root,
                                                   tmp_path):
    proc = run_tool('tools/test.py', TINY_CONFIG, trained / 'epoch_4.pth',
                    '--work-dir', tmp_path, '--cfg-options',
                    *data_root_options(demo_root))
    log = proc.stdout + proc.stderr
    assert 'coco/bbox_mAP:' in log and 'coco/bbox_mAP_50:' in log


def test_inference_from_a_saved_checkpoint(trained, demo_root):
    model = init_detector(str(TINY_CONFIG), str(trained / 'epoch_4.pth'),
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
    """Without the project's allowlist, torch refuses mmengine's checkpoints."""
    ckpt = trained / 'epoch_4.pth'
    plain = subprocess.run(
        [sys.executable, '-c', f'import torch; torch.load({str(ckpt)!r})'],
        cwd=REPO, capture_output=True, text=True)
    assert plain.returncode != 0
    assert 'Weights only load failed' in plain.stderr
    assert 'HistoryBuffer' in plain.stderr
    # this process imported projects.m2det, which allows mmengine's types
    assert torch.load(ckpt, map_location='cpu')['meta']['epoch'] == 4
