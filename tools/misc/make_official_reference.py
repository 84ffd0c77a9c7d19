"""Run the official M2Det on synthetic weights to make test reference data.

Builds the official VGG16-320 M2Det (github.com/VDIGPKU/M2Det) in its 'test'
phase from a checkout outside this repository, loads the seeded weights of
``tests/official_reference.py``, runs the fixed input and decodes with the
official ``PriorBox`` and ``Detect``. The JSON it writes is what
``tests/test_official_weights.py`` compares this project's converted model
with; the official code itself is not needed by the test.

Example:
    git clone https://github.com/VDIGPKU/M2Det /tmp/official_m2det
    python tools/misc/make_official_reference.py \
        --official-repo /tmp/official_m2det \
        --out tests/data/m2det320_vgg_official_reference.json \
        --resnet-key-list tests/data/official_state_dict_m2det320_resnet101.txt
"""
import argparse
import importlib.util
import json
import subprocess
import sys
import types
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / 'tests'))

import official_reference as ref  # noqa: E402

# m2det320_vgg.py of the official code, which its loader reads with mmcv 0.x
M2DET_CONFIG = dict(
    backbone='vgg16',
    net_family='vgg',
    base_out=[22, 34],
    planes=256,
    num_levels=8,
    num_scales=6,
    sfam=False,
    smooth=True,
    num_classes=81)
INPUT_SIZE = 320
STEP_PATTERN = [8, 16, 32, 64, 107, 320]
SIZE_PATTERN = [0.08, 0.15, 0.33, 0.51, 0.69, 0.87, 1.05]


def parse_args() -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        '--official-repo', type=Path, required=True,
        help='checkout of github.com/VDIGPKU/M2Det (outside this repo)')
    parser.add_argument(
        '--out', type=Path, default=ref.REFERENCE, help='JSON to write')
    parser.add_argument(
        '--resnet-key-list', type=Path,
        help='also write the keys and shapes of the official ResNet-101 '
        'M2Det-320 state dict to this file')
    return parser.parse_args()


def import_official(root: Path) -> types.SimpleNamespace:
    """Import the official model, prior box and decoder from ``root``.

    Only the model's own files are imported. ``torchvision`` (imported but
    unused by ``m2det.py``) and ``utils.core`` (which pulls in the data
    pipeline, compiled NMS and ``termcolor``, for a logging helper) are
    replaced by stubs; ``data/anchors.py`` is loaded on its own because
    ``data/__init__.py`` imports the datasets.
    """
    sys.path.insert(0, str(root))
    torchvision = types.ModuleType('torchvision')
    torchvision.transforms = types.ModuleType('torchvision.transforms')
    torchvision.models = types.ModuleType('torchvision.models')
    core = types.ModuleType('utils.core')
    core.print_info = lambda *args, **kwargs: None
    sys.modules.update({
        'torchvision': torchvision,
        'torchvision.transforms': torchvision.transforms,
        'torchvision.models': torchvision.models,
        'utils.core': core,
    })
    spec = importlib.util.spec_from_file_location('official_anchors',
                                                  root / 'data' / 'anchors.py')
    anchors = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(anchors)

    import m2det
    from layers import resnet
    from layers.functions import Detect, PriorBox
    return types.SimpleNamespace(
        build_net=m2det.build_net, Detect=Detect, PriorBox=PriorBox,
        mk_anchors=anchors.mk_anchors, resnet=resnet)


def write_resnet_key_list(official: types.SimpleNamespace,
                          path: Path) -> None:
    """Write ``key (shape)`` lines of the official ResNet-101 M2Det-320.

    ``m2det320_resnet101.py`` differs from the VGG config only in its
    backbone; the ImageNet download the official code starts is skipped, as
    only names and shapes are needed.
    """
    resnet101 = official.resnet.resnet101
    official.resnet.resnet101 = lambda pretrained: resnet101(False)
    config = dict(
        M2DET_CONFIG, backbone='resnet101', net_family='res', base_out=[2, 4])
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

    net = official.build_net('test', INPUT_SIZE, M2DET_CONFIG)
    net.load_state_dict(ref.make_official_state_dict(), strict=True)
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
        detect = official.Detect(M2DET_CONFIG['num_classes'], 0, anchor_cfg)
        boxes, _ = detect.forward((loc, scores), priors)
    boxes = boxes[0] * INPUT_SIZE  # normalised x1y1x2y2 -> pixels
    # the priors in pixels as x1y1x2y2, to check the anchor order
    priors_xyxy = torch.cat([priors[:, :2] - priors[:, 2:] / 2,
                             priors[:, :2] + priors[:, 2:] / 2],
                            dim=1) * INPUT_SIZE

    num_priors = priors.shape[0]
    samples = ref.sample_prior_indices(num_priors)
    gen = torch.Generator().manual_seed(ref.SAMPLE_SEED)
    classes = torch.randint(0, M2DET_CONFIG['num_classes'], (len(samples), ),
                            generator=gen).tolist()
    reference = dict(
        recipe=dict(
            ref.RECIPE,
            torch_version=torch.__version__,
            official_repo='https://github.com/VDIGPKU/M2Det',
            official_commit=commit,
            official_config=dict(
                M2DET_CONFIG, input_size=INPUT_SIZE,
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
