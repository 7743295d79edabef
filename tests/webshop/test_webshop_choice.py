"""Candidates per page and the hashed n-gram featurizer: fixed slots, deterministic bytes."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from rlgen_envs.webshop import WebShopEnv, default_catalog
from rlgen_envs.webshop.choice import FIRST_ITEM_SLOT, HashedNgramFeaturizer, PageView, page_view


@pytest.fixture(scope="module")
def env():
    return WebShopEnv(default_catalog(), split="train")


def _on_results(env, goal):
    env.reset(options={"goal": goal})
    view = page_view(env)
    env.step(view.slots[0].action)
    return page_view(env)


def test_search_page_offers_only_the_instruction_search(env):
    env.reset(options={"goal": env.goal_indices[0]})
    view = page_view(env)
    assert view.page == "search" and len(view.slots) == 20
    assert view.slots[0].action == f"search[{env.goal.instruction_text}]"
    assert all(c is None for c in view.slots[1:])
    assert env.goal.instruction_text not in view.page_text  # the instruction has its own field


def test_results_page_slots_are_the_page_buttons_and_its_products_in_rank_order(env):
    view = _on_results(env, env.goal_indices[1])
    assert view.page == "results"
    assert view.slots[1].action == "click[back to search]" and view.slots[3].action == "click[next >]"
    assert view.slots[2] is None and view.slots[4] is None  # no < Prev on page 1, no Buy Now on results
    shown = [f"click[{a}]" for a in env.step("noop")[4]["result_asins"]]
    products = [c.action for c in view.slots[FIRST_ITEM_SLOT:] if c is not None]
    assert products == shown and len(products) == 10
    first = env.catalog.products[env.results[0]]
    assert view.slots[FIRST_ITEM_SLOT].text == f"{first.title} {first.price_tag}".lower()


def test_item_page_slots_hold_option_values_and_mark_the_selected_one(env):
    goal = env.goal_indices[2]
    view = _on_results(env, goal)
    env.step(view.slots[FIRST_ITEM_SLOT].action)
    view = page_view(env)
    product = env.catalog.product(env.asin)
    values = [v for vs in product.options.values() for v in vs]
    options = [c for c in view.slots[FIRST_ITEM_SLOT:] if c is not None]
    assert [c.action for c in options] == [f"click[{v}]" for v in values]
    assert view.slots[4].action == "click[buy now]" and view.slots[5].action == "click[description]"
    if options:
        env.step(options[0].action)
        after = page_view(env)
        assert after.slots[FIRST_ITEM_SLOT].selected and not any(c.selected for c in after.slots[FIRST_ITEM_SLOT + 1 :] if c)


def test_featurizer_layout_and_overlap_features(env):
    featurizer = HashedNgramFeaturizer(20)
    view = _on_results(env, env.goal_indices[3])
    x = featurizer.encode(view)
    assert x.shape == (featurizer.size,) == (2154,) and x.dtype == np.uint8
    assert x[1] == 1 and x[0] == x[2] == x[3] == 0  # results page one-hot
    slot = lambda k: x[featurizer.header + 512 + 256 + k * featurizer.slot_size :][: featurizer.slot_size]  # noqa: E731
    assert slot(0)[0] == 1 and slot(2)[0] == 0  # search present, < Prev empty
    assert slot(2).sum() == 0  # an empty slot is all zeros
    best = max(range(FIRST_ITEM_SLOT, 18), key=lambda k: slot(k)[3])
    assert slot(best)[3] >= 2  # some product's title shares words with the instruction
    empty = PageView("", "search", 1, 0, "", (None,) * 20)
    assert featurizer.encode(empty)[featurizer.header :].sum() == 0


def test_featurizer_is_deterministic_across_processes(env):
    """crc32, never Python's salted hash: another interpreter with another hash seed gives the same bytes."""
    view = _on_results(env, env.goal_indices[4])
    here = HashedNgramFeaturizer(20).encode(view)
    code = (
        "import sys, numpy as np\n"
        "from rlgen_envs.webshop import WebShopEnv, default_catalog\n"
        "from rlgen_envs.webshop.choice import HashedNgramFeaturizer, page_view\n"
        "env = WebShopEnv(default_catalog(), split='train')\n"
        f"env.reset(options={{'goal': {env.goal_indices[4]}}})\n"
        "env.step(page_view(env).slots[0].action)\n"
        "sys.stdout.write(HashedNgramFeaturizer(20).encode(page_view(env)).tobytes().hex())\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True,
        env={**os.environ, "PYTHONHASHSEED": "12345"},
    ).stdout  # fmt: skip
    assert bytes.fromhex(out) == here.tobytes()


def test_featurizer_refuses_a_view_of_another_size(env):
    env.reset(options={"goal": env.goal_indices[0]})
    with pytest.raises(ValueError, match="slots"):
        HashedNgramFeaturizer(24).encode(page_view(env, 20))
    with pytest.raises(ValueError, match="fixed slots"):
        page_view(env, FIRST_ITEM_SLOT)
