"""The skill dial on real Procgen maze: episode-level mixtures, their calibration, and its errors."""

from __future__ import annotations

import json

import numpy as np
import pytest

from rlgen.core.config import BehaviourConfig
from rlgen.policies.base import EpisodeMixture, RandomPolicy
from rlgen.policies.planner import MazePlanner, SavedStatePlanner
from rlgen.policies.registry import check_behaviour, make_behaviour_policy
from rlgen.policies.skill import SkillUnreachableError, calibrate_skill, fraction_of_expert, play_levels

LEVELS = range(8)


def test_episode_mixture_plays_whole_episodes_by_one_side():
    expert = MazePlanner()
    stats = play_levels(EpisodeMixture(expert, 0.5, seed=3), "maze", LEVELS, episodes_per_level=2, num_envs=4)
    mix = stats  # every expert episode succeeds in maze, and a whole random episode rarely does
    assert 0 < mix.success.mean() < 1
    # The expert searched only for its own episodes: no search ran for the random slots.
    assert expert.stats["plans"] <= len(LEVELS) + 4
    assert expert.stats["fallback_actions"] == 0


def test_mix_one_is_the_expert_and_mix_zero_is_random():
    expert = play_levels(EpisodeMixture(MazePlanner(), 1.0), "maze", LEVELS, num_envs=4)
    assert expert.success.all()
    np.testing.assert_array_equal(expert.returns, 10.0)
    long = expert.lengths > 1  # discounting shows the length (level 0 is solved in one step)
    assert long.any() and (expert.discounted_returns[long] < expert.returns[long]).all()
    rand = play_levels(EpisodeMixture(MazePlanner(), 0.0, seed=1), "maze", LEVELS, num_envs=4)
    direct = play_levels(RandomPolicy(seed=2), "maze", LEVELS, num_envs=4)
    assert rand.lengths.mean() > expert.lengths.mean() and direct.lengths.mean() > expert.lengths.mean()


def test_fraction_of_expert_has_a_bootstrap_interval():
    expert = play_levels(MazePlanner(), "maze", LEVELS, num_envs=4)
    rand = play_levels(RandomPolicy(seed=0), "maze", LEVELS, num_envs=4)
    fraction, (low, high) = fraction_of_expert(rand, expert)
    assert fraction == pytest.approx(rand.returns.mean() / 10.0)
    assert low <= fraction <= high
    assert fraction_of_expert(expert, expert)[0] == 1.0


def test_calibrated_episode_mixture_reaches_the_mixed_level_within_tolerance():
    result = calibrate_skill(MazePlanner, "maze", range(10), 0.75, episodes_per_level=4, tolerance=0.1, num_envs=8)
    assert result.dial == "episode" and 0.0 < result.parameter < 1.0
    assert result.within_tolerance, result
    assert result.achieved_ci95[0] <= result.achieved_fraction <= result.achieved_ci95[1]
    assert result.expert_return == 10.0
    assert result.mean_length > 0 and result.mean_discounted_return < result.mean_return
    assert result.to_dict()["within_tolerance"] is True


def test_a_target_below_random_names_the_closest_achievable():
    # On level 0 the maze goal is next to the start: random play solves it too, so its fraction
    # is high and a target of 0.1 cannot be reached.
    with pytest.raises(SkillUnreachableError, match="closest achievable"):
        calibrate_skill(MazePlanner, "maze", [0], 0.1, episodes_per_level=2, num_envs=2)
    with pytest.raises(SkillUnreachableError, match="closest achievable is 1"):
        calibrate_skill(MazePlanner, "maze", [0], 1.5)


def test_configs_can_ask_for_an_episode_mixture():
    policy = make_behaviour_policy(BehaviourConfig(name="planner", options={"mix": 0.75}), "maze", seed=0)
    assert isinstance(policy, EpisodeMixture) and policy.mix == 0.75
    assert isinstance(policy.inner, SavedStatePlanner)
    with pytest.raises(ValueError, match="mix"):
        check_behaviour(BehaviourConfig(name="planner", options={"mix": 1.5}), "maze")
    with pytest.raises(ValueError, match="bigfish"):
        check_behaviour(BehaviourConfig(name="planner"), "bigfish")


def test_the_skill_command_prints_a_measured_row_per_game(capsys):
    from rlgen.cli import main

    assert main(["policy", "skill", "--games", "maze", "--levels", "3", "--tolerance", "0.5"]) == 0
    out = capsys.readouterr().out
    record = json.loads(out.splitlines()[0])
    assert record["game"] == "maze" and record["levels"] == 3 and record["expert_return"] == 10.0
    assert 0.0 <= record["achieved_fraction"] <= 1.0 and "| maze | 10.00 |" in out
