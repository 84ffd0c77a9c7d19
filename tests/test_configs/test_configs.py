"""Every config in configs/: it builds, computes a loss, and the full-width
models have the official parameter counts; pretrained backbones load from
local files."""
import copy

import pytest
import torch
from mmdet.registry import MODELS
from mmdet.testing import demo_mm_inputs
from mmdet.utils import register_all_modules
from mmengine.config import Config

from conftest import REPO, run_tool

register_all_modules()

# every M2Det config; the peers they are compared with (mmdet models,
# configs/small_data/ssdlite_*) are tested on their own below
CONFIGS = sorted(
    str(p.relative_to(REPO / 'configs'))
    for p in (REPO / 'configs').rglob('m2det_*.py')
    if '_base_' not in p.parts)
PEER_CONFIGS = sorted(
    str(p.relative_to(REPO / 'configs'))
    for p in (REPO / 'configs').rglob('*.py')
    if '_base_' not in p.parts and not p.name.startswith('m2det_'))


def count(module):
    return sum(p.numel() for p in module.parameters())


def load(name):
    return Config.fromfile(REPO / 'configs' / name)


def narrow(model_cfg, planes=16):
    """The model of a config with thin TUMs, so every config runs in a test.

    The backbone keeps its architecture; the TUM width, FFM widths and head
    inputs shrink, the head's computed from the neck as in the configs.
    """
    model_cfg = copy.deepcopy(model_cfg)
    neck = model_cfg.neck
    neck.planes = planes
    neck.ffm_channels = (planes, 2 * planes)
    num_levels = neck.get('num_levels', 8)
    num_scales = neck.get('num_scales', 6)
    model_cfg.bbox_head.in_channels = (planes * num_levels, ) * num_scales
    return model_cfg


def test_the_model_family_and_the_ablation_grid_are_there():
    family = [f'm2det_vgg16_{s}.py' for s in (320, 512, 704, 800)] + [
        f'm2det_r{d}_{s}.py' for d in (50, 101) for s in (320, 512)
    ] + [f'm2det_vgg16_{s}_voc0712.py' for s in (320, 512)]
    grid = [
        f'ablations/m2det_vgg16_320_tum{n}_w{w}.py' for n in (1, 2, 4, 8)
        for w in (128, 256) if (n, w) != (8, 256)  # 8 x 256 is the default
    ] + [
        f'ablations/m2det_vgg16_320_{name}.py'
        for name in ('sfam', 'sfam_per_scale', 'base_first_tum',
                     'no_smooth', 'paper_tum')
    ]
    assert set(family + grid) <= set(CONFIGS)


def packed_inputs(size, num_classes):
    """Two random images with boxes of labels below ``num_classes`` (mmdet's
    ``demo_mm_inputs`` draws labels from 1 and needs two classes)."""
    packed = demo_mm_inputs(2, [[3, size, size]] * 2,
                            num_classes=max(num_classes, 2))
    for sample in packed['data_samples']:
        labels = sample.gt_instances.labels
        sample.gt_instances.labels = labels % num_classes
    return packed


@pytest.mark.parametrize('name', CONFIGS)
def test_config_builds_and_computes_a_loss(name):
    cfg = load(name)
    num_classes = cfg.model.bbox_head.num_classes
    torch.manual_seed(0)
    model = MODELS.build(narrow(cfg.model))
    # 264 px is the smallest input that still gives 6 scales (a 33x33 map at
    # stride 8)
    packed = packed_inputs(264, num_classes)
    data = model.data_preprocessor(packed, True)
    model.train()
    cls_scores, bbox_preds = model._forward(data['inputs'])
    num_priors = model.bbox_head.num_base_priors
    assert len(cls_scores) == model.neck.num_scales
    assert {s.shape[1] for s in cls_scores} == {
        num_priors[0] * (num_classes + 1)}
    assert {p.shape[1] for p in bbox_preds} == {num_priors[0] * 4}
    losses = model.loss(data['inputs'], data['data_samples'])
    loss, _ = model.parse_losses(losses)
    assert torch.isfinite(loss) and loss > 0


@pytest.mark.parametrize('name', PEER_CONFIGS)
def test_peer_config_builds_and_computes_a_loss(name):
    from projects.m2det.compat import apply_fixes
    apply_fixes()  # as the config's custom_imports do in tools/train.py
    cfg = load(name)
    assert cfg.model.neck.type != 'MLFPN'
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    packed = packed_inputs(320, cfg.model.bbox_head.num_classes)
    data = model.data_preprocessor(packed, True)
    model.train()
    losses = model.loss(data['inputs'], data['data_samples'])
    loss, _ = model.parse_losses(losses)
    assert torch.isfinite(loss) and loss > 0


# Spec figures. ResNet-50: the ResNet-101 model with torchvision's
# resnet50 trunk (23,508,032 parameters without fc) for resnet101's
# (42,500,160): 155,173,684 - 42,500,160 + 23,508,032.
PARAMS = {
    'm2det_vgg16_320.py': 132_633_140,
    'm2det_vgg16_512.py': 132_633_140,
    'm2det_vgg16_704.py': 132_633_140,
    'm2det_vgg16_800.py': 132_633_140,
    'ablations/m2det_vgg16_320_sfam.py': 133_159_604,
    'm2det_r101_320.py': 155_173_684,
    'm2det_r101_512.py': 155_173_684,
    'm2det_r50_320.py': 136_181_556,
    'm2det_vgg16_320_voc0712.py': 92_817_860,
    'm2det_vgg16_512_voc0712.py': 92_817_860,
}


@pytest.mark.parametrize('name, params', PARAMS.items())
def test_official_parameter_counts(name, params):
    assert count(MODELS.build(load(name).model)) == params


def backbone_with_weights(name, checkpoint):
    """The backbone of a config, initialised from ``checkpoint``."""
    cfg = load(name).model.backbone
    cfg.init_cfg.checkpoint = str(checkpoint)
    backbone = MODELS.build(cfg)
    backbone.init_weights()
    return backbone


def test_vgg16_reducedfc_weights_convert_and_load(tmp_path):
    from mmdet.models.backbones import SSDVGG
    torch.manual_seed(1)
    source = SSDVGG(depth=16, with_last_pool=False, ceil_mode=True)
    # ssd.pytorch / official M2Det layout: an nn.ModuleList's keys, '0.weight'
    raw = {k.removeprefix('features.'): v
           for k, v in source.state_dict().items()}
    torch.save(raw, tmp_path / 'vgg16_reducedfc.pth')
    run_tool('tools/model_converters/vgg16_reducedfc_to_mmdet.py',
             tmp_path / 'vgg16_reducedfc.pth', tmp_path / 'vgg_mmdet.pth')
    backbone = backbone_with_weights('m2det_vgg16_320.py',
                                     tmp_path / 'vgg_mmdet.pth')
    loaded = backbone.state_dict()
    assert len(loaded) == 30
    for key, value in source.state_dict().items():
        assert torch.equal(loaded[key], value), key


def test_vgg16_converter_rejects_other_weights(tmp_path):
    from mmdet.models.backbones import ResNet
    torch.save(ResNet(depth=18).state_dict(), tmp_path / 'resnet18.pth')
    proc = run_tool('tools/model_converters/vgg16_reducedfc_to_mmdet.py',
                    tmp_path / 'resnet18.pth', tmp_path / 'out.pth',
                    check=False)
    assert proc.returncode != 0
    assert 'resnet18.pth is not a reduced-fc VGG16 state dict' in proc.stderr
    assert 'conv1.weight' in proc.stderr
    assert not (tmp_path / 'out.pth').exists()


def test_torchvision_resnet_weights_load(tmp_path):
    from mmdet.models.backbones import ResNet
    torch.manual_seed(2)
    source = ResNet(depth=50)
    # torchvision's resnet50-19c8e357.pth: the same keys plus the fc layer
    weights = dict(source.state_dict(), **{
        'fc.weight': torch.rand(1000, 2048),
        'fc.bias': torch.rand(1000)
    })
    torch.save(weights, tmp_path / 'resnet50.pth')
    backbone = backbone_with_weights('m2det_r50_320.py',
                                     tmp_path / 'resnet50.pth')
    assert backbone.depth == 50 and backbone.strides == (1, 2, 1, 2)
    loaded = backbone.state_dict()
    for key, value in source.state_dict().items():
        assert torch.equal(loaded[key], value), key


def test_missing_pretrained_file_names_the_path():
    cfg = load('m2det_r101_320.py').model.backbone
    backbone = MODELS.build(cfg)
    with pytest.raises(FileNotFoundError,
                       match='checkpoints/resnet101-5d3b4d8f.pth'):
        backbone.init_weights()


@pytest.mark.parametrize('name, sides, priors', [
    ('m2det_vgg16_320.py', (40, 20, 10, 5, 3, 1), 12_810),
    ('m2det_vgg16_512.py', (64, 32, 16, 8, 4, 2), 32_760),
    ('m2det_vgg16_704.py', (88, 44, 22, 11, 6, 4), 62_022),
    ('m2det_vgg16_800.py', (100, 50, 25, 13, 7, 5), 80_208),
    ('m2det_r101_320.py', (40, 20, 10, 5, 3, 1), 12_810),
])
def test_each_input_size_gives_the_official_pyramid_and_priors(
        name, sides, priors):
    cfg = load(name)
    size = cfg.model.bbox_head.anchor_generator.input_size
    model = MODELS.build(narrow(cfg.model)).eval()
    with torch.no_grad():
        cls_scores, _ = model._forward(torch.rand(1, 3, size, size))
    assert tuple(s.shape[-1] for s in cls_scores) == sides
    anchors = model.bbox_head.prior_generator.grid_priors(
        [s.shape[-2:] for s in cls_scores], device='cpu')
    assert sum(len(a) for a in anchors) == priors


def test_too_small_input_names_the_size_and_the_sizes_that_work():
    model = MODELS.build(narrow(load('m2det_vgg16_320.py').model)).eval()
    with pytest.raises(ValueError, match=r'256px input.*input size >= 257px'):
        model._forward(torch.rand(1, 3, 256, 256))
