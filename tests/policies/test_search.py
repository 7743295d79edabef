"""SearchExpert on real Procgen: plays every game, beats random play, reproducible per seed."""

from __future__ import annotations

import numpy as np
import pytest

from rlgen.core.config import BehaviourConfig
from rlgen.core.games import GAMES
from rlgen.core.typed import ConfigError
from rlgen.policies.base import EpsilonMixture, RandomPolicy
from rlgen.policies.registry import behaviour_names, effective_options, make_behaviour_policy
from rlgen.policies.search import SEARCH_SPECS, SEARCH_TEMPERATURE, SearchExpert
from rlgen.policies.skill import play_levels
from rlgen_envs.procgen import ProcgenVecEnv


def _actions(policy, game: str = "bigfish", steps: int = 40, envs: int = 2) -> np.ndarray:
    env = ProcgenVecEnv(game=game, num_envs=envs, start_level=0, num_levels=5, seed=0)
    obs, _ = env.reset()
    policy.attach(env)
    policy.reset(np.arange(envs))
    actions = []
    for _ in range(steps):
        actions.append(policy.act(obs))
        obs, _, term, trunc, _ = env.step(actions[-1])
        policy.reset(np.flatnonzero(term | trunc))
    env.close()
    return np.array(actions)


def test_every_game_has_settings_and_a_registered_search():
    assert sorted(SEARCH_SPECS) == sorted(GAMES)
    for game in GAMES:
        assert "search" in behaviour_names(game)


@pytest.mark.parametrize("game", ["caveflyer", "coinrun", "leaper"])  # the games whose score reads the parsed state
def test_search_acts_in_games_with_a_progress_term(game):
    expert = SearchExpert(game, max_expansions=2 * SEARCH_SPECS[game].horizon)
    actions = _actions(expert, game, steps=4, envs=1)
    assert set(np.unique(actions)) <= set(SEARCH_SPECS[game].actions)
    assert expert.stats["plans"] >= 2 and expert.stats["expansions"] > 0


@pytest.mark.slow
def test_search_beats_random_play_with_a_small_budget():
    levels = range(3)
    expert = play_levels(SearchExpert("bigfish", max_expansions=96, seed=0), "bigfish", levels, num_envs=3)
    rand = play_levels(RandomPolicy(seed=0), "bigfish", levels, num_envs=3)
    assert expert.returns.mean() > rand.returns.mean() + 3


def test_stochastic_search_is_reproducible_per_seed():
    def run(seed: int, temperature: float = 1.0) -> np.ndarray:
        return _actions(SearchExpert("bigfish", temperature=temperature, max_expansions=48, seed=seed))

    first = run(0)
    np.testing.assert_array_equal(first, run(0))
    assert (first != run(1)).any()
    np.testing.assert_array_equal(run(0, temperature=0), run(0, temperature=0))


def test_following_a_plan_notices_deviations():
    expert = SearchExpert("bigfish", max_expansions=48, seed=0)
    _actions(EpsilonMixture(expert, 0.5, seed=1), steps=30)
    assert expert.stats["deviations"] > 0
    assert expert.stats["plans"] < expert.stats["steps"]  # between searches it follows its sequence


def test_registry_defaults_are_stochastic_and_recorded():
    assert effective_options(BehaviourConfig(name="search")) == {"temperature": SEARCH_TEMPERATURE}
    assert effective_options(BehaviourConfig(name="maze_planner", options={"temperature": 0})) == {"temperature": 0}
    assert SEARCH_TEMPERATURE > 0 and effective_options(BehaviourConfig(name="planner"))["temperature"] > 0


@pytest.mark.parametrize(
    "name, options, message",
    [
        ("search", {"temperature": -1}, "collect.policy.options.temperature must be a number >= 0"),
        ("search", {"max_expansions": 10}, "max_expansions must be an integer >= 2 * horizon"),
        ("search", {"horizon": "long"}, "collect.policy.options.horizon must be a positive integer"),
        ("search", {"depth": 3}, "unknown option(s) ['depth'] for search"),
        ("maze_planner", {"temperature": "hot"}, "collect.policy.options.temperature must be a number >= 0"),
        ("planner", {"max_expansions": 0}, "collect.policy.options.max_expansions must be a positive integer"),
    ],
)
def test_option_errors_are_one_line(name, options, message):
    with pytest.raises(ConfigError) as error:
        make_behaviour_policy(BehaviourConfig(name=name, options=options), "maze", 0)
    assert message in str(error.value) and "\n" not in str(error.value)
