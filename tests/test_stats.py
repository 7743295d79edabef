"""Metrics and bootstrap intervals of rlgen.stats, on numbers small enough to check by hand."""

from __future__ import annotations

import numpy as np
import pytest

from rlgen import stats


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


# A (runs, tasks) array with spread across runs and tasks: 5 runs, 3 tasks.
SCORES = np.array(
    [
        [0.10, 0.50, 0.90],
        [0.20, 0.40, 0.80],
        [0.30, 0.65, 0.70],
        [0.15, 0.55, 0.95],
        [0.25, 0.45, 0.60],
    ]
)


# --- metrics ---------------------------------------------------------------------------------


def test_iqm_of_0_to_7_is_mean_of_middle_four():
    assert stats.iqm(np.arange(8)) == pytest.approx((2 + 3 + 4 + 5) / 4)


def test_iqm_pools_runs_and_tasks():
    scores = np.array([[0.0, 10.0], [1.0, 2.0], [3.0, 100.0], [4.0, -50.0]])  # 8 scores
    # sorted: -50, 0, 1, 2, 3, 4, 10, 100 -> drop two each end -> mean(1, 2, 3, 4)
    assert stats.iqm(scores) == pytest.approx(2.5)


@pytest.mark.parametrize(
    "values, expected",
    [
        ([7.0], 7.0),  # n < 4: nothing trimmed
        ([1.0, 2.0, 9.0], 4.0),
        ([5.0, 1.0, 3.0, 100.0, 2.0], 10.0 / 3.0),  # n = 5: drop 1 each end -> mean(2, 3, 5)
        ([0.0, 1.0, 2.0, 3.0, 4.0, 50.0], 2.5),  # n = 6: drop 1 each end -> mean(1, 2, 3, 4)
        ([9.0, 0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, -9.0], 3.0),  # n = 9: drop 2 each end
    ],
)
def test_iqm_trimming_rule_for_counts_not_divisible_by_4(values, expected):
    assert stats.iqm(values) == pytest.approx(expected)


def test_iqm_matches_scipy_trim_mean():
    scipy_stats = pytest.importorskip("scipy.stats")
    generator = rng(3)
    for n in range(1, 30):
        x = generator.normal(size=n)
        assert stats.iqm(x) == pytest.approx(scipy_stats.trim_mean(x, 0.25))
    x = generator.normal(size=(7, 5))
    assert stats.iqm(x) == pytest.approx(scipy_stats.trim_mean(x, 0.25, axis=None))


def test_mean_pools_everything():
    assert stats.mean(SCORES) == pytest.approx(SCORES.sum() / SCORES.size)


@pytest.mark.parametrize("metric", [stats.iqm, stats.mean])
def test_metrics_reject_empty_and_non_finite(metric):
    with pytest.raises(ValueError, match="empty"):
        metric(np.zeros((0, 3)))
    with pytest.raises(ValueError, match="non-finite"):
        metric([[0.1, np.nan]])


# --- stratified bootstrap over runs ------------------------------------------------------------


@pytest.mark.parametrize("metric", [stats.iqm, stats.mean])
def test_interval_contains_point_estimate(metric):
    low, high = stats.stratified_bootstrap_ci(SCORES, metric, rng=rng())
    assert low <= metric(SCORES) <= high
    assert high > low


def test_same_seed_same_interval_and_different_seeds_differ():
    a = stats.stratified_bootstrap_ci(SCORES, stats.iqm, rng=rng(7))
    b = stats.stratified_bootstrap_ci(SCORES, stats.iqm, rng=rng(7))
    c = stats.stratified_bootstrap_ci(SCORES, stats.iqm, rng=rng(8))
    assert a == b
    assert a != c


def test_global_random_state_is_not_used():
    np.random.seed(0)
    a = stats.stratified_bootstrap_ci(SCORES, stats.mean, rng=rng(1))
    np.random.seed(12345)
    b = stats.stratified_bootstrap_ci(SCORES, stats.mean, rng=rng(1))
    assert a == b


def test_resampling_is_stratified_by_task():
    # Each task's column is constant within the task, so any stratified resample has the same
    # pooled mean; an unstratified bootstrap (mixing tasks) would not.
    scores = np.tile([0.0, 1.0, 5.0], (6, 1))
    low, high = stats.stratified_bootstrap_ci(scores, stats.mean, rng=rng())
    assert low == high == pytest.approx(2.0)


def test_degenerate_scores_give_zero_width():
    scores = np.full((4, 3), 0.3)
    ci = stats.stratified_bootstrap_ci(scores, stats.iqm, rng=rng())
    assert ci.width == 0.0
    assert ci.low == pytest.approx(0.3)


def test_single_run_collapses_to_the_point():
    one_run = SCORES[:1]
    for metric in (stats.iqm, stats.mean):
        low, high = stats.stratified_bootstrap_ci(one_run, metric, rng=rng())
        assert low == high == metric(one_run)


def test_custom_statistic_matches_builtin_fast_path():
    fast = stats.stratified_bootstrap_ci(SCORES, stats.iqm, rng=rng(5), n_resamples=300)
    slow = stats.stratified_bootstrap_ci(SCORES, lambda s: stats.iqm(s), rng=rng(5), n_resamples=300)
    assert fast.low == pytest.approx(slow.low) and fast.high == pytest.approx(slow.high)


def test_wider_confidence_gives_wider_interval():
    narrow = stats.stratified_bootstrap_ci(SCORES, stats.mean, rng=rng(), confidence=0.5)
    wide = stats.stratified_bootstrap_ci(SCORES, stats.mean, rng=rng(), confidence=0.99)
    assert wide.low <= narrow.low and narrow.high <= wide.high


def test_blocked_resampling_is_deterministic(monkeypatch):
    monkeypatch.setattr(stats, "_MAX_BLOCK_ENTRIES", 30)  # blocks of two resamples
    a = stats.stratified_bootstrap_ci(SCORES, stats.iqm, rng=rng(2), n_resamples=101)
    b = stats.stratified_bootstrap_ci(SCORES, stats.iqm, rng=rng(2), n_resamples=101)
    assert a == b and a.contains(stats.iqm(SCORES))


@pytest.mark.parametrize(
    "scores, message",
    [
        (np.arange(5.0), r"2-D array shaped \(runs, tasks\)"),
        (np.zeros((2, 3, 4)), r"2-D array shaped \(runs, tasks\)"),
        (np.zeros((0, 3)), "at least one run and one task"),
        (np.zeros((3, 0)), "at least one run and one task"),
        (np.array([[0.1, np.inf]]), "non-finite"),
    ],
)
def test_shapes_and_values_are_validated(scores, message):
    with pytest.raises(ValueError, match=message):
        stats.stratified_bootstrap_ci(scores, stats.iqm, rng=rng())


def test_settings_are_validated():
    with pytest.raises(TypeError, match="numpy.random.Generator"):
        stats.stratified_bootstrap_ci(SCORES, stats.iqm, rng=0)
    with pytest.raises(TypeError, match="numpy.random.Generator"):
        stats.stratified_bootstrap_ci(SCORES, stats.iqm, rng=np.random.RandomState(0))
    with pytest.raises(ValueError, match="n_resamples"):
        stats.stratified_bootstrap_ci(SCORES, stats.iqm, rng=rng(), n_resamples=0)
    with pytest.raises(ValueError, match="confidence"):
        stats.stratified_bootstrap_ci(SCORES, stats.iqm, rng=rng(), confidence=95)


# --- bootstrap over units (levels) -------------------------------------------------------------


def test_units_interval_contains_mean_and_is_reproducible():
    values = np.array([0.0, 0.2, 0.4, 0.5, 0.9, 1.0, 0.3, 0.7])
    ci = stats.bootstrap_ci_over_units(values, stats.mean, rng=rng(4))
    assert ci.contains(values.mean()) and ci.width > 0
    assert ci == stats.bootstrap_ci_over_units(values, stats.mean, rng=rng(4))
    assert ci != stats.bootstrap_ci_over_units(values, stats.mean, rng=rng(5))


def test_units_degenerate_and_single_unit():
    assert stats.bootstrap_ci_over_units(np.full(10, 0.25), stats.mean, rng=rng()).width == 0.0
    assert stats.bootstrap_ci_over_units([0.6], stats.mean, rng=rng()) == (0.6, 0.6)


def test_units_strata_keep_each_stratum_in_place():
    # Constant within each stratum: a stratified resample always reproduces the data.
    values = np.array([1.0, 1.0, 1.0, 4.0, 4.0])
    strata = np.array(["a", "a", "a", "b", "b"])
    ci = stats.bootstrap_ci_over_units(values, stats.mean, strata=strata, rng=rng())
    assert ci.low == ci.high == pytest.approx(values.mean())
    # The layout is kept: position 0..2 always hold stratum a.
    first_three = stats.bootstrap_ci_over_units(values, lambda v: v[:3].max(), strata=strata, rng=rng())
    assert first_three == (1.0, 1.0)


def test_units_validation():
    with pytest.raises(ValueError, match="1-D sample"):
        stats.bootstrap_ci_over_units(np.zeros((3, 2)), stats.mean, rng=rng())
    with pytest.raises(ValueError, match="one label per unit"):
        stats.bootstrap_ci_over_units(np.zeros(3), stats.mean, strata=[0, 1], rng=rng())
    with pytest.raises(ValueError, match="empty"):
        stats.bootstrap_ci_over_units([], stats.mean, rng=rng())


# --- paired difference (generalization gap) ----------------------------------------------------


def test_paired_difference_of_shifted_scores_has_zero_width():
    # Test = train - 0.2 for every run: the paired gap is exactly 0.2 whatever runs are drawn,
    # although the runs themselves spread widely.
    train = np.array([[0.1], [0.5], [0.9], [0.3], [0.7]])
    test = train - 0.2
    for metric in (stats.mean, stats.iqm):
        ci = stats.paired_difference_ci(train, test, metric, rng=rng())
        assert ci.low == pytest.approx(0.2) and ci.high == pytest.approx(0.2)
    unpaired = stats.stratified_bootstrap_ci(train, stats.mean, rng=rng())
    assert unpaired.width > 0.2


def test_paired_difference_sign_contains_point_and_is_reproducible():
    generator = rng(11)
    train = generator.uniform(0.5, 1.0, size=(6, 2))
    test = train - generator.uniform(0.1, 0.3, size=(6, 2))
    ci = stats.paired_difference_ci(train, test, stats.iqm, rng=rng(1))
    point = stats.iqm(train) - stats.iqm(test)
    assert point > 0 and ci.low > 0 and ci.contains(point)
    assert ci == stats.paired_difference_ci(train, test, stats.iqm, rng=rng(1))
    assert ci != stats.paired_difference_ci(train, test, stats.iqm, rng=rng(2))
    reversed_ci = stats.paired_difference_ci(test, train, stats.iqm, rng=rng(1))
    assert reversed_ci.low == pytest.approx(-ci.high) and reversed_ci.high == pytest.approx(-ci.low)


def test_paired_difference_single_run_and_shape_checks():
    ci = stats.paired_difference_ci([[0.8, 0.6]], [[0.5, 0.4]], stats.mean, rng=rng())
    assert ci.low == ci.high == pytest.approx(0.25)
    with pytest.raises(ValueError, match="same"):
        stats.paired_difference_ci(np.zeros((3, 2)), np.zeros((2, 2)), stats.mean, rng=rng())
    with pytest.raises(ValueError, match=r"b must be a 2-D array"):
        stats.paired_difference_ci(np.zeros((3, 1)), np.zeros(3), stats.mean, rng=rng())


# --- performance profiles and probability of improvement -------------------------------------


def test_performance_profile_counts_scores_strictly_above_each_tau():
    scores = np.array([[0.1, 0.5], [0.9, 0.3]])
    # > 0: all four; > 0.3: 0.5 and 0.9 (0.3 itself is not above); > 0.5: 0.9; > 1: none
    np.testing.assert_array_equal(stats.performance_profile(scores, [0.0, 0.3, 0.5, 1.0]), [1.0, 0.5, 0.25, 0.0])


def test_performance_profile_band_from_two_runs_spans_every_outcome():
    # one task, runs 0 and 1: a resample holds zero, one or two copies of the 1 (p = 1/4, 1/2, 1/4),
    # so above 0.5 the fraction is 0, 0.5 or 1 and the 95% band is [0, 1]; above -1 it is always 1
    low, high = stats.performance_profile_ci([[0.0], [1.0]], [-1.0, 0.5], rng=rng(), n_resamples=4000)
    np.testing.assert_array_equal(low, [1.0, 0.0])
    np.testing.assert_array_equal(high, [1.0, 1.0])


def test_performance_profile_band_contains_the_profile_and_is_seeded():
    taus = np.linspace(0.0, 1.0, 21)
    point = stats.performance_profile(SCORES, taus)
    low, high = stats.performance_profile_ci(SCORES, taus, rng=rng(5), n_resamples=500)
    assert np.all(low <= point) and np.all(point <= high)
    again = stats.performance_profile_ci(SCORES, taus, rng=rng(5), n_resamples=500)
    np.testing.assert_array_equal(low, again[0])
    np.testing.assert_array_equal(high, again[1])
    single = stats.performance_profile_ci(SCORES[:1], taus, rng=rng(), n_resamples=50)
    np.testing.assert_array_equal(single[0], stats.performance_profile(SCORES[:1], taus))


@pytest.mark.parametrize(
    "x, y, expected",
    [
        ([[1.0], [3.0]], [[2.0], [2.0]], 0.5),  # 1<2, 1<2, 3>2, 3>2
        ([[1.0], [3.0]], [[1.0], [0.0]], 0.875),  # tie 1=1 counts 1/2; 1>0, 3>1, 3>0 -> 3.5 / 4
        ([[1.0, 10.0]], [[5.0, 0.0]], 0.5),  # per task: 1<5, 10>0; comparing across tasks would give 0.75
        ([[2.0], [2.0], [2.0]], [[1.0]], 1.0),  # run counts may differ
    ],
)
def test_probability_of_improvement_by_hand(x, y, expected):
    assert stats.probability_of_improvement(x, y) == pytest.approx(expected)
    assert stats.probability_of_improvement(y, x) == pytest.approx(1.0 - expected)


def test_probability_of_improvement_is_mann_whitney_u_over_nm():
    scipy_stats = pytest.importorskip("scipy.stats")
    generator = rng(7)
    x, y = generator.integers(0, 4, size=(6, 1)).astype(float), generator.integers(0, 4, size=(4, 1)).astype(float)
    u = scipy_stats.mannwhitneyu(x[:, 0], y[:, 0]).statistic
    assert stats.probability_of_improvement(x, y) == pytest.approx(u / (6 * 4))


def test_probability_of_improvement_interval_by_hand():
    # x's runs 0 and 1 against y = 0.5: a resample of x holds zero, one or two 1s (p = 1/4, 1/2,
    # 1/4), so P(X > Y) is 0, 0.5 or 1 and the 95% interval is [0, 1]
    assert tuple(stats.probability_of_improvement_ci([[0.0], [1.0]], [[0.5], [0.5]], rng=rng(), n_resamples=4000)) == (0.0, 1.0)
    # every run of x above every run of y: every resample gives 1
    assert tuple(stats.probability_of_improvement_ci(SCORES + 1.0, SCORES, rng=rng(), n_resamples=200)) == (1.0, 1.0)
    # one run each: nothing to resample
    assert tuple(stats.probability_of_improvement_ci([[0.2, 0.9]], [[0.3, 0.1]], rng=rng(), n_resamples=50)) == (0.5, 0.5)


def test_probability_of_improvement_interval_resamples_x_and_y_independently():
    # x and y both runs {0, 1}. Drawing the same indices for both (paired) would give identical
    # arrays, so 0.5 in every resample. Independently, x all 0 and y all 1 (p = 1/4 * 1/4 = 1/16,
    # above 2.5%) gives 0, and the reverse 1: the 95% interval is [0, 1].
    ci = stats.probability_of_improvement_ci([[0.0], [1.0]], [[0.0], [1.0]], rng=rng(), n_resamples=4000)
    assert tuple(ci) == (0.0, 1.0)


def test_probability_of_improvement_refuses_different_tasks():
    with pytest.raises(ValueError, match="same tasks"):
        stats.probability_of_improvement(np.zeros((2, 2)), np.zeros((2, 3)))
