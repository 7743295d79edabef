"""The behaviour registry (`rlgen.policies.registry`): registering, the worlds a behaviour plays,
its options, and the mixtures any behaviour can be wrapped in. Each test registers into a copy
of the registry, so its names leave no trace in other tests."""

import numpy as np
import pytest
from fixed_action import FixedAction

from rlgen.core.config import BehaviourConfig
from rlgen.core.games import UnknownNameError
from rlgen.core.typed import ConfigError
from rlgen.policies import registry
from rlgen.policies.base import EpisodeMixture, EpsilonMixture, RandomPolicy
from rlgen.policies.registry import (
    BehaviourWorldError,
    ProcgenGame,
    behaviour_names,
    check_behaviour,
    make_behaviour_policy,
    register_behaviour,
)


@pytest.fixture(autouse=True)
def _private_registry(monkeypatch):
    monkeypatch.setattr(registry, "_BEHAVIOURS", dict(registry._BEHAVIOURS))


def constant(seed, world, action=1):
    return FixedAction(action)


def test_a_registered_behaviour_is_built_with_its_options():
    register_behaviour("constant", constant, games=("maze",), options=("action",))
    policy = make_behaviour_policy(BehaviourConfig("constant", options={"action": 4}), "maze", seed=0)
    assert isinstance(policy, FixedAction) and policy.action == 4
    assert "constant" in behaviour_names("maze") and "constant" not in behaviour_names("coinrun")


def test_names_and_factories_are_checked_when_registered():
    register_behaviour("constant", constant)
    with pytest.raises(ValueError, match="already registered"):
        register_behaviour("constant", constant)
    with pytest.raises(ValueError, match="identifier"):
        register_behaviour("not a name", constant)
    with pytest.raises(TypeError, match="not callable"):
        register_behaviour("broken", "constant")
    with pytest.raises(UnknownNameError, match="unknown behaviour policy 'nope'; valid policies: .*random"):
        check_behaviour(BehaviourConfig("nope"), "maze")


def test_a_behaviour_is_refused_in_a_world_it_does_not_play():
    register_behaviour("constant", constant, games=("maze",))
    with pytest.raises(BehaviourWorldError, match=r"cannot act in 'coinrun' \(it plays only maze\)") as caught:
        check_behaviour(BehaviourConfig("constant"), "coinrun")
    assert isinstance(caught.value, ConfigError) and isinstance(caught.value, UnknownNameError)
    check_behaviour(BehaviourConfig("constant"), ProcgenGame("maze"))  # a world object, as worlds pass themselves


def test_options_are_checked_by_name_before_any_work():
    register_behaviour("constant", constant, options=("action",))
    with pytest.raises(ConfigError, match=r"unknown option\(s\) \['speed'\] for constant; valid: action, mix"):
        check_behaviour(BehaviourConfig("constant", options={"speed": 2}), "maze")
    for bad in (1.5, -0.1, "half"):
        with pytest.raises(ConfigError, match="options.mix must lie in"):
            check_behaviour(BehaviourConfig("constant", options={"mix": bad}), "maze")
    register_behaviour("anything", constant)  # options=None: the factory refuses what it does not know
    with pytest.raises(ConfigError, match="collect.policy.options for 'anything'"):
        make_behaviour_policy(BehaviourConfig("anything", options={"speed": 2}), "maze", seed=0)


def test_epsilon_and_mix_wrap_any_behaviour():
    register_behaviour("constant", constant, options=("action",))
    stepped = make_behaviour_policy(BehaviourConfig("constant", epsilon=0.5), ProcgenGame("maze", num_actions=5), seed=0)
    assert isinstance(stepped, EpsilonMixture) and isinstance(stepped.inner, FixedAction) and stepped.num_actions == 5
    both = make_behaviour_policy(BehaviourConfig("constant", epsilon=0.5, options={"mix": 0.25}), "maze", seed=0)
    assert isinstance(both, EpisodeMixture) and both.mix == 0.25 and isinstance(both.inner, EpsilonMixture)
    plain = make_behaviour_policy(BehaviourConfig("random"), ProcgenGame("maze", num_actions=3), seed=0)
    assert isinstance(plain, RandomPolicy) and set(plain.act(np.zeros((300, 1)))) == {0, 1, 2}


def test_a_behaviour_registered_without_mix_gets_the_option_itself():
    seen = {}

    def own_mix(seed, world, mix=None):
        seen["mix"] = mix
        return FixedAction(0)

    register_behaviour("own_mix", own_mix, options=("mix",), mix=False)
    policy = make_behaviour_policy(BehaviourConfig("own_mix", options={"mix": 0.5}), "maze", seed=0)
    assert isinstance(policy, FixedAction) and seen == {"mix": 0.5}
