#!/usr/bin/env bash
# Set up the environment (first run: ~11 min, mostly compiling mmcv) and run
# the test suite. Extra arguments go to pytest.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$root/tools/setup_env.sh"
cd "$root"
exec .venv/bin/python -m pytest tests "$@"
