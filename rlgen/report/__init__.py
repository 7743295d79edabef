"""The report stage: per-episode evaluation records in, CSV and Markdown tables and PNG plots out.

Input: one row per evaluated episode (`REQUIRED_COLUMNS`), as written by the evaluator into one
CSV file per policy; `load_records` reads and checks them. `build_report` computes a table with
`compute_report_table` (numbers only), renders it with `render_markdown`, and draws it with
`plot_train_vs_test` and `plot_gap` (plotting never computes a statistic).

How the numbers are made, for each (policy, dataset, split):

- a *run* is one training seed (for a reference policy, one evaluation seed); a *task* is a
  (game, mode) pair. The score array is shaped (runs, tasks); each entry is that run's mean
  normalized return (Cobbe et al. 2020 min-max constants) over its episodes in the split.
- `mean_*` and `success_rate` are means of such (runs, tasks) arrays, so every run and task
  weighs the same whatever its number of episodes.
- `iqm_normalized` is the interquartile mean of the score array, with a 95% stratified
  bootstrap interval over runs (`rlgen.stats.stratified_bootstrap_ci`): seed uncertainty.
- `mean_ci_low` / `mean_ci_high` on a split row resample *levels* (within each task, pooled over
  runs; `mean_ci_over` = "levels"): the uncertainty from the finite set of levels played. The
  statistic is the mean over tasks of the mean over levels of each level's mean normalized
  return; it equals `mean_normalized` when every run plays every level equally often.
- `vs_random*` (every split row of a dataset that has a `random` reference, except random's
  own): the policy's mean normalized score minus random play's on the same levels, with a 95%
  interval from a bootstrap that resamples the policy's runs and the levels together (levels
  within tasks; random's per-level scores are averaged over its runs). `vs_random_verdict` is
  "above" when the interval lies above 0, "below" when below, else "not distinguishable":
  every learner is read against random play, and a learner that cannot beat it measures the setup.
- a gap row (split `GAP_SPLIT`) holds train minus test for the runs and tasks evaluated on
  both, with paired intervals over runs (`rlgen.stats.paired_difference_ci`,
  `mean_ci_over` = "runs (paired)"). A positive gap means worse on unseen levels.

Every bootstrap draws from its own `numpy.random.Generator`, seeded from `bootstrap_seed` and the
row's (dataset, policy, split, estimate) names. The same records therefore give a byte-identical
report.csv and report.md, in any record order, and adding a policy leaves the other rows as
they were.

The stage is split by job: `rlgen.report.records` (the records' columns, reading, checks),
`tables` (computing), `markdown` (rendering), `plots` (drawing); `build_report` runs them in
order and `world_notes` asks each world what its scores mean. Every public name of the four is
importable from `rlgen.report`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from rlgen.core.games import COBBE_RETURN_RANGES
from rlgen.report.markdown import render_mapping, render_markdown, render_stitching
from rlgen.report.plots import plot_gap, plot_train_vs_test, save_figure
from rlgen.report.records import KINDS, NORMALIZATION_TOLERANCE, REQUIRED_COLUMNS, SPLITS, check_records, load_records
from rlgen.report.tables import (
    CONFIDENCE,
    GAP_SPLIT,
    RANDOM_REFERENCE,
    REPORT_COLUMNS,
    STITCH_COLUMNS,
    VERDICTS,
    compute_checked_table,
    compute_report_table,
    compute_stitching_table,
    policy_order,
)
from rlgen.worlds import world_class, world_kinds

__all__ = [
    "CONFIDENCE", "GAP_SPLIT", "KINDS", "NORMALIZATION_TOLERANCE", "RANDOM_REFERENCE", "REPORT_COLUMNS", "REQUIRED_COLUMNS",
    "SPLITS", "STITCH_COLUMNS", "VERDICTS", "build_report", "check_records", "compute_checked_table", "compute_report_table",
    "compute_stitching_table", "load_records", "plot_gap", "plot_train_vs_test", "policy_order", "render_mapping",
    "render_markdown", "render_stitching", "save_figure", "world_notes",
]

def world_notes(frame: pd.DataFrame) -> dict[str, list[str]]:
    """{dataset: notes} from the worlds of the records' tasks: a world's `report_note`, looked up
    in the world registry by the record's `game` (which non-Procgen worlds set to their kind),
    e.g. WebShop's score scale and its generated-catalog caveat."""
    notes: dict[str, list[str]] = {}
    for (dataset, game), _ in frame.groupby(["dataset", "game"], sort=True):
        if game in COBBE_RETURN_RANGES or game not in world_kinds():
            continue
        note = getattr(world_class(game), "report_note", None)
        if note:
            notes.setdefault(dataset, []).append(note)
    return notes


def build_report(
    records: pd.DataFrame | Sequence[Mapping],
    out_dir: Path,
    *,
    provenance: Mapping,
    bootstrap_seed: int = 0,
    n_resamples: int = 2000,
    diversity: Mapping[str, str] | None = None,
) -> str:
    """Write report.csv, report.md, train_vs_test.png and gap.png into `out_dir`; return the Markdown.

    records: per-episode evaluation records (`REQUIRED_COLUMNS`), a DataFrame (e.g. from
    `load_records`) or a list of dicts. provenance: what produced the results (configs, dataset
    manifest hashes, seeds, git revision, package versions), rendered as nested bullets.
    The same records, provenance and seed give byte-identical report.csv and report.md.
    """
    frame = check_records(records)
    table = compute_checked_table(frame, bootstrap_seed, n_resamples)
    seeds = {
        dataset: {policy: sorted(int(s) for s in group["seed"].unique()) for policy, group in by_dataset.groupby("policy")}
        for dataset, by_dataset in frame.groupby("dataset")
    }
    markdown = render_markdown(
        table, provenance=provenance, seeds=seeds, bootstrap_seed=bootstrap_seed, n_resamples=n_resamples,
        notes=world_notes(frame), diversity=diversity,
    )
    stitching = compute_stitching_table(frame, bootstrap_seed=bootstrap_seed, n_resamples=n_resamples)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if not stitching.empty:
        head, sep, rest = markdown.partition("\n## How to read these numbers")
        markdown = head + "\n".join(render_stitching(stitching)) + sep + rest
        stitching.to_csv(out_dir / "stitching.csv", index=False, float_format="%.10g", lineterminator="\n")
    table.to_csv(out_dir / "report.csv", index=False, float_format="%.10g", lineterminator="\n")
    (out_dir / "report.md").write_text(markdown, encoding="utf-8")
    plot_train_vs_test(table, out_dir / "train_vs_test.png")
    plot_gap(table, out_dir / "gap.png")
    return markdown
