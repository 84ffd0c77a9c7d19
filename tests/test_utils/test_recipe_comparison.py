"""Equal-wall-time recipe comparison (projects/m2det/utils/recipe_comparison
.py, tools/analysis_tools/compare_recipes.py) on a fitted demo config."""
import json

import pytest

from conftest import TINY_CONFIG, run_tool
from projects.m2det.utils import recipe_comparison


@pytest.fixture(scope='module')
def fitted_config(demo_root, tmp_path_factory):
    """dataset_stats.py's config for the demo images, on the tiny model."""
    out = tmp_path_factory.mktemp('cfg') / 'm2det_tiny_fitted.py'
    ann = demo_root / 'annotations'
    run_tool('tools/misc/dataset_stats.py', ann / 'train.json', '--images',
             demo_root / 'train', '--val', ann / 'val.json', '--val-images',
             demo_root / 'val', '--base-config', TINY_CONFIG, '--out', out)
    return out


def test_budget_sets_the_repeats(fitted_config, tmp_path):
    budget_s = 30  # at least the 12 steps of the schedule, on a busy CPU too
    out = tmp_path / 'rows.json'
    proc = run_tool('tools/analysis_tools/compare_recipes.py',
                    fitted_config, '--budget-min', budget_s / 60,
                    '--work-dir', tmp_path / 'work', '--json', out)
    [row] = json.loads(out.read_text())
    # 8 images at batch 4: 2 steps a pass, 6 epochs of the tiny config
    assert row['iterations'] == 6 * 2 * row['repeat']
    budget_steps = budget_s / row['step_s']
    # whole passes over the repeated set: at most one more per epoch
    assert budget_steps <= row['iterations'] <= budget_steps + 6 * 2
    assert 0 <= row['bbox_mAP'] <= row['bbox_mAP_50'] <= 1
    assert f"| `{fitted_config}` | {row['step_s']:.3f} |" in proc.stdout
    # the run made exactly those steps, and was evaluated once at the end
    records = recipe_comparison.read_scalars(str(tmp_path / 'work' /
                                                 'm2det_tiny_fitted'))
    steps = max(r['iter'] for r in records if 'loss' in r)
    assert steps == row['iterations']
    assert sum('coco/bbox_mAP' in r for r in records) == 1


def test_a_config_without_repeats_is_refused():
    with pytest.raises(ValueError, match="train_dataloader.dataset.type is "
                       "'CheckedCocoDataset'; a budget is set through a "
                       'RepeatDataset'):
        recipe_comparison.compare([str(TINY_CONFIG)], 60, '/nonexistent')


def test_a_budget_below_the_schedule_is_refused(fitted_config, tmp_path):
    with pytest.raises(ValueError, match='max_epochs 6 over 8 images at '
                       'batch 4 make 12 steps.*lower max_epochs'):
        recipe_comparison.compare([str(fitted_config)], 0.05,
                                  str(tmp_path / 'work'))
