from .optim_wrappers import (BF16OptimWrapper,
                             build_auto_precision_optim_wrapper)

__all__ = ['BF16OptimWrapper', 'build_auto_precision_optim_wrapper']
