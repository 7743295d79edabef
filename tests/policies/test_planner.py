"""MazePlanner on real Procgen maze: it solves levels, leaves the real env alone, recovers from noise."""

from __future__ import annotations

import numpy as np
import pytest

from rlgen.policies.base import EpsilonMixture
from rlgen.policies.planner import MazePlanner
from rlgen_envs.procgen import ProcgenVecEnv
from rlgen_envs.procgen_state import parse_state


def _play(env: ProcgenVecEnv, policy, planner: MazePlanner, episodes: int, max_steps: int = 2_000):
    """Run until `episodes` episodes end; returns (returns, lengths, completed, actions per step)."""
    obs, _ = env.reset()
    planner.attach(env)
    planner.reset(np.arange(env.num_envs))
    running = np.zeros(env.num_envs)
    returns, lengths, completed, actions = [], [], [], []
    for _ in range(max_steps):
        action = policy.act(obs)
        actions.append(action)
        obs, reward, term, trunc, info = env.step(action)
        running += reward
        ended = np.flatnonzero(term | trunc)
        for i in ended:
            returns.append(running[i])
            lengths.append(info["episode_length"][i])
            completed.append(info["level_complete"][i])
        running[ended] = 0.0
        planner.reset(ended)
        if len(returns) >= episodes:
            break
    return np.array(returns), np.array(lengths), np.array(completed), np.array(actions)


def test_planner_completes_every_episode_on_a_short_path():
    env = ProcgenVecEnv(game="maze", num_envs=4, start_level=0, num_levels=10, seed=0)
    planner = MazePlanner()
    returns, lengths, completed, actions = _play(env, planner, planner, episodes=12)
    assert len(returns) >= 12
    assert completed.all()
    np.testing.assert_array_equal(returns, 10.0)
    assert lengths.max() < 100
    assert actions.dtype == np.int64 and set(np.unique(actions)) <= {1, 3, 5, 7}
    assert planner.stats["budget_exhausted"] == 0 and planner.stats["fallback_actions"] == 0
    # Without noise each episode is planned once: from its first frame.
    assert planner.stats["plans"] <= len(returns) + env.num_envs
    assert planner.stats["deviations"] == 0


def test_planning_does_not_disturb_the_real_env():
    planned = ProcgenVecEnv(game="maze", num_envs=3, start_level=0, num_levels=10, seed=0)
    twin = ProcgenVecEnv(game="maze", num_envs=3, start_level=0, num_levels=10, seed=0)
    planner = MazePlanner()
    policy = EpsilonMixture(planner, 0.3, seed=2)  # noise forces re-planning mid-episode too
    obs, _ = planned.reset()
    twin_obs, _ = twin.reset()
    planner.attach(planned)
    planner.reset(np.arange(3))
    for _ in range(60):
        action = policy.act(obs)
        obs, reward, term, trunc, info = planned.step(action)
        twin_obs, twin_reward, twin_term, twin_trunc, twin_info = twin.step(action)
        np.testing.assert_array_equal(obs, twin_obs)
        np.testing.assert_array_equal(reward, twin_reward)
        np.testing.assert_array_equal(term, twin_term)
        np.testing.assert_array_equal(trunc, twin_trunc)
        np.testing.assert_array_equal(info["level_seed"], twin_info["level_seed"])
        planner.reset(np.flatnonzero(term | trunc))
    assert planner.stats["plans"] > 3


def test_planner_recovers_from_epsilon_random_actions():
    env = ProcgenVecEnv(game="maze", num_envs=2, start_level=0, num_levels=10, seed=0)
    planner = MazePlanner()
    returns, lengths, completed, _ = _play(env, EpsilonMixture(planner, 0.5, seed=1), planner, episodes=6)
    assert len(returns) >= 6
    assert completed.all()
    np.testing.assert_array_equal(returns, 10.0)
    # Deviations are noticed from the frames alone, and each one off the plan is re-planned.
    assert planner.stats["deviations"] > 0
    assert planner.stats["plans"] > env.num_envs


def test_a_level_played_again_costs_no_search():
    env = ProcgenVecEnv(game="maze", num_envs=2, start_level=7, num_levels=1, seed=0)
    planner = MazePlanner()
    returns, _, completed, _ = _play(env, planner, planner, episodes=6)
    assert completed.all() and len(returns) >= 6
    assert planner.stats["plans"] == 1


def test_attach_refuses_other_games():
    env = ProcgenVecEnv(game="coinrun", num_envs=1, start_level=0, num_levels=1, seed=0)
    with pytest.raises(ValueError, match="maze") as error:
        MazePlanner().attach(env)
    assert "coinrun" in str(error.value)


def test_act_before_attach_is_an_error():
    with pytest.raises(RuntimeError, match="attach"):
        MazePlanner().act(np.zeros((1, 64, 64, 3), np.uint8))


def test_same_seeds_give_the_same_actions():
    def run() -> np.ndarray:
        env = ProcgenVecEnv(game="maze", num_envs=2, start_level=0, num_levels=10, seed=3)
        planner = MazePlanner(seed=5)
        return _play(env, EpsilonMixture(planner, 0.3, seed=4), planner, episodes=4)[3]

    first, second = run(), run()
    assert len(first) > 10
    np.testing.assert_array_equal(first, second)


def test_exhausted_budget_falls_back_to_seeded_random_moves():
    def run() -> tuple[np.ndarray, dict[str, int]]:
        env = ProcgenVecEnv(game="maze", num_envs=2, start_level=0, num_levels=10, seed=0)
        planner = MazePlanner(max_expansions=2, seed=7)
        obs, _ = env.reset()
        planner.attach(env)
        planner.reset(np.arange(2))
        actions = []
        for _ in range(20):
            actions.append(planner.act(obs))
            obs, _, term, trunc, _ = env.step(actions[-1])
            planner.reset(np.flatnonzero(term | trunc))
        return np.array(actions), planner.stats

    actions, stats = run()
    assert stats["budget_exhausted"] == stats["plans"] == stats["fallback_actions"] == 40
    assert stats["expansions"] == 2 * 40
    assert set(np.unique(actions)) <= {1, 3, 5, 7}
    np.testing.assert_array_equal(actions, run()[0])


# -- stochastic mode (temperature > 0) ----------------------------------------------------------


def _maze_actions(planner: MazePlanner, episodes: int = 6, seed: int = 0):
    env = ProcgenVecEnv(game="maze", num_envs=2, start_level=0, num_levels=5, seed=seed)
    return _play(env, planner, planner, episodes=episodes)


def test_temperature_zero_is_the_deterministic_planner():
    """`temperature: 0` takes the old code path: the same actions whatever the seed, and the
    deterministic planner's (the class default) bit for bit."""
    reference = _maze_actions(MazePlanner())[3]
    np.testing.assert_array_equal(_maze_actions(MazePlanner(temperature=0, seed=11))[3], reference)
    np.testing.assert_array_equal(_maze_actions(MazePlanner(temperature=0.0, seed=12))[3], reference)


def test_sampled_costs_agree_with_the_shortest_plan():
    """The stochastic mode's cost of the best move from a level's first state is the length of
    the deterministic planner's (shortest) path on that level."""
    for level in (0, 3):
        env = ProcgenVecEnv(game="maze", num_envs=1, start_level=level, num_levels=1, seed=0)
        deterministic = MazePlanner()
        _, lengths, completed, _ = _play(env, deterministic, deterministic, episodes=1)
        sampled = MazePlanner(temperature=1.0)
        obs, _ = env.reset()
        sampled.attach(env)
        sampled.reset(np.arange(1))
        sampled.act(obs)
        key = parse_state(env.get_states()[0]).exact_key()
        assert completed.all() and min(cost for *_, cost in sampled._options[key]) == lengths[0]


def test_stochastic_planner_stays_expert_and_varies_its_paths():
    planner = MazePlanner(temperature=1.0, seed=0)
    returns, lengths, completed, actions = _maze_actions(planner, episodes=8)
    np.testing.assert_array_equal(returns, 10.0)
    assert completed.all()
    _, det_lengths, _, det_actions = _maze_actions(MazePlanner(), episodes=8)
    assert lengths.mean() > det_lengths.mean()  # detours: longer, varied paths on the same levels
    np.testing.assert_array_equal(_maze_actions(MazePlanner(temperature=1.0, seed=0), episodes=8)[3], actions)
    other = _maze_actions(MazePlanner(temperature=1.0, seed=1), episodes=8)[3]
    assert other.shape != actions.shape or (other != actions).any()


def test_bad_temperature_is_refused():
    with pytest.raises(ValueError, match="temperature must be a number >= 0"):
        MazePlanner(temperature=-1)
