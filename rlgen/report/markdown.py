"""Rendering the computed tables as Markdown (report.md): tables, provenance, notes, the reading guide."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from rlgen.report.records import KINDS, SPLITS
from rlgen.report.tables import CONFIDENCE, GAP_SPLIT, policy_order

def format_number(value: float) -> str:
    text = f"{value:.3f}"
    return "0.000" if text == "-0.000" else text


def _estimate(row: pd.Series | None, point: str, low: str, high: str) -> str:
    if row is None:
        return "—"
    return f"{format_number(row[point])} [{format_number(row[low])}, {format_number(row[high])}]"


def markdown_table(header: Sequence[str], body: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(cells) + " |" for cells in body]
    return lines


def _scalar(value: object) -> str:
    text = str(value)
    fence = "``" if "`" in text else "`"
    pad = " " if "`" in text else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def render_mapping(data: object, indent: int = 0) -> list[str]:
    """A nested mapping (or list) as Markdown bullet lines, in the mapping's own order."""
    pad = "  " * indent
    lines: list[str] = []
    if isinstance(data, Mapping):
        if not data:
            return [f"{pad}- (empty)"]
        for key, value in data.items():
            if isinstance(value, Mapping) or (isinstance(value, (list, tuple)) and any(
                isinstance(v, (Mapping, list, tuple)) for v in value
            )):
                lines.append(f"{pad}- **{key}**:" + ("" if value else " (empty)"))
                if value:
                    lines += render_mapping(value, indent + 1)
            elif isinstance(value, (list, tuple)):
                lines.append(f"{pad}- **{key}**: " + (", ".join(_scalar(v) for v in value) or "(empty)"))
            else:
                lines.append(f"{pad}- **{key}**: {_scalar(value)}")
    elif isinstance(data, (list, tuple)):
        for i, item in enumerate(data):
            if isinstance(item, (Mapping, list, tuple)):
                lines.append(f"{pad}- item {i + 1}:")
                lines += render_mapping(item, indent + 1)
            else:
                lines.append(f"{pad}- {_scalar(item)}")
    else:
        lines.append(f"{pad}- {_scalar(data)}")
    return lines


def policy_label(policy: str, kind: str) -> str:
    return f"{policy} *(reference)*" if kind == "reference" else policy


def _render_vs_random(by_dataset: pd.DataFrame, rows: Mapping, level: int) -> list[str]:
    """The table that reads every policy against random play, with the verdict in words."""
    body = []
    for policy in policy_order(by_dataset):
        cells = [rows.get((policy, split)) for split in SPLITS]
        if all(c is None or pd.isna(c.vs_random) for c in cells):
            continue
        kind = by_dataset.loc[by_dataset["policy"] == policy, "kind"].iloc[0]
        body.append([
            policy_label(policy, kind),
            *("—" if c is None or pd.isna(c.vs_random)
              else f"{c.vs_random:+.3f} [{format_number(c.vs_random_ci_low)}, {format_number(c.vs_random_ci_high)}] {c.vs_random_verdict}"
              for c in cells),
        ])  # fmt: skip
    if not body:
        return []
    lines = [f"Against random play: mean normalized score minus random's on the same levels [{level}% CI over runs and levels]:", ""]
    return lines + markdown_table(["Policy", "Train", "Validation", "Test"], body) + [""]


def _render_improvement(improvement: pd.DataFrame, level: int) -> list[str]:
    """P(X > Y) per pair of policies (rows) and split (columns), for one dataset."""
    if improvement.empty:
        return []
    cells = {(r.policy_x, r.policy_y, r.split): r for r in improvement.itertuples(index=False)}
    pairs = list(dict.fromkeys(zip(improvement["policy_x"], improvement["policy_y"])))
    splits = [s for s in SPLITS if (improvement["split"] == s).any()]
    body = []
    for x, y in pairs:
        row = [f"{x} > {y}"]
        for split in splits:
            c = cells.get((x, y, split))
            row.append("—" if c is None else f"{format_number(c.probability)} [{format_number(c.ci_low)}, {format_number(c.ci_high)}]")
        body.append(row)
    lines = [f"Probability of improvement P(X > Y) [{level}% CI over runs] (0.5: neither tends to beat the other):", ""]
    return lines + markdown_table(["Pair", *(s.capitalize() for s in splits)], body) + [""]


def _render_profile(profiles: pd.DataFrame, taus: Sequence[float], level: int) -> list[str]:
    """Fraction of test runs above each tau of `taus`, per policy, for one dataset."""
    test = profiles[profiles["split"] == "test"]
    if test.empty:
        return []
    body = []
    for policy in policy_order(test):
        mine = test[test["policy"] == policy]
        row = [policy_label(policy, mine["kind"].iloc[0])]
        for tau in taus:
            at = mine[np.isclose(mine["tau"], tau)]
            row.append("—" if at.empty else f"{format_number(at['fraction'].iloc[0])} [{format_number(at['ci_low'].iloc[0])}, {format_number(at['ci_high'].iloc[0])}]")
        body.append(row)
    lines = [f"Performance profile on test levels: fraction of (run, task) scores above τ [{level}% CI over runs]:", ""]
    return lines + markdown_table(["Policy", *(f"τ = {t:g}" for t in taus)], body) + [""]


def render_markdown(
    table: pd.DataFrame,
    *,
    provenance: Mapping,
    seeds: Mapping[str, Mapping[str, Sequence[int]]] | None = None,
    bootstrap_seed: int = 0,
    n_resamples: int = 2000,
    notes: Mapping[str, Sequence[str]] | None = None,
    diversity: Mapping[str, str] | None = None,
    improvement: pd.DataFrame | None = None,
    profiles: pd.DataFrame | None = None,
    profile_taus: Sequence[float] = (),
    files: Sequence[str] = (),
) -> str:
    """The report as Markdown: per dataset, an IQM table (train, validation, test, gap) and a
    mean table with level intervals; a legend; then the data, seeds and provenance behind it.

    improvement / profiles: optional `rlgen.report.comparisons` tables, rendered per dataset (the
    probability of improvement on every split; the test profile at `profile_taus`).
    files: optional lines describing the report folder's files, listed in a section of their own.

    seeds: optional {dataset: {policy: [run seeds]}} listed in the data section.
    notes: optional {dataset: [notes]} printed under the dataset's heading, with a success rate
    per split table (`world_notes`: what a non-Procgen world says its scores mean).
    diversity: optional {dataset: what its manifest says of its distinct frames}
    (`rlgen.data.manifest.describe_diversity`), printed under the dataset's tables.
    """
    level = int(round(CONFIDENCE * 100))
    lines = ["# rlgen report", ""]
    for dataset, by_dataset in table.groupby("dataset", sort=True):
        sha = by_dataset["dataset_sha256"].iloc[0]
        lines += [f"## Dataset `{dataset}`", "", f"Manifest sha256: `{sha}`", ""]
        rows = {(r.policy, r.split): r for r in by_dataset.itertuples(index=False)}
        iqm_body, mean_body = [], []
        for policy in policy_order(by_dataset):
            kind = by_dataset.loc[by_dataset["policy"] == policy, "kind"].iloc[0]
            cells = {
                split: pd.Series(rows[(policy, split)]._asdict()) if (policy, split) in rows else None
                for split in (*SPLITS, GAP_SPLIT)
            }
            runs = sorted({int(c["n_runs"]) for s, c in cells.items() if c is not None and s in SPLITS})
            iqm_body.append([
                policy_label(policy, kind),
                "/".join(map(str, runs)),
                *(_estimate(cells[s], "iqm_normalized", "iqm_ci_low", "iqm_ci_high") for s in (*SPLITS, GAP_SPLIT)),
            ])
            test = cells["test"]
            mean_body.append([
                policy_label(policy, kind),
                *(_estimate(cells[s], "mean_normalized", "mean_ci_low", "mean_ci_high") for s in SPLITS),
                "—" if test is None else format_number(test["success_rate"]),
            ])
        lines += [f"Normalized IQM [{level}% CI over runs]:", ""]
        lines += markdown_table(["Policy", "Runs", "Train", "Validation", "Test", "Gap (train − test)"], iqm_body)
        lines += ["", f"Mean normalized score [{level}% CI over levels] and test success rate:", ""]
        lines += markdown_table(["Policy", "Train", "Validation", "Test", "Test success"], mean_body)
        lines.append("")
        lines += _render_vs_random(by_dataset, rows, level)
        if improvement is not None:
            lines += _render_improvement(improvement[improvement["dataset"] == dataset], level)
        if profiles is not None:
            lines += _render_profile(profiles[profiles["dataset"] == dataset], profile_taus, level)
        if (diversity or {}).get(dataset):
            lines += [f"Data: {diversity[dataset]}.", ""]
        if (notes or {}).get(dataset):
            success_body = [
                [policy_label(p, by_dataset.loc[by_dataset["policy"] == p, "kind"].iloc[0]),
                 *("—" if (p, s) not in rows else format_number(rows[(p, s)].success_rate) for s in SPLITS)]
                for p in policy_order(by_dataset)
            ]  # fmt: skip
            lines += ["Success rate per split (mean over runs):", ""]
            lines += markdown_table(["Policy", "Train", "Validation", "Test"], success_body)
            lines += ["", *(f"> **Note.** {note}" for note in notes[dataset]), ""]

    lines += [
        "## How to read these numbers",
        "",
        "- Scores are returns min-max normalized per game with the Cobbe et al. (2020) constants: "
        "0 is the game's minimum return, 1 its maximum. Other environments score episodes their own way "
        "(the note under such a dataset says how).",
        "- A run is one training seed (for a reference, one evaluation seed); a task is a (game, mode) "
        "pair. Each (run, task) score is the run's mean normalized return over that split's episodes.",
        "- IQM is the interquartile mean of all (run, task) scores: the mean after dropping the lowest "
        "and highest quarter (floor(n/4) each). Brackets after it are "
        f"{level}% stratified-bootstrap percentile intervals over runs (resampled within each task): "
        "the uncertainty from the number of training seeds. With one run the interval collapses to the "
        "point and says nothing about seed variance.",
        "- Gap (train − test) is IQM on training levels minus IQM on unseen test levels, over the runs "
        "evaluated on both; its interval resamples the same runs for both splits (paired). A positive gap "
        "means the policy does worse on levels it has not seen.",
        "- The mean table's intervals resample evaluation levels (within each task, pooled over runs): "
        "the uncertainty from the finite set of levels played.",
        "- Against random play: each policy's mean normalized score minus the random policy's on the same "
        "levels; the interval resamples the policy's runs and the levels together. *above* / *below*: the "
        "interval excludes 0; *not distinguishable*: it does not, and no claim of beating (or losing to) "
        "random play can be read from that split.",
        "- Reference rows (*(reference)*) are not trained on the dataset: a random policy, the "
        "behaviour policy that collected it, or a world's own (`ppo`: the online PPO policy trained on the "
        "same training levels; WebShop's `oracle` and `rule`). They mark the floor, the data's own skill "
        "and what online training or the task's rules reach.",
        "- Probability of improvement P(X > Y): the chance that a random run of X scores higher than a "
        "random run of Y on a task (ties count half), averaged over tasks; its interval redraws X's and Y's "
        "runs independently. It says how often, not by how much; with few runs its interval is wide.",
        "- Performance profile: the fraction of (run, task) scores above a threshold τ, with a band from the "
        "same bootstrap over runs. With n runs on one task it moves in steps of 1/n.",
        f"- Bootstrap: {n_resamples} resamples, seed {bootstrap_seed}; report.csv holds every number "
        "unrounded.",
        "",
        "## Data and seeds",
        "",
    ]
    for dataset, by_dataset in table.groupby("dataset", sort=True):
        lines.append(f"- **{dataset}**: manifest sha256 {_scalar(by_dataset['dataset_sha256'].iloc[0])}")
        for policy in policy_order(by_dataset):
            policy_seeds = (seeds or {}).get(dataset, {}).get(policy)
            if policy_seeds is not None:
                kind = by_dataset.loc[by_dataset["policy"] == policy, "kind"].iloc[0]
                what = "evaluation seeds" if kind == "reference" else "training seeds"
                lines.append(f"  - {policy} ({what}): " + ", ".join(str(s) for s in policy_seeds))
    if files:
        lines += ["", "## Files in this folder", "", *(f"- {line}" for line in files)]
    lines += ["", "## Provenance", ""]
    lines += render_mapping(dict(provenance)) if provenance else ["- (none given)"]
    lines.append("")
    return "\n".join(lines)



def render_stitching(table: pd.DataFrame) -> list[str]:
    """The stitching table as Markdown lines: one row per (policy, dataset), columns (pair kind, split)."""
    if table.empty:
        return []
    level = int(round(CONFIDENCE * 100))
    columns = [(p, s) for p in ("stitch", "ordinary") for s in SPLITS if ((table["pairs"] == p) & (table["split"] == s)).any()]
    header = ["Policy", "Dataset", "Runs", *(f"{p} pairs, {s} levels" for p, s in columns)]
    body = []
    kinds = table.groupby("policy")["kind"].first()
    policies = sorted(kinds.index, key=lambda q: (KINDS.index(kinds[q]), q))
    for policy in policies:
        for dataset, sub in table[table["policy"] == policy].groupby("dataset", sort=True):
            cells = {(r.pairs, r.split): r for r in sub.itertuples(index=False)}
            body.append([
                policy_label(policy, kinds[policy]), f"`{dataset}`", str(int(sub["n_runs"].max())),
                *("—" if c not in cells else f"{format_number(cells[c].success_rate)} [{format_number(cells[c].success_ci_low)}, "
                  f"{format_number(cells[c].success_ci_high)}]" for c in columns),
            ])  # fmt: skip
    return [
        "",
        "## Stitching: success rate",
        "",
        f"Success rate [{level}% CI over runs] on stitching test pairs (start and goal never together in one "
        "training trajectory; audited) and on ordinary pairs (as the behaviour's own tasks), on training and "
        "unseen levels. A dataset name ending in `-aug...` is the stitching-augmented variant.",
        "",
        *markdown_table(header, body),
        "",
    ]


