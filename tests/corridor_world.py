"""A world and a behaviour policy of one's own, in one file named in a config's `imports:`.

README's "Bring your own world" and "Bring your own behaviour policy" quote it verbatim
(`tests/test_readme.py` checks), and `tests/test_plugins.py` runs it through
the whole pipeline (Ray collection actors, BC, Ray evaluation actors, the report) with no edit to
rlgen. The world: a corridor of 3 to 7 cells (the level seed sets its length); the agent starts
in cell 0 and is paid 1 for reaching the last cell. Observations are (2,) uint8: (position,
length). Actions: 0 left, 1 right.
"""

from __future__ import annotations

import numpy as np
from gymnasium import spaces

from rlgen.policies.registry import register_behaviour
from rlgen.worlds import WorldBase, register_world

STEP_LIMIT = 20


class CorridorVecEnv:
    """`num_envs` corridors stepped together, with `rlgen_envs.ProcgenVecEnv`'s contract:
    same-step auto-reset, `info["level_seed"]` per observation, the ended episode's
    `episode_level_seed` / `level_complete` / `episode_length`; `pinned` levels for evaluation."""

    single_observation_space = spaces.Box(0, 255, (2,), np.uint8)
    step_limit = STEP_LIMIT

    def __init__(self, num_envs: int, start_level: int, num_levels: int, pinned: list[int] | None = None) -> None:
        self.num_envs, self.start, self.count, self.pinned = num_envs, start_level, num_levels, pinned
        self.levels = np.zeros(num_envs, dtype=np.int64)
        self.position = np.zeros(num_envs, dtype=np.int64)
        self.steps = np.zeros(num_envs, dtype=np.int64)
        self.rng = np.random.default_rng(0)

    def _begin(self, slot: int) -> None:
        self.levels[slot] = self.pinned[slot] if self.pinned is not None else self.start + self.rng.integers(self.count)
        self.position[slot] = self.steps[slot] = 0

    def _obs(self) -> np.ndarray:
        return np.stack([self.position, 3 + self.levels % 5], axis=1).astype(np.uint8)

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        self.rng = np.random.default_rng(seed)
        for slot in range(self.num_envs):
            self._begin(slot)
        return self._obs(), {"level_seed": self.levels.copy()}

    def step(self, actions: np.ndarray):
        self.position = np.maximum(0, self.position + np.where(np.asarray(actions) == 1, 1, -1))
        self.steps += 1
        complete = self.position >= 2 + self.levels % 5
        terminated, truncated = complete, ~complete & (self.steps >= STEP_LIMIT)
        info = {"episode_level_seed": self.levels.copy(), "level_complete": complete.copy(), "episode_length": self.steps.copy()}
        for slot in np.flatnonzero(terminated | truncated):
            self._begin(slot)
        info["level_seed"] = self.levels.copy()
        return self._obs(), complete.astype(np.float32), terminated, truncated, info

    def repin(self, slot: int, level: int, seed: int) -> np.ndarray:
        self.pinned[slot] = level
        self._begin(slot)
        return self._obs()[slot]

    def close(self) -> None:
        pass


class CorridorWorld(WorldBase):
    """`env: {kind: corridor}`; no options."""

    kind = "corridor"
    num_actions = 2

    @classmethod
    def from_env(cls, env: dict, behaviour_options: dict | None) -> CorridorWorld:
        return cls()

    def training_env(self, levels, num_envs: int) -> CorridorVecEnv:
        return CorridorVecEnv(num_envs, levels.start, levels.count)

    def pinned_env(self, jobs, seeds) -> CorridorVecEnv:
        return CorridorVecEnv(len(jobs), 0, 1, pinned=[job.level for job in jobs])


register_world("corridor", CorridorWorld)


class Walker:
    """Steps right with probability `p_right`, else left: a behaviour of a chosen skill."""

    def __init__(self, seed: int, p_right: float) -> None:
        self.rng, self.p_right = np.random.default_rng(seed), p_right

    def act(self, observations: np.ndarray) -> np.ndarray:
        return (self.rng.random(len(observations)) < self.p_right).astype(np.int64)


register_behaviour("walker", lambda seed, world, p_right=0.8: Walker(seed, p_right), games=("corridor",), options=("p_right",))
