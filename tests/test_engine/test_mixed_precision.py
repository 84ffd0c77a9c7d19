"""``tools/train.py --amp`` on a CPU (the precision this CPU runs fast), and
gradient clipping from the config."""
import math

import pytest
from mmengine.config import Config

from conftest import TINY_CONFIG, data_root_options, read_scalars, run_tool
from projects.m2det.utils import cpu_has_native_bfloat16


@pytest.fixture(scope='module')
def amp_clipped(tmp_path_factory, demo_root):
    """One epoch (2 iterations) of the tiny config in plain float32 turned
    into mixed precision by ``--amp``, with gradients clipped."""
    work_dir = tmp_path_factory.mktemp('amp')
    proc = run_tool('tools/train.py', TINY_CONFIG, '--amp', '--work-dir',
                    work_dir, '--cfg-options', *data_root_options(demo_root),
                    'train_cfg.max_epochs=1',
                    'optim_wrapper.type=OptimWrapper',
                    'optim_wrapper.clip_grad.max_norm=10',
                    'optim_wrapper.clip_grad.norm_type=2')
    return work_dir, proc.stdout + proc.stderr


def test_amp_without_a_gpu_trains_in_this_cpus_fast_precision(amp_clipped):
    work_dir, log = amp_clipped
    # mmdet's --amp would build AmpOptimWrapper, which asserts a GPU
    assert '--amp without a GPU: mixed precision as this CPU runs it fast ' \
        '(AutoPrecisionOptimWrapper)' in log
    assert "type='AutoPrecisionOptimWrapper'" in log  # the printed config
    used = Config.fromfile(work_dir / TINY_CONFIG.name).optim_wrapper
    assert used.type == 'AutoPrecisionOptimWrapper'
    assert 'loss_scale' not in used  # float16's, unneeded on the CPU
    said = ('training precision: bfloat16 autocast, this CPU has native '
            'bfloat16' if cpu_has_native_bfloat16() else
            'training precision: float32, this CPU has no native bfloat16')
    assert log.count(said) == 1
    records = [r for r in read_scalars(work_dir) if 'loss' in r]
    assert [r['iter'] for r in records] == [1, 2]
    assert all(math.isfinite(r['loss']) for r in records)
    assert (work_dir / 'epoch_1.pth').is_file()


def test_clip_grad_logs_the_gradient_norm(amp_clipped):
    work_dir, _ = amp_clipped
    used = Config.fromfile(work_dir / TINY_CONFIG.name).optim_wrapper
    assert used.clip_grad == dict(max_norm=10, norm_type=2)
    norms = [r['grad_norm'] for r in read_scalars(work_dir) if 'loss' in r]
    # the norm before clipping, one per iteration; from scratch it is far
    # above max_norm, so every step was clipped
    assert len(norms) == 2 and all(10 < n < math.inf for n in norms)
