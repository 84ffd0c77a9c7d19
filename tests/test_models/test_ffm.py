import torch

from projects.m2det.models import FFMv1, FFMv2


def test_ffm_v1_fuses_to_the_shallow_resolution():
    ffm = FFMv1((8, 16), (4, 6))
    out = ffm(torch.rand(2, 8, 40, 40), torch.rand(2, 16, 20, 20))
    assert tuple(out.shape) == (2, 10, 40, 40)
    assert ffm.out_channels == 10


def test_ffm_v1_shallow_channels_come_first():
    ffm = FFMv1((8, 16), (4, 6)).eval()
    shallow, deep = torch.rand(1, 8, 10, 10), torch.rand(1, 16, 5, 5)
    out = ffm(shallow, deep)
    torch.testing.assert_close(out[:, :4], ffm.shallow_conv(shallow))
    up = ffm.deep_conv(deep).repeat_interleave(2, -1).repeat_interleave(2, -2)
    torch.testing.assert_close(out[:, 4:], up)


def test_ffm_v1_official_parameter_counts():
    ffm = FFMv1((512, 1024), (256, 512))
    count = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    assert count(ffm.shallow_conv) == 1_180_160
    assert count(ffm.deep_conv) == 525_312


def test_ffm_v2_concatenates_after_the_reduced_base():
    ffm = FFMv2(768, 128).eval()
    base, previous = torch.rand(1, 768, 5, 5), torch.rand(1, 256, 5, 5)
    assert tuple(ffm(base).shape) == (1, 128, 5, 5)
    out = ffm(base, previous)
    assert tuple(out.shape) == (1, 384, 5, 5)
    torch.testing.assert_close(out[:, 128:], previous)
    assert sum(p.numel() for p in ffm.parameters()) == 98_560
