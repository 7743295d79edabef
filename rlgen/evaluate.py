"""Evaluation: play a policy on named, disjoint level sets, each level a fixed number of times.

Every (split, level, repeat) is one job, seeded from (seed, level, repeat)
(`rlgen.worlds.play`, which checkpoint selection uses too), so every policy plays exactly the
same episodes' levels and the comparison between algorithms is paired. A
pinned environment (`ProcgenVecEnv.pinned`, or the world's own, see `rlgen.worlds`) gives each
slot one job; a slot whose episode ends moves to the next job while the others play on, and the
policy acts on all slots in one batched call. Which environment, which jobs (the stitching
maze's are (start, goal) pairs) and how a return is scored come from the world; the loop is
the same for every one.

Per-episode records (split, level seed, return, normalized return, length, success) are what
reports are built from. Ray spreads the jobs over actors, each of which builds the policy
from a picklable factory (a checkpoint path for trained learners, a config for behaviour
policies) and plays its share.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Callable, Iterable, Sequence


from rlgen.core.determinism import deterministic_torch
from rlgen.core.imports import import_modules
from rlgen.data.atomic import atomic_writer
from rlgen.policies.base import Policy
from rlgen.worlds import EpisodeJob, ProcgenWorld, World
from rlgen.worlds.play import play_world_jobs

PolicyFactory = Callable[[], Policy]

RECORD_FIELDS = ("split", "level_seed", "episode", "return", "normalized_return", "length", "success")

__all__ = ["PolicyEvaluator", "RECORD_FIELDS", "evaluate_policies", "write_records"]


class PolicyEvaluator:
    """A Ray actor that plays shares of jobs; one process serves many (policy, share) items.

    The policy is built afresh for every share, so a share's results depend only on the share
    (a random policy's draws do not carry over from whichever share the actor played before).
    """

    def ready(self) -> bool:
        """Answers once the actor has started: only then is it given work (see `evaluate_policies`)."""
        return True

    def __init__(self, imports: tuple[str, ...] = ()) -> None:
        import_modules(imports)  # a user's world or behaviour registers itself before any policy is built
        deterministic_torch(threads=1)  # one CPU per actor; the same actions on a rerun

    def play(self, factory: PolicyFactory, world: World, jobs: list, num_envs: int, seed: int) -> list[dict]:
        return play_world_jobs(factory(), world, jobs, num_envs, seed)


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
    world: World | None = None,
    num_gpus: float = 0.0,
    imports: Sequence[str] = (),
) -> dict[str, list[dict]]:
    """Play `jobs` with each policy, spread over Ray actors; records per policy, in job order.

    Ray must be running (see `rlgen.ray_session`). Each policy's jobs are dealt round-robin to
    the workers so each gets a mix of splits; all (policy, share) items queue on one actor pool.
    `world` replaces Procgen `game` / `mode` for other environments. `num_gpus`: what each actor
    asks Ray for (a fraction lets the actors share one GPU for batched inference). `imports`:
    the config's `imports:`, which every actor imports first (a user's world or behaviour).
    """
    world = world or ProcgenWorld(game, mode)
    import ray
    from tqdm.auto import tqdm

    workers = max(1, min(num_workers, len(jobs)))
    shares = [list(range(w, len(jobs), workers)) for w in range(workers)]
    items = [(key, share) for key in factories for share in shares if share]
    actor_cls = ray.remote(num_cpus=1, num_gpus=num_gpus)(PolicyEvaluator)
    actors = [actor_cls.remote(tuple(imports)) for _ in range(min(workers, len(items)))]
    results: dict[str, dict[int, dict]] = {key: {} for key in factories}
    pending = {}
    # An actor gets work only once it has started: work queued on one that cannot be placed (its
    # CPU held by another evaluation, e.g. two sweep trials evaluating at once on a small cluster)
    # would wait for it forever while the started actors sit idle. Started actors take every item.
    starting = {actor.ready.remote(): actor for actor in actors}

    def submit(actor) -> None:
        key, share = items.pop(0)
        ref = actor.play.remote(factories[key], world, [jobs[i] for i in share], num_envs, seed)
        pending[ref] = (actor, key, share)

    with tqdm(total=len(jobs) * len(factories), unit="episodes", desc="evaluate", disable=not progress) as bar:
        try:
            while pending or (items and starting):
                ready, _ = ray.wait([*pending, *starting], num_returns=1)
                if ready[0] in starting:
                    actor = starting.pop(ready[0])
                    ray.get(ready[0])
                    if items:
                        submit(actor)
                    continue
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
    # a world's task columns (the stitching maze's game, mode and task) follow the common ones
    fields = list(extra) + list(RECORD_FIELDS)
    fields += [k for k in (rows[0] if rows else {}) if k not in fields]
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_writer(path) as f:
        f.write(buf.getvalue().encode())

