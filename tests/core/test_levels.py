import pytest

from rlgen.core.levels import LevelOverlapError, LevelSet, LevelSplit


def test_default_split_is_disjoint_and_training_starts_at_zero():
    split = LevelSplit.with_diversity(200)
    assert split.train == LevelSet(0, 200)
    assert not split.train.overlaps(split.validation)
    assert not split.train.overlaps(split.test)
    assert not split.validation.overlaps(split.test)


@pytest.mark.parametrize(
    "train, validation, test",
    [
        (LevelSet(0, 300), LevelSet(200, 50), LevelSet(1000, 10)),  # train covers validation
        (LevelSet(0, 10), LevelSet(100, 50), LevelSet(120, 10)),  # validation covers test
        (LevelSet(0, 2_000_001), LevelSet(3_000_000, 5), LevelSet(2_000_000, 10)),  # diversity reaches test
    ],
)
def test_overlapping_splits_are_refused(train, validation, test):
    with pytest.raises(LevelOverlapError, match="overlap"):
        LevelSplit(train, validation, test)


def test_adjacent_sets_do_not_overlap():
    assert not LevelSet(0, 10).overlaps(LevelSet(10, 5))
    assert LevelSet(0, 11).overlaps(LevelSet(10, 5))


def test_level_set_bounds_and_membership():
    levels = LevelSet(5, 3)
    assert list(levels.seeds) == [5, 6, 7]
    assert 7 in levels and 8 not in levels
    assert levels.first(2) == LevelSet(5, 2)
    with pytest.raises(ValueError):
        LevelSet(0, 0)
    with pytest.raises(ValueError):
        LevelSet(2**31 - 1, 2)


def test_split_round_trips_through_dict():
    split = LevelSplit.with_diversity(40)
    assert LevelSplit.from_dict(split.to_dict()) == split
