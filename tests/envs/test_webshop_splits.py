"""WebShop goal splits: positional blocks, text de-duplication, held-out product types, the check."""

from dataclasses import replace
from types import SimpleNamespace

import pytest

from rlgen_envs.webshop import check_disjoint, default_catalog, make_splits, normalize_instruction


def goals_with_repeats(n=2000):
    """Fake goals: every 7th test instruction reappears (re-cased, re-punctuated, new price) later."""
    goals = [SimpleNamespace(instruction_text=f"i need thing number {i}, and price lower than 40.00 dollars", query=f"q{i % 20}", category="c") for i in range(n)]
    for i in range(0, 500, 7):
        goals[1500 + i].instruction_text = f"I need  thing number {i}!, and price lower than 90.00 dollars"
    for j, i in enumerate(range(500, 600, 10)):  # and ten validation ones
        goals[1502 + 7 * j].instruction_text = f"i need thing number {i}"
    return goals


def test_normalization():
    assert normalize_instruction("I'm looking for  RED, t-shirts!, and price lower than 30.00 dollars") == "im looking for red tshirts"
    assert normalize_instruction("a b\tc") == "a b c"


def test_original_blocks_and_the_unseen_split():
    goals = goals_with_repeats()
    original = make_splits(goals, "original")
    assert original.test == tuple(range(500)) and original.validation == tuple(range(500, 1500))
    assert original.train == tuple(range(1500, 2000))
    with pytest.raises(ValueError, match="train and test share 72 normalized instructions"):
        check_disjoint(original, goals)
    unseen = make_splits(goals, "unseen")
    assert unseen.test == original.test and unseen.validation == original.validation  # test stays the published block
    assert unseen.dropped == {"test": 0, "validation": 0, "train": 82}
    assert len(unseen.train) == 500 - 82
    check_disjoint(unseen, goals)


def test_check_disjoint_refuses_shared_goals_and_out_of_range_indices():
    goals = goals_with_repeats()
    splits = make_splits(goals, "unseen")
    with pytest.raises(ValueError, match="share 1 goal indices"):
        check_disjoint(replace(splits, train=splits.train + (3,)), goals)
    with pytest.raises(ValueError, match="outside"):
        check_disjoint(replace(splits, validation=splits.validation + (5000,)), goals)


def test_category_split_holds_out_whole_product_types():
    catalog = default_catalog()
    splits = make_splits(catalog.goals, "category", seed=0)
    check_disjoint(splits, catalog.goals)
    queries = {name: {catalog.goals[i].query for i in splits.indices(name)} for name in ("train", "validation", "test")}
    assert queries["test"] == set(splits.held_out["test"]) and queries["validation"] == set(splits.held_out["validation"])
    assert not (queries["train"] & (queries["test"] | queries["validation"]))
    n = len(catalog.goals)
    assert len(splits.test) >= 0.15 * n and len(splits.validation) >= 0.15 * n and len(splits.train) >= 0.5 * n
    assert make_splits(catalog.goals, "category", seed=0) == splits and make_splits(catalog.goals, "category", seed=1) != splits
    coarse = make_splits(catalog.goals, "category", group_key="category")
    check_disjoint(coarse, catalog.goals)
    assert len(coarse.held_out["test"]) >= 1 and len(coarse.held_out["validation"]) >= 1
    # mixing in a goal of a held-out type is refused
    with pytest.raises(ValueError, match="query groups"):
        check_disjoint(replace(splits, train=splits.train + (splits.test[0],)), catalog.goals)


def test_default_catalog_unseen_split_is_disjoint():
    catalog = default_catalog()
    splits = make_splits(catalog.goals)
    check_disjoint(splits, catalog.goals)
    assert len(splits.test) == 500 and len(splits.validation) + splits.dropped["validation"] == 1000
    assert len(splits.train) > 2500
    assert splits.as_dict()["sizes"]["test"] == 500


def test_bad_split_arguments():
    with pytest.raises(ValueError, match="unknown split kind"):
        make_splits(goals_with_repeats(), "random")
    with pytest.raises(ValueError, match="more than 1500 goals"):
        make_splits(goals_with_repeats()[:1500], "unseen")


def test_attribute_split_holds_out_type_attribute_combinations():
    catalog = default_catalog()
    goals = catalog.goals
    splits = make_splits(goals, "attributes", seed=0)
    check_disjoint(splits, goals)
    assert splits.held_out["test"] and splits.held_out["validation"]
    pairs = lambda i: {f"{goals[i].query}|{a}" for a in goals[i].attributes}  # noqa: E731
    train_pairs = {p for i in splits.train for p in pairs(i)}
    for name in ("validation", "test"):
        held = set(splits.held_out[name])
        assert not held & train_pairs
        assert all(pairs(i) & held for i in splits.indices(name) if name == "test")  # each test goal asks for a held-out pair
        assert len(splits.indices(name)) >= 0.15 * len(goals) * 0.9
    # every held-out pair's product type and attribute still appear in training, just never together
    train_types = {goals[i].query for i in splits.train}
    train_attributes = {a for i in splits.train for a in goals[i].attributes}
    for pair in splits.held_out["test"] + splits.held_out["validation"]:
        query, attribute = pair.split("|")
        assert query in train_types and attribute in train_attributes
    assert make_splits(goals, "attributes", seed=0) == splits and make_splits(goals, "attributes", seed=1) != splits


def test_attribute_split_check_catches_a_held_out_pair_in_training():
    goals = default_catalog().goals
    splits = make_splits(goals, "attributes", seed=0)
    leaked = replace(splits, train=splits.train + (splits.test[0],), test=splits.test[1:])
    with pytest.raises(ValueError, match="held out for test"):
        check_disjoint(leaked, goals)
