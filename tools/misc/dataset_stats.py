"""What your detection dataset asks of M2Det, and a config fitted to it.

Reads a COCO json or a Pascal VOC folder and prints the image sizes, box
sizes and aspects, boxes per image, and the share of boxes each pyramid
level's priors match at IoU 0.5: with the base config's priors and with
priors fitted to the boxes (sizes moved while more boxes get matched).
With ``--out`` it writes a child config of the base config with the input
size, the fitted priors, the classes, the paths and the training set
repeated so that a run makes about ``--iterations`` steps.

    python tools/misc/dataset_stats.py data/mine/annotations/train.json \\
        --images data/mine/train --val data/mine/annotations/val.json \\
        --val-images data/mine/val --out configs/m2det_mine.py
    python tools/misc/dataset_stats.py data/my_voc --out configs/m2det_mine.py
"""
import argparse
import json
import os
import os.path as osp
import sys

sys.path.insert(
    0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from mmengine.config import Config  # noqa: E402

from projects.m2det.datasets import stats  # noqa: E402


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        'data', help='a COCO json of the training set, or a Pascal VOC folder')
    parser.add_argument('--images', help='COCO: the training images folder')
    parser.add_argument('--val', help='COCO: the validation json')
    parser.add_argument('--val-images',
                        help='COCO: the validation images folder')
    parser.add_argument('--train-split', default='train',
                        help='VOC: the training image set (default: train)')
    parser.add_argument('--val-split', default='val',
                        help='VOC: the validation image set (default: val)')
    parser.add_argument(
        '--base-config', default='configs/m2det_demo.py',
        help='the project config to start from (default: %(default)s)')
    parser.add_argument(
        '--input-size', type=int,
        help='square input side (default: chosen from the boxes, one of '
        f'{stats.INPUT_SIZES})')
    parser.add_argument(
        '--iterations', type=int, default=3750,
        help='training steps the written config makes, about '
        '(default: %(default)s, the demo recipe\'s)')
    parser.add_argument('--out', help='write the fitted config here')
    parser.add_argument('--json', help='write the figures here')
    args = parser.parse_args()
    voc = osp.isdir(args.data)
    if args.out and not voc and not (args.images and args.val
                                     and args.val_images):
        parser.error('--out with a COCO json needs --images, --val and '
                     '--val-images')
    return args


def config_path(path: str) -> str:
    """``path`` as the written config names it: relative to the working
    directory, from which the tools run, where it lies below it."""
    path = osp.abspath(path)
    relative = osp.relpath(path)
    return path if relative.startswith('..') else relative


def main() -> None:
    args = parse_args()
    voc = osp.isdir(args.data)
    data = (stats.read_voc(args.data, args.train_split)
            if voc else stats.read_coco(args.data))
    base = Config.fromfile(args.base_config)
    num_levels = len(base.model.bbox_head.anchor_generator.size_ratios) - 1
    size = args.input_size or stats.choose_input_size(data)
    boxes = data.boxes_at_input(size)
    base_ratios = base.model.bbox_head.anchor_generator.size_ratios
    fitted = stats.fit_size_ratios(data, size, num_levels, base_ratios)
    report = dict(
        stats.describe(data, size),
        input_size=size,
        base_config=args.base_config,
        base_size_ratios=tuple(base_ratios),
        base_match=stats.level_match_shares(
            boxes, *stats.prior_generator(size, base_ratios)),
        fitted_size_ratios=fitted,
        fitted_match=stats.level_match_shares(
            boxes, *stats.prior_generator(size, fitted)))
    for key, value in report.items():
        if isinstance(value, dict):
            value = ', '.join(
                f'{k} {v:.0%}' if isinstance(v, float) else f'{k} {v}'
                for k, v in value.items())
        elif isinstance(value, tuple):
            value = ' / '.join(f'{v:.3g}' for v in value)
        print(f'{key}: {value}')
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(report, f, indent=1)
    if args.out:
        batch = base.train_dataloader.batch_size
        epochs = base.train_cfg.max_epochs
        times = stats.repeat_times(len(data.image_sizes), batch,
                                   args.iterations, epochs)
        if voc:
            paths = dict(data_root=config_path(args.data) + '/',
                         train_split=args.train_split,
                         val_split=args.val_split)
        else:
            named = dict(train_ann=args.data, train_img=args.images,
                         val_ann=args.val, val_img=args.val_images)
            root = osp.commonpath([osp.abspath(p) for p in named.values()])
            paths = dict(data_root=config_path(root) + '/', **{
                k: osp.relpath(osp.abspath(p), root) +
                ('/' if k.endswith('img') else '')
                for k, p in named.items()
            })
        matched = 1 - report['fitted_match']['none']
        os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
        with open(args.out, 'w') as f:
            f.write(
                stats.fitted_config(
                    data, args.base_config, args.out, size, fitted, times,
                    matched, paths,
                    stats.detections_per_image(
                        data, base.model.test_cfg.max_per_img)))
        print(f'wrote {args.out}: {epochs} epochs of the training set '
              f'repeated {times} times, batch {batch}')


if __name__ == '__main__':
    main()
