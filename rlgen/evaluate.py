"""Evaluation: play a policy on named, disjoint level sets, each level a fixed number of times.

Every (split, level, repeat) is one job, seeded from (seed, level, repeat), so every policy
plays exactly the same episodes' levels and the comparison between algorithms is paired. A
`ProcgenVecEnv.pinned` environment gives each slot one job; a slot whose episode ends moves to
the next job while the others play on, and the policy acts on all slots in one batched call.

Per-episode records (split, level seed, return, normalized return, length, success) are what
reports are built from. Ray spreads the jobs over actors, each of which builds the policy
from a picklable factory (a checkpoint path for trained learners, a config for behaviour
policies) and plays its share.
"""

from __future__ import annotations

import csv
import functools
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np

from rlgen.core.games import normalize_returns
from rlgen.core.levels import LevelSplit
from rlgen.data.atomic import atomic_writer
from rlgen.policies.base import Policy, call_if_present

PolicyFactory = Callable[[], Policy]

RECORD_FIELDS = ("split", "level_seed", "episode", "return", "normalized_return", "length", "success")


@dataclass(frozen=True)
class EpisodeJob:
    """Play `level` once, as repeat number `repeat`, and report it under `split`."""

    split: str
    level: int
    repeat: int


def make_jobs(split: LevelSplit, splits: Sequence[str], levels_per_split: int | None, episodes_per_level: int) -> list[EpisodeJob]:
    """The same job list for every policy: the first `levels_per_split` levels of each split."""
    jobs = []
    for name in splits:
        levels = split[name] if levels_per_split is None else split[name].first(levels_per_split)
        jobs.extend(EpisodeJob(name, level, k) for level in levels.seeds for k in range(episodes_per_level))
    return jobs


def _job_seed(seed: int, job: EpisodeJob) -> int:
    return int(np.random.SeedSequence([seed, job.level, job.repeat]).generate_state(1)[0] % (2**31 - 1))


def play_jobs(
    policy: Policy, game: str, mode: str, jobs: Sequence[EpisodeJob], num_envs: int = 32, seed: int = 0
) -> list[dict]:
    """Play every job once with `policy` in this process; one record per job, in job order."""
    from rlgen_envs import ProcgenVecEnv

    if not jobs:
        return []
    slots = min(num_envs, len(jobs))
    env = ProcgenVecEnv.pinned(game, [j.level for j in jobs[:slots]], mode, seeds=[_job_seed(seed, j) for j in jobs[:slots]])
    obs, _ = env.reset()
    call_if_present(policy, "attach", env)
    call_if_present(policy, "reset", np.arange(slots))
    slot_job = list(range(slots))
    next_job = slots
    active = np.ones(slots, dtype=bool)
    returns = np.zeros(slots, dtype=np.float64)
    results: dict[int, dict] = {}
    while active.any():
        obs, rewards, terminated, truncated, info = env.step(np.asarray(policy.act(obs)))
        call_if_present(policy, "observe", rewards)
        returns += rewards
        ended = np.flatnonzero((terminated | truncated) & active)
        for i in ended:
            job = jobs[slot_job[i]]
            if info["episode_level_seed"][i] != job.level:
                raise RuntimeError(f"slot {i} played level {info['episode_level_seed'][i]}, expected {job.level}")
            results[slot_job[i]] = {
                "split": job.split,
                "level_seed": job.level,
                "episode": job.repeat,
                "return": float(returns[i]),
                "normalized_return": float(normalize_returns(returns[i], game, mode)),
                "length": int(info["episode_length"][i]),
                "success": bool(info["level_complete"][i]),
            }
            returns[i] = 0.0
            if next_job < len(jobs):
                obs[i] = env.repin(i, jobs[next_job].level, _job_seed(seed, jobs[next_job]))
                slot_job[i] = next_job
                next_job += 1
            else:
                active[i] = False
        if len(ended):
            call_if_present(policy, "reset", ended)
    env.close()
    return [results[k] for k in range(len(jobs))]


def mean_return_scorer(game: str, mode: str, jobs: Sequence[EpisodeJob], num_envs: int = 32, seed: int = 0) -> Callable[[Policy], float]:
    """A `validate(policy) -> mean return` for model selection (give it validation jobs only)."""
    if any(job.split != "validation" for job in jobs):
        raise ValueError("model selection may only look at validation levels")

    def score(policy: Policy) -> float:
        return float(np.mean([r["return"] for r in play_jobs(policy, game, mode, jobs, num_envs, seed)]))

    return score


class PolicyEvaluator:
    """A Ray actor that plays shares of jobs; one process serves many (policy, share) items.

    The policy is built afresh for every share, so a share's results depend only on the share
    (a random policy's draws do not carry over from whichever share the actor played before).
    """

    def play(self, factory: PolicyFactory, game: str, mode: str, jobs: list[EpisodeJob], num_envs: int, seed: int) -> list[dict]:
        return play_jobs(factory(), game, mode, jobs, num_envs, seed)


def evaluate_policies(
    factories: dict[str, PolicyFactory],
    game: str,
    mode: str,
    jobs: Sequence[EpisodeJob],
    *,
    num_workers: int = 2,
    num_envs: int = 32,
    seed: int = 0,
    progress: bool = True,
) -> dict[str, list[dict]]:
    """Play `jobs` with each policy, spread over Ray actors; records per policy, in job order.

    Ray must be running (see `rlgen.ray_session`). Each policy's jobs are dealt round-robin to
    the workers so each gets a mix of splits; all (policy, share) items queue on one actor pool.
    """
    import ray
    from tqdm.auto import tqdm

    workers = max(1, min(num_workers, len(jobs)))
    shares = [list(range(w, len(jobs), workers)) for w in range(workers)]
    items = [(key, share) for key in factories for share in shares if share]
    actor_cls = ray.remote(num_cpus=1)(PolicyEvaluator)
    actors = [actor_cls.remote() for _ in range(min(workers, len(items)))]
    results: dict[str, dict[int, dict]] = {key: {} for key in factories}
    pending = {}

    def submit(actor) -> None:
        key, share = items.pop(0)
        ref = actor.play.remote(factories[key], game, mode, [jobs[i] for i in share], num_envs, seed)
        pending[ref] = (actor, key, share)

    for actor in actors:
        if items:
            submit(actor)
    with tqdm(total=len(jobs) * len(factories), unit="episodes", desc="evaluate", disable=not progress) as bar:
        try:
            while pending:
                ready, _ = ray.wait(list(pending), num_returns=1)
                actor, key, share = pending.pop(ready[0])
                for index, record in zip(share, ray.get(ready[0])):
                    results[key][index] = record
                bar.update(len(share))
                if items:
                    submit(actor)
        finally:
            for actor in actors:
                ray.kill(actor)
    return {key: [recs[i] for i in range(len(jobs))] for key, recs in results.items()}


def write_records(path: Path, records: Iterable[dict], extra: dict) -> None:
    """Write per-episode records as CSV, each row prefixed with `extra` (policy, seed, dataset...)."""
    rows = [{**extra, **r} for r in records]
    fields = list(extra) + list(RECORD_FIELDS)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_writer(path) as f:
        f.write(buf.getvalue().encode())


def behaviour_factory(config, game: str, seed: int) -> PolicyFactory:
    from rlgen.policies.registry import make_behaviour_policy

    return functools.partial(make_behaviour_policy, config, game, seed)
