"""The stitching grid maze: layouts from level seeds, exact waypoints, goals, the oracle."""

import gymnasium
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import rlgen_envs  # noqa: F401  (registers rlgen/StitchMaze-v0)
from rlgen_envs.stitch_maze import (
    SIZE, StitchMazeEnv, egocentric_goals, egocentric_observation, egocentric_size, free_positions, layout, shortest_path,
)


def test_level_seed_fixes_the_layout_and_levels_differ():
    assert np.array_equal(layout(5), layout(5))
    assert not np.array_equal(layout(5), layout(6))
    walls = layout(5)
    assert walls[0].all() and walls[-1].all() and walls[:, 0].all() and walls[:, -1].all()


@pytest.mark.parametrize("move", ["cell", "block"])
@pytest.mark.parametrize("level", [0, 1, 17, 123456])
def test_every_free_block_is_reachable_and_paths_are_shortest(level, move):
    free = free_positions(level, move)
    assert len(free) == (49 if move == "cell" else int((~layout(level)).sum()))  # cell centres, or every free block
    start = free[0]
    stride = 2 if move == "cell" else 1
    for goal in free[1:: max(1, len(free) // 10)]:
        path = shortest_path(level, start, goal, move)
        env = StitchMazeEnv(move=move)
        env.reset(options={"level": level, "start": start, "goal": goal})
        for action in path:
            _, reward, terminated, truncated, info = env.step(action)
        assert terminated and reward == 1.0 and info["position"] == goal
        # no shorter path: Manhattan distance (in blocks) is a lower bound
        assert stride * len(path) >= abs(goal[0] - start[0]) + abs(goal[1] - start[1])
        if move == "cell":  # a cell path of n moves is a block path of 2n steps
            assert 2 * len(path) == len(shortest_path(level, start, goal, "block"))


def test_a_cell_move_crosses_the_passage_and_a_wall_between_cells_blocks_it():
    walls = layout(4)
    env = StitchMazeEnv(move="cell")
    for start in free_positions(4, "cell"):
        for action, (dr, dc) in enumerate(((-1, 0), (1, 0), (0, -1), (0, 1)), start=1):
            env.reset(options={"level": 4, "start": start, "goal": (13, 13) if start != (13, 13) else (1, 1)})
            *_, info = env.step(action)
            passage_open = not walls[start[0] + dr, start[1] + dc]
            assert info["position"] == ((start[0] + 2 * dr, start[1] + 2 * dc) if passage_open else start)
    with pytest.raises(ValueError, match="not a cell centre"):
        env.reset(options={"level": 4, "start": (1, 2), "goal": (1, 1)})


def test_walls_block_moves_and_waypoint_is_exact():
    env = StitchMazeEnv()
    obs, info = env.reset(options={"level": 3, "start": (1, 1), "goal": (13, 13)})
    assert info["waypoint"] == (3, 1, 1)
    _, _, _, _, info = env.step(1)  # up into the border wall
    assert info["position"] == (1, 1)
    _, _, _, _, info = env.step(0)  # stay
    assert info["position"] == (1, 1)


def test_truncation_at_the_step_limit():
    env = StitchMazeEnv(max_episode_steps=5)
    env.reset(options={"level": 0, "start": (1, 1), "goal": (13, 13)})
    flags = [env.step(0)[2:4] for _ in range(5)]
    assert flags[-1] == (False, True) and all(f == (False, False) for f in flags[:-1])


def test_observations_carry_the_goal():
    vec = StitchMazeEnv("vector")
    obs, _ = vec.reset(options={"level": 2, "start": (1, 1), "goal": (13, 13)})
    assert obs.shape == (4 + 3 * SIZE * SIZE,) and obs.dtype == np.uint8
    np.testing.assert_array_equal(obs[:4], [1, 1, 13, 13])
    img = StitchMazeEnv("image")
    frame, _ = img.reset(options={"level": 2, "start": (1, 1), "goal": (13, 13)})
    assert frame.shape == (64, 64, 3) and frame.dtype == np.uint8
    assert tuple(frame[13 * 4 + 1, 13 * 4 + 1]) == (40, 200, 60)  # the goal is drawn
    assert tuple(frame[1 * 4 + 1, 1 * 4 + 1]) == (50, 90, 230)  # and the agent


def test_bad_tasks_are_refused():
    env = StitchMazeEnv(move="block")
    with pytest.raises(ValueError, match="not a free block"):
        env.reset(options={"level": 0, "start": (0, 0), "goal": (1, 1)})
    with pytest.raises(ValueError, match="move must be one of"):
        StitchMazeEnv(move="diagonal")
    with pytest.raises(ValueError, match="valid: level, start, goal"):
        env.reset(options={"lvl": 0})


def test_seeded_resets_sample_levels_from_the_range():
    env = StitchMazeEnv(start_level=100, num_levels=5)
    levels = {env.reset(seed=s)[1]["level"] for s in range(40)}
    assert levels <= set(range(100, 105)) and len(levels) > 1
    a, b = StitchMazeEnv(), StitchMazeEnv()
    assert a.reset(seed=3)[1] == b.reset(seed=3)[1]


@pytest.mark.parametrize("obs_mode", ["vector", "egocentric", "image"])
def test_gymnasium_checker_and_registration(obs_mode):
    check_env(StitchMazeEnv(obs_mode), skip_render_check=True)
    env = gymnasium.make("rlgen/StitchMaze-v0", obs_mode=obs_mode)
    env.reset(seed=0)


def test_egocentric_view_is_the_maze_around_the_agent_and_the_goal_offset():
    env = StitchMazeEnv("egocentric")
    obs, info = env.reset(options={"level": 7, "start": (1, 13), "goal": (13, 1)})
    w = 2 * SIZE - 1
    assert obs.shape == (egocentric_size(SIZE),) == (2 * w * w,) and obs.dtype == np.uint8 and obs.max() == 1
    walls, goal = obs[: w * w].reshape(w, w), obs[w * w :].reshape(w, w)
    r, c = info["position"]
    expected = np.ones((3 * SIZE - 2, 3 * SIZE - 2), dtype=np.uint8)  # the maze with a ring of walls as wide as the window
    expected[SIZE - 1 : 2 * SIZE - 1, SIZE - 1 : 2 * SIZE - 1] = layout(7)
    assert np.array_equal(walls, expected[r : r + w, c : c + w])  # centred on the agent, outside counts as wall
    assert walls[SIZE - 1, SIZE - 1] == 0
    assert goal.sum() == 1 and tuple(np.argwhere(goal)[0]) == (13 - 1 + SIZE - 1, 1 - 13 + SIZE - 1)
    step, *_ = env.step(2)  # down: the view moves with the agent
    moved = env.agent
    if moved != (r, c):
        assert np.array_equal(step[: w * w].reshape(w, w), expected[moved[0] : moved[0] + w, moved[1] : moved[1] + w])


def test_egocentric_goal_redraw_is_exact_and_refuses_goals_off_the_maze():
    rng = np.random.default_rng(0)
    free = np.array(free_positions(3))
    agents, goals, new = (free[rng.integers(len(free), size=20)] for _ in range(3))
    walls = np.repeat(layout(3)[None], 20, axis=0)
    obs = egocentric_observation(agents, goals, walls)
    assert np.array_equal(egocentric_goals(obs, agents, new), egocentric_observation(agents, new, walls))
    with pytest.raises(ValueError, match="outside"):
        egocentric_goals(obs[:1], [[0, 0]], [[0, 29]])
