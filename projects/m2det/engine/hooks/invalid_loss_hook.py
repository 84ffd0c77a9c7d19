"""Stop training at the first non-finite loss, saying where and what."""
import math
from typing import Optional

import torch
from mmdet.registry import HOOKS
from mmengine.hooks import Hook
from mmengine.runner import Runner


@HOOKS.register_module()
class StopOnInvalidLossHook(Hook):
    """Stop the run when the loss becomes NaN or infinite.

    mmdet's ``CheckInvalidLossHook`` checks every 50 iterations by default
    and fails with an empty ``AssertionError``. This hook checks every
    iteration (one scalar test) and raises an error that names the
    iteration, every loss term and what to change, before a checkpoint of
    the broken weights can be written.

    Args:
        interval (int): Check every ``interval`` iterations. Defaults to 1.
    """

    priority = 'VERY_HIGH'  # before CheckpointHook saves the broken weights

    def __init__(self, interval: int = 1) -> None:
        self.interval = interval

    def after_train_iter(self,
                         runner: Runner,
                         batch_idx: int,
                         data_batch: Optional[dict] = None,
                         outputs: Optional[dict] = None) -> None:
        """Raise ``FloatingPointError`` if the iteration's loss is not
        finite."""
        if outputs is None or not self.every_n_train_iters(
                runner, self.interval):
            return
        loss = float(outputs['loss'])
        if math.isfinite(loss):
            return
        terms = ', '.join(
            f'{name}={float(value):.4g}' for name, value in outputs.items()
            if isinstance(value, (torch.Tensor, float)))
        raise FloatingPointError(
            f'training stopped at iteration {runner.iter + 1} (epoch '
            f'{runner.epoch + 1}): the loss is {loss} ({terms}). Check the '
            'input normalisation (model.data_preprocessor), lower the '
            'learning rate (optim_wrapper.optimizer.lr) or clip gradients '
            '(optim_wrapper.clip_grad=dict(max_norm=35)); resume from the '
            'last checkpoint with --resume')
