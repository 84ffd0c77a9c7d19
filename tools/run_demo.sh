#!/usr/bin/env bash
# The main job: set up the environment, write the demo data, train M2Det on
# it, evaluate it with the COCO metric and draw its detections on the val
# images. WORK_DIR (default work_dirs/m2det_demo) receives everything.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$root/tools/setup_env.sh"
cd "$root"
py=.venv/bin/python
config=configs/m2det_demo.py
work="${WORK_DIR:-work_dirs/m2det_demo}"

start=$(date +%s)
"$py" tools/misc/make_demo_data.py --out data/demo
"$py" tools/train.py "$config" --work-dir "$work"
"$py" tools/test.py "$config" "$(cat "$work/last_checkpoint")" \
    --work-dir "$work/test" --show-dir vis
"$py" tools/misc/summarize_test.py "$work/test" --seconds $(( $(date +%s) - start ))
