"""Typed, frozen experiment configs read from YAML.

An experiment is one game, one level split, one collected dataset, a list of learners, the
seeds to train them with, and how to evaluate. Every section has defaults; unknown keys are
errors that name the key. The resolved config (defaults filled in) is written next to every
output, so each number in a report traces back to it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import yaml

from rlgen.core.data_dir import resolve_data_dir
from rlgen.core.device import check_device
from rlgen.core.games import check_game
from rlgen.core.levels import (
    DEFAULT_TEST_COUNT,
    DEFAULT_TEST_START,
    DEFAULT_VALIDATION_COUNT,
    DEFAULT_VALIDATION_START,
    LevelSet,
    LevelSplit,
)
from rlgen.core.typed import ConfigError, apply_overrides, from_dict, to_dict

__all__ = [
    "AugmentConfig",
    "BehaviourConfig",
    "CollectConfig",
    "ConfigError",
    "EnvConfig",
    "EvaluateConfig",
    "ExperimentConfig",
    "LearnerSpec",
    "LevelsConfig",
    "RayConfig",
    "TrainConfig",
    "load_config",
    "register_env_label",
]


@dataclass(frozen=True)
class EnvConfig:
    """Which environment: a Procgen game and difficulty, or another world (`kind`) and its options.

    `kind: procgen` (the default) reads `game` and `mode`; any other kind names a registered
    world (`rlgen.worlds.registry`), which reads `options`. The kind is checked when its world is
    built, after the config's `imports:` have run (a user's world registers itself there), not
    here: core knows no world but Procgen, its default. `spec` is what a dataset records of it:
    for Procgen exactly `{game, mode}`, as before there were other kinds, so existing datasets
    and their collection specs stay valid.
    """

    game: str = "maze"
    mode: str = "easy"
    kind: str = "procgen"
    options: dict = field(default_factory=dict)
    """Options of a non-Procgen kind (stitch_maze: `max_episode_steps`, `pairs_per_level`)."""

    def __post_init__(self) -> None:
        if not isinstance(self.kind, str) or not self.kind.isidentifier():
            raise ConfigError(f"env.kind must be a world's name such as procgen, got {self.kind!r}")
        if self.kind == "procgen":
            if self.options:
                raise ConfigError(f"env.options: Procgen takes none (got {sorted(self.options)}); set env.game and env.mode")
            check_game(self.game, self.mode)

    @property
    def spec(self) -> dict:
        """The environment as datasets and collection specs record it."""
        if self.kind == "procgen":
            return {"game": self.game, "mode": self.mode}
        return {"kind": self.kind, "options": dict(self.options)}

    @property
    def label(self) -> str:
        """The environment part of dataset names: `procgen-maze-easy` for Procgen, else what the
        kind's world says of its options (`register_env_label`; `webshop-attributes`, `stitch_maze`).
        A kind no world has registered in this process has no name yet: a `ConfigError`, never a
        guess that could give two different datasets one name."""
        if self.kind == "procgen":
            return f"procgen-{self.game}-{self.mode}"
        if self.kind not in _ENV_LABELS:
            raise ConfigError(
                f"env.kind: no world of kind {self.kind!r} is registered in this process, so its datasets have no name; "
                "import rlgen.worlds (the built-in kinds) or name the module that registers it in `imports:`"
            )
        return _ENV_LABELS[self.kind](dict(self.options))


_ENV_LABELS: dict[str, Callable[[dict], str]] = {}


def register_env_label(kind: str, label: Callable[[dict], str]) -> None:
    """How datasets of world `kind` name their environment: `label(env.options)` (`EnvConfig.label`).

    `rlgen.worlds.registry.register_world` calls this with the world's `dataset_label`, so core
    names every world's datasets while knowing none of them (Procgen, its default, aside)."""
    _ENV_LABELS[kind] = label


@dataclass(frozen=True)
class LevelsConfig:
    """Training diversity and the fixed validation / test blocks (see `rlgen.core.levels`)."""

    train: int = 200
    """Number of training levels: levels [0, train)."""
    validation: LevelSet = field(default_factory=lambda: LevelSet(DEFAULT_VALIDATION_START, DEFAULT_VALIDATION_COUNT))
    test: LevelSet = field(default_factory=lambda: LevelSet(DEFAULT_TEST_START, DEFAULT_TEST_COUNT))

    @property
    def split(self) -> LevelSplit:
        """The validated split; raises `LevelOverlapError` if the sets overlap."""
        return LevelSplit(LevelSet(0, self.train), self.validation, self.test)

    def __post_init__(self) -> None:
        self.split  # noqa: B018  (validate at construction, before any work)


@dataclass(frozen=True)
class BehaviourConfig:
    """The behaviour policy that collects data.

    `name` is a registered policy (`random`, `maze_planner`, ...); with `epsilon` > 0 each action
    is replaced by a uniformly random one with that probability. Skill is never assumed from
    these settings: collection measures and records the mean return on the training levels.
    """

    name: str = "random"
    epsilon: float = 0.0
    options: dict = field(default_factory=dict)
    """Policy-specific options, passed to its constructor (e.g. a planner's search budget)."""

    def __post_init__(self) -> None:
        if not 0.0 <= self.epsilon <= 1.0:
            raise ConfigError(f"collect.policy.epsilon must lie in [0, 1], got {self.epsilon}")

    @property
    def label(self) -> str:
        """A short name for dataset names: the policy, the checkpoint's `skill` when one is
        picked by skill, an expert's `temperature` when the config sets one (`temp0`: the arg-max
        expert; left out, the registered default, which the dataset version stands for), and how
        it mixes with random play (per step `eps`, per episode `mix`, see
        `rlgen.policies.registry`), so mixed and expert, sampled and arg-max data never share a name."""
        label = self.name if self.epsilon == 0 else f"{self.name}-eps{self.epsilon:g}"
        skill = self.options.get("skill")  # a checkpoint picked by skill (`ppo`) is other data than the expert's
        label = label if skill is None else f"{label}-skill{skill:g}"
        temperature = self.options.get("temperature")
        label = label if temperature is None else f"{label}-temp{temperature:g}"
        mix = self.options.get("mix")
        return label if mix is None else f"{label}-mix{mix:g}"


@dataclass(frozen=True)
class CollectConfig:
    """How much data to collect and with how many Ray actors."""

    policy: BehaviourConfig = field(default_factory=BehaviourConfig)
    transitions: int = 100_000
    """Exact number of transitions in the dataset."""
    shard_transitions: int = 25_000
    """Transitions per shard; a shard is the unit of work, of resumption and of checksumming."""
    num_workers: int = 2
    """Ray actors collecting in parallel."""
    envs_per_worker: int = 16
    """Procgen environments stepped together in each actor (one batched policy call per step)."""
    seed: int = 0
    version: int = 3
    """Dataset version, part of the dataset name; bump it when the collection code changes, so a
    folder of the old data is never taken for the new (a finished dataset under the name is kept).
    2: shards keep the episodes still open at their end (as `partial`) instead of dropping them.
    3: experts sample their actions by default (stochastic planners and `search`, issue 13), so the
    same expert and seed give other bytes than at version 2."""

    def __post_init__(self) -> None:
        for key in ("transitions", "shard_transitions", "num_workers", "envs_per_worker", "version"):
            if getattr(self, key) < 1:
                raise ConfigError(f"collect.{key} must be at least 1, got {getattr(self, key)}")

    @property
    def num_shards(self) -> int:
        return -(-self.transitions // self.shard_transitions)

    def shard_quota(self, index: int) -> int:
        """Transitions in shard `index`: full shards, then the remainder in the last one."""
        if index < self.num_shards - 1:
            return self.shard_transitions
        return self.transitions - self.shard_transitions * (self.num_shards - 1)

    def scaled(self, scale: float) -> "CollectConfig":
        """The same collection with `scale` times the transitions (`--scale`: a grid built small in
        tests and on a laptop, full size on a cluster). Shards shrink with it, but not below
        `MIN_SCALED_SHARD` transitions (a shard is one Ray task) nor above the dataset."""
        if scale <= 0:
            raise ConfigError(f"--scale must be positive, got {scale}")
        if scale == 1.0:
            return self
        transitions = max(1, round(self.transitions * scale))
        shard = min(transitions, max(MIN_SCALED_SHARD, round(self.shard_transitions * scale)))
        return dataclasses.replace(self, transitions=transitions, shard_transitions=shard)


MIN_SCALED_SHARD = 1_000
"""A scaled dataset's shards shrink with it, but not below this (a shard is one Ray task)."""


@dataclass(frozen=True)
class LearnerSpec:
    """One learner to train: its registered algorithm name and hyperparameters.

    The hyperparameters are checked against the learner's own config class (see
    `rlgen.learn.registry`) when the experiment is validated, before any work starts.
    """

    algo: str
    params: dict = field(default_factory=dict)

    @property
    def name(self) -> str:
        return str(self.params.get("label", self.algo))


CHECKPOINTS = ("selected", "final")
"""Which weights of a trained run `evaluate.checkpoint` can name."""


@dataclass(frozen=True)
class EvaluateConfig:
    """How trained policies (and the behaviour policy, as a reference) are evaluated.

    Each split plays its first `levels_per_split` levels (all of them when None), every level
    `episodes_per_level` times, the same levels and counts for every algorithm so that results
    are paired.
    """

    episodes_per_level: int = 1
    levels_per_split: int | None = 100
    splits: tuple[str, ...] = ("train", "validation", "test")
    num_workers: int = 2
    envs_per_worker: int = 32
    greedy: bool = True
    """Act with the arg-max action (the paper's BC sampled by default; rlgen does not)."""
    selection_levels: int = 100
    """Validation levels (the first ones of the block) played at every validation of a learner with
    `validate_every` > 0. Enough that selection is not noise: an earlier checkpoint replaces the
    final weights only when its paired interval over these episodes lies above them
    (`rlgen.learn.selection`); with 10 maze levels no difference short of 0.4 success can."""
    checkpoint: str = "selected"
    """Which weights of a validated run to evaluate: "selected" (what selection kept: the final
    weights unless an earlier checkpoint beat them beyond noise) or "final" (always the last
    step). Runs without validation have only their final weights; both names give them."""
    references: tuple[str, ...] = ("random", "behaviour")
    """Reference rows in the report: `random`, the data's `behaviour` policy, and any reference
    the world names in its `reference_names` (built by its `reference_policy`)."""
    ppo_checkpoint: str | None = None
    """The online PPO reference (`ppo` in `references`, Procgen): a PPO run folder (its final
    checkpoint) or one checkpoint folder from `rlgen policy train-ppo`, its actions sampled as
    PPO was trained (`greedy` is for the offline learners). Required when `references` names `ppo`."""

    def __post_init__(self) -> None:
        if self.levels_per_split is not None and self.levels_per_split < 1:
            raise ConfigError(f"evaluate.levels_per_split must be at least 1 (or null: every level of each split), got {self.levels_per_split}")
        for key in ("num_workers", "envs_per_worker"):
            if getattr(self, key) < 1:
                raise ConfigError(f"evaluate.{key} must be at least 1, got {getattr(self, key)}")
        for split in self.splits:
            if split not in ("train", "validation", "test"):
                raise ConfigError(f"evaluate.splits: unknown split {split!r}; valid: train, validation, test")
        if self.episodes_per_level < 1:
            raise ConfigError("evaluate.episodes_per_level must be at least 1")
        if self.selection_levels < 1:
            raise ConfigError("evaluate.selection_levels must be at least 1 (learners with validate_every > 0 play them)")
        if self.checkpoint not in CHECKPOINTS:
            raise ConfigError(f"evaluate.checkpoint must be one of {', '.join(CHECKPOINTS)}; got {self.checkpoint!r}")
        for ref in self.references:
            if not isinstance(ref, str) or not ref or ref.startswith("-"):
                raise ConfigError(f"evaluate.references: a reference is a name (random, behaviour, or the world's), got {ref!r}")
        if "ppo" in self.references and not self.ppo_checkpoint:
            raise ConfigError(
                "evaluate.references names ppo (the online PPO reference) but evaluate.ppo_checkpoint is null: "
                "give the run folder of `rlgen policy train-ppo` (e.g. checkpoints/ppo/GAME-easy-L200)"
            )


@dataclass(frozen=True)
class AugmentConfig:
    """Temporal data augmentation (Ghugare et al., 2024): a stitching-augmented variant of the dataset.

    When an experiment has this section, `rlgen run` builds the variant next to the dataset
    (`rlgen.stitch.variant`) and trains every learner on both, so each algorithm appears with
    and without augmentation. The variant keeps every source episode and adds as many relabelled
    transitions again: each relabelled goal crosses trajectories (an episode joined at a matched
    waypoint, its goal a state after the join) with probability `eps`, else is a later state of
    the same trajectory (hindsight relabelling), as the paper's sampler draws (eps = 0.5).
    `eps: 0` is therefore the within-trajectory hindsight baseline, of the same size and named
    `-aug0-`: compare augmentation against it, not against the collected data alone.
    """

    eps: float = 0.5
    """Probability that a relabelled goal crosses trajectories, in [0, 1); joined transitions are
    about eps / 2 of the variant (the other half is the collected data)."""
    match: str = "exact"
    """Waypoint matching: `exact` keys (level, row, col) where the env gives them, or `kmeans`."""
    num_clusters: int = 20
    """k-means clusters per level (`match: kmeans` only)."""
    feature: str = "waypoint"
    """The per-step array k-means clusters (`match: kmeans` only), z-normalized per dimension."""
    join: str = "uniform"
    """How joined episodes pick their goal: `uniform`, the paper's (a later state of a trajectory
    drawn uniformly at the waypoint, chained `max_joins` times); `reachable`, uniformly among all
    states reachable through shared waypoints (exact matching only; `rlgen.stitch.augment.join_reachable`)."""
    max_joins: int = 1
    """Joins per augmented episode, drawn uniformly in [1, max_joins]: 1 is the paper's single join;
    more chain trajectories through shared waypoints (`rlgen.stitch.augment.join_episodes`)."""
    erase_loops: bool = True
    """Cut loops (a block visited twice) out of joined paths (`join_episodes`)."""
    seed: int = 0
    version: int = 1
    """Part of the variant's name; bump it when the transform changes."""

    def __post_init__(self) -> None:
        if not 0.0 <= self.eps < 1.0:
            raise ConfigError(f"augment.eps must lie in [0, 1), got {self.eps}")
        if self.match not in ("exact", "kmeans"):
            raise ConfigError(f"augment.match: unknown matching {self.match!r}; valid: exact, kmeans")
        if self.num_clusters < 1:
            raise ConfigError("augment.num_clusters must be at least 1")
        if self.join not in ("uniform", "reachable"):
            raise ConfigError(f"augment.join: unknown joining {self.join!r}; valid: uniform, reachable")
        if self.join == "reachable" and self.match != "exact":
            raise ConfigError("augment.join: reachable needs match: exact (it follows recorded transitions block by block)")
        if self.max_joins < 1:
            raise ConfigError("augment.max_joins must be at least 1")

    @property
    def label(self) -> str:
        """The variant's suffix in dataset names."""
        match = self.match if self.match == "exact" else f"kmeans{self.num_clusters}"
        joins = "-reach" if self.join == "reachable" else ("" if self.max_joins == 1 else f"-j{self.max_joins}")
        return f"aug{self.eps:g}-{match}{joins}-s{self.seed}-v{self.version}"


@dataclass(frozen=True)
class RayConfig:
    """Where Ray runs: embedded on this machine by default, or a cluster address."""

    address: str | None = None
    """`auto`, `ray://host:port` or `host:port`; falls back to $RAY_ADDRESS, then a local embedded Ray."""
    num_cpus: int | None = None
    """CPUs for an embedded Ray (all of this machine's when None)."""

    def __post_init__(self) -> None:
        if self.num_cpus is not None and self.num_cpus < 1:
            raise ConfigError(f"ray.num_cpus must be at least 1 (or null: all of this machine's), got {self.num_cpus}")


@dataclass(frozen=True)
class TrainConfig:
    """How training runs are watched, never what they compute: a run's identity (`rlgen.train`)
    and the config's fingerprint leave this section out, so switching it on retrains nothing."""

    tensorboard: bool = False
    """Also write each run's logged losses (and validation returns) as TensorBoard scalars under
    `<run>/tensorboard/`, through d3rlpy's `TensorboardAdapter`; needs the optional extra
    (`pip install 'rlgen[tensorboard]'`: tensorboardX). View: `tensorboard --logdir runs/<name>/train`."""


@dataclass(frozen=True)
class ExperimentConfig:
    """A whole experiment: collect, train each learner for each seed, evaluate, report."""

    name: str = "experiment"
    env: EnvConfig = field(default_factory=EnvConfig)
    levels: LevelsConfig = field(default_factory=LevelsConfig)
    collect: CollectConfig = field(default_factory=CollectConfig)
    learners: tuple[LearnerSpec, ...] = ()
    seeds: tuple[int, ...] = (0,)
    evaluate: EvaluateConfig = field(default_factory=EvaluateConfig)
    ray: RayConfig = field(default_factory=RayConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    augment: AugmentConfig | None = None
    """Build a stitching-augmented variant and train every learner on it too (None: no variant)."""
    output_dir: str = "runs"
    """Where runs (checkpoints, evaluations, reports) go, relative to the working directory."""
    data_dir: str = "data"
    """Where datasets go; $RLGEN_DATA_DIR overrides it (`rlgen.core.data_dir` has the whole rule)."""
    device: str = "cpu"
    """Torch device for training and inference: cpu, cuda:0, or auto."""
    imports: tuple[str, ...] = ()
    """Python modules imported before any stage runs, in every process (the driver, collection
    and evaluation actors, training tasks, sweep trials): a user's learner, world or behaviour
    registers itself on import (`register_learner`, `register_world`, `register_behaviour`) and
    configs then name it."""

    def __post_init__(self) -> None:
        if not self.seeds:
            raise ConfigError("seeds: give at least one seed")
        if len(set(self.seeds)) != len(self.seeds):
            raise ConfigError(f"seeds: duplicate seeds in {list(self.seeds)}")
        check_device(self.device)

    @property
    def dataset_name(self) -> str:
        """What the data is: environment, game, mode, training levels, behaviour, size, version."""
        return (
            f"{self.env.label}-L{self.levels.train}-"
            f"{self.collect.policy.label}{_structure_label(self.collect.policy.options.get('structure'))}-{_count_label(self.collect.transitions)}-s{self.collect.seed}-v{self.collect.version}"
        )

    @property
    def run_dir(self) -> Path:
        return Path(self.output_dir) / self.name

    def dataset_dir(self) -> Path:
        return resolve_data_dir(configured=self.data_dir) / self.dataset_name

    @property
    def augmented_dataset_name(self) -> str | None:
        """The stitching-augmented variant's name, when the config asks for one."""
        return None if self.augment is None else f"{self.dataset_name}-{self.augment.label}"

    def augmented_dataset_dir(self) -> Path | None:
        name = self.augmented_dataset_name
        return None if name is None else self.dataset_dir().parent / name

    def to_dict(self) -> dict[str, Any]:
        return to_dict(self)

    def fingerprint(self, *sections: str) -> str:
        """sha256 of the named sections (all but `train`, which only watches runs, when none), to
        detect a changed config on resume."""
        data = self.to_dict()
        data = {k: data[k] for k in sections} if sections else {k: v for k, v in data.items() if k != "train"}
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()

    def with_overrides(self, overrides: list[str]) -> ExperimentConfig:
        """Apply `section.key=value` overrides (`rlgen.core.typed.apply_overrides`) and re-validate."""
        return from_dict(ExperimentConfig, _learners_to_specs(apply_overrides(self.to_dict(), overrides)))


def _structure_label(params: Any) -> str:
    """A stitching behaviour's confinement in dataset names (`-regions2o2`, `-hops8`); '' for none."""
    if not isinstance(params, dict):
        return ""
    kind = params.get("kind", "regions")
    if kind == "regions":
        return f"-regions{params.get('num_regions', 4)}o{params.get('overlap', 1)}"
    return f"-{kind}{params.get('max_distance', '')}"


def _count_label(n: int) -> str:
    for unit, size in (("M", 1_000_000), ("k", 1_000)):
        if n >= size and n % size == 0:
            return f"{n // size}{unit}"
    return str(n)


def read_yaml(path: str | Path, what: str = "config file") -> dict:
    """The YAML mapping at `path`; a missing file, bad YAML, an empty file (or one of comments
    only) and a document that is not a mapping (a list, a string) are each a `ConfigError`
    naming the file, as every YAML input of rlgen (experiments, sweeps, catalogs) reports it.

    An empty file is refused rather than read as {}: an experiment of all defaults is a 100k
    collection, too much work to start from a file truncated or saved blank by mistake. A
    config of all defaults on purpose says so with `{}`.
    """
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"{what} {path} does not exist")
    if not path.is_file():
        raise ConfigError(f"{what} {path} is not a file")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path} is not valid YAML: {exc}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{what} {path} is not UTF-8 text ({exc})") from exc
    if data is None:
        raise ConfigError(f"{what} {path} is empty; write its sections (see configs/quickstart.yaml), or `{{}}` for all defaults")
    if not isinstance(data, dict):
        raise ConfigError(
            f"{what} {path} holds a {type(data).__name__}, not a mapping of keys to values "
            "(e.g. `name: my-experiment` on the first line, see configs/quickstart.yaml)"
        )
    return data


def load_config(path: str | Path, overrides: list[str] | None = None) -> ExperimentConfig:
    """Read a YAML experiment config; unknown keys and bad values raise `ConfigError`."""
    path = Path(path)
    data = read_yaml(path)
    try:
        config = from_dict(ExperimentConfig, _learners_to_specs(data))
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from exc
    return config.with_overrides(overrides) if overrides else config


def _learners_to_specs(data: dict) -> dict:
    """YAML lists learners as flat mappings (`- algo: bc`, `steps: 500`); fold them into specs."""
    learners = data.get("learners")
    if not isinstance(learners, list):
        return data
    specs = []
    for i, item in enumerate(learners):
        if isinstance(item, str):
            item = {"algo": item}
        if not isinstance(item, dict) or "algo" not in item:
            raise ConfigError(f"learners[{i}]: each learner needs an 'algo' key, got {item!r}")
        if set(item) <= {"algo", "params"}:
            specs.append(item)
        else:
            specs.append({"algo": item["algo"], "params": {k: v for k, v in item.items() if k != "algo"}})
    return {**data, "learners": specs}

