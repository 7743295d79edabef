#!/usr/bin/env bash
# Install rlgen with every extra (and the test tools) into ./.venv, editable (a no-op when done).
# torch==2.13.0 goes first: on this project's machines pip takes that CPU build from local disk,
# and pyproject's `torch==2.13.0` (which any build of 2.13.0 satisfies) keeps it. Elsewhere choose
# the build with PyTorch's index: TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu (README, Install).
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
.venv/bin/python -m pip install --quiet --upgrade pip "setuptools>=77" wheel  # .ci/wheel-smoke builds the wheel with these (pyproject: build-system)
.venv/bin/python -m pip install --quiet torch==2.13.0 ${TORCH_INDEX_URL:+--index-url "$TORCH_INDEX_URL"}
.venv/bin/python -m pip install --quiet -e ".[all,test]"
echo "$want" > "$stamp"
echo "rlgen: installed into .venv"
