"""The choice vector env: invalid indices are counted no-ops, auto-reset, pinned jobs; the choice policies."""

from __future__ import annotations

import numpy as np
import pytest

from rlgen.core.config import BehaviourConfig
from rlgen.core.levels import LevelSet, LevelSplit
from rlgen.worlds.play import play_world_jobs
from rlgen.webshop.policies import ChoiceOracle, ChoiceRule
from rlgen_envs.webshop import RuleBaselinePolicy, WebShopEnv, run_episode
from rlgen_envs.webshop.vec import GoalTask, WebShopChoiceVecEnv


def test_an_empty_slot_is_a_no_op_that_counts_toward_the_step_limit(world):
    env = WebShopChoiceVecEnv(world.catalog, world.goals_of("train")[:3], 1, max_episode_steps=4)
    obs, info = env.reset(seed=0)
    assert info["num_candidates"].tolist() == [1]  # the search page: slot 0 only
    for step in range(1, 4):
        nxt, reward, terminated, truncated, info = env.step(np.array([7]))  # `reviews`: not on the search page
        assert info["invalid_action"].tolist() == [True] and reward[0] == 0
        assert not terminated[0] and not truncated[0]
        assert np.array_equal(nxt[:, 6:], obs[:, 6:]) and nxt[0, 5] == step  # same page; the step counter moved
        assert env.slot_env(0).steps == step
    level = info["level_seed"][0]
    _, reward, terminated, truncated, info = env.step(np.array([7]))
    assert truncated[0] and not terminated[0] and reward[0] == 0
    assert info["episode_length"][0] == 4 and info["episode_level_seed"][0] == level and not info["level_complete"][0]
    assert env.slot_env(0).steps == 0 and env.views[0].page == "search"  # same-step auto-reset


def test_indices_outside_the_action_space_are_errors(world):
    env = WebShopChoiceVecEnv(world.catalog, world.goals_of("train")[:3], 2)
    env.reset()
    with pytest.raises(ValueError, match=r"\[0, 20\)"):
        env.step(np.array([0, 20]))
    with pytest.raises(ValueError, match="expected 2 actions"):
        env.step(np.array([0]))


def test_buying_ends_the_episode_with_the_reward_and_success_is_reward_one(world):
    goal = world.goals_of("train")[0]
    env = WebShopChoiceVecEnv.pinned(world.catalog, [GoalTask(0, goal)])
    env.reset()
    env.step(np.array([0]))  # search the instruction
    env.step(np.array([8]))  # first result
    _, reward, terminated, _, info = env.step(np.array([4]))  # buy now
    text = WebShopEnv(world.catalog)
    expected = run_episode(text, RuleBaselinePolicy(), goal=goal)["reward"]
    assert terminated[0] and reward[0] == pytest.approx(expected)
    assert info["level_complete"][0] == (expected == 1.0) and info["episode_length"][0] == 3


def test_pinned_env_replays_its_goal_and_repin_moves_a_slot(world):
    goals = world.goals_of("test")
    env = WebShopChoiceVecEnv.pinned(world.catalog, [GoalTask(2_000_000, goals[0]), GoalTask(2_000_001, goals[1])])
    _, info = env.reset()
    assert info["goal_index"].tolist() == [goals[0], goals[1]]
    first = env.repin(1, GoalTask(2_000_005, goals[5]))
    assert env.goals[1] == goals[5] and env.levels[1] == 2_000_005
    assert np.array_equal(first, env.featurizer.encode(env.views[1]))


def test_choice_rule_is_the_rule_baseline(world):
    """The choice formulation loses nothing: the rule baseline scores the same through candidate indices."""
    split = LevelSplit.with_diversity(10)
    jobs = world.jobs(split, ("test",), 15, 1)
    records = play_world_jobs(ChoiceRule(), world, jobs, num_envs=8)
    text = WebShopEnv(world.catalog)
    for job, record in zip(jobs, records):
        assert record["return"] == pytest.approx(run_episode(text, RuleBaselinePolicy(), goal=job.goal)["reward"])
        assert record["normalized_return"] == pytest.approx(100 * record["return"])
        assert record["success"] == (record["return"] == 1.0)


def test_choice_oracle_solves_nearly_every_goal(world):
    jobs = world.jobs(LevelSplit.with_diversity(10), ("validation", "test"), 20, 1)
    records = play_world_jobs(ChoiceOracle(), world, jobs, num_envs=10)
    rewards = np.array([r["return"] for r in records])
    assert rewards.mean() >= 0.95 and np.mean([r["success"] for r in records]) >= 0.9


def test_noisy_oracle_and_mixture_measure_between_rule_and_oracle(world):
    def mean_reward(behaviour):
        env = world.training_env(LevelSet(0, 50), 8)
        policy = world.behaviour_policy(behaviour, seed=0)
        obs, _ = env.reset(seed=0)
        policy.attach(env)
        policy.reset(np.arange(8))
        rewards = []
        while len(rewards) < 80:
            obs, r, te, tr, _ = env.step(policy.act(obs))
            done = np.flatnonzero(te | tr)
            rewards += r[done].tolist()
            if len(done):
                policy.reset(done)
        return float(np.mean(rewards))

    rule = mean_reward(BehaviourConfig("webshop_rule"))
    mixed = mean_reward(BehaviourConfig("webshop_oracle", options={"mix": 0.5}))
    noisy = mean_reward(BehaviourConfig("webshop_oracle", epsilon=0.1))
    assert rule < mixed < noisy and noisy > 0.9
