"""Run the official M2Det on synthetic weights to make test reference data.

Builds the official VGG16-320 and ResNet-101-320 M2Det
(github.com/VDIGPKU/M2Det) in their 'test' phase from a checkout outside
this repository (:mod:`projects.m2det.converters.official_network`), loads
the seeded weights of :mod:`projects.m2det.converters.official_reference`,
runs the fixed input and decodes with the official ``PriorBox`` and
``Detect``; and runs the official ``MultiBoxLoss`` on seeded head outputs
and ground truth. The JSON files it writes are what
``tests/test_converters/test_official_weights.py`` and
``tests/test_models/test_multibox_loss.py`` compare this project with; the
official code itself is not needed by the tests.

Example:
    git clone https://github.com/VDIGPKU/M2Det /tmp/official_m2det
    python tools/misc/make_official_reference.py \\
        --official-repo /tmp/official_m2det
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
    INPUT_SIZE, RESNET101_CONFIG, SIZE_PATTERN, STEP_PATTERN, VGG_CONFIG,
    import_official)

NETWORKS = dict(
    vgg16=(VGG_CONFIG, 'official_state_dict_m2det320_vgg.txt',
           'm2det320_vgg_official_reference.json'),
    resnet101=(RESNET101_CONFIG, 'official_state_dict_m2det320_resnet101.txt',
               'm2det320_resnet101_official_reference.json'))
LOSS_REFERENCE = 'm2det320_multibox_loss_official_reference.json'


def parse_args() -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        '--official-repo', type=Path, required=True,
        help='checkout of github.com/VDIGPKU/M2Det (outside this repo)')
    parser.add_argument(
        '--out-dir', type=Path, default=TEST_DATA,
        help='folder of the JSON files (default: tests/data)')
    parser.add_argument(
        '--resnet-key-list', type=Path,
        help='also write the keys and shapes of the official ResNet-101 '
        'M2Det-320 state dict to this file')
    return parser.parse_args()


def official_priors(official: SimpleNamespace) -> torch.Tensor:
    """The official priors at 320, (P, 4) normalised (cx, cy, w, h)."""
    anchor_cfg = official.mk_anchors(INPUT_SIZE, INPUT_SIZE, SIZE_PATTERN,
                                     STEP_PATTERN)
    return official.PriorBox(anchor_cfg).forward()


def network_reference(official: SimpleNamespace, config: dict,
                      key_list: Path) -> dict:
    """What the official network computes for the seeded weights and input:
    MLFPN level sums, head sums, sampled priors, decoded boxes and scores."""
    net = official.build_net('test', INPUT_SIZE, config)
    net.load_state_dict(ref.make_official_state_dict(key_list), strict=True)
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
        priors = official_priors(official)  # (P, 4) cxcywh
        detect = official.Detect(config['num_classes'], 0, anchor_cfg)
        boxes, _ = detect.forward((loc, scores), priors)
    boxes = boxes[0] * INPUT_SIZE  # normalised x1y1x2y2 -> pixels
    # the priors in pixels as x1y1x2y2, to check the anchor order
    priors_xyxy = official.point_form(priors) * INPUT_SIZE

    num_priors = priors.shape[0]
    samples = ref.sample_prior_indices(num_priors)
    gen = torch.Generator().manual_seed(ref.SAMPLE_SEED)
    classes = torch.randint(0, config['num_classes'],
                            (len(samples), ), generator=gen).tolist()
    return dict(
        recipe=dict(
            ref.RECIPE,
            key_list=key_list.name,
            official_config=dict(
                config, input_size=INPUT_SIZE,
                step_pattern=STEP_PATTERN, size_pattern=SIZE_PATTERN)),
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


def loss_reference(official: SimpleNamespace) -> dict:
    """The official MultiBoxLoss (as ``configs/m2det320_vgg.py`` sets it up)
    on seeded outputs and ground truth: the batch, its first image alone,
    and what it does with an image without boxes."""
    priors = official_priors(official)
    targets = ref.make_loss_targets(official.point_form(priors))
    loc, conf = ref.make_loss_outputs(len(priors))
    criterion = official.MultiBoxLoss(
        ref.LOSS_NUM_CLASSES, overlap_thresh=0.5, prior_for_matching=True,
        bkg_label=0, neg_mining=True, neg_pos=3, neg_overlap=0.5,
        encode_target=False)
    # the first image's positives, as the loss counts them
    loc_t = torch.zeros(1, len(priors), 4)
    conf_t = torch.zeros(1, len(priors), dtype=torch.long)
    official.match(0.5, targets[0][:, :4], priors, [0.1, 0.2],
                   targets[0][:, 4], loc_t, conf_t, 0)
    with torch.no_grad():
        batch = criterion((loc, conf), priors, targets)
        first = criterion((loc[:1], conf[:1]), priors, targets[:1])
        try:
            criterion((loc[:1], conf[:1]), priors, [torch.zeros(0, 5)])
            empty_image = 'no error'
        except Exception as error:  # noqa: B902 (recorded, not handled)
            empty_image = f'{type(error).__name__}: {error}'
    return dict(
        recipe=dict(ref.LOSS_RECIPE, official_loss=dict(
            overlap_thresh=0.5, prior_for_matching=True, bkg_label=0,
            neg_mining=True, neg_pos=3, neg_overlap=0.5,
            encode_target=False)),
        num_priors=len(priors),
        targets=[t.tolist() for t in targets],
        loss_l=batch[0].item(),
        loss_c=batch[1].item(),
        first_image_loss_l=first[0].item(),
        first_image_loss_c=first[1].item(),
        first_image_num_pos=int((conf_t > 0).sum()),
        empty_image=empty_image)


def write_resnet_key_list(official: SimpleNamespace, path: Path) -> None:
    """Write ``key (shape)`` lines of the official ResNet-101 M2Det-320."""
    net = official.build_net('test', INPUT_SIZE, RESNET101_CONFIG)
    path.write_text(''.join(f'{k} {tuple(v.shape)}\n'
                            for k, v in net.state_dict().items()))
    print(f'wrote {path} ({len(net.state_dict())} keys)')


def write_reference(reference: dict, provenance: dict, path: Path) -> None:
    """Write ``reference`` with where it came from to ``path``."""
    reference['recipe'].update(provenance)
    path.write_text(json.dumps(reference, indent=1) + '\n')
    print(f"wrote {path} ({reference['num_priors']} priors)")


def main() -> None:
    args = parse_args()
    root = args.official_repo.resolve()
    if REPO in root.parents or root == REPO:
        raise SystemExit(f'--official-repo {root} must lie outside {REPO}')
    official = import_official(root)
    git = subprocess.run(['git', '-C', str(root), 'rev-parse', 'HEAD'],
                         capture_output=True, text=True)
    provenance = dict(
        torch_version=torch.__version__,
        official_repo='https://github.com/VDIGPKU/M2Det',
        official_commit=git.stdout.strip() if git.returncode == 0 else
        'unknown',
        command='python tools/misc/make_official_reference.py '
        '--official-repo DIR')
    if args.resnet_key_list is not None:
        write_resnet_key_list(official, args.resnet_key_list)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    for config, key_list, file_name in NETWORKS.values():
        write_reference(
            network_reference(official, config, TEST_DATA / key_list),
            provenance, args.out_dir / file_name)
    write_reference(loss_reference(official), provenance,
                    args.out_dir / LOSS_REFERENCE)


if __name__ == '__main__':
    main()
