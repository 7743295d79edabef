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
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from rlgen import stats
from rlgen.core.games import COBBE_RETURN_RANGES, MODES, normalize_returns
from rlgen.worlds import stitching_kinds, world_class, world_kinds

REQUIRED_COLUMNS: tuple[str, ...] = (
    "policy",
    "kind",
    "seed",
    "dataset",
    "dataset_sha256",
    "game",
    "mode",
    "split",
    "level_seed",
    "episode",
    "return",
    "normalized_return",
    "length",
    "success",
)
KINDS = ("learner", "reference")
SPLITS = ("train", "validation", "test")
GAP_SPLIT = "gap (train - test)"
CONFIDENCE = 0.95
# Normalized returns that differ from the Cobbe normalization of `return` by more than this are
# refused: they were normalized with other constants, or for another mode.
NORMALIZATION_TOLERANCE = 1e-6

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
_KEY = ["policy", "dataset", "seed", "game", "mode", "split", "level_seed", "episode"]
_TASK = ["game", "mode"]
_SUCCESS = "_success_as_float"

# ---------------------------------------------------------------------------------------------
# Reading and checking records


def load_records(paths: str | Path | Iterable[str | Path]) -> pd.DataFrame:
    """Read per-policy evaluation CSV files into one checked DataFrame of episode records.

    Raises ValueError naming the file when one cannot be read or lacks a required column.
    Extra columns are kept and ignored by the report.
    """
    if isinstance(paths, (str, Path)):
        paths = [paths]
    paths = [Path(p) for p in paths]
    if not paths:
        raise ValueError("load_records needs at least one CSV file")
    frames = []
    for path in paths:
        try:
            frame = pd.read_csv(path)
        except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as err:
            raise ValueError(f"{path}: cannot read evaluation records: {err}") from err
        frames.append(_check_records(frame, source=str(path)))
    return _check_records(pd.concat(frames, ignore_index=True), source=", ".join(map(str, paths)))


def _as_bool(column: pd.Series, source: str) -> pd.Series:
    if column.dtype == bool:
        return column
    words = {"true": True, "false": False, "1": True, "0": False, "1.0": True, "0.0": False}
    mapped = column.map(lambda v: words.get(str(v).strip().lower()))
    if mapped.isna().any():
        bad = column[mapped.isna()].iloc[0]
        raise ValueError(f"{source}: column 'success' must hold booleans, found {bad!r}")
    return mapped.astype(bool)


def _check_records(records: pd.DataFrame | Sequence[Mapping], source: str = "records") -> pd.DataFrame:
    """The records as a DataFrame with checked columns, types and values (a copy)."""
    frame = pd.DataFrame(records).copy() if not isinstance(records, pd.DataFrame) else records.copy()
    for column in REQUIRED_COLUMNS:
        if column not in frame.columns:
            raise ValueError(f"{source}: missing required column {column!r}")
    if frame.empty:
        raise ValueError(f"{source}: no evaluation records")
    for column in REQUIRED_COLUMNS:
        if frame[column].isna().any():
            row = int(np.flatnonzero(frame[column].isna().to_numpy())[0])
            raise ValueError(f"{source}: column {column!r} is empty in row {row}")
    for column in ("policy", "kind", "dataset", "dataset_sha256", "game", "mode", "split"):
        frame[column] = frame[column].astype(str)
    for column, dtype in (("seed", np.int64), ("level_seed", np.int64), ("episode", np.int64),
                          ("length", np.int64), ("return", np.float64), ("normalized_return", np.float64)):
        try:
            converted = frame[column].astype(dtype)
        except (TypeError, ValueError) as err:
            raise ValueError(f"{source}: column {column!r} must hold {np.dtype(dtype).name} values: {err}") from err
        if dtype is np.int64 and frame[column].dtype.kind == "f" and (converted != frame[column]).any():
            raise ValueError(f"{source}: column {column!r} must hold integers")
        frame[column] = converted
    for column in ("return", "normalized_return"):
        if not np.all(np.isfinite(frame[column].to_numpy())):
            raise ValueError(f"{source}: column {column!r} holds a non-finite value")
    frame["success"] = _as_bool(frame["success"], source)

    for column, valid in (("kind", KINDS), ("split", SPLITS)):
        unknown = sorted(set(frame[column]) - set(valid))
        if unknown:
            raise ValueError(f"{source}: unknown {column} {unknown}; valid: {', '.join(valid)}")
    kinds = frame.groupby("policy")["kind"].nunique()
    if (kinds > 1).any():
        raise ValueError(f"{source}: policy {kinds[kinds > 1].index[0]!r} is both a learner and a reference")
    hashes = frame.groupby("dataset")["dataset_sha256"].nunique()
    if (hashes > 1).any():
        raise ValueError(
            f"{source}: dataset {hashes[hashes > 1].index[0]!r} appears with more than one manifest "
            "sha256; two different datasets share a name"
        )
    duplicated = frame.duplicated(subset=_KEY)
    if duplicated.any():
        row = frame[duplicated].iloc[0]
        raise ValueError(
            f"{source}: duplicate episode record {dict(row[_KEY])}; was a file loaded twice?"
        )
    for (game, mode), group in frame.groupby(_TASK, sort=True):
        if game not in COBBE_RETURN_RANGES:
            continue  # not a Procgen game: its normalization is its environment's business
        if mode not in MODES:
            raise ValueError(f"{source}: unknown mode {mode!r} for Procgen game {game!r}; valid: {', '.join(MODES)}")
        expected = normalize_returns(group["return"].to_numpy(), game, mode)
        off = np.abs(group["normalized_return"].to_numpy() - expected) > NORMALIZATION_TOLERANCE
        if off.any():
            i = int(np.flatnonzero(off)[0])
            raise ValueError(
                f"{source}: normalized_return {group['normalized_return'].iloc[i]!r} for return "
                f"{group['return'].iloc[i]!r} on {game}/{mode} is not the Cobbe min-max normalization "
                f"({expected[i]!r})"
            )
    # A canonical order, so that sums (and so every number) do not depend on the record order.
    return frame.sort_values(_KEY, kind="stable").reset_index(drop=True)


# ---------------------------------------------------------------------------------------------
# Computing


def _rng(bootstrap_seed: int, *key: str) -> np.random.Generator:
    """A generator for one bootstrap, seeded from the report seed and the names of what it measures."""
    digest = zlib.crc32("\x1f".join(key).encode("utf-8"))
    return np.random.default_rng([bootstrap_seed, digest])


def _score_matrix(episodes: pd.DataFrame, column: str, label: str) -> pd.DataFrame:
    """(runs, tasks) table of per-(seed, task) means of `column`; every run must cover every task."""
    table = episodes.groupby(["seed", *_TASK], sort=True)[column].mean().unstack(_TASK)
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
    per_level = episodes.groupby([*_TASK, "level_seed"], sort=True)["normalized_return"].mean()
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
    normalized = _score_matrix(episodes, "normalized_return", label).to_numpy()
    iqm_ci = stats.stratified_bootstrap_ci(
        normalized, stats.iqm, rng=_rng(bootstrap_seed, *key, "iqm over runs"),
        n_resamples=n_resamples, confidence=CONFIDENCE,
    )
    level_ci = _level_interval(episodes, _rng(bootstrap_seed, *key, "mean over levels"), n_resamples)
    return {
        "split": split,
        "n_runs": normalized.shape[0],
        "n_tasks": normalized.shape[1],
        "n_levels": len(episodes.groupby([*_TASK, "level_seed"])),
        "n_episodes": len(episodes),
        "mean_return": stats.mean(_score_matrix(episodes, "return", label).to_numpy()),
        "mean_normalized": stats.mean(normalized),
        "mean_ci_low": level_ci.low,
        "mean_ci_high": level_ci.high,
        "mean_ci_over": "levels",
        "iqm_normalized": stats.iqm(normalized),
        "iqm_ci_low": iqm_ci.low,
        "iqm_ci_high": iqm_ci.high,
        "success_rate": stats.mean(_score_matrix(episodes, _SUCCESS, label).to_numpy()),
    }


def _gap_row(
    train: pd.DataFrame, test: pd.DataFrame, key: tuple[str, str], bootstrap_seed: int, n_resamples: int
) -> dict | None:
    dataset, policy = key
    label = f"policy {policy!r}, dataset {dataset!r}"
    matrices = {}
    for column in ("normalized_return", "return", _SUCCESS):
        a = _score_matrix(train, column, f"{label}, split 'train'")
        b = _score_matrix(test, column, f"{label}, split 'test'")
        runs = a.index.intersection(b.index)
        tasks = a.columns.intersection(b.columns)
        if runs.empty or tasks.empty:
            return None
        matrices[column] = (a.loc[runs, tasks].to_numpy(), b.loc[runs, tasks].to_numpy())
    a, b = matrices["normalized_return"]
    iqm_ci = stats.paired_difference_ci(
        a, b, stats.iqm, rng=_rng(bootstrap_seed, *key, GAP_SPLIT, "iqm over runs"),
        n_resamples=n_resamples, confidence=CONFIDENCE,
    )
    mean_ci = stats.paired_difference_ci(
        a, b, stats.mean, rng=_rng(bootstrap_seed, *key, GAP_SPLIT, "mean over runs"),
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
        "success_rate": diff(_SUCCESS),
    }


RANDOM_REFERENCE = "random"
VERDICTS = ("above", "below", "not distinguishable")
_TIE = 1e-12


def _per_level(episodes: pd.DataFrame, by: list[str]) -> pd.Series:
    return episodes.groupby([*by, *_TASK, "level_seed"], sort=True)["normalized_return"].mean()


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
    return _compute(_check_records(records), bootstrap_seed, n_resamples)


def _compute(frame: pd.DataFrame, bootstrap_seed: int, n_resamples: int) -> pd.DataFrame:
    """`compute_report_table` on records `_check_records` has already checked."""
    if isinstance(bootstrap_seed, bool) or not isinstance(bootstrap_seed, (int, np.integer)) or bootstrap_seed < 0:
        raise ValueError(f"bootstrap_seed must be a non-negative integer, got {bootstrap_seed!r}")
    frame = frame.copy()
    frame[_SUCCESS] = frame["success"].astype(np.float64)
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
                        rng = _rng(bootstrap_seed, dataset, policy, split, "against random")
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
    frame = _check_records(records)
    frame = frame[frame["game"].isin(stitching_kinds())]
    rows = []
    for (dataset, policy, pairs, split), group in frame.groupby(["dataset", "policy", "mode", "split"], sort=True):
        per_run = group.groupby("seed")["success"].mean().to_numpy(dtype=np.float64)
        ci = stats.bootstrap_ci_over_units(
            per_run, stats.mean, rng=_rng(bootstrap_seed, dataset, policy, pairs, split, "success over runs"),
            n_resamples=n_resamples, confidence=CONFIDENCE,
        )
        rows.append({
            "dataset": dataset, "policy": policy, "kind": group["kind"].iloc[0], "pairs": pairs, "split": split,
            "n_runs": len(per_run), "n_episodes": len(group), "success_rate": float(per_run.mean()),
            "success_ci_low": ci.low, "success_ci_high": ci.high,
        })  # fmt: skip
    return pd.DataFrame(rows, columns=list(STITCH_COLUMNS))


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
                _policy_label(policy, kinds[policy]), f"`{dataset}`", str(int(sub["n_runs"].max())),
                *("—" if c not in cells else f"{_number(cells[c].success_rate)} [{_number(cells[c].success_ci_low)}, "
                  f"{_number(cells[c].success_ci_high)}]" for c in columns),
            ])  # fmt: skip
    return [
        "",
        "## Stitching: success rate",
        "",
        f"Success rate [{level}% CI over runs] on stitching test pairs (start and goal never together in one "
        "training trajectory; audited) and on ordinary pairs (as the behaviour's own tasks), on training and "
        "unseen levels. A dataset name ending in `-aug...` is the stitching-augmented variant.",
        "",
        *_markdown_table(header, body),
        "",
    ]


# ---------------------------------------------------------------------------------------------
# Rendering


def _number(value: float) -> str:
    text = f"{value:.3f}"
    return "0.000" if text == "-0.000" else text


def _estimate(row: pd.Series | None, point: str, low: str, high: str) -> str:
    if row is None:
        return "—"
    return f"{_number(row[point])} [{_number(row[low])}, {_number(row[high])}]"


def _markdown_table(header: Sequence[str], body: Sequence[Sequence[str]]) -> list[str]:
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


def _policy_label(policy: str, kind: str) -> str:
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
            _policy_label(policy, kind),
            *("—" if c is None or pd.isna(c.vs_random)
              else f"{c.vs_random:+.3f} [{_number(c.vs_random_ci_low)}, {_number(c.vs_random_ci_high)}] {c.vs_random_verdict}"
              for c in cells),
        ])  # fmt: skip
    if not body:
        return []
    lines = [f"Against random play: mean normalized score minus random's on the same levels [{level}% CI over runs and levels]:", ""]
    return lines + _markdown_table(["Policy", "Train", "Validation", "Test"], body) + [""]


def render_markdown(
    table: pd.DataFrame,
    *,
    provenance: Mapping,
    seeds: Mapping[str, Mapping[str, Sequence[int]]] | None = None,
    bootstrap_seed: int = 0,
    n_resamples: int = 2000,
    notes: Mapping[str, Sequence[str]] | None = None,
    diversity: Mapping[str, str] | None = None,
) -> str:
    """The report as Markdown: per dataset, an IQM table (train, validation, test, gap) and a
    mean table with level intervals; a legend; then the data, seeds and provenance behind it.

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
                _policy_label(policy, kind),
                "/".join(map(str, runs)),
                *(_estimate(cells[s], "iqm_normalized", "iqm_ci_low", "iqm_ci_high") for s in (*SPLITS, GAP_SPLIT)),
            ])
            test = cells["test"]
            mean_body.append([
                _policy_label(policy, kind),
                *(_estimate(cells[s], "mean_normalized", "mean_ci_low", "mean_ci_high") for s in SPLITS),
                "—" if test is None else _number(test["success_rate"]),
            ])
        lines += [f"Normalized IQM [{level}% CI over runs]:", ""]
        lines += _markdown_table(["Policy", "Runs", "Train", "Validation", "Test", "Gap (train − test)"], iqm_body)
        lines += ["", f"Mean normalized score [{level}% CI over levels] and test success rate:", ""]
        lines += _markdown_table(["Policy", "Train", "Validation", "Test", "Test success"], mean_body)
        lines.append("")
        lines += _render_vs_random(by_dataset, rows, level)
        if (diversity or {}).get(dataset):
            lines += [f"Data: {diversity[dataset]}.", ""]
        if (notes or {}).get(dataset):
            success_body = [
                [_policy_label(p, by_dataset.loc[by_dataset["policy"] == p, "kind"].iloc[0]),
                 *("—" if (p, s) not in rows else _number(rows[(p, s)].success_rate) for s in SPLITS)]
                for p in policy_order(by_dataset)
            ]  # fmt: skip
            lines += ["Success rate per split (mean over runs):", ""]
            lines += _markdown_table(["Policy", "Train", "Validation", "Test"], success_body)
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
    lines += ["", "## Provenance", ""]
    lines += render_mapping(dict(provenance)) if provenance else ["- (none given)"]
    lines.append("")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# Plotting (reads the computed table only)

_SPLIT_COLORS = {"train": "tab:blue", "validation": "tab:orange", "test": "tab:green"}


def _figure(n_panels: int, width: float, title: str):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, 3.2 * n_panels + 0.6), layout="constrained")
    axes = fig.subplots(n_panels, 1, squeeze=False)[:, 0]
    fig.suptitle(title)
    return fig, axes


def _save(fig, path: Path) -> None:
    # Agg canvas (a bare Figure needs no pyplot and no display); no software tag, so reruns match.
    fig.savefig(path, dpi=110, format="png", metadata={"Software": None})


def _runs(sub: pd.DataFrame) -> dict[str, int]:
    """Most runs a policy has on any split (the tick label's count)."""
    splits = sub[sub["split"].isin(SPLITS)]
    return {p: int(n) for p, n in splits.groupby("policy")["n_runs"].max().items()}


def _shade_references(ax, policies: Sequence[str], kinds: Mapping[str, str]) -> None:
    for x, policy in enumerate(policies):
        if kinds[policy] == "reference":
            ax.axvspan(x - 0.45, x + 0.45, color="0.92", zorder=0)


def _policy_ticks(ax, policies: Sequence[str], kinds: Mapping[str, str], runs: Mapping[str, int]) -> None:
    labels = []
    for p in policies:
        count = f"{runs[p]} run" + ("" if runs[p] == 1 else "s")
        labels.append(f"{p} (reference)\n{count}" if kinds[p] == "reference" else f"{p}\n{count}")
    ax.set_xticks(range(len(policies)))
    ax.set_xticklabels(labels)
    for label, policy in zip(ax.get_xticklabels(), policies):
        if kinds[policy] == "reference":
            label.set_fontstyle("italic")
    ax.set_xlim(-0.6, len(policies) - 0.4)


def plot_train_vs_test(table: pd.DataFrame, path: Path) -> None:
    """Normalized IQM with its interval over runs, train / validation / test side by side per
    policy, one panel per dataset. References: hollow markers, dashed intervals, grey band."""
    from matplotlib.lines import Line2D

    datasets = sorted(table["dataset"].unique())
    width = max(7.0, 1.3 * table["policy"].nunique() + 2.5)
    fig, axes = _figure(len(datasets), width, "Normalized IQM on train, validation and test levels (95% CI over runs)")
    for ax, dataset in zip(axes, datasets):
        sub = table[table["dataset"] == dataset]
        policies = policy_order(sub)
        kinds = sub.groupby("policy")["kind"].first().to_dict()
        _shade_references(ax, policies, kinds)
        for x, policy in enumerate(policies):
            reference = kinds[policy] == "reference"
            for offset, split in zip((-0.22, 0.0, 0.22), SPLITS):
                row = sub[(sub["policy"] == policy) & (sub["split"] == split)]
                if row.empty:
                    continue
                row = row.iloc[0]
                color = _SPLIT_COLORS[split]
                ax.vlines(x + offset, row["iqm_ci_low"], row["iqm_ci_high"], color=color, lw=2,
                          linestyles="dashed" if reference else "solid")
                ax.plot(x + offset, row["iqm_normalized"], "o", ms=7, color=color,
                        markerfacecolor="white" if reference else color, markeredgewidth=1.8)
        _policy_ticks(ax, policies, kinds, _runs(table[table["dataset"] == dataset]))
        ax.set_ylabel("normalized IQM")
        ax.set_title(f"dataset {dataset}", fontsize=10)
        ax.grid(axis="y", alpha=0.3)
    handles = [Line2D([], [], marker="o", ls="", color=c, label=s) for s, c in _SPLIT_COLORS.items()]
    handles.append(Line2D([], [], marker="o", ls="", color="0.3", markerfacecolor="white", label="reference policy"))
    axes[0].legend(handles=handles, fontsize=8, loc="best")
    _save(fig, path)


def plot_gap(table: pd.DataFrame, path: Path) -> None:
    """Generalization gap (train minus test normalized IQM) with its paired interval per policy."""
    from matplotlib.lines import Line2D

    gaps = table[table["split"] == GAP_SPLIT]
    datasets = sorted(table["dataset"].unique())
    width = max(7.0, 1.2 * table["policy"].nunique() + 2.5)
    fig, axes = _figure(len(datasets), width, "Generalization gap: train − test normalized IQM (95% paired CI over runs)")
    for ax, dataset in zip(axes, datasets):
        sub = gaps[gaps["dataset"] == dataset]
        policies = policy_order(table[table["dataset"] == dataset])
        kinds = table[table["dataset"] == dataset].groupby("policy")["kind"].first().to_dict()
        _shade_references(ax, policies, kinds)
        ax.axhline(0.0, color="0.4", lw=1)
        for x, policy in enumerate(policies):
            row = sub[sub["policy"] == policy]
            if row.empty:
                ax.text(x, 0.0, "no train/test", ha="center", va="bottom", fontsize=7, color="0.4")
                continue
            row = row.iloc[0]
            reference = kinds[policy] == "reference"
            ax.vlines(x, row["iqm_ci_low"], row["iqm_ci_high"], color="tab:red", lw=2,
                      linestyles="dashed" if reference else "solid")
            ax.plot(x, row["iqm_normalized"], "D", ms=7, color="tab:red",
                    markerfacecolor="white" if reference else "tab:red", markeredgewidth=1.8)
        _policy_ticks(ax, policies, kinds, _runs(table[table["dataset"] == dataset]))
        ax.set_ylabel("gap (normalized IQM)")
        ax.set_title(f"dataset {dataset}", fontsize=10)
        ax.grid(axis="y", alpha=0.3)
    axes[0].legend(
        handles=[
            Line2D([], [], marker="D", ls="", color="tab:red", label="learner"),
            Line2D([], [], marker="D", ls="", color="tab:red", markerfacecolor="white", label="reference policy"),
        ],
        fontsize=8, loc="best",
    )
    _save(fig, path)


# ---------------------------------------------------------------------------------------------
# The stage


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
    frame = _check_records(records)
    table = _compute(frame, bootstrap_seed, n_resamples)
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
