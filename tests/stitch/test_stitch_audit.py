"""Test pairs are never seen together in region-restricted data; the audit proves it and catches leaks."""

import numpy as np
import pytest

from rlgen.stitch import EvalPair, Hops, Regions, StitchingLeakError, audit_cooccurrence, make_eval_pairs

LEVELS = {"train": range(6), "test": range(2_000_000, 2_000_004)}


def test_pairs_are_deterministic_distinct_and_on_both_level_sets():
    pairs = make_eval_pairs(Regions(4, 1), LEVELS, pairs_per_level=8, seed=0)
    assert pairs == make_eval_pairs(Regions(4, 1), LEVELS, pairs_per_level=8, seed=0)
    assert pairs != make_eval_pairs(Regions(4, 1), LEVELS, pairs_per_level=8, seed=1)
    assert {p.split for p in pairs} == {"train", "test"} and {p.kind for p in pairs} == {"stitch", "ordinary"}
    for level in [0, 2_000_003]:
        stitch = [(p.start, p.goal) for p in pairs if p.level == level and p.kind == "stitch"]
        assert len(stitch) == 8 == len(set(stitch))
    stitch_d = np.mean([p.distance for p in pairs if p.kind == "stitch"])
    ordinary_d = np.mean([p.distance for p in pairs if p.kind == "ordinary"])
    assert stitch_d > ordinary_d  # stitching pairs are the long ones


@pytest.mark.parametrize("structure, fixture", [(Regions(4, 1), "region_episodes"), (Hops(8), "hop_episodes")])
def test_restricted_data_never_holds_a_test_pair(structure, fixture, request):
    episodes = request.getfixturevalue(fixture)
    pairs = make_eval_pairs(structure, LEVELS, pairs_per_level=20, seed=0)
    stitch = [p for p in pairs if p.kind == "stitch"]
    report = audit_cooccurrence(iter(episodes), stitch)  # raises on any co-occurrence
    summary = report.summary()
    assert summary["pairs_cooccurring"] == 0 and summary["episodes"] == len(episodes)
    assert summary["pairs_start_and_goal_seen"] > 0  # both ends are in the data, just never together
    # ordinary pairs are the behaviour's own tasks: the same data does show many of them
    ordinary = [p for p in pairs if p.kind == "ordinary" and p.split == "train"]
    assert audit_cooccurrence(episodes, ordinary, strict=False).summary()["pairs_cooccurring"] > 0


def test_a_planted_cooccurrence_is_caught(region_episodes):
    pairs = [p for p in make_eval_pairs(Regions(4, 1), LEVELS, 10, seed=0) if p.kind == "stitch" and p.split == "train"]
    victim = pairs[7]
    planted = {"waypoints": np.array([(victim.level, *victim.start), (victim.level, *victim.goal)]), "actions": np.zeros(2)}
    with pytest.raises(StitchingLeakError, match=f"1 of {len(pairs)} test pairs.*level {victim.level}"):
        audit_cooccurrence([*region_episodes[:50], planted, *region_episodes[50:]], pairs)
    report = audit_cooccurrence([planted, planted], pairs, strict=False)
    assert report.cooccurrences[7] == 2 and report.ordered[7] == 2 and report.leaking == (7,)
    backwards = {"waypoints": planted["waypoints"][::-1], "actions": np.zeros(2)}
    report = audit_cooccurrence([backwards], pairs, strict=False)
    assert report.cooccurrences[7] == 1 and report.ordered[7] == 0  # either order counts as a leak


def test_coverage_after_augmentation_is_one_splice_reachability():
    level = 0
    a, w, g, s = (1, 1), (1, 2), (1, 3), (1, 4)
    pair = EvalPair("train", "stitch", level, a, g)
    first = {"waypoints": np.array([(level, *a), (level, *w)]), "actions": np.zeros(2)}
    second = {"waypoints": np.array([(level, *w), (level, *g)]), "actions": np.zeros(2)}
    wrong_order = {"waypoints": np.array([(level, *g), (level, *w)]), "actions": np.zeros(2)}
    assert audit_cooccurrence([first, second], [pair]).reachable_by_one_splice.tolist() == [True]
    assert audit_cooccurrence([first, wrong_order], [pair]).reachable_by_one_splice.tolist() == [False]
    assert audit_cooccurrence([first], [EvalPair("train", "stitch", level, a, s)]).start_seen.tolist() == [True]
