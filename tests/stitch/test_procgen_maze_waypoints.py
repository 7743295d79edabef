"""Procgen maze: waypoint keys parsed from saved states match the frame; tasks placed by editing states."""

from collections import deque

import numpy as np
import pytest

from rlgen_envs.procgen_maze import cell_pixel_box, parse_maze_state, place_task

MOVES = {1: (0, -1), 7: (0, 1), 5: (-1, 0), 3: (1, 0)}  # Procgen action -> (d_row, d_col), row 0 at the top


def _gym3(level):
    from procgen import ProcgenGym3Env

    return ProcgenGym3Env(num=1, env_name="maze", distribution_mode="easy", start_level=level, num_levels=1)


def _path(free, start, goal):
    parents = {start: None}
    frontier = deque([start])
    while frontier:
        cell = frontier.popleft()
        for action, (dr, dc) in MOVES.items():
            nxt = (cell[0] + dr, cell[1] + dc)
            if free[nxt] and nxt not in parents:
                parents[nxt] = (cell, action)
                frontier.append(nxt)
    actions, cell = [], goal
    while parents[cell] is not None:
        cell, action = parents[cell]
        actions.append(action)
    return actions[::-1]


@pytest.mark.parametrize("level", [0, 3, 11])
def test_parsed_cells_match_what_the_frame_shows(level):
    """Every pixel that changes when the mouse moves lies in the parsed old or new cell's box."""
    env = _gym3(level)
    rng = np.random.default_rng(level)
    frame = env.observe()[1]["rgb"][0].copy()
    before = parse_maze_state(env.callmethod("get_state")[0])
    assert before.level_seed == level and before.free[before.agent] and before.goal is not None
    moved = 0
    for _ in range(150):
        action = int(rng.choice(list(MOVES)))
        env.act(np.array([action]))
        _, ob, first = env.observe()
        after = parse_maze_state(env.callmethod("get_state")[0])
        if first[0]:  # solved: the frame already shows the level reset
            frame, before = ob["rgb"][0].copy(), after
            continue
        dr, dc = MOVES[action]
        target = (before.agent[0] + dr, before.agent[1] + dc)
        assert after.agent == (target if before.free[target] else before.agent)
        changed = np.argwhere((ob["rgb"][0] != frame).any(-1))
        if after.agent != before.agent:
            moved += 1
            boxes = [cell_pixel_box(after, before.agent), cell_pixel_box(after, after.agent)]
            assert len(changed)
            assert all(any(t <= r < b and lft <= c < rt for t, b, lft, rt in boxes) for r, c in changed)
        frame, before = ob["rgb"][0].copy(), after
    assert moved >= 5


def test_placed_tasks_end_at_the_placed_goal_after_a_shortest_path():
    env = _gym3(5)
    parsed = parse_maze_state(env.callmethod("get_state")[0])
    free = [tuple(map(int, c)) for c in np.argwhere(parsed.free)]
    rng = np.random.default_rng(0)
    for _ in range(4):
        start, goal = (free[i] for i in rng.choice(len(free), 2, replace=False))
        env.callmethod("set_state", [place_task(env.callmethod("get_state")[0], start, goal)])
        placed = parse_maze_state(env.callmethod("get_state")[0])
        assert (placed.agent, placed.goal) == (start, goal)
        actions = _path(parsed.free, start, goal)
        for k, action in enumerate(actions):
            env.act(np.array([action]))
            reward, _, first = env.observe()
            assert bool(first[0]) == (k == len(actions) - 1)
        assert reward[0] == 10.0 and env.get_info()[0]["prev_level_complete"] == 1
    with pytest.raises(ValueError, match="not a free cell"):
        place_task(env.callmethod("get_state")[0], start=(0, 0))
