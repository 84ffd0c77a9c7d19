"""Convert a checkpoint of the official M2Det code to this project's models.

The official code (github.com/VDIGPKU/M2Det) saves the plain state dict of
its model (possibly with DataParallel's ``module.`` prefix); this tool maps
it to the detector of ``configs/m2det_*.py`` (see
:mod:`projects.m2det.converters.official_weights`) and saves an mmengine
checkpoint::

    python tools/model_converters/m2det_to_mmdet.py \\
        m2det512_vgg.pth checkpoints/m2det512_vgg_mmdet.pth \\
        --config configs/m2det_vgg16_512.py
    python tools/test.py configs/m2det_vgg16_512.py \\
        checkpoints/m2det512_vgg_mmdet.pth

With ``--config`` the result is checked against the model the config builds
(class count, TUM levels and width, every key and shape) before it is saved.
"""
import argparse
import sys
from pathlib import Path

import torch
from mmdet.registry import MODELS
from mmengine.config import Config
from mmengine.registry import init_default_scope

# Run from a checkout without installing the project.
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import projects.m2det  # noqa: E402,F401 (registers MLFPN and the priors)
from projects.m2det.converters import (  # noqa: E402
    check_against_model, convert_official_state_dict, num_classes_of)


def parse_args() -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('src', type=Path,
                        help='official checkpoint, e.g. m2det512_vgg.pth')
    parser.add_argument('dst', type=Path, help='mmdet checkpoint to write')
    parser.add_argument(
        '--config', type=Path,
        help='config the checkpoint is for; checks that they fit')
    return parser.parse_args()


def build_model_skeleton(config: Path) -> torch.nn.Module:
    """Build the config's detector on the meta device (no memory, no init)."""
    cfg = Config.fromfile(str(config))
    init_default_scope('mmdet')
    with torch.device('meta'):
        return MODELS.build(cfg.model)


def main() -> None:
    args = parse_args()
    state_dict = torch.load(args.src, map_location='cpu', weights_only=True)
    if not isinstance(state_dict, dict) or not all(
            isinstance(v, torch.Tensor) for v in state_dict.values()):
        sys.exit(f'error: {args.src} is not a plain state dict (a mapping '
                 'of names to tensors) as the official M2Det code saves')
    model = None if args.config is None else build_model_skeleton(args.config)
    try:
        # without a config, assume the official sharing of FFMv2
        converted = convert_official_state_dict(
            state_dict,
            share_ffm_v2=model is None or
            model.neck.ffm_v2[0] is model.neck.ffm_v2[-1])
        if model is not None:
            check_against_model(converted, model)
    except ValueError as error:
        where = args.src if model is None else f'{args.src} / {args.config}'
        sys.exit(f'error: {where}: {error}')
    args.dst.parent.mkdir(parents=True, exist_ok=True)
    meta = dict(
        converted_from=str(args.src),
        source='https://github.com/VDIGPKU/M2Det',
        num_classes=num_classes_of(converted))
    if args.config is not None:
        meta['config'] = str(args.config)
    torch.save(dict(state_dict=converted, meta=meta), args.dst)
    print(f'wrote {len(converted)} tensors to {args.dst}')


if __name__ == '__main__':
    main()
