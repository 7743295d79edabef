"""What a training loop reports while it runs: steps done (for a progress bar in another process)
and each logged row of losses (to TensorBoard, through d3rlpy's logger adapter).

Why a monitor the caller installs instead of arguments to `fit`: the learner seam
(`rlgen.learn.registry`: `fit_fn(config, buffer, *, seed, device, out_dir, validate,
show_progress)`) is what user learners implement, and watching a run must not change it. The
caller (`rlgen.train.train_one`) wraps `fit` in `with monitoring(monitor):`; the built-in loop
(`rlgen.learn.base.train_d3rlpy`) reports to `active_monitor()`, and a user learner may too
(`monitor = active_monitor(); if monitor: monitor.step(n)`), or ignore it: the driver's bar then
moves when its runs finish. Without a monitor (a notebook calling `fit`) nothing is reported.

Nothing here imports Ray: `on_steps` is any callable (the training task passes one that tells the
driver's Ray actor).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rlgen.core.typed import ConfigError

TENSORBOARD_DIR = "tensorboard"
"""A run folder's TensorBoard logs (`tensorboard --logdir runs/<experiment>/train`)."""
TENSORBOARD_EXTRA = "tensorboard"


def require_tensorboard(key: str = "train.tensorboard") -> None:
    """Raise one line naming `key` and the extra to install when tensorboardX (which d3rlpy's
    `TensorboardAdapter` writes with) cannot be imported."""
    try:
        import tensorboardX  # noqa: F401
    except ImportError:
        raise ConfigError(
            f"{key} is true but tensorboardX is not installed; install the optional extra "
            f"(pip install 'rlgen[{TENSORBOARD_EXTRA}]') or set {key}: false"
        ) from None


@dataclass
class TrainingMonitor:
    """Receives a training loop's progress and logged metrics.

    on_steps(steps done): called at most every `interval_s` seconds and once at the end, so a
    slow channel (a Ray actor call) costs nothing per gradient step.
    tensorboard_dir: when set, every logged row goes to TensorBoard scalars under
    `tensorboard_dir/runs/<name>/` (d3rlpy's `TensorboardAdapterFactory` layout) and the run's
    scalar hyperparameters with its last row are written once as hparams when it ends.
    """

    on_steps: Callable[[int], None] | None = None
    tensorboard_dir: Path | None = None
    interval_s: float = 0.5
    _last_report: float = field(default=-float("inf"), init=False, repr=False)
    _steps: int = field(default=0, init=False, repr=False)
    _adapter: Any = field(default=None, init=False, repr=False)
    _last_step: int | None = field(default=None, init=False, repr=False)

    def start(self, algo: Any, name: str, params: Mapping[str, Any]) -> None:
        """Called once before the first step: opens the TensorBoard writer (when asked for)."""
        if self.tensorboard_dir is None:
            return
        require_tensorboard()
        from d3rlpy.logging import TensorboardAdapterFactory

        self._adapter = TensorboardAdapterFactory(root_dir=str(self.tensorboard_dir)).create(algo, name, n_steps_per_epoch=1)
        self._adapter.write_params(dict(params))

    def step(self, steps: int) -> None:
        """`steps` gradient steps are done; forwards it when `interval_s` has passed."""
        self._steps = steps
        if self.on_steps is not None and time.monotonic() - self._last_report >= self.interval_s:
            self._last_report = time.monotonic()
            self.on_steps(steps)

    def metrics(self, step: int, values: Mapping[str, float]) -> None:
        """One logged row (the loop's `train_log.csv` row): name -> value at gradient step `step`."""
        if self._adapter is None:
            return
        # d3rlpy's adapter plots against its `epoch` argument: here, the gradient step
        self._adapter.before_write_metric(step, step)
        for name, value in values.items():
            self._adapter.write_metric(step, step, name, float(value))
        self._last_step = step

    def close(self) -> None:
        """Called once when the loop ends (also on an error): the last step count, the hparams, the writer."""
        if self.on_steps is not None:
            self.on_steps(self._steps)
        if self._adapter is not None:
            if self._last_step is not None:
                self._adapter.after_write_metric(self._last_step, self._last_step)  # hparams once, not per row
            self._adapter.close()
            self._adapter = None


_ACTIVE: ContextVar[TrainingMonitor | None] = ContextVar("rlgen_training_monitor", default=None)


@contextlib.contextmanager
def monitoring(monitor: TrainingMonitor | None) -> Iterator[TrainingMonitor | None]:
    """Make `monitor` the one training loops in this context report to."""
    token = _ACTIVE.set(monitor)
    try:
        yield monitor
    finally:
        _ACTIVE.reset(token)


def active_monitor() -> TrainingMonitor | None:
    """The monitor installed by `monitoring`, or None."""
    return _ACTIVE.get()
