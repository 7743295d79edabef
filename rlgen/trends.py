"""Scores against a swept dataset axis: the sweep report's answer to "does more X help?".

The paper's questions are about trends: test score and generalization gap as training
diversity (`levels.train`) or dataset size (`collect.transitions`) grows. A sweep's per-dataset
report table (`rlgen.report.compute_report_table`) already holds every number with its
interval; this module only regroups it: for each numeric axis that takes more than one value,
one table (rows: learner, and the values of the other axes held fixed; columns: the axis's
values) and one plot (test IQM and gap against the axis, one line per learner, one panel per
setting of the other axes). Nothing is recomputed, so each figure traces to a row of the sweep's
`report.csv`.

Given each dataset's distinct-frame count (`rlgen.data.manifest.frame_diversity`), every axis
also gets a table of them, and the size axis (`collect.transitions`) a warning where it is empty:
a deterministic expert repeats one path per level, so a dataset with more transitions from the
same levels can hold no new frame, and a "size" trend then measures repetition, not data
(`size_axis_findings`).
"""

from __future__ import annotations

import itertools
import numbers
from pathlib import Path
from typing import Any, Mapping, Sequence

import pandas as pd

from rlgen.report import GAP_SPLIT, save_figure

__all__ = ["numeric_axes", "plot_trend", "render_trends", "size_axis_findings", "trend_table", "write_trends"]

METRICS = (("test", "test IQM"), (GAP_SPLIT, "gap (train − test IQM)"))
SIZE_AXIS = "collect.transitions"
MIN_SIZE_RATIO = 2.0
"""Size-axis pairs compared: the larger dataset has at least this many times the transitions..."""
MIN_FRAME_GROWTH = 0.10
"""...and is flagged when it has less than this fraction more distinct frames than the smaller."""
SIZE_WARNING = "more transitions added no new frames: the size axis measures repetition, not data"

Diversity = Mapping[str, "Mapping[str, Any] | None"]
"""Dataset name -> its manifest's `diversity` section (None: unknown, a manifest predating it)."""


def numeric_axes(points: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Axes (override keys) whose values are all numbers and take at least two distinct values."""
    keys = sorted({k for point in points.values() for k in point})
    axes = []
    for key in keys:
        values = [point.get(key) for point in points.values()]
        if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values) and len(set(values)) > 1:
            axes.append(key)
    return axes


def trend_table(table: pd.DataFrame, points: Mapping[str, Mapping[str, Any]], axis: str) -> pd.DataFrame:
    """Learner rows of `table` (test and gap) with the dataset's value of `axis` and of every
    other axis as columns, sorted by (other axes, policy, axis value)."""
    others = sorted({k for p in points.values() for k in p} - {axis})
    rows = table[(table["kind"] == "learner") & table["split"].isin([m for m, _ in METRICS]) & table["dataset"].isin(list(points))]
    rows = rows.copy()
    for key in [axis, *others]:
        rows[key] = [_hashable(points[d].get(key)) for d in rows["dataset"]]
    return rows.sort_values([*others, "policy", axis, "split"], kind="stable").reset_index(drop=True)


def _hashable(value: Any) -> Any:
    return value if isinstance(value, (int, float, str, bool)) or value is None else str(value)


def _value(v: Any) -> str:
    """An axis value as a reader writes it: 20,000 rather than 2e+04."""
    if isinstance(v, bool) or not isinstance(v, numbers.Real):
        return str(v)
    return f"{int(v):,}" if float(v).is_integer() else f"{float(v):g}"


def _cell(row: pd.Series | None) -> str:
    if row is None:
        return "–"
    return f"{row['iqm_normalized']:.3f} [{row['iqm_ci_low']:.3f}, {row['iqm_ci_high']:.3f}]"


def _settings(rows: pd.DataFrame, others: Sequence[str]) -> list[tuple]:
    return sorted({tuple(r) for r in rows[list(others)].itertuples(index=False)}, key=str) if others else [()]


def _others(points: Mapping[str, Mapping[str, Any]], axis: str) -> list[str]:
    return sorted({k for p in points.values() for k in p} - {axis})


def _setting_of(point: Mapping[str, Any], others: Sequence[str]) -> tuple:
    return tuple(_hashable(point.get(k)) for k in others)


def size_axis_findings(
    points: Mapping[str, Mapping[str, Any]], diversity: Diversity, axis: str = SIZE_AXIS,
    min_ratio: float = MIN_SIZE_RATIO, min_growth: float = MIN_FRAME_GROWTH,
) -> list[dict]:  # fmt: skip
    """Pairs of datasets that share every other axis where the larger has >= `min_ratio` times the
    transitions but < `min_growth` more distinct frames: more of the same frames, not more data.

    Each finding: `setting` (the other axes' values), `datasets`, `transitions` and
    `distinct_frames` (smaller, larger). Datasets whose diversity is unknown are left out.
    """
    others = _others(points, axis)
    groups: dict[tuple, list[tuple[float, str, int]]] = {}
    for name, point in points.items():
        section = diversity.get(name)
        size = point.get(axis)
        if section is None or not isinstance(size, numbers.Real) or isinstance(size, bool):
            continue
        groups.setdefault(_setting_of(point, others), []).append((float(size), name, int(section["distinct_frames"])))
    findings = []
    for setting, members in sorted(groups.items(), key=lambda item: str(item[0])):
        members.sort()
        for (small, small_name, small_frames), (large, large_name, large_frames) in itertools.combinations(members, 2):
            if small > 0 and large >= min_ratio * small and large_frames < (1.0 + min_growth) * small_frames:
                findings.append({
                    "setting": dict(zip(others, setting)), "datasets": (small_name, large_name),
                    "transitions": (small, large), "distinct_frames": (small_frames, large_frames),
                })  # fmt: skip
    return findings


def _render_size_warning(findings: list[dict]) -> list[str]:
    lines = [f"> **Warning: {SIZE_WARNING}.**", ">"]
    for f in findings:
        (small, large), (fs, fl) = f["transitions"], f["distinct_frames"]
        where = ", ".join(f"{k} = {_value(v)}" for k, v in f["setting"].items())
        growth = f"{(fl - fs) / fs:+.1%}" if fs else "n/a"
        lines.append(
            f"> - {where + ': ' if where else ''}{_value(small)} → {_value(large)} transitions ({large / small:.1f}x) "
            f"hold {fs:,} → {fl:,} distinct frames ({growth}): `{f['datasets'][0]}` vs `{f['datasets'][1]}`"
        )
    lines += [
        ">",
        "> A deterministic behaviour policy repeats one path per level, so the larger dataset repeats the smaller's "
        "frames. Read these columns as repetitions of the same data; for data that grows with size, add per-step "
        "noise (`collect.policy.epsilon`) or more levels.",
        "",
    ]
    return lines


def _render_diversity(points: Mapping[str, Mapping[str, Any]], axis: str, values: list, diversity: Diversity) -> list[str]:
    """Distinct frames of each dataset (and per 1k transitions), laid out like the metric tables."""
    others = _others(points, axis)
    header = [*others, *(f"{axis} = {_value(v)}" for v in values)]
    lines = ["Distinct frames in each dataset (per 1k transitions):", "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    cells: dict[tuple, dict] = {}
    for name, point in points.items():
        section = diversity.get(name)
        text = "unknown" if section is None else f"{section['distinct_frames']:,} ({section['distinct_frames_per_1k_transitions']:.1f})"
        cells.setdefault(_setting_of(point, others), {})[_hashable(point.get(axis))] = text
    for setting in sorted(cells, key=str):
        lines.append("| " + " | ".join([*(_value(s) for s in setting), *(cells[setting].get(v, "–") for v in values)]) + " |")
    return [*lines, ""]


def render_trends(table: pd.DataFrame, points: Mapping[str, Mapping[str, Any]], axis: str, diversity: Diversity | None = None) -> list[str]:
    """Markdown: one table per metric; rows (other axes' values, learner), columns the axis's values.
    With `diversity`, a table of distinct frames first and, on the size axis, `size_axis_findings`
    as a warning above everything."""
    rows = trend_table(table, points, axis)
    others = _others(points, axis)
    values = sorted(rows[axis].unique())
    lines = [f"### Against `{axis}`", ""]
    if diversity is not None:
        findings = size_axis_findings(points, diversity) if axis == SIZE_AXIS else []
        if findings:
            lines += _render_size_warning(findings)
        lines += _render_diversity(points, axis, values, diversity)
    for split, label in METRICS:
        lines += [f"{label}, 95% CI over runs:", ""]
        header = [*others, "policy", *(f"{axis} = {_value(v)}" for v in values)]
        lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        sub = rows[rows["split"] == split]
        for setting in _settings(sub, others):
            mask = pd.Series(True, index=sub.index)
            for key, value in zip(others, setting):
                mask &= sub[key] == value
            for policy in sorted(sub[mask]["policy"].unique()):
                cells = []
                for v in values:
                    hit = sub[mask & (sub["policy"] == policy) & (sub[axis] == v)]
                    cells.append(_cell(hit.iloc[0] if len(hit) else None))
                lines.append("| " + " | ".join([*(_value(s) for s in setting), policy, *cells]) + " |")
        lines.append("")
    return lines


def plot_trend(table: pd.DataFrame, points: Mapping[str, Mapping[str, Any]], axis: str, path: Path) -> None:
    """Test IQM (top) and gap (bottom) against `axis`, a line per learner, a column per setting
    of the other axes; intervals are the report's 95% CIs over runs; log x when the values span
    a factor of 10 or more."""
    from matplotlib import rcParams
    from matplotlib.figure import Figure

    rows = trend_table(table, points, axis)
    others = sorted({k for p in points.values() for k in p} - {axis})
    settings = _settings(rows, others)
    fig = Figure(figsize=(4.2 * len(settings) + 1.0, 6.4), layout="constrained")
    axes = fig.subplots(2, len(settings), squeeze=False, sharex=True, sharey="row")
    values = sorted(rows[axis].unique())
    log = min(values) > 0 and max(values) / min(values) >= 10
    colors = dict(zip(sorted(rows["policy"].unique()), itertools.cycle(rcParams["axes.prop_cycle"].by_key()["color"])))
    for col, setting in enumerate(settings):
        mask = pd.Series(True, index=rows.index)
        for key, value in zip(others, setting):
            mask &= rows[key] == value
        for r, (split, label) in enumerate(METRICS):
            ax = axes[r][col]
            for policy, color in colors.items():
                sub = rows[mask & (rows["split"] == split) & (rows["policy"] == policy)].sort_values(axis)
                if sub.empty:
                    continue
                x = sub[axis].to_numpy(dtype=float)
                y = sub["iqm_normalized"].to_numpy(dtype=float)
                spread = [y - sub["iqm_ci_low"].to_numpy(dtype=float), sub["iqm_ci_high"].to_numpy(dtype=float) - y]
                ax.errorbar(x, y, yerr=spread, fmt="o-", color=color, capsize=3, label=policy if col == 0 and r == 0 else None)
            if split == GAP_SPLIT:
                ax.axhline(0.0, color="0.4", lw=1)
                ax.set_xlabel(axis)
            if log:
                ax.set_xscale("log")
            ax.set_xticks(values, [_value(v) for v in values])
            ax.minorticks_off()
            ax.set_ylabel(label if col == 0 else "")
            ax.grid(alpha=0.3)
            if r == 0:
                ax.set_title(", ".join(f"{k} = {_value(v)}" for k, v in zip(others, setting)) or "all datasets", fontsize=9)
    axes[0][0].legend(fontsize=8, loc="best")
    fig.suptitle(f"Normalized test IQM and generalization gap against {axis}", fontsize=11)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_figure(fig, path)


def write_trends(table: pd.DataFrame, points: Mapping[str, Mapping[str, Any]], out_dir: Path, diversity: Diversity | None = None) -> list[str]:
    """Markdown and `trend_<axis>.png` for every numeric axis of the sweep (empty when none);
    `diversity` (dataset -> manifest diversity) adds the distinct-frame tables and the size warning."""
    axes = numeric_axes(points)
    if not axes:
        return []
    lines = ["## Against the swept dataset axes", ""]
    for axis in axes:
        lines += render_trends(table, points, axis, diversity)
        name = f"trend_{axis.replace('.', '_')}.png"
        plot_trend(table, points, axis, Path(out_dir) / name)
        lines += [f"![{axis}]({name})", ""]
    return lines
