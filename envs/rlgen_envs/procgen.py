"""A gymnasium vector environment over Procgen's native batched C++ environment.

Why a new adapter: procgen-mirror speaks gym3 (and old gym through `gym.make`), not gymnasium,
and its auto-reset hides the facts an offline dataset needs. When an episode ends, Procgen
resets at once: the frame returned with the episode's last reward already belongs to the
*next* episode, and there is no separate time-limit signal. This adapter makes those facts
explicit instead of splicing episodes together:

- `step` returns the reward of the action just taken and `terminated` / `truncated` flags of the
  episode that action ended; the returned observation is then the first frame of the next
  episode (gymnasium's "same-step" auto-reset). The true final frame is lost in Procgen, so
  there is no `final_obs`.
- `truncated` means Procgen's step limit ended the episode without the level being completed
  (`episode_step_limit`); every other end is `terminated`.
- `info["level_seed"]` is the level of the episode each returned observation belongs to;
  `info["episode_level_seed"]`, `info["level_complete"]` and `info["episode_length"]` describe
  the episode that just ended (meaningful where `terminated | truncated`).

Levels are chosen in one of two ways. `ProcgenVecEnv(game, num_envs, start_level, num_levels)`
samples a level uniformly from [start_level, start_level + num_levels) on every reset
(Procgen's own behaviour, used for collection). `ProcgenVecEnv.pinned(game, levels)` pins
each environment slot to one level, so every listed level is played exactly as often as it is
listed, and `repin` moves a finished slot to the next level (used for evaluation, where paired
comparisons need each test level played k times).
"""

from __future__ import annotations

from typing import Any, Sequence

import gymnasium
import numpy as np
from gymnasium import spaces

PROCGEN_GAMES: tuple[str, ...] = (
    "bigfish", "bossfight", "caveflyer", "chaser", "climber", "coinrun", "dodgeball", "fruitbot",
    "heist", "jumper", "leaper", "maze", "miner", "ninja", "plunder", "starpilot",
)  # fmt: skip
PROCGEN_MODES: tuple[str, ...] = ("easy", "hard")
NUM_ACTIONS = 15
FRAME_SHAPE = (64, 64, 3)

# Procgen's per-game `timeout` (steps): 1000 unless a game sets its own. Measured with random
# play on all 16 games: maze and leaper end at 500 steps, the others at 1000.
_STEP_LIMITS = {"maze": 500, "leaper": 500}


def episode_step_limit(game: str) -> int:
    """Steps after which Procgen ends an episode of `game` as a timeout."""
    _check(game, "easy")
    return _STEP_LIMITS.get(game, 1000)


def _check(game: str, mode: str) -> None:
    if game not in PROCGEN_GAMES:
        raise ValueError(f"unknown Procgen game {game!r}; valid games: {', '.join(PROCGEN_GAMES)}")
    if mode not in PROCGEN_MODES:
        raise ValueError(f"unknown Procgen mode {mode!r}; valid modes: {', '.join(PROCGEN_MODES)}")


class ProcgenVecEnv(gymnasium.vector.VectorEnv):
    """`num_envs` Procgen games stepped together in C++; observations (num_envs, 64, 64, 3) uint8."""

    metadata = {"autoreset_mode": "same-step", "render_modes": []}

    def __init__(
        self,
        game: str,
        num_envs: int = 1,
        start_level: int = 0,
        num_levels: int = 0,
        mode: str = "easy",
        seed: int = 0,
        num_threads: int = 0,
        *,
        _groups: Sequence[tuple[int, int, int]] | None = None,
    ) -> None:
        _check(game, mode)
        if num_levels < 0 or start_level < 0:
            raise ValueError("start_level and num_levels must be non-negative (num_levels=0: all levels)")
        self.game = game
        self.mode = mode
        self.num_threads = num_threads
        self.step_limit = episode_step_limit(game)
        # Each group is one gym3 environment: (start_level, num_levels, num_envs).
        self._group_specs = list(_groups) if _groups is not None else [(start_level, num_levels, num_envs)]
        self.num_envs = sum(n for _, _, n in self._group_specs)
        if self.num_envs < 1:
            raise ValueError("a ProcgenVecEnv needs at least one environment")
        self.single_observation_space = spaces.Box(0, 255, FRAME_SHAPE, np.uint8)
        self.single_action_space = spaces.Discrete(NUM_ACTIONS)
        self.observation_space = spaces.Box(0, 255, (self.num_envs, *FRAME_SHAPE), np.uint8)
        self.action_space = spaces.MultiDiscrete(np.full(self.num_envs, NUM_ACTIONS))
        self._envs: list[Any] = []
        self._seed = seed
        self._slot_seeds: list[int] | None = None  # per-slot seeds of pinned environments

    @classmethod
    def pinned(
        cls, game: str, levels: Sequence[int], mode: str = "easy", seeds: Sequence[int] | None = None
    ) -> ProcgenVecEnv:
        """One slot per entry of `levels`, each replaying only its level; `repin` moves a slot.

        Each slot is its own C++ environment (construction costs about 2 ms), so a slot whose
        episode ended can be moved to another level while the others play on.
        """
        env = cls(game, mode=mode, _groups=[(int(level), 1, 1) for level in levels])
        env._slot_seeds = list(seeds) if seeds is not None else None
        return env

    def repin(self, slot: int, level: int, seed: int = 0) -> np.ndarray:
        """Start a new episode on `level` in `slot` (pinned envs only); returns its first frame."""
        if self._group_specs[slot][2] != 1 or len(self._group_specs) != self.num_envs:
            raise RuntimeError("repin needs an environment built with ProcgenVecEnv.pinned")
        self._group_specs[slot] = (int(level), 1, 1)
        self._envs[slot] = self._make(int(level), 1, 1, seed)
        self._elapsed[slot] = 0
        return np.array(self._envs[slot].observe()[1]["rgb"][0])

    # -- gymnasium API -------------------------------------------------------------------------

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        """(Re)create the C++ environments; `seed` fixes Procgen's level sampling and dynamics."""
        if seed is not None:
            self._seed = seed
        self._envs = [
            self._make(start, count, n, self._slot_seeds[i] if self._slot_seeds else self._seed * 1_000_003 + i)
            for i, (start, count, n) in enumerate(self._group_specs)
        ]
        self._elapsed = np.zeros(self.num_envs, dtype=np.int64)
        obs, _, _ = self._observe()
        return obs, {"level_seed": self._info_array("level_seed")}

    def step(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict]:
        if not self._envs:
            raise RuntimeError("call reset() before step()")
        actions = np.asarray(actions)
        if actions.shape != (self.num_envs,):
            raise ValueError(f"expected {self.num_envs} actions, got shape {actions.shape}")
        offset = 0
        for env in self._envs:
            env.act(actions[offset : offset + env.num].astype(np.int32))
            offset += env.num
        obs, rewards, first = self._observe()
        self._elapsed += 1
        complete = self._info_array("prev_level_complete", bool) & first
        truncated = first & ~complete & (self._elapsed >= self.step_limit)
        terminated = first & ~truncated
        info = {
            "level_seed": self._info_array("level_seed"),
            "episode_level_seed": self._info_array("prev_level_seed"),
            "level_complete": complete,
            "episode_length": np.where(first, self._elapsed, 0),
        }
        self._elapsed[first] = 0
        return obs, rewards, terminated, truncated, info

    def close_extras(self, **kwargs: Any) -> None:
        self._envs = []

    # -- saved states, for planners ------------------------------------------------------------

    def get_states(self) -> list[bytes]:
        """Each environment's full saved state (level, entities, random generator): about 20-40 KB."""
        return [state for env in self._envs for state in env.callmethod("get_state")]

    # -- internals -----------------------------------------------------------------------------

    def _make(self, start: int, count: int, num: int, seed: int):
        from procgen import ProcgenGym3Env  # imported here: procgen prints on import

        return ProcgenGym3Env(
            num=num,
            env_name=self.game,
            distribution_mode=self.mode,
            start_level=start,
            num_levels=count,
            rand_seed=int(seed) % (2**31 - 1),
            num_threads=self.num_threads,
        )

    def _observe(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        # gym3's `observe` already returns fresh copies (its reuse_arrays=False, which procgen
        # keeps), so the frames are the caller's to keep or modify without another copy.
        parts = [env.observe() for env in self._envs]
        if len(parts) == 1:
            rew, ob, first = parts[0]
            return ob["rgb"], np.asarray(rew, np.float32), np.asarray(first, bool)
        obs = np.concatenate([ob["rgb"] for _, ob, _ in parts])
        rewards = np.concatenate([rew for rew, _, _ in parts]).astype(np.float32)
        first = np.concatenate([f for _, _, f in parts]).astype(bool)
        return obs, rewards, first

    def _info_array(self, key: str, dtype: type = np.int64) -> np.ndarray:
        """`key` of every environment's info, as of the last `observe` (which every caller made).

        gym3 keeps the info as one array per key (`_info`, filled by each observe), and its
        public `get_info()` observes again and splits the arrays into a dict per environment:
        reading the arrays is 15x cheaper, a few percent of a whole step. `get_info()` is the
        fallback should a gym3 version keep them elsewhere.
        """
        parts = []
        for env in self._envs:
            arrays = getattr(env, "_info", None)
            if isinstance(arrays, dict) and key in arrays:
                parts.append(arrays[key])
            else:
                parts.append(np.array([i[key] for i in env.get_info()]))
        values = parts[0] if len(parts) == 1 else np.concatenate(parts)
        return values.astype(dtype)  # a copy: the gym3 arrays are overwritten by the next observe
