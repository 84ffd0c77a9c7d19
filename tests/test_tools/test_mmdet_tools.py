"""mmdet's own analysis tools run on our configs through the wrappers in
tools/analysis_tools (get_flops.py is in test_flops.py)."""
import json
import re

from mmengine.runner import save_checkpoint

from conftest import TINY_CONFIG, build_eval_detector, run_tool


def test_browse_dataset_draws_every_training_image(demo_root, tmp_path):
    out = tmp_path / 'browse'
    run_tool('tools/analysis_tools/browse_dataset.py', TINY_CONFIG,
             '--output-dir', out, '--not-show', '--cfg-options',
             f'data_root={demo_root}')
    images = json.loads(
        (demo_root / 'annotations' / 'train.json').read_text())['images']
    # the COCO base keeps images without boxes (filter_empty_gt=False)
    assert sorted(p.name for p in out.iterdir()) == sorted(
        image['file_name'].split('/')[-1] for image in images)


def test_benchmark_dataloader_and_dataset_tasks(demo_root):
    for task in ('dataloader', 'dataset'):
        proc = run_tool('tools/analysis_tools/benchmark.py', TINY_CONFIG,
                        '--task', task, '--dataset-type', 'train',
                        '--max-iter', '4', '--num-warmup', '1',
                        '--log-interval', '1', '--cfg-options',
                        f'data_root={demo_root}',
                        'train_dataloader.batch_size=1')
        fps = re.search(r'Overall fps: ([\d.]+) ', proc.stdout +
                        proc.stderr)
        assert fps and float(fps[1]) > 0, task


def test_benchmark_inference_task_needs_cuda():
    import torch
    if torch.cuda.is_available():
        return  # mmdet's own inference benchmark runs: nothing to refuse
    proc = run_tool('tools/analysis_tools/benchmark.py', TINY_CONFIG,
                    '--task', 'inference', check=False)
    assert proc.returncode == 1
    assert 'runs on a CUDA GPU' in proc.stderr
    assert 'benchmark_cpu.py' in proc.stderr


def test_confusion_matrix_from_test_predictions(demo_root, tmp_path):
    ckpt = tmp_path / 'tiny.pth'
    model = build_eval_detector(TINY_CONFIG, score_thr=0.0)
    save_checkpoint(dict(state_dict=model.state_dict()), str(ckpt))
    results = tmp_path / 'results.pkl'
    run_tool('tools/test.py', TINY_CONFIG, ckpt, '--out', results,
             '--work-dir', tmp_path / 'work', '--cfg-options',
             f'data_root={demo_root}')
    run_tool('tools/analysis_tools/confusion_matrix.py', TINY_CONFIG,
             results, tmp_path / 'confusion', '--score-thr', '0.0',
             '--cfg-options', f'data_root={demo_root}')
    png = tmp_path / 'confusion' / 'confusion_matrix.png'
    assert png.stat().st_size > 10_000
