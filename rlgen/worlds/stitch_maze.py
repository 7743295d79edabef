"""The stitching maze as a world (issue 5; ../shared/reference/stitching.md), and the stitch oracle.

The grid maze (`rlgen_envs.StitchMazeVecEnv`, 5 actions) with region- or hop-restricted
training tasks taken from the behaviour's `structure` (`stitch_oracle`'s option), and evaluation
(start, goal) pairs of two kinds, `stitch` (never together in one training trajectory) and
`ordinary` (as the behaviour's own tasks), on every split's levels. Records carry the task as
(`stitch_maze`, pair kind), so reports keep the two kinds apart as tasks.

The `stitch_oracle` behaviour (shortest paths confined to the structure) is registered here for
both stitching worlds: it plays on the grid maze, and on Procgen maze's parsed grids
(`rlgen.worlds.procgen_maze_stitch`, whose world gives the oracle its `layout`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from rlgen.core.config import BehaviourConfig, ConfigError
from rlgen.core.levels import LevelSet, LevelSplit
from rlgen.policies.registry import check_behaviour, make_behaviour_policy, register_behaviour
from rlgen.stitch.augment import stitch_maze_goal_renderer
from rlgen.stitch.policy import StitchOracle
from rlgen.stitch.regions import structure_from_params
from rlgen.stitch.tasks import make_eval_pairs
from rlgen.worlds.base import WorldBase, split_levels, without_structure
from rlgen.worlds.registry import register_world
from rlgen_envs.stitch_maze import MOVES
from rlgen_envs.stitch_vec import StitchMazeVecEnv, StitchTask

__all__ = ["PairJob", "StitchMazeWorld", "build_stitching_world", "refuse_generic_epsilon"]

STITCH_KINDS = ("stitch_maze", "procgen_maze_stitch")
"""The worlds the stitch oracle plays in (their `behaviour_game`)."""


@dataclass(frozen=True)
class PairJob:
    """Play the stitching maze from `start` to `goal` on `level`; `kind` is `stitch` or `ordinary`.

    `repeat` numbers the episodes of one (split, level, kind): pair index x repeats + repeat, so
    each record's (level, mode, episode) is unique.
    """

    split: str
    level: int
    repeat: int
    kind: str
    start: tuple[int, int]
    goal: tuple[int, int]

    @property
    def task(self):
        return StitchTask(self.level, self.start, self.goal)


class StitchMazeWorld(WorldBase):
    """The stitching maze (`rlgen_envs.StitchMazeVecEnv`, 5 actions).

    `structure` (`Regions` / `Hops` params) confines the training tasks and defines the
    evaluation pairs; `max_episode_steps` bounds every episode; `pairs_per_level` pairs of each
    kind are drawn per evaluated level (`rlgen.stitch.tasks.make_eval_pairs`, seeded by
    `pair_seed`). `obs_mode` is what collection stores and policies see: `"vector"`, the compact
    (679,) uint8 observation (agent and goal row/col, the 15 x 15 walls, agent and goal one-hot);
    `"egocentric"`, the agent-centred (1682,) uint8 view (walls in a 29 x 29 window around the
    agent, the goal's offset one-hot; `rlgen_envs.stitch_maze.egocentric_observation`), on which
    an MLP learns the maze in CPU minutes; or `"image"`, (64, 64, 3) uint8 frames for the IMPALA encoder (the
    default, as datasets recorded before the option existed were collected in it).
    """

    kind = "stitch_maze"
    stitching = True
    OPTIONS = ("max_episode_steps", "pairs_per_level", "pair_seed", "obs_mode")

    def __init__(
        self, structure: dict, max_episode_steps: int = 100, pairs_per_level: int = 2, pair_seed: int = 0, obs_mode: str = "image"
    ) -> None:
        self.structure_params = dict(structure)
        self.structure = structure_from_params(structure)
        self.max_episode_steps = int(max_episode_steps)
        self.pairs_per_level = int(pairs_per_level)
        self.pair_seed = int(pair_seed)
        self.num_actions = len(MOVES)
        self.obs_mode = str(obs_mode)
        if self.obs_mode not in ("vector", "egocentric", "image"):
            raise ConfigError(f"env.options.obs_mode must be 'vector', 'egocentric' or 'image', got {obs_mode!r}")
        if self.max_episode_steps < 1 or self.pairs_per_level < 1:
            raise ConfigError("env.options: max_episode_steps and pairs_per_level must be at least 1")

    @classmethod
    def from_env(cls, env: dict[str, Any], behaviour_options: dict | None) -> StitchMazeWorld:
        return build_stitching_world(cls, env, behaviour_options)

    @property
    def options(self) -> dict:
        return {
            "max_episode_steps": self.max_episode_steps, "pairs_per_level": self.pairs_per_level, "pair_seed": self.pair_seed,
            "obs_mode": self.obs_mode,
        }

    @property
    def manifest_env(self) -> dict:
        """What a dataset records: enough to rebuild this world (and its test pairs) from the data alone."""
        return {"kind": self.kind, "options": self.options, "structure": self.structure_params, "num_actions": self.num_actions}

    def training_env(self, levels: LevelSet, num_envs: int):
        return StitchMazeVecEnv(
            num_envs, levels.start, levels.count, self.obs_mode, self.max_episode_steps, task_sampler=self.structure
        )

    def pairs(self, split: LevelSplit, splits: Sequence[str], levels_per_split: int | None, kinds: Sequence[str] = ("stitch", "ordinary")):
        """`EvalPair`s of every (split, level, kind), deterministic given `pair_seed`."""
        levels = {name: split_levels(split, name, levels_per_split).seeds for name in splits}
        return make_eval_pairs(self.structure, levels, self.pairs_per_level, self.pair_seed, kinds)

    def jobs(self, split: LevelSplit, splits: Sequence[str], levels_per_split: int | None, episodes_per_level: int) -> list[PairJob]:
        """Every evaluation pair of the split's first levels, each played `episodes_per_level` times."""
        jobs: list[PairJob] = []
        index: dict[tuple, int] = {}
        for pair in self.pairs(split, splits, levels_per_split):
            n = index.setdefault((pair.split, pair.level, pair.kind), 0)
            index[(pair.split, pair.level, pair.kind)] += 1
            jobs.extend(
                PairJob(pair.split, pair.level, n * episodes_per_level + k, pair.kind, pair.start, pair.goal)
                for k in range(episodes_per_level)
            )
        return jobs

    def pinned_env(self, jobs: Sequence[PairJob], seeds: Sequence[int]):
        return StitchMazeVecEnv.pinned([j.task for j in jobs], self.obs_mode, self.max_episode_steps)

    def repin(self, env, slot: int, job: PairJob, seed: int) -> np.ndarray:
        return env.repin(slot, job.task, seed)

    def task_columns(self, job: PairJob) -> dict:
        """The pair kind is the record's task (`mode`); the blocks are kept for tracing."""
        return {"game": self.kind, "mode": job.kind, "task": f"{job.start[0]},{job.start[1]}->{job.goal[0]},{job.goal[1]}"}

    def score(self, returns: np.ndarray | float) -> np.ndarray:
        """Success: the maze pays 1 on reaching the goal and nothing else, so the return is the score."""
        return np.asarray(returns, dtype=np.float64)

    def check_behaviour(self, behaviour: BehaviourConfig) -> None:
        check_behaviour(behaviour, self)
        refuse_generic_epsilon(behaviour)

    def behaviour_policy(self, behaviour: BehaviourConfig, seed: int):
        self.check_behaviour(behaviour)
        return make_behaviour_policy(behaviour, self, seed)

    def reference_behaviour(self, behaviour: BehaviourConfig, seed: int):
        """The behaviour as an evaluation reference: the same policy, without its confinement.

        Confinement is a property of the collected tasks (an episode's region or hop ball), which
        an evaluation pair does not have; the unconfined oracle with the behaviour's noise marks
        what the data's policy does when allowed to go anywhere (the ceiling of each pair kind).
        """
        return self.behaviour_policy(without_structure(behaviour), seed)

    def goal_renderer(self):
        """`render(observations, waypoints, old_goals, new_goals)` for `rlgen.stitch.augment`: the
        relabelled goal drawn into this maze's observations (frames, vector or egocentric)."""
        return stitch_maze_goal_renderer(self.obs_mode)


def refuse_generic_epsilon(behaviour: BehaviourConfig) -> None:
    """A stitching world's behaviour takes its noise from its own options: the generic
    epsilon-mixture would step outside the region and break the stitching split."""
    if behaviour.epsilon:
        raise ConfigError(
            "collect.policy.epsilon: the generic mixture draws Procgen's 15 actions and would leave the "
            "region; give the stitch oracle its own noise (collect.policy.options.epsilon)"
        )


def build_stitching_world(cls: type, env: dict[str, Any], behaviour: dict | None):
    """A stitching world (`cls`: `StitchMazeWorld` or a world with its constructor) from a config's
    `env` section and behaviour options, or from a manifest's `env` (`behaviour` None: the
    structure is the one the manifest recorded). The structure confines the collected tasks and
    defines the test pairs, so a world without one is refused, as are options `cls` lacks."""
    options = dict(env.get("options", {}))
    structure = env.get("structure") if behaviour is None else behaviour.get("structure")
    unknown = sorted(set(options) - set(cls.OPTIONS))
    if unknown:
        raise ConfigError(f"env.options: unknown option(s) {unknown} for {cls.kind}; valid: {', '.join(cls.OPTIONS)}")
    if not structure:
        raise ConfigError(
            f"env.kind {cls.kind} needs collect.policy.options.structure (e.g. {{kind: regions, num_regions: 2, "
            "overlap: 2}): it confines the collected tasks and defines the stitching test pairs"
        )
    try:
        return cls(structure, **options)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{cls.kind}: {exc}") from exc


def stitch_oracle(seed: int, world: Any, structure: dict | None = None, epsilon: float = 0.0, tie_break: str = "random") -> StitchOracle:
    """The `stitch_oracle` behaviour: shortest paths confined to `structure` (regions or hops), on
    the world's `layout` (Procgen maze's parsed grids) or the grid maze's own. Its noise is
    `epsilon` here, never the generic mixture's (see `refuse_generic_epsilon`)."""
    layout = getattr(world, "layout", None)
    confined = None if structure is None else structure_from_params(structure, layout)
    return StitchOracle(confined, float(epsilon), seed, str(tie_break), layout=layout)


register_world("stitch_maze", StitchMazeWorld)
register_behaviour("stitch_oracle", stitch_oracle, games=STITCH_KINDS, options=("structure", "epsilon", "tie_break"), mix=False)
