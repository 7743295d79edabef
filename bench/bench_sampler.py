"""Target 3, sampling: minibatches/s of the out-of-core sampler over what d3rlpy's BC consumes.

    ../shared/bin/offline .venv/bin/python bench/bench_sampler.py                       # 2M transitions: 24.6 GB decoded
    ../shared/bin/offline .venv/bin/python bench/bench_sampler.py --transitions 300000 --memory-cap-gb 1.75

In one command:

1. Data: a coinrun dataset, random policy, levels [0, 200), built with `rlgen.collect`
   (`collect_dataset`, Ray actors) under `--data-dir`, or reused if it is already there. Disk
   space is checked first (`--disk-bytes-per-transition`, about 1 KB for coinrun random play).
2. In a child process whose memory is capped below the decoded frames (`RLIMIT_DATA`, set before
   it imports anything: the kernel refuses any heap or anonymous mapping past the cap, so
   d3rlpy's in-memory buffer cannot be built there; see the control below), in `--rounds`
   alternating rounds (so that other work on a shared machine weighs on both sides alike):
   - the sampler alone: `--sampler-batches` minibatches of `--batch-size` transitions, decoded
     in the calling thread (no prefetch): batches/s;
   - the learner alone: d3rlpy `DiscreteBC` with rlgen's IMPALA encoder (16/32/32, 256 features,
     the paper's batch 256), CPU, `update` on one fixed batch for `--fixed-steps` steps: the
     gradient steps/s it would consume if data were free;
   then both together: `rlgen.learn.fit` (the training loop `rlgen train` runs) on the sampler
   with its prefetch thread, `--steps` steps: steps/s, and how long each `sample` call made the
   loop wait (the first batch cannot be prefetched; the steady state is what matters).
   The ratio is sampler batches/s over the learner's demand, the faster of its two steps/s
   figures (>= 1: the learner never waits). Peak memory is the child's own `ru_maxrss`
   (also `getrusage(RUSAGE_CHILDREN)` here, when no earlier child, such as Ray's, peaked higher).
3. Control (skip with `--no-control`): under the same cap, another child calls
   `Dataset.to_d3rlpy()`, which decodes every frame into memory; it must fail.

Why `RLIMIT_DATA` and not a cgroup: this machine's cgroups (v1, managed by the sandbox) are not
ours to change, and `RLIMIT_AS` would count torch's large virtual reservations. `RLIMIT_DATA`
caps private writable memory (heap, anonymous mmaps, thread stacks), i.e. everything the
process allocates; page cache holding the shards is the kernel's and is not counted (nor is it in
RSS: shards are read with `pread`, not mapped).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

TARGET = 1.0
FRAME_BYTES = 64 * 64 * 3


def child_main(spec: dict) -> None:
    """Runs in the capped child: sampler alone, learner alone, then `fit` on the sampler."""
    cap = spec["cap_bytes"]
    resource.setrlimit(resource.RLIMIT_DATA, (cap, cap))  # before numpy and torch allocate anything
    if spec["mode"] == "control":
        return control_main(spec)

    import numpy as np
    import torch

    from rlgen.data.dataset import load_dataset
    from rlgen.learn import fit, learner_config

    dataset = load_dataset(spec["root"], verify=False)  # the parent verified the checksums
    batch_size, seed = spec["batch_size"], spec["seed"]
    out: dict = {"torch_threads": torch.get_num_threads()}

    params = {"steps": spec["steps"], "batch_size": batch_size, "validate_every": 0, "log_every": spec["steps"], "data": "disk"}
    config = learner_config("bc", params)
    algo = config.to_d3rlpy().create(device="cpu")
    algo.create_impl((3, 64, 64), 15)
    sampler_seconds = learner_seconds = 0.0
    with dataset.sampler(seed, cache_bytes=spec["cache_bytes"], prefetch=0) as sampler:
        for _ in range(2):  # warm-up: first reads of the shards' metadata, allocator
            sampler.sample_transition_batch(batch_size)
        fixed = sampler.transition_batch(sampler.batch_indices(10**6, batch_size))
        algo.update(fixed)  # warm-up
        # in alternating rounds, so that other work on the machine weighs on both sides alike
        for _ in range(spec["rounds"]):
            started = time.perf_counter()
            for _ in range(spec["sampler_batches"]):
                sampler.sample_transition_batch(batch_size)
            sampler_seconds += time.perf_counter() - started
            started = time.perf_counter()
            for _ in range(spec["fixed_steps"]):
                algo.update(fixed)
            learner_seconds += time.perf_counter() - started
        batches, steps = spec["rounds"] * spec["sampler_batches"], spec["rounds"] * spec["fixed_steps"]
        out["sampler"] = {"batches": batches, "seconds": sampler_seconds, "batches_per_s": batches / sampler_seconds, "cache": sampler.cache_stats}
        out["learner_fixed"] = {"steps": steps, "seconds": learner_seconds, "steps_per_s": steps / learner_seconds}
    del algo, fixed

    with tempfile.TemporaryDirectory(prefix="rlgen-bench-sampler-") as tmp:
        with dataset.sampler(seed, cache_bytes=spec["cache_bytes"], prefetch=spec["prefetch"]) as sampler:
            timed = TimedSampler(sampler)
            fit(config, timed, seed=seed, device="cpu", out_dir=tmp, show_progress=False)
            out["fit_cache"] = sampler.cache_stats
        meta = json.loads((Path(tmp) / "learner.json").read_text())
    out["fit"] = {k: meta[k] for k in ("steps", "train_seconds", "sample_seconds", "steps_per_second")}
    out["fit"]["dataset"] = meta["dataset"]
    # the first batch cannot have been prefetched: the wait that matters is the steady state's
    out["fit"]["first_wait_seconds"] = timed.waits[0]
    out["fit"]["steady_wait_fraction"] = sum(timed.waits[1:]) / (meta["train_seconds"] - timed.waits[0])
    out["fit"]["steady_max_wait_seconds"] = max(timed.waits[1:], default=0.0)
    out["vm_hwm_bytes"] = _vm_hwm()
    out["ru_maxrss_bytes"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print("RESULT " + json.dumps(out), flush=True)
    del np


class TimedSampler:
    """The sampler, timing each `sample_transition_batch` call: how long the learner waited."""

    def __init__(self, inner) -> None:
        self._inner = inner
        self.waits: list[float] = []

    def __getattr__(self, name: str):
        return getattr(self._inner, name)

    def sample_transition_batch(self, batch_size: int):
        started = time.perf_counter()
        batch = self._inner.sample_transition_batch(batch_size)
        self.waits.append(time.perf_counter() - started)
        return batch


def control_main(spec: dict) -> None:
    """The in-memory buffer under the same cap: expected to fail."""
    from rlgen.data.dataset import load_dataset

    dataset = load_dataset(spec["root"], verify=False)
    started = time.perf_counter()
    try:
        buffer = dataset.to_d3rlpy()
        result = {"failed": False, "seconds": time.perf_counter() - started, "transitions": buffer.transition_count}
    except (MemoryError, RuntimeError) as exc:
        result = {"failed": True, "seconds": time.perf_counter() - started, "error": f"{type(exc).__name__}: {exc}"[:300]}
    result["ru_maxrss_bytes"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print("RESULT " + json.dumps(result), flush=True)


def _vm_hwm() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return -1


def run_child(spec: dict) -> tuple[dict, int | None]:
    """Run a capped child; returns (its RESULT, its peak RSS in bytes from RUSAGE_CHILDREN).

    RUSAGE_CHILDREN is the largest peak of every child waited for so far (Ray's processes
    included), so it names this child's peak only when it rose; else None. The child also
    reports its own peak (`ru_maxrss` of RUSAGE_SELF), which is always its own.
    """
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    proc = subprocess.run([sys.executable, __file__, "--child", json.dumps(spec)], stdout=subprocess.PIPE, text=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"the {spec['mode']} child failed (exit {proc.returncode}); its output:\n{proc.stdout[-3000:]}")
    return json.loads(lines[-1][len("RESULT ") :]), (after * 1024 if after > before else None)


def build_dataset(args: argparse.Namespace):
    from rlgen.collect import collect_dataset
    from rlgen.core.config import ExperimentConfig
    from rlgen.data.manifest import MANIFEST_NAME

    overrides = {
        "env.game": args.game,
        "levels.train": args.levels,
        "collect.transitions": args.transitions,
        "collect.shard_transitions": args.shard_transitions,
        "collect.envs_per_worker": args.envs,
        "collect.num_workers": args.workers,
        "ray.num_cpus": args.workers,
        "data_dir": str(args.data_dir),
    }
    config = ExperimentConfig().with_overrides([f"{k}={v}" for k, v in overrides.items()])
    os.environ["RLGEN_DATA_DIR"] = str(args.data_dir)
    root = config.dataset_dir()
    if (root / MANIFEST_NAME).exists():
        print(f"reusing {root}", flush=True)
        started = time.perf_counter()
        dataset = collect_dataset(config, progress=False)  # loads and verifies every checksum
        return dataset, {"built": False, "verify_seconds": time.perf_counter() - started}
    have = sum(p.stat().st_size for p in (root / "shards").glob("shard-*.npz")) if root.exists() else 0
    need = int(args.transitions * args.disk_bytes_per_transition * 1.1) - have
    args.data_dir.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(args.data_dir).free
    print(f"disk: need about {need / 1e9:.2f} GB more under {args.data_dir}, {free / 1e9:.1f} GB free", flush=True)
    if need > free - 2 * 2**30:
        raise SystemExit(f"not enough disk under {args.data_dir}: about {need / 1e9:.1f} GB needed, {free / 1e9:.1f} GB free; "
                         "lower --transitions or choose another --data-dir")  # fmt: skip
    from bench.common import ray_running

    started = time.perf_counter()
    with ray_running(args.workers):
        dataset = collect_dataset(config, progress=True)
    return dataset, {"built": True, "collect_seconds": time.perf_counter() - started}


def main(argv: list[str] | None = None) -> dict:
    from bench.common import Table, Target, at_least, fmt_rate, print_targets, round_sig, write_result

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=Path("data"))
    parser.add_argument("--transitions", type=int, default=2_000_000)
    parser.add_argument("--game", default="coinrun")
    parser.add_argument("--levels", type=int, default=200)
    parser.add_argument("--shard-transitions", type=int, default=25_000)
    parser.add_argument("--workers", type=int, default=2, help="Ray actors collecting")
    parser.add_argument("--envs", type=int, default=16, help="environments per actor")
    parser.add_argument("--disk-bytes-per-transition", type=float, default=1000.0, help="for the disk-space check")
    parser.add_argument("--memory-cap-gb", type=float, default=2.0, help="RLIMIT_DATA of the training child, GiB")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--steps", type=int, default=30, help="gradient steps of fit() on the sampler")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds of sampler alone / learner alone")
    parser.add_argument("--fixed-steps", type=int, default=3, help="gradient steps on one fixed batch, per round")
    parser.add_argument("--sampler-batches", type=int, default=8, help="sampler batches, per round")
    parser.add_argument("--cache-mb", type=float, default=256)
    parser.add_argument("--prefetch", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-control", action="store_true", help="skip the in-memory buffer under the cap")
    parser.add_argument("--results-dir", type=Path, default=None)
    args = parser.parse_args(argv)
    load_start = os.getloadavg()

    dataset, build = build_dataset(args)
    manifest = dataset.manifest
    disk_bytes = sum(dataset.shard_path(s.name).stat().st_size for s in manifest.shards)
    decoded = dataset.decoded_frame_bytes
    cap = int(args.memory_cap_gb * 2**30)
    print(f"dataset {dataset.root}: {manifest.transitions:,} transitions, {manifest.episodes:,} episodes, {len(manifest.shards)} shards, "
          f"{disk_bytes / 1e9:.2f} GB on disk, {decoded / 1e9:.1f} GB decoded; training under RLIMIT_DATA {cap / 2**30:.2f} GiB", flush=True)  # fmt: skip
    if cap >= decoded:
        print(f"warning: the cap ({cap / 1e9:.2f} GB) is not below the decoded frames ({decoded / 1e9:.2f} GB): "
              "this run does not show training on data bigger than memory", flush=True)  # fmt: skip

    spec = {
        "mode": "train",
        "root": str(dataset.root),
        "cap_bytes": cap,
        "batch_size": args.batch_size,
        "seed": args.seed,
        "steps": args.steps,
        "fixed_steps": args.fixed_steps,
        "sampler_batches": args.sampler_batches,
        "rounds": args.rounds,
        "cache_bytes": int(args.cache_mb * 2**20),
        "prefetch": args.prefetch,
    }
    child, children_peak = run_child(spec)
    peak = child["ru_maxrss_bytes"]
    sampler_rate = child["sampler"]["batches_per_s"]
    learner_rate = child["learner_fixed"]["steps_per_s"]
    fit_rate = child["fit"]["steps_per_second"]
    wait = child["fit"]["steady_wait_fraction"]
    # the learner's demand: its fastest measured rate, alone on a fixed batch or in fit()
    demand = max(learner_rate, fit_rate)
    ratio = sampler_rate / demand
    print(f"sampler alone {sampler_rate:.2f} batches/s; BC alone {learner_rate:.2f} steps/s; ratio {ratio:.2f}; "
          f"fit on the sampler {fit_rate:.2f} steps/s, waiting {100 * wait:.1f}% of its time after the first batch; peak RSS {peak / 2**30:.2f} GiB", flush=True)  # fmt: skip

    control = None
    if not args.no_control:
        control, control_peak = run_child({**spec, "mode": "control"})
        control["peak_rss_bytes"] = control_peak
        print(f"control: to_d3rlpy() under the same cap {'failed as expected' if control['failed'] else 'SUCCEEDED'} "
              f"after {control['seconds']:.1f} s: {control.get('error', '')}", flush=True)  # fmt: skip

    figures = {
        "dataset": {
            "name": manifest.name,
            "root": str(dataset.root),
            "game": args.game,
            "levels": args.levels,
            "behaviour": "random",
            "transitions": manifest.transitions,
            "episodes": manifest.episodes,
            "shards": len(manifest.shards),
            "disk_bytes": disk_bytes,
            "disk_bytes_per_transition": disk_bytes / manifest.transitions,
            "decoded_frame_bytes": decoded,
            **build,
        },
        "cap": {"kind": "RLIMIT_DATA", "bytes": cap, "below_decoded": cap < decoded, "decoded_over_cap": decoded / cap},
        "batch_size": args.batch_size,
        "sampler_batches_per_s": sampler_rate,
        "sampler_ms_per_batch": 1e3 / sampler_rate,
        "learner_fixed_batch_steps_per_s": learner_rate,
        "fit_steps_per_s": fit_rate,
        "learner_demand_steps_per_s": demand,
        "ratio_vs_fixed_batch": sampler_rate / learner_rate,
        "ratio_vs_fit": sampler_rate / fit_rate,
        "fit_wait_fraction": wait,
        "ratio": ratio,
        "peak_rss_bytes": peak,
        "peak_rss_bytes_rusage_children": children_peak,
        "child": child,
        "control": control,
    }
    met = at_least(ratio, TARGET)
    targets = [
        Target(
            what=f"sampling, {args.game} {manifest.transitions:,} transitions ({decoded / 1e9:.1f} GB decoded), BC batch {args.batch_size}, CPU",
            figure=(
                f"sampler alone {fmt_rate(sampler_rate)} batches/s vs BC {fmt_rate(demand)} steps/s (the faster of "
                f"{fmt_rate(learner_rate)} alone on a fixed batch and {fmt_rate(fit_rate)} in fit() on the sampler); "
                f"peak RSS {peak / 2**30:.2f} GiB under RLIMIT_DATA {cap / 2**30:.2f} GiB"
            ),
            ratio=round_sig(ratio),
            target=f">= {TARGET}",
            met=met,
            reason="" if met else "decoding a 64-frame chunk per sampled transition costs more than a gradient step's share",
            close="" if met else "more prefetch threads, or smaller chunks (a shard-format change)",
        )
    ]
    tables = [
        Table(
            "Out-of-core sampling against BC's consumption, one command",
            ["measure", "figure"],
            [
                ["dataset", f"{manifest.name}: {manifest.transitions:,} transitions, {len(manifest.shards)} shards"],
                ["on disk / decoded", f"{disk_bytes / 1e9:.2f} GB / {decoded / 1e9:.1f} GB"],
                ["memory cap (training process)", f"RLIMIT_DATA {cap / 2**30:.2f} GiB"],
                ["sampler alone (no prefetch)", f"{sampler_rate:.2f} batches/s ({1e3 / sampler_rate:.0f} ms per batch of {args.batch_size})"],
                ["BC alone, fixed batch", f"{learner_rate:.2f} steps/s"],
                ["ratio (sampler / faster learner figure)", f"{ratio:.2f}"],
                ["fit() on the sampler (prefetch {})".format(args.prefetch), f"{fit_rate:.2f} steps/s; after the first batch, {100 * wait:.1f}% of the time waiting for one (longest wait {child['fit']['steady_max_wait_seconds'] * 1e3:.0f} ms)"],
                ["peak RSS of the training process", f"{peak / 2**30:.2f} GiB"],
            ]
            + ([["control: to_d3rlpy() under the cap", ("failed: " + control["error"][:80]) if control["failed"] else "succeeded"]] if control else []),
        )
    ]
    notes = [
        f"Training process: torch {child['torch_threads']} threads; d3rlpy DiscreteBC, IMPALA 16/32/32 with 256 features, batch "
        f"{args.batch_size}, Adam 5e-4, CPU. The sampler's cache holds at most {args.cache_mb:g} MiB of decoded chunks; with "
        f"{decoded / 2**30:.1f} GiB of frames its hit rate is low ({child['fit_cache']['hits']} hits, {child['fit_cache']['misses']} "
        "decoded chunks during fit), so nearly every sampled transition decodes its 64-frame chunk.",
        "The shards were in the page cache (written or verified just before); from a cold disk each chunk is one random read "
        "of about 60 KB.",
        "The two buffers give batches of identical content (tests/data/test_sampler.py); d3rlpy's buffer would need the "
        f"{decoded / 1e9:.1f} GB of frames in memory, float32 batches aside.",
    ]
    print_targets(targets)
    path = write_result("sampler", "Sampling from shards on disk (target 3)", targets=targets, tables=tables, figures=figures,
                        notes=notes, load_start=load_start, results_dir=args.results_dir)  # fmt: skip
    print(f"wrote {path}")
    return figures


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        child_main(json.loads(sys.argv[2]))
    else:
        main()
