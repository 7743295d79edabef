"""Temporal augmentation: goals never from before the waypoint, valid spliced sequences, determinism."""

import numpy as np
import pytest

from rlgen.stitch import (
    EvalPair, Regions, audit_cooccurrence, goal_pair_counts, join_reachable, make_eval_pairs, match_waypoints, relabel_goals,
    splice_episodes, spliced_windows, stitch_maze_goal_renderer,
)
from rlgen.stitch.augment import hindsight_episodes
from rlgen_envs import StitchMazeEnv
from rlgen_envs.stitch_maze import MOVES


def test_relabelled_goals_come_after_a_matching_waypoint(region_episodes):
    episodes = region_episodes[:200]
    labels, match = match_waypoints(episodes, "exact")
    out, params = relabel_goals(episodes, labels, eps=0.5, seed=0)
    assert 0.4 < params["relabelled_steps"] / params["steps"] < 0.6 and match["method"] == "exact"
    for i, ep in enumerate(out):
        for t in np.flatnonzero(ep["relabelled"]):
            b, u = ep["match_source"][t]
            gb, gu = ep["goal_source"][t]
            assert gb == b and gu >= u  # the goal is B's state at or after the matching point
            assert labels[b][u] in labels[i][t:]  # B's matching waypoint lies ahead of s_t in A
            assert tuple(ep["goals"][t]) == tuple(episodes[b]["waypoints"][gu][1:])
        kept = ~ep["relabelled"]
        assert np.array_equal(ep["goals"][kept], episodes[i]["goals"][kept])
    again, _ = relabel_goals(episodes, labels, eps=0.5, seed=0)
    assert all(np.array_equal(x["goals"], y["goals"]) for x, y in zip(out, again))


def test_spliced_episodes_are_valid_sequences(region_episodes):
    episodes = region_episodes
    labels, _ = match_waypoints(episodes, "exact")
    spliced, params = splice_episodes(episodes, labels, num_splices=100, seed=0)
    assert params["num_splices"] == 100
    for ep in spliced:
        w = ep["waypoints"]
        assert (w[:, 0] == w[0, 0]).all()
        steps = np.abs(np.diff(w[:, 1:], axis=0)).sum(axis=1)
        assert (steps <= 1).all()  # every consecutive pair is one move (or a stay), splice included
        s = ep["splice"]
        a, t = ep["source"][s - 1]
        b, u = ep["source"][s]
        assert a != b and np.array_equal(episodes[a]["waypoints"][t + 1], episodes[b]["waypoints"][u])
        assert (ep["goals"] == episodes[b]["goals"][u]).all() and ep["rewards"][:s].sum() == 0
        assert len(ep["actions"]) == len(w) == len(ep["observations"])
    windows = spliced_windows(spliced, context=8, seed=0)
    for win in windows:
        assert 1 <= win["splice"] < len(win["actions"]) <= 8
        assert len(set(win["source"][:, 0].tolist())) == 2


@pytest.mark.parametrize("obs_mode", ["image", "vector", "egocentric"])
def test_rendered_goals_match_the_env(obs_mode, collect_stitch):
    episodes = collect_stitch(Regions(4, 1), 30, obs_mode=obs_mode, seed=5)
    labels, _ = match_waypoints(episodes, "exact")
    render = stitch_maze_goal_renderer(obs_mode)
    spliced, _ = splice_episodes(episodes, labels, num_splices=10, seed=1, render=render)
    relabelled, _ = relabel_goals(episodes, labels, eps=1.0, seed=1, render=render)
    joined, _ = join_reachable(episodes, 300, seed=1, render=render)
    hindsight, _ = hindsight_episodes(episodes, 300, seed=1, render=render)
    env = StitchMazeEnv(obs_mode)
    for ep in spliced + relabelled[:10] + joined + hindsight:
        for obs, w, g in zip(ep["observations"], ep["waypoints"], ep["goals"]):
            if tuple(w[1:]) == tuple(g):
                continue  # the env never shows the agent on its goal
            expected, _ = env.reset(options={"level": int(w[0]), "start": tuple(w[1:]), "goal": tuple(g)})
            assert np.array_equal(obs, expected)


def test_kmeans_matching_is_normalized_per_level_and_seeded(region_episodes):
    episodes = region_episodes[:150]
    labels, params = match_waypoints(episodes, "kmeans", feature="waypoints", num_clusters=6, seed=0)
    assert params["normalize"] == "zscore" and params["num_clusters"] == 6 and params["per_level"]
    flat_labels = np.concatenate(labels)
    flat_levels = np.concatenate([e["waypoints"][:, 0] for e in episodes])
    for label in np.unique(flat_labels):
        assert len(np.unique(flat_levels[flat_labels == label])) == 1  # clusters never span levels
    assert all(len(np.unique(flat_labels[flat_levels == lv])) <= 6 for lv in np.unique(flat_levels))
    again, _ = match_waypoints(episodes, "kmeans", feature="waypoints", num_clusters=6, seed=0)
    assert all(np.array_equal(x, y) for x, y in zip(labels, again))
    # coarse clusters join more trajectories than exact keys: more test pairs become reachable
    pairs = [p for p in make_eval_pairs(Regions(4, 1), {"train": range(6)}, 20, seed=0) if p.kind == "stitch"]
    exact, _ = match_waypoints(episodes, "exact")
    for e, lab_exact, lab_km in zip(episodes, exact, labels):
        e["exact"], e["km"] = lab_exact, lab_km
    by_exact = audit_cooccurrence(episodes, pairs, labels_key="exact").summary()["pairs_reachable_by_one_splice"]
    by_km = audit_cooccurrence(episodes, pairs, labels_key="km").summary()["pairs_reachable_by_one_splice"]
    assert by_km >= by_exact


def test_augmented_data_holds_test_pairs_the_raw_data_never_shows(region_episodes):
    # A goes a -> w, B goes w -> g: (a, g) is never seen together, one splice joins them
    a, w, g = (1, 1), (1, 2), (1, 3)
    pair = EvalPair("train", "stitch", 0, a, g)
    two = [
        {"waypoints": np.array([(0, *a), (0, *w)]), "goals": np.array([w, w]), "actions": np.zeros(2)},
        {"waypoints": np.array([(0, *w), (0, *g)]), "goals": np.array([g, g]), "actions": np.zeros(2)},
    ]
    assert audit_cooccurrence(two, [pair]).reachable_by_one_splice.all()
    assert goal_pair_counts(two, [pair]).sum() == 0
    labels, _ = match_waypoints(two, "exact")
    counts = sum(goal_pair_counts(relabel_goals(two, labels, eps=1.0, seed=s)[0], [pair]) for s in range(30))
    assert counts[0] > 0
    # on real data, relabelling covers only pairs the audit calls reachable by one splice
    pairs = [p for p in make_eval_pairs(Regions(4, 1), {"train": range(6)}, 40, seed=0) if p.kind == "stitch"]
    report = audit_cooccurrence(region_episodes, pairs)
    labels, _ = match_waypoints(region_episodes, "exact")
    covered = np.zeros(len(pairs), dtype=bool)
    for seed in range(3):
        covered |= goal_pair_counts(relabel_goals(region_episodes, labels, eps=1.0, seed=seed)[0], pairs) > 0
    assert not (covered & ~report.reachable_by_one_splice).any()


def _check_joined_paths(episodes, joined):
    """Every step of a joined episode is a recorded transition, consecutive steps meet at the same
    block, the goal is a state after the first join, and the episode ends on reaching it."""
    from rlgen.stitch.augment import _positions

    positions = [_positions(e) for e in episodes]
    for ep in joined:
        src, w, goal = ep["source"], ep["waypoints"], ep["goals"][0]
        for k, (e, t) in enumerate(src):
            assert np.array_equal(w[k], positions[e][t]) and ep["actions"][k] == episodes[e]["actions"][t]
            after = positions[e][t + 1]
            if k + 1 < len(src):
                assert np.array_equal(after, w[k + 1])  # the next step starts where this one led
            else:
                assert tuple(after[1:]) == tuple(goal)  # the last action reaches the goal
        assert not (w[:, 1:] == goal).all(axis=1).any() and ep["rewards"].sum() == 1
        assert len(np.unique(w, axis=0)) == len(w)  # no block visited twice


@pytest.mark.parametrize("max_joins", [1, 4])
def test_chained_joins_with_loops_cut_are_recorded_paths(region_episodes, max_joins):
    from rlgen.stitch import join_episodes

    labels, _ = match_waypoints(region_episodes, "exact")
    joined, params = join_episodes(region_episodes, labels, 2000, seed=0, max_joins=max_joins, erase_loops=True)
    assert params["transitions"] >= 2000 and params["max_joins"] == max_joins
    _check_joined_paths(region_episodes, joined)
    if max_joins > 1:
        assert params["joins"] > params["episodes"]  # some episodes chain more than one join


def test_reachable_goals_cross_regions_more_than_one_join(collect_stitch):
    from rlgen.stitch import join_episodes, join_reachable

    structure = Regions(2, 2)
    episodes = collect_stitch(structure, 300, seed=3)
    joined, params = join_reachable(episodes, 3000, seed=0)
    _check_joined_paths(episodes, joined)
    labels, _ = match_waypoints(episodes, "exact")
    single, _ = join_episodes(episodes, labels, 3000, seed=0)

    def separated(eps):
        return sum(structure.separated(int(w[0]), tuple(w[1:]), tuple(g)) for e in eps for w, g in zip(e["waypoints"], e["goals"]))

    assert separated(joined) > 5 * max(separated(single), 1)


def test_hindsight_goals_are_later_states_of_the_same_trajectory(collect_stitch):
    episodes = collect_stitch(Regions(2, 2), 60, seed=3, epsilon=0.3)
    out, params = hindsight_episodes(episodes, 500, seed=2, render=stitch_maze_goal_renderer("vector"))
    assert params["transitions"] == sum(len(e["actions"]) for e in out) >= 500
    for ep in out:
        i = int(ep["source"][0, 0])
        steps = ep["source"][:, 1]
        assert (ep["source"][:, 0] == i).all() and (np.diff(steps) > 0).all()  # one trajectory, forward in time
        states = episodes[i]["waypoints"][:, 1:].tolist()
        if episodes[i]["terminated"]:
            states.append(episodes[i]["goals"][-1].tolist())
        goal = ep["goals"][0].tolist()
        assert (ep["goals"] == goal).all() and goal in states[steps[0] + 1 :]  # a later state of that trajectory
        assert np.array_equal(ep["actions"], episodes[i]["actions"][steps]) and np.array_equal(ep["waypoints"], episodes[i]["waypoints"][steps])
        keys = [tuple(w) for w in ep["waypoints"][:, 1:]]
        assert len(set(keys)) == len(keys) and goal not in [list(k) for k in keys]  # loops cut, the goal reached last
        assert ep["rewards"][-1] == 1 and ep["rewards"][:-1].sum() == 0 and ep["terminated"]
        last = ep["waypoints"][-1, 1:] + 2 * np.array(MOVES)[ep["actions"][-1]]  # Regions(2, 2): cell moves
        assert last.tolist() == goal  # the last recorded action reaches the goal
