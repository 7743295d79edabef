"""The WebShop world: levels are instructions, splits are refused when too large or overlapping."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from rlgen.core.config import BehaviourConfig, ConfigError, EnvConfig, load_config
from rlgen.core.levels import LevelOverlapError, LevelSet, LevelSplit
from rlgen.worlds import world_of, world_of_manifest


def test_levels_map_to_the_goals_of_their_split(world):
    split = LevelSplit.with_diversity(30)
    jobs = world.jobs(split, ("train", "validation", "test"), 5, 2)
    assert len(jobs) == 3 * 5 * 2
    for job in jobs:
        offset = job.level - split[job.split].start
        assert job.goal == world.goals_of(job.split)[offset]
    assert {j.level for j in jobs if j.split == "validation"} == set(range(1_000_000, 1_000_005))
    assert {j.level for j in jobs if j.split == "test"} == set(range(2_000_000, 2_000_005))
    train, val, test = (set(world.goals_of(s)) for s in ("train", "validation", "test"))
    assert not (train & val or train & test or val & test)


def test_training_env_plays_exactly_the_first_n_training_instructions(world):
    env = world.training_env(LevelSet(0, 7), 4)
    env.reset(seed=3)
    seen_levels, seen_goals = set(), set()
    for _ in range(60):
        obs, _, _, _, info = env.step(np.zeros(4, dtype=np.int64))  # search forever: never ends but truncates
        seen_levels |= set(info["level_seed"].tolist())
        seen_goals |= set(info["goal_index"].tolist())
    assert seen_levels <= set(range(7)) and len(seen_levels) > 1
    assert seen_goals <= set(world.goals_of("train")[:7])
    assert obs.shape == (4, 2154) and obs.dtype == np.uint8


def test_sizes_larger_than_a_split_are_refused(world):
    n_train = len(world.goals_of("train"))
    with pytest.raises(ConfigError, match="train split"):
        world.check_levels(LevelSplit.with_diversity(n_train + 1))
    with pytest.raises(ConfigError, match="exceed"):
        world.training_env(LevelSet(0, n_train + 1), 2)
    too_many_tests = LevelSplit.with_diversity(10, test=LevelSet(2_000_000, len(world.goals_of("test")) + 1))
    with pytest.raises(ConfigError, match="test split"):
        world.jobs(too_many_tests, ("test",), None, 1)
    world.check_levels(LevelSplit.with_diversity(n_train))  # exactly the split: fine


def test_overlapping_level_sets_are_refused_before_any_goal_is_mapped():
    with pytest.raises(LevelOverlapError):
        LevelSplit(LevelSet(0, 200), LevelSet(100, 50), LevelSet(2_000_000, 10))


def test_goal_splits_are_checked_disjoint_when_the_world_is_built(world, monkeypatch):
    from rlgen.worlds import webshop as module
    from rlgen_envs.webshop import GoalSplits

    leaky = GoalSplits("unseen", train=(1500, 1501), validation=(600,), test=(1501,))
    monkeypatch.setattr("rlgen_envs.webshop.make_splits", lambda goals, kind, seed: leaky)
    module._splits.cache_clear()
    try:
        with pytest.raises(ValueError, match="share"):
            module.make_world({"options": {"split_seed": 99}}).splits
    finally:
        module._splits.cache_clear()


def test_config_builds_the_world_and_the_manifest_rebuilds_it():
    config = load_config("configs/webshop.yaml")
    world = world_of(config)
    assert world.kind == "webshop" and world.num_actions == 20 and world.max_episode_steps == 30
    again = world_of_manifest(world.manifest_env)
    assert again.options == world.options
    assert world.manifest_env["catalog"]["comparable_with_paper"] is False
    assert config.dataset_name == "webshop-L1000-webshop_oracle-eps0.1-10k-s0-v1"
    attributes = dataclasses.replace(config, env=EnvConfig(kind="webshop", options={"split_kind": "attributes"}))
    assert attributes.dataset_name.startswith("webshop-attributes-L1000-")


def test_unknown_options_and_policies_are_refused(world):
    from rlgen.worlds.webshop import make_world

    with pytest.raises(ConfigError, match="unknown option"):
        make_world({"options": {"candidates": 20}})
    with pytest.raises(ConfigError, match="split_kind"):
        make_world({"options": {"split_kind": "random"}})
    with pytest.raises(ConfigError, match="num_candidates"):
        make_world({"options": {"num_candidates": 300}})
    with pytest.raises(ConfigError, match="cannot act in 'webshop'"):
        world.check_behaviour(BehaviourConfig("maze_planner"))
    with pytest.raises(ConfigError, match="unknown option"):
        world.check_behaviour(BehaviourConfig("webshop_rule", options={"mix": 0.5}))
    with pytest.raises(ConfigError, match="mix"):
        world.check_behaviour(BehaviourConfig("webshop_oracle", options={"mix": 2}))


def test_score_is_100_times_reward(world):
    np.testing.assert_allclose(world.score(np.array([0.0, 0.5, 1.0])), [0.0, 50.0, 100.0])


def test_a_custom_featurizer_plugs_in_through_the_options():
    from rlgen.worlds.webshop import make_world

    world = make_world({"options": {"featurizer": "tests_webshop_featurizer:PageOnly", "max_episode_steps": 5}})
    env = world.training_env(LevelSet(0, 3), 2)
    obs, _ = env.reset(seed=0)
    assert obs.shape == (2, 4) and obs[:, 0].tolist() == [1, 1]  # search page
    obs, *_ = env.step(np.zeros(2, dtype=np.int64))
    assert obs[:, 1].tolist() == [1, 1]  # results page
