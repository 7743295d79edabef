"""Expert data as the catalog builds it: how much it varies, that it reproduces, that every game builds.

Real Procgen, real Ray, the real experts of the behaviour registry, at small sizes.
"""

from __future__ import annotations

import time

import pytest

from rlgen.catalog import build_card, generate_grid
from rlgen.collect import collect_dataset
from rlgen.core.config import ExperimentConfig
from rlgen.core.games import GAMES
from rlgen.data.manifest import frame_diversity


def small_config(data_dir, **overrides) -> ExperimentConfig:
    items = {
        "levels.train": 5,
        "collect.transitions": 1000,
        "collect.shard_transitions": 500,
        "collect.envs_per_worker": 4,
        "collect.num_workers": 2,
        "ray.num_cpus": 2,
        "data_dir": str(data_dir),
        **overrides,
    }
    return ExperimentConfig().with_overrides([f"{k}={v}" for k, v in items.items()])


def test_random_play_holds_more_distinct_frames_than_the_planner(ray_local, tmp_path, monkeypatch):
    """The manifest's distinct-frame counts tell a planner's data from random play's on the same
    levels and budget: the planner walks to the goal, random play wanders the whole maze."""
    monkeypatch.delenv("RLGEN_DATA_DIR")
    section = {}
    for policy in ("random", "maze_planner"):  # 1,000 transitions per level: random play reaches most of each maze
        config = small_config(tmp_path, **{"collect.policy": f"{{name: {policy}}}", "levels.train": 3, "collect.transitions": 3000, "collect.shard_transitions": 1500})
        section[policy] = frame_diversity(collect_dataset(config, progress=False).manifest)
        assert section[policy]["transitions"] == 3000 and section[policy]["levels"] == 3
    assert section["random"]["distinct_frames_per_1k_transitions"] > section["maze_planner"]["distinct_frames_per_1k_transitions"]
    assert section["random"]["distinct_frames_per_level"]["mean"] > section["maze_planner"]["distinct_frames_per_level"]["mean"]


def test_stochastic_expert_data_is_byte_identical_per_seed_and_differs_across_seeds(ray_local, tmp_path, monkeypatch):
    """The default expert samples its actions, seeded per shard: the same seed gives the same
    bytes, in another folder and another run; another seed gives other data."""
    monkeypatch.delenv("RLGEN_DATA_DIR")

    def shards(folder: str, seed: int) -> list[str]:
        config = small_config(tmp_path / folder, **{"collect.policy": "{name: maze_planner}", "collect.seed": seed})
        return [s.sha256 for s in collect_dataset(config, progress=False).manifest.shards]

    first = shards("a", 0)
    assert shards("b", 0) == first
    assert not set(shards("c", 1)) & set(first)


def smallest_card_per_game():
    """Each game's cheapest card (fewest transitions, then fewest levels, expert before mixed)."""
    cards = {}
    for card in generate_grid():
        key = (card.transitions, card.train_levels, card.behaviour.skill != "expert")
        best = cards.get(card.env.game)
        if best is None or key < (best.transitions, best.train_levels, best.behaviour.skill != "expert"):
            cards[card.env.game] = card
    return cards


BUILD_SCALE = 0.001
"""100 transitions from each game's smallest (100k) card: one shard, one actor."""


@pytest.mark.slow
def test_one_tiny_card_of_every_game_builds(ray_local, capsys):
    """`rlgen datasets build NAME --scale 0.001` for one card of each of the 16 games, one Ray session."""
    cards = smallest_card_per_game()
    assert sorted(cards) == sorted(GAMES)
    seconds = {}
    for game, card in cards.items():
        started = time.perf_counter()
        dataset = build_card(card.scaled(BUILD_SCALE), progress=False, num_workers=1)
        seconds[game] = time.perf_counter() - started
        m = dataset.manifest
        assert m.transitions == round(card.transitions * BUILD_SCALE) and m.game == game, card.name
        assert m.behaviour["name"] == card.behaviour.policy
        diversity = frame_diversity(m)  # counted while writing (maze's level 0 is solved in one step: 1 frame)
        assert diversity["transitions"] == m.transitions and diversity["distinct_frames"] >= 1, card.name
    with capsys.disabled():
        print("\nbuild seconds per game:", {game: round(s, 1) for game, s in seconds.items()}, f"total {sum(seconds.values()):.0f} s")
