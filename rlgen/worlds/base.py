"""What a world is: the `World` protocol, its optional capabilities, and the jobs of a level split.

A world is one kind of environment (`env.kind` in a config, `env` in a dataset's manifest).
Collection, evaluation, model selection, the learners and the report run the same code for
every world; what differs is small and lives in the world's class, once per kind:

- the collection vector env on the training levels (`training_env`), whose `step_extras` name
  the per-step info arrays shards keep;
- the evaluation jobs of a level split (`jobs`) and the pinned env that plays them
  (`pinned_env` / `repin`), with the same contract as `rlgen_envs.ProcgenVecEnv.pinned`;
- the number of actions (recorded in the manifest, read by the learners from the dataset);
- how an episode is scored (`score`), and the task columns of its records (`task_columns`);
- which behaviour policies can act in it: `behaviour_game`, the name
  `rlgen.policies.registry` checks a registered behaviour's `games` against;
- the environment part of its datasets' names (`dataset_label`, from the config's options).

`WorldBase` gives every optional part its usual default, so a user's world is a short class
(see README, "Bring your own world"); `rlgen.worlds.registry.register_world` makes a kind of it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol, Sequence, runtime_checkable

import numpy as np

from rlgen.core.config import BehaviourConfig, ExperimentConfig
from rlgen.core.levels import LevelSet, LevelSplit
from rlgen.policies.registry import check_behaviour, make_behaviour_policy

__all__ = ["EpisodeJob", "StitchingWorld", "World", "WorldBase", "level_jobs", "split_levels"]


@dataclass(frozen=True)
class EpisodeJob:
    """Play `level` once, as repeat number `repeat`, and report it under `split`."""

    split: str
    level: int
    repeat: int


def split_levels(split: LevelSplit, name: str, levels_per_split: int | None) -> LevelSet:
    """The levels of split `name` that evaluation plays: all of them, or the first `levels_per_split`."""
    return split[name] if levels_per_split is None else split[name].first(levels_per_split)


def level_jobs(split: LevelSplit, splits: Sequence[str], levels_per_split: int | None, episodes_per_level: int) -> list[EpisodeJob]:
    """The same job list for every policy: the first `levels_per_split` levels of each split,
    each played `episodes_per_level` times."""
    return [
        EpisodeJob(name, level, k)
        for name in splits for level in split_levels(split, name, levels_per_split).seeds for k in range(episodes_per_level)
    ]


@runtime_checkable
class World(Protocol):
    """What the pipeline asks of a world (see the module docstring).

    `from_env(env, behaviour_options)` builds it from a config's `env` section as a dict
    (`game`, `mode`, `options`; behaviour options given) or from a manifest's `env` (the dict its
    `manifest_env` wrote; behaviour options None), so a dataset alone rebuilds its world.

    Optional, looked up where they matter: `check_levels(split)` (a world with finitely many
    levels refuses a split larger than it, before collection: WebShop's instructions),
    `check_reference(name, config)` / `reference_policy(name, config, seed)` (the references it
    names in `reference_names`), `check_augment(augment)` (a stitching world that cannot relabel
    goals exactly), `epsilon_policy(policy, epsilon, seed)` (its own step noise: WebShop's among
    the page's candidates), `report_note` (a sentence the report prints under its datasets).
    """

    kind: str
    num_actions: int
    behaviour_game: str
    stitching: bool
    reference_names: tuple[str, ...]

    @classmethod
    def from_env(cls, env: dict[str, Any], behaviour_options: dict | None) -> World: ...

    @classmethod
    def dataset_label(cls, options: dict) -> str: ...

    @property
    def manifest_env(self) -> dict: ...

    def training_env(self, levels: LevelSet, num_envs: int) -> Any: ...

    def jobs(self, split: LevelSplit, splits: Sequence[str], levels_per_split: int | None, episodes_per_level: int) -> list: ...

    def pinned_env(self, jobs: Sequence, seeds: Sequence[int]) -> Any: ...

    def repin(self, env: Any, slot: int, job: Any, seed: int) -> np.ndarray: ...

    def task_columns(self, job: Any) -> dict: ...

    def score(self, returns: np.ndarray | float) -> np.ndarray: ...

    def check_behaviour(self, behaviour: BehaviourConfig) -> None: ...

    def behaviour_policy(self, behaviour: BehaviourConfig, seed: int) -> Any: ...

    def reference_behaviour(self, behaviour: BehaviourConfig, seed: int) -> Any: ...


@runtime_checkable
class StitchingWorld(World, Protocol):
    """A world with stitching test pairs (`stitching = True`): the audit and temporal augmentation
    (`rlgen.stitch`) run on it. Its records carry (game, mode) = (its kind, pair kind), which
    the report's stitching table reads; its shards keep per-step waypoints."""

    structure: Any

    def pairs(self, split: LevelSplit, splits: Sequence[str], levels_per_split: int | None, kinds: Sequence[str] = ...) -> list: ...

    def goal_renderer(self) -> Any: ...


class WorldBase:
    """Defaults for the optional parts of a world; subclass it and fill in the rest.

    - `jobs`: every level of each split played `episodes_per_level` times (`EpisodeJob`s);
    - `repin`: `env.repin(slot, job.level, seed)`, the pinned-env contract of Procgen's;
    - `task_columns`: the kind as the records' `game` (a report normalizes only Procgen's games);
    - `score`: the return itself;
    - behaviours: the registry's (`rlgen.policies.registry`), checked against `behaviour_game`
      (the kind unless set), `epsilon` through `epsilon_policy`;
    - references: only the generic `random` and `behaviour`; `report_note`: none;
    - `dataset_label`: the kind.
    """

    kind: ClassVar[str]
    num_actions: int
    stitching: ClassVar[bool] = False
    reference_names: ClassVar[tuple[str, ...]] = ()
    report_note: ClassVar[str | None] = None
    """A sentence the report prints under every dataset of this world (e.g. how its score reads)."""

    @classmethod
    def dataset_label(cls, options: dict) -> str:
        """The environment part of dataset names, from `env.options`: the kind, unless options
        that make other data (WebShop's goal split) must show in the name."""
        return cls.kind

    @property
    def behaviour_game(self) -> str:
        return self.kind

    @property
    def manifest_env(self) -> dict:
        return {"kind": self.kind, "num_actions": self.num_actions}

    jobs = staticmethod(level_jobs)

    def repin(self, env: Any, slot: int, job: EpisodeJob, seed: int) -> np.ndarray:
        return env.repin(slot, job.level, seed)

    def task_columns(self, job: Any) -> dict:
        return {"game": self.kind}

    def score(self, returns: np.ndarray | float) -> np.ndarray:
        return np.asarray(returns, dtype=np.float64)

    def check_behaviour(self, behaviour: BehaviourConfig) -> None:
        check_behaviour(behaviour, self)

    def behaviour_policy(self, behaviour: BehaviourConfig, seed: int) -> Any:
        return make_behaviour_policy(behaviour, self, seed)

    def reference_behaviour(self, behaviour: BehaviourConfig, seed: int) -> Any:
        return self.behaviour_policy(behaviour, seed)

    def reference_policy(self, name: str, config: ExperimentConfig, seed: int) -> Any:
        raise ValueError(f"{self.kind} has no reference {name!r}; valid: {', '.join(self.reference_names) or 'none'}")


def without_structure(behaviour: BehaviourConfig) -> BehaviourConfig:
    """The behaviour without its confinement (`structure`): a stitching world's reference behaviour."""
    return dataclasses.replace(behaviour, options={k: v for k, v in behaviour.options.items() if k != "structure"})
