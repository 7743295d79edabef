"""Procgen maze as a stitching world: exact waypoints, placed tasks, the confined oracle, the audit.

Everything here steps the real Procgen maze (`ProcgenMazeStitchVecEnv`).
"""

from __future__ import annotations

import numpy as np
import pytest

from rlgen.core.config import BehaviourConfig, ConfigError
from rlgen.core.levels import LevelSet
from rlgen.stitch import StitchingLeakError, audit_cooccurrence
from rlgen.worlds.procgen_maze_stitch import make_world
from rlgen.stitch.regions import Regions
from rlgen_envs.procgen_maze import cell_pixel_box, parse_maze_state
from rlgen_envs.procgen_maze_stitch import MOVES, ProcgenMazeLayout, ProcgenMazeStitchVecEnv, level_walls, relabel_vector_goals

STRUCTURE = {"kind": "regions", "num_regions": 2, "overlap": 2}
TRAIN = range(12)


@pytest.fixture(scope="module")
def world():
    return make_world({"options": {"max_episode_steps": 80, "pairs_per_level": 3}}, {"structure": STRUCTURE})


def collect(world, num_episodes, *, epsilon=0.3, seed=0, num_envs=8, structure=True):
    """Episodes as the pipeline stores them (states before actions; the reached goal appended when terminated)."""
    env = world.training_env(LevelSet(TRAIN.start, len(TRAIN)), num_envs)
    options = {"structure": STRUCTURE, "epsilon": epsilon} if structure else {"epsilon": epsilon}
    policy = world.behaviour_policy(BehaviourConfig("stitch_oracle", options=options), seed)
    obs, info = env.reset(seed=seed)
    policy.attach(env)
    logs = [dict(waypoints=[], goals=[], actions=[]) for _ in range(num_envs)]
    tasks, episodes = list(env.tasks), []
    while len(episodes) < num_episodes:
        actions = policy.act(obs)
        for i, log in enumerate(logs):
            log["waypoints"].append(info["waypoint"][i])
            log["goals"].append(info["goal"][i])
            log["actions"].append(actions[i])
        obs, _, terminated, truncated, info = env.step(actions)
        for i in np.flatnonzero(terminated | truncated):
            ep = {k: np.array(v) for k, v in logs[i].items()}
            if terminated[i]:
                ep["waypoints"] = np.concatenate([ep["waypoints"], [[ep["waypoints"][-1, 0], *info["episode_goal"][i]]]])
            ep.update(task=tasks[i], terminated=bool(terminated[i]))
            episodes.append(ep)
            tasks[i] = env.tasks[i]
            logs[i] = dict(waypoints=[], goals=[], actions=[])
    return episodes


@pytest.fixture(scope="module")
def region_episodes(world):
    return collect(world, 150)


def test_waypoints_and_observations_are_the_parsed_state_and_moves_follow_the_grid():
    env = ProcgenMazeStitchVecEnv(6, 0, 8, "vector", max_episode_steps=30, seed=3)
    obs, info = env.reset()
    rng = np.random.default_rng(0)
    checked = ended = 0
    for _ in range(120):
        states = [parse_maze_state(s) for s in env.get_states()]
        assert np.array_equal(info["waypoint"], [s.waypoint for s in states])
        assert np.array_equal(info["goal"], [s.goal for s in states])
        assert np.array_equal(obs[:, 0:2], info["waypoint"][:, 1:]) and np.array_equal(obs[:, 2:4], info["goal"])
        for i, s in enumerate(states):
            assert np.array_equal(obs[i, 4 : 4 + 225].reshape(15, 15), ~s.free)
            assert obs[i, 4 + 225 + s.agent[0] * 15 + s.agent[1]] == 1 and obs[i, 4 + 2 * 225 + s.goal[0] * 15 + s.goal[1]] == 1
        actions = rng.integers(5, size=6)
        before = info["waypoint"].copy()
        obs, reward, terminated, truncated, info = env.step(actions)
        for i in range(6):
            level, r, c = before[i]
            target = (r + MOVES[actions[i]][0], c + MOVES[actions[i]][1])
            walls = level_walls(int(level))
            inside = 0 <= target[0] < 15 and 0 <= target[1] < 15
            expected = target if inside and not walls[target] else (r, c)
            reached = expected == tuple(info["episode_goal"][i]) if (terminated[i] or truncated[i]) else False
            assert bool(terminated[i]) == reached and reward[i] == float(reached)
            if not (terminated[i] or truncated[i]):
                assert tuple(info["waypoint"][i, 1:]) == expected and info["waypoint"][i, 0] == level
                checked += 1
            else:
                ended += 1
                assert info["episode_level_seed"][i] == level
                assert terminated[i] or info["episode_length"][i] == 30
    assert checked > 500 and ended > 5


def test_image_frames_show_the_parsed_mouse_and_augmentation_refuses_them():
    env = ProcgenMazeStitchVecEnv(1, 4, 1, "image", max_episode_steps=100, seed=0)
    frame, info = env.reset()
    rng = np.random.default_rng(1)
    moved = 0
    for _ in range(60):
        before = parse_maze_state(env.get_states()[0])
        frame = frame[0]
        nxt, _, terminated, truncated, info = env.step(rng.integers(1, 5, size=1))
        if terminated[0] or truncated[0]:
            frame = nxt
            continue
        after = parse_maze_state(env.get_states()[0])
        assert tuple(info["waypoint"][0, 1:]) == after.agent
        changed = np.argwhere((nxt[0] != frame).any(-1))
        if after.agent != before.agent:
            moved += 1
            boxes = [cell_pixel_box(after, before.agent), cell_pixel_box(after, after.agent)]
            assert len(changed) and all(any(t <= r < b and lo <= c < hi for t, b, lo, hi in boxes) for r, c in changed)
        frame = nxt
    assert moved >= 5
    image_world = make_world({"options": {"obs_mode": "image"}}, {"structure": STRUCTURE})
    with pytest.raises(ConfigError, match="cannot relabel goals exactly"):
        image_world.goal_renderer()


def test_placed_tasks_are_solved_by_the_unconfined_oracle_along_shortest_paths(world):
    from rlgen.core.levels import LevelSplit

    split = LevelSplit(LevelSet(0, 12), LevelSet(1_000_000, 10), LevelSet(2_000_000, 10))
    jobs = world.jobs(split, ("train", "test"), 6, 1)
    assert {j.kind for j in jobs} == {"stitch", "ordinary"} and {j.split for j in jobs} == {"train", "test"}
    env = world.pinned_env(jobs, [0] * len(jobs))
    obs, info = env.reset()
    assert np.array_equal(info["waypoint"][:, 1:], [j.start for j in jobs])
    assert np.array_equal(info["goal"], [j.goal for j in jobs])
    policy = world.reference_behaviour(BehaviourConfig("stitch_oracle", options={"structure": STRUCTURE}), 0)
    policy.attach(env)
    distance = np.array([world.structure.distances(j.level, j.start)[j.goal] for j in jobs])
    assert (distance > 0).all()
    done_at = np.zeros(len(jobs), dtype=np.int64)
    for t in range(1, 80):
        obs, _, terminated, truncated, _ = env.step(policy.act(obs))
        assert not truncated.any()
        done_at[(done_at == 0) & terminated] = t
        if (done_at > 0).all():
            break
    assert np.array_equal(done_at, distance)
    job = jobs[-1]
    first = env.repin(0, job.task)
    assert tuple(first[0:2]) == job.start and tuple(first[2:4]) == job.goal and tuple(env.agents[0]) == job.start


def test_regions_are_per_level_on_the_parsed_grids(world):
    sides = set()
    for level in TRAIN:
        walls = world.layout(level)
        free = ~walls
        rows = np.flatnonzero(free.any(axis=1))
        sides.add(int(rows.max() - rows.min() + 1))
        masks = world.structure.masks(level)
        assert masks.shape == (2, *walls.shape)
        assert np.array_equal(masks.any(axis=0), free)  # the regions cover the level's free cells
        assert not (masks & walls).any()
    assert len(sides) >= 3  # Procgen's maze sizes differ per level
    assert Regions(2, 2).masks(1).shape == (2, 15, 15)  # the grid maze's level 1, for contrast
    assert not np.array_equal(Regions(2, 2, ProcgenMazeLayout()).masks(1), Regions(2, 2).masks(1))


def test_the_confined_oracle_never_leaves_its_region(world, region_episodes):
    assert sum(e["terminated"] for e in region_episodes) >= 0.9 * len(region_episodes)
    # Procgen mazes are trees, so a shortest path between two cells of a region stays in it
    # anyway; mostly random (confined) moves are what would wander out of an unconfined region.
    wandering = collect(world, 60, epsilon=0.9, seed=1)
    assert sum(len(e["actions"]) for e in wandering) > 1500
    for ep in region_episodes + wandering:
        task = ep["task"]
        mask = world.structure.masks(task.level)[task.region]
        assert (ep["waypoints"][:, 0] == task.level).all()
        assert mask[ep["waypoints"][:, 1], ep["waypoints"][:, 2]].all()
        assert tuple(ep["waypoints"][0, 1:]) == task.start and tuple(ep["goals"][0]) == task.goal


def test_the_audit_passes_region_data_and_catches_a_planted_real_trajectory(world, region_episodes):
    from rlgen.core.levels import LevelSplit

    split = LevelSplit(LevelSet(0, 12), LevelSet(1_000_000, 10), LevelSet(2_000_000, 10))
    stitch = world.pairs(split, ("train",), None, kinds=("stitch",))
    assert len(stitch) >= 20
    summary = audit_cooccurrence(region_episodes, stitch).summary()  # raises on a co-occurrence
    assert summary["pairs_cooccurring"] == 0 and summary["pairs_start_and_goal_seen"] > 0
    # Plant one real trajectory: the unconfined oracle playing a stitching pair in the real game.
    victim = stitch[5]
    env = world.pinned_env([victim], [0])
    obs, info = env.reset()
    policy = world.reference_behaviour(BehaviourConfig("stitch_oracle", options={"structure": STRUCTURE}), 0)
    policy.attach(env)
    waypoints = [info["waypoint"][0]]
    for _ in range(80):
        obs, _, terminated, _, info = env.step(policy.act(obs))
        if terminated[0]:
            waypoints.append([victim.level, *info["episode_goal"][0]])
            break
        waypoints.append(info["waypoint"][0])
    planted = {"waypoints": np.array(waypoints), "actions": np.zeros(len(waypoints) - 1)}
    assert tuple(planted["waypoints"][-1, 1:]) == victim.goal
    with pytest.raises(StitchingLeakError, match=f"1 of {len(stitch)} test pairs.*level {victim.level}"):
        audit_cooccurrence([*region_episodes[:70], planted, *region_episodes[70:]], stitch)


def test_vector_goal_relabelling_is_exact(region_episodes):
    env = ProcgenMazeStitchVecEnv(4, 0, 6, "vector", seed=2)
    obs, info = env.reset()
    new_goals = np.array([[1, 1], [2, 3], [0, 0], [14, 14]])
    relabelled = relabel_vector_goals(obs, new_goals)
    assert np.array_equal(relabelled[:, 2:4], new_goals) and np.array_equal(relabelled[:, :2], obs[:, :2])
    assert np.array_equal(relabel_vector_goals(relabelled, info["goal"]), obs)


def test_egocentric_view_and_its_goal_redraw_are_exact():
    from rlgen.stitch.augment import stitch_maze_goal_renderer
    from rlgen_envs.stitch_maze import egocentric_observation, egocentric_size

    env = ProcgenMazeStitchVecEnv(4, 0, 6, "egocentric", seed=2)
    obs, info = env.reset()
    size = env.size
    assert obs.shape == (4, egocentric_size(size)) and obs.dtype == np.uint8
    walls = np.stack([level_walls(int(level)) for level in info["waypoint"][:, 0]])
    assert np.array_equal(obs, egocentric_observation(info["waypoint"][:, 1:], info["goal"], walls))
    render = stitch_maze_goal_renderer("egocentric")
    new_goals = np.flip(info["goal"], axis=0)
    assert np.array_equal(
        render(obs, info["waypoint"], info["goal"], new_goals), egocentric_observation(info["waypoint"][:, 1:], new_goals, walls)
    )


def test_world_round_trips_through_its_manifest_and_checks_behaviour(world):
    from rlgen.worlds import world_of_manifest

    again = world_of_manifest(world.manifest_env)
    assert type(again) is type(world) and again.options == world.options and again.structure == world.structure
    assert again.structure.layout == world.layout
    with pytest.raises(ConfigError, match="cannot act"):
        world.check_behaviour(BehaviourConfig("maze_planner"))
    with pytest.raises(ConfigError, match="epsilon"):
        world.check_behaviour(BehaviourConfig("stitch_oracle", epsilon=0.1, options={"structure": STRUCTURE}))
    with pytest.raises(ConfigError, match="needs collect.policy.options.structure"):
        make_world({"options": {}}, {})
    from rlgen.worlds import stitching_kinds

    game = world.task_columns(world.jobs(*_split_args())[0])["game"]
    assert game == world.kind and game in stitching_kinds()  # the report's stitching table takes its records


def _split_args():
    from rlgen.core.levels import LevelSplit

    return LevelSplit(LevelSet(0, 4), LevelSet(1_000_000, 4), LevelSet(2_000_000, 4)), ("train",), 2, 1
