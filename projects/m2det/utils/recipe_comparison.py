"""Train several configs for the same wall time and compare their mAP.

Each config is a child of an epoch-based recipe whose training set is a
``RepeatDataset`` (what ``tools/misc/dataset_stats.py`` writes, and mmdet's
SSD recipes). A probe run of ``PROBE_STEPS`` steps times a training step;
the repeat count is then set so that the full schedule takes about
the budget, every scheduler keeping its shape; each run is a separate
``tools/train.py`` process, evaluated on its val set at the end.
"""
import json
import os.path as osp
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List, Sequence

from mmengine.config import Config

from ..datasets.stats import repeat_times

REPO_ROOT = Path(__file__).resolve().parents[3]
PROBE_STEPS = 25
PROBE_SKIP = 5  # first steps: workers starting, oneDNN choosing kernels


def _train(config: str, work_dir: str, options: Sequence[str]) -> float:
    """Run ``tools/train.py``; return its wall time in seconds."""
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, str(REPO_ROOT / 'tools' / 'train.py'), config,
         '--work-dir', work_dir, '--cfg-options', *options],
        check=True, cwd=REPO_ROOT, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def read_scalars(work_dir: str, run: int = -1) -> List[Dict]:
    """The scalar records of a run in ``work_dir`` (default the newest)."""
    runs = sorted(p for p in Path(work_dir).iterdir()
                  if (p / 'vis_data' / 'scalars.json').exists())
    if not runs:
        raise FileNotFoundError(f'{work_dir}: no */vis_data/scalars.json')
    text = (runs[run] / 'vis_data' / 'scalars.json').read_text()
    return [json.loads(line) for line in text.splitlines()]


def training_set_size(cfg: Config) -> int:
    """Images in the repeated training set, as the dataset loads them."""
    from mmdet.registry import DATASETS
    from mmdet.utils import register_all_modules
    register_all_modules()
    dataset = cfg.train_dataloader.dataset
    if dataset.type != 'RepeatDataset':
        raise ValueError(
            f'{cfg.filename}: train_dataloader.dataset.type is '
            f'{dataset.type!r}; a budget is set through a RepeatDataset\'s '
            'times (tools/misc/dataset_stats.py writes one)')
    return len(DATASETS.build(dataset.dataset))


def probe_step_seconds(config: str, work_dir: str, num_images: int,
                       batch_size: int) -> float:
    """Median seconds of a training step, over one epoch of the images
    repeated to ``PROBE_STEPS`` steps (the first ``PROBE_SKIP`` left
    out)."""
    times = repeat_times(num_images, batch_size, PROBE_STEPS, 1)
    _train(config, work_dir, [
        f'train_dataloader.dataset.times={times}', 'train_cfg.max_epochs=1',
        'train_cfg.val_begin=2', 'default_hooks.logger.interval=1',
        'log_processor.window_size=1', 'default_hooks.checkpoint.interval=2'
    ])
    steps = [r['time'] for r in read_scalars(work_dir) if 'time' in r]
    return statistics.median(steps[PROBE_SKIP:])


def compare(configs: Sequence[str], budget_s: float,
            work_dir: str) -> List[Dict]:
    """Train each config for about ``budget_s`` and evaluate it.

    Returns:
        list[dict]: Per config: ``config``, ``step_s`` (probe),
        ``iterations``, ``repeat``, ``train_s`` (measured, with start-up
        and the final evaluation), ``bbox_mAP``, ``bbox_mAP_50``.
    """
    rows = []
    for config in configs:
        cfg = Config.fromfile(config)
        name = osp.splitext(osp.basename(config))[0]
        batch = cfg.train_dataloader.batch_size
        epochs = cfg.train_cfg.max_epochs
        num_images = training_set_size(cfg)
        step_s = probe_step_seconds(config,
                                    osp.join(work_dir, name + '_probe'),
                                    num_images, batch)
        iterations = int(budget_s / step_s)
        times = repeat_times(num_images, batch, iterations, epochs)
        steps = epochs * -(-num_images * times // batch)
        if steps > 1.25 * iterations:
            raise ValueError(
                f'{config}: train_cfg.max_epochs {epochs} over {num_images} '
                f'images at batch {batch} make {steps} steps, more than '
                f'the {iterations} of the budget: lower max_epochs')
        run_dir = osp.join(work_dir, name)
        train_s = _train(config, run_dir, [
            f'train_dataloader.dataset.times={times}',
            f'train_cfg.val_interval={epochs}'
        ])
        final = [r for r in read_scalars(run_dir) if 'coco/bbox_mAP' in r][-1]
        rows.append(
            dict(config=config, step_s=step_s, iterations=steps,
                 repeat=times, train_s=train_s,
                 bbox_mAP=final['coco/bbox_mAP'],
                 bbox_mAP_50=final['coco/bbox_mAP_50']))
    return rows


def markdown_table(rows: Sequence[Dict]) -> str:
    lines = [
        '| config | step (s) | steps | wall incl. eval (min) | mAP | AP50 |',
        '|---|---:|---:|---:|---:|---:|'
    ]
    for r in rows:
        lines.append(
            f"| `{r['config']}` | {r['step_s']:.3f} | {r['iterations']} | "
            f"{r['train_s'] / 60:.1f} | {r['bbox_mAP']:.3f} | "
            f"{r['bbox_mAP_50']:.3f} |")
    return '\n'.join(lines)
