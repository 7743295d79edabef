#!/usr/bin/env bash
# Install rlgen and its known-good dependency set into ./.venv (a no-op when already done).
# torch==2.13.0 first: pip takes that CPU build from local disk; a plain `torch` would pull a
# multi-GB CUDA build. The project's own pins (pyproject.toml) repeat it so pip keeps it.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null || PY=python3
[ -x .venv/bin/python ] || "$PY" -m venv .venv
stamp=.venv/.rlgen-installed
want=$(cat pyproject.toml scripts/install.sh | sha256sum | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  echo "rlgen: dependencies already installed in .venv"
  exit 0
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet torch==2.13.0
.venv/bin/python -m pip install --quiet -e ".[test]"
echo "$want" > "$stamp"
echo "rlgen: installed into .venv"
