"""The dataset catalog: the paper's grid for 16 games, names rlgen derives, card checks, building."""

from __future__ import annotations

import collections

import pytest
import yaml

from rlgen.catalog import (
    CATALOG_FILE,
    DEFAULT_CATALOG_DIR,
    EXPERT_PREFERENCE,
    Catalog,
    best_expert,
    build_card,
    expert_for,
    generate_grid,
    load_catalog,
    mixture_for,
    reference_returns,
    render_catalog,
    render_summary,
    with_summary,
)
from rlgen.cli import main
from rlgen.core.config import CollectConfig
from rlgen.core.games import GAMES
from rlgen.core.typed import ConfigError
from rlgen.data.dataset import load_dataset


@pytest.fixture(scope="module")
def grid():
    return generate_grid()


def test_grid_covers_the_papers_grid_for_all_16_games(grid):
    by_game = collections.defaultdict(dict)
    for card in grid:
        by_game[card.env.game][(card.train_levels, card.behaviour.skill, card.transitions)] = card
        assert card.name == card.experiment_config().dataset_name  # the name rlgen itself derives
    assert sorted(by_game) == sorted(GAMES) and len({c.name for c in grid}) == len(grid) == 160
    expected = {
        (200, "expert", 1_000_000), (200, "mixed", 1_000_000),  # headline
        (1, "expert", 1_000_000), (10, "expert", 1_000_000), (40, "expert", 1_000_000), (1000, "expert", 1_000_000),  # diversity
        (200, "expert", 100_000), (200, "expert", 10_000_000),  # size
        (1, "expert", 100_000), (1, "mixed", 100_000),  # single level
    }  # fmt: skip
    for game, cards in by_game.items():
        assert set(cards) == expected, game
        assert cards[(200, "expert", 1_000_000)].grid == ("headline", "diversity", "size")
    maze = by_game["maze"]
    assert maze[(200, "expert", 1_000_000)].name == "procgen-maze-easy-L200-planner-1M-s0-v3"
    mixed = maze[(200, "mixed", 1_000_000)]
    assert 0 < mixed.behaviour.options["mix"] < 0.75  # random's share is calibrated out
    assert mixed.name == f"procgen-maze-easy-L200-planner-mix{mixed.behaviour.options['mix']:g}-1M-s0-v3"


def test_every_card_names_a_registered_expert_that_plays_its_game(grid):
    """The best measured expert that plays the game; never PPO (the online reference)."""
    from rlgen.policies.registry import behaviour_names

    for card in grid:
        game = card.env.game
        assert card.behaviour.policy in EXPERT_PREFERENCE and card.behaviour.policy in behaviour_names(game), card.name
        assert card.behaviour.policy == expert_for(game), card.name
        card.require_buildable()  # the registry plays it with these options
    experts = {c.env.game: c.behaviour.policy for c in grid}
    # bench/results/experts.json: the planner beats search on maze (10.0 vs 8.0) and heist (9.0 vs
    # 7.0); search beats it on coinrun (10.0 vs 9.0)
    assert (experts["maze"], experts["heist"], experts["coinrun"]) == ("planner", "planner", "search")
    assert {experts[g] for g in GAMES if g not in ("maze", "heist")} == {"search"}


def test_the_expert_is_the_best_measured_one_and_the_order_breaks_ties():
    assert best_expert(["planner", "search"], {"planner": 9.0, "search": 10.0}) == "search"
    assert best_expert(["planner", "search"], {"planner": 10.0, "search": 8.0}) == "planner"
    assert best_expert(["planner", "search"], {"planner": 9.0, "search": 9.0}) == "planner"
    assert best_expert(["planner", "search"], {"search": 3.0}) == "search"  # the only one measured
    assert best_expert(["planner", "search"], {}) == "planner"  # none measured: the order


def test_mixed_cards_calibrate_the_episode_mixture_from_expert_and_random_returns(grid):
    for card in grid:
        if card.behaviour.skill != "mixed":
            assert "mix" not in card.behaviour.options and card.behaviour.calibration is None
            continue
        expert, random, source = reference_returns(card.env.game)
        p = card.behaviour.options["mix"]
        assert f"E = {expert:g}, R = {random:g}" in card.behaviour.calibration and source in card.behaviour.calibration
        if random >= 0.75 * expert:  # no mixture reaches the target: the target itself, said so
            assert p == 0.75 and "no mixture reaches" in card.behaviour.calibration
        else:
            assert abs(p * expert + (1 - p) * random - 0.75 * expert) <= 0.005 * abs(expert - random) + 1e-9, card.name


def test_measured_returns_replace_the_published_ones(tmp_path):
    results = tmp_path / "bench" / "results" / "experts.json"
    results.parent.mkdir(parents=True)
    results.write_text(
        '{"date": "2026-12-03T16:00:00", "figures": {"bigfish": {"levels": 10, "expert": {"policy": "search", "mean_return": 30.04}, '
        '"random": {"mean_return": 1.0}}, "plunder": {"levels": 10, "expert": {"policy": "search", "mean_return": 6.0}, "random": {"mean_return": 4.9}}, '
        '"coinrun": {"levels": 10, "expert": {"policy": "planner", "mean_return": 9.0}, "alternatives": {"search": {"policy": "search", "mean_return": 9.5}}, '
        '"random": {"mean_return": 1.0}}}}'
    )
    assert reference_returns("bigfish", results) == (30.04, 1.0, "bench/results/experts.json, training levels [0, 10), 2026-12-03")
    assert mixture_for("bigfish", "search", 0.75, results)[0] == round((0.75 * 30.04 - 1) / 29.04, 2)
    p, calibration = mixture_for("plunder", "search", 0.75, results)  # random play already scores 82% of the expert's
    assert p == 0.75 and "no mixture reaches 0.75 E" in calibration and "E = 6, R = 4.9" in calibration
    assert reference_returns("chaser", results)[:2] == (9.96, 0.66)  # not measured: the published figures
    assert "generalization-gap.md" in reference_returns("chaser", results)[2]
    # two experts measured: the better one is the expert, and its return calibrates the mixture
    assert expert_for("coinrun", results) == "search" and reference_returns("coinrun", results)[0] == 9.5


def test_the_stochastic_experts_data_has_a_new_version_in_its_name():
    """Version 2 names hold the deterministic experts' data: a folder of it must never pass for the
    sampled experts' data, which the same card and seed now give."""
    assert CollectConfig().version == 3
    assert all(card.version == 3 and card.name.endswith("-v3") for card in generate_grid(["maze"]))


def test_committed_catalog_is_what_the_generator_writes(grid):
    path = DEFAULT_CATALOG_DIR / CATALOG_FILE
    assert path.read_text() == render_catalog(grid), "stale: run `python -m rlgen.catalog generate`"
    readme = (DEFAULT_CATALOG_DIR / "README.md").read_text()
    assert with_summary(readme, render_summary(grid), path) == readme, "datasets/README.md's table is stale: run `python -m rlgen.catalog generate`"
    assert all(f"| {game} | `{expert_for(game)}` | 10 |" in readme for game in GAMES)
    catalog = load_catalog()
    assert [c.name for c in catalog.cards] == [c.name for c in grid]


def test_scale_shrinks_sizes_and_renames(grid):
    catalog = Catalog(grid)
    card = catalog.find("procgen-maze-easy-L200-planner-1M-s0-v3", scale=0.001)
    assert card.name == "procgen-maze-easy-L200-planner-1k-s0-v3" and card.transitions == 1000
    assert card.full_name == "procgen-maze-easy-L200-planner-1M-s0-v3" and card.train_levels == 200
    assert card.experiment_config().dataset_name == card.name
    assert catalog.find(card.name, scale=0.001) == card  # the scaled name finds it too
    with pytest.raises(ConfigError, match="already scaled"):
        card.scaled(0.5)
    with pytest.raises(ConfigError, match="share the name"):  # 100k, 1M and 10M all round to 1 transition
        catalog.scaled(1e-7)
    with pytest.raises(ConfigError, match="no card named"):
        catalog.find("procgen-maze-easy-L7-planner-1M-s0-v3")


def _write(tmp_path, entries):
    path = tmp_path / "cards.yaml"
    path.write_text(yaml.safe_dump({"format": 1, "cards": entries}, sort_keys=False))
    return path


def test_cards_are_checked_when_read(grid, tmp_path):
    good = grid[0].to_dict()
    assert len(load_catalog(_write(tmp_path, [good]))) == 1
    for change, message in [
        ({"name": "procgen-bigfish-easy-L200-expert-1M-v1"}, "derives the name"),
        ({"colour": "red"}, "unknown config key 'cards\\[0\\].colour'"),
        ({"env": {"game": "pong", "mode": "easy"}}, "unknown Procgen game 'pong'"),
        ({"behaviour": {**good["behaviour"], "skill": "superhuman"}}, "unknown skill"),
        ({"behaviour": {**good["behaviour"], "available": False}}, "unknown config key 'cards\\[0\\].behaviour.available'"),
        ({"grid": ["favourites"]}, "grid parts"),
    ]:
        with pytest.raises(ConfigError, match=message):
            load_catalog(_write(tmp_path, [{**good, **change}]))
    with pytest.raises(ConfigError, match="share the name"):
        load_catalog(_write(tmp_path, [good, good]))


def test_a_card_whose_behaviour_the_registry_lacks_is_refused(grid, tmp_path):
    entry = grid[0].to_dict()
    entry["behaviour"] = {**entry["behaviour"], "policy": "nonesuch"}
    entry["name"] = entry["name"].replace(f"-{grid[0].behaviour.policy}-", "-nonesuch-")
    with pytest.raises(ConfigError, match="'nonesuch' is not in the behaviour registry"):
        load_catalog(_write(tmp_path, [entry]))


def test_build_collects_the_cards_config_and_rebuild_restores_on_failure(grid, tmp_path, monkeypatch):
    import rlgen.collect

    seen = []

    def fake_collect(config, address=None, progress=True):
        seen.append(config)
        raise RuntimeError("collection failed")

    monkeypatch.setattr(rlgen.collect, "collect_dataset", fake_collect)
    card = Catalog(grid).find("procgen-heist-easy-L10-planner-1M-s0-v3", scale=0.0001)
    root = tmp_path / "data" / card.name
    root.mkdir(parents=True)
    (root / "manifest.json").write_text("{}")  # stands for a finished dataset
    with pytest.raises(RuntimeError, match="collection failed"):
        build_card(card, rebuild=True, num_workers=3)
    config = seen[0]
    assert config.dataset_name == card.name and config.collect.transitions == 100 and config.collect.num_workers == 3
    assert config.levels.train == 10 and config.env.game == "heist" and config.collect.policy.name == "planner"
    assert (root / "manifest.json").read_text() == "{}"  # the old dataset is back under its name
    assert sorted(p.name for p in root.parent.iterdir()) == [card.name]


def test_build_and_list_a_tiny_card_with_ray(ray_local, tmp_path, capsys):
    name = "procgen-maze-easy-L10-planner-1M-s0-v3"
    code = main(["datasets", "build", name, "--scale", "0.0005", "--quiet"])
    out = capsys.readouterr().out
    assert code == 0, out
    small = "procgen-maze-easy-L10-planner-500-s0-v3"
    assert f"dataset {small}: 500 transitions" in out and "(expert, target 1 x the expert's return): mean return" in out
    diversity = load_dataset(small).manifest.diversity
    per_level = f"{diversity['distinct_frames_per_level']['mean']:.1f}"
    assert f"data: {diversity['distinct_frames']:,} distinct frames ({per_level} per level" in out
    code = main(["datasets", "list", "--scale", "0.0005", "--game", "maze"])
    out = capsys.readouterr().out
    assert code == 0 and f"built       {small}" in out and "1 built" in out
    assert f"distinct frames {per_level}/level, {diversity['distinct_frames_per_1k_transitions']:.1f}/1k transitions" in out
    assert main(["datasets", "verify", small]) == 0
    out = capsys.readouterr().out
    assert "on training levels" in out and f"{diversity['distinct_frames']:,} distinct frames" in out
