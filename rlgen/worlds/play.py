"""Play a fixed list of jobs in a world, in this process: the records evaluation writes and the
returns model selection compares.

Why here, below the stages: evaluation (`rlgen.evaluate`, in Ray actors) and training's
checkpoint selection (`rlgen.train`, through `validation_scorer`) play the same jobs the same
way, and training must not depend on the evaluation stage (../shared/DESIGN.md, "Which way
imports flow"). Every job is seeded from (seed, level, repeat), so every policy plays exactly
the same episodes and comparisons are paired.
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from rlgen.policies.base import Policy
from rlgen.policies.rollout import play_pinned
from rlgen.worlds.base import World

__all__ = ["job_seed", "play_world_jobs", "validation_scorer"]


def job_seed(seed: int, job) -> int:
    """The environment seed of `job` (a `level` and a `repeat`) under the run's `seed`."""
    return int(np.random.SeedSequence([seed, job.level, job.repeat]).generate_state(1)[0] % (2**31 - 1))


def play_world_jobs(policy: Policy, world: World, jobs: Sequence, num_envs: int = 32, seed: int = 0) -> list[dict]:
    """Play every job once with `policy` in `world`, in this process; one record per job, in job order."""
    if not jobs:
        return []
    seeds = [job_seed(seed, j) for j in jobs]
    slots = min(num_envs, len(jobs))
    env = world.pinned_env(jobs[:slots], seeds[:slots])
    try:
        outcomes = play_pinned(policy, env, jobs, seeds, world.repin)
    finally:
        env.close()
    records = []
    for job, outcome in zip(jobs, outcomes):
        if outcome.level_seed != job.level:
            raise RuntimeError(f"a slot played level {outcome.level_seed} for a job on level {job.level}")
        records.append({
            "split": job.split,
            "level_seed": job.level,
            "episode": job.repeat,
            "return": outcome.episode_return,
            "normalized_return": float(world.score(outcome.episode_return)),
            "length": outcome.length,
            "success": outcome.success,
            **world.task_columns(job),
        })  # fmt: skip
    return records


def validation_scorer(world: World, jobs: Sequence, num_envs: int = 32, seed: int = 0) -> Callable[[Policy], np.ndarray]:
    """A `validate(policy) -> (E,) per-episode returns` for checkpoint selection (give it
    validation jobs only); every call plays the same jobs with the same environment seeds, so
    checkpoints compare paired (`rlgen.learn.selection`). The return is the world's own (the
    stitching maze's is 1 for a reached goal, else 0)."""
    if any(job.split != "validation" for job in jobs):
        raise ValueError("model selection may only look at validation levels")

    def returns(policy: Policy) -> np.ndarray:
        return np.array([r["return"] for r in play_world_jobs(policy, world, jobs, num_envs, seed)], dtype=np.float64)

    return returns
