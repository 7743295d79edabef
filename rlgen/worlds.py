"""The environment seam: everything the pipeline needs to know about one kind of environment.

Why one module: collection, evaluation, model selection and the learners run the same code for
every environment; what differs is small and lives here, once per kind (`env.kind` in a
config, `env` in a dataset's manifest):

- the collection vector env on the training levels (`training_env`), whose `step_extras` name
  the per-step info arrays shards keep;
- the evaluation jobs of a level split (`jobs`) and the pinned env that plays them
  (`pinned_env` / `repin`), with the same contract as `rlgen_envs.ProcgenVecEnv.pinned`;
- the number of actions (recorded in the manifest, read by the learners from the dataset);
- how an episode is scored (`score`): Procgen min-max normalizes with the Cobbe constants, the
  stitching maze scores success (return 1 on reaching the goal, else 0);
- the behaviour policy: which registered policies can act in it (`check_behaviour`).

`ProcgenWorld` is the Procgen behaviour the pipeline always had. `StitchMazeWorld` is the
stitching track (issue 5; ../shared/reference/stitching.md): the grid maze, region- or
hop-restricted tasks taken from the behaviour's `structure` (`stitch_oracle`'s option), and
evaluation (start, goal) pairs of two kinds, `stitch` (never together in one training
trajectory) and `ordinary` (as the behaviour's own tasks), on every split's levels.
Records carry the task as (game, mode) columns: Procgen's game and difficulty, or
(`stitch_maze`, pair kind), so reports keep the two kinds apart as tasks.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from rlgen.core.config import BehaviourConfig, ConfigError, EnvConfig, ExperimentConfig
from rlgen.core.games import NUM_ACTIONS, normalize_returns
from rlgen.core.levels import LevelSet, LevelSplit

__all__ = ["EpisodeJob", "PairJob", "ProcgenWorld", "StitchMazeWorld", "World", "world_of", "world_of_manifest"]


@dataclass(frozen=True)
class EpisodeJob:
    """Play `level` once, as repeat number `repeat`, and report it under `split`."""

    split: str
    level: int
    repeat: int


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
        from rlgen_envs.stitch_vec import StitchTask

        return StitchTask(self.level, self.start, self.goal)


def _levels(split: LevelSplit, name: str, levels_per_split: int | None) -> LevelSet:
    return split[name] if levels_per_split is None else split[name].first(levels_per_split)


def level_jobs(split: LevelSplit, splits: Sequence[str], levels_per_split: int | None, episodes_per_level: int) -> list[EpisodeJob]:
    """The same job list for every policy: the first `levels_per_split` levels of each split,
    each played `episodes_per_level` times."""
    return [
        EpisodeJob(name, level, k)
        for name in splits for level in _levels(split, name, levels_per_split).seeds for k in range(episodes_per_level)
    ]


class ProcgenWorld:
    """A Procgen game and difficulty, 15 actions, Cobbe-normalized returns."""

    kind = "procgen"
    stitching = False
    """Whether the world has stitching test pairs (audit, augmentation): see `StitchMazeWorld`."""
    num_actions = NUM_ACTIONS

    def __init__(self, game: str, mode: str) -> None:
        self.game, self.mode = game, mode

    @property
    def behaviour_game(self) -> str:
        """The name `rlgen.policies.registry` checks a behaviour policy against."""
        return self.game

    @property
    def manifest_env(self) -> dict:
        return {"game": self.game, "mode": self.mode}

    def training_env(self, levels: LevelSet, num_envs: int):
        from rlgen_envs import ProcgenVecEnv

        return ProcgenVecEnv(self.game, num_envs=num_envs, start_level=levels.start, num_levels=levels.count, mode=self.mode)

    jobs = staticmethod(level_jobs)

    def pinned_env(self, jobs: Sequence[EpisodeJob], seeds: Sequence[int]):
        from rlgen_envs import ProcgenVecEnv

        return ProcgenVecEnv.pinned(self.game, [j.level for j in jobs], self.mode, seeds=list(seeds))

    def repin(self, env, slot: int, job: EpisodeJob, seed: int) -> np.ndarray:
        return env.repin(slot, job.level, seed)

    def task_columns(self, job: EpisodeJob) -> dict:
        return {}

    def score(self, returns: np.ndarray | float) -> np.ndarray:
        return normalize_returns(returns, self.game, self.mode)

    def check_behaviour(self, behaviour: BehaviourConfig) -> None:
        from rlgen.policies.registry import check_behaviour

        check_behaviour(behaviour, self.behaviour_game)

    def behaviour_policy(self, behaviour: BehaviourConfig, seed: int):
        from rlgen.policies.registry import make_behaviour_policy

        return make_behaviour_policy(behaviour, self.behaviour_game, seed)

    reference_behaviour = behaviour_policy

    reference_names: tuple[str, ...] = ("ppo",)
    """World references: `ppo`, the online PPO policy (the paper's comparison), trained on the
    experiment's training levels by `rlgen policy train-ppo`; `evaluate.ppo_checkpoint` names it."""

    def check_reference(self, name: str, config: ExperimentConfig) -> None:
        """Before any work: the reference's checkpoint exists and plays this game."""
        self._ppo_selection(name, config)

    def _ppo_selection(self, name: str, config: ExperimentConfig):
        """The final checkpoint of `evaluate.ppo_checkpoint`'s run, refused unless it plays this game."""
        if name != "ppo":
            raise ConfigError(f"evaluate.references: unknown Procgen reference {name!r}; valid: {', '.join(self.reference_names)}")
        from rlgen.policies.ppo import select_checkpoint

        selection = select_checkpoint(config.evaluate.ppo_checkpoint)
        played = selection.checkpoint.settings
        if (played.game, played.mode) != (self.game, self.mode):
            raise ConfigError(
                f"evaluate.ppo_checkpoint {config.evaluate.ppo_checkpoint}: trained on {played.game} ({played.mode}), "
                f"not {self.game} ({self.mode})"
            )
        return selection

    def reference_policy(self, name: str, config: ExperimentConfig, seed: int):
        """The online PPO reference: the final checkpoint of `evaluate.ppo_checkpoint`'s run on
        `config.device`, sampling its actions as PPO was trained and as the paper evaluated it
        (`evaluate.greedy` is for the offline learners)."""
        from rlgen.policies.ppo import PPOPolicy

        selection = self._ppo_selection(name, config)
        return PPOPolicy(selection.checkpoint.path, seed=seed, greedy=False, device=config.device, stats=selection.stats())


class StitchMazeWorld:
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
    behaviour_game = "stitch_maze"
    OPTIONS = ("max_episode_steps", "pairs_per_level", "pair_seed", "obs_mode")

    def __init__(
        self, structure: dict, max_episode_steps: int = 100, pairs_per_level: int = 2, pair_seed: int = 0, obs_mode: str = "image"
    ) -> None:
        from rlgen.stitch.regions import structure_from_params
        from rlgen_envs.stitch_maze import MOVES

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
        from rlgen_envs.stitch_vec import StitchMazeVecEnv

        return StitchMazeVecEnv(
            num_envs, levels.start, levels.count, self.obs_mode, self.max_episode_steps, task_sampler=self.structure
        )

    def pairs(self, split: LevelSplit, splits: Sequence[str], levels_per_split: int | None, kinds: Sequence[str] = ("stitch", "ordinary")):
        """`EvalPair`s of every (split, level, kind), deterministic given `pair_seed`."""
        from rlgen.stitch.tasks import make_eval_pairs

        levels = {name: _levels(split, name, levels_per_split).seeds for name in splits}
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
        from rlgen_envs.stitch_vec import StitchMazeVecEnv

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
        from rlgen.policies.registry import check_behaviour

        check_behaviour(behaviour, self.behaviour_game)
        if behaviour.epsilon:
            raise ConfigError(
                "collect.policy.epsilon: the generic mixture draws Procgen's 15 actions and would leave the "
                "region; give the stitch oracle its own noise (collect.policy.options.epsilon)"
            )

    def behaviour_policy(self, behaviour: BehaviourConfig, seed: int):
        from rlgen.policies.registry import make_behaviour_policy

        if behaviour.name == "random":
            behaviour = dataclasses.replace(behaviour, options={"num_actions": self.num_actions, **behaviour.options})
        return make_behaviour_policy(behaviour, self.behaviour_game, seed)

    def reference_behaviour(self, behaviour: BehaviourConfig, seed: int):
        """The behaviour as an evaluation reference: the same policy, without its confinement.

        Confinement is a property of the collected tasks (an episode's region or hop ball), which
        an evaluation pair does not have; the unconfined oracle with the behaviour's noise marks
        what the data's policy does when allowed to go anywhere (the ceiling of each pair kind).
        """
        options = {k: v for k, v in behaviour.options.items() if k != "structure"}
        return self.behaviour_policy(dataclasses.replace(behaviour, options=options), seed)


World = Any
"""A world: `ProcgenWorld`, `StitchMazeWorld`, or a class registered in `WORLD_KINDS`."""


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


def _procgen_world(env: dict[str, Any], behaviour: dict | None) -> ProcgenWorld:
    return ProcgenWorld(env["game"], env["mode"])


def _stitch_maze_world(env: dict[str, Any], behaviour: dict | None) -> StitchMazeWorld:
    return build_stitching_world(StitchMazeWorld, env, behaviour)


WORLD_KINDS: dict[str, str] = {
    "procgen": "rlgen.worlds:_procgen_world",
    "stitch_maze": "rlgen.worlds:_stitch_maze_world",
    "procgen_maze_stitch": "rlgen.stitch.procgen_world:make_world",
    "webshop": "rlgen.webshop.world:make_world",
}
"""Environment kind -> `module:function(env, behaviour_options)` building its world.

`env` is a config's `env` section as a dict (`game`, `mode`, `options`) or a manifest's `env`;
`behaviour_options` is the behaviour policy's options when building from a config, None when
building from a manifest (a world that needs them must then find them in the manifest's `env`,
which its `manifest_env` writes). Modules are imported on first use, so a kind costs nothing
until a config names it.
"""


def _builder(kind: str):
    import importlib

    if kind not in WORLD_KINDS:
        raise ConfigError(f"env.kind: unknown environment kind {kind!r}; valid: {', '.join(WORLD_KINDS)}")
    module, _, function = WORLD_KINDS[kind].partition(":")
    return getattr(importlib.import_module(module), function)


def world_of(config: ExperimentConfig | EnvConfig, behaviour: BehaviourConfig | None = None) -> World:
    """The world an experiment config describes (the stitching maze's structure is its behaviour's)."""
    if isinstance(config, ExperimentConfig):
        env, behaviour = config.env, config.collect.policy
    else:
        env = config
    section = {"game": env.game, "mode": env.mode, "options": dict(env.options)}
    return _builder(env.kind)(section, {} if behaviour is None else dict(behaviour.options))


def world_of_manifest(env: dict[str, Any]) -> World:
    """The world a dataset was collected in, from its manifest's `env` alone."""
    kind = env.get("kind", "procgen")
    if kind not in WORLD_KINDS:
        raise ValueError(f"unknown environment kind {kind!r} in a manifest")
    return _builder(kind)(env, None)
