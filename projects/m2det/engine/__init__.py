"""Training and testing with mmengine's runner: hooks and optimizer
wrappers."""
from .hooks import FastInferenceHook, StopOnInvalidLossHook
from .optimizers import BF16OptimWrapper, build_auto_precision_optim_wrapper

__all__ = [
    'BF16OptimWrapper', 'FastInferenceHook', 'StopOnInvalidLossHook',
    'build_auto_precision_optim_wrapper'
]
