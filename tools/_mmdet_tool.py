"""Run one of mmdet's own command-line tools with this project importable."""
import os.path as osp
import runpy
import sys

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


def run_mmdet_tool(relpath: str) -> None:
    """Execute ``mmdet/.mim/tools/<relpath>`` as ``__main__`` with our argv.

    The repo root goes first on ``sys.path`` so that the configs'
    ``custom_imports = ['projects.m2det']`` resolve from any working
    directory, with or without the project installed.
    """
    sys.path.insert(0, REPO_ROOT)
    import mmdet
    tool = osp.join(osp.dirname(mmdet.__file__), '.mim', 'tools', relpath)
    sys.argv[0] = tool
    runpy.run_path(tool, run_name='__main__')
