#!/usr/bin/env bash
# Set up the environment (first run: about 19.5 min on 2 cores, mostly
# compiling mmcv; 1-2 min once its wheel is cached) and run
# the test suite. Extra arguments go to pytest.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$root/tools/setup_env.sh"
cd "$root"
exec .venv/bin/python -m pytest tests "$@"
