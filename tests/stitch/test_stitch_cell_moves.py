"""`move: cell` on the grid maze: positions are cell centres, one action moves a whole cell, and the
structure, the oracle, the evaluation pairs and the env agree on it."""

import numpy as np
import pytest

from rlgen.stitch import Hops, Regions, StitchOracle, make_eval_pairs, structure_from_params
from rlgen_envs import StitchMazeVecEnv, StitchTask
from rlgen_envs.stitch_maze import shortest_path


def _centres(cells) -> bool:
    cells = np.asarray(cells).reshape(-1, 2)
    return bool(((cells % 2) == 1).all())


def test_the_grid_maze_defaults_to_cell_moves_and_records_the_move():
    regions, hops = Regions(2, 2), Hops(4)
    assert regions.move == hops.move == "cell" and Regions(2, 2, move="block").move == "block"
    assert regions.params() == {"kind": "regions", "num_regions": 2, "overlap": 2, "move": "cell"}
    assert Regions(2, 2, move="block").params()["move"] == "block"  # the grid maze's manifests always say which
    for s in (regions, hops):
        assert structure_from_params(s.params()) == s
    with pytest.raises(ValueError, match="evaluation envs move cells"):  # the world's eval envs would not follow
        structure_from_params(Regions(2, 2, move="block").params())
    with pytest.raises(ValueError, match="move must be one of"):
        Regions(2, 2, move="diagonal")


def test_cell_moves_need_the_grid_maze_layout():
    def other(level):
        return np.zeros((5, 5), dtype=bool)

    assert Regions(2, 1, layout=other).move == "block" and "move" not in Regions(2, 1, layout=other).params()
    with pytest.raises(ValueError, match="grid maze"):
        Regions(2, 1, layout=other, move="cell")


@pytest.mark.parametrize("structure", [Regions(2, 2), Hops(4)])
def test_tasks_pairs_and_distances_are_on_cell_centres(structure):
    rng = np.random.default_rng(0)
    for level in (0, 3, 2_000_001):
        assert len(structure.free_positions(level)) == 49 and _centres(structure.free_positions(level))
        for _ in range(20):
            task = structure(level, rng)
            assert _centres([task.start, task.goal]) and task.start != task.goal
            assert structure.distances(level, task.start)[task.goal] == len(shortest_path(level, task.start, task.goal, "cell"))
    pairs = make_eval_pairs(structure, {"train": range(4)}, 10)
    assert {p.kind for p in pairs} == {"stitch", "ordinary"}
    assert all(_centres([p.start, p.goal]) and structure.separated(p.level, p.start, p.goal) for p in pairs if p.kind == "stitch")


def test_the_env_takes_its_move_from_the_task_sampler_and_refuses_a_different_one():
    env = StitchMazeVecEnv(4, 0, 3, "egocentric", task_sampler=Regions(2, 2))
    assert env.move == "cell"
    assert StitchMazeVecEnv(4, 0, 3, "egocentric", task_sampler=Regions(2, 2, move="block")).move == "block"
    with pytest.raises(ValueError, match="differs"):
        StitchMazeVecEnv(4, 0, 3, "egocentric", task_sampler=Regions(2, 2), move="block")
    env.reset(seed=0)
    assert _centres(env.agents) and _centres(env.goals)


def test_the_confined_oracle_takes_shortest_cell_paths_and_stays_in_its_region():
    regions = Regions(2, 2)
    env = StitchMazeVecEnv(8, 0, 6, "egocentric", max_episode_steps=60, seed=1, task_sampler=regions)
    oracle = StitchOracle(regions, epsilon=0.0, seed=0)
    obs, info = env.reset()
    oracle.attach(env)
    tasks, ended = list(env.tasks), 0
    while ended < 60:
        for i, task in enumerate(tasks):  # every position visited lies in the episode's region
            assert regions.allowed(task)[tuple(env.agents[i])]
        obs, _, terminated, truncated, info = env.step(oracle.act(obs))
        assert _centres(env.agents) and not truncated.any()
        for i in np.flatnonzero(terminated):
            task = tasks[i]
            allowed_path = regions.distances(task.level, task.goal, regions.allowed(task))[task.start]
            assert info["episode_length"][i] == allowed_path  # a shortest path inside the region
            tasks[i] = env.tasks[i]
            ended += 1


def test_noisy_oracle_moves_stay_confined_and_still_reach_the_goal():
    regions = Regions(2, 2)
    env = StitchMazeVecEnv(8, 0, 6, "egocentric", max_episode_steps=400, seed=2, task_sampler=regions)
    oracle = StitchOracle(regions, epsilon=0.5, seed=0)
    obs, _ = env.reset()
    oracle.attach(env)
    tasks, ended = list(env.tasks), 0
    while ended < 40:
        for i, task in enumerate(tasks):
            assert regions.allowed(task)[tuple(env.agents[i])]
        obs, _, terminated, truncated, _ = env.step(oracle.act(obs))
        assert not truncated.any()
        for i in np.flatnonzero(terminated):
            tasks[i] = env.tasks[i]
            ended += 1


def test_the_unconfined_oracle_moves_cells_on_pinned_pairs():
    tasks = [StitchTask(2, (1, 1), (13, 13)), StitchTask(9, (7, 7), (1, 13))]
    env = StitchMazeVecEnv.pinned(tasks, obs_mode="egocentric", max_episode_steps=60)
    oracle = StitchOracle(epsilon=0.0, seed=0)
    assert oracle.move == "cell"
    obs, _ = env.reset()
    oracle.attach(env)
    lengths = {}
    for _ in range(60):
        obs, _, terminated, _, info = env.step(oracle.act(obs))
        for i in np.flatnonzero(terminated):
            lengths.setdefault(int(i), int(info["episode_length"][i]))
    assert lengths == {i: len(shortest_path(t.level, t.start, t.goal, "cell")) for i, t in enumerate(tasks)}
