import pytest
import torch

from projects.m2det.models import (TUM, min_tum_input_size,
                                   tum_encoder_strides, tum_feature_sizes)


def test_encoder_strides_end_with_one_unpadded_stride_1_conv():
    assert tum_encoder_strides(6) == [(2, 1)] * 4 + [(1, 0)]
    assert tum_encoder_strides(3) == [(2, 1), (1, 0)]
    with pytest.raises(ValueError, match='num_scales must be >= 3, got 2'):
        tum_encoder_strides(2)


@pytest.mark.parametrize('size, sizes', [
    (40, [40, 20, 10, 5, 3, 1]),
    (64, [64, 32, 16, 8, 4, 2]),
    (88, [88, 44, 22, 11, 6, 4]),
    (100, [100, 50, 25, 13, 7, 5]),
])
def test_feature_sizes_of_the_official_inputs(size, sizes):
    assert tum_feature_sizes(size, 6) == sizes


def test_too_small_input_names_the_size_and_the_limit():
    assert min_tum_input_size(6) == 33
    assert tum_feature_sizes(33, 6)[-1] == 1
    with pytest.raises(ValueError, match=r'32x32 .*>= 33'):
        tum_feature_sizes(32, 6)


def test_outputs_largest_first_with_planes_channels():
    tum = TUM(in_channels=12, planes=8, num_scales=6)
    outs = tum(torch.rand(2, 12, 40, 40))
    assert [tuple(o.shape) for o in outs] == [(2, 8, s, s)
                                              for s in (40, 20, 10, 5, 3, 1)]


def test_structure_and_parameter_count_of_official_tums():
    first, later = TUM(128, 256), TUM(384, 256)
    assert len(first.encoder) == 5 and len(first.lateral_convs) == 5
    assert len(first.smooth_convs) == 5
    # spec: TUM1 5,709,824 and each later TUM 6,889,472 parameters
    assert sum(p.numel() for p in first.parameters()) == 5_709_824
    assert sum(p.numel() for p in later.parameters()) == 6_889_472


def test_without_smooth_the_outputs_are_the_decoder_maps():
    tum = TUM(4, 8, num_scales=4, use_smooth=False).eval()
    assert not hasattr(tum, 'smooth_convs')
    x = torch.rand(1, 4, 20, 20)
    outs = tum(x)
    # the largest map is the top-down sum: upsampled smaller map + lateral
    expected = torch.nn.functional.interpolate(
        outs[1], size=(20, 20), mode='nearest') + tum.lateral_convs[0](x)
    torch.testing.assert_close(outs[0], expected)


def test_smallest_output_is_the_unsmoothed_top_conv():
    tum = TUM(4, 8, num_scales=4).eval()
    x = torch.rand(1, 4, 20, 20)
    feat = x
    for conv in tum.encoder:
        feat = conv(feat)
    torch.testing.assert_close(tum(x)[-1], tum.top_conv(feat))


def test_upsampling_goes_to_the_exact_lateral_size():
    # 1 -> 3 and 3 -> 5 are not factor-2 upsamplings
    tum = TUM(4, 8).eval()
    outs = tum(torch.rand(1, 4, 40, 40))
    assert [o.shape[-1] for o in outs] == [40, 20, 10, 5, 3, 1]


def test_paper_decoder_convolves_the_top_down_path_and_upsamples_bilinearly():
    tum = TUM(8, 8, num_scales=4, use_smooth=False, decoder='paper').eval()
    assert not hasattr(tum, 'lateral_convs')
    assert tum.input_proj is None  # input width == planes: added as it is
    x = torch.rand(1, 8, 20, 20)
    outs = tum(x)
    expected = torch.nn.functional.interpolate(
        tum.topdown_convs[0](outs[1]),
        size=(20, 20),
        mode='bilinear',
        align_corners=False) + x
    torch.testing.assert_close(outs[0], expected)
    assert [o.shape[-1] for o in outs] == [20, 10, 5, 3]


def test_paper_decoder_projects_an_input_of_another_width():
    tum = TUM(384, 256, decoder='paper')
    assert tum.input_proj.conv.kernel_size == (1, 1)
    assert tum.input_proj.conv.in_channels == 384
    # encoder 3x3: 384->256, 4 x 256->256; 1x1 top; 5 top-down 3x3; 1x1
    # input projection; 5 1x1 smooth; each conv + BN (2 x 256 parameters)
    conv3, conv1, bn = 256 * 256 * 9, 256 * 256, 512
    expected = (384 * 256 * 9 + bn) + 4 * (conv3 + bn) + (conv1 + bn) + \
        5 * (conv3 + bn) + (384 * 256 + bn) + 5 * (conv1 + bn)
    assert sum(p.numel() for p in tum.parameters()) == expected
    outs = tum.eval()(torch.rand(1, 384, 40, 40))
    assert [tuple(o.shape[1:]) for o in outs] == [(256, s, s)
                                                  for s in (40, 20, 10, 5, 3,
                                                            1)]


def test_unknown_decoder_is_rejected():
    with pytest.raises(ValueError, match="decoder must be one of .*'fpn'"):
        TUM(8, 8, decoder='fpn')
