"""Evaluation on pinned levels: every job played once, paired across policies, same in Ray."""

import numpy as np
import pytest

from rlgen.core.levels import LevelSplit
from rlgen.evaluate import evaluate_policies, make_jobs, validation_scorer, play_jobs


class FixedAction:
    """A deterministic policy (always the same action) so results cannot depend on scheduling."""

    def __init__(self, action: int = 7) -> None:
        self.action = action
        self.resets = 0

    def act(self, observations):
        return np.full(len(observations), self.action)

    def reset(self, env_indices):
        self.resets += len(env_indices)


def test_jobs_cover_each_level_k_times_and_splits_stay_apart():
    split = LevelSplit.with_diversity(10)
    jobs = make_jobs(split, ("train", "validation", "test"), levels_per_split=4, episodes_per_level=3)
    assert len(jobs) == 3 * 4 * 3
    for name in ("train", "validation", "test"):
        levels = {j.level for j in jobs if j.split == name}
        assert len(levels) == 4 and all(level in split[name] for level in levels)


def test_play_jobs_records_each_job_once_in_order():
    split = LevelSplit.with_diversity(10)
    jobs = make_jobs(split, ("train", "test"), levels_per_split=5, episodes_per_level=2)
    policy = FixedAction()
    records = play_jobs(policy, "coinrun", "easy", jobs, num_envs=4, seed=0)
    assert [(r["split"], r["level_seed"], r["episode"]) for r in records] == [(j.split, j.level, j.repeat) for j in jobs]
    assert policy.resets == 4 + len(jobs)  # every slot at the start, then each finished episode
    for r in records:
        assert r["success"] == (r["return"] == 10.0)
        assert r["normalized_return"] == pytest.approx((r["return"] - 5.0) / 5.0)
    # fewer environments, same results: a job's outcome does not depend on its slot
    assert play_jobs(FixedAction(), "coinrun", "easy", jobs, num_envs=3, seed=0) == records


def test_model_selection_refuses_test_levels():
    split = LevelSplit.with_diversity(10)
    with pytest.raises(ValueError, match="validation"):
        validation_scorer("maze", "easy", make_jobs(split, ("test",), 2, 1))
    score = validation_scorer("maze", "easy", make_jobs(split, ("validation",), 2, 1))
    returns = score(FixedAction(4))
    assert returns.shape == (2,) and not returns.any()  # one return per validation episode; a no-op never solves a maze


def test_ray_evaluation_matches_in_process(ray_local):
    split = LevelSplit.with_diversity(10)
    jobs = make_jobs(split, ("train", "test"), levels_per_split=4, episodes_per_level=1)
    results = evaluate_policies(
        {"right": FixedAction, "left": lambda: FixedAction(1)}, "coinrun", "easy", jobs,
        num_workers=2, num_envs=3, seed=0, progress=False,
    )  # fmt: skip
    assert results["right"] == play_jobs(FixedAction(), "coinrun", "easy", jobs, num_envs=8, seed=0)
    assert results["left"] == play_jobs(FixedAction(1), "coinrun", "easy", jobs, num_envs=8, seed=0)


def test_ray_evaluation_of_a_random_policy_is_reproducible(ray_local):
    from rlgen.policies.base import RandomPolicy

    split = LevelSplit.with_diversity(10)
    jobs = make_jobs(split, ("train",), levels_per_split=6, episodes_per_level=1)
    run = lambda: evaluate_policies(  # noqa: E731
        {"a": RandomPolicy, "b": RandomPolicy}, "maze", "easy", jobs, num_workers=2, num_envs=3, seed=0, progress=False
    )
    first, second = run(), run()
    assert first == second and first["a"] == first["b"]
