"""Multiply-accumulates of the official models, counted by mmengine's
analyzer (what mmdet's get_flops.py reports) and compared with the spec."""
import re

import pytest
import torch
from mmdet.registry import MODELS
from mmdet.utils import register_all_modules
from mmengine.analysis import FlopAnalyzer
from mmengine.config import Config

from conftest import REPO, run_tool
from projects.m2det.datasets import DEMO_CLASSES

register_all_modules()


def conv_gmacs(config, size):
    model = MODELS.build(Config.fromfile(REPO / 'configs' / config).model)
    analyzer = FlopAnalyzer(model.eval(), (torch.rand(1, 3, size, size), ))
    analyzer.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
    return analyzer.by_operator()['conv'] / 1e9


@pytest.mark.parametrize('config, size, gmacs', [
    ('m2det_vgg16_320.py', 320, 74.3),
    ('m2det_vgg16_512.py', 512, 190.1),
    ('m2det_vgg16_800.py', 800, 464.8),
    ('m2det_r101_320.py', 320, 92.8),
])
def test_conv_macs_match_the_official_model(config, size, gmacs):
    assert conv_gmacs(config, size) == pytest.approx(gmacs, abs=0.05)


def test_mmdet_get_flops_runs_on_our_config(demo_root):
    classes = ','.join(DEMO_CLASSES)
    proc = run_tool(
        'tools/analysis_tools/get_flops.py', 'configs/m2det_vgg16_320.py',
        '--num-images', '1', '--cfg-options',
        f'val_dataloader.dataset.data_root={demo_root}/',
        'val_dataloader.dataset.ann_file=annotations/val.json',
        'val_dataloader.dataset.data_prefix.img=val/',
        f'val_dataloader.dataset.metainfo.classes=[{classes}]',
        'val_dataloader.num_workers=0',
        'val_dataloader.persistent_workers=False')
    assert 'Input shape: (320, 320)' in proc.stdout
    # convs 74.30 G plus mmengine's count of BN and upsampling elements
    flops = float(re.search(r'Flops: ([\d.]+)G', proc.stdout)[1])
    assert 74.3 <= flops < 74.4
    assert 'Params: 0.133G' in proc.stdout
