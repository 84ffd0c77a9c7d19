import pytest
import torch

from projects.m2det.models import SFAM


def test_shared_sfam_has_one_se_block():
    sfam = SFAM(2048, num_scales=6)
    assert all(se is sfam.se_blocks[0] for se in sfam.se_blocks)
    # 2048 -> 128 -> 2048 with biases
    assert sum(p.numel() for p in sfam.parameters()) == 526_464


def test_per_scale_sfam_has_one_se_block_per_scale():
    sfam = SFAM(2048, num_scales=6, shared=False)
    assert len({id(se) for se in sfam.se_blocks}) == 6
    assert sum(p.numel() for p in sfam.parameters()) == 6 * 526_464


def test_sfam_reweights_channels_in_0_1():
    sfam = SFAM(32, num_scales=2).eval()
    feats = (torch.rand(1, 32, 4, 4) + 0.1, torch.rand(1, 32, 2, 2) + 0.1)
    outs = sfam(feats)
    for x, out in zip(feats, outs):
        assert out.shape == x.shape
        ratio = out / x
        # one weight per channel, constant over the map
        torch.testing.assert_close(ratio, ratio[..., :1, :1].expand_as(ratio))
        assert ((ratio > 0) & (ratio < 1)).all()


def test_channels_must_divide_by_the_reduction():
    with pytest.raises(ValueError, match=r'\(40\) must be divisible .*16'):
        SFAM(40)
