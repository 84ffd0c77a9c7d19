"""Mixed-precision training on any device, the CPU included, in the
precision the device runs fast."""
import logging
from contextlib import contextmanager
from typing import Optional

import torch
import torch.nn as nn
from mmengine.logging import print_log
from mmengine.optim import AmpOptimWrapper, OptimWrapper
from mmengine.registry import OPTIM_WRAPPERS

from ...utils.precision import default_dtype, training_precision

# AmpOptimWrapper's own arguments, meaningless for the other wrappers
_AMP_ONLY_ARGS = ('loss_scale', 'dtype', 'use_fsdp')


def _device_type(optimizer) -> str:
    """The device type of the first parameter the optimizer updates: the
    runner moves the model to its device before building the wrapper."""
    for group in optimizer.param_groups:
        for param in group['params']:
            return param.device.type
    return 'cpu'


@OPTIM_WRAPPERS.register_module()
class BF16OptimWrapper(OptimWrapper):
    """Runs the training forward under ``torch.autocast(dtype=bfloat16)``.

    mmengine's ``AmpOptimWrapper`` refuses to run without a GPU, but CPUs
    with AVX512-BF16 or AMX run bfloat16 convolutions and matmuls far faster
    than float32 (about 1.7x for the demo model's training step on the
    AVX512-BF16 CI machine). bfloat16 keeps float32's exponent range, so no
    loss scaling is needed; weights, gradients and optimizer state stay
    float32. On a CPU without native bfloat16 it still does what it is told,
    with a warning: there torch emulates bfloat16, several times slower than
    float32 (:class:`AutoPrecisionOptimWrapper` chooses for the machine).
    Arguments are those of ``OptimWrapper``.

    Example:
        >>> optim_wrapper = dict(type='BF16OptimWrapper',
        ...                      optimizer=dict(type='AdamW', lr=2e-3))
    """

    def __init__(self,
                 *args,
                 native_bfloat16: Optional[bool] = None,
                 **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if _device_type(self.optimizer) != 'cpu':
            print_log('training precision: bfloat16 autocast', 'current')
            return
        if default_dtype(native_bfloat16) == 'bfloat16':
            print_log('training precision: bfloat16 autocast, this CPU has '
                      'native bfloat16', 'current')
        else:
            print_log(
                'training precision: bfloat16 autocast, as configured '
                '(optim_wrapper.type=BF16OptimWrapper), but this CPU has no '
                'native bfloat16: torch emulates it, several times slower '
                'than float32. optim_wrapper.type=AutoPrecisionOptimWrapper '
                '(or tools/train.py --amp) picks float32 here.', 'current',
                logging.WARNING)

    @contextmanager
    def optim_context(self, model: nn.Module):
        """Enable bfloat16 autocast on the device the model's weights are on."""
        device_type = next(model.parameters()).device.type
        with super().optim_context(model), torch.autocast(
                device_type, dtype=torch.bfloat16):
            yield


@OPTIM_WRAPPERS.register_module(name='AutoPrecisionOptimWrapper')
def build_auto_precision_optim_wrapper(
        optimizer, native_bfloat16: Optional[bool] = None,
        **kwargs) -> OptimWrapper:
    """Mixed precision where the device runs it fast, float32 elsewhere.

    Registered as ``AutoPrecisionOptimWrapper``; ``tools/train.py --amp``
    selects it without a GPU. It builds, by
    :func:`projects.m2det.utils.precision.training_precision`:

    - on a GPU (or another accelerator), mmengine's float16
      ``AmpOptimWrapper``, with ``loss_scale`` and ``dtype`` if given;
    - on a CPU with native bfloat16, :class:`BF16OptimWrapper`;
    - on any other CPU, a float32 ``OptimWrapper``.

    and says which in the log.

    Args:
        optimizer: The optimizer (the runner builds it from ``optimizer=``).
        native_bfloat16 (bool, optional): The CPU's capability; None asks
            this CPU. Defaults to None.
        **kwargs: The wrappers' arguments (``accumulative_counts``,
            ``clip_grad``, and AmpOptimWrapper's).

    Example:
        >>> optim_wrapper = dict(type='AutoPrecisionOptimWrapper',
        ...                      optimizer=dict(type='AdamW', lr=2e-3))
    """
    device_type = _device_type(optimizer)
    precision = training_precision(device_type, native_bfloat16)
    if precision == 'float16':
        print_log(f'training precision: float16 AMP on {device_type}',
                  'current')
        return AmpOptimWrapper(optimizer=optimizer, **kwargs)
    kwargs = {k: v for k, v in kwargs.items() if k not in _AMP_ONLY_ARGS}
    if precision == 'bfloat16':
        return BF16OptimWrapper(
            optimizer=optimizer, native_bfloat16=True, **kwargs)
    print_log('training precision: float32, this CPU has no native bfloat16',
              'current')
    return OptimWrapper(optimizer=optimizer, **kwargs)
