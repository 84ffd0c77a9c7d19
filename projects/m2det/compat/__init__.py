"""Fixes to mmdet 3.3, mmengine 0.10.7 and torch >= 2.6 behaviour, one module
per fix (see ``docs/upstream_fixes.md``).

Each module names its upstream issue (``UPSTREAM``) and the versions it is
for (``AFFECTED``), says with ``is_needed()`` whether the installed versions
still need it, and changes something only in ``apply()``, and only when it
is needed. Importing this package, or any other part of the project, changes
nothing. Configs apply the fixes by listing
``projects.m2det.compat.apply_all`` in ``custom_imports``; Python code calls
:func:`apply_fixes`.
"""
import importlib
from types import ModuleType
from typing import Dict, Sequence

FIXES = ('ssd_head_predict', 'checkpoint_safe_globals', 'cpu_distributed',
         'data_root_option', 'resume_complete_checkpoint')


def fix_module(name: str) -> ModuleType:
    """The module of the fix ``name`` (one of :data:`FIXES`)."""
    if name not in FIXES:
        raise ValueError(f'unknown fix {name!r}; the fixes are {FIXES}')
    return importlib.import_module(f'{__name__}.{name}')


def apply_fixes(names: Sequence[str] = FIXES) -> Dict[str, bool]:
    """Apply the fixes the installed versions need.

    Idempotent.

    Args:
        names (Sequence[str]): Fixes to apply. Defaults to :data:`FIXES`.

    Returns:
        dict[str, bool]: For every fix, whether it is in effect (False:
        the installed versions do not need it, and nothing was changed).
    """
    return {name: fix_module(name).apply() for name in names}
