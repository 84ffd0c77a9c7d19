"""Resume from the newest complete checkpoint, whenever the run was killed.

mmengine's ``CheckpointHook`` writes ``epoch_N.pth`` in place and then
rewrites ``<work_dir>/last_checkpoint`` by truncating and writing it
(mmengine/hooks/checkpoint_hook.py, ``_save_checkpoint_with_step``). A run
killed inside that window leaves an empty ``last_checkpoint``, and
``--resume`` then tries to load the path ``''``; one killed while writing a
checkpoint leaves a truncated file. :func:`find_resumable_checkpoint`
replaces ``find_latest_checkpoint`` where the runner calls it: it takes
``last_checkpoint`` when that names a complete file, and otherwise the newest
complete ``epoch_*.pth`` / ``iter_*.pth`` of the work directory.

No upstream issue tracks this (searched mmengine's tracker; mmengine #80
introduced ``last_checkpoint``); delete this module once mmengine writes
``last_checkpoint`` atomically and checks what it names.
"""
import os.path as osp
import re
import zipfile
from glob import glob
from typing import Optional

import mmengine
import mmengine.runner.runner as runner_module
from mmengine.logging import print_log

from ._versions import at_most

UPSTREAM = ('none found; https://github.com/open-mmlab/mmengine/issues/80 '
            'introduced last_checkpoint')
AFFECTED = 'mmengine <= 0.10.7 (last_checkpoint rewritten in place)'

_STEP = re.compile(r'(?:epoch|iter)_(\d+)\.pth$')


def _is_complete(path: str) -> bool:
    """Whether ``path`` is a whole checkpoint: torch saves a zip archive,
    whose central directory is written last, so a truncated file fails."""
    return osp.isfile(path) and zipfile.is_zipfile(path)


def is_needed() -> bool:
    """Whether the installed mmengine writes ``last_checkpoint`` in place."""
    return at_most(mmengine, '0.10.7')


def find_resumable_checkpoint(work_dir: str) -> Optional[str]:
    """The checkpoint ``--resume`` should load from ``work_dir``.

    Args:
        work_dir (str): The run's work directory.

    Returns:
        str or None: ``last_checkpoint``'s target if it is complete, else the
        newest complete ``epoch_*.pth`` / ``iter_*.pth``, else None.
    """
    last_file = osp.join(work_dir, 'last_checkpoint')
    last = ''
    if osp.isfile(last_file):
        with open(last_file) as f:
            last = f.read().strip()
    if last and _is_complete(last):
        return last
    candidates = sorted(
        (int(m[1]), path) for path in glob(osp.join(work_dir, '*.pth'))
        if (m := _STEP.search(osp.basename(path))))
    for _, path in reversed(candidates):
        if _is_complete(path):
            print_log(
                f"last_checkpoint names {last or 'nothing'!r}, which is not a "
                f'complete checkpoint; resuming from {path}',
                logger='current')
            return path
    if last:
        print_log(f'no complete checkpoint in {work_dir} to resume from',
                  logger='current')
    return None


def apply() -> bool:
    """Make the runner's ``--resume`` use :func:`find_resumable_checkpoint`.

    Returns:
        bool: Whether the fix is in effect.
    """
    applied = runner_module.find_latest_checkpoint is find_resumable_checkpoint
    if applied or not is_needed():
        return applied
    runner_module.find_latest_checkpoint = find_resumable_checkpoint
    return True
