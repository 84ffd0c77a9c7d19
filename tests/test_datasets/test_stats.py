"""What a dataset asks of M2Det (projects/m2det/datasets/stats.py) and the
config tools/misc/dataset_stats.py fits to it."""
import json

import numpy as np
import pytest
from mmdet.registry import DATASETS, MODELS
from mmdet.utils import register_all_modules
from mmengine.config import Config

from conftest import REPO, read_scalars, run_tool, to_voc
from projects.m2det.datasets import DEMO_CLASSES, stats

register_all_modules()


@pytest.fixture
def tiny_coco(tmp_path):
    """Two images, three boxes of known sizes, one crowd box."""
    data = dict(
        images=[dict(id=1, file_name='a.jpg', width=100, height=200),
                dict(id=2, file_name='b.jpg', width=200, height=100)],
        annotations=[
            dict(id=1, image_id=1, category_id=3, bbox=[0, 0, 10, 40]),
            dict(id=2, image_id=1, category_id=7, bbox=[50, 50, 20, 20]),
            dict(id=3, image_id=2, category_id=3, bbox=[10, 10, 80, 20]),
            dict(id=4, image_id=2, category_id=3, bbox=[0, 0, 5, 5],
                 iscrowd=1)
        ],
        categories=[dict(id=7, name='dog'), dict(id=3, name='cat')])
    path = tmp_path / 'tiny.json'
    path.write_text(json.dumps(data))
    return str(path)


def test_coco_boxes_and_summary(tiny_coco):
    data = stats.read_coco(tiny_coco)
    assert data.classes == ('cat', 'dog')  # by category id
    assert data.labels.tolist() == [0, 1, 0]  # the crowd box left out
    np.testing.assert_array_equal(
        data.boxes, [[0, 0, 10, 40], [50, 50, 70, 70], [10, 10, 90, 30]])
    # the square resize to 100: x by 100 / width, y by 100 / height
    np.testing.assert_allclose(
        data.boxes_at_input(100),
        [[0, 0, 10, 20], [50, 25, 70, 35], [5, 10, 45, 30]])
    summary = stats.describe(data, 100)
    assert (summary['images'], summary['boxes']) == (2, 3)
    assert summary['boxes_per_class'] == dict(cat=2, dog=1)
    assert summary['box_side'][0] == pytest.approx(20)  # 10 x 40
    assert summary['box_side'][-1] == pytest.approx(40)  # 80 x 20
    assert summary['boxes_per_image'] == (1, 1.05, 1.5, 1.95, 2)
    assert summary['images_without_boxes'] == 0


def test_a_box_that_is_a_prior_is_matched_on_its_level():
    ratios = (0.08, 0.15, 0.33, 0.51, 0.69, 0.87, 1.05)
    generator, sides = stats.prior_generator(320, ratios)
    assert sides == [40, 20, 10, 5, 3, 1]
    first = generator.grid_priors([(s, s) for s in sides],
                                  device='cpu')[0][0].numpy()
    # a prior of level 0 itself, and a box far too small for any prior
    boxes = np.stack([first, [100, 100, 102, 102]])
    shares = stats.level_match_shares(boxes, generator, sides)
    assert shares['level_0'] == 0.5
    assert shares['none'] == 0.5
    assert all(shares[f'level_{k}'] == 0 for k in range(2, 6))


def test_repeats_give_the_iterations():
    # 28 images, batch 4: 750 steps an epoch need 3,000 samples, 108 repeats
    assert stats.repeat_times(28, 4, 3750, 5) == 108
    assert stats.repeat_times(3000, 4, 3750, 5) == 1


def test_fitted_priors_match_at_least_as_many_boxes(demo_root):
    data = stats.read_coco(str(demo_root / 'annotations' / 'train.json'))
    start = (0.08, 0.2, 0.37, 0.54, 0.71, 0.88)
    fitted = stats.fit_size_ratios(data, 160, 5, start)
    assert len(fitted) == 6
    assert all(b > a for a, b in zip(fitted, fitted[1:]))
    boxes = data.boxes_at_input(160)
    assert stats.matched_share(boxes, 160, fitted) >= \
        stats.matched_share(boxes, 160, start)


def test_voc_folder_reads_as_its_coco_original(demo_root, tmp_path):
    to_voc(demo_root, tmp_path / 'voc')
    coco = stats.read_coco(str(demo_root / 'annotations' / 'train.json'))
    voc = stats.read_voc(str(tmp_path / 'voc'), 'train', DEMO_CLASSES)
    assert voc.labels.tolist() == coco.labels.tolist()
    np.testing.assert_array_equal(voc.image_sizes, coco.image_sizes)
    # the VOC files hold rounded pixel corners
    np.testing.assert_allclose(voc.boxes, coco.boxes, atol=0.5)


def test_bad_voc_files_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match='ImageSets/Main/train.txt'):
        stats.read_voc(str(tmp_path))
    (tmp_path / 'ImageSets' / 'Main').mkdir(parents=True)
    (tmp_path / 'ImageSets' / 'Main' / 'train.txt').write_text('x\n')
    (tmp_path / 'Annotations').mkdir()
    (tmp_path / 'Annotations' / 'x.xml').write_text('<annotation><size>')
    with pytest.raises(ValueError, match=r'Annotations/x.xml: not a Pascal'):
        stats.read_voc(str(tmp_path))


def assert_trains_and_evaluates(config, work):
    """One epoch of ``config`` with ``tools/train.py``: a loss, then a COCO
    evaluation."""
    run_tool('tools/train.py', config, '--work-dir', work, '--cfg-options',
             'train_dataloader.dataset.times=1', 'train_cfg.max_epochs=1',
             'train_cfg.val_interval=1', 'default_hooks.logger.interval=1')
    records = read_scalars(work)
    assert any('loss' in r for r in records)
    assert any('coco/bbox_mAP' in r for r in records)


def test_tool_writes_a_config_that_trains(demo_root, tmp_path):
    out, figures = tmp_path / 'configs' / 'm2det_mine.py', tmp_path / 'f.json'
    ann = demo_root / 'annotations'
    proc = run_tool('tools/misc/dataset_stats.py', ann / 'train.json',
                    '--images', demo_root / 'train', '--val',
                    ann / 'val.json', '--val-images', demo_root / 'val',
                    '--out', out, '--json', figures)
    report = json.loads(figures.read_text())
    assert report['images'] == 8 and report['input_size'] == 160
    assert 'fitted_match: level_0' in proc.stdout
    cfg = Config.fromfile(out)
    generator = cfg.model.bbox_head.anchor_generator
    assert tuple(generator.size_ratios) == tuple(
        report['fitted_size_ratios'])
    assert cfg.classes == DEMO_CLASSES
    assert cfg.model.bbox_head.num_classes == len(DEMO_CLASSES)
    # 8 images, batch 4, the demo's 3,750 steps in 5 epochs
    assert cfg.train_dataloader.dataset.times == stats.repeat_times(
        8, 4, 3750, 5) == 375
    assert len(DATASETS.build(cfg.train_dataloader.dataset)) == 8 * 375
    MODELS.build(cfg.model)
    assert_trains_and_evaluates(out, tmp_path / 'work')


def test_tool_fits_the_small_data_recipe(demo_root, tmp_path):
    """The README's "Your own data" command: the small-data base at 320."""
    out = tmp_path / 'm2det_mine.py'
    ann = demo_root / 'annotations'
    run_tool('tools/misc/dataset_stats.py', ann / 'train.json', '--images',
             demo_root / 'train', '--val', ann / 'val.json', '--val-images',
             demo_root / 'val', '--base-config', 'configs/m2det_small_data.py',
             '--input-size', '320', '--out', out)
    cfg = Config.fromfile(out)
    assert cfg.model.bbox_head.anchor_generator.input_size == 320
    assert [t.type for t in cfg.train_pipeline][2] == 'M2DetRandomCrop'
    assert [t.scale for t in cfg.train_pipeline + cfg.test_pipeline
            if 'scale' in t] == [(320, 320)] * 2
    assert_trains_and_evaluates(out, tmp_path / 'work')


def test_tool_writes_a_voc_config(demo_root, tmp_path):
    to_voc(demo_root, tmp_path / 'voc')
    out = tmp_path / 'm2det_voc.py'
    run_tool('tools/misc/dataset_stats.py', tmp_path / 'voc', '--out', out)
    cfg = Config.fromfile(out)
    assert cfg.val_dataloader.dataset.type == 'XMLDataset'
    assert cfg.val_evaluator.type == 'VOCMetric'
    assert len(DATASETS.build(cfg.train_dataloader.dataset)) == \
        8 * cfg.train_dataloader.dataset.times


def test_coco_config_needs_its_image_folders(demo_root):
    proc = run_tool('tools/misc/dataset_stats.py',
                    demo_root / 'annotations' / 'train.json', '--out',
                    'x.py', check=False)
    assert proc.returncode == 2
    assert '--out with a COCO json needs --images, --val and --val-images' \
        in proc.stderr


def crowded(boxes_per_image):
    """A DatasetBoxes of 100 x 100 images with the given box counts."""
    index = np.repeat(np.arange(len(boxes_per_image)), boxes_per_image)
    return stats.DatasetBoxes(
        source='crowded.json', classes=('cell', ),
        image_sizes=np.full((len(boxes_per_image), 2), 100.),
        boxes=np.tile([[10., 10., 30., 30.]], (len(index), 1)),
        image_index=index, labels=np.zeros(len(index), np.int64))


def test_crowded_images_raise_the_detection_cap(tmp_path):
    # 1.5 x 301 boxes, rounded up to a hundred
    data = crowded([301, 16])
    assert stats.detections_per_image(data, 100) == 500
    assert stats.detections_per_image(data, 500) is None
    assert stats.detections_per_image(crowded([66, 3]), 100) is None
    assert stats.detections_per_image(crowded([67]), 100) == 200
    out = tmp_path / 'm2det_cells.py'
    paths = dict(data_root='data/cells/', train_ann='a/train.json',
                 train_img='train/', val_ann='a/val.json', val_img='val/')
    out.write_text(stats.fitted_config(
        data, str(REPO / 'configs' / 'm2det_demo.py'), str(out), 160,
        (0.08, 0.2, 0.37, 0.54, 0.71, 0.88), 3, 0.9, paths, 500))
    cfg = Config.fromfile(out)
    assert cfg.model.test_cfg.max_per_img == 500
    # the rest of the base's test recipe stays
    assert cfg.model.test_cfg.nms.type == 'soft_nms'
    assert cfg.model.bbox_head.anchor_generator.input_size == 160
    out.write_text(stats.fitted_config(
        data, str(REPO / 'configs' / 'm2det_demo.py'), str(out), 160,
        (0.08, 0.2, 0.37, 0.54, 0.71, 0.88), 3, 0.9, paths))
    assert Config.fromfile(out).model.test_cfg.max_per_img == 100


def test_written_data_root_is_relative_below_the_working_dir(
        tmp_path, monkeypatch):
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        'dataset_stats', REPO / 'tools' / 'misc' / 'dataset_stats.py')
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    (tmp_path / 'work' / 'data' / 'mine').mkdir(parents=True)
    monkeypatch.chdir(tmp_path / 'work')
    assert tool.config_path(str(tmp_path / 'work' / 'data' / 'mine')) == \
        'data/mine'
    assert tool.config_path('data/mine/') == 'data/mine'
    assert tool.config_path(str(tmp_path / 'elsewhere')) == \
        str(tmp_path / 'elsewhere')
