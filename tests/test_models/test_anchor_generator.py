import math

import pytest
import torch

from projects.m2det import M2DetAnchorGenerator

RATIOS_320 = (0.08, 0.15, 0.33, 0.51, 0.69, 0.87, 1.05)
STRIDES_320 = (8, 16, 32, 64, 107, 320)
SIDES_320 = (40, 20, 10, 5, 3, 1)


def priors_320(**kwargs):
    gen = M2DetAnchorGenerator(320, STRIDES_320, RATIOS_320, **kwargs)
    return gen, gen.grid_priors([(s, s) for s in SIDES_320], device='cpu')


def test_prior_count_and_sizes_at_320():
    gen, priors = priors_320()
    assert sum(len(p) for p in priors) == 12_810
    assert gen.num_base_priors == [6] * 6
    assert gen.base_sizes == [25.6, 48.0, 105.6, 163.2, 220.8, 278.4]


def test_per_location_order_is_the_official_one():
    gen, priors = priors_320()
    first = priors[0][:6]  # the six priors of location (0, 0), stride 8
    cx, cy = (first[:, 0] + first[:, 2]) / 2, (first[:, 1] + first[:, 3]) / 2
    assert torch.allclose(cx, torch.full((6, ), 4.)) and torch.allclose(
        cy, torch.full((6, ), 4.))
    w, h = first[:, 2] - first[:, 0], first[:, 3] - first[:, 1]
    s, big = 25.6, math.sqrt(25.6 * 48)
    expected = [(s, s), (big, big), (s * 2**.5, s / 2**.5),
                (s / 2**.5, s * 2**.5), (s * 3**.5, s / 3**.5),
                (s / 3**.5, s * 3**.5)]
    torch.testing.assert_close(torch.stack([w, h], 1), torch.tensor(expected))


def test_centres_follow_the_official_steps():
    _, priors = priors_320()
    level4 = priors[4].view(3, 3, 6, 4)  # (row, col, prior, xyxy)
    cx = (level4[0, :, 0, 0] + level4[0, :, 0, 2]) / 2
    torch.testing.assert_close(cx, torch.tensor([53.5, 160.5, 267.5]))


def test_widths_and_heights_are_clamped_to_the_input_size():
    gen, clamped = priors_320()
    _, raw = priors_320(clip_wh=False)
    clamped, raw = torch.cat(clamped), torch.cat(raw)
    changed = (clamped != raw).any(1)
    assert int(changed.sum()) == 22  # spec: 22 priors change at 320
    wh = clamped[:, 2:] - clamped[:, :2]
    assert wh.max() <= 320
    # clamping keeps the centre
    torch.testing.assert_close(clamped[:, :2] + clamped[:, 2:],
                               raw[:, :2] + raw[:, 2:])


@pytest.mark.parametrize('size, strides, ratios, sides, count, changed', [
    (512, (8, 16, 32, 64, 128, 256),
     (0.06, 0.15, 0.33, 0.51, 0.69, 0.87, 1.05), (64, 32, 16, 8, 4, 2),
     32_760, 48),
    (704, (8, 16, 32, 64, 117, 176),
     (0.04, 0.11, 0.23, 0.39, 0.58, 0.80, 1.05), (88, 44, 22, 11, 6, 4),
     62_022, 136),
    (800, (8, 16, 32, 62, 115, 160),
     (0.04, 0.15, 0.33, 0.51, 0.69, 0.87, 1.05), (100, 50, 25, 13, 7, 5),
     80_208, 198),
])
def test_other_official_sizes(size, strides, ratios, sides, count, changed):
    sizes = [(s, s) for s in sides]
    priors = torch.cat(
        M2DetAnchorGenerator(size, strides, ratios).grid_priors(sizes, device='cpu'))
    raw = torch.cat(
        M2DetAnchorGenerator(size, strides, ratios,
                             clip_wh=False).grid_priors(sizes, device='cpu'))
    assert len(priors) == count
    assert int((priors != raw).any(1).sum()) == changed


def test_size_ratios_must_match_the_levels():
    with pytest.raises(ValueError, match='needs len\\(strides\\) \\+ 1 = 7'):
        M2DetAnchorGenerator(320, STRIDES_320, RATIOS_320[:-1])
