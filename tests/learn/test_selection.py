"""Checkpoint selection keeps an earlier checkpoint only when validation tells it from the final one."""

import numpy as np
import pytest

from rlgen.learn.selection import select_checkpoint


def test_the_final_checkpoint_is_kept_when_it_scores_best_or_ties():
    ties = [(500, np.array([10.0, 0.0, 10.0])), (1000, np.array([0.0, 10.0, 10.0]))]
    selection = select_checkpoint(ties)
    assert selection.kept == "final" and selection.best.step == 1000 and selection.model.step == 1000


def test_ties_among_earlier_checkpoints_go_to_the_latest():
    solved, failed = np.full(30, 1.0), np.zeros(30)
    selection = select_checkpoint([(1, solved), (2, solved), (3, failed)])
    assert selection.best.step == 2 and selection.kept == "best" and selection.model.step == 2


def test_a_difference_within_noise_keeps_the_final_weights():
    rng = np.random.default_rng(3)
    final = rng.integers(0, 2, 20).astype(float)
    earlier = final.copy()
    earlier[np.flatnonzero(final == 0)[:2]] = 1.0  # two more episodes solved out of 20
    selection = select_checkpoint([(1, earlier), (2, final)])
    assert selection.best.step == 1 and selection.kept == "final"
    assert selection.difference_ci[0] <= 0 < selection.difference_ci[1]


def test_a_clear_difference_keeps_the_earlier_checkpoint_with_its_interval():
    earlier = np.r_[np.ones(18), np.zeros(2)]
    final = np.r_[np.zeros(18), np.ones(2)]
    selection = select_checkpoint([(1, earlier), (2, final)], seed=4)
    assert selection.kept == "best" and selection.difference_ci[0] > 0
    assert selection.best.ci_low <= selection.best.mean <= selection.best.ci_high and selection.best.episodes == 20
    record = selection.to_dict()
    assert record["selected_step"] == 1 and [c["step"] for c in record["checkpoints"]] == [1, 2]
    assert select_checkpoint([(1, earlier), (2, final)], seed=4) == selection  # a pure function of data and seed


def test_one_episode_cannot_select():
    selection = select_checkpoint([(1, np.array([10.0])), (2, np.array([0.0]))])
    assert selection.kept == "final" and "one validation episode" in selection.reason


@pytest.mark.parametrize("bad", [[], [(2, np.ones(3)), (1, np.ones(3))], [(1, np.ones(3)), (2, np.ones(4))]])
def test_malformed_validation_is_refused(bad):
    with pytest.raises(ValueError):
        select_checkpoint(bad)
