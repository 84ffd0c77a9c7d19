import pytest
import torch

from projects.m2det import MLFPN
from projects.m2det.models import SFAM


def count(module):
    return sum(p.numel() for p in module.parameters())


def official_inputs(size, batch=1):
    return (torch.rand(batch, 512, size // 8, size // 8),
            torch.rand(batch, 1024, size // 16, size // 16))


@pytest.mark.parametrize('size, sides', [(320, (40, 20, 10, 5, 3, 1)),
                                         (512, (64, 32, 16, 8, 4, 2))])
def test_official_neck_outputs_six_2048_channel_maps(size, sides):
    neck = MLFPN().eval()
    with torch.no_grad():
        outs = neck(official_inputs(size))
    assert isinstance(outs, tuple)
    assert [tuple(o.shape) for o in outs] == [(1, 2048, s, s) for s in sides]


def test_official_neck_parameter_count():
    # spec: FFMv1 + shared leach + 8 TUMs + BN = 55,744,256
    assert count(MLFPN()) == 55_744_256
    assert count(MLFPN(sfam='shared')) == 55_744_256 + 526_464


def test_ffm_v2_sharing_is_an_option():
    shared, separate = MLFPN(num_levels=3), MLFPN(num_levels=3,
                                                  share_ffm_v2=False)
    assert shared.ffm_v2[0] is shared.ffm_v2[2]
    assert separate.ffm_v2[0] is not separate.ffm_v2[2]
    assert count(separate) - count(shared) == 2 * 98_560


@pytest.mark.parametrize('sfam, blocks', [(None, 0), ('shared', 1),
                                          ('per_scale', 6)])
def test_sfam_modes(sfam, blocks):
    neck = MLFPN(planes=32, num_levels=2, sfam=sfam)
    if sfam is None:
        assert neck.sfam is None
    else:
        assert isinstance(neck.sfam, SFAM)
        assert len({id(se) for se in neck.sfam.se_blocks}) == blocks


def test_structure_follows_num_levels_and_planes():
    neck = MLFPN(in_channels=(8, 16), planes=16, num_levels=3, num_scales=5)
    assert len(neck.tums) == 3 and neck.out_channels == 48
    # the first TUM reads planes / 2 channels, the others planes / 2 + planes
    assert neck.tums[0].lateral_convs[0].conv.in_channels == 8
    assert neck.tums[1].lateral_convs[0].conv.in_channels == 24
    assert neck.out_norm.num_features == 48
    assert MLFPN(out_norm_cfg=None, num_levels=1).out_norm is None


def small_neck(**kwargs):
    return MLFPN(in_channels=(8, 16), ffm_channels=(4, 8), planes=16,
                 num_levels=2, **kwargs)


def test_every_parameter_gets_a_gradient():
    neck = small_neck(sfam='per_scale', share_ffm_v2=False)
    outs = neck((torch.rand(2, 8, 40, 40), torch.rand(2, 16, 20, 20)))
    sum(o.square().mean() for o in outs).backward()
    # built-but-unused modules would keep grad None
    assert [n for n, p in neck.named_parameters() if p.grad is None] == []


def test_init_weights_follows_init_cfg():
    neck = small_neck(init_cfg=[
        dict(type='Constant', layer='Conv2d', val=0.5),
        dict(type='Constant', layer='_BatchNorm', val=2, bias=0.25)
    ])
    neck.init_weights()
    conv = neck.tums[1].lateral_convs[0]
    assert torch.all(conv.conv.weight == 0.5)
    assert torch.all(conv.bn.weight == 2) and torch.all(conv.bn.bias == 0.25)
    assert torch.all(neck.out_norm.weight == 2)


def test_default_init_is_kaiming_fan_out_with_unit_norm():
    neck = MLFPN(planes=64, num_levels=2)
    neck.init_weights()
    weight = neck.tums[0].encoder[0].conv.weight  # (64, 32, 3, 3)
    fan_out = weight.shape[0] * 9
    assert weight.std().item() == pytest.approx((2 / fan_out)**0.5, rel=0.1)
    assert torch.all(neck.tums[0].encoder[0].bn.weight == 1)


def test_batch_items_are_independent_in_eval_mode():
    neck = small_neck().eval()
    shallow, deep = torch.rand(1, 8, 40, 40), torch.rand(1, 16, 20, 20)
    with torch.no_grad():
        single = neck((shallow, deep))
        double = neck((shallow.repeat(2, 1, 1, 1), deep.repeat(2, 1, 1, 1)))
    # batched convs may pick other kernels: equal up to float rounding
    for a, b in zip(single, double):
        torch.testing.assert_close(b[0], a[0], rtol=1e-4, atol=1e-4)
        torch.testing.assert_close(b[1], a[0], rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize('kwargs, message', [
    (dict(in_channels=(512, )), 'exactly two backbone features'),
    (dict(planes=255), 'planes must be even, got 255'),
    (dict(num_levels=0), 'num_levels must be >= 1, got 0'),
    (dict(sfam='yes'), "sfam must be one of .*got 'yes'"),
    (dict(num_scales=2), 'num_scales must be >= 3, got 2'),
])
def test_invalid_arguments_raise(kwargs, message):
    with pytest.raises(ValueError, match=message):
        MLFPN(**kwargs)


def test_wrong_inputs_raise_with_the_reason():
    neck = small_neck()
    with pytest.raises(ValueError, match='expects 2 backbone features'):
        neck((torch.rand(1, 8, 40, 40), ) * 3)
    with pytest.raises(ValueError, match=r'16x16 .*>= 33'):
        neck((torch.rand(1, 8, 16, 16), torch.rand(1, 16, 8, 8)))


def test_base_feature_to_the_first_tum_only():
    neck = MLFPN(num_levels=8, base_to_all_levels=False)
    assert len(neck.ffm_v2) == 1
    # later TUMs read only the previous TUM's 256-channel largest output
    assert [t.lateral_convs[0].conv.in_channels
            for t in neck.tums] == [128] + [256] * 7
    # 7 TUMs lose 128 input channels of their first encoder conv and lateral
    # conv (3x3 each)
    assert count(MLFPN()) - count(neck) == 7 * 2 * 128 * 256 * 9
    outs = small_neck(base_to_all_levels=False).eval()(
        (torch.rand(1, 8, 40, 40), torch.rand(1, 16, 20, 20)))
    assert [tuple(o.shape) for o in outs] == [(1, 32, s, s)
                                              for s in (40, 20, 10, 5, 3, 1)]


@pytest.mark.parametrize('feed_all', [True, False])
def test_what_the_second_tum_reads(feed_all):
    neck = small_neck(base_to_all_levels=feed_all).eval()
    seen = {}
    neck.ffm_v1.register_forward_hook(
        lambda m, args, out: seen.update(base=out))
    neck.tums[0].register_forward_hook(
        lambda m, args, out: seen.update(first=out[0]))
    neck.tums[1].register_forward_hook(
        lambda m, args, out: seen.update(second_input=args[0]))
    with torch.no_grad():
        neck((torch.rand(1, 8, 40, 40), torch.rand(1, 16, 20, 20)))
        if feed_all:
            expected = torch.cat(
                [neck.ffm_v2[1].conv(seen['base']), seen['first']], dim=1)
        else:
            expected = seen['first']
    torch.testing.assert_close(seen['second_input'], expected)


def test_paper_tum_decoder_is_passed_to_every_tum():
    neck = small_neck(tum_decoder='paper')
    assert all(tum.decoder == 'paper' for tum in neck.tums)
    outs = neck.eval()((torch.rand(1, 8, 40, 40), torch.rand(1, 16, 20, 20)))
    assert [tuple(o.shape) for o in outs] == [(1, 32, s, s)
                                              for s in (40, 20, 10, 5, 3, 1)]
