"""M2DetInferencer called from Python on the tiny model."""
import json
import re
import shutil

import cv2
import numpy as np
import pytest
import torch
from mmengine.runner import save_checkpoint

from conftest import TINY_CONFIG, build_eval_detector
from projects.m2det.apis import InputError, M2DetInferencer
from projects.m2det.datasets import DEMO_CLASSES

# names the checkpoint carries, unlike the config's DEMO_CLASSES
CKPT_CLASSES = ('c0', 'c1', 'c2', 'c3', 'c4')


@pytest.fixture(scope='module')
def checkpoints(tmp_path_factory):
    """The tiny model's random weights, with and without class names."""
    model = build_eval_detector(TINY_CONFIG)
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


@pytest.fixture(scope='module')
def inferencer(checkpoints):
    """Keeps every detection."""
    return M2DetInferencer(
        TINY_CONFIG,
        checkpoints['named'],
        device='cpu',
        score_thr=0,
        show_progress=False)


@pytest.fixture(scope='module')
def image(demo_root):
    return str(demo_root / 'val' / '000000.jpg')


@pytest.fixture(scope='module')
def unfiltered(inferencer, image):
    return inferencer.detect_image(image)


def middle_threshold(scores: list) -> tuple:
    """A threshold half-way down ``scores`` (sorted down), between two of
    them, and how many reach it."""
    keep = len(scores) // 2
    return sum(scores[keep - 1:keep + 1]) / 2, keep


def assert_same_detections(pred: dict, expected: dict, atol=1e-4):
    assert pred['labels'] == expected['labels']
    np.testing.assert_allclose(pred['scores'], expected['scores'], atol=atol)
    np.testing.assert_allclose(pred['bboxes'], expected['bboxes'], atol=atol)


def test_image_prediction_structure(inferencer, unfiltered, image):
    assert inferencer.classes == CKPT_CLASSES  # the checkpoint's names
    assert sorted(unfiltered) == ['bboxes', 'labels', 'scores']
    num = len(unfiltered['labels'])
    assert num > 1
    assert len(unfiltered['scores']) == num
    assert np.array(unfiltered['bboxes']).shape == (num, 4)
    assert all(type(label) is int for label in unfiltered['labels'])
    assert set(unfiltered['labels']) <= set(range(len(CKPT_CLASSES)))
    scores = np.array(unfiltered['scores'])
    assert (scores >= 0).all() and (scores <= 1).all()
    assert (np.diff(scores) <= 0).all(), 'scores are not sorted'
    height, width = cv2.imread(image).shape[:2]
    x1, y1, x2, y2 = np.array(unfiltered['bboxes']).T
    assert (0 <= x1).all() and (x1 <= x2).all() and (x2 <= width).all()
    assert (0 <= y1).all() and (y1 <= y2).all() and (y2 <= height).all()


def test_score_threshold_and_config_classes(checkpoints, unfiltered, image):
    score_thr, keep = middle_threshold(unfiltered['scores'])
    inferencer = M2DetInferencer(
        TINY_CONFIG,
        checkpoints['unnamed'],
        device='cpu',
        score_thr=score_thr,
        show_progress=False)
    # without names in the checkpoint, the config's dataset names them
    assert inferencer.classes == DEMO_CLASSES
    pred = inferencer.detect_image(image)
    assert min(pred['scores']) >= score_thr
    # exactly the detections under the threshold are gone
    assert len(pred['scores']) == keep
    assert_same_detections(
        pred, {key: value[:keep]
               for key, value in unfiltered.items()})


def test_array_and_file_give_the_same_outputs(inferencer, unfiltered, image,
                                              tmp_path):
    from_file = inferencer.detect_image(image, out_dir=tmp_path / 'file')
    from_array = inferencer.detect_image(
        cv2.imread(image), out_dir=tmp_path / 'array')
    assert from_file == unfiltered
    assert_same_detections(from_array, from_file)
    # an array is named after a counter, and drawn in the file's colours
    (drawn_file, ), (drawn_array, ) = (list(
        (tmp_path / kind / 'vis').iterdir()) for kind in ('file', 'array'))
    assert drawn_file.name == '000000.jpg'
    np.testing.assert_array_equal(
        cv2.imread(str(drawn_array)), cv2.imread(str(drawn_file)))
    (written, ) = (tmp_path / 'array' / 'preds').iterdir()
    assert json.loads(written.read_text()) == from_array


def test_folder_writes_what_it_returns(inferencer, demo_root, tmp_path):
    folder = tmp_path / 'images'
    folder.mkdir()
    names = ['000002', '000000', '000001']
    for name in names:
        shutil.copy(demo_root / 'val' / f'{name}.jpg', folder)
    (folder / 'notes.txt').write_text('not an image')
    out = tmp_path / 'out'
    preds = inferencer.detect_folder(folder, out_dir=out, batch_size=2)

    assert list(preds) == [str(folder / f'{n}.jpg') for n in sorted(names)]
    assert sorted(p.name for p in (out / 'preds').iterdir()) == [
        f'{n}.json' for n in sorted(names)
    ]
    for path, pred in preds.items():
        name = path.rsplit('/', 1)[1]
        stem = name.split('.')[0]
        assert json.loads((out / 'preds' / f'{stem}.json').read_text()) == pred
        assert cv2.imread(str(out / 'vis' / name)).shape == cv2.imread(
            path).shape


def test_video(inferencer, demo_root, tmp_path):
    video = tmp_path / 'clip.mp4'
    width, height, fps, num_frames = 200, 160, 5, 3
    writer = cv2.VideoWriter(
        str(video), cv2.VideoWriter_fourcc(*'mp4v'), fps, (width, height))
    for i in range(num_frames):
        image = cv2.imread(str(demo_root / 'val' / f'{i:06d}.jpg'))
        writer.write(cv2.resize(image, (width, height)))
    writer.release()
    out = tmp_path / 'out'
    result = inferencer.detect_video(video, out_dir=out, batch_size=2)

    assert sorted(result) == ['classes', 'fps', 'frames']
    assert result['classes'] == list(CKPT_CLASSES)
    assert result['fps'] == fps
    assert [f['frame'] for f in result['frames']] == list(range(num_frames))
    assert json.loads((out / 'preds' / 'clip.json').read_text()) == result
    # the frames, decoded and detected in as arrays, give the same
    capture = cv2.VideoCapture(str(video))
    frames = [capture.read()[1] for _ in range(num_frames)]
    capture.release()
    for frame_pred, expected in zip(
            result['frames'], inferencer.detect_images(frames,
                                                       batch_size=2)):
        assert sorted(frame_pred) == ['bboxes', 'frame', 'labels', 'scores']
        assert_same_detections(
            {key: frame_pred[key]
             for key in expected}, expected)
    drawn = cv2.VideoCapture(str(out / 'vis' / 'clip.mp4'))
    assert drawn.get(cv2.CAP_PROP_FRAME_COUNT) == num_frames
    assert drawn.read()[1].shape == (height, width, 3)
    drawn.release()


def test_fast_inference_keeps_the_detections(checkpoints, unfiltered, image):
    score_thr, keep = middle_threshold(unfiltered['scores'])
    inferencer = M2DetInferencer(
        TINY_CONFIG,
        checkpoints['named'],
        device='cpu',
        score_thr=score_thr,
        fast=True,
        dtype='float32',
        show_progress=False)
    assert inferencer.fast_inference.backend == 'float32'
    assert inferencer.model._optimized_for_inference
    # BN folded in float32 changes only the rounding
    assert_same_detections(
        inferencer.detect_image(image),
        {key: value[:keep]
         for key, value in unfiltered.items()},
        atol=1e-3)


def bad_inputs(root, demo_root):
    """(method, input, the message expected) for each kind of bad input."""
    mixed = root / 'mixed'
    mixed.mkdir()
    shutil.copy(demo_root / 'val' / '000000.jpg', mixed)
    corrupt = mixed / 'broken.jpg'
    corrupt.write_bytes(np.random.default_rng(0).bytes(2000))
    missing = root / 'missing.jpg'
    clip = root / 'clip.mp4'
    clip.write_bytes(b'not a video')
    return {
        'missing': ('detect_image', missing,
                    f"input '{missing}' does not exist"),
        'corrupt': ('detect_folder', mixed,
                    'cannot read 1 of 2 images (corrupt, not an image or '
                    f"not readable): '{corrupt}'"),
        'unreadable video': ('detect_video', clip,
                             f"cannot open video '{clip}'"),
        'wrong kind': ('detect_image', mixed,
                       f"input '{mixed}' is a folder, not an image"),
    }


@pytest.mark.parametrize(
    'case', ['missing', 'corrupt', 'unreadable video', 'wrong kind'])
def test_bad_input_raises_naming_the_file(case, inferencer, demo_root,
                                          tmp_path):
    method, path, message = bad_inputs(tmp_path, demo_root)[case]
    with pytest.raises(InputError) as error:
        getattr(inferencer, method)(path, out_dir=tmp_path / 'out')
    assert isinstance(error.value, ValueError)
    assert message in str(error.value)
    assert not (tmp_path / 'out').exists()


def test_missing_checkpoint_is_named(tmp_path):
    missing = tmp_path / 'no.pth'
    message = f"checkpoint file '{missing}' does not exist"
    with pytest.raises(InputError, match=re.escape(message)):
        M2DetInferencer(TINY_CONFIG, missing, device='cpu')
