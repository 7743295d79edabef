"""Playing jobs in a world (`rlgen.worlds.play`): the records evaluation writes, the returns
checkpoint selection compares, and the job lists of a level split (`rlgen.worlds.base.level_jobs`)."""

import pytest
from fixed_action import FixedAction

from rlgen.core.levels import LevelSplit
from rlgen.worlds import ProcgenWorld, level_jobs
from rlgen.worlds.play import play_world_jobs, validation_scorer


def test_jobs_cover_each_level_k_times_and_splits_stay_apart():
    split = LevelSplit.with_diversity(10)
    jobs = level_jobs(split, ("train", "validation", "test"), levels_per_split=4, episodes_per_level=3)
    assert len(jobs) == 3 * 4 * 3
    for name in ("train", "validation", "test"):
        levels = {j.level for j in jobs if j.split == name}
        assert len(levels) == 4 and all(level in split[name] for level in levels)


def test_play_records_each_job_once_in_order():
    split = LevelSplit.with_diversity(10)
    jobs = level_jobs(split, ("train", "test"), levels_per_split=5, episodes_per_level=2)
    policy = FixedAction()
    coinrun = ProcgenWorld("coinrun", "easy")
    records = play_world_jobs(policy, coinrun, jobs, num_envs=4, seed=0)
    assert [(r["split"], r["level_seed"], r["episode"]) for r in records] == [(j.split, j.level, j.repeat) for j in jobs]
    assert policy.resets == 4 + len(jobs)  # every slot at the start, then each finished episode
    for r in records:
        assert r["success"] == (r["return"] == 10.0)
        assert r["normalized_return"] == pytest.approx((r["return"] - 5.0) / 5.0)
    # fewer environments, same results: a job's outcome does not depend on its slot
    assert play_world_jobs(FixedAction(), coinrun, jobs, num_envs=3, seed=0) == records


def test_model_selection_refuses_test_levels():
    split = LevelSplit.with_diversity(10)
    maze = ProcgenWorld("maze", "easy")
    with pytest.raises(ValueError, match="validation"):
        validation_scorer(maze, level_jobs(split, ("test",), 2, 1))
    score = validation_scorer(maze, level_jobs(split, ("validation",), 2, 1))
    returns = score(FixedAction(4))
    assert returns.shape == (2,) and not returns.any()  # one return per validation episode; a no-op never solves a maze
