"""Procgen as gymnasium ids with level ranges: `rlgen/procgen-<game>-v0` and `rlgen/procgen-v0`.

    import rlgen_envs  # or `import rlgen`; or give the module in the id: "rlgen_envs:rlgen/procgen-maze-v0"
    env = gymnasium.make("rlgen/procgen-maze-v0", start_level=2_000_000, num_levels=200)
    envs = gymnasium.make_vec("rlgen/procgen-maze-v0", num_envs=16, start_level=0, num_levels=200)
    env = gymnasium.make("rlgen/procgen-v0", game="coinrun", mode="hard", start_level=0, num_levels=10)

Arguments: `game` (fixed by a per-game id), `mode` ("easy" or "hard"), `start_level` and
`num_levels` (each episode plays a level drawn uniformly from [start_level, start_level +
num_levels); 0 levels: all of them). `make` gives `ProcgenEnv`, one environment; `make_vec` gives
the native `ProcgenVecEnv` (`rlgen_envs.procgen`), all environments stepped together in C++.
The single env exists so that tools that evaluate one env at a time (d3rlpy's
`EnvironmentEvaluator`, a user's loop) can be pointed at unseen levels.

Gymnasium 1.0 has no entry-point plugins (the `gymnasium.envs` group of 0.26-0.29 is gone):
ids exist once `rlgen_envs` is imported, which `import rlgen` does, or when the id names the
module (`"rlgen_envs:rlgen/procgen-maze-v0"`, which gymnasium imports first).
"""

from __future__ import annotations

from typing import Any

import gymnasium
import numpy as np
from gymnasium import spaces

from rlgen_envs.procgen import FRAME_SHAPE, NUM_ACTIONS, PROCGEN_GAMES, ProcgenVecEnv


class ProcgenEnv(gymnasium.Env):
    """One Procgen game on levels [start_level, start_level + num_levels); frames (64, 64, 3) uint8,
    or (3, 64, 64) with `channels_first` (the layout of rlgen's d3rlpy buffers).

    Procgen resets itself the moment an episode ends and keeps no final frame, so the step that
    ends an episode returns the *next* episode's first frame (as Procgen's own gym env does);
    the following `reset()` returns that same frame, so no level is skipped and level draws stay
    Procgen's. A `reset()` in the middle of an episode (or with a seed) starts Procgen anew with
    a seed drawn from the env's generator. `info` carries `level_seed` (the level of the returned
    frame) and, on the step that ends an episode, `episode_level_seed` and `level_complete`.
    """

    metadata = {"render_modes": []}

    def __init__(
        self, game: str, mode: str = "easy", start_level: int = 0, num_levels: int = 0, channels_first: bool = False
    ) -> None:
        self._vec = ProcgenVecEnv(game, num_envs=1, start_level=start_level, num_levels=num_levels, mode=mode)
        self.channels_first = channels_first
        shape = (FRAME_SHAPE[2], FRAME_SHAPE[0], FRAME_SHAPE[1]) if channels_first else FRAME_SHAPE
        self.observation_space = spaces.Box(0, 255, shape, np.uint8)
        self.action_space = spaces.Discrete(NUM_ACTIONS)
        self._next_first_frame: tuple[np.ndarray, int] | None = None  # (frame, level) after an episode ended

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        if seed is None and self._next_first_frame is not None:
            frame, level = self._next_first_frame
        else:
            obs, info = self._vec.reset(seed=int(self.np_random.integers(2**31 - 1)))
            frame, level = obs[0], int(info["level_seed"][0])
        self._next_first_frame = None
        return self._layout(frame), {"level_seed": level}

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict]:
        obs, rewards, terminated, truncated, info = self._vec.step(np.array([int(action)]))
        level = int(info["level_seed"][0])
        out = {"level_seed": level}
        if terminated[0] or truncated[0]:
            self._next_first_frame = (obs[0], level)
            out.update(episode_level_seed=int(info["episode_level_seed"][0]), level_complete=bool(info["level_complete"][0]))
        return self._layout(obs[0]), float(rewards[0]), bool(terminated[0]), bool(truncated[0]), out

    def close(self) -> None:
        self._vec.close()

    def _layout(self, frame: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(frame.transpose(2, 0, 1)) if self.channels_first else frame


def register_procgen_ids() -> None:
    """`rlgen/procgen-v0` (give `game`) and `rlgen/procgen-<game>-v0` for each of the 16 games."""
    ids = {"rlgen/procgen-v0": {}, **{f"rlgen/procgen-{game}-v0": {"game": game} for game in PROCGEN_GAMES}}
    for env_id, kwargs in ids.items():
        if env_id not in gymnasium.registry:
            gymnasium.register(
                env_id,
                entry_point="rlgen_envs.procgen_env:ProcgenEnv",
                vector_entry_point="rlgen_envs.procgen:ProcgenVecEnv",
                kwargs=kwargs,
            )
