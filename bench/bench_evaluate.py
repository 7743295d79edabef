"""Target 5, evaluation: episodes/s of `rlgen evaluate`'s machinery over a raw loop with the same policy.

    ../shared/bin/offline .venv/bin/python bench/bench_evaluate.py          # about 2 minutes
    ../shared/bin/offline .venv/bin/python bench/bench_evaluate.py --episodes 32 --policies constant

For each policy, in one command:

- rlgen: `evaluate_policies` (what `rlgen evaluate` runs for every policy) through `--workers`
  Ray actors, each playing its share of `--episodes` jobs (the first levels of the test split,
  one episode each) on `ProcgenVecEnv.pinned` slots, `--envs` at a time, one batched `act` per
  step; timed from the call (actors are created inside it) to the records.
- baseline: `--workers` fresh processes, each building the same policy and driving one raw
  `procgen.ProcgenGym3Env` with as many environments as rlgen uses slots, on the same test
  levels, one batched `act` per step, on the evaluator's schedule (a free slot takes the next
  episode; with none left it idles until the last ends) until it has played its share; timed
  from spawning to joining.

Policies: `neural`, a freshly initialized rlgen BC policy (IMPALA 16/32/32, greedy, one torch
thread per process as Ray gives a one-CPU actor) loaded from a checkpoint in each process, the
honest case; `constant`, a policy that always presses one button (nearly free), which shows the
machinery's own cost. In maze both time out at 500 steps in almost every episode, so both sides
play episodes of the same length (the mean lengths are reported). Ray's start-up is outside.
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

from bench.common import Table, Target, at_least, fmt_rate, print_targets, ray_running, round_sig, untrained_bc_checkpoint, worker_niceness, write_result

TARGET = 0.8


class ConstantPolicy:
    """Always the same action: a policy that costs nothing, to expose the evaluator's own cost."""

    def __init__(self, action: int = 4) -> None:
        self.action = action

    def act(self, observations: np.ndarray) -> np.ndarray:
        return np.full(len(observations), self.action, dtype=np.int64)


def policy_factory(kind: str, checkpoint: str):
    if kind == "neural":
        from rlgen.learn.registry import load_policy_after_imports

        return functools.partial(load_policy_after_imports, (), checkpoint, "cpu", greedy=True)
    return functools.partial(ConstantPolicy, 4)


def raw_worker(kind: str, checkpoint: str, game: str, start_level: int, num_levels: int, num_envs: int, episodes: int, seed: int) -> dict:
    """The baseline in one process: a raw ProcgenGym3Env driven by the policy, batched."""
    import torch
    from procgen import ProcgenGym3Env

    torch.set_num_threads(1)
    policy = policy_factory(kind, checkpoint)()
    env = ProcgenGym3Env(
        num=num_envs, env_name=game, distribution_mode="easy", start_level=start_level, num_levels=num_levels,
        rand_seed=seed, num_threads=0,
    )  # fmt: skip
    _, ob, _ = env.observe()
    obs = ob["rgb"]
    # The evaluator's schedule: each slot plays one job at a time, a free slot takes the next
    # job, and a slot with none left idles (still stepped, as rlgen's pinned slots are) until
    # the last episode ends.
    started = num_envs
    active = np.ones(num_envs, dtype=bool)
    lengths = []
    elapsed = np.zeros(num_envs, dtype=np.int64)
    steps = 0
    while active.any():
        env.act(np.asarray(policy.act(obs), dtype=np.int32))
        _, ob, first = env.observe()
        obs = ob["rgb"]
        elapsed += 1
        steps += 1
        for i in np.flatnonzero(first & active):
            lengths.append(int(elapsed[i]))
            if started < episodes:
                started += 1
            else:
                active[i] = False
        elapsed[first] = 0
    env.close()
    return {"episodes": len(lengths), "lengths": lengths, "env_steps": steps * num_envs}


def run_raw(kind: str, checkpoint: str, game: str, start_level: int, workers: int, num_envs: int, episodes: int) -> dict:
    share = -(-episodes // workers)
    num_envs = min(num_envs, share)  # as many slots as rlgen's evaluator uses for a share
    started = time.perf_counter()
    with ProcessPoolExecutor(workers, mp_context=get_context("spawn")) as pool:
        futures = [
            pool.submit(raw_worker, kind, checkpoint, game, start_level, episodes, num_envs, share, w) for w in range(workers)
        ]
        parts = [f.result() for f in futures]
    seconds = time.perf_counter() - started
    lengths = [n for p in parts for n in p["lengths"]]
    done = sum(p["episodes"] for p in parts)
    return {
        "episodes": done,
        "seconds": seconds,
        "episodes_per_second": done / seconds,
        "mean_length": float(np.mean(lengths)),
        "env_steps": sum(p["env_steps"] for p in parts),
    }


def run_rlgen(kind: str, checkpoint: str, game: str, workers: int, num_envs: int, episodes: int) -> dict:
    from rlgen.core.levels import LevelSplit
    from rlgen.evaluate import evaluate_policies
    from rlgen.worlds import level_jobs

    jobs = level_jobs(LevelSplit.with_diversity(200), ("test",), episodes, 1)
    started = time.perf_counter()
    records = evaluate_policies(
        {kind: policy_factory(kind, checkpoint)}, game, "easy", jobs, num_workers=workers, num_envs=num_envs, seed=0,
        progress=False,
    )[kind]  # fmt: skip
    seconds = time.perf_counter() - started
    return {
        "episodes": len(records),
        "seconds": seconds,
        "episodes_per_second": len(records) / seconds,
        "mean_length": float(np.mean([r["length"] for r in records])),
        "test_levels": [jobs[0].level, jobs[-1].level],
    }


def _pool(rounds: list[dict]) -> dict:
    episodes = sum(r["episodes"] for r in rounds)
    seconds = sum(r["seconds"] for r in rounds)
    return {
        "episodes": episodes,
        "seconds": seconds,
        "episodes_per_second": episodes / seconds,
        "mean_length": float(np.average([r["mean_length"] for r in rounds], weights=[r["episodes"] for r in rounds])),
        "rounds": len(rounds),
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--game", default="maze")
    parser.add_argument("--episodes", type=int, default=64, help="per policy, per side, all rounds: test levels, one episode each")
    parser.add_argument("--rounds", type=int, default=2, help="A-B-B-A rounds per side")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--envs", type=int, default=16, help="env slots per worker (at most the jobs of a worker's share)")
    parser.add_argument("--policies", nargs="+", choices=["neural", "constant"], default=["neural", "constant"])
    parser.add_argument("--channels", type=int, nargs=3, default=[16, 32, 32])
    parser.add_argument("--results-dir", type=Path, default=None)
    args = parser.parse_args(argv)
    load_start = os.getloadavg()
    import ray

    from rlgen.core.levels import LevelSplit

    # Ray ships ConstantPolicy to its workers by value, whether this file runs as a script or
    # is imported (tests): the workers need not find the bench package.
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    test_start = LevelSplit.with_diversity(200)["test"].seeds[0]
    figures: dict = {"game": args.game, "policies": {}}
    targets, rows = [], []
    with tempfile.TemporaryDirectory(prefix="rlgen-bench-evaluate-") as tmp, ray_running(args.workers) as ray_seconds:
        figures["ray_start_seconds"] = round(ray_seconds, 2)
        figures["ray_worker_niceness"] = worker_niceness()
        checkpoint = str(untrained_bc_checkpoint(Path(tmp) / "bc-untrained", tuple(args.channels)))
        per_round = max(1, args.episodes // args.rounds)
        slots = min(args.envs, -(-per_round // args.workers))  # what the evaluator uses for a share
        for kind in args.policies:
            # A-B-B-A rounds, times pooled: the other agents' load on this machine comes in bursts.
            ours_rounds, raw_rounds = [], []
            for r in range(args.rounds):
                for side in (("rlgen", "raw") if r % 2 == 0 else ("raw", "rlgen")):
                    if side == "rlgen":
                        ours_rounds.append(run_rlgen(kind, checkpoint, args.game, args.workers, args.envs, per_round))
                    else:
                        raw_rounds.append(run_raw(kind, checkpoint, args.game, int(test_start), args.workers, args.envs, per_round))
            ours, raw = _pool(ours_rounds), _pool(raw_rounds)
            ratio = ours["episodes_per_second"] / raw["episodes_per_second"]
            ours["round_ratios"] = [o["episodes_per_second"] / a["episodes_per_second"] for o, a in zip(ours_rounds, raw_rounds)]
            figures["policies"][kind] = {"rlgen": ours, "raw": raw, "ratio": ratio}
            print(f"{kind}: rlgen {ours['episodes_per_second']:.2f} episodes/s, raw {raw['episodes_per_second']:.2f}, ratio {ratio:.3f}", flush=True)
            label = f"untrained IMPALA {'/'.join(map(str, args.channels))} BC, greedy" if kind == "neural" else "constant action"
            rows.append([
                label, f"{ours['episodes']}", f"{ours['episodes_per_second']:.2f} ({ours['seconds']:.1f} s, mean length {ours['mean_length']:.0f})",
                f"{raw['episodes_per_second']:.2f} ({raw['seconds']:.1f} s, mean length {raw['mean_length']:.0f})", f"{ratio:.2f}",
            ])  # fmt: skip
            if kind == "neural":
                met = at_least(ratio, TARGET)
                targets.append(
                    Target(
                        what=f"evaluation, {args.game}, {label}",
                        figure=f"{ours['episodes_per_second']:.2f} vs {raw['episodes_per_second']:.2f} episodes/s "
                        f"({args.workers} Ray actors vs {args.workers} processes, {slots} envs each)",
                        ratio=round_sig(ratio),
                        target=f">= {TARGET}",
                        met=met,
                        reason="" if met else (
                            f"rlgen took {ours['seconds']:.0f} s where the raw loop took {raw['seconds']:.0f} s for the same "
                            "schedule of episodes; the constant-policy ratio below (run after this one) isolates the "
                            "evaluator's own cost"
                        ),
                        close="" if met else (
                            "if the constant-policy ratio is low too: step the pinned slots in one C++ environment (Procgen's "
                            "set_state) instead of one per slot; if not: rerun (load on the shared machine) before changing code"
                        ),
                    )
                )
    tables = [Table(f"Episodes/s on {args.game} test levels: `evaluate_policies` (Ray) against a raw loop, same policy",
                    ["policy", "episodes", "rlgen (Ray actors)", "raw loop (processes)", "ratio"], rows)]  # fmt: skip
    notes = [
        f"{args.workers} Ray actors x {slots} pinned slots (rlgen) against {args.workers} processes x one "
        f"ProcgenGym3Env(num={slots}) on the same test levels (baseline); actions from one batched act per step on "
        f"both sides, one torch thread per process; {args.rounds} rounds of {per_round} episodes per side in A-B-B-A order, "
        f"times pooled. Ray start-up ({figures['ray_start_seconds']} s) is outside; Ray workers ran at nice "
        f"{figures['ray_worker_niceness']}, as the baseline's processes (see BENCHMARKS.md on Ray's default of 15).",
        "The raw loop plays levels drawn at random from the same test levels (Procgen picks one on every reset); rlgen "
        "plays each listed level exactly once (paired evaluation). Both follow the same schedule of slots and episodes; "
        "mean episode lengths are beside each figure: when they match, both sides did the same work.",
    ]
    print_targets(targets)
    path = write_result("evaluate", "Evaluation (target 5)", targets=targets, tables=tables, figures=figures, notes=notes,
                        load_start=load_start, results_dir=args.results_dir)  # fmt: skip
    print(f"wrote {path}")
    return figures


if __name__ == "__main__":
    main()
