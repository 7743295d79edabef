"""`WebShopChoiceVecEnv`: WebShop batched as a choice among K candidates, with `ProcgenVecEnv`'s contract.

Why: rlgen's collection and evaluation loops drive vector envs with one contract (same-step
auto-reset, per-slot level seeds, `pinned` / `repin` for paired evaluation; see
`rlgen_envs.stitch_vec`). This adapter gives WebShop that contract over the choice formulation
of `rlgen_envs.webshop.choice`: observations are (n, D) uint8 feature vectors, actions are
candidate indices in [0, K).

Levels are goals: level `start_level + i` plays goal `level_goals[i]` (an index into
`catalog.goals`), so the caller decides which goals a range of levels means (rlgen maps training
level i to the i-th goal of the train split, and so on; see `rlgen.worlds.webshop`).

Contract:

- `step(actions)`: each slot plays the candidate its action indexes. An index whose slot is empty
  on the current page (`info["num_candidates"]` counts the filled ones; empty slots are wherever
  the page lacks that element) is an invalid action: the page does not change, the reward is 0,
  and the step counts toward `max_episode_steps`, exactly as the original treats a click on an
  element the page does not show (`info["invalid_action"]` marks it). An index outside [0, K)
  is outside the action space: `ValueError`.
- Rewards come only from Buy Now (0 to 1); the episode then terminates. At `max_episode_steps`
  without a purchase it is truncated with reward 0. The observation returned with the last
  reward is already the first of the slot's next episode (same-step auto-reset).
- `info["level_seed"]` (n,) level of each returned observation; `info["episode_level_seed"]`,
  `info["level_complete"]` (reward exactly 1: the WebShop success), `info["episode_length"]`,
  `info["episode_reward"]` describe the episode that just ended (where `terminated | truncated`).
- Per-step extras collection stores in shards (`step_extras`): `info["goal_index"]` (n,) int64,
  the catalog goal of each returned observation's episode, and `info["num_candidates"]` (n,)
  int64. With the catalog, the goal index and the actions rebuild every page and candidate text
  of an episode, so shards store no strings.

`views[i]` is slot i's current `PageView` (instruction, page, candidates) and `slot_env(i)` its
`WebShopEnv`: behaviour policies that know the goal (the oracle) read them through `attach`.
"""

from __future__ import annotations

from typing import NamedTuple, Sequence

import gymnasium
import numpy as np
from gymnasium import spaces

from rlgen_envs.webshop.catalog import Catalog
from rlgen_envs.webshop.choice import DEFAULT_NUM_CANDIDATES, Featurizer, HashedNgramFeaturizer, PageView, page_view
from rlgen_envs.webshop.env import DEFAULT_STEP_LIMIT, WebShopEnv

NOOP = "noop"
"""The action string an empty slot plays: the env's invalid action (no change, reward 0, one step)."""


class GoalTask(NamedTuple):
    """One pinned episode: the level it is reported under and the catalog goal it plays."""

    level: int
    goal: int


class WebShopChoiceVecEnv(gymnasium.vector.VectorEnv):
    """`num_envs` WebShop sessions as a choice among K candidates; see the module docstring."""

    metadata = {"autoreset_mode": "same-step", "render_modes": []}
    step_extras = ("goal_index", "num_candidates")

    def __init__(
        self,
        catalog: Catalog,
        level_goals: Sequence[int],
        num_envs: int = 1,
        start_level: int = 0,
        num_candidates: int = DEFAULT_NUM_CANDIDATES,
        featurizer: Featurizer | None = None,
        max_episode_steps: int = DEFAULT_STEP_LIMIT,
        seed: int = 0,
        *,
        _pinned: Sequence[GoalTask] | None = None,
    ) -> None:
        if num_envs < 1 or max_episode_steps < 1 or start_level < 0:
            raise ValueError("need num_envs >= 1, max_episode_steps >= 1 and start_level >= 0")
        if not level_goals and _pinned is None:
            raise ValueError("level_goals is empty: no goal to play")
        self.catalog = catalog
        self.level_goals = tuple(int(g) for g in level_goals)
        for g in self.level_goals + tuple(t.goal for t in _pinned or ()):
            if not 0 <= g < len(catalog.goals):
                raise ValueError(f"goal {g} is outside the catalog's [0, {len(catalog.goals)})")
        self.num_envs = num_envs
        self.start_level = start_level
        self.num_levels = len(self.level_goals)
        self.num_candidates = num_candidates
        self.featurizer = featurizer if featurizer is not None else HashedNgramFeaturizer(num_candidates)
        self.max_episode_steps = self.step_limit = max_episode_steps
        self._seed = seed
        self._pinned = [GoalTask(*t) for t in _pinned] if _pinned is not None else None
        self._envs = [WebShopEnv(catalog, step_limit=max_episode_steps) for _ in range(num_envs)]
        size = int(self.featurizer.size)
        self.single_action_space = spaces.Discrete(num_candidates)
        self.action_space = spaces.MultiDiscrete(np.full(num_envs, num_candidates))
        self.single_observation_space = spaces.Box(0, 255, (size,), np.uint8)
        self.observation_space = spaces.Box(0, 255, (num_envs, size), np.uint8)
        self.views: list[PageView] = []
        self.levels = np.zeros(num_envs, dtype=np.int64)
        self.goals = np.zeros(num_envs, dtype=np.int64)
        self._rng = np.random.default_rng(seed)

    @classmethod
    def pinned(cls, catalog: Catalog, tasks: Sequence[GoalTask], **kwargs) -> WebShopChoiceVecEnv:
        """One slot per task, each replaying its goal after every auto-reset; `repin` moves a slot."""
        tasks = [GoalTask(*t) for t in tasks]
        return cls(catalog, (), len(tasks), min(t.level for t in tasks), _pinned=tasks, **kwargs)

    def repin(self, slot: int, task: GoalTask | Sequence[int], seed: int = 0) -> np.ndarray:
        """Start a new episode of `task` in `slot` (pinned envs only); returns its first observation.

        `seed` is accepted for `ProcgenVecEnv.repin`'s signature; an episode is deterministic given its goal."""
        if self._pinned is None:
            raise RuntimeError("repin needs an environment built with WebShopChoiceVecEnv.pinned")
        self._pinned[slot] = GoalTask(*task)
        self._begin(slot)
        return self._observe(slot)

    def slot_env(self, slot: int) -> WebShopEnv:
        return self._envs[slot]

    # -- gymnasium API -------------------------------------------------------------------------

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        """Begin an episode in every slot; `seed` fixes the draw of levels."""
        if seed is not None:
            self._seed = seed
        self._rng = np.random.default_rng(self._seed)
        self.views = [None] * self.num_envs  # type: ignore[list-item]
        for i in range(self.num_envs):
            self._begin(i)
        obs = np.stack([self._observe(i) for i in range(self.num_envs)])
        return obs, self._step_info()

    def step(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict]:
        if not self.views:
            raise RuntimeError("call reset() before step()")
        actions = np.asarray(actions)
        if actions.shape != (self.num_envs,):
            raise ValueError(f"expected {self.num_envs} actions, got shape {actions.shape}")
        if actions.size and (actions.min() < 0 or actions.max() >= self.num_candidates):
            raise ValueError(f"actions are candidate indices in [0, {self.num_candidates})")
        n = self.num_envs
        rewards = np.zeros(n, dtype=np.float32)
        terminated = np.zeros(n, dtype=bool)
        truncated = np.zeros(n, dtype=bool)
        invalid = np.zeros(n, dtype=bool)
        lengths = np.zeros(n, dtype=np.int64)
        episode_levels = self.levels.copy()
        episode_goals = self.goals.copy()
        obs = np.empty((n, self.single_observation_space.shape[0]), dtype=np.uint8)
        for i in range(n):
            candidate = self.views[i].slots[int(actions[i])]
            invalid[i] = candidate is None
            env = self._envs[i]
            _, reward, term, trunc, _ = env.step(NOOP if candidate is None else candidate.action)
            rewards[i], terminated[i], truncated[i] = reward, term, trunc
            if term or trunc:
                lengths[i] = env.steps
                self._begin(i)
            obs[i] = self._observe(i)
        info = {
            "episode_level_seed": episode_levels,
            "episode_goal_index": episode_goals,
            "level_complete": terminated & (rewards >= 1.0),
            "episode_length": lengths,
            "episode_reward": np.where(terminated, rewards, 0.0),
            "invalid_action": invalid,
            **self._step_info(),
        }
        return obs, rewards, terminated, truncated, info

    # -- internals -----------------------------------------------------------------------------

    def _begin(self, slot: int) -> None:
        if self._pinned is not None:
            level, goal = self._pinned[slot]
        else:
            level = self.start_level + int(self._rng.integers(self.num_levels))
            goal = self.level_goals[level - self.start_level]
        self._envs[slot].reset(options={"goal": goal})
        self.levels[slot], self.goals[slot] = level, goal

    def _observe(self, slot: int) -> np.ndarray:
        view = page_view(self._envs[slot], self.num_candidates)
        self.views[slot] = view
        return self.featurizer.encode(view)

    def _step_info(self) -> dict[str, np.ndarray]:
        return {
            "level_seed": self.levels.copy(),
            "goal_index": self.goals.copy(),
            "num_candidates": np.array([sum(c is not None for c in v.slots) for v in self.views], dtype=np.int64),
        }
