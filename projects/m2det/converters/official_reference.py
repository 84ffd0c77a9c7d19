"""Synthetic official M2Det weights, input and training targets for the
equivalence tests.

Shared by ``tests/test_converters/test_official_weights.py``,
``tests/test_models/test_multibox_loss.py`` and
``tools/misc/make_official_reference.py``, which runs the official code on
the same weights, input and targets once to write the reference files in
``tests/data/``. The key lists of the official checkpoints
(``tests/data/official_state_dict_*.txt``) give the layout. Everything is
drawn from seeded ``torch.Generator``s, so both sides rebuild identical
tensors.

The weights are random but scaled so that activations stay O(1) from the
input pixels through VGG16, the 8 TUMs and the head: conv weights of std
``gain * sqrt(1 / fan_in)`` with the He gain sqrt(2) in VGG16 (conv-ReLU, the
first conv further divided by the pixel scale), gain 1 in the MLFPN (where
He scaling makes the 8 chained TUMs grow activations by about 1e4, as their
decoders add maps) and a small gain in the head, so that box deltas (|d| < 4)
stay far inside the clamp of mmdet's ``DeltaXYWHBBoxCoder`` (|dw|, |dh| <=
log(1000 / 16) after the 0.2 std); BatchNorm statistics and affine
parameters are near the identity. In ResNet-101 the last conv of every
bottleneck has a small gain, so that the 33 residual additions do not grow
the activations by orders of magnitude.
"""
import math
import re
from collections import OrderedDict
from pathlib import Path
from typing import List, Tuple

import torch
from torch import Tensor

WEIGHT_SEED = 0
INPUT_SEED = 1
SAMPLE_SEED = 2
INPUT_SHAPE = (1, 3, 320, 320)
# an already mean-subtracted BGR image: [0, 255] minus about (104, 117, 123)
INPUT_RANGE = (-120., 135.)
# conv weight std = gain * sqrt(1 / fan_in), by official key prefix
CONV_GAINS = (
    # the first conv sees pixels of std ~74: bring its output back to O(1)
    (r'base\.0\.', math.sqrt(2) / 64),
    (r'base\.conv1\.', math.sqrt(2) / 64),
    # ResNet: each residual branch adds a little to what passes through
    (r'base\.layer\d\.\d+\.conv3\.', 0.3),
    (r'base\.', math.sqrt(2)),
    # loc and conf: deltas and logits of std 0.1 to 1.5
    (r'(loc|conf)\.', 0.35),
    (r'', 1.),
)
NUM_SAMPLES = 200

RECIPE = dict(
    weight_seed=WEIGHT_SEED,
    input_seed=INPUT_SEED,
    sample_seed=SAMPLE_SEED,
    input_shape=list(INPUT_SHAPE),
    input_range=list(INPUT_RANGE),
    conv_weight='normal * gain * sqrt(1 / fan_in), in key-list order',
    conv_gains=[list(g) for g in CONV_GAINS],
    conv_bias='uniform(-0.1, 0.1)',
    bn_weight='uniform(0.5, 1.5)',
    bn_bias='uniform(-0.1, 0.1)',
    bn_running_mean='uniform(-0.1, 0.1)',
    bn_running_var='uniform(0.5, 1.5)',
    shared_leach='leach.1..7 are copies of leach.0 (no draws)')


def read_key_list(path: Path) -> List[Tuple[str, Tuple[int, ...]]]:
    """Read ``key (d0, d1, ...)`` lines into (key, shape) pairs."""
    entries = []
    for line in Path(path).read_text().splitlines():
        key, shape = line.split(' ', 1)
        dims = re.findall(r'\d+', shape)
        entries.append((key, tuple(int(d) for d in dims)))
    return entries


def make_official_state_dict(key_list_path: Path,
                             seed: int = WEIGHT_SEED
                             ) -> 'OrderedDict[str, Tensor]':
    """Random weights in the official checkpoint's layout (see module doc).

    Args:
        key_list_path (Path): File of official keys and shapes.
        seed (int): Seed of the generator drawing all tensors in file order.

    Returns:
        OrderedDict[str, Tensor]: An official M2Det state dict.
    """
    entries = read_key_list(key_list_path)
    shapes = dict(entries)
    gen = torch.Generator().manual_seed(seed)

    def uniform(shape, low, high):
        return torch.rand(shape, generator=gen) * (high - low) + low

    state_dict = OrderedDict()
    for key, shape in entries:
        shared = re.fullmatch(r'leach\.[1-9]\d*\.(.+)', key)
        if shared:
            # one module in the official model: the same tensor 8 times
            state_dict[key] = state_dict[f'leach.0.{shared.group(1)}'].clone()
            continue
        prefix, name = key.rsplit('.', 1)
        is_conv = len(shapes.get(f'{prefix}.weight', ())) == 4
        if name == 'num_batches_tracked':
            value = torch.tensor(0)
        elif is_conv and name == 'weight':
            gain = next(g for p, g in CONV_GAINS if re.match(p, key))
            std = gain * math.sqrt(1 / math.prod(shape[1:]))
            value = torch.randn(shape, generator=gen) * std
        elif is_conv and name == 'bias':
            value = uniform(shape, -0.1, 0.1)
        elif name in ('weight', 'running_var'):
            value = uniform(shape, 0.5, 1.5)
        elif name in ('bias', 'running_mean'):
            value = uniform(shape, -0.1, 0.1)
        else:
            raise ValueError(f'{key_list_path}: no rule for {key!r}')
        state_dict[key] = value
    return state_dict


def make_input(seed: int = INPUT_SEED) -> Tensor:
    """The fixed network input, a mean-subtracted BGR image of 320 x 320."""
    gen = torch.Generator().manual_seed(seed)
    low, high = INPUT_RANGE
    return torch.rand(INPUT_SHAPE, generator=gen) * (high - low) + low


def sample_prior_indices(num_priors: int, seed: int = SAMPLE_SEED,
                         num: int = NUM_SAMPLES) -> List[int]:
    """Sorted prior indices whose boxes and scores the reference stores.

    Besides ``num`` random priors, all six of the first location (40 x 40
    level) and of the 1 x 1 level (whose wide priors are clamped), so that
    the anchor order is checked at every position.
    """
    gen = torch.Generator().manual_seed(seed)
    picked = set(torch.randperm(num_priors, generator=gen)[:num].tolist())
    picked.update(range(6))
    picked.update(range(num_priors - 6, num_priors))
    return sorted(picked)


# The training loss: seeded head outputs and ground truth for the official
# MultiBoxLoss and our head's loss_by_feat, on the priors of VGG16-320.
LOSS_SEED = 3
# boxes per image of the batch
LOSS_BOXES = (4, 7)
LOSS_NUM_CLASSES = 81
# IoU gaps below this could be closed by float32 rounding on either side
IOU_MARGIN = 1e-4

LOSS_RECIPE = dict(
    seed=LOSS_SEED,
    boxes_per_image=list(LOSS_BOXES),
    box='centre uniform(0.15, 0.85); the first box of an image thin (long '
    'side uniform(0.3, 0.6), short side uniform(0.02, 0.05) of the image, '
    'either way up), the others with width and height uniform(0.03, 0.6); '
    'clipped to the image; redrawn while ambiguous (iou_margin); label '
    'uniform over 1..80 (official, 0 is the background)',
    iou_margin=IOU_MARGIN,
    loc='normal * 0.5, (N, P, 4)',
    conf='normal, (N, P, 81), official class order')


def box_iou(boxes: Tensor, priors: Tensor) -> Tensor:
    """IoU of x1y1x2y2 ``boxes`` (G, 4) with ``priors`` (P, 4): (G, P)."""
    low = torch.max(boxes[:, None, :2], priors[None, :, :2])
    high = torch.min(boxes[:, None, 2:], priors[None, :, 2:])
    inter = (high - low).clamp(min=0).prod(-1)
    area = (boxes[:, 2:] - boxes[:, :2]).prod(-1)
    prior_area = (priors[:, 2:] - priors[:, :2]).prod(-1)
    return inter / (area[:, None] + prior_area[None] - inter)


def is_unambiguous(boxes: Tensor, priors: Tensor,
                   threshold: float = 0.5) -> bool:
    """Whether matching ``boxes`` to ``priors`` has one answer that float32
    rounding cannot change.

    Every box's best prior (its forced match) leads the second best by
    :data:`IOU_MARGIN` and is no other box's best; no IoU lies within the
    margin of ``threshold``; every prior at or above it leads with one box.
    Two same-shape priors inside one box have the same IoU in exact
    arithmetic, and rounding then picks either.
    """
    ious = box_iou(boxes.double(), priors.double())
    best = ious.topk(2, dim=1)
    if (best.values[:, 0] - best.values[:, 1] < IOU_MARGIN).any():
        return False
    if len(set(best.indices[:, 0].tolist())) < len(boxes):
        return False
    if ((ious - threshold).abs() < IOU_MARGIN).any():
        return False
    if len(boxes) > 1:
        by_prior = ious.topk(2, dim=0).values
        positive = by_prior[0] >= threshold
        if (by_prior[0] - by_prior[1] < IOU_MARGIN)[positive].any():
            return False
    return True


def make_loss_targets(priors: Tensor,
                      seed: int = LOSS_SEED) -> List[Tensor]:
    """Ground truth of the loss test, in the official format.

    Args:
        priors (Tensor): The priors, x1y1x2y2 normalised by the input
            size, (P, 4).
        seed (int): Seed of the draws. Defaults to :data:`LOSS_SEED`.

    Returns:
        list[Tensor]: Per image, (G, 5): x1, y1, x2, y2 normalised, and the
        official label (1..80).
    """
    gen = torch.Generator().manual_seed(seed)
    targets = []
    for num_boxes in LOSS_BOXES:
        boxes = torch.zeros(0, 4)
        while len(boxes) < num_boxes:
            centre = torch.rand(2, generator=gen) * 0.7 + 0.15
            if len(boxes):
                size = torch.rand(2, generator=gen) * 0.57 + 0.03
            else:
                # no prior shape fits it: its forced match is below 0.5
                long, short = torch.rand(2, generator=gen) * torch.tensor(
                    [0.3, 0.03]) + torch.tensor([0.3, 0.02])
                upright = torch.rand(1, generator=gen).item() < 0.5
                size = torch.stack([short, long] if upright else [long, short])
            box = torch.cat([centre - size / 2, centre + size / 2]).clamp(0, 1)
            if is_unambiguous(torch.cat([boxes, box[None]]), priors):
                boxes = torch.cat([boxes, box[None]])
        labels = torch.randint(1, LOSS_NUM_CLASSES, (num_boxes, 1),
                               generator=gen)
        targets.append(torch.cat([boxes, labels.float()], dim=1))
    return targets


def make_loss_outputs(num_priors: int,
                      seed: int = LOSS_SEED) -> Tuple[Tensor, Tensor]:
    """Head outputs of the loss test, in the official layout.

    Returns:
        tuple[Tensor, Tensor]: Box deltas (N, P, 4) and class logits
        (N, P, 81), the background first.
    """
    gen = torch.Generator().manual_seed(seed + 1)
    num_images = len(LOSS_BOXES)
    loc = torch.randn(num_images, num_priors, 4, generator=gen) * 0.5
    conf = torch.randn(num_images, num_priors, LOSS_NUM_CLASSES,
                       generator=gen)
    return loc, conf
