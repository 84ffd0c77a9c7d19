"""demo/image_demo.py on images, a folder and a video, as a user runs it."""
import json
import re
import shutil

import cv2
import numpy as np
import pytest
import torch
from mmdet.registry import MODELS
from mmdet.utils import register_all_modules
from mmengine.config import Config
from mmengine.runner import save_checkpoint

from conftest import TINY_CONFIG, run_tool
from projects.m2det.datasets import DEMO_CLASSES

register_all_modules()

DEMO = 'demo/image_demo.py'
# names the checkpoint carries, unlike the config's DEMO_CLASSES
CKPT_CLASSES = ('c0', 'c1', 'c2', 'c3', 'c4')


@pytest.fixture(scope='module')
def checkpoints(tmp_path_factory):
    """The tiny model's random weights, with and without class names."""
    torch.manual_seed(0)
    model = MODELS.build(Config.fromfile(TINY_CONFIG).model)
    model.init_weights()
    # scores of random weights saturate at 1; smaller class logits spread
    # them, so that a threshold has something to cut
    with torch.no_grad():
        for conv in model.bbox_head.cls_convs.modules():
            if isinstance(conv, torch.nn.Conv2d):
                conv.weight.mul_(1e-3)
    root = tmp_path_factory.mktemp('ckpt')
    named, unnamed = root / 'named.pth', root / 'unnamed.pth'
    save_checkpoint(
        dict(
            state_dict=model.state_dict(),
            meta=dict(dataset_meta=dict(classes=CKPT_CLASSES))), str(named))
    save_checkpoint(dict(state_dict=model.state_dict()), str(unnamed))
    return dict(named=named, unnamed=unnamed)


def demo(*args, check=True):
    return run_tool(DEMO, *args, check=check, timeout=120)


def check_detections(pred: dict, width: int, height: int, score_thr: float):
    """Assert that ``pred`` holds sound detections inside a W x H image."""
    assert len(pred['labels']) == len(pred['scores']) == len(pred['bboxes'])
    assert pred['scores'], 'no detections at this threshold'
    scores = np.array(pred['scores'])
    assert (scores >= score_thr).all() and (scores <= 1).all()
    assert (np.diff(scores) <= 0).all(), 'scores are not sorted'
    assert set(pred['labels']) <= set(range(len(DEMO_CLASSES)))
    x1, y1, x2, y2 = np.array(pred['bboxes']).T
    assert (0 <= x1).all() and (x1 <= x2).all() and (x2 <= width).all()
    assert (0 <= y1).all() and (y1 <= y2).all() and (y2 <= height).all()


def labels_line(classes) -> str:
    return 'labels: ' + ', '.join(f'{i} {c}' for i, c in enumerate(classes))


@pytest.fixture(scope='module')
def single_image_run(demo_root, checkpoints, tmp_path_factory):
    """Outputs and stdout of a run on one image, keeping every detection."""
    out = tmp_path_factory.mktemp('single')
    proc = demo(demo_root / 'val' / '000000.jpg', TINY_CONFIG,
                checkpoints['named'], '--out-dir', out, '--score-thr', 0)
    return out, proc.stdout


def test_single_image(demo_root, single_image_run):
    out, stdout = single_image_run
    height, width = cv2.imread(str(demo_root / 'val' /
                                   '000000.jpg')).shape[:2]
    check_detections(
        json.loads((out / 'preds' / '000000.json').read_text()), width,
        height, 0)
    assert cv2.imread(str(out / 'vis' / '000000.jpg')).shape == (height,
                                                                 width, 3)
    assert labels_line(CKPT_CLASSES) in stdout  # the checkpoint's names


def test_folder_in_batches(demo_root, checkpoints, single_image_run,
                           tmp_path):
    folder = tmp_path / 'images'
    folder.mkdir()
    names = ['000000', '000001', '000002']
    for name in names:
        shutil.copy(demo_root / 'val' / f'{name}.jpg', folder)
    (folder / 'notes.txt').write_text('not an image')
    # a threshold half-way down the unfiltered scores of 000000, between
    # two of them, far from both next to float noise between batch sizes
    unfiltered = json.loads(
        (single_image_run[0] / 'preds' / '000000.json').read_text())
    keep = len(unfiltered['scores']) // 2
    score_thr = sum(unfiltered['scores'][keep - 1:keep + 1]) / 2
    out = tmp_path / 'out'
    proc = demo(folder, TINY_CONFIG, checkpoints['unnamed'], '--out-dir',
                out, '--score-thr', score_thr, '--batch-size', 2)

    assert sorted(p.name for p in (out / 'vis').iterdir()) == [
        f'{n}.jpg' for n in names
    ]
    assert sorted(p.name for p in (out / 'preds').iterdir()) == [
        f'{n}.json' for n in names
    ]
    preds = {
        name: json.loads((out / 'preds' / f'{name}.json').read_text())
        for name in names
    }
    for name, pred in preds.items():
        height, width = cv2.imread(str(folder / f'{name}.jpg')).shape[:2]
        check_detections(pred, width, height, score_thr)
        assert cv2.imread(str(out / 'vis' / f'{name}.jpg')).shape == (
            height, width, 3)
    # the threshold drops exactly the detections under it
    assert preds['000000']['labels'] == unfiltered['labels'][:keep]
    np.testing.assert_allclose(
        preds['000000']['bboxes'], unfiltered['bboxes'][:keep], atol=1e-3)
    # without names in the checkpoint, the config's dataset names them
    assert labels_line(DEMO_CLASSES) in proc.stdout


def test_video(demo_root, checkpoints, tmp_path):
    video = tmp_path / 'clip.mp4'
    width, height, fps, num_frames = 200, 160, 5, 4
    writer = cv2.VideoWriter(
        str(video), cv2.VideoWriter_fourcc(*'mp4v'), fps, (width, height))
    for i in range(num_frames):
        image = cv2.imread(str(demo_root / 'val' / f'{i:06d}.jpg'))
        writer.write(cv2.resize(image, (width, height)))
    writer.release()
    out = tmp_path / 'out'
    # 3 frames per batch: one full batch and one partial
    demo(video, TINY_CONFIG, checkpoints['named'], '--out-dir', out,
         '--score-thr', 0, '--batch-size', 3)

    drawn = cv2.VideoCapture(str(out / 'vis' / 'clip.mp4'))
    assert drawn.get(cv2.CAP_PROP_FPS) == fps
    frames = []
    while True:
        ok, frame = drawn.read()
        if not ok:
            break
        frames.append(frame)
    assert len(frames) == num_frames
    assert all(frame.shape == (height, width, 3) for frame in frames)

    pred = json.loads((out / 'preds' / 'clip.json').read_text())
    assert pred['classes'] == list(CKPT_CLASSES)
    assert pred['fps'] == fps
    assert [f['frame'] for f in pred['frames']] == list(range(num_frames))
    for frame_pred in pred['frames']:
        check_detections(frame_pred, width, height, 0)


@pytest.mark.parametrize('flag, compiled', [('--fast', ''),
                                            ('--compile', ', torch.compile')])
def test_fast_without_drawings(demo_root, checkpoints, tmp_path, flag,
                               compiled):
    out = tmp_path / 'out'
    image = demo_root / 'val' / '000001.jpg'
    proc = demo(image, TINY_CONFIG, checkpoints['named'], '--out-dir', out,
                '--score-thr', 0, flag, '--no-vis')
    # the backend fast inference chose, and how
    assert re.search(r'^fast inference: (bfloat16|float32|int8) in .*'
                     f'{compiled}$', proc.stdout, re.M), proc.stdout
    height, width = cv2.imread(str(image)).shape[:2]
    check_detections(
        json.loads((out / 'preds' / '000001.json').read_text()), width,
        height, 0)
    assert not (out / 'vis').exists()


def bad_inputs(root, demo_root):
    """(name, input, the message expected) for each kind of bad input."""
    empty = root / 'empty'
    empty.mkdir()
    (empty / 'readme.txt').write_text('no images here')
    mixed = root / 'mixed'
    mixed.mkdir()
    shutil.copy(demo_root / 'val' / '000000.jpg', mixed)
    corrupt = mixed / 'broken.jpg'
    corrupt.write_bytes(np.random.default_rng(0).bytes(2000))
    gif = root / 'anim.gif'
    gif.write_bytes(b'GIF89a')
    missing = root / 'missing.jpg'
    return {
        'missing': (missing, f"input '{missing}' does not exist"),
        'empty folder': (empty, f"folder '{empty}' holds no images"),
        'extension': (gif, f"input '{gif}' has an unsupported extension"),
        'corrupt': (mixed, 'cannot read 1 of 2 images (corrupt, not an '
                    f"image or not readable): '{corrupt}'"),
    }


@pytest.mark.parametrize('case',
                         ['missing', 'empty folder', 'extension', 'corrupt'])
def test_bad_input_names_the_file(case, demo_root, checkpoints, tmp_path):
    path, message = bad_inputs(tmp_path, demo_root)[case]
    proc = demo(path, TINY_CONFIG, checkpoints['named'], '--out-dir',
                tmp_path / 'out', check=False)
    assert proc.returncode == 2
    assert message in proc.stderr
    assert 'Traceback' not in proc.stderr
    assert not (tmp_path / 'out').exists()


def test_missing_checkpoint_is_named(demo_root, tmp_path):
    missing = tmp_path / 'no.pth'
    proc = demo(demo_root / 'val' / '000000.jpg', TINY_CONFIG, missing,
                check=False)
    assert proc.returncode == 2
    assert f"checkpoint file '{missing}' does not exist" in proc.stderr
