"""What the d3rlpy-based learners share: the base config, the training loop, checkpoints.

One training loop serves BC, CQL and DT. It calls d3rlpy's public per-step API (sample a
minibatch from the buffer, `algo.update(batch)`) rather than `algo.fit`, for three reasons:
validation must happen at exact gradient steps (d3rlpy's `fit` drops the remainder of
`n_steps // n_steps_per_epoch` and its transformer `fit` has no epoch hook); the best weights must
be kept in memory and restored; and d3rlpy's loggers would write `d3rlpy_logs/` into the working
directory. Nothing here writes outside `out_dir`. The loop is the body of d3rlpy 2.8.1's
`fit` (`sample_transition_batch` / `sample_trajectory_batch(batch_size, length=context_size)`,
then `update`), so training maths is d3rlpy's own.

The buffer is d3rlpy's in-memory `ReplayBuffer` (`Dataset.to_d3rlpy()`) or rlgen's
`ShardSampler` (`Dataset.sampler(seed)`), which decodes minibatches from the shards on disk for
data whose frames do not fit in memory; `LearnerConfig.data` says which `rlgen train` builds.
The loop reads only `sample_*_batch`, `dataset_info`, `transition_count` and the episode
metadata of `episode_summary`, so either serves.

A run folder holds, and nothing is pickled:

- `model.pt`: `{module name: state_dict}` of the algorithm's torch modules (`torch.save`);
  reloaded with `torch.load(..., weights_only=True)`.
- `learner.json`: the algorithm name, the rlgen config, d3rlpy's serialized config (its encoder,
  observation scaler and every hyperparameter), observation shape, action size, the decision
  transformer's target return, training seconds, steps and, when the run validated, the
  checkpoint selection (`rlgen.learn.selection`: every checkpoint's validation mean with its
  interval, the best, the final, and which was kept and why).
- `model.pt` always holds the *final* weights. When selection kept an earlier checkpoint (only
  when validation tells it apart from the final one beyond noise), its weights go to
  `selected/` (`SELECTED_DIR`: `model.pt` and `learner.json`), so an evaluation can play either
  (`evaluate.checkpoint`).
- `train_log.csv`: step, mean of each loss since the previous row, validation value (empty
  where none was measured).
- `tensorboard/` (only with `train.tensorboard: true`): the same rows as TensorBoard scalars,
  written by d3rlpy's `TensorboardAdapter` (`rlgen.learn.monitor`).

While it trains the loop reports steps done and each logged row to the caller's
`rlgen.learn.monitor.TrainingMonitor`, if one is installed (the driver's progress bar, TensorBoard).
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import math
import platform
import time
from pathlib import Path
from typing import Any, Callable

import d3rlpy
import numpy as np
import torch
from d3rlpy.base import LearnableBase, LearnableConfig
from d3rlpy.serializable_config import CONFIG_STORAGE
from tqdm.auto import tqdm

import rlgen
from rlgen.core.typed import to_dict
from rlgen.data.atomic import atomic_write_bytes
from rlgen.data.dataset import DATA_MODES
from d3rlpy.optimizers import AdamFactory, CosineAnnealingLRFactory
from d3rlpy.preprocessing import MinMaxObservationScaler

from rlgen.learn.encoders import ImpalaEncoderFactory, encoder_factory_for
from rlgen.learn.monitor import TrainingMonitor, active_monitor
from rlgen.learn.policy import QLearningPolicy
from rlgen.learn.registry import LEARNER_FILE, SELECTED_DIR, TrainedLearner, Validator, register_learner
from rlgen.learn.selection import select_checkpoint
from rlgen.policies.base import Policy

__all__ = [
    "LearnerConfig",
    "MODEL_FILE",
    "TRAIN_LOG_FILE",
    "buffer_spec",
    "episode_summary",
    "load_algo",
    "register_q_learner",
    "train_d3rlpy",
]

MODEL_FILE = "model.pt"
TRAIN_LOG_FILE = "train_log.csv"
FRAME_SHAPE = (3, 64, 64)
LR_SCHEDULES = ("constant", "cosine")


@dataclasses.dataclass(frozen=True)
class LearnerConfig:
    """Hyperparameters every built-in learner has. Defaults follow the generalization-gap paper.

    Field checks raise `ValueError`, which `rlgen.core.typed.from_dict` reports as a
    `ConfigError` prefixed with the config's key path.
    """

    steps: int = 100_000
    """Gradient steps."""
    batch_size: int = 256
    """Minibatch size (the paper: 256-512). Transitions, or for DT sequences of `context_size`."""
    learning_rate: float = 5e-4
    """Adam learning rate (the paper: 5e-4)."""
    validate_every: int = 0
    """Validate every this many gradient steps and at the end (`validate(policy)`: per-episode
    returns on validation levels), and select a checkpoint by `rlgen.learn.selection`'s rule (an
    earlier checkpoint replaces the final weights only when it beats them beyond noise); 0 = never
    (the default: the final weights are the model)."""
    log_every: int = 100
    """Write a `train_log.csv` row (mean losses over the window) every this many gradient steps."""
    lr_schedule: str = "constant"
    """Adam's learning rate over training: "constant", or "cosine" (decays to 0 at `steps`, which
    lets a small network settle where a constant rate keeps it hopping between minibatches; BC and
    CQL; the decision transformer has its own warm-up and decay in tokens)."""
    encoder_channels: tuple[int, ...] = (16, 32, 32)
    """Channels of the IMPALA encoder's three conv stages."""
    feature_size: int = 256
    """Width of the IMPALA encoder's final linear layer."""
    label: str | None = None
    """Name in reports (default: the algorithm name), to tell two configs of one algorithm apart."""
    data: str = "auto"
    """Where training batches come from (`rlgen train`): "memory" decodes every frame into d3rlpy's
    replay buffer (12,288 bytes a transition; fastest); "disk" decodes each minibatch from the
    compressed shards (`rlgen.data.sampler`: memory bounded whatever the dataset's size, a
    background thread decoding ahead of the learner); "auto" is memory while the decoded frames
    fit in 4 GiB (`rlgen.data.dataset.IN_MEMORY_LIMIT_BYTES`, about 350k transitions), else disk.
    Both give batches of identical content; their random draws differ, so a run's numbers depend
    on which one it used."""

    def __post_init__(self) -> None:
        for name in ("steps", "batch_size", "log_every", "feature_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.validate_every < 0:
            raise ValueError(f"validate_every must be 0 (never) or positive, got {self.validate_every}")
        if not self.learning_rate > 0:
            raise ValueError(f"learning_rate must be positive, got {self.learning_rate}")
        if not self.encoder_channels or any(c < 1 for c in self.encoder_channels):
            raise ValueError(f"encoder_channels must be positive channel counts, got {self.encoder_channels}")
        if self.lr_schedule not in LR_SCHEDULES:
            raise ValueError(f"lr_schedule must be one of {', '.join(LR_SCHEDULES)}; got {self.lr_schedule!r}")
        if self.data not in DATA_MODES:
            raise ValueError(f"data must be one of {', '.join(DATA_MODES)}; got {self.data!r}")

    def optimizer_factory(self) -> AdamFactory:
        """Adam (d3rlpy's default optimizer) with `lr_schedule`'s scheduler, stepped once per update."""
        if self.lr_schedule == "cosine":
            return AdamFactory(lr_scheduler_factory=CosineAnnealingLRFactory(T_max=self.steps))
        return AdamFactory()

    def encoder_factory(self) -> ImpalaEncoderFactory:
        """The IMPALA encoder the learners' d3rlpy configs name; `train_d3rlpy` swaps in the vector
        encoder for (D,) observations (`for_observations`)."""
        return ImpalaEncoderFactory(channels=list(self.encoder_channels), feature_size=self.feature_size)


def buffer_spec(buffer: Any) -> tuple[tuple[int, ...], int]:
    """(observation shape, action size) of a buffer, after checking it is what the learners take.

    The action count is the buffer's, which the dataset takes from its manifest (Procgen 15, the
    stitching maze 5): a learner's output layer is sized by the data it trains on.
    """
    info = buffer.dataset_info
    if info.action_space != d3rlpy.ActionSpace.DISCRETE:
        raise ValueError(f"the buffer's action space is {info.action_space}; rlgen learners need DISCRETE actions")
    if not isinstance(info.action_size, (int, np.integer)) or info.action_size < 2:
        raise ValueError(f"the buffer has action_size={info.action_size}; rlgen learners need at least 2 discrete actions")
    shape = tuple(int(s) for s in info.observation_signature.shape[0])
    dtype = info.observation_signature.dtype[0]
    if shape != FRAME_SHAPE and len(shape) != 1:
        hint = " (channel-last: transpose frames to channel-first)" if shape == (64, 64, 3) else ""
        raise ValueError(f"the buffer's observations are {shape}{hint}; rlgen learners take {FRAME_SHAPE} frames or (D,) vectors")
    if dtype != np.uint8:
        raise ValueError(f"the buffer's observations are {dtype}; rlgen keeps observations uint8 (never float32)")
    if buffer.transition_count < 1:
        raise ValueError("the buffer holds no transitions")
    return shape, int(info.action_size)


def observation_maxima(buffer: Any) -> np.ndarray:
    """(D,) uint8: each entry's largest value over the buffer's observations (vector data only)."""
    if hasattr(buffer, "observation_maxima"):
        return np.asarray(buffer.observation_maxima(), dtype=np.uint8)
    return np.max([np.asarray(ep.observations).max(axis=0) for ep in buffer.episodes], axis=0).astype(np.uint8)


def for_observations(d3rlpy_config: LearnableConfig, config: LearnerConfig, observation_shape: tuple[int, ...], buffer: Any) -> LearnableConfig:
    """`d3rlpy_config` with the encoder and observation scaler the observations' rank calls for.

    (3, 64, 64) frames: unchanged (the IMPALA encoder and `PixelObservationScaler`, x / 255).
    (D,) uint8 vectors (the stitching maze's compact observation: positions in [0, 14], walls
    0 / 1): d3rlpy's vector encoder (`encoder_factory_for`) and a `MinMaxObservationScaler`
    with minimum 0 and each entry's maximum over the training buffer (at least 1, so a constant
    entry does not divide by zero), mapping every entry to [-1, 1]; not x / 255, which would
    squash positions into [0, 0.06]. The scaler's arrays are serialized in `learner.json`, so a
    loaded model scales exactly as it was trained.
    """
    if len(observation_shape) != 1:
        return d3rlpy_config
    maximum = np.maximum(observation_maxima(buffer), 1).astype(np.float32)
    return dataclasses.replace(
        d3rlpy_config,
        encoder_factory=encoder_factory_for(observation_shape, config.encoder_channels, config.feature_size),
        observation_scaler=MinMaxObservationScaler(minimum=np.zeros_like(maximum), maximum=maximum),
    )


def episode_summary(buffer: Any) -> tuple[np.ndarray, np.ndarray]:
    """(lengths (E,) int64, returns (E,) float64) of the buffer's episodes.

    From the sampler's metadata when it has it (`episode_lengths`, `episode_returns`), else from
    d3rlpy's `buffer.episodes`; the returns are summed in float32 either way, as d3rlpy's
    `Episode.compute_return` does, so both buffers give the same values.
    """
    if hasattr(buffer, "episode_lengths") and hasattr(buffer, "episode_returns"):
        return np.asarray(buffer.episode_lengths, dtype=np.int64), np.asarray(buffer.episode_returns, dtype=np.float64)
    episodes = buffer.episodes
    lengths = np.array([episode.size() for episode in episodes], dtype=np.int64)
    returns = np.array([episode.compute_return() for episode in episodes], dtype=np.float64)
    return lengths, returns


def train_d3rlpy(
    *,
    algo_name: str,
    config: LearnerConfig,
    d3rlpy_config: LearnableConfig,
    buffer: Any,
    seed: int,
    device: str,
    out_dir: Path,
    validate: Validator | None,
    show_progress: bool,
    make_policy: Callable[[LearnableBase], Policy],
    context_size: int | None = None,
    extra_meta: dict[str, Any] | None = None,
    target_return: float | None = None,
) -> TrainedLearner:
    """Train `d3rlpy_config`'s algorithm on `buffer` for `config.steps` gradient steps.

    `context_size` set: sample sequences for a transformer; else transitions. `make_policy(algo)`
    wraps the current weights as a policy, for `validate` and for the returned `TrainedLearner`.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    observation_shape, action_size = buffer_spec(buffer)
    d3rlpy_config = for_observations(d3rlpy_config, config, observation_shape, buffer)
    d3rlpy.seed(seed)
    torch.manual_seed(seed)
    algo = d3rlpy_config.create(device=device)
    algo.create_impl(observation_shape, action_size)
    assert algo.impl is not None
    modules = algo.impl.modules.get_torch_modules()

    def sample() -> Any:
        if context_size is None:
            return buffer.sample_transition_batch(config.batch_size)
        return buffer.sample_trajectory_batch(config.batch_size, length=context_size)

    validating = validate is not None and config.validate_every > 0
    validation: list[tuple[int, np.ndarray]] = []
    states: dict[int, dict[str, dict[str, torch.Tensor]]] = {}  # only the best-so-far is kept
    best_mean = -math.inf
    train_seconds = validation_seconds = sample_seconds = 0.0
    log = _TrainLog(out_dir / TRAIN_LOG_FILE)
    progress = tqdm(total=config.steps, disable=not show_progress, desc=f"{algo_name} (seed {seed})")
    monitor = active_monitor() or TrainingMonitor()  # the caller's (`rlgen.learn.monitor`), else a silent one
    try:
        monitor.start(algo, f"{algo_name}-seed{seed}", {k: v for k, v in to_dict(config).items() if np.isscalar(v)} | {"seed": seed})
        for step in range(1, config.steps + 1):
            start = time.perf_counter()
            batch = sample()
            sampled = time.perf_counter()
            losses = algo.update(batch)
            del batch
            train_seconds += time.perf_counter() - start
            sample_seconds += sampled - start
            log.add(losses)
            value = None
            if validating and (step % config.validate_every == 0 or step == config.steps):
                start = time.perf_counter()
                returns = np.atleast_1d(np.asarray(validate(make_policy(algo)), dtype=np.float64))  # type: ignore[misc]
                validation_seconds += time.perf_counter() - start
                if returns.size == 0 or not np.isfinite(returns).all():
                    raise ValueError(f"validate() returned {returns} at step {step}: expected finite per-episode returns")
                validation.append((step, returns))
                value = float(returns.mean())
                if value >= best_mean and step < config.steps:  # ties: the latest; the final weights are kept anyway
                    best_mean = value
                    states = {step: {name: _cpu_copy(m.state_dict()) for name, m in modules.items()}}
            if value is not None or step % config.log_every == 0 or step == config.steps:
                row = log.write_row(step, value)
                monitor.metrics(step, row if value is None else {**row, "validation": value})
            if show_progress and step % 10 == 0:
                progress.set_postfix({k: f"{v:.4g}" for k, v in losses.items()})
            progress.update(1)
            monitor.step(step)
    finally:
        progress.close()
        log.close()
        monitor.close()

    selection = select_checkpoint(validation, seed=seed) if validation else None
    meta = {
        "algo": algo_name,
        "config": to_dict(config),
        "d3rlpy_algo": d3rlpy_config.get_type(),
        "d3rlpy_config": algo.config.serialize(),
        "observation_shape": list(observation_shape),
        "action_size": action_size,
        "target_return": target_return,
        "seed": seed,
        "device": device,
        "steps": config.steps,
        "train_seconds": round(train_seconds, 3),
        "validation_seconds": round(validation_seconds, 3),
        "sample_seconds": round(sample_seconds, 3),
        "steps_per_second": round(config.steps / train_seconds, 3) if train_seconds > 0 else None,
        "validation": [[s, float(r.mean())] for s, r in validation],
        "selection": None if selection is None else selection.to_dict(),
        "dataset": {
            "episodes": len(episode_summary(buffer)[0]),
            "transitions": int(buffer.transition_count),
            "buffer": type(buffer).__name__,
        },
        "versions": {
            "rlgen": rlgen.__version__,
            "d3rlpy": d3rlpy.__version__,
            "torch": torch.__version__,
            "numpy": np.__version__,
            "python": platform.python_version(),
        },
        **(extra_meta or {}),
    }
    # Final weights first; a selected earlier checkpoint beside them (the returned policy is it).
    save_checkpoint(out_dir, modules, meta)
    if selection is not None and selection.kept == "best":
        for name, module in modules.items():
            module.load_state_dict(states[selection.best.step][name])
        save_checkpoint(out_dir / SELECTED_DIR, modules, {**meta, "checkpoint_step": selection.best.step})
    elif (out_dir / SELECTED_DIR).exists():
        _remove_checkpoint(out_dir / SELECTED_DIR)  # a previous run's selection is not this one's
    return TrainedLearner(
        algo=algo_name,
        config=config,
        policy=make_policy(algo),
        out_dir=out_dir,
        steps=config.steps,
        train_seconds=train_seconds,
        validation_seconds=validation_seconds,
        validation=tuple((s, float(r.mean())) for s, r in validation),
        selection=None if selection is None else selection.to_dict(),
        target_return=target_return,
    )


def _remove_checkpoint(folder: Path) -> None:
    for name in (MODEL_FILE, LEARNER_FILE):
        (folder / name).unlink(missing_ok=True)
    folder.rmdir()


def save_checkpoint(out_dir: Path, modules: dict[str, torch.nn.Module], meta: dict[str, Any]) -> None:
    """Write `model.pt` (state dicts only) then `learner.json`, each atomically."""
    out_dir.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    torch.save({name: m.state_dict() for name, m in modules.items()}, buf)
    atomic_write_bytes(out_dir / MODEL_FILE, buf.getvalue())
    atomic_write_bytes(out_dir / LEARNER_FILE, (json.dumps(meta, indent=2) + "\n").encode())


def load_algo(out_dir: Path, device: str) -> tuple[LearnableBase, dict[str, Any]]:
    """Rebuild a d3rlpy algorithm from `learner.json` and load `model.pt` into it; returns (algo, meta)."""
    out_dir = Path(out_dir)
    meta = json.loads((out_dir / LEARNER_FILE).read_text())
    config_cls = CONFIG_STORAGE[LearnableConfig].config_list[meta["d3rlpy_algo"]]
    d3rlpy_config = config_cls.deserialize(meta["d3rlpy_config"])
    algo = d3rlpy_config.create(device=device)
    algo.create_impl(tuple(meta["observation_shape"]), int(meta["action_size"]))
    assert algo.impl is not None
    map_location = "cpu" if device.startswith("cpu") else device
    states = torch.load(out_dir / MODEL_FILE, map_location=map_location, weights_only=True)
    modules = algo.impl.modules.get_torch_modules()
    if set(states) != set(modules):
        raise ValueError(f"{out_dir / MODEL_FILE} holds modules {sorted(states)}, expected {sorted(modules)}")
    for name, module in modules.items():
        module.load_state_dict(states[name])
    return algo, meta


def _cpu_copy(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k: v.detach().to("cpu", copy=True) for k, v in state.items()}


class _TrainLog:
    """`train_log.csv`, streamed: one row per logging window, columns fixed by the first losses."""

    def __init__(self, path: Path) -> None:
        self._file = open(path, "w", newline="")
        self._writer = csv.writer(self._file)
        self._names: list[str] | None = None
        self._sums: dict[str, float] = {}
        self._count = 0

    def add(self, losses: dict[str, float]) -> None:
        if self._names is None:
            self._names = list(losses)
            self._writer.writerow(["step", *self._names, "validation"])
        for name, value in losses.items():
            self._sums[name] = self._sums.get(name, 0.0) + float(value)
        self._count += 1

    def write_row(self, step: int, validation: float | None) -> dict[str, float]:
        """Write the window's mean losses (and `validation`) at `step`; returns {loss name: mean}."""
        assert self._names is not None
        means = [self._sums.get(n, 0.0) / max(self._count, 1) for n in self._names]
        self._writer.writerow([step, *(f"{m:.6g}" for m in means), "" if validation is None else repr(validation)])
        self._file.flush()
        self._sums, self._count = {}, 0
        return dict(zip(self._names, means))

    def close(self) -> None:
        self._file.close()



def register_q_learner(name: str, config_cls: type) -> None:
    """Register a d3rlpy Q-learning-family learner (BC, CQL, ...) under `name`.

    `config_cls` is a `LearnerConfig` with a `to_d3rlpy()` method; training is `train_d3rlpy`
    and the policy is the greedy (or, where it has a distribution, sampling) `QLearningPolicy`.
    """

    def fit(config, buffer, *, seed, device, out_dir, validate=None, show_progress=True) -> TrainedLearner:
        return train_d3rlpy(
            algo_name=name,
            config=config,
            d3rlpy_config=config.to_d3rlpy(),
            buffer=buffer,
            seed=seed,
            device=device,
            out_dir=out_dir,
            validate=validate,
            show_progress=show_progress,
            make_policy=QLearningPolicy,
        )

    def load(out_dir: Path, device: str, *, greedy: bool = True) -> Policy:
        algo, _ = load_algo(out_dir, device)
        return QLearningPolicy(algo, greedy=greedy)

    register_learner(name, config_cls, fit, load_fn=load)
