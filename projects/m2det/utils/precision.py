"""Which floating-point precision runs fast here: one decision for training
and for inference.

bfloat16 pays off only where oneDNN has native bfloat16 kernels (CPUs with
AVX512-BF16 or AMX). Elsewhere, on AVX2-only CPUs such as AMD Zen 3, torch
emulates it: a demo training step measured 9.3 s in bfloat16 against
1.37 s in float32 on such a CPU. GPUs keep mmengine's float16 AMP.

Every function takes ``native_bfloat16`` so that callers and tests can
state the capability instead of asking this CPU.
"""
from typing import Optional

import torch

DTYPES = dict(float32=torch.float32, bfloat16=torch.bfloat16)


def cpu_has_native_bfloat16() -> bool:
    """Whether oneDNN runs bfloat16 convolutions and matmuls natively on
    this CPU (AVX512-BF16 or AMX) rather than emulating them."""
    return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())


def default_dtype(native_bfloat16: Optional[bool] = None) -> str:
    """``'bfloat16'`` where the CPU runs it natively, else ``'float32'``.

    Args:
        native_bfloat16 (bool, optional): The capability; None asks this CPU
            (:func:`cpu_has_native_bfloat16`). Defaults to None.
    """
    if native_bfloat16 is None:
        native_bfloat16 = cpu_has_native_bfloat16()
    return 'bfloat16' if native_bfloat16 else 'float32'


def resolve_dtype(dtype: str, native_bfloat16: Optional[bool] = None) -> str:
    """``dtype`` checked, with ``'auto'`` replaced by :func:`default_dtype`."""
    if dtype == 'auto':
        dtype = default_dtype(native_bfloat16)
    if dtype not in DTYPES:
        raise ValueError(
            f"dtype must be one of {[*DTYPES, 'auto']}, got {dtype!r}")
    return dtype


def training_precision(device_type: str,
                       native_bfloat16: Optional[bool] = None) -> str:
    """The mixed precision to train in on ``device_type``: ``'float16'``
    (mmengine's AMP) on an accelerator, :func:`default_dtype` on the CPU."""
    if device_type != 'cpu':
        return 'float16'
    return default_dtype(native_bfloat16)
