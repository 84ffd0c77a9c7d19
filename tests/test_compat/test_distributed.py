"""Distributed training and testing with torchrun on the CPU (gloo), SyncBN,
and the Slurm scripts."""
import os
import socket
import subprocess
import sys

import pytest
import torch
from mmdet.registry import MODELS
from mmengine.config import Config
from mmengine.model import convert_sync_batchnorm
from mmengine.registry import init_default_scope

from conftest import (REPO, TINY_CONFIG, data_root_options,
                      load_mmengine_checkpoint, read_scalars)


def free_port() -> int:
    """A TCP port that nothing listens on now, for the rendezvous."""
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def run_script(script, *args, check=True, **env) -> tuple:
    """Run ``bash tools/<script> <args>`` as a user would, with the venv's
    python and ``env``; its exit status and whole log."""
    env = dict(os.environ, PYTHON=sys.executable, PYTHONPATH=str(REPO),
               **{name: str(value) for name, value in env.items()})
    proc = subprocess.run(['bash', f'tools/{script}', *map(str, args)],
                          cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=300)
    log = proc.stdout + proc.stderr
    assert not check or proc.returncode == 0, \
        f'{script} exited {proc.returncode}:\n{log[-6000:]}'
    return proc.returncode, log


@pytest.fixture(scope='module')
def dist_trained(tmp_path_factory, demo_root):
    """Train the tiny config for 2 epochs in 2 processes; work dir and log."""
    work_dir = tmp_path_factory.mktemp('dist_train')
    _, log = run_script('dist_train.sh', TINY_CONFIG, 2, '--work-dir',
                        work_dir, '--cfg-options',
                        *data_root_options(demo_root),
                        'train_cfg.max_epochs=2', PORT=free_port())
    return work_dir, log


def test_two_processes_train_with_gloo(dist_trained):
    work_dir, log = dist_trained
    for rank in (0, 1):
        assert f'no CUDA: rank {rank} of 2 joined a gloo process group' in log
    # the distributed sampler splits the 8 images between the ranks: one
    # iteration of 2 x 4 images per epoch (a single process takes two)
    records = [r for r in read_scalars(work_dir) if 'loss' in r]
    assert [(r['epoch'], r['iter']) for r in records] == [(1, 1), (2, 2)]
    assert all(torch.isfinite(torch.tensor([r['loss'] for r in records])))
    # validation at the last epoch gathered both ranks' results
    assert 'coco/bbox_mAP:' in log


def test_rank_zero_writes_one_checkpoint_that_loads_strictly(dist_trained):
    work_dir, log = dist_trained
    assert sorted(p.name for p in work_dir.glob('*.pth')) == ['epoch_2.pth']
    assert log.count('Saving checkpoint at 2 epochs') == 1
    ckpt = load_mmengine_checkpoint(work_dir / 'epoch_2.pth')
    assert (ckpt['meta']['epoch'], ckpt['meta']['iter']) == (2, 2)
    init_default_scope('mmdet')
    model = MODELS.build(Config.fromfile(TINY_CONFIG).model)
    # no DDP 'module.' prefix, no missing or unexpected key
    model.load_state_dict(ckpt['state_dict'], strict=True)


def test_two_processes_evaluate_a_checkpoint(dist_trained, demo_root,
                                             tmp_path):
    work_dir, _ = dist_trained
    _, log = run_script('dist_test.sh', TINY_CONFIG,
                        work_dir / 'epoch_2.pth', 2, '--work-dir', tmp_path,
                        '--cfg-options', *data_root_options(demo_root),
                        PORT=free_port())
    assert 'rank 1 of 2 joined a gloo process group' in log
    assert f'Load checkpoint from {work_dir / "epoch_2.pth"}' in log
    assert 'coco/bbox_mAP:' in log and 'coco/bbox_mAP_50:' in log


def test_sync_bn_option_converts_every_batch_norm(demo_root, tmp_path):
    """``sync_bn='torch'`` turns each BN into torch's SyncBatchNorm.

    torch runs SyncBatchNorm on GPUs only: its DistributedDataParallel
    refuses to wrap a CPU module that has one. So on the CPU a distributed
    run with the option must stop at start with torch's message (proof that
    mmengine converted the layers), and the conversion itself, done as
    ``Runner.wrap_model`` does it, is checked on the model.
    """
    init_default_scope('mmdet')
    model = MODELS.build(Config.fromfile(TINY_CONFIG).model)
    keys = model.state_dict().keys()
    num_bn = sum(type(m) is torch.nn.BatchNorm2d for m in model.modules())
    assert num_bn == 50  # ResNet-18 (20), FFMs and TUMs (30)
    model = convert_sync_batchnorm(model, 'torch')
    assert sum(type(m) is torch.nn.SyncBatchNorm
               for m in model.modules()) == num_bn
    assert not any(type(m) is torch.nn.BatchNorm2d for m in model.modules())
    # the same names: a SyncBN checkpoint tests with plain BN and back
    assert model.state_dict().keys() == keys

    status, log = run_script(
        'dist_train.sh', TINY_CONFIG, 2, '--work-dir', tmp_path,
        '--cfg-options', *data_root_options(demo_root), 'sync_bn=torch',
        check=False, PORT=free_port())
    assert status != 0
    for rank in (0, 1):
        assert (f'[rank{rank}]: ValueError: SyncBatchNorm layers only work '
                'with GPU modules') in log
    assert not list(tmp_path.glob('*.pth'))


@pytest.mark.parametrize('script, tool, args', [
    ('slurm_train.sh', 'train.py', ['cfg.py', 'work', '--amp']),
    ('slurm_test.sh', 'test.py', ['cfg.py', 'ckpt.pth', '--tta']),
])
def test_slurm_scripts_launch_one_task_per_gpu(script, tool, args, tmp_path):
    """Slurm cannot run here: a stand-in ``srun`` records what it is given."""
    assert subprocess.run(['bash', '-n', f'tools/{script}'],
                          cwd=REPO).returncode == 0
    srun = tmp_path / 'srun'
    srun.write_text('#!/bin/sh\necho "srun $*"\n')
    srun.chmod(0o755)
    _, log = run_script(script, 'gpu', 'm2det', *args, GPUS=16,
                        PATH=f'{tmp_path}:{os.environ["PATH"]}')
    line = next(x for x in log.splitlines() if x.startswith('srun '))
    tail = '--work-dir=work' if tool == 'train.py' else 'ckpt.pth'
    assert line == (
        f'srun -p gpu --job-name=m2det --gres=gpu:8 --ntasks=16 '
        f'--ntasks-per-node=8 --cpus-per-task=5 --kill-on-bad-exit=1 '
        f'{sys.executable} -u tools/{tool} cfg.py {tail} '
        f'--launcher=slurm {args[-1]}')
