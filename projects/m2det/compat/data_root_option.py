"""Make ``--cfg-options data_root=PATH`` move every dataset of a config.

mmengine evaluates an old-style config file before the command line is
merged, so the dataloaders and evaluators already hold the file's
``data_root`` as a resolved string, and overriding the top-level
``data_root`` alone changes nothing a run reads. mmdet's configs have the
same limitation; its docs ask users to override each dataloader's key. This
module extends ``Config.merge_from_dict`` (which mmdet's train.py and test.py,
and so ``mim train/test``, call with ``--cfg-options``): when the options set
``data_root``, every dataset whose ``data_root`` was the previous value, and
every evaluator ``ann_file`` under it, moves to the new root. Datasets a config
points elsewhere are left alone, and so are explicit per-dataloader options
given together with it.

Delete this module once mmengine re-evaluates a config's variables after
``--cfg-options`` (mmengine #560; mmdet #6915 and #2957 for mmdet 2.x).
"""
import os.path as osp
from typing import Any, List

import mmengine
from mmengine.config import Config

from ._versions import at_most

UPSTREAM = 'https://github.com/open-mmlab/mmengine/issues/560'
AFFECTED = ('mmengine <= 0.10.7 (a config file is evaluated before '
            '--cfg-options are merged)')


def is_needed() -> bool:
    """Whether the installed mmengine resolves ``data_root`` before the
    command line is merged."""
    return at_most(mmengine, '0.10.7')


def _with_trailing_sep(path: str, like: str) -> str:
    """``path`` ending in a separator if ``like`` does, so that prefixes such
    as ``data_root + 'annotations/...'`` stay well formed."""
    if like.endswith(('/', osp.sep)) and not path.endswith(('/', osp.sep)):
        return path + '/'
    return path


def _move_datasets(node: Any, old: str, new: str, where: str,
                   moved: List[str]) -> None:
    """Set ``data_root`` from ``old`` to ``new`` in every dataset under
    ``node`` (through wrappers' ``dataset`` / ``datasets``)."""
    if isinstance(node, dict):
        if node.get('data_root') == old:
            node['data_root'] = new
            moved.append(f'{where}.data_root')
        for key in ('dataset', 'datasets'):
            if key in node:
                _move_datasets(node[key], old, new, f'{where}.{key}', moved)
    elif isinstance(node, (list, tuple)):
        for i, item in enumerate(node):
            _move_datasets(item, old, new, f'{where}[{i}]', moved)


def _move_evaluators(node: Any, old: str, new: str, where: str,
                     moved: List[str]) -> None:
    """Re-root every evaluator ``ann_file`` that lies under ``old``."""
    if isinstance(node, dict):
        ann_file = node.get('ann_file')
        if isinstance(ann_file, str) and ann_file.startswith(old):
            node['ann_file'] = new + ann_file[len(old):]
            moved.append(f'{where}.ann_file')
    elif isinstance(node, (list, tuple)):
        for i, item in enumerate(node):
            _move_evaluators(item, old, new, f'{where}[{i}]', moved)


def move_data_root(cfg: Config, old: str, new: str) -> List[str]:
    """Move the datasets and evaluators of ``cfg`` from ``old`` to ``new``.

    Args:
        cfg (Config): The config, changed in place.
        old (str): The data root the config's datasets were built with.
        new (str): The data root to use instead.

    Returns:
        list[str]: The config keys that were changed.
    """
    new = _with_trailing_sep(new, old)
    cfg['data_root'] = new
    moved: List[str] = []
    for split in ('train', 'val', 'test'):
        loader = cfg.get(f'{split}_dataloader')
        if loader is not None:
            _move_datasets(loader.get('dataset'), old, new,
                           f'{split}_dataloader.dataset', moved)
        evaluator = cfg.get(f'{split}_evaluator')
        if evaluator is not None:
            _move_evaluators(evaluator, old, new, f'{split}_evaluator',
                             moved)
    return moved


def apply() -> bool:
    """Extend ``Config.merge_from_dict`` to apply :func:`move_data_root`.

    Returns:
        bool: Whether the fix is in effect.
    """
    merge = Config.merge_from_dict
    applied = getattr(merge, '_moves_data_root', False)
    if applied or not is_needed():
        return applied

    def merge_from_dict(self, options: dict, allow_list_keys: bool = True):
        old = self.get('data_root')
        merge(self, options, allow_list_keys)
        new = options.get('data_root')
        if isinstance(old, str) and isinstance(new, str) and new != old:
            # explicit per-dataloader options given alongside win: they were
            # merged already and no longer equal ``old``
            move_data_root(self, old, new)

    merge_from_dict._moves_data_root = True
    merge_from_dict.__doc__ = merge.__doc__
    Config.merge_from_dict = merge_from_dict
    return True
