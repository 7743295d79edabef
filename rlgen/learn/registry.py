"""The learner registry: the seam through which built-in and user learners are trained and loaded.

A learner is one file that registers three things under a name:

- a frozen config dataclass (every hyperparameter with its default; read from YAML with
  `rlgen.core.typed.from_dict`, so unknown keys are errors that name themselves);
- `fit_fn(config, buffer, *, seed, device, out_dir, validate, show_progress) -> TrainedLearner`,
  which trains on a d3rlpy `ReplayBuffer` or rlgen's out-of-core `ShardSampler` (both give
  `sample_transition_batch` / `sample_trajectory_batch` with channel-first (3, 64, 64) uint8
  frames and 15 discrete actions) and writes its checkpoint into `out_dir`;
- optionally `load_fn(out_dir, device, *, greedy) -> Policy`, which rebuilds the trained policy
  from that checkpoint (`greedy=False` asks for sampled rather than arg-max actions, where the
  policy has a distribution to sample) (`load_policy` finds it through the `algo` name the checkpoint's `learner.json`
  records).

The built-in `bc`, `cql` and `dt` (`rlgen/learn/bc.py`, `cql.py`, `dt.py`) register on
`import rlgen.learn` through this same function, so a user learner is indistinguishable from
them to configs, sweeps, the evaluator and reports. A minimal plain-torch learner::

    @dataclass(frozen=True)
    class MyConfig:
        steps: int = 1000
        label: str | None = None

    def my_fit(config, buffer, *, seed, device, out_dir, validate=None, show_progress=True):
        ...  # train, write out_dir/learner.json with {"algo": "mine", ...}
        return TrainedLearner(algo="mine", config=config, policy=policy, out_dir=out_dir, steps=config.steps)

    register_learner("mine", MyConfig, my_fit, load_fn=my_load)  # my_load(out_dir, device, *, greedy)

`validate(policy) -> np.ndarray` is the caller's scorer: the per-episode returns of `policy` on
the *validation* levels. Learners call it to select a checkpoint (`rlgen.learn.selection`: only
one that beats the final weights beyond noise); they never see other levels.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any, Callable, Protocol

import numpy as np
import torch

from rlgen.core.device import resolve_device
from rlgen.core.games import UnknownNameError
from rlgen.core.imports import import_modules
from rlgen.core.typed import ConfigError, from_dict
from rlgen.policies.base import Policy

__all__ = [
    "LEARNER_FILE",
    "SELECTED_DIR",
    "import_modules",
    "LearnerEntry",
    "TrainedLearner",
    "Validator",
    "fit",
    "learner_config",
    "learner_entry",
    "learner_names",
    "load_policy",
    "register_learner",
    "resolve_device",
]

LEARNER_FILE = "learner.json"
"""Written into every run's folder; its `algo` key names the learner that can load it."""

SELECTED_DIR = "selected"
"""A run's subfolder holding an earlier checkpoint that model selection kept instead of the final
weights (`rlgen.learn.selection`); absent when the final weights are the selected model. It
holds its own `learner.json`, so `load_policy` loads it like any run folder."""

Validator = Callable[[Policy], np.ndarray]
"""`validate(policy) -> (E,) returns of the validation episodes`, supplied by the caller; the same
episodes (levels and environment seeds) in the same order at every call, so checkpoints compare
paired (`rlgen.learn.selection`)."""


def load_policy_after_imports(imports: tuple[str, ...], out_dir: str | Path, device: str = "cpu", *, greedy: bool = True) -> Policy:
    """`load_policy` in a fresh process (a Ray actor): import the user's learner modules first."""
    import_modules(imports)
    return load_policy(out_dir, device, greedy=greedy)


class FitFn(Protocol):
    def __call__(
        self,
        config: Any,
        buffer: Any,
        *,
        seed: int,
        device: str,
        out_dir: Path,
        validate: Validator | None = None,
        show_progress: bool = True,
    ) -> TrainedLearner: ...


class LoadFn(Protocol):
    def __call__(self, out_dir: Path, device: str, *, greedy: bool = True) -> Policy: ...


@dataclasses.dataclass(frozen=True)
class TrainedLearner:
    """What `fit` returns: the trained policy and the record of how it was trained.

    `validation` holds every (gradient step, mean validation return) the run measured;
    `selection` is `rlgen.learn.selection.Selection.to_dict()` (None without validation, where
    the final weights are the model); `policy` plays the selected weights.
    """

    algo: str
    config: Any
    policy: Policy
    out_dir: Path
    steps: int
    train_seconds: float = 0.0
    validation_seconds: float = 0.0
    validation: tuple[tuple[int, float], ...] = ()
    selection: dict | None = None
    target_return: float | None = None
    """The return the decision transformer is conditioned on (None for other learners)."""


@dataclasses.dataclass(frozen=True)
class LearnerEntry:
    name: str
    config_cls: type
    fit_fn: FitFn
    load_fn: LoadFn | None = None


_LEARNERS: dict[str, LearnerEntry] = {}


def register_learner(name: str, config_cls: type, fit_fn: FitFn, *, load_fn: LoadFn | None = None) -> None:
    """Make a learner available by `name` to configs, `fit` and `load_policy`.

    `config_cls` must be a frozen dataclass whose every field has a default. Registering a name
    twice is an error (two learners silently sharing a name would corrupt results).
    """
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"learner name must be an identifier such as 'bc', got {name!r}")
    if not (dataclasses.is_dataclass(config_cls) and isinstance(config_cls, type)):
        raise TypeError(f"learner {name!r}: config_cls must be a dataclass, got {config_cls!r}")
    if not config_cls.__dataclass_params__.frozen:  # type: ignore[attr-defined]
        raise TypeError(f"learner {name!r}: config class {config_cls.__name__} must be frozen")
    if name in _LEARNERS:
        raise ValueError(f"a learner named {name!r} is already registered ({_LEARNERS[name].fit_fn!r})")
    for other in _LEARNERS.values():
        if other.config_cls is config_cls:
            raise ValueError(f"config class {config_cls.__name__} is already registered as {other.name!r}")
    _LEARNERS[name] = LearnerEntry(name, config_cls, fit_fn, load_fn)


def learner_names() -> tuple[str, ...]:
    """Registered learner names, sorted."""
    return tuple(sorted(_LEARNERS))


def learner_entry(algo: str) -> LearnerEntry:
    """The registration of `algo`; `UnknownNameError` listing the valid names if there is none."""
    try:
        return _LEARNERS[algo]
    except KeyError:
        raise UnknownNameError(
            f"unknown learner {algo!r}; registered learners: {', '.join(learner_names()) or '(none)'}"
        ) from None


def learner_config(algo: str, params: dict | None = None, *, path: str | None = None) -> Any:
    """Build `algo`'s frozen config from plain data; errors name the key, e.g. 'learners.cql.alpah'.

    `path` is the key prefix used in error messages (default ``learners.<algo>``).
    """
    entry = learner_entry(algo)
    return from_dict(entry.config_cls, {} if params is None else params, path or f"learners.{algo}")


def fit(
    algo_config: Any,
    buffer: Any,
    *,
    seed: int,
    device: str,
    out_dir: str | Path,
    validate: Validator | None = None,
    show_progress: bool = True,
) -> TrainedLearner:
    """Train the learner `algo_config` belongs to; the checkpoint goes into `out_dir` (created).

    `device` is "cpu", "cuda", "cuda:N" or "auto" (the first GPU when there is one, else the CPU);
    the learner receives it resolved. The same seed on the same device gives the same weights.
    """
    entry = _entry_for_config(algo_config)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    return entry.fit_fn(
        algo_config,
        buffer,
        seed=seed,
        device=resolve_device(device),
        out_dir=out,
        validate=validate,
        show_progress=show_progress,
    )


def load_policy(out_dir: str | Path, device: str = "cpu", *, greedy: bool = True) -> Policy:
    """Rebuild the trained policy saved in `out_dir` by the learner its `learner.json` names.

    Greedy (arg-max) actions by default; `greedy=False` samples where the policy has a
    distribution (BC, DT).
    """
    out = Path(out_dir)
    meta_path = out / LEARNER_FILE
    if not meta_path.exists():
        raise FileNotFoundError(f"no trained learner in {out}: {LEARNER_FILE} is missing")
    algo = json.loads(meta_path.read_text())["algo"]
    entry = learner_entry(algo)
    if entry.load_fn is None:
        raise ValueError(f"learner {algo!r} registered no load_fn, so its checkpoints cannot be reloaded")
    return entry.load_fn(out, resolve_device(device), greedy=greedy)


def _entry_for_config(algo_config: Any) -> LearnerEntry:
    for entry in _LEARNERS.values():
        if type(algo_config) is entry.config_cls:
            return entry
    raise TypeError(
        f"{type(algo_config).__name__} is not the config of any registered learner "
        f"({', '.join(learner_names())}); build one with learner_config(algo, params)"
    )
