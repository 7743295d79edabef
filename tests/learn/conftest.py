"""Tiny replay buffers from real Procgen rollouts, shared by the learner tests.

Chaser with random actions: its orbs give small rewards every few steps, so returns-to-go
really change during the decision-transformer tests. Rollouts are cut after a few dozen steps;
the unfinished episodes end as timeouts (d3rlpy: terminated=False), finished ones as terminals.
The frame returned with an episode's end already belongs to the next episode (Procgen resets
itself), so it starts the next episode's observations.
"""

from __future__ import annotations

import d3rlpy
import numpy as np
import pytest
from d3rlpy.dataset import Episode, InfiniteBuffer, ReplayBuffer

from rlgen_envs import ProcgenVecEnv


def collect_episodes(game: str = "chaser", num_envs: int = 4, steps: int = 60, seed: int = 0) -> list[Episode]:
    env = ProcgenVecEnv(game, num_envs=num_envs, start_level=0, num_levels=5, seed=seed)
    obs, _ = env.reset()
    rng = np.random.default_rng(seed)
    current: list[dict[str, list]] = [{"obs": [], "act": [], "rew": []} for _ in range(num_envs)]
    finished: list[tuple[dict[str, list], bool]] = []
    for _ in range(steps):
        actions = rng.integers(0, 15, num_envs)
        for i in range(num_envs):
            current[i]["obs"].append(obs[i])
            current[i]["act"].append(actions[i])
        obs, rewards, terminated, truncated, _ = env.step(actions)
        for i in range(num_envs):
            current[i]["rew"].append(rewards[i])
            if terminated[i] or truncated[i]:
                finished.append((current[i], bool(terminated[i])))
                current[i] = {"obs": [], "act": [], "rew": []}
    finished += [(ep, False) for ep in current if len(ep["act"]) > 1]
    env.close()
    return [
        Episode(
            observations=np.ascontiguousarray(np.stack(ep["obs"]).transpose(0, 3, 1, 2)),
            actions=np.asarray(ep["act"], dtype=np.int64)[:, None],
            rewards=np.asarray(ep["rew"], dtype=np.float32)[:, None],
            terminated=term,
        )
        for ep, term in finished
    ]


# Tiny sizes: the CPU does a few IMPALA gradient steps per second at batch 32.
TINY = {"steps": 4, "batch_size": 4, "log_every": 2, "validate_every": 0}
TINY_DT = {"context_size": 4, "num_layers": 1, "num_heads": 2, "feature_size": 32, "dropout": 0.0}


@pytest.fixture()
def tiny() -> dict[str, dict]:
    """Learner params small enough for a 2-core CPU, per algorithm."""
    return {"bc": dict(TINY), "cql": dict(TINY), "dt": {**TINY, **TINY_DT}}


def make_buffer(episodes: list[Episode]) -> ReplayBuffer:
    return ReplayBuffer(
        InfiniteBuffer(), episodes=episodes, action_space=d3rlpy.ActionSpace.DISCRETE, action_size=15
    )


@pytest.fixture()
def buffer_from():
    """`buffer_from(episodes)`: a discrete 15-action d3rlpy buffer."""
    return make_buffer


@pytest.fixture(scope="session")
def procgen_episodes() -> list[Episode]:
    return collect_episodes()


@pytest.fixture()
def procgen_buffer(procgen_episodes: list[Episode]) -> ReplayBuffer:
    return make_buffer(procgen_episodes)


@pytest.fixture(scope="session")
def synthetic_buffer() -> ReplayBuffer:
    """Random frames and rewards in real episode structure, for machines without Procgen."""
    rng = np.random.default_rng(0)
    episodes = [
        Episode(
            observations=rng.integers(0, 256, (length, 3, 64, 64), dtype=np.uint8),
            actions=rng.integers(0, 15, (length, 1)),
            rewards=rng.random((length, 1), dtype=np.float32),
            terminated=bool(i % 2),
        )
        for i, length in enumerate((30, 20, 25))
    ]
    return make_buffer(episodes)


@pytest.fixture(scope="session")
def procgen_frames() -> np.ndarray:
    """(8, 64, 64, 3) uint8 frames from levels the buffer never saw, as the env emits them."""
    env = ProcgenVecEnv("chaser", num_envs=8, start_level=500, num_levels=8, seed=1)
    obs, _ = env.reset()
    for _ in range(5):
        obs, *_ = env.step(np.random.default_rng(1).integers(0, 15, 8))
    env.close()
    return obs


@pytest.fixture(autouse=True)
def _run_in_tmp(tmp_path, monkeypatch):
    """Run every test from a temporary folder, so a stray `d3rlpy_logs/` would be noticed."""
    monkeypatch.chdir(tmp_path)
