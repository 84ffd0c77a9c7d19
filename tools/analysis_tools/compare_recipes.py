"""Train configs for the same wall time on this machine; compare their mAP.

    python tools/analysis_tools/compare_recipes.py CONFIG [CONFIG ...] \\
        --budget-min 20 --work-dir work_dirs/compare --json compare.json

Each config's training set must be a RepeatDataset (as the configs
tools/misc/dataset_stats.py writes): a probe of 25 steps times a step, and
the repeat count is set so that the schedule takes about the budget. Run
nothing else on the machine meanwhile.
"""
import argparse
import json
import os.path as osp
import sys

sys.path.insert(
    0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from projects.m2det.utils.recipe_comparison import (compare,  # noqa: E402
                                                    markdown_table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('configs', nargs='+')
    parser.add_argument('--budget-min', type=float, required=True,
                        help='training minutes per config')
    parser.add_argument('--work-dir', default='work_dirs/compare_recipes')
    parser.add_argument('--json', help='write the rows here')
    args = parser.parse_args()
    rows = compare(args.configs, args.budget_min * 60, args.work_dir)
    print(markdown_table(rows))
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(rows, f, indent=1)


if __name__ == '__main__':
    main()
