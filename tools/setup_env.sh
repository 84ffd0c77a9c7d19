#!/usr/bin/env bash
# Create (or refresh) the project virtualenv in .venv with a CPU build of the stack.
# Idempotent: when everything is installed it only checks versions and exits.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${M2DET_VENV:-$root/.venv}"
py="${PYTHON:-python3}"
stamp="$venv/.m2det-requirements.sha"
want="$(cat "$root/requirements/build.txt" "$root/requirements.txt" | sha1sum | cut -d' ' -f1)"

if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] \
    && "$venv/bin/python" -c "import mmcv.ops, mmdet, projects.m2det" 2>/dev/null; then
    exit 0
fi

[ -x "$venv/bin/python" ] || "$py" -m venv "$venv"
pip=("$venv/bin/python" -m pip install --disable-pip-version-check -q)
# torch and mmcv's build tools must be present before mmcv compiles against them.
"${pip[@]}" -r "$root/requirements/build.txt"
# mmcv has no wheel for this torch: it is compiled with its ops (about 16 min on
# 2 cores the first time; pip caches the wheel afterwards).
MMCV_WITH_OPS=1 MAX_JOBS="${MAX_JOBS:-$(nproc)}" "${pip[@]}" --no-build-isolation -r "$root/requirements.txt"
# Make `projects.m2det` importable from anywhere, including `mim train mmdet`.
site="$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
echo "$root" > "$site/m2det_project.pth"
"$venv/bin/python" -c "import mmcv.ops, mmdet, projects.m2det"
echo "$want" > "$stamp"
