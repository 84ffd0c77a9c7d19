"""Official M2Det checkpoints, converted, give the official model's outputs.

``tests/data/m2det320_{vgg,resnet101}_official_reference.json`` hold what
the official code (github.com/VDIGPKU/M2Det) computes for seeded random
weights and a fixed input
(:mod:`projects.m2det.converters.official_reference` has the recipe,
``tools/misc/make_official_reference.py`` made the files). Here the same
weights go through the converter into the detectors of
``configs/m2det_vgg16_320.py`` and ``configs/m2det_r101_320.py``, which
must reproduce the MLFPN outputs, the decoded boxes and the class scores.
"""
import json
import math
import re

import pytest
import torch
from mmdet.registry import MODELS
from mmdet.utils import register_all_modules
from mmengine.config import Config
from mmengine.runner import load_checkpoint

from conftest import REPO, run_tool
from projects.m2det.converters import (OFFICIAL_ANCHOR_ORDER,
                                       check_against_model,
                                       convert_official_state_dict)
from projects.m2det.converters import official_reference as ref
from projects.m2det.converters import permute_head_channels

register_all_modules()

CONFIG = REPO / 'configs' / 'm2det_vgg16_320.py'
DATA = REPO / 'tests' / 'data'
NUM_CLASSES = 80
# Same float32 operations on both sides: differences are rounding only.
# Sums of up to 3.3M activations (|sum| >= 490) and box corners (|x| <= 700
# px, some near 0) get an absolute floor far below what a misplaced channel
# or anchor would change; softmax scores are ~1e-3 to 1e-1.
RTOL = 1e-4
SUM_ATOL = 1e-2
BOX_ATOL = 1e-3
SCORE_ATOL = 1e-7


# Each network the official code was run on: its config here, the key list
# of its official checkpoint and the reference the official code computed.
NETWORKS = dict(
    vgg16=('m2det_vgg16_320.py', 'official_state_dict_m2det320_vgg.txt',
           'm2det320_vgg_official_reference.json'),
    resnet101=('m2det_r101_320.py',
               'official_state_dict_m2det320_resnet101.txt',
               'm2det320_resnet101_official_reference.json'))


def official_weights(network):
    """The seeded weights in the layout of ``network``'s official
    checkpoint."""
    return ref.make_official_state_dict(DATA / NETWORKS[network][1])


def converted_detector(network, official):
    """The detector of ``network``'s config with ``official`` converted."""
    config = REPO / 'configs' / NETWORKS[network][0]
    model = MODELS.build(Config.fromfile(config).model)
    model.load_state_dict(convert_official_state_dict(official), strict=True)
    return model.eval()


@pytest.fixture(scope='module')
def official():
    return official_weights('vgg16')


@pytest.fixture(scope='module')
def converted(official):
    return convert_official_state_dict(official)


@pytest.fixture(scope='module')
def detector(official):
    return converted_detector('vgg16', official)


@pytest.fixture(scope='module', params=list(NETWORKS))
def network(request):
    return request.param


@pytest.fixture(scope='module')
def reference(network):
    return json.loads((DATA / NETWORKS[network][2]).read_text())


@pytest.fixture(scope='module')
def outputs(network):
    """MLFPN outputs, priors, decoded boxes and softmax scores of the
    fixed input, all priors concatenated as in the official code."""
    detector = converted_detector(network, official_weights(network))
    head = detector.bbox_head
    with torch.no_grad():
        feats = detector.neck(detector.backbone(ref.make_input()))
        cls_scores, bbox_preds = head(feats)
    priors = torch.cat(head.prior_generator.grid_priors(
        [f.shape[-2:] for f in feats], device='cpu'))
    # (N, A * C, H, W) -> (H * W * A, C): location-major, anchor-minor
    deltas = torch.cat(
        [p[0].permute(1, 2, 0).reshape(-1, 4) for p in bbox_preds])
    logits = torch.cat([
        c[0].permute(1, 2, 0).reshape(-1, NUM_CLASSES + 1) for c in cls_scores
    ])
    # no max_shape: the official decoder does not clip to the image either
    boxes = head.bbox_coder.decode(priors, deltas)
    scores = logits.softmax(-1)
    return dict(
        feats=feats, deltas=deltas, logits=logits, priors=priors,
        boxes=boxes,
        # our background is the last class, the official one the first
        official_order_scores=scores[:, [NUM_CLASSES, *range(NUM_CLASSES)]])


def test_references_are_the_official_networks(reference, network):
    expected = dict(vgg16=('vgg16', 'vgg'), resnet101=('resnet101', 'res'))
    config = reference['recipe']['official_config']
    assert (config['backbone'], config['net_family']) == expected[network]
    assert reference['recipe']['official_commit'].startswith('de4a624')


def test_mlfpn_level_sums_match_official(outputs, reference):
    ours = torch.stack([f.double().sum() for f in outputs['feats']])
    torch.testing.assert_close(
        ours, torch.tensor(reference['level_sums'], dtype=torch.float64),
        rtol=RTOL, atol=SUM_ATOL)


def test_head_sums_match_official(outputs, reference):
    ours = torch.stack([outputs['deltas'].double().sum(),
                        outputs['logits'].double().sum()])
    torch.testing.assert_close(
        ours, torch.tensor([reference['loc_sum'], reference['conf_sum']],
                           dtype=torch.float64),
        rtol=RTOL, atol=SUM_ATOL)


def test_priors_follow_the_official_anchor_order(outputs, reference):
    """Our prior ``k`` of a location is official prior
    ``OFFICIAL_ANCHOR_ORDER[k]`` there (the head conversion assumes it)."""
    assert len(outputs['priors']) == reference['num_priors']
    samples = reference['sample_indices']
    official = dict(zip(samples, reference['priors']))
    num_anchors = len(OFFICIAL_ANCHOR_ORDER)
    # first location of the 40x40 level and the single 1x1 location
    for first in (0, reference['num_priors'] - num_anchors):
        expected = [official[first + k] for k in OFFICIAL_ANCHOR_ORDER]
        torch.testing.assert_close(
            outputs['priors'][first:first + num_anchors],
            torch.tensor(expected), rtol=RTOL, atol=BOX_ATOL)
    torch.testing.assert_close(
        outputs['priors'][samples], torch.tensor(reference['priors']),
        rtol=RTOL, atol=BOX_ATOL)


def test_official_anchor_order_is_the_identity():
    assert OFFICIAL_ANCHOR_ORDER == (0, 1, 2, 3, 4, 5)


def test_decoded_boxes_match_official(outputs, reference):
    samples = reference['sample_indices']
    # inside mmdet's |dw|, |dh| clamp of log(1000 / 16) (after x0.2), which
    # the official decoder does not have
    assert (outputs['deltas'][:, 2:] * 0.2).abs().max() < 0.9 * math.log(
        1000 / 16)
    torch.testing.assert_close(
        outputs['boxes'][samples], torch.tensor(reference['boxes']),
        rtol=RTOL, atol=BOX_ATOL)


def test_class_scores_match_official(outputs, reference):
    scores = outputs['official_order_scores']
    samples = reference['sample_indices']
    for ours, expected in (
            (scores[samples, reference['sample_classes']],
             reference['class_scores']),
            (scores[samples, 0], reference['background_scores']),
            (scores[0], reference['first_prior_scores'])):
        torch.testing.assert_close(ours, torch.tensor(expected), rtol=RTOL,
                                   atol=SCORE_ATOL)


def test_data_parallel_prefix_converts_identically(official, converted):
    prefixed = {f'module.{k}': v for k, v in official.items()}
    again = convert_official_state_dict(prefixed)
    assert list(again) == list(converted)
    assert all(torch.equal(again[k], converted[k]) for k in converted)


def test_bn_counters_of_old_checkpoints_are_added(official, converted):
    """PyTorch < 0.4.1 checkpoints have no ``num_batches_tracked``."""
    old = {k: v for k, v in official.items()
           if not k.endswith('num_batches_tracked')}
    assert list(convert_official_state_dict(old)) == list(converted)


def test_background_moves_from_first_to_last():
    # 6 anchors x (background, cat, dog): channel 3 * a + c
    bias = torch.arange(18.)
    moved = permute_head_channels(bias, OFFICIAL_ANCHOR_ORDER, [1, 2, 0])
    assert moved.tolist() == [
        1., 2., 0., 4., 5., 3., 7., 8., 6., 10., 11., 9., 13., 14., 12.,
        16., 17., 15.
    ]


def test_head_tensors_are_permuted_per_anchor(official, converted):
    classes = [*range(1, NUM_CLASSES + 1), 0]
    for level in range(6):
        for param in ('weight', 'bias'):
            conf = official[f'conf.{level}.{param}']
            cls = converted[f'bbox_head.cls_convs.{level}.0.{param}']
            assert torch.equal(
                cls.reshape(6, NUM_CLASSES + 1, -1),
                conf.reshape(6, NUM_CLASSES + 1, -1)[:, classes])
            assert torch.equal(
                converted[f'bbox_head.reg_convs.{level}.0.{param}'],
                official[f'loc.{level}.{param}'])


def test_tum_decoder_lists_are_reversed(official, converted):
    """Official latlayer/smooth run smallest scale first, ours largest."""
    for part, ours in (('latlayer', 'lateral_convs'),
                       ('smooth', 'smooth_convs')):
        for i in range(5):
            assert torch.equal(
                converted[f'neck.tums.7.{ours}.{4 - i}.conv.weight'],
                official[f'unet8.{part}.{i}.conv.weight'])


def test_checkpoint_of_another_model_is_refused(detector):
    with pytest.raises(ValueError, match=r"no keys matching \['base\.\*'"):
        convert_official_state_dict(detector.state_dict())


def test_unknown_keys_are_listed(official):
    extra = dict(official, **{'extra.0.weight': torch.zeros(1)})
    with pytest.raises(ValueError,
                       match=r"1 keys .* not part of .*'extra\.0\.weight'"):
        convert_official_state_dict(extra)


def build_on_meta(**options):
    """The detector of ``CONFIG`` with ``options`` merged, on meta."""
    cfg = Config.fromfile(CONFIG)
    cfg.merge_from_dict(options)
    with torch.device('meta'):
        return MODELS.build(cfg.model)


@pytest.mark.parametrize('options, message', [
    ({'model.bbox_head.num_classes': 20},
     r'class counts \(conf channels / 6 - 1\) differ: the checkpoint has 80, '
     r'the config has model.bbox_head.num_classes=20'),
    ({'model.neck.num_levels': 4},
     r'TUM counts .* differ: the checkpoint has 8, the config has '
     r'model.neck.num_levels=4'),
    ({'model.neck.planes': 128},
     r'TUM widths differ: the checkpoint has 256, the config has '
     r'model.neck.planes=128'),
    ({'model.neck.sfam': 'shared'},
     r"\d+ keys missing in the checkpoint, e.g. \['neck.sfam"),
    ({'model.backbone': dict(_delete_=True, type='ResNet', depth=50,
                             out_indices=(1, 3))},
     r'backbones differ: the checkpoint has SSDVGG, the config has '
     r'model.backbone.type=ResNet'),
], ids=['num_classes', 'num_levels', 'planes', 'sfam', 'backbone'])
def test_config_mismatch_names_the_config_key(converted, options, message):
    with pytest.raises(ValueError, match=message):
        check_against_model(converted, build_on_meta(**options))


def test_leach_copies_that_differ_need_an_unshared_model(official):
    changed = dict(official)
    changed['leach.3.conv.weight'] = official['leach.3.conv.weight'] + 1
    with pytest.raises(ValueError, match=r"'leach\.3\.conv\.weight' differs "
                       r".*model\.neck\.share_ffm_v2=False"):
        convert_official_state_dict(changed)
    unshared = convert_official_state_dict(changed, share_ffm_v2=False)
    with pytest.raises(ValueError, match='the model shares'):
        check_against_model(unshared, build_on_meta())
    check_against_model(unshared,
                        build_on_meta(**{'model.neck.share_ffm_v2': False}))


def test_sfam_checkpoint_fits_a_shared_sfam_model(official):
    """The official SFAM is one SE block listed once per scale."""
    se = dict(fc1=(torch.rand(128, 2048, 1, 1), torch.rand(128)),
              fc2=(torch.rand(2048, 128, 1, 1), torch.rand(2048)))
    with_sfam = dict(official)
    for fc, (weight, bias) in se.items():
        for scale in range(6):
            with_sfam[f'sfam_module.{fc}.{scale}.weight'] = weight
            with_sfam[f'sfam_module.{fc}.{scale}.bias'] = bias
    converted = convert_official_state_dict(with_sfam)
    assert torch.equal(converted['neck.sfam.se_blocks.5.3.weight'],
                       se['fc2'][0])
    check_against_model(converted, build_on_meta(**{'model.neck.sfam':
                                                    'shared'}))


def test_resnet101_checkpoint_fits_the_resnet101_config():
    """Official ResNet ``base`` keys are torchvision's, as mmdet's ResNet."""
    key_list = DATA / 'official_state_dict_m2det320_resnet101.txt'
    # only names and shapes matter here
    official = {k: torch.zeros(shape) for k, shape in
                ref.read_key_list(key_list)}
    converted = convert_official_state_dict(official)
    assert 'backbone.layer3.22.conv2.weight' in converted
    assert not any(re.match('backbone.fc', k) for k in converted)
    cfg = Config.fromfile(REPO / 'configs' / 'm2det_r101_320.py')
    with torch.device('meta'):
        check_against_model(converted, MODELS.build(cfg.model))


def test_cli_converts_a_data_parallel_checkpoint(official, detector,
                                                 tmp_path):
    src, dst = tmp_path / 'm2det320_vgg.pth', tmp_path / 'out' / 'm2det.pth'
    torch.save({f'module.{k}': v for k, v in official.items()}, src)
    proc = run_tool('tools/model_converters/m2det_to_mmdet.py', src, dst,
                    '--config', CONFIG)
    assert f'wrote 887 tensors to {dst}' in proc.stdout
    checkpoint = torch.load(dst, map_location='cpu', weights_only=True)
    assert checkpoint['meta']['num_classes'] == NUM_CLASSES
    model = MODELS.build(Config.fromfile(CONFIG).model)
    load_checkpoint(model, str(dst), strict=True)
    expected = detector.state_dict()
    assert all(torch.equal(v, expected[k])
               for k, v in model.state_dict().items())


def test_cli_refuses_a_checkpoint_of_another_model(tmp_path):
    src = tmp_path / 'ssd.pth'
    torch.save({'backbone.features.0.weight': torch.zeros(1)}, src)
    proc = run_tool('tools/model_converters/m2det_to_mmdet.py', src,
                    tmp_path / 'out.pth', check=False)
    assert proc.returncode != 0
    assert f'error: {src}: not a checkpoint of the official M2Det' in \
        proc.stderr
    assert not (tmp_path / 'out.pth').exists()
