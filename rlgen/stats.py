"""Aggregate metrics and bootstrap confidence intervals for (runs, tasks) score arrays.

The data contract follows rliable (Agarwal et al., 2021, "Deep Reinforcement Learning at the
Edge of the Statistical Precipice"): an algorithm's scores are an array shaped (runs, tasks),
one entry per (training seed, task), usually a normalized return averaged over episodes.
Metrics are pure functions of that array; intervals come from one estimator, the stratified
bootstrap (resample runs with replacement within each task) with a percentile interval.

Unlike rliable 1.2.0, whose `random_state` does not reach the resampling, every random draw
here comes from the `numpy.random.Generator` passed in, so the same inputs and the same seed
give the same interval, bit for bit. No scipy: the trimmed mean is implemented here and
checked against `scipy.stats.trim_mean` in the tests.

Beyond aggregates, two of rliable's distribution-level comparisons: `performance_profile` (the
fraction of (run, task) scores above each threshold tau) and `probability_of_improvement`
(P(X > Y), the chance that a random run of one algorithm beats a random run of another on a task,
averaged over tasks), each with its bootstrap interval.

A statistic is any callable mapping an array of scores to a float (`iqm`, `mean`, or your
own). The bootstrap calls it once per resample; `iqm` and `mean` are recognized and computed
for all resamples at once, with the same arithmetic as a single call.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np

Statistic = Callable[[np.ndarray], float]

# Resamples are drawn and reduced in blocks holding at most this many score entries, which
# bounds memory for long 1-D samples (thousands of levels); the block size depends only on
# the input's shape, so the draws (and the interval) stay deterministic.
_MAX_BLOCK_ENTRIES = 1 << 22


class ConfidenceInterval(NamedTuple):
    """A percentile bootstrap interval; unpacks as `(low, high)`."""

    low: float
    high: float

    @property
    def width(self) -> float:
        return self.high - self.low

    def contains(self, value: float) -> bool:
        return self.low <= value <= self.high


# ---------------------------------------------------------------------------------------------
# Metrics


def _trimmed_mean_rows(rows: np.ndarray, proportion: float) -> np.ndarray:
    """Trimmed mean of each row of a 2-D array (batch, n), as scipy.stats.trim_mean does it:
    drop floor(proportion * n) of the smallest and as many of the largest values."""
    n = rows.shape[-1]
    cut = int(proportion * n)
    if cut:
        rows = np.sort(rows, axis=-1)[:, cut : n - cut]
    return rows.mean(axis=-1)


def _as_pooled(scores: np.ndarray | list, name: str = "scores") -> np.ndarray:
    arr = np.asarray(scores, dtype=np.float64)
    if arr.size == 0:
        raise ValueError(f"{name} is empty (shape {arr.shape}); a metric needs at least one score")
    if not np.all(np.isfinite(arr)):
        bad = np.argwhere(~np.isfinite(arr))[0]
        raise ValueError(f"{name} holds a non-finite value at index {tuple(int(i) for i in bad)}")
    return arr


def iqm(scores: np.ndarray | list) -> float:
    """Interquartile mean: the mean of the middle 50% of all scores, pooled over runs and tasks.

    Matches rliable's `aggregate_iqm`, i.e. `scipy.stats.trim_mean(scores, 0.25, axis=None)`:
    with n pooled scores, floor(n / 4) of the smallest and floor(n / 4) of the largest are
    dropped and the remaining n - 2 * floor(n / 4) are averaged. When n is not divisible by 4
    slightly more than half the scores are kept (n = 5, 6, 7 keep 3, 4, 5); with n < 4 nothing
    is dropped and the IQM equals the mean. Accepts any shape (usually (runs, tasks)).
    """
    arr = _as_pooled(scores)
    return float(_trimmed_mean_rows(arr.reshape(1, -1), 0.25)[0])


def mean(scores: np.ndarray | list) -> float:
    """The mean of all scores, pooled over runs and tasks. Accepts any shape."""
    arr = _as_pooled(scores)
    return float(arr.reshape(1, -1).mean(axis=-1)[0])


def _iqm_batched(resamples: np.ndarray) -> np.ndarray:
    return _trimmed_mean_rows(resamples.reshape(resamples.shape[0], -1), 0.25)


def _mean_batched(resamples: np.ndarray) -> np.ndarray:
    return resamples.reshape(resamples.shape[0], -1).mean(axis=-1)


_BATCHED: dict[Callable, Callable[[np.ndarray], np.ndarray]] = {iqm: _iqm_batched, mean: _mean_batched}


def _apply(statistic: Statistic, resamples: np.ndarray) -> np.ndarray:
    """The statistic of each resample along axis 0, shape (n_resamples,)."""
    batched = _BATCHED.get(statistic)
    if batched is not None:
        return batched(resamples)
    return np.array([float(statistic(r)) for r in resamples], dtype=np.float64)


# ---------------------------------------------------------------------------------------------
# Argument checks


def _check_scores(scores: np.ndarray | list, name: str = "scores") -> np.ndarray:
    arr = np.asarray(scores, dtype=np.float64)
    if arr.ndim != 2:
        raise ValueError(
            f"{name} must be a 2-D array shaped (runs, tasks), got shape {arr.shape}; "
            "for a single task pass scores[:, None]"
        )
    if arr.shape[0] < 1 or arr.shape[1] < 1:
        raise ValueError(f"{name} needs at least one run and one task, got shape {arr.shape}")
    return _as_pooled(arr, name)


def _check_settings(rng: object, n_resamples: int, confidence: float) -> None:
    if not isinstance(rng, np.random.Generator):
        raise TypeError(
            f"rng must be a numpy.random.Generator (e.g. numpy.random.default_rng(0)), got "
            f"{type(rng).__name__}; rlgen never draws from numpy's global random state"
        )
    if isinstance(n_resamples, bool) or not isinstance(n_resamples, (int, np.integer)) or n_resamples < 1:
        raise ValueError(f"n_resamples must be a positive integer, got {n_resamples!r}")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must lie strictly between 0 and 1, got {confidence!r}")


def _block_size(entries_per_resample: int, n_resamples: int) -> int:
    return max(1, min(n_resamples, _MAX_BLOCK_ENTRIES // max(1, entries_per_resample)))


def _percentile_interval(stats: np.ndarray, confidence: float) -> ConfidenceInterval:
    alpha = 1.0 - confidence
    low, high = np.quantile(stats, [alpha / 2.0, 1.0 - alpha / 2.0])
    return ConfidenceInterval(float(low), float(high))


# ---------------------------------------------------------------------------------------------
# Bootstrap intervals


def _run_index_blocks(shape: tuple[int, int], rng: np.random.Generator, n_resamples: int, entries: int):
    """Yield (slice of resamples, run indices (size, runs, tasks)): for every resample and every
    task (column), `runs` run indices drawn with replacement, in blocks of at most
    `_MAX_BLOCK_ENTRIES / entries` resamples (`entries`: score entries one resample touches)."""
    runs, tasks = shape
    size = _block_size(entries, n_resamples)
    for start in range(0, n_resamples, size):
        stop = min(start + size, n_resamples)
        yield slice(start, stop), rng.integers(0, runs, size=(stop - start, runs, tasks))


def stratified_bootstrap_ci(
    scores: np.ndarray | list,
    statistic: Statistic,
    *,
    rng: np.random.Generator,
    n_resamples: int = 2000,
    confidence: float = 0.95,
) -> ConfidenceInterval:
    """Percentile interval of `statistic(scores)` from a stratified bootstrap over runs.

    scores: (runs, tasks). Each resample draws, independently for every task (column), `runs`
    run indices with replacement, so every task keeps its number of runs (rliable's
    `StratifiedBootstrap`). The interval is the (1 - confidence) / 2 and (1 + confidence) / 2
    quantiles (linear interpolation) of the `n_resamples` resampled statistics.

    It measures the uncertainty from the finite number of training seeds. With a single run
    every resample equals the data and the interval collapses to the point estimate: that is
    no evidence of low variance, only of no replication.
    """
    arr = _check_scores(scores)
    _check_settings(rng, n_resamples, confidence)
    columns = np.arange(arr.shape[1])
    stats = np.empty(n_resamples, dtype=np.float64)
    for block, idx in _run_index_blocks(arr.shape, rng, n_resamples, arr.size):
        stats[block] = _apply(statistic, arr[idx, columns])
    return _percentile_interval(stats, confidence)


def bootstrap_ci_over_units(
    values: np.ndarray | list,
    statistic: Statistic,
    *,
    rng: np.random.Generator,
    strata: np.ndarray | list | None = None,
    n_resamples: int = 2000,
    confidence: float = 0.95,
) -> ConfidenceInterval:
    """Percentile interval of `statistic(values)` from a bootstrap over the units of a 1-D sample.

    values: (units,), e.g. one score per evaluation level (pooled over runs), giving the
    uncertainty from the finite set of levels played. Each resample draws `units` indices with
    replacement. With `strata` (one label per unit) the draws stay within each stratum, and a
    resample keeps the layout of `values`: position i always holds a draw from i's stratum, so
    a statistic may rely on where each stratum sits. A single unit (or a stratum of one)
    contributes no variation; with one unit the interval collapses to the point estimate.
    """
    arr = _as_pooled(values, "values")
    if arr.ndim != 1:
        raise ValueError(f"values must be a 1-D sample shaped (units,), got shape {arr.shape}")
    _check_settings(rng, n_resamples, confidence)
    units = arr.shape[0]
    if strata is None:
        groups = [np.arange(units)]
    else:
        labels = np.asarray(strata)
        if labels.shape != (units,):
            raise ValueError(f"strata must hold one label per unit, shape ({units},), got shape {labels.shape}")
        _, inverse = np.unique(labels, return_inverse=True)
        groups = [np.flatnonzero(inverse == g) for g in range(int(inverse.max()) + 1)]
    block = _block_size(units, n_resamples)
    stats = np.empty(n_resamples, dtype=np.float64)
    for start in range(0, n_resamples, block):
        size = min(block, n_resamples - start)
        idx = np.empty((size, units), dtype=np.int64)
        for members in groups:
            idx[:, members] = members[rng.integers(0, members.size, size=(size, members.size))]
        stats[start : start + size] = _apply(statistic, arr[idx])
    return _percentile_interval(stats, confidence)


def paired_difference_ci(
    a: np.ndarray | list,
    b: np.ndarray | list,
    statistic: Statistic,
    *,
    rng: np.random.Generator,
    n_resamples: int = 2000,
    confidence: float = 0.95,
) -> ConfidenceInterval:
    """Percentile interval of `statistic(a) - statistic(b)` from a paired stratified bootstrap.

    a, b: (runs, tasks), the same runs in the same row order and the same tasks in the same
    column order (for the generalization gap: a = train scores, b = test scores of the same
    trained policies). Each resample draws run indices per task as `stratified_bootstrap_ci`
    does and uses the same indices for a and b, so a seed that is good on both splits stays good
    on both and the interval reflects the spread of the difference, not of either score.
    With a single run the interval collapses to the point estimate.
    """
    arr_a = _check_scores(a, "a")
    arr_b = _check_scores(b, "b")
    if arr_a.shape != arr_b.shape:
        raise ValueError(
            f"a and b must have the same (runs, tasks) shape for a paired difference, "
            f"got {arr_a.shape} and {arr_b.shape}"
        )
    _check_settings(rng, n_resamples, confidence)
    columns = np.arange(arr_a.shape[1])
    stats = np.empty(n_resamples, dtype=np.float64)
    for block, idx in _run_index_blocks(arr_a.shape, rng, n_resamples, 2 * arr_a.size):
        stats[block] = _apply(statistic, arr_a[idx, columns]) - _apply(statistic, arr_b[idx, columns])
    return _percentile_interval(stats, confidence)


# ---------------------------------------------------------------------------------------------
# Score distributions and pairwise comparisons (Agarwal et al., 2021, sections 4.2 and 4.3)


def _check_taus(taus: np.ndarray | list) -> np.ndarray:
    arr = _as_pooled(taus, "taus")
    if arr.ndim != 1:
        raise ValueError(f"taus must be a 1-D array of thresholds, got shape {arr.shape}")
    return arr


def _profile_batched(resamples: np.ndarray, taus: np.ndarray) -> np.ndarray:
    """(batch, n_taus): the fraction of each resample's (run, task) entries above each tau."""
    flat = resamples.reshape(resamples.shape[0], -1)
    return (flat[:, :, None] > taus).mean(axis=1)


def performance_profile(scores: np.ndarray | list, taus: np.ndarray | list) -> np.ndarray:
    """Fraction of (run, task) scores strictly above each threshold, shape (n_taus,).

    scores: (runs, tasks); taus: (n_taus,). rliable's score distribution
    (`create_performance_profile`, `np.mean(scores > tau)` over all runs and tasks): a curve that
    shows the whole spread of scores where an aggregate shows one number, and a curve that lies
    above another everywhere dominates it stochastically.
    """
    arr = _check_scores(scores)
    return _profile_batched(arr[None], _check_taus(taus))[0]


def performance_profile_ci(
    scores: np.ndarray | list,
    taus: np.ndarray | list,
    *,
    rng: np.random.Generator,
    n_resamples: int = 2000,
    confidence: float = 0.95,
) -> tuple[np.ndarray, np.ndarray]:
    """(low, high), each (n_taus,): a pointwise percentile band for `performance_profile` from the
    stratified bootstrap over runs of `stratified_bootstrap_ci` (the same draws for every tau).
    With a single run the band collapses to the profile."""
    arr = _check_scores(scores)
    thresholds = _check_taus(taus)
    _check_settings(rng, n_resamples, confidence)
    columns = np.arange(arr.shape[1])
    draws = np.empty((n_resamples, thresholds.size), dtype=np.float64)
    for block, idx in _run_index_blocks(arr.shape, rng, n_resamples, arr.size * thresholds.size):
        draws[block] = _profile_batched(arr[idx, columns], thresholds)
    alpha = 1.0 - confidence
    low, high = np.quantile(draws, [alpha / 2.0, 1.0 - alpha / 2.0], axis=0)
    return low, high


def _check_pair(x: np.ndarray | list, y: np.ndarray | list) -> tuple[np.ndarray, np.ndarray]:
    arr_x, arr_y = _check_scores(x, "x"), _check_scores(y, "y")
    if arr_x.shape[1] != arr_y.shape[1]:
        raise ValueError(
            f"x and y must score the same tasks (columns), got shapes {arr_x.shape} and {arr_y.shape}"
        )
    return arr_x, arr_y


def _improvement_batched(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """(batch,): for x (batch, n, tasks) and y (batch, m, tasks), the mean over tasks of the
    fraction of (x run, y run) pairs of that task where x is higher, ties counting one half."""
    a, b = x[:, :, None, :], y[:, None, :, :]
    per_task = (a > b).mean(axis=(1, 2)) + 0.5 * (a == b).mean(axis=(1, 2))  # (batch, tasks)
    return per_task.mean(axis=1)


def probability_of_improvement(x: np.ndarray | list, y: np.ndarray | list) -> float:
    """P(X > Y): the probability that a random run of x scores higher than a random run of y on a
    task, averaged over tasks (ties count one half).

    x: (n runs, tasks), y: (m runs, tasks), the same tasks in the same column order; n and m may
    differ. Per task it is the Mann-Whitney U statistic of x's runs against y's divided by n * m;
    runs are compared only within a task, never across tasks. rliable's
    `probability_of_improvement`. P(X > Y) + P(Y > X) = 1; 0.5 means no tendency either way. It
    says how often one beats the other, not by how much.
    """
    arr_x, arr_y = _check_pair(x, y)
    return float(_improvement_batched(arr_x[None], arr_y[None])[0])


def probability_of_improvement_ci(
    x: np.ndarray | list,
    y: np.ndarray | list,
    *,
    rng: np.random.Generator,
    n_resamples: int = 2000,
    confidence: float = 0.95,
) -> ConfidenceInterval:
    """Percentile interval of `probability_of_improvement(x, y)` from an independent stratified
    bootstrap: in every resample x's runs and y's runs are redrawn separately, within each task
    (rliable's `StratifiedIndependentBootstrap`): the two were trained apart, so nothing pairs
    them. With one run each the interval collapses to the point estimate."""
    arr_x, arr_y = _check_pair(x, y)
    _check_settings(rng, n_resamples, confidence)
    columns = np.arange(arr_x.shape[1])
    entries = arr_x.shape[0] * arr_y.shape[0] * arr_x.shape[1]
    size = _block_size(entries, n_resamples)
    stats = np.empty(n_resamples, dtype=np.float64)
    for start in range(0, n_resamples, size):
        stop = min(start + size, n_resamples)
        idx_x = rng.integers(0, arr_x.shape[0], size=(stop - start, *arr_x.shape))
        idx_y = rng.integers(0, arr_y.shape[0], size=(stop - start, *arr_y.shape))
        stats[start:stop] = _improvement_batched(arr_x[idx_x, columns], arr_y[idx_y, columns])
    return _percentile_interval(stats, confidence)
