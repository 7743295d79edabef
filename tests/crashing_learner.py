"""A user learner (imported through a config's `imports:`) that reports steps to the training
monitor like a real loop, then fails: the driver's progress bar must end with its error."""

from __future__ import annotations

import time
from dataclasses import dataclass

from rlgen.learn.monitor import active_monitor
from rlgen.learn.registry import register_learner

MESSAGE = "crashing_learner failed on purpose"


@dataclass(frozen=True)
class CrashConfig:
    steps: int = 1000
    crash_at: int = 40
    label: str | None = None


def crash_fit(config, buffer, *, seed, device, out_dir, validate=None, show_progress=True):
    monitor = active_monitor()
    for step in range(1, config.crash_at + 1):
        buffer.sample_transition_batch(4)
        if monitor is not None:
            monitor.step(step)
        time.sleep(0.02)
    raise RuntimeError(f"{MESSAGE} at step {config.crash_at}")


register_learner("crash_after_steps", CrashConfig, crash_fit)
