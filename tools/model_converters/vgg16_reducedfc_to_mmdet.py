"""Convert SSD's reduced-fc VGG16 ImageNet weights for mmdet's ``SSDVGG``.

The official M2Det (and ssd.pytorch) start VGG16 from ``vgg16_reducedfc.pth``:
a state dict of an ``nn.ModuleList`` whose keys are layer indices (``0.weight``
... ``33.bias``), fc6/fc7 already turned into the dilated conv6 and the 1x1
conv7. mmdet's ``SSDVGG(depth=16, with_last_pool=False)`` has the same layers
at the same indices under ``features.``; this tool adds the prefix, checks
every shape and saves a checkpoint that the configs' backbone ``init_cfg``
loads::

    python tools/model_converters/vgg16_reducedfc_to_mmdet.py \\
        vgg16_reducedfc.pth checkpoints/vgg16_reducedfc_mmdet.pth
"""
import argparse
import re
import sys
from pathlib import Path

import torch
from mmdet.models.backbones import SSDVGG

LAYER_KEY = re.compile(
    r'^(?:module\.)?(?:base\.|features\.)?(\d+)\.(weight|bias)$')


def convert(state_dict: dict, source: str) -> dict:
    """Map reduced-fc VGG16 keys to ``SSDVGG`` keys, checking every shape.

    Args:
        state_dict (dict): The reduced-fc weights: keys ``N.weight`` /
            ``N.bias`` (``module.``, ``base.`` or ``features.`` prefixes are
            accepted).
        source (str): Where the weights come from, for error messages.

    Returns:
        dict: The state dict of ``SSDVGG(depth=16, with_last_pool=False)``.
    """
    expected = SSDVGG(depth=16, with_last_pool=False,
                      ceil_mode=True).state_dict()
    converted, unknown = {}, []
    for key, value in state_dict.items():
        match = LAYER_KEY.match(key)
        if match is None:
            unknown.append(key)
            continue
        converted[f'features.{match[1]}.{match[2]}'] = value
    missing = sorted(set(expected) - set(converted))
    extra = sorted(set(converted) - set(expected))
    if unknown or missing or extra:
        raise ValueError(
            f'{source} is not a reduced-fc VGG16 state dict (keys 0.weight '
            f'... 33.bias): unknown keys {unknown[:5]}, missing '
            f'{missing[:5]}, unexpected {extra[:5]}')
    for key, value in converted.items():
        if tuple(value.shape) != tuple(expected[key].shape):
            raise ValueError(
                f'{source}: {key} has shape {tuple(value.shape)}, SSDVGG '
                f'expects {tuple(expected[key].shape)}')
    return converted


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('src', help='vgg16_reducedfc.pth')
    parser.add_argument('dst', help='output checkpoint for SSDVGG')
    args = parser.parse_args()
    state_dict = torch.load(args.src, map_location='cpu', weights_only=True)
    if 'state_dict' in state_dict:
        state_dict = state_dict['state_dict']
    try:
        converted = convert(state_dict, args.src)
    except ValueError as error:
        sys.exit(f'error: {error}')
    Path(args.dst).parent.mkdir(parents=True, exist_ok=True)
    torch.save({'state_dict': converted}, args.dst)
    print(f'wrote {len(converted)} tensors to {args.dst}')


if __name__ == '__main__':
    main()
