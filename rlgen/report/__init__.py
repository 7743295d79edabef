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

Beyond the table, for results others can build on: `episodes.csv` (the records themselves), the
(runs, tasks) score arrays in rliable's format (`rlgen.report.scores`: `.npz` + `scores.json`),
performance profiles and the probability of improvement between every pair of policies
(`rlgen.report.comparisons`), and a learning-curve figure per (dataset, learner) from the
trained runs' `train_log.csv` (`rlgen.report.curves`).

The stage is split by job: `rlgen.report.records` (the records' columns, reading, checks),
`tables`, `scores`, `comparisons` and `curves` (computing and reading), `markdown` (rendering),
`plots` (drawing); `build_report` runs them in order and `world_notes` asks each world what its
scores mean. Every public name of them is importable from `rlgen.report`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from rlgen.core.games import COBBE_RETURN_RANGES
from rlgen.report.comparisons import IMPROVEMENT_COLUMNS, PROFILE_COLUMNS, TABLE_TAUS, compute_improvement, compute_profiles
from rlgen.report.curves import CURVES_DIR, LearningCurves, collect_curves
from rlgen.report.markdown import render_mapping, render_markdown, render_stitching
from rlgen.report.plots import (
    plot_gap, plot_improvement, plot_learning_curves, plot_performance_profiles, plot_train_vs_test, save_figure,
)  # fmt: skip
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
from rlgen.report.scores import SCORES_DIR, SplitScores, collect_scores, load_score_arrays, write_score_arrays
from rlgen.worlds import world_class, world_kinds

__all__ = [
    "CONFIDENCE", "CURVES_DIR", "EPISODES_FILE", "GAP_SPLIT", "IMPROVEMENT_COLUMNS", "KINDS", "LearningCurves",
    "NORMALIZATION_TOLERANCE", "PROFILE_COLUMNS", "RANDOM_REFERENCE", "REPORT_COLUMNS", "REQUIRED_COLUMNS", "SCORES_DIR",
    "SPLITS", "STITCH_COLUMNS", "SplitScores", "TABLE_TAUS", "VERDICTS", "build_report", "check_records", "collect_curves",
    "collect_scores", "compute_checked_table", "compute_improvement", "compute_profiles", "compute_report_table",
    "compute_stitching_table", "load_records", "load_score_arrays", "plot_gap", "plot_improvement",
    "plot_learning_curves", "plot_performance_profiles", "plot_train_vs_test", "policy_order", "render_mapping",
    "render_markdown", "render_stitching", "save_figure", "world_notes", "write_score_arrays",
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


EPISODES_FILE = "episodes.csv"
PROFILES_FILE = "profiles.csv"
IMPROVEMENT_FILE = "improvement.csv"
FOLDER_FILES: tuple[str, ...] = (
    "`report.md`, `report.csv`: the tables (report.csv unrounded)",
    f"`{EPISODES_FILE}`: every evaluated episode the report read (`rlgen.report.load_records` reads it back)",
    f"`{SCORES_DIR}/<dataset>/<split>.npz` + `{SCORES_DIR}/<dataset>/scores.json`: (runs, tasks) normalized "
    "scores per policy in rliable's format (`rlgen.report.scores`)",
    f"`{PROFILES_FILE}`, `performance_profiles.png`: performance profiles per split",
    f"`{IMPROVEMENT_FILE}`, `improvement.png`: probability of improvement per pair of policies and split",
    "`train_vs_test.png`, `gap.png`: IQM per split and the generalization gap",
    f"`{CURVES_DIR}/<learner>--<dataset>.png`: training loss (and validation) per seed, from each run's `train_log.csv`",
)


def build_report(
    records: pd.DataFrame | Sequence[Mapping],
    out_dir: Path,
    *,
    provenance: Mapping,
    bootstrap_seed: int = 0,
    n_resamples: int = 2000,
    diversity: Mapping[str, str] | None = None,
    train_runs: Sequence[str | Path] = (),
) -> str:
    """Write the report folder (`FOLDER_FILES`: tables, episodes, score arrays, comparisons, plots)
    into `out_dir`; return the Markdown.

    records: per-episode evaluation records (`REQUIRED_COLUMNS`), a DataFrame (e.g. from
    `load_records`) or a list of dicts. provenance: what produced the results (configs, dataset
    manifest hashes, seeds, git revision, package versions), rendered as nested bullets and stored
    in each `scores.json`. train_runs: trained run folders whose `train_log.csv` become learning
    curves (`rlgen.report.curves`; folders without a finished run are skipped).
    The same records, provenance and seed give byte-identical CSV, Markdown and score files.
    """
    frame = check_records(records)
    table = compute_checked_table(frame, bootstrap_seed, n_resamples)
    collected = collect_scores(frame)
    improvement = compute_improvement(collected, bootstrap_seed, n_resamples)
    profiles = compute_profiles(collected, bootstrap_seed, n_resamples)
    curves = collect_curves(train_runs)
    seeds = {
        dataset: {policy: sorted(int(s) for s in group["seed"].unique()) for policy, group in by_dataset.groupby("policy")}
        for dataset, by_dataset in frame.groupby("dataset")
    }
    files = [f for f in FOLDER_FILES if curves or CURVES_DIR not in f]
    markdown = render_markdown(
        table, provenance=provenance, seeds=seeds, bootstrap_seed=bootstrap_seed, n_resamples=n_resamples,
        notes=world_notes(frame), diversity=diversity, improvement=improvement, profiles=profiles,
        profile_taus=TABLE_TAUS, files=files,
    )
    stitching = compute_stitching_table(frame, bootstrap_seed=bootstrap_seed, n_resamples=n_resamples)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if not stitching.empty:
        head, sep, rest = markdown.partition("\n## How to read these numbers")
        markdown = head + "\n".join(render_stitching(stitching)) + sep + rest
        stitching.to_csv(out_dir / "stitching.csv", index=False, float_format="%.10g", lineterminator="\n")
    table.to_csv(out_dir / "report.csv", index=False, float_format="%.10g", lineterminator="\n")
    frame.to_csv(out_dir / EPISODES_FILE, index=False, lineterminator="\n")
    improvement.to_csv(out_dir / IMPROVEMENT_FILE, index=False, float_format="%.10g", lineterminator="\n")
    profiles.to_csv(out_dir / PROFILES_FILE, index=False, float_format="%.10g", lineterminator="\n")
    write_score_arrays(collected, out_dir, provenance)
    (out_dir / "report.md").write_text(markdown, encoding="utf-8")
    plot_train_vs_test(table, out_dir / "train_vs_test.png")
    plot_gap(table, out_dir / "gap.png")
    if not profiles.empty:
        plot_performance_profiles(profiles, out_dir / "performance_profiles.png")
    if not improvement.empty:
        plot_improvement(improvement, out_dir / "improvement.png")
    if curves:
        (out_dir / CURVES_DIR).mkdir(exist_ok=True)
        for run_curves in curves:
            plot_learning_curves(run_curves, out_dir / CURVES_DIR / run_curves.file_name)
    return markdown
