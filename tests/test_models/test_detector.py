"""The VGG16-320 M2Det detector built from its config."""
import pytest
import torch
from mmdet.registry import MODELS
from mmdet.testing import demo_mm_inputs
from mmdet.utils import register_all_modules
from mmengine.config import Config, ConfigDict

from conftest import REPO

register_all_modules()


@pytest.fixture(scope='module')
def cfg():
    cfg = Config.fromfile(REPO / 'configs' / 'm2det_vgg16_320.py')
    # no ImageNet weights here: tests/test_configs.py checks they load
    cfg.model.backbone.init_cfg = None
    return cfg


@pytest.fixture(scope='module')
def detector(cfg):
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    return model


def test_parameter_counts_match_the_official_model(detector):
    count = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    assert count(detector) == 132_633_140
    assert count(detector.backbone) == 20_483_904
    assert count(detector.neck) == 55_744_256
    assert count(detector.bbox_head) == 56_404_980


def test_neck_outputs_for_a_320_input(detector):
    detector.eval()
    with torch.no_grad():
        feats = detector.neck(detector.backbone(torch.rand(1, 3, 320, 320)))
    assert [tuple(f.shape) for f in feats] == [
        (1, 2048, s, s) for s in (40, 20, 10, 5, 3, 1)]


def test_loss_is_finite_and_reaches_every_parameter(detector):
    detector.train()
    detector.zero_grad()
    packed = demo_mm_inputs(2, [[3, 320, 320]] * 2, num_classes=80)
    data = detector.data_preprocessor(packed, True)
    losses = detector.loss(data['inputs'], data['data_samples'])
    loss, _ = detector.parse_losses(losses)
    assert torch.isfinite(loss) and loss > 0
    loss.backward()
    no_grad = [n for n, p in detector.named_parameters()
               if p.grad is None or not torch.isfinite(p.grad).all()]
    assert no_grad == []


def calibrate_batch_norm(model, inputs):
    """Set BN running stats from one batch, as an untrained model has none
    that fit its activations (they would blow up in eval mode)."""
    model.train()
    for m in model.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            m.reset_running_stats()
            m.momentum = None  # cumulative average: exactly this batch
    with torch.no_grad():
        model._forward(inputs)
    model.eval()


def test_predict_returns_boxes_in_original_image_coordinates(detector):
    # keep many boxes: an untrained model scores below the 0.1 threshold
    detector.bbox_head.test_cfg = ConfigDict(
        score_thr=-1, nms_pre=1000, max_per_img=300, min_bbox_size=0,
        nms=dict(type='nms', iou_threshold=0.45))
    packed = demo_mm_inputs(1, [[3, 320, 320]], num_classes=80)
    # a 640x480 photo resized to the 320x320 network input
    packed['data_samples'][0].set_metainfo(
        dict(ori_shape=(480, 640), scale_factor=(0.5, 320 / 480)))
    with torch.no_grad():
        data = detector.data_preprocessor(packed, False)
        # BN statistics of 1x1 maps need a batch of several images
        torch.manual_seed(0)
        calibrate_batch_norm(detector, torch.cat(
            [data['inputs'], torch.rand(7, 3, 320, 320) * 255 - 117]))
        scaled = detector.predict(data['inputs'], data['data_samples'])[0]
        data = detector.data_preprocessor(packed, False)
        raw = detector.predict(data['inputs'], data['data_samples'],
                               rescale=False)[0]
    boxes = scaled.pred_instances.bboxes
    assert len(boxes) == 300
    factor = torch.tensor([0.5, 320 / 480] * 2)
    torch.testing.assert_close(boxes, raw.pred_instances.bboxes / factor)
    assert boxes[:, 0::2].min() >= 0 and boxes[:, 0::2].max() <= 640
    assert boxes[:, 1::2].min() >= 0 and boxes[:, 1::2].max() <= 480
    assert boxes[:, 0::2].max() > 320  # really rescaled, not left at 320
