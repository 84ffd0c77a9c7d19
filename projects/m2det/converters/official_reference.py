"""Synthetic official M2Det weights and input for the equivalence test.

Shared by ``tests/test_converters/test_official_weights.py`` and
``tools/misc/make_official_reference.py``, which runs the official code on
the same weights and input once to write
``tests/data/m2det320_vgg_official_reference.json``. The key lists of the
official checkpoints (``tests/data/official_state_dict_*.txt``) give the
layout. Everything is drawn
from seeded ``torch.Generator``s, so both sides rebuild identical tensors.

The weights are random but scaled so that activations stay O(1) from the
input pixels through VGG16, the 8 TUMs and the head: conv weights of std
``gain * sqrt(1 / fan_in)`` with the He gain sqrt(2) in VGG16 (conv-ReLU, the
first conv further divided by the pixel scale), gain 1 in the MLFPN (where
He scaling makes the 8 chained TUMs grow activations by about 1e4, as their
decoders add maps) and a small gain in the head, so that box deltas (|d| < 4)
stay far inside the clamp of mmdet's ``DeltaXYWHBBoxCoder`` (|dw|, |dh| <=
log(1000 / 16) after the 0.2 std); BatchNorm statistics and affine
parameters are near the identity.
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
