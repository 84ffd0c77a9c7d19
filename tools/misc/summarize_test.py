"""Print the COCO bbox metrics and drawn images of the newest test run."""
import argparse
import json
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('work_dir', type=Path,
                        help='the --work-dir given to tools/test.py')
    parser.add_argument('--seconds', type=int, help='wall time to report')
    args = parser.parse_args()
    runs = sorted(p for p in args.work_dir.iterdir() if p.is_dir())
    if not runs:
        raise SystemExit(f'no test run found in {args.work_dir}')
    run = runs[-1]
    metrics = json.loads((run / f'{run.name}.json').read_text())
    images = sorted((run / 'vis').glob('*'))
    print('\nM2Det demo results')
    for key in ('bbox_mAP', 'bbox_mAP_50', 'bbox_mAP_75', 'bbox_mAP_s',
                'bbox_mAP_m', 'bbox_mAP_l'):
        print(f'  {key:<12} {metrics[f"coco/{key}"]:.3f}')
    print(f'  detections drawn on {len(images)} val images in {run / "vis"}')
    if args.seconds is not None:
        print(f'  wall time {args.seconds // 60} min {args.seconds % 60} s')


if __name__ == '__main__':
    main()
