"""Generate the synthetic shapes demo dataset in COCO format.

Example:
    python tools/misc/make_demo_data.py --out data/demo --num-train 3000 \
        --num-val 100 --seed 0
"""
import argparse
import json
import sys
import time
from pathlib import Path

# Run from a checkout without installing the project.
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from projects.m2det.datasets import generate_demo_dataset  # noqa: E402


def parse_args() -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        '--out', default='data/demo', help='dataset root directory')
    parser.add_argument(
        '--num-train', type=int, default=3000, help='training images')
    parser.add_argument(
        '--num-val', type=int, default=100, help='validation images')
    parser.add_argument('--seed', type=int, default=0, help='random seed')
    parser.add_argument(
        '--min-side', type=int, default=160, help='smallest image side')
    parser.add_argument(
        '--max-side', type=int, default=240, help='largest image side')
    return parser.parse_args()


def main() -> None:
    """Generate the dataset and print its summary as JSON."""
    args = parse_args()
    start = time.perf_counter()
    summary = generate_demo_dataset(
        args.out,
        num_train=args.num_train,
        num_val=args.num_val,
        seed=args.seed,
        min_image_side=args.min_side,
        max_image_side=args.max_side)
    print(json.dumps(summary, indent=2))
    print(f'done in {time.perf_counter() - start:.1f} s')


if __name__ == '__main__':
    main()
