"""Run one of mmdet's own command-line tools on this project's configs."""
import os.path as osp
import runpy
import sys


def run_mmdet_tool(relpath: str) -> None:
    """Execute ``mmdet/.mim/tools/<relpath>`` as ``__main__`` with our argv.

    The configs' ``custom_imports`` register the project's modules and apply
    its fixes (:mod:`projects.m2det.compat`) when mmdet's tool loads them.

    Args:
        relpath (str): The tool's path under mmdet's ``tools/``, such as
            ``'train.py'`` or ``'analysis_tools/get_flops.py'``.
    """
    import mmdet
    tool = osp.join(osp.dirname(mmdet.__file__), '.mim', 'tools', relpath)
    sys.argv[0] = tool
    runpy.run_path(tool, run_name='__main__')
