"""BF16OptimWrapper and AutoPrecisionOptimWrapper: what they build and say
for each CPU capability, and the branch this CPU takes, for real."""
import logging

import pytest
import torch
import torch.nn as nn
from mmengine.logging import MMLogger
from mmengine.optim import OptimWrapper, build_optim_wrapper

from projects.m2det.engine import BF16OptimWrapper
from projects.m2det.utils import cpu_has_native_bfloat16

NO_NATIVE = 'training precision: float32, this CPU has no native bfloat16'
NATIVE = 'training precision: bfloat16 autocast, this CPU has native bfloat16'


def small_model():
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 1, 1))


class Records(logging.Handler):

    def __init__(self):
        super().__init__()
        self.records = []

    def emit(self, record):
        if record.getMessage().startswith('training precision'):
            self.records.append(record)


@pytest.fixture
def log(request):
    """The training-precision records the current MMLogger receives during
    the test."""
    logger = MMLogger.get_instance(f'precision-{request.node.name}')
    handler = Records()
    logger.addHandler(handler)
    yield handler.records
    logger.removeHandler(handler)


def build(model, **cfg):
    return build_optim_wrapper(
        model, dict(optimizer=dict(type='SGD', lr=0.1), **cfg))


def test_forward_runs_in_bfloat16_and_weights_stay_float32():
    model = small_model()
    wrapper = build(model, type='BF16OptimWrapper')
    x = torch.rand(2, 3, 8, 8)
    with wrapper.optim_context(model):
        assert torch.is_autocast_enabled('cpu')
        out = model(x)
    assert out.dtype == torch.bfloat16
    assert not torch.is_autocast_enabled('cpu')
    assert model(x).dtype == torch.float32  # only inside the context
    assert all(p.dtype == torch.float32 for p in model.parameters())


def test_training_steps_lower_the_loss():
    model = small_model()
    wrapper = build(model, type='BF16OptimWrapper')
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


@pytest.mark.parametrize('native', [True, False])
def test_explicit_bfloat16_is_honoured_and_warned_where_slow(log, native):
    wrapper = build(small_model(), type='BF16OptimWrapper',
                    native_bfloat16=native)
    assert type(wrapper) is BF16OptimWrapper
    [record] = log
    if native:
        assert record.levelno == logging.INFO and record.msg == NATIVE
    else:
        assert record.levelno == logging.WARNING
        assert 'no native bfloat16' in record.msg
        assert 'AutoPrecisionOptimWrapper' in record.msg


@pytest.mark.parametrize('native, wrapper_type, message',
                         [(True, BF16OptimWrapper, NATIVE),
                          (False, OptimWrapper, NO_NATIVE)])
def test_auto_precision_follows_the_capability(log, native, wrapper_type,
                                               message):
    wrapper = build(small_model(), type='AutoPrecisionOptimWrapper',
                    native_bfloat16=native, loss_scale='dynamic',
                    clip_grad=dict(max_norm=1.0))
    assert type(wrapper) is wrapper_type
    assert wrapper.clip_grad_kwargs == dict(max_norm=1.0)
    assert [r.msg for r in log] == [message]  # said once


def test_auto_precision_on_this_cpu_trains_in_its_precision(log):
    model = small_model()
    wrapper = build(model, type='AutoPrecisionOptimWrapper')
    native = cpu_has_native_bfloat16()
    assert [r.msg for r in log] == [NATIVE if native else NO_NATIVE]
    x, target = torch.rand(4, 3, 8, 8), torch.rand(4, 1, 8, 8)
    with wrapper.optim_context(model):
        out = model(x)
    assert out.dtype == (torch.bfloat16 if native else torch.float32)
    loss = (out.float() - target).square().mean()
    wrapper.update_params(loss)
    with wrapper.optim_context(model):
        assert (model(x).float() - target).square().mean() < loss
