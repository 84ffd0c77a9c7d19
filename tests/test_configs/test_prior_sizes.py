"""The priors of every config, level by level, against the official code's
(the spec's table of sizes: min and max in pixels, steps, prior counts)."""
import math

import pytest
from mmdet.registry import TASK_UTILS
from mmengine.config import Config

from conftest import REPO
from projects.m2det.models import tum_feature_sizes

# The official table (spec, "Pyramid sizes and anchors"): input size ->
# pyramid sides, steps, min sizes and max sizes in pixels, prior count.
OFFICIAL = {
    320: ((40, 20, 10, 5, 3, 1), (8, 16, 32, 64, 107, 320),
          (25.6, 48, 105.6, 163.2, 220.8, 278.4),
          (48, 105.6, 163.2, 220.8, 278.4, 336), 12_810),
    512: ((64, 32, 16, 8, 4, 2), (8, 16, 32, 64, 128, 256),
          (30.72, 76.8, 168.96, 261.12, 353.28, 445.44),
          (76.8, 168.96, 261.12, 353.28, 445.44, 537.6), 32_760),
    704: ((88, 44, 22, 11, 6, 4), (8, 16, 32, 64, 117, 176),
          (28.16, 77.44, 161.92, 274.56, 408.32, 563.2),
          (77.44, 161.92, 274.56, 408.32, 563.2, 739.2), 62_022),
    800: ((100, 50, 25, 13, 7, 5), (8, 16, 32, 62, 115, 160),
          (32, 120, 264, 408, 552, 696),
          (120, 264, 408, 552, 696, 840), 80_208),
}
# The demo's own priors (no official counterpart at 160 px and 5 scales):
# 160 x (0.08, 0.2, 0.37, 0.54, 0.71, 0.88), README "How the demo recipe was
# chosen".
DEMO = ((20, 10, 5, 3, 1), (8, 16, 32, 53, 160),
        (12.8, 32, 59.2, 86.4, 113.6), (32, 59.2, 86.4, 113.6, 140.8), 3_210)
# The small-data recipe (configs/m2det_small_data.py): the demo's size ratios
# at 320 (its dataset_stats.py children fit their own).
SMALL_DATA = ((40, 20, 10, 5, 3), (8, 16, 32, 64, 107),
              (25.6, 64, 118.4, 172.8, 227.2),
              (64, 118.4, 172.8, 227.2, 281.6), 12_804)
# the project's own recipes, without an official counterpart
OWN = {'m2det_demo.py': DEMO, 'm2det_small_data.py': SMALL_DATA}

# the configs fitted to a dataset (configs/small_data/, written by
# tools/misc/dataset_stats.py) have that dataset's priors, by design
CONFIGS = sorted(
    str(p.relative_to(REPO / 'configs'))
    for p in (REPO / 'configs').rglob('m2det_*.py')
    if '_base_' not in p.parts and 'small_data' not in p.parts)


def prior_table(name):
    """What a config's priors are: the pyramid sides its neck gives, and
    per level the step, min and max size (read off the min square and the
    sqrt(min * max) square of a location), and the prior count."""
    cfg = Config.fromfile(REPO / 'configs' / name)
    generator = TASK_UTILS.build(cfg.model.bbox_head.anchor_generator)
    # FFMv1 gives the TUMs the backbone's stride-8 map
    sides = tuple(
        tum_feature_sizes(math.ceil(generator.input_size / 8),
                          cfg.model.neck.num_scales))
    mins, maxs = [], []
    for anchors in generator.base_anchors:
        small, big = (anchors[i, 2] - anchors[i, 0] for i in (0, 1))
        mins.append(small.item())
        maxs.append((big**2 / small).item())
    priors = generator.grid_priors([(s, s) for s in sides], device='cpu')
    steps = tuple(int(s[0]) for s in generator.strides)
    return generator.input_size, (sides, steps, mins, maxs,
                                  sum(len(p) for p in priors))


@pytest.mark.parametrize('name', CONFIGS)
def test_priors_are_the_official_ones(name):
    size, (sides, steps, mins, maxs, count) = prior_table(name)
    expected = OWN[name] if name in OWN else OFFICIAL[size]
    assert sides == expected[0]
    assert steps == expected[1]
    # float32 priors against sizes given to 2 decimals
    assert mins == pytest.approx(expected[2], rel=1e-6)
    assert maxs == pytest.approx(expected[3], rel=1e-5)
    assert count == expected[4]


def test_every_official_input_size_has_a_config():
    sizes = {prior_table(name)[0] for name in CONFIGS if name not in OWN}
    assert sizes >= set(OFFICIAL)


def test_the_800_priors_start_at_32_pixels():
    """Issue 12: the 800 config had 0.08 as its first ratio, so the 60,000
    priors of the stride-8 level were twice the official size."""
    _, (_, _, mins, maxs, _) = prior_table('m2det_vgg16_800.py')
    assert mins[0] == pytest.approx(32)
    assert maxs[0] == pytest.approx(120, rel=1e-5)
