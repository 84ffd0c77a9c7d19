"""Loads mmengine 0.10.7 checkpoints under torch >= 2.6 (mmengine #1655).

torch 2.6 made ``torch.load`` default to ``weights_only=True``, which refuses
any class that is not explicitly allowed. mmengine saves its message hub
(``HistoryBuffer`` objects holding numpy arrays) in every checkpoint, so
``--resume``, ``load_from``, ``tools/test.py`` and inference all fail on the
checkpoints mmengine itself wrote. Rather than turning the safe loader off,
allow exactly the types mmengine writes; anything else still fails with
torch's own message naming the offending global.
"""
import numpy as np
import torch
from mmengine.logging import HistoryBuffer


def _numpy_globals() -> list:
    """The numpy callables and types that pickled arrays and scalars name."""
    multiarray = np.core.multiarray
    dtype_classes = [
        type(np.dtype(t)) for t in (np.float64, np.float32, np.int64,
                                    np.int32, np.bool_)
    ]
    return [
        multiarray._reconstruct, multiarray.scalar, np.ndarray, np.dtype,
        *dtype_classes
    ]


def allow_mmengine_checkpoints() -> None:
    """Let ``torch.load(weights_only=True)`` read mmengine's checkpoints."""
    # HistoryBuffer pickles its statistics methods as getattr(buffer, name);
    # the safe unpickler still refuses to call what getattr returns unless
    # that is allowed too.
    torch.serialization.add_safe_globals(
        [HistoryBuffer, getattr, *_numpy_globals()])
