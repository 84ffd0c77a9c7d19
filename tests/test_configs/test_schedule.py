"""The learning rates the configs' schedulers yield, against the official
code's formula (utils/core.py adjust_learning_rate of VDIGPKU/M2Det)."""
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import PARAM_SCHEDULERS

from conftest import REPO

ITERS_PER_EPOCH = 7  # any epoch length; the official code scales by it


def official_lr(iteration, base_lr, steps, lrs, warmup_epochs=5,
                warmup_from=1e-6):
    """The official per-iteration rate; its epoch counter starts at 1."""
    epoch = iteration // ITERS_PER_EPOCH + 1
    if epoch <= warmup_epochs:
        return warmup_from + (base_lr - warmup_from) * iteration / (
            ITERS_PER_EPOCH * warmup_epochs)
    return next(lr for step, lr in zip(steps, lrs) if step >= epoch)


def scheduled_lrs(config):
    """The rate at every iteration of a config's run, stepping the schedulers
    as mmengine's ParamSchedulerHook does."""
    cfg = Config.fromfile(REPO / 'configs' / config)
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))],
                                **{k: v for k, v in
                                   cfg.optim_wrapper.optimizer.items()
                                   if k != 'type'})
    schedulers = [
        PARAM_SCHEDULERS.build(
            s, default_args=dict(optimizer=optimizer,
                                 epoch_length=ITERS_PER_EPOCH))
        for s in cfg.param_scheduler
    ]
    lrs = []
    for _ in range(cfg.train_cfg.max_epochs):
        for _ in range(ITERS_PER_EPOCH):
            lrs.append(optimizer.param_groups[0]['lr'])
            optimizer.step()
            for s in schedulers:
                if not s.by_epoch:
                    s.step()
        for s in schedulers:
            if s.by_epoch:
                s.step()
    return cfg, lrs


@pytest.mark.parametrize('config, base_lr, steps, lrs', [
    ('m2det_vgg16_320.py', 4e-3, (90, 110, 130, 150, 160),
     (4e-3, 2e-3, 4e-4, 4e-5, 4e-6)),
    ('m2det_vgg16_320_paper_150e.py', 2e-3, (90, 120, 150),
     (2e-3, 2e-4, 2e-5)),
])
def test_learning_rate_follows_the_official_formula(config, base_lr, steps,
                                                    lrs):
    cfg, scheduled = scheduled_lrs(config)
    assert cfg.train_cfg.max_epochs == steps[-1]
    e = ITERS_PER_EPOCH
    expected = [official_lr(i, base_lr, steps, lrs)
                for i in range(len(scheduled))]
    # mmengine's LinearLR reaches the peak on the last warm-up iteration,
    # the official loop one iteration later: during warm-up the rates differ
    # by less than 1 / (5 * iterations per epoch) relative (0.011 % with
    # COCO's 1,832 iterations of 64 images), after it they are equal
    assert scheduled[:5 * e] == pytest.approx(
        expected[:5 * e], rel=1 / (5 * e - 1))
    assert scheduled[5 * e:] == pytest.approx(expected[5 * e:], rel=1e-9)
    # a few by hand: start, after warm-up, after each step
    assert scheduled[0] == pytest.approx(1e-6)
    assert scheduled[5 * e] == pytest.approx(base_lr)
    for step, lr in zip(steps[:-1], lrs[1:]):
        assert scheduled[step * e] == pytest.approx(lr)
        assert scheduled[step * e - 1] != pytest.approx(lr)


def test_sgd_and_batch_as_the_official_code():
    cfg = Config.fromfile(REPO / 'configs' / 'm2det_vgg16_320.py')
    assert cfg.optim_wrapper.optimizer == dict(
        type='SGD', lr=4e-3, momentum=0.9, weight_decay=5e-4)
    assert cfg.train_dataloader.batch_size == 16
    # auto_scale_lr rescales to the official 4-GPU total batch
    for config, batch in (('m2det_vgg16_320.py', 64),
                          ('m2det_vgg16_704.py', 44),
                          ('m2det_vgg16_800.py', 36),
                          ('m2det_r101_512.py', 48)):
        cfg = Config.fromfile(REPO / 'configs' / config)
        assert cfg.auto_scale_lr.base_batch_size == batch
        assert cfg.auto_scale_lr.base_batch_size == \
            4 * cfg.train_dataloader.batch_size
