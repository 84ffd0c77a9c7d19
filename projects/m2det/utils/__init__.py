"""Helpers shared by training, inference and the tools."""
from .precision import (cpu_has_native_bfloat16, default_dtype, resolve_dtype,
                        training_precision)

__all__ = [
    'cpu_has_native_bfloat16', 'default_dtype', 'resolve_dtype',
    'training_precision'
]
