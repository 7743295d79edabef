"""StitchMazeVecEnv keeps ProcgenVecEnv's contract and adds exact per-step waypoints and goals."""

import numpy as np
import pytest

from rlgen_envs import StitchMazeEnv, StitchMazeVecEnv, StitchTask
from rlgen_envs.stitch_maze import SIZE, shortest_path


def _agent_from_frame(frame):
    rows, cols = np.nonzero((frame == (50, 90, 230)).all(-1))
    return rows.min() // 4, cols.min() // 4


def test_same_step_auto_reset_and_episode_info():
    task = StitchTask(3, (1, 1), (1, 5))
    path = shortest_path(3, task.start, task.goal)
    env = StitchMazeVecEnv.pinned([task, StitchTask(4, (1, 1), (13, 13))], obs_mode="vector")
    obs, info = env.reset()
    assert obs.shape == (2, 4 + 3 * SIZE * SIZE) and obs.dtype == np.uint8
    assert info["level_seed"].tolist() == [3, 4] and info["waypoint"].dtype == np.int64
    for k, action in enumerate(path):
        obs, rewards, terminated, truncated, info = env.step(np.array([action, 0]))
        if k < len(path) - 1:
            assert not terminated[0] and rewards[0] == 0
    assert terminated[0] and not truncated[0] and rewards[0] == 1.0 and info["level_complete"][0]
    assert info["episode_length"][0] == len(path) and info["episode_level_seed"][0] == 3
    assert info["episode_goal"][0].tolist() == [1, 5]
    # the observation returned with the last reward is the next episode's first: back at the start
    assert info["waypoint"][0].tolist() == [3, 1, 1] and info["goal"][0].tolist() == [1, 5]
    np.testing.assert_array_equal(obs[0, :4], [1, 1, 1, 5])
    assert not (terminated[1] or truncated[1]) and info["episode_length"][1] == 0


def test_truncation_and_random_tasks_from_the_level_range():
    env = StitchMazeVecEnv(16, start_level=100, num_levels=5, max_episode_steps=3, seed=1)
    obs, info = env.reset()
    assert obs.shape == (16, 64, 64, 3) and obs.dtype == np.uint8
    for _ in range(3):
        obs, rewards, terminated, truncated, info = env.step(np.zeros(16, dtype=np.int64))
    assert truncated.all() and not terminated.any() and (info["episode_length"] == 3).all()
    assert set(info["level_seed"].tolist()) <= set(range(100, 105)) and len(set(info["level_seed"].tolist())) > 1
    again = StitchMazeVecEnv(16, start_level=100, num_levels=5, max_episode_steps=3, seed=1)
    assert np.array_equal(again.reset()[1]["waypoint"], env.reset()[1]["waypoint"])


def test_frames_match_the_single_env_and_waypoints_match_frames():
    env = StitchMazeVecEnv(8, 0, 20, seed=0)
    obs, info = env.reset()
    rng = np.random.default_rng(0)
    for _ in range(30):
        for i in range(8):
            level, r, c = info["waypoint"][i]
            assert _agent_from_frame(obs[i]) == (r, c)
            single = StitchMazeEnv("image")
            frame, _ = single.reset(options={"level": int(level), "start": (r, c), "goal": tuple(info["goal"][i])})
            assert np.array_equal(frame, obs[i])
        obs, _, _, _, info = env.step(rng.integers(0, 5, 8))


def test_pinned_slots_replay_their_task_and_repin_moves_them():
    env = StitchMazeVecEnv.pinned([StitchTask(1, (1, 1), (1, 3))], obs_mode="vector", max_episode_steps=2)
    env.reset()
    for _ in range(2):
        _, _, _, truncated, info = env.step(np.array([0]))
    assert truncated[0] and info["waypoint"][0].tolist() == [1, 1, 1]
    obs = env.repin(0, StitchTask(7, (13, 13), (1, 1)))
    assert env.tasks[0].level == 7 and np.array_equal(obs[:4], [13, 13, 1, 1])
    _, _, _, _, info = env.step(np.array([0]))
    assert info["level_seed"][0] == 7 and info["waypoint"][0].tolist() == [7, 13, 13]
    with pytest.raises(RuntimeError, match="pinned"):
        StitchMazeVecEnv(2).repin(0, StitchTask(1, (1, 1), (1, 3)))


def test_bad_tasks_and_actions_are_refused():
    with pytest.raises(ValueError, match="not a cell centre"):
        StitchMazeVecEnv.pinned([StitchTask(0, (0, 0), (1, 1))])
    with pytest.raises(ValueError, match="not a free block"):
        StitchMazeVecEnv.pinned([StitchTask(0, (0, 0), (1, 1))], move="block")
    env = StitchMazeVecEnv(2, task_sampler=lambda level, rng: StitchTask(level + 1, (1, 1), (1, 3)))
    with pytest.raises(ValueError, match="task sampler returned level"):
        env.reset()
    env = StitchMazeVecEnv(2)
    env.reset()
    with pytest.raises(ValueError, match="actions must lie"):
        env.step(np.array([0, 7]))
