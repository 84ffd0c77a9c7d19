"""Importing this module applies every fix the installed versions need.

It is what the configs list in ``custom_imports``, so that mmdet's tools
(``tools/train.py``, ``mim train``, ...) run with the fixes; nothing else in
the project applies them on import.
"""
from . import apply_fixes

APPLIED = apply_fixes()
