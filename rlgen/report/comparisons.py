"""Distribution-level comparisons of the score arrays: performance profiles and probability of improvement.

Why beside the IQM table: an aggregate with its interval says where the middle of the scores
lies; a performance profile shows the whole distribution of (run, task) scores (what fraction of
runs clear each normalized score tau), and the probability of improvement says how often one
policy's run beats another's on a task, whatever the margin (Agarwal et al., 2021, sections
4.2-4.3; `rlgen.stats`). Both are computed from the arrays `rlgen.report.scores` writes, with
seeded stratified bootstrap intervals over runs (`bootstrap_rng`), numbers only: `markdown`
renders them and `plots` draws them.

- profiles: one row per (dataset, split, policy, tau) on a grid of thresholds shared by every
  policy and split of a dataset (from min(0, lowest score) to max(1, highest score), plus
  `TABLE_TAUS`), with a 95% pointwise band.
- improvement: one row per (dataset, split, unordered pair of policies), x before y in report
  order (learners before references): P(X > Y) with a 95% interval from an independent
  stratified bootstrap (x's and y's runs redrawn apart). P(Y > X) is 1 minus it.
"""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pandas as pd

from rlgen import stats
from rlgen.report.scores import SplitScores
from rlgen.report.tables import CONFIDENCE, bootstrap_rng

TABLE_TAUS: tuple[float, ...] = (0.0, 0.25, 0.5, 0.75)
"""The thresholds report.md tabulates (normalized score; 1 is a game's maximum return)."""
GRID_POINTS = 121

PROFILE_COLUMNS: tuple[str, ...] = (
    "dataset", "split", "policy", "kind", "tau", "fraction", "ci_low", "ci_high", "n_runs", "n_tasks",
)
IMPROVEMENT_COLUMNS: tuple[str, ...] = (
    "dataset", "split", "policy_x", "kind_x", "policy_y", "kind_y", "probability", "ci_low", "ci_high",
    "n_runs_x", "n_runs_y", "n_tasks",
)


def tau_grid(collected: list[SplitScores]) -> np.ndarray:
    """Thresholds covering every score of these arrays and [0, 1], plus `TABLE_TAUS`, sorted."""
    values = np.concatenate([m.ravel() for item in collected for m in item.scores.values()] or [np.zeros(1)])
    low, high = min(0.0, float(values.min())), max(1.0, float(values.max()))
    return np.union1d(np.round(np.linspace(low, high, GRID_POINTS), 6), TABLE_TAUS)


def compute_profiles(collected: list[SplitScores], bootstrap_seed: int, n_resamples: int) -> pd.DataFrame:
    """Performance profiles of every policy on every split (`PROFILE_COLUMNS`)."""
    rows = []
    for dataset in dict.fromkeys(item.dataset for item in collected):
        items = [item for item in collected if item.dataset == dataset]
        taus = tau_grid(items)
        for item in items:
            for policy, scores in item.scores.items():
                if scores.size == 0:
                    continue
                fraction = stats.performance_profile(scores, taus)
                low, high = stats.performance_profile_ci(
                    scores, taus, rng=bootstrap_rng(bootstrap_seed, dataset, policy, item.split, "profile over runs"),
                    n_resamples=n_resamples, confidence=CONFIDENCE,
                )  # fmt: skip
                rows += [
                    {"dataset": dataset, "split": item.split, "policy": policy, "kind": item.kinds[policy],
                     "tau": float(t), "fraction": float(f), "ci_low": float(lo), "ci_high": float(hi),
                     "n_runs": scores.shape[0], "n_tasks": scores.shape[1]}
                    for t, f, lo, hi in zip(taus, fraction, low, high)
                ]  # fmt: skip
    return pd.DataFrame(rows, columns=list(PROFILE_COLUMNS))


def compute_improvement(collected: list[SplitScores], bootstrap_seed: int, n_resamples: int) -> pd.DataFrame:
    """P(X > Y) for every pair of policies on every split (`IMPROVEMENT_COLUMNS`)."""
    rows = []
    for item in collected:
        for x, y in combinations([p for p, s in item.scores.items() if s.size], 2):
            a, b = item.scores[x], item.scores[y]
            ci = stats.probability_of_improvement_ci(
                a, b, rng=bootstrap_rng(bootstrap_seed, item.dataset, item.split, x, y, "probability of improvement"),
                n_resamples=n_resamples, confidence=CONFIDENCE,
            )
            rows.append({
                "dataset": item.dataset, "split": item.split, "policy_x": x, "kind_x": item.kinds[x],
                "policy_y": y, "kind_y": item.kinds[y], "probability": stats.probability_of_improvement(a, b),
                "ci_low": ci.low, "ci_high": ci.high, "n_runs_x": a.shape[0], "n_runs_y": b.shape[0], "n_tasks": a.shape[1],
            })  # fmt: skip
    return pd.DataFrame(rows, columns=list(IMPROVEMENT_COLUMNS))
