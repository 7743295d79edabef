"""User learners (imported through a config's `imports:`) that report steps to the training
monitor like a real loop, at a fixed pace whatever the machine's speed: `paced_steps` finishes,
`crash_after_steps` fails partway. The driver's bar must show the steps from inside the runs,
and end with the error of a run that fails."""

from __future__ import annotations

import time
from dataclasses import dataclass

from rlgen.learn.monitor import active_monitor
from rlgen.learn.registry import TrainedLearner, register_learner

MESSAGE = "paced_learner failed on purpose"


@dataclass(frozen=True)
class PacedConfig:
    steps: int = 100
    seconds_per_step: float = 0.02
    crash_at: int = 0
    """Raise at this step (0: never)."""
    label: str | None = None


def paced_fit(config, buffer, *, seed, device, out_dir, validate=None, show_progress=True):
    monitor = active_monitor()
    for step in range(1, config.steps + 1):
        buffer.sample_transition_batch(4)
        if monitor is not None:
            monitor.step(step)
        if step == config.crash_at:
            raise RuntimeError(f"{MESSAGE} at step {step}")
        time.sleep(config.seconds_per_step)
    return TrainedLearner(algo="paced_steps", config=config, policy=None, out_dir=out_dir, steps=config.steps)


@dataclass(frozen=True)
class CrashConfig(PacedConfig):
    """The same learner under a second name (the registry keeps one config class per learner)."""


register_learner("paced_steps", PacedConfig, paced_fit)
register_learner("crash_after_steps", CrashConfig, paced_fit)
