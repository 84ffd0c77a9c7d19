"""Distributed training and testing on CPU-only machines (gloo).

mmengine 0.10.7 launches every distributed run as a GPU run, so
``tools/dist_train.sh CONFIG 2`` fails on a machine without CUDA twice over:

1. ``mmengine/dist/utils.py:130`` (``_init_dist_pytorch``, the torchrun
   launcher) calls ``torch.cuda.set_device(local_rank)`` before
   ``init_process_group``, and the configs' ``dist_cfg.backend='nccl'``
   (``configs/_base_/default_runtime.py``, as mmdet's) needs CUDA as well.
2. ``mmengine/runner/runner.py:898-902`` (and ``:911`` for a configured
   ``model_wrapper_cfg``) wraps the model, which ``runner.py:874`` put on
   ``get_device()``, i.e. the CPU here, in ``MMDistributedDataParallel``
   with ``device_ids=[LOCAL_RANK]``; torch's ``DistributedDataParallel``
   refuses ``device_ids`` for a CPU module ("device_ids and output_device
   arguments only work with single-device/multiple-device GPU modules").

mmengine has no CPU branch for either (its only CPU hint is
``CUDA_VISIBLE_DEVICES=-1`` for single-process training, ``runner.py:873``;
mmdet #7016 made CPU training work without distribution), so this module
wraps exactly those two call sites, and only for the case upstream cannot
handle: when mmengine itself runs on the CPU (``get_device() == 'cpu'``),
the process group is initialised without ``set_device`` and ``nccl`` becomes
``gloo``; a DDP wrapper of a module whose weights are all on the CPU drops
``device_ids``. On CUDA (or NPU, MLU, MUSA) machines both delegate to
mmengine untouched: nccl, ``set_device``, ``device_ids``. The Slurm and MPI
launchers are left as they are (they target GPU clusters), and so is
``sync_bn``: torch's DDP refuses SyncBatchNorm in a CPU module.

No upstream issue tracks this (searched mmengine's and mmdet's trackers);
delete this module once mmengine's torchrun launcher has a CPU branch.
"""
import functools

import mmengine
import torch.distributed as torch_dist
from mmengine.device import get_device
from mmengine.dist import utils as dist_utils
from mmengine.model import MMDistributedDataParallel

from ._versions import at_most

UPSTREAM = ('none found; https://github.com/open-mmlab/mmdetection/pull/7016 '
            'made CPU training work without distribution')
AFFECTED = 'mmengine <= 0.10.7 (no CPU branch in _init_dist_pytorch)'


def is_needed() -> bool:
    """Whether the installed mmengine predates a CPU distributed branch."""
    return at_most(mmengine, '0.10.7')


def _init_dist_pytorch_on_cpu(init_dist_pytorch):
    """Wrap mmengine's torchrun initialisation with a CPU (gloo) branch."""

    @functools.wraps(init_dist_pytorch)
    def wrapper(backend, init_backend='torch', **kwargs):
        if get_device() != 'cpu' or init_backend != 'torch':
            return init_dist_pytorch(backend, init_backend, **kwargs)
        if backend == 'nccl':
            # the configs name nccl so that they run unchanged on GPUs
            backend = 'gloo'
        # torchrun's RANK, WORLD_SIZE, MASTER_ADDR and MASTER_PORT (env://)
        torch_dist.init_process_group(backend=backend, **kwargs)
        # printed by every rank: mmengine's logger silences all but rank 0
        print(f'no CUDA: rank {torch_dist.get_rank()} of '
              f'{torch_dist.get_world_size()} joined a {backend} process '
              'group', flush=True)

    wrapper.cpu_aware = True
    return wrapper


def _ddp_init_on_cpu(ddp_init):
    """Wrap ``MMDistributedDataParallel.__init__`` to accept CPU modules."""

    @functools.wraps(ddp_init)
    def wrapper(self, module, *args, **kwargs):
        on_cpu = all(p.device.type == 'cpu' for p in module.parameters())
        if on_cpu and kwargs.get('device_ids') is not None:
            # DDP replicates CPU modules itself; device_ids is GPU-only
            kwargs['device_ids'] = None
        ddp_init(self, module, *args, **kwargs)

    wrapper.cpu_aware = True
    return wrapper


def apply() -> bool:
    """Let mmengine's torchrun launcher and DDP wrapper run on the CPU.

    With a GPU, mmengine's behaviour is unchanged.

    Returns:
        bool: Whether the fix is in effect.
    """
    applied = getattr(dist_utils._init_dist_pytorch, 'cpu_aware', False)
    if applied or not is_needed():
        return applied
    dist_utils._init_dist_pytorch = _init_dist_pytorch_on_cpu(
        dist_utils._init_dist_pytorch)
    MMDistributedDataParallel.__init__ = _ddp_init_on_cpu(
        MMDistributedDataParallel.__init__)
    return True
