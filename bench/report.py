"""BENCHMARKS.md from the result rows in bench/results/*.json (see `bench.common` for a row).

Every table is rewritten from the rows; nothing in BENCHMARKS.md is edited by hand. A row of
another shape (the sampler's, written by its own script) is shown from what it holds: its
targets if it lists them as rlgen's rows do, else its figures.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench.common import REPO, RESULTS_DIR

# Rows in issue order; any other row found is appended after them.
ORDER = ("collect", "storage", "sampler", "training", "evaluate", "webshop", "planners", "experts")
SECTION = {
    "collect": "1. Collection",
    "storage": "2. Storage",
    "sampler": "3. Out-of-core sampling",
    "training": "4. Training overhead",
    "evaluate": "5. Evaluation",
    "webshop": "6. WebShop environment speed",
}
RUNNER = "../shared/bin/offline .venv/bin/python -m bench"

GPU_SECTION = """\
## GPU figures (NVIDIA H200): measured once, not rerun by `python -m bench`

Measured on 2026-11-29 by an earlier helper on one NVIDIA H200 with the training benchmark
(then `rlgen/learn/bench.py`, now `bench/bench_training.py`), with random frames (`--synthetic`:
that machine has no Procgen; a step's cost does not depend on the pixels). Gradient steps/s,
each learner's whole training loop (d3rlpy buffer sampling on the CPU plus the update on the GPU):

| sizes | bare torch | BC | CQL | DT |
|---|---|---|---|---|
| small: batch 32 (DT: batch 16, 2 layers, 4 heads, context 8) | 200 | 127 | 67 | 56 |
| defaults: BC / CQL batch 256; DT batch 128 x context 20, 6 layers | 167 (batch 256) | 36 | 38 | 9.2 |

On the GPU the bottleneck is d3rlpy's buffer sampling, which runs on the CPU: about 36 ms per
256 transitions and about 190 ms per decision-transformer batch of 128 x 20; at the defaults BC
and CQL spend most of each step waiting for it (36 steps/s against 167 for the bare step), and
the decision transformer almost all. Command there:
`python bench/bench_training.py --device cuda:0 --synthetic --sizes small|paper --steps 200`.
"""


QUICKSTART_TRAINING_SECTION = """\
## Training samples/s at the quickstart's sizes (issue 16)

From the quickstart run of 2026-12-03 (`rlgen run configs/quickstart.yaml`, 3 seeds, two training
tasks side by side on 2 cores, one torch thread each, IMPALA 8/16/16): `steps_per_second` in each
run's `learner.json` (sampling included, validation off) times the samples a step consumes.

| learner (quickstart sizes) | steps/s (3 seeds) | samples/s |
|---|---|---|
| BC, batch 64 | 9.1 / 9.4 / 13.6 | 585-870 |
| CQL, batch 32 | 8.4 / 9.3 / 10.3 | 268-330 |
| DT, 8 sequences of 8 | 7.9 / 8.1 / 11.2 | 508-715 |

The same figures as a benchmark, each against a bare torch step in the same command
(`../shared/bin/offline .venv/bin/python bench/bench_training.py --sizes quickstart`, 17 s, run
2026-12-03 while the test suite shared the 2 cores):

| learner (quickstart sizes) | steps/s | samples/s | against the bare torch step |
|---|---|---|---|
| BC, batch 64 | 14.17 | 907 | 0.62x |
| CQL, batch 32 | 9.03 | 289 | 0.40x |
| DT, 8 sequences of 8 (2 layers, 4 heads) | 11.23 | 718 | 0.49x |

The d3rlpy BC update against the bare step (batch 32): 22.47 vs 22.83 steps/s, overhead 1.02x
(target <= 1.25x: met). The whole-loop figures include sampling the minibatch.
"""


def load_rows(results_dir: Path | None = None) -> dict[str, dict]:
    """Every result row in `results_dir` (default bench/results), by name. The sampler's row is
    taken from bench/results when `results_dir` lacks it (its script always writes there)."""
    folder = Path(results_dir) if results_dir else RESULTS_DIR
    paths = sorted(folder.glob("*.json")) if folder.is_dir() else []
    if not any(p.stem == "sampler" for p in paths) and (RESULTS_DIR / "sampler.json").exists():
        paths.append(RESULTS_DIR / "sampler.json")
    rows: dict[str, dict] = {}
    for path in paths:
        try:
            row = json.loads(path.read_text())
        except json.JSONDecodeError as exc:
            row = {"name": path.stem, "error": f"{path} is not valid JSON: {exc}"}
        if not isinstance(row, dict):
            row = {"name": path.stem, "error": f"{path} holds no JSON object"}
        rows[path.stem] = row
    return rows


def render(rows: dict[str, dict]) -> str:
    names = [n for n in ORDER if n in rows] + sorted(n for n in rows if n not in ORDER)
    out = [
        "# Benchmarks",
        "",
        "Each figure is a ratio against a baseline run in the same command on the same machine, as the",
        "design asks (collection against the raw env loop, a training step against a bare torch loop, ...).",
        "This file is generated: `" + RUNNER + "` runs every script in `bench/` (each",
        "writes `bench/results/<name>.json`) and rewrites it; `" + RUNNER + " --report-only`",
        "rewrites it from the rows already there. One script alone: the command in its section.",
        "",
        "The machine: 2 CPU cores, no GPU, shared with other agents running heavy work at the same time;",
        "the load average before and after each script is in its row. Both sides of a ratio ran under",
        "that load, in alternating rounds (A-B-B-A) where a script says so, but timings of seconds on a",
        "shared machine still move by 10-20% from run to run.",
        "",
        "Ray starts its worker processes at nice 15 (`worker_niceness`), so on a shared machine its actors",
        "yield the cores to every other process while a baseline process runs at nice 0: in the first runs",
        "here that alone halved the collection ratios. The benchmarks start Ray with `RAY_worker_niceness=0`",
        "so that both sides compete on equal terms (each row records the workers' niceness). On a machine",
        "of its own rlgen is unaffected; on a shared one, `RAY_worker_niceness=0` gives its actors the",
        "same share as other work.",
        "",
        "## Targets",
        "",
        "| # | target | figure | ratio | wanted | met | date |",
        "|---|---|---|---|---|---|---|",
    ]
    unmet: list[str] = []
    for name in names:
        row = rows[name]
        number = SECTION.get(name, name).split(".")[0]
        for t in _targets(row):
            out.append(
                f"| {number} | {t['what']} | {t['figure']} | {_num(t.get('ratio'))} | {t.get('target', '')} | "
                f"{'yes' if t.get('met') else '**no**'} | {_date(row)} |"
            )
            if not t.get("met") and (t.get("reason") or t.get("close")):
                unmet.append(f"- **{t['what']}** ({_num(t.get('ratio'))}, wanted {t.get('target', '')}): {t.get('reason', '')}. "
                             f"What would close it: {t.get('close', '')}.")  # fmt: skip
        if not _targets(row):
            out.append(f"| {number} | {row.get('title', name)} | see its section | | | | {_date(row)} |")
    if unmet:
        out += ["", "Not met, why, and what would close it:", "", *unmet]
    for name in names:
        out += ["", *_section(name, rows[name])]
    out += ["", GPU_SECTION.rstrip(), "", QUICKSTART_TRAINING_SECTION.rstrip()]
    return "\n".join(out) + "\n"


def _section(name: str, row: dict) -> list[str]:
    lines = [f"## {SECTION.get(name, row.get('title', name))}", ""]
    if "error" in row:
        return lines + [row["error"]]
    lines.append(f"`{row.get('command', '?')}` on {_date(row)}" + _load(row) + ".")
    for table in row.get("tables", []):
        lines += ["", f"{table['title']}:", "", "| " + " | ".join(table["columns"]) + " |", "|" + "---|" * len(table["columns"])]
        lines += ["| " + " | ".join(str(c) for c in r) + " |" for r in table["rows"]]
    if not row.get("tables") and isinstance(row.get("figures"), dict):
        flat = _flatten(row["figures"])
        if flat:
            lines += ["", "| figure | value |", "|---|---|", *(f"| {k} | {_num(v)} |" for k, v in flat)]
    notes = row.get("notes") or []
    if isinstance(notes, str):
        notes = [notes]
    if notes:
        lines += [""] + [f"- {n}" for n in notes]
    return lines


def _targets(row: dict) -> list[dict]:
    targets = row.get("targets")
    if isinstance(targets, list) and all(isinstance(t, dict) and "what" in t for t in targets):
        return targets
    if isinstance(targets, dict):  # {name: {...}} from a script of another shape
        return [{"what": k, "figure": v.get("figure", ""), **v} for k, v in targets.items() if isinstance(v, dict)]
    if "ratio" in row:  # a single-figure row
        return [{"what": row.get("title", row.get("name", "?")), "figure": row.get("figure", ""), "ratio": row["ratio"],
                 "target": row.get("target", ""), "met": row.get("met", False)}]  # fmt: skip
    return []


def _flatten(figures: dict, prefix: str = "") -> list[tuple[str, Any]]:
    items: list[tuple[str, Any]] = []
    for k, v in figures.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            items += _flatten(v, key + ".")
        elif isinstance(v, (int, float, str, bool)) or v is None:
            items.append((key, v))
    return items


def _num(v: Any) -> str:
    if isinstance(v, bool) or v is None:
        return "" if v is None else str(v)
    if isinstance(v, float):
        return f"{v:.3g}" if abs(v) < 1000 else f"{v:,.0f}"
    return str(v)


def _date(row: dict) -> str:
    return str(row.get("date", "?"))[:16].replace("T", " ")


def _load(row: dict) -> str:
    m = row.get("machine") or {}
    if "loadavg_start" in m and "loadavg_end" in m:
        return f" (load average {m['loadavg_start'][0]} before, {m['loadavg_end'][0]} after; {m.get('git_revision', '')})"
    return ""


def write_benchmarks(results_dir: Path | None = None, output: Path | None = None) -> Path:
    output = Path(output) if output else REPO / "BENCHMARKS.md"
    text = render(load_rows(results_dir))
    tmp = output.with_name(f".{output.name}.tmp")
    tmp.write_text(text)
    tmp.replace(output)
    return output
