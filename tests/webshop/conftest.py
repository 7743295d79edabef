"""Shared WebShop fixtures: the default generated catalog's world (built once per session)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def world():
    from rlgen.worlds.webshop import make_world

    return make_world({"options": {"max_episode_steps": 20}})
