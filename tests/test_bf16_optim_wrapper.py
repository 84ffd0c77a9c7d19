import torch
import torch.nn as nn
from mmengine.optim import build_optim_wrapper

import projects.m2det  # noqa: F401  registers BF16OptimWrapper


def build(model):
    return build_optim_wrapper(
        model, dict(type='BF16OptimWrapper',
                    optimizer=dict(type='SGD', lr=0.1)))


def test_forward_runs_in_bfloat16_and_weights_stay_float32():
    model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.Conv2d(8, 1, 1))
    wrapper = build(model)
    x = torch.rand(2, 3, 8, 8)
    with wrapper.optim_context(model):
        assert torch.is_autocast_enabled('cpu')
        out = model(x)
    assert out.dtype == torch.bfloat16
    assert not torch.is_autocast_enabled('cpu')
    assert model(x).dtype == torch.float32  # only inside the context
    assert all(p.dtype == torch.float32 for p in model.parameters())


def test_training_steps_lower_the_loss():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(),
                          nn.Conv2d(8, 1, 1))
    wrapper = build(model)
    x, target = torch.rand(4, 3, 8, 8), torch.rand(4, 1, 8, 8)
    losses = []
    for _ in range(20):
        with wrapper.optim_context(model):
            loss = (model(x).float() - target).square().mean()
        wrapper.update_params(loss)
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]
    assert all(p.grad is None or p.grad.dtype == torch.float32
               for p in model.parameters())
