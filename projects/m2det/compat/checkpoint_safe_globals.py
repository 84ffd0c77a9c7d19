"""mmengine 0.10.7 cannot load its own checkpoints under torch >= 2.6.

torch 2.6 made ``torch.load`` default to ``weights_only=True``, which refuses
any global that is not explicitly allowed. mmengine saves its message hub
(``HistoryBuffer`` objects holding numpy arrays) in every checkpoint, so
``--resume``, ``load_from``, ``tools/test.py`` and inference all fail on the
checkpoints mmengine itself wrote. Rather than turning the safe loader off
(mmengine PR #1650), this fix allows exactly what mmengine's checkpoints
hold, and only while mmengine's ``CheckpointLoader`` loads a file: a plain
``torch.load`` elsewhere in the process is as strict as before. A file that
names anything else is refused with the file's name and the offending
global.

Delete this module once mmengine loads its checkpoints under torch >= 2.6.
"""
import functools
import pickle
from typing import Any, Callable, List

import mmengine
import numpy as np
import torch
from mmengine.logging import HistoryBuffer
from mmengine.runner.checkpoint import CheckpointLoader

from ._versions import at_least, at_most

UPSTREAM = 'https://github.com/open-mmlab/mmengine/issues/1655'
AFFECTED = 'mmengine <= 0.10.7 with torch >= 2.6'

_DEFAULT_STATISTICS = ('min', 'max', 'current', 'mean')


def is_needed() -> bool:
    """Whether torch loads weights only by default and mmengine does not
    yet allow for it."""
    return at_least(torch, '2.6.0') and at_most(mmengine, '0.10.7')


def history_buffer_method(owner: Any, name: str) -> Callable:
    """``getattr`` as a checkpoint may call it: for a ``HistoryBuffer``
    statistics method only.

    A ``HistoryBuffer`` pickles its statistics methods (``mean``, ``max``,
    ...) by name, which the unpickler resolves as ``getattr(HistoryBuffer,
    name)``; any other ``getattr`` in a pickle is refused.
    """
    # the defaults are registered on the first HistoryBuffer built
    statistics = {*_DEFAULT_STATISTICS, *HistoryBuffer._statistics_methods}
    if owner is not HistoryBuffer or name not in statistics:
        raise pickle.UnpicklingError(
            f'getattr({owner!r}, {name!r}) is not a HistoryBuffer statistics '
            'method; refusing to load it')
    return getattr(HistoryBuffer, name)


def mmengine_checkpoint_globals() -> List:
    """What mmengine 0.10.7 checkpoints name besides tensors: the message
    hub's ``HistoryBuffer``, its statistics methods, and numpy arrays and
    scalars."""
    multiarray = np.core.multiarray
    dtype_classes = [
        type(np.dtype(t))
        for t in (np.float64, np.float32, np.int64, np.int32, np.bool_)
    ]
    return [
        HistoryBuffer, (history_buffer_method, 'builtins.getattr'),
        multiarray._reconstruct, multiarray.scalar, np.ndarray, np.dtype,
        *dtype_classes
    ]


def _load_with_mmengine_globals(load_checkpoint: Callable) -> Callable:
    """Wrap ``CheckpointLoader.load_checkpoint`` in the allowlist."""

    @functools.wraps(load_checkpoint)
    def wrapper(cls, filename, map_location=None, logger='current'):
        with torch.serialization.safe_globals(mmengine_checkpoint_globals()):
            try:
                return load_checkpoint(cls, filename, map_location, logger)
            except pickle.UnpicklingError as error:
                raise pickle.UnpicklingError(
                    f'{filename}: refused to load it, as it names more than '
                    'tensors and what mmengine checkpoints hold. If you '
                    'trust the file, load it with torch.load(filename, '
                    'weights_only=False) and save its state_dict alone. '
                    f'torch says: {error}') from error

    wrapper.mmengine_globals = True
    return wrapper


def apply() -> bool:
    """Let mmengine's ``CheckpointLoader`` read mmengine's checkpoints.

    Returns:
        bool: Whether the fix is in effect.
    """
    load = CheckpointLoader.__dict__['load_checkpoint'].__func__
    if getattr(load, 'mmengine_globals', False):
        return True
    if not is_needed():
        return False
    CheckpointLoader.load_checkpoint = classmethod(
        _load_with_mmengine_globals(load))
    return True
