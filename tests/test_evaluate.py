"""Evaluation in Ray: every job played once, paired across policies, the same as in one process
(`rlgen.worlds.play`, tested in tests/worlds/test_worlds_play.py)."""

from fixed_action import FixedAction

from rlgen.core.levels import LevelSplit
from rlgen.evaluate import evaluate_policies
from rlgen.worlds import ProcgenWorld, level_jobs
from rlgen.worlds.play import play_world_jobs


def test_ray_evaluation_matches_in_process(ray_local):
    split = LevelSplit.with_diversity(10)
    jobs = level_jobs(split, ("train", "test"), levels_per_split=4, episodes_per_level=1)
    results = evaluate_policies(
        {"right": FixedAction, "left": lambda: FixedAction(1)}, "coinrun", "easy", jobs,
        num_workers=2, num_envs=3, seed=0, progress=False,
    )  # fmt: skip
    assert results["right"] == play_world_jobs(FixedAction(), ProcgenWorld("coinrun", "easy"), jobs, num_envs=8, seed=0)
    assert results["left"] == play_world_jobs(FixedAction(1), ProcgenWorld("coinrun", "easy"), jobs, num_envs=8, seed=0)


def test_ray_evaluation_of_a_random_policy_is_reproducible(ray_local):
    from rlgen.policies.base import RandomPolicy

    split = LevelSplit.with_diversity(10)
    jobs = level_jobs(split, ("train",), levels_per_split=6, episodes_per_level=1)
    run = lambda: evaluate_policies(  # noqa: E731
        {"a": RandomPolicy, "b": RandomPolicy}, "maze", "easy", jobs, num_workers=2, num_envs=3, seed=0, progress=False
    )
    first, second = run(), run()
    assert first == second and first["a"] == first["b"]
