"""Run the official M2Det on synthetic weights to make test reference data.

Builds the official VGG16-320 M2Det (github.com/VDIGPKU/M2Det) in its 'test'
phase from a checkout outside this repository
(:mod:`projects.m2det.converters.official_network`), loads the seeded weights
of :mod:`projects.m2det.converters.official_reference`, runs the fixed input
and decodes with the official ``PriorBox`` and ``Detect``. The JSON it writes
is what ``tests/test_converters/test_official_weights.py`` compares this
project's converted model with; the official code itself is not needed by
the test.

Example:
    git clone https://github.com/VDIGPKU/M2Det /tmp/official_m2det
    python tools/misc/make_official_reference.py \
        --official-repo /tmp/official_m2det \
        --out tests/data/m2det320_vgg_official_reference.json \
        --resnet-key-list tests/data/official_state_dict_m2det320_resnet101.txt
"""
import argparse
import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import torch

REPO = Path(__file__).resolve().parents[2]
TEST_DATA = REPO / 'tests' / 'data'
sys.path.insert(0, str(REPO))

from projects.m2det.converters import official_reference as ref  # noqa: E402
from projects.m2det.converters.official_network import (  # noqa: E402
    INPUT_SIZE, VGG_CONFIG, SIZE_PATTERN, STEP_PATTERN,
    import_official)


def parse_args() -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        '--official-repo', type=Path, required=True,
        help='checkout of github.com/VDIGPKU/M2Det (outside this repo)')
    parser.add_argument(
        '--out', type=Path,
        default=TEST_DATA / 'm2det320_vgg_official_reference.json',
        help='JSON to write')
    parser.add_argument(
        '--resnet-key-list', type=Path,
        help='also write the keys and shapes of the official ResNet-101 '
        'M2Det-320 state dict to this file')
    return parser.parse_args()


def write_resnet_key_list(official: SimpleNamespace,
                          path: Path) -> None:
    """Write ``key (shape)`` lines of the official ResNet-101 M2Det-320.

    ``m2det320_resnet101.py`` differs from the VGG config only in its
    backbone; the ImageNet download the official code starts is skipped, as
    only names and shapes are needed.
    """
    resnet101 = official.resnet.resnet101
    official.resnet.resnet101 = lambda pretrained: resnet101(False)
    config = dict(
        VGG_CONFIG, backbone='resnet101', net_family='res',
        base_out=[2, 4])
    net = official.build_net('test', INPUT_SIZE, config)
    path.write_text(''.join(f'{k} {tuple(v.shape)}\n'
                            for k, v in net.state_dict().items()))
    print(f'wrote {path} ({len(net.state_dict())} keys)')


def main() -> None:
    args = parse_args()
    root = args.official_repo.resolve()
    if REPO in root.parents or root == REPO:
        raise SystemExit(f'--official-repo {root} must lie outside {REPO}')
    official = import_official(root)
    git = subprocess.run(['git', '-C', str(root), 'rev-parse', 'HEAD'],
                         capture_output=True, text=True)
    commit = git.stdout.strip() if git.returncode == 0 else 'unknown'

    net = official.build_net('test', INPUT_SIZE, VGG_CONFIG)
    net.load_state_dict(ref.make_official_state_dict(
        TEST_DATA / 'official_state_dict_m2det320_vgg.txt'), strict=True)
    net.eval()
    # the MLFPN outputs (after SFAM and Norm) are the inputs of the loc convs
    level_sums, conf_sums = [], []
    for loc, conf in zip(net.loc, net.conf):
        loc.register_forward_hook(
            lambda m, inputs, out: level_sums.append(
                inputs[0].double().sum().item()))
        conf.register_forward_hook(
            lambda m, inputs, out: conf_sums.append(out.double().sum().item()))

    with torch.no_grad():
        loc, scores = net(ref.make_input())  # (1, P, 4), softmax (P, 81)
        anchor_cfg = official.mk_anchors(INPUT_SIZE, INPUT_SIZE,
                                         SIZE_PATTERN, STEP_PATTERN)
        priors = official.PriorBox(anchor_cfg).forward()  # (P, 4) cxcywh
        detect = official.Detect(VGG_CONFIG['num_classes'], 0,
                                 anchor_cfg)
        boxes, _ = detect.forward((loc, scores), priors)
    boxes = boxes[0] * INPUT_SIZE  # normalised x1y1x2y2 -> pixels
    # the priors in pixels as x1y1x2y2, to check the anchor order
    priors_xyxy = torch.cat([priors[:, :2] - priors[:, 2:] / 2,
                             priors[:, :2] + priors[:, 2:] / 2],
                            dim=1) * INPUT_SIZE

    num_priors = priors.shape[0]
    samples = ref.sample_prior_indices(num_priors)
    gen = torch.Generator().manual_seed(ref.SAMPLE_SEED)
    classes = torch.randint(0, VGG_CONFIG['num_classes'],
                            (len(samples), ), generator=gen).tolist()
    reference = dict(
        recipe=dict(
            ref.RECIPE,
            torch_version=torch.__version__,
            official_repo='https://github.com/VDIGPKU/M2Det',
            official_commit=commit,
            official_config=dict(
                VGG_CONFIG, input_size=INPUT_SIZE,
                step_pattern=STEP_PATTERN, size_pattern=SIZE_PATTERN),
            command='python tools/misc/make_official_reference.py '
            '--official-repo DIR --out tests/data/'
            'm2det320_vgg_official_reference.json'),
        num_priors=num_priors,
        level_sums=level_sums,
        loc_sum=loc.double().sum().item(),
        conf_sum=sum(conf_sums),
        sample_indices=samples,
        priors=priors_xyxy[samples].tolist(),
        boxes=boxes[samples].tolist(),
        # official class order: 0 is the background
        sample_classes=classes,
        class_scores=scores[samples, classes].tolist(),
        background_scores=scores[samples, 0].tolist(),
        first_prior_scores=scores[0].tolist())
    args.out.write_text(json.dumps(reference, indent=1) + '\n')
    print(f'wrote {args.out} ({num_priors} priors, {len(samples)} sampled)')
    if args.resnet_key_list is not None:
        write_resnet_key_list(official, args.resnet_key_list)


if __name__ == '__main__':
    main()
