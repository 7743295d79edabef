"""Small region-restricted datasets collected with the real env and oracle, shared by the stitch tests."""

from __future__ import annotations

import numpy as np
import pytest

from rlgen.stitch import Hops, Regions, StitchOracle
from rlgen_envs import StitchMazeVecEnv


def collect(structure, num_episodes: int, *, levels=range(6), obs_mode="vector", epsilon=0.3, seed=0, num_envs=8):
    """Episodes as the pipeline stores them: T observations before T actions, per-step waypoints and goals."""
    env = StitchMazeVecEnv(num_envs, levels.start, len(levels), obs_mode, max_episode_steps=200, seed=seed, task_sampler=structure)
    policy = StitchOracle(structure, epsilon=epsilon, seed=seed)
    obs, info = env.reset()
    policy.attach(env)
    policy.reset(np.arange(num_envs))
    logs = [dict(observations=[], actions=[], rewards=[], waypoints=[], goals=[]) for _ in range(num_envs)]
    episodes = []
    tasks = list(env.tasks)  # the task of each slot's running episode
    while len(episodes) < num_episodes:
        actions = policy.act(obs)
        for i, log in enumerate(logs):
            log["observations"].append(obs[i])
            log["actions"].append(actions[i])
            log["waypoints"].append(info["waypoint"][i])
            log["goals"].append(info["goal"][i])
        obs, rewards, terminated, truncated, info = env.step(actions)
        for i, log in enumerate(logs):
            log["rewards"].append(rewards[i])
        for i in np.flatnonzero(terminated | truncated):
            ep = {k: np.array(v) for k, v in logs[i].items()}
            ep.update(terminated=bool(terminated[i]), truncated=bool(truncated[i]), task=tasks[i],
                      level_seed=int(info["episode_level_seed"][i]))
            tasks[i] = env.tasks[i]
            episodes.append(ep)
            logs[i] = dict(observations=[], actions=[], rewards=[], waypoints=[], goals=[])
    return episodes[:num_episodes]


@pytest.fixture(scope="session")
def region_episodes():
    return collect(Regions(4, 1, move="block"), 400)  # block moves: one block a step (cell moves: test_stitch_cell_moves.py)


@pytest.fixture(scope="session")
def hop_episodes():
    return collect(Hops(8, move="block"), 300)


@pytest.fixture(scope="session")
def collect_stitch():
    """The `collect` helper, as a fixture (conftest modules are not importable by name)."""
    return collect
