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


@pytest.mark.slow
def test_manifests_tell_a_deterministic_expert_from_random_play_and_the_sampled_expert(ray_local, tmp_path, monkeypatch):
    """The manifest's distinct-frame counts, on the same levels and budget: the deterministic
    planner repeats one path per level, so random play and the sampled (default) planner both
    hold more distinct frames per level and per 1k transitions than it does."""
    monkeypatch.delenv("RLGEN_DATA_DIR")
    section = {}
    policies = {"random": "{name: random}", "argmax": "{name: maze_planner, options: {temperature: 0}}", "sampled": "{name: maze_planner}"}
    for label, policy in policies.items():  # 1,000 transitions per level: random play reaches much of each maze
        config = small_config(tmp_path, **{"collect.policy": policy, "levels.train": 3, "collect.transitions": 3000, "collect.shard_transitions": 1500})
        section[label] = frame_diversity(collect_dataset(config, progress=False).manifest)
        assert section[label]["transitions"] == 3000 and section[label]["levels"] == 3
    for more in ("random", "sampled"):
        assert section[more]["distinct_frames_per_1k_transitions"] > section["argmax"]["distinct_frames_per_1k_transitions"], more
        assert section[more]["distinct_frames_per_level"]["mean"] > section["argmax"]["distinct_frames_per_level"]["mean"], more


@pytest.mark.slow
def test_stochastic_expert_data_is_byte_identical_per_seed_and_differs_across_seeds(ray_local, tmp_path, monkeypatch):
    """The default expert samples its actions, seeded per shard: the same seed gives the same
    bytes, in another folder and another run; another seed gives other data."""
    monkeypatch.delenv("RLGEN_DATA_DIR")

    def shards(folder: str, seed: int) -> list[str]:
        config = small_config(tmp_path / folder, **{"collect.policy": "{name: maze_planner}", "collect.seed": seed, "collect.transitions": 600, "collect.shard_transitions": 300})
        manifest = collect_dataset(config, progress=False).manifest
        assert manifest.behaviour["effective_options"]["temperature"] > 0  # the default expert samples
        return [s.sha256 for s in manifest.shards]

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
