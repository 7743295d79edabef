"""Computing the report's tables from checked records: numbers only, nothing rendered or drawn.

See `rlgen.report` for how each number is made (runs x tasks score arrays, IQM and stratified
bootstrap intervals, the paired gap, the reading against random play) and
`compute_stitching_table` for the stitching worlds' success table.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from rlgen import stats
from rlgen.report.records import KINDS, SPLITS, SUCCESS_FLOAT, TASK_COLUMNS, check_records
from rlgen.worlds import stitching_kinds

GAP_SPLIT = "gap (train - test)"
CONFIDENCE = 0.95
REPORT_COLUMNS: tuple[str, ...] = (
    "dataset",
    "dataset_sha256",
    "policy",
    "kind",
    "split",
    "n_runs",
    "n_tasks",
    "n_levels",
    "n_episodes",
    "mean_return",
    "mean_normalized",
    "mean_ci_low",
    "mean_ci_high",
    "mean_ci_over",
    "iqm_normalized",
    "iqm_ci_low",
    "iqm_ci_high",
    "success_rate",
    "vs_random",
    "vs_random_ci_low",
    "vs_random_ci_high",
    "vs_random_verdict",
)
_INT_COLUMNS = ("n_runs", "n_tasks", "n_levels", "n_episodes")

def bootstrap_rng(bootstrap_seed: int, *key: str) -> np.random.Generator:
    """A generator for one bootstrap, seeded from the report seed and the names of what it measures."""
    digest = zlib.crc32("\x1f".join(key).encode("utf-8"))
    return np.random.default_rng([bootstrap_seed, digest])


def score_matrix(episodes: pd.DataFrame, column: str, label: str) -> pd.DataFrame:
    """(runs, tasks) table of per-(seed, task) means of `column`; every run must cover every task."""
    table = episodes.groupby(["seed", *TASK_COLUMNS], sort=True)[column].mean().unstack(TASK_COLUMNS)
    if table.isna().any().any():
        seed, task = next((s, t) for s in table.index for t in table.columns if pd.isna(table.at[s, t]))
        raise ValueError(
            f"{label}: seed {seed} has no episodes on task {'/'.join(task)} while other seeds do; "
            "every run must be evaluated on every task of a split"
        )
    return table.astype(np.float64)


def _level_interval(
    episodes: pd.DataFrame, rng: np.random.Generator, n_resamples: int
) -> stats.ConfidenceInterval:
    """Interval over levels of the mean over tasks of each task's mean per-level score."""
    per_level = episodes.groupby([*TASK_COLUMNS, "level_seed"], sort=True)["normalized_return"].mean()
    tasks = per_level.index.droplevel("level_seed").map("/".join).to_numpy()
    _, task_index, levels_per_task = np.unique(tasks, return_inverse=True, return_counts=True)
    # Resampling within tasks keeps each task's level count, so scaling a level's value by
    # n_levels / (n_tasks * levels in its task) makes the plain mean weigh every task equally.
    scale = tasks.size / (levels_per_task.size * levels_per_task[task_index])
    return stats.bootstrap_ci_over_units(
        per_level.to_numpy() * scale, stats.mean, strata=task_index, rng=rng,
        n_resamples=n_resamples, confidence=CONFIDENCE,
    )


def _split_row(
    episodes: pd.DataFrame, key: tuple[str, str, str], bootstrap_seed: int, n_resamples: int
) -> dict:
    dataset, policy, split = key
    label = f"policy {policy!r}, dataset {dataset!r}, split {split!r}"
    normalized = score_matrix(episodes, "normalized_return", label).to_numpy()
    iqm_ci = stats.stratified_bootstrap_ci(
        normalized, stats.iqm, rng=bootstrap_rng(bootstrap_seed, *key, "iqm over runs"),
        n_resamples=n_resamples, confidence=CONFIDENCE,
    )
    level_ci = _level_interval(episodes, bootstrap_rng(bootstrap_seed, *key, "mean over levels"), n_resamples)
    return {
        "split": split,
        "n_runs": normalized.shape[0],
        "n_tasks": normalized.shape[1],
        "n_levels": len(episodes.groupby([*TASK_COLUMNS, "level_seed"])),
        "n_episodes": len(episodes),
        "mean_return": stats.mean(score_matrix(episodes, "return", label).to_numpy()),
        "mean_normalized": stats.mean(normalized),
        "mean_ci_low": level_ci.low,
        "mean_ci_high": level_ci.high,
        "mean_ci_over": "levels",
        "iqm_normalized": stats.iqm(normalized),
        "iqm_ci_low": iqm_ci.low,
        "iqm_ci_high": iqm_ci.high,
        "success_rate": stats.mean(score_matrix(episodes, SUCCESS_FLOAT, label).to_numpy()),
    }


def _gap_row(
    train: pd.DataFrame, test: pd.DataFrame, key: tuple[str, str], bootstrap_seed: int, n_resamples: int
) -> dict | None:
    dataset, policy = key
    label = f"policy {policy!r}, dataset {dataset!r}"
    matrices = {}
    for column in ("normalized_return", "return", SUCCESS_FLOAT):
        a = score_matrix(train, column, f"{label}, split 'train'")
        b = score_matrix(test, column, f"{label}, split 'test'")
        runs = a.index.intersection(b.index)
        tasks = a.columns.intersection(b.columns)
        if runs.empty or tasks.empty:
            return None
        matrices[column] = (a.loc[runs, tasks].to_numpy(), b.loc[runs, tasks].to_numpy())
    a, b = matrices["normalized_return"]
    iqm_ci = stats.paired_difference_ci(
        a, b, stats.iqm, rng=bootstrap_rng(bootstrap_seed, *key, GAP_SPLIT, "iqm over runs"),
        n_resamples=n_resamples, confidence=CONFIDENCE,
    )
    mean_ci = stats.paired_difference_ci(
        a, b, stats.mean, rng=bootstrap_rng(bootstrap_seed, *key, GAP_SPLIT, "mean over runs"),
        n_resamples=n_resamples, confidence=CONFIDENCE,
    )

    def diff(column: str) -> float:
        x, y = matrices[column]
        return stats.mean(x) - stats.mean(y)

    return {
        "split": GAP_SPLIT,
        "n_runs": a.shape[0],
        "n_tasks": a.shape[1],
        "n_levels": pd.NA,
        "n_episodes": pd.NA,
        "mean_return": diff("return"),
        "mean_normalized": diff("normalized_return"),
        "mean_ci_low": mean_ci.low,
        "mean_ci_high": mean_ci.high,
        "mean_ci_over": "runs (paired)",
        "iqm_normalized": stats.iqm(a) - stats.iqm(b),
        "iqm_ci_low": iqm_ci.low,
        "iqm_ci_high": iqm_ci.high,
        "success_rate": diff(SUCCESS_FLOAT),
    }


RANDOM_REFERENCE = "random"
VERDICTS = ("above", "below", "not distinguishable")
_TIE = 1e-12


def _per_level(episodes: pd.DataFrame, by: list[str]) -> pd.Series:
    return episodes.groupby([*by, *TASK_COLUMNS, "level_seed"], sort=True)["normalized_return"].mean()


def _vs_random(
    episodes: pd.DataFrame, random: pd.DataFrame, rng: np.random.Generator, n_resamples: int
) -> dict:
    """Mean normalized score minus random play's on the levels both played, with an interval that
    resamples the policy's runs and the levels (within tasks) together; see the module docstring."""
    policy = _per_level(episodes, ["seed"]).unstack(["seed"])  # (levels, runs)
    floor = _per_level(random, []).reindex(policy.index)
    keep = policy.notna().all(axis=1) & floor.notna()
    if not keep.any():
        return {"vs_random": np.nan, "vs_random_ci_low": np.nan, "vs_random_ci_high": np.nan, "vs_random_verdict": pd.NA}
    scores, floor = policy[keep].to_numpy(np.float64), floor[keep].to_numpy(np.float64)
    tasks = policy.index[keep].droplevel("level_seed").map("/".join).to_numpy()
    _, task_index, per_task = np.unique(tasks, return_inverse=True, return_counts=True)
    weight = tasks.size / (per_task.size * per_task[task_index])  # every task weighs the same
    levels, runs = scores.shape
    point = float(np.mean((scores.mean(axis=1) - floor) * weight))
    level_idx = np.empty((n_resamples, levels), dtype=np.int64)
    for members in (np.flatnonzero(task_index == t) for t in range(per_task.size)):
        level_idx[:, members] = members[rng.integers(0, members.size, size=(n_resamples, members.size))]
    run_idx = rng.integers(0, runs, size=(n_resamples, 1, runs))
    sample = scores[level_idx[:, :, None], run_idx].mean(axis=2) - floor[level_idx]  # (resamples, levels)
    draws = np.mean(sample * weight[level_idx], axis=1)
    low, high = (float(v) for v in np.quantile(draws, [(1 - CONFIDENCE) / 2, (1 + CONFIDENCE) / 2]))
    # float summation order can leave an exact tie at +-1e-17: no evidence either way
    verdict = VERDICTS[0] if low > _TIE else VERDICTS[1] if high < -_TIE else VERDICTS[2]
    return {"vs_random": point, "vs_random_ci_low": low, "vs_random_ci_high": high, "vs_random_verdict": verdict}


def policy_order(table: pd.DataFrame) -> list[str]:
    """Policies as reports list them: learners first, then references, each alphabetically."""
    kinds = table.groupby("policy")["kind"].first()
    return sorted(kinds.index, key=lambda p: (KINDS.index(kinds[p]), p))


def compute_report_table(
    records: pd.DataFrame | Sequence[Mapping], *, bootstrap_seed: int = 0, n_resamples: int = 2000
) -> pd.DataFrame:
    """One row per (dataset, policy, split) plus a gap row per (dataset, policy); `REPORT_COLUMNS`.

    Rows are ordered by dataset, then learners before references, policy name, and split
    (train, validation, test, gap). See the module docstring for what each column means.
    """
    return compute_checked_table(check_records(records), bootstrap_seed, n_resamples)


def compute_checked_table(frame: pd.DataFrame, bootstrap_seed: int, n_resamples: int) -> pd.DataFrame:
    """`compute_report_table` on records `check_records` has already checked."""
    if isinstance(bootstrap_seed, bool) or not isinstance(bootstrap_seed, (int, np.integer)) or bootstrap_seed < 0:
        raise ValueError(f"bootstrap_seed must be a non-negative integer, got {bootstrap_seed!r}")
    frame = frame.copy()
    frame[SUCCESS_FLOAT] = frame["success"].astype(np.float64)
    rows = []
    for dataset, by_dataset in frame.groupby("dataset", sort=True):
        sha = by_dataset["dataset_sha256"].iloc[0]
        random = by_dataset[(by_dataset["policy"] == RANDOM_REFERENCE) & (by_dataset["kind"] == "reference")]
        random_by_split = {split: group for split, group in random.groupby("split")}
        for policy in policy_order(by_dataset):
            episodes = by_dataset[by_dataset["policy"] == policy]
            kind = episodes["kind"].iloc[0]
            by_split = {split: group for split, group in episodes.groupby("split")}
            for split in SPLITS:
                if split in by_split:
                    row = _split_row(by_split[split], (dataset, policy, split), bootstrap_seed, n_resamples)
                    if split in random_by_split and not (policy == RANDOM_REFERENCE and kind == "reference"):
                        rng = bootstrap_rng(bootstrap_seed, dataset, policy, split, "against random")
                        row.update(_vs_random(by_split[split], random_by_split[split], rng, n_resamples))
                    rows.append({"dataset": dataset, "dataset_sha256": sha, "policy": policy, "kind": kind, **row})
            if "train" in by_split and "test" in by_split:
                row = _gap_row(by_split["train"], by_split["test"], (dataset, policy), bootstrap_seed, n_resamples)
                if row is not None:
                    rows.append({"dataset": dataset, "dataset_sha256": sha, "policy": policy, "kind": kind, **row})
    table = pd.DataFrame(rows, columns=list(REPORT_COLUMNS))
    for column in _INT_COLUMNS:
        table[column] = table[column].astype("Int64")
    return table


STITCH_COLUMNS: tuple[str, ...] = (
    "dataset", "policy", "kind", "pairs", "split", "n_runs", "n_episodes", "success_rate", "success_ci_low", "success_ci_high",
)


def compute_stitching_table(
    records: pd.DataFrame | Sequence[Mapping], *, bootstrap_seed: int = 0, n_resamples: int = 2000
) -> pd.DataFrame:
    """Success rate per (dataset, policy, pair kind, split) of the stitching maze's records.

    Why a table of its own: the stitching question is success on pairs never seen together
    (`stitch`) against pairs the data shows (`ordinary`), on training and unseen levels, with and
    without augmentation (the augmented variant is its own dataset). Each run's success rate is
    its mean over the pairs played; the interval is a 95% bootstrap over runs (training seeds).
    Empty when no record is a stitching world's: the records of the worlds registered with
    `stitching = True` carry (game, mode) = (the world's kind, pair kind) (`rlgen.worlds`).
    """
    frame = check_records(records)
    frame = frame[frame["game"].isin(stitching_kinds())]
    rows = []
    for (dataset, policy, pairs, split), group in frame.groupby(["dataset", "policy", "mode", "split"], sort=True):
        per_run = group.groupby("seed")["success"].mean().to_numpy(dtype=np.float64)
        ci = stats.bootstrap_ci_over_units(
            per_run, stats.mean, rng=bootstrap_rng(bootstrap_seed, dataset, policy, pairs, split, "success over runs"),
            n_resamples=n_resamples, confidence=CONFIDENCE,
        )
        rows.append({
            "dataset": dataset, "policy": policy, "kind": group["kind"].iloc[0], "pairs": pairs, "split": split,
            "n_runs": len(per_run), "n_episodes": len(group), "success_rate": float(per_run.mean()),
            "success_ci_low": ci.low, "success_ci_high": ci.high,
        })  # fmt: skip
    return pd.DataFrame(rows, columns=list(STITCH_COLUMNS))


