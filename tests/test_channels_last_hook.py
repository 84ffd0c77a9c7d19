"""ChannelsLastHook: the weights go channels-last and a training step
computes the same loss and gradients as in NCHW."""
import copy
from types import SimpleNamespace

import torch
from mmdet.registry import MODELS
from mmdet.testing import demo_mm_inputs
from mmdet.utils import register_all_modules
from mmengine.config import Config

from conftest import TINY_CONFIG
from projects.m2det.channels_last_hook import ChannelsLastHook

register_all_modules()


def loss_and_grads(model, packed):
    data = model.data_preprocessor(packed, True)
    loss, _ = model.parse_losses(
        model.loss(data['inputs'], data['data_samples']))
    loss.backward()
    return loss.detach(), [p.grad.clone() for p in model.parameters()]


def test_training_step_unchanged_in_channels_last():
    cfg = Config.fromfile(TINY_CONFIG)
    torch.manual_seed(0)
    model = MODELS.build(cfg.model).train()
    model.init_weights()
    fast = copy.deepcopy(model)
    ChannelsLastHook().before_run(SimpleNamespace(model=fast))
    convs = [m for m in fast.modules() if isinstance(m, torch.nn.Conv2d)]
    assert all(m.weight.is_contiguous(memory_format=torch.channels_last)
               for m in convs)
    # (a 1x1 conv's weight is both; a 3x3 one only channels-last)
    assert sum(not m.weight.is_contiguous() for m in convs) > len(convs) / 2
    torch.manual_seed(1)
    packed = demo_mm_inputs(2, [[3, 192, 192]] * 2, num_classes=5,
                            num_items=[3, 2])
    ref_loss, ref_grads = loss_and_grads(model, packed)
    loss, grads = loss_and_grads(fast, packed)
    torch.testing.assert_close(loss, ref_loss, rtol=1e-5, atol=0)
    # the same gradients up to float32 summation order (convs reduce in
    # another order in NHWC). Sums that cancel to near zero, as BN biases'
    # do, keep little relative precision, so the check is on the whole
    flat, ref_flat = torch.cat([g.flatten() for g in grads]), torch.cat(
        [g.flatten() for g in ref_grads])
    assert (flat - ref_flat).norm() < 1e-4 * ref_flat.norm()
    # the maps between the convs are channels-last too, not reordered back
    feats = fast.backbone(torch.rand(1, 3, 192, 192))
    assert all(f.is_contiguous(memory_format=torch.channels_last)
               for f in feats)
