"""Runs that survive being killed, stop on a non-finite loss, and leave logs
that TensorBoard and mmdet's analyze_logs.py read."""
import os
import signal
import subprocess
import sys
import time

import torch

from conftest import (REPO, TINY_CONFIG, load_mmengine_checkpoint,
                      read_scalars, run_tool)

# halve the learning rate after epochs 2 and 4, so that a resumed run shows
# whether it restored the scheduler
SCHEDULED_CONFIG = f"""_base_ = {str(TINY_CONFIG)!r}
param_scheduler = [
    dict(type='MultiStepLR', by_epoch=True, milestones=[2, 4], gamma=0.5)]
"""
# the TensorBoard backend next to the local one
TENSORBOARD = """
vis_backends = [dict(type='LocalVisBackend'),
                dict(type='TensorboardVisBackend')]
visualizer = dict(vis_backends=vis_backends)
"""


def lr_of_epoch(epoch):
    return 2e-3 * 0.5**((epoch > 2) + (epoch > 4))


def train_args(work_dir, demo_root, *extra, config_text=SCHEDULED_CONFIG):
    config = work_dir.parent / f'{work_dir.name}_config.py'
    config.write_text(config_text)
    return [
        'tools/train.py', config, '--work-dir', work_dir, *extra,
        '--cfg-options', f'data_root={demo_root}', 'train_cfg.max_epochs=6',
        'train_cfg.val_interval=100', 'default_hooks.checkpoint.interval=1'
    ]


def loads(work_dir, epoch):
    try:
        load_mmengine_checkpoint(work_dir / f'epoch_{epoch}.pth')
        return True
    except (FileNotFoundError, RuntimeError):
        return False


def test_killed_run_resumes_where_its_last_checkpoint_left_it(
        demo_root, tmp_path):
    work_dir = tmp_path / 'run'
    proc = subprocess.Popen(
        [sys.executable, *map(str, train_args(work_dir, demo_root))],
        cwd=REPO, env=dict(os.environ, PYTHONPATH=str(REPO)),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True)
    # kill -9 the whole run as soon as its third epoch is on disk
    deadline = time.time() + 120
    while not (work_dir / 'epoch_3.pth').exists():
        assert proc.poll() is None and time.time() < deadline
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (work_dir / 'epoch_6.pth').exists()
    # the newest checkpoint torch can read (the kill may truncate one, or
    # last_checkpoint while mmengine rewrites it)
    resumed_from = max(e for e in range(1, 6) if loads(work_dir, e))
    assert resumed_from >= 2

    run_tool(*train_args(work_dir, demo_root, '--resume'))
    records = [r for r in read_scalars(work_dir) if 'loss' in r]
    # same iteration numbering (2 per epoch), and the scheduled rate
    assert [r['iter'] for r in records] == list(
        range(2 * resumed_from + 1, 13))
    for r in records:
        assert r['lr'] == lr_of_epoch(r['epoch'])
    ckpt = load_mmengine_checkpoint(work_dir / 'epoch_6.pth')
    assert ckpt['meta']['epoch'] == 6 and ckpt['meta']['iter'] == 12
    # AdamW counted every step since the first: its state was restored
    steps = {int(s['step']) for s in ckpt['optimizer']['state'].values()}
    assert steps == {12}


def write_checkpoint(path, epoch):
    torch.save(dict(meta=dict(epoch=epoch)), path)


def test_resume_skips_an_empty_last_checkpoint_and_a_truncated_file(
        tmp_path):
    from projects.m2det.compat.resume_complete_checkpoint import \
        find_resumable_checkpoint
    for epoch in (1, 2, 10):
        write_checkpoint(tmp_path / f'epoch_{epoch}.pth', epoch)
    truncated = (tmp_path / 'epoch_10.pth').read_bytes()[:-30]
    (tmp_path / 'epoch_10.pth').write_bytes(truncated)
    (tmp_path / 'last_checkpoint').write_text('')
    assert find_resumable_checkpoint(str(tmp_path)) == \
        str(tmp_path / 'epoch_2.pth')
    (tmp_path / 'last_checkpoint').write_text(str(tmp_path / 'epoch_10.pth'))
    assert find_resumable_checkpoint(str(tmp_path)) == \
        str(tmp_path / 'epoch_2.pth')
    (tmp_path / 'last_checkpoint').write_text(str(tmp_path / 'epoch_1.pth'))
    assert find_resumable_checkpoint(str(tmp_path)) == \
        str(tmp_path / 'epoch_1.pth')
    assert find_resumable_checkpoint(str(tmp_path / 'empty')) is None


def test_non_finite_loss_stops_the_run_and_names_the_iteration(
        demo_root, tmp_path):
    # std 0 makes every input pixel infinite
    proc = run_tool(*train_args(tmp_path / 'run', demo_root),
                    'model.data_preprocessor.std=[0,0,0]', check=False)
    assert proc.returncode != 0
    assert 'FloatingPointError: training stopped at iteration 1 (epoch 1)' \
        in proc.stderr
    assert 'loss_cls=' in proc.stderr and 'loss_bbox=' in proc.stderr
    assert not list((tmp_path / 'run').glob('epoch_*.pth'))


def test_tensorboard_and_analyze_logs(demo_root, tmp_path):
    work_dir = tmp_path / 'run'
    run_tool(*train_args(work_dir, demo_root,
                         config_text=SCHEDULED_CONFIG + TENSORBOARD),
             'train_cfg.max_epochs=2')
    assert list(work_dir.glob('*/vis_data/events.out.tfevents.*'))
    # every iteration logs its loss, learning rate and time
    records = [r for r in read_scalars(work_dir) if 'loss' in r]
    assert len(records) == 4
    assert all({'loss', 'lr', 'time', 'data_time'} <= set(r)
               for r in records)
    (log_json, ) = work_dir.glob('*/vis_data/2*.json')
    run_tool('tools/analysis_tools/analyze_logs.py', 'plot_curve', log_json,
             '--keys', 'loss', 'loss_cls', '--out', tmp_path / 'loss.png')
    assert (tmp_path / 'loss.png').stat().st_size > 10_000
