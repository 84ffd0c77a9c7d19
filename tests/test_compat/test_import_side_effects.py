"""Importing the project changes nothing in mmdet, mmengine or torch; the
fixes take effect only when applied (as the configs' custom_imports do), and
only where the installed versions need them."""
import json
import subprocess
import sys

from conftest import REPO

# What each fix replaces, read in a fresh interpreter.
SNAPSHOT = """
import json
import torch
from mmdet.models.dense_heads import SSDHead
from mmengine.config import Config
from mmengine.dist import utils as dist_utils
from mmengine.model import MMDistributedDataParallel
from mmengine.runner import runner as runner_module
from mmengine.runner.checkpoint import CheckpointLoader


def snapshot():
    return dict(
        ssd_head_loss_cls=repr(SSDHead.__dict__.get('loss_cls', 'absent')),
        load_checkpoint=id(CheckpointLoader.__dict__['load_checkpoint']),
        loader_schemes=sorted(map(id, CheckpointLoader._schemes.values())),
        safe_globals=sorted(map(repr, torch.serialization.get_safe_globals())),
        init_dist_pytorch=id(dist_utils._init_dist_pytorch),
        ddp_init=id(MMDistributedDataParallel.__init__),
        merge_from_dict=id(Config.merge_from_dict),
        find_latest_checkpoint=id(runner_module.find_latest_checkpoint))
"""

PROJECT_MODULES = [
    'projects.m2det', 'projects.m2det.models', 'projects.m2det.datasets',
    'projects.m2det.datasets.transforms', 'projects.m2det.engine',
    'projects.m2det.deploy', 'projects.m2det.converters',
    'projects.m2det.converters.official_network',
    'projects.m2det.converters.official_reference', 'projects.m2det.apis',
    'projects.m2det.apis.inferencer', 'projects.m2det.utils.benchmark',
    'projects.m2det.utils.benchmark_report',
    'projects.m2det.utils', 'projects.m2det.compat',
    *(f'projects.m2det.compat.{name}' for name in (
        'ssd_head_predict', 'checkpoint_safe_globals', 'cpu_distributed',
        'data_root_option', 'resume_complete_checkpoint'))
]


def run_python(code: str) -> dict:
    proc = subprocess.run([sys.executable, '-c', code], cwd=REPO,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_importing_the_project_patches_nothing():
    result = run_python(SNAPSHOT + f"""
import importlib
before = snapshot()
for name in {PROJECT_MODULES!r}:
    importlib.import_module(name)
imported = snapshot()
import projects.m2det.compat.apply_all
applied = snapshot()
print(json.dumps(dict(before=before, imported=imported, applied=applied,
                      report=projects.m2det.compat.apply_all.APPLIED)))
""")
    before, imported, applied = (result[k]
                                 for k in ('before', 'imported', 'applied'))
    assert imported == before
    # the snapshot sees every fix: applying them changes each entry but the
    # process-wide allowlist and mmengine's per-scheme loaders
    changed = {key for key in before if applied[key] != before[key]}
    assert changed == {
        'ssd_head_loss_cls', 'load_checkpoint', 'init_dist_pytorch',
        'ddp_init', 'merge_from_dict', 'find_latest_checkpoint'
    }
    assert result['report'] == dict.fromkeys(result['report'], True)
    assert len(result['report']) == 5


def test_loading_a_config_applies_the_fixes():
    result = run_python(SNAPSHOT + """
from mmengine.config import Config
before = snapshot()
Config.fromfile('configs/m2det_demo.py')
after = snapshot()
print(json.dumps(dict(changed=sorted(k for k in before
                                     if before[k] != after[k]))))
""")
    assert result['changed'] == [
        'ddp_init', 'find_latest_checkpoint', 'init_dist_pytorch',
        'load_checkpoint', 'merge_from_dict', 'ssd_head_loss_cls'
    ]


def test_fixes_do_nothing_where_upstream_no_longer_needs_them():
    """With a newer mmengine and torch and an mmdet whose SSDHead has
    ``loss_cls``, every fix reports that it is not needed and changes
    nothing."""
    result = run_python(SNAPSHOT + """
import mmengine
from mmdet.models.dense_heads import SSDHead
mmengine.__version__ = '0.11.0'
SSDHead.loss_cls = 'upstream'
before = snapshot()
from projects.m2det.compat import FIXES, apply_fixes, fix_module
needed = {name: fix_module(name).is_needed() for name in FIXES}
report = apply_fixes()
print(json.dumps(dict(needed=needed, report=report,
                      unchanged=snapshot() == before)))
""")
    assert result['needed'] == dict.fromkeys(result['needed'], False)
    assert result['report'] == dict.fromkeys(result['report'], False)
    assert len(result['report']) == 5
    assert result['unchanged']


def test_checkpoint_fix_is_not_needed_before_torch_2_6():
    result = run_python("""
import json
import torch
torch.__version__ = '2.5.1'
from projects.m2det.compat import checkpoint_safe_globals as fix
print(json.dumps(dict(needed=fix.is_needed(), applied=fix.apply())))
""")
    assert result == dict(needed=False, applied=False)


def test_unknown_fix_is_named():
    proc = subprocess.run(
        [sys.executable, '-c', 'from projects.m2det.compat import '
         "apply_fixes; apply_fixes(['resume'])"],
        cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode != 0
    assert "unknown fix 'resume'" in proc.stderr
    assert 'resume_complete_checkpoint' in proc.stderr
