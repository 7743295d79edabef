"""Where datasets live: the one rule every command, config and library call follows.

Precedence, first that is given wins:

1. an explicit directory: a command's `--data-dir`, a function's `data_dir` argument;
2. `$RLGEN_DATA_DIR`, when set (a cluster's shared disk, a test's temporary folder);
3. the experiment config's `data_dir` (with `--set data_dir=...` applied);
4. `./data`.

The variable sits above the config on purpose: one variable moves every config's datasets (a
shared disk on a cluster, a temporary folder in tests) without editing the files, as a command's
flag in turn moves them past the variable.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["DATA_DIR_VARIABLE", "DEFAULT_DATA_DIR", "resolve_data_dir"]

DATA_DIR_VARIABLE = "RLGEN_DATA_DIR"
DEFAULT_DATA_DIR = "data"


def resolve_data_dir(explicit: str | Path | None = None, configured: str | Path | None = None) -> Path:
    """The data directory: `explicit`, else $RLGEN_DATA_DIR, else `configured` (a config's
    `data_dir`), else ./data (see the module docstring)."""
    if explicit is not None and str(explicit) != "":
        return Path(explicit)
    from_env = os.environ.get(DATA_DIR_VARIABLE)
    if from_env:
        return Path(from_env)
    return Path(configured if configured is not None and str(configured) != "" else DEFAULT_DATA_DIR)
