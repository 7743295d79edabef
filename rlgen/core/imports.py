"""The modules a config names under `imports:`, imported in every process that needs them.

Why in core: the driver, collection and evaluation actors, training tasks and sweep trials all
call it before they read a config's names, since a user's learner, world or behaviour policy
registers itself when its module is imported.
"""

from __future__ import annotations

import importlib
from typing import Iterable

from rlgen.core.typed import ConfigError

__all__ = ["import_modules"]


def import_modules(names: Iterable[str]) -> None:
    """Import each named module (a no-op for one already imported)."""
    for name in names:
        try:
            importlib.import_module(name)
        except ImportError as exc:
            raise ConfigError(f"imports: cannot import {name!r} ({exc}); is it on PYTHONPATH in every Ray worker?") from exc
