"""What every benchmark shares: its result row, Ray on loopback, the untrained policy, the machine.

A result row is one JSON file, `bench/results/<name>.json`:

    {"name": "collect", "title": "...", "date": "2026-11-29T20:30:00+00:00",
     "command": "../shared/bin/offline .venv/bin/python bench/bench_collect.py",
     "machine": {"cpus": 2, "loadavg_start": [...], "loadavg_end": [...], ...},
     "targets": [{"what": ..., "figure": ..., "ratio": 0.83, "target": ">= 0.8", "met": true,
                  "reason": "", "close": ""}],
     "tables": [{"title": ..., "columns": [...], "rows": [[...], ...]}],
     "figures": {...every measured number, by name...},
     "notes": ["..."]}

`bench/report.py` turns the rows into BENCHMARKS.md. Every ratio is measured in one command
against a baseline run in the same command, so the machine's load touches both sides; the load
average before and after is recorded, because on a shared machine it is not nothing.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import shlex
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

REPO = Path(__file__).resolve().parents[1]
RESULTS_DIR = REPO / "bench" / "results"


@dataclass
class Target:
    """One target of the Performance issue: a ratio against a baseline of the same command."""

    what: str
    figure: str  # the measured figures behind the ratio, in words
    ratio: float
    target: str  # e.g. ">= 0.8"
    met: bool
    reason: str = ""  # why not met (empty when met)
    close: str = ""  # what would close it (empty when met)


@dataclass
class Table:
    title: str
    columns: list[str]
    rows: list[list[Any]] = field(default_factory=list)


def at_least(ratio: float, bound: float) -> bool:
    return ratio >= bound


def at_most(ratio: float, bound: float) -> bool:
    return ratio <= bound


def command_line() -> str:
    """The command that ran this script, as a user would type it from the repository root."""
    script = Path(sys.argv[0]).resolve()
    try:
        script_text = str(script.relative_to(REPO))
    except ValueError:
        script_text = str(script)
    prefix = "../shared/bin/offline " if _loopback_only() else ""
    python = ".venv/bin/python" if Path(sys.executable).absolute().is_relative_to(REPO) else Path(sys.executable).name
    return f"{prefix}{python} {shlex.join([script_text, *sys.argv[1:]])}"


def _loopback_only() -> bool:
    try:
        return sorted(os.listdir("/sys/class/net")) == ["lo"]
    except OSError:
        return False


def machine(load_start: tuple[float, float, float]) -> dict:
    import numpy
    import torch

    return {
        "cpus": os.cpu_count(),
        "loadavg_start": [round(x, 2) for x in load_start],
        "loadavg_end": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": numpy.__version__,
        "git_revision": _git_revision(),
        "shared": "other agents ran heavy work on this 2-core machine at the same time",
    }


def _git_revision() -> str:
    try:
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain"], cwd=REPO, capture_output=True, text=True, check=True).stdout.strip()
        return rev + ("+uncommitted" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def write_result(
    name: str,
    title: str,
    *,
    targets: list[Target],
    tables: list[Table],
    figures: dict,
    notes: list[str],
    load_start: tuple[float, float, float],
    results_dir: Path | None = None,
    command: str | None = None,
) -> Path:
    """Write `bench/results/<name>.json` (or under `results_dir`) and return its path."""
    row = {
        "name": name,
        "title": title,
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "command": command or command_line(),
        "machine": machine(load_start),
        "targets": [t.__dict__ for t in targets],
        "tables": [t.__dict__ for t in tables],
        "figures": figures,
        "notes": notes,
    }
    out_dir = Path(results_dir) if results_dir is not None else RESULTS_DIR
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{name}.json"
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(row, indent=1, default=_jsonable) + "\n")
    tmp.replace(path)
    return path


def _jsonable(value: Any) -> Any:
    import numpy as np

    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"not JSON: {type(value).__name__}")


def print_targets(targets: list[Target]) -> None:
    for t in targets:
        verdict = "met" if t.met else "NOT met"
        print(f"  {t.what}: ratio {t.ratio:.3f} (target {t.target}): {verdict}; {t.figure}")


@contextmanager
def ray_running(num_cpus: int = 2) -> Iterator[float]:
    """Ray on loopback with `num_cpus` CPUs (reusing a running one); yields its start-up seconds.

    Ray starts its worker processes at nice 15 (its `worker_niceness`), so on a machine shared
    with other work its actors yield the cores to everything else, while a baseline process runs
    at nice 0. On this shared machine that alone halved some ratios. The benchmarks start Ray with
    `RAY_worker_niceness=0` so both sides compete for the cores on equal terms; on a dedicated
    machine the niceness changes nothing. `worker_niceness()` reports what the workers got.
    """
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    os.environ.setdefault("RAY_worker_niceness", "0")
    import ray

    if ray.is_initialized():
        yield 0.0
        return
    started = time.perf_counter()
    ray.init(
        num_cpus=num_cpus,
        include_dashboard=False,
        _node_ip_address="127.0.0.1",
        logging_level="ERROR",
        log_to_driver=False,
        object_store_memory=200_000_000,
        runtime_env={"env_vars": {"PYTHONPATH": str(REPO)}},
    )
    seconds = time.perf_counter() - started
    try:
        yield seconds
    finally:
        ray.shutdown()


def worker_niceness() -> int:
    """The niceness of a Ray worker process (Ray must be running)."""
    import ray

    def niceness() -> int:  # defined here so that Ray ships it by value (workers need not find bench/)
        return __import__("os").nice(0)

    return int(ray.get(ray.remote(num_cpus=0)(niceness).remote()))


def untrained_bc_checkpoint(out_dir: Path, channels: tuple[int, ...] = (16, 32, 32), seed: int = 0) -> Path:
    """A freshly initialized rlgen BC policy (IMPALA encoder, `channels`), saved as a trained run is.

    `rlgen.learn.load_policy(out_dir)` rebuilds it in any process, so the Ray evaluation and a
    plain loop play exactly the same network. No gradient step is taken: the weights are
    d3rlpy's initialization under `seed`, and the network's cost is what is being measured.
    """
    import d3rlpy
    import torch

    from rlgen.core.typed import to_dict
    from rlgen.learn.base import FRAME_SHAPE, save_checkpoint
    from rlgen.learn.bc import BCConfig

    config = BCConfig(steps=1, validate_every=0, encoder_channels=tuple(channels))
    d3rlpy_config = config.to_d3rlpy()
    d3rlpy.seed(seed)
    torch.manual_seed(seed)
    algo = d3rlpy_config.create(device="cpu")
    algo.create_impl(FRAME_SHAPE, 15)
    assert algo.impl is not None
    meta = {
        "algo": "bc",
        "config": to_dict(config),
        "d3rlpy_algo": d3rlpy_config.get_type(),
        "d3rlpy_config": algo.config.serialize(),
        "observation_shape": list(FRAME_SHAPE),
        "action_size": 15,
        "target_return": None,
        "seed": seed,
        "device": "cpu",
        "steps": 0,
        "note": "untrained: d3rlpy's initialization, for benchmarks",
    }
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    save_checkpoint(out_dir, algo.impl.modules.get_torch_modules(), meta)
    return out_dir


def round_sig(x: float, digits: int = 3) -> float:
    if x == 0 or x != x:
        return x
    from math import floor, log10

    return round(x, -int(floor(log10(abs(x)))) + digits - 1)


def fmt_rate(x: float) -> str:
    """12345.6 -> '12.3k'; 123.4 -> '123'."""
    if x >= 1e6:
        return f"{x / 1e6:.2f}M"
    if x >= 1e4:
        return f"{x / 1e3:.1f}k"
    if x >= 1e3:
        return f"{x / 1e3:.2f}k"
    if x >= 100:
        return f"{x:.0f}"
    return f"{x:.3g}"
