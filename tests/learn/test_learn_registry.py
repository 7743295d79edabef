import dataclasses
import json

import numpy as np
import pytest
from fixed_action import FixedAction

import rlgen.learn as learn
from rlgen.core.games import UnknownNameError
from rlgen.core.typed import ConfigError
from rlgen.learn import registry
from rlgen.policies.base import RandomPolicy


def test_builtin_learners_are_registered():
    assert {"bc", "cql", "dt"} <= set(learn.learner_names())


def test_config_defaults_follow_the_paper():
    cql = learn.learner_config("cql", {})
    assert (cql.alpha, cql.target_update_interval, cql.learning_rate) == (4.0, 1000, 5e-4)
    assert learn.learner_config("bc", None).learning_rate == 5e-4
    dt = learn.learner_config("dt", {"target_return": 10})
    assert dt.target_return == 10.0 and dt.max_timestep >= 1000


def test_unknown_key_names_its_path():
    with pytest.raises(ConfigError, match=r"learners\.cql\.alpah"):
        learn.learner_config("cql", {"alpah": 1.0})


def test_unknown_algo_lists_valid_names():
    with pytest.raises(UnknownNameError, match="bc, cql, dt"):
        learn.learner_config("iql", {})


def test_bad_values_are_config_errors_with_the_path():
    with pytest.raises(ConfigError, match=r"learners\.dt: num_heads"):
        learn.learner_config("dt", {"num_heads": 3, "feature_size": 128})
    with pytest.raises(ConfigError, match=r"learners\.bc\.steps"):
        learn.learner_config("bc", {"steps": "many"})
    with pytest.raises(ConfigError, match="validate_every"):
        learn.learner_config("bc", {"validate_every": -1})
    with pytest.raises(ConfigError, match="max_timestep"):
        learn.learner_config("dt", {"max_timestep": 500})


def test_configs_are_frozen_and_tuples():
    config = learn.learner_config("bc", {"encoder_channels": [8, 8, 8]})
    assert config.encoder_channels == (8, 8, 8)
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.steps = 3  # type: ignore[misc]


@dataclasses.dataclass(frozen=True)
class _ConstantConfig:
    action: int = 3
    label: str | None = None


def _fit_constant(config, buffer, *, seed, device, out_dir, validate=None, show_progress=True):
    (out_dir / registry.LEARNER_FILE).write_text(json.dumps({"algo": "constant", "action": config.action}))
    return registry.TrainedLearner(algo="constant", config=config, policy=RandomPolicy(seed), out_dir=out_dir, steps=0)


def _load_constant(out_dir, device, *, greedy=True):
    return FixedAction(json.loads((out_dir / registry.LEARNER_FILE).read_text())["action"])


@pytest.fixture()
def constant_learner():
    learn.register_learner("constant", _ConstantConfig, _fit_constant, load_fn=_load_constant)
    yield
    del registry._LEARNERS["constant"]


def test_a_user_learner_uses_the_same_seam(constant_learner, tmp_path, procgen_buffer):
    config = learn.learner_config("constant", {"action": 5})
    trained = learn.fit(config, procgen_buffer, seed=0, device="cpu", out_dir=tmp_path / "run")
    assert trained.algo == "constant"
    policy = learn.load_policy(tmp_path / "run")
    assert policy.act(np.zeros((2, 64, 64, 3), np.uint8)).tolist() == [5, 5]
    with pytest.raises(ValueError, match="already registered"):
        learn.register_learner("constant", _ConstantConfig, _fit_constant)


def test_fit_refuses_foreign_configs(procgen_buffer, tmp_path):
    with pytest.raises(TypeError, match="not the config of any registered learner"):
        learn.fit(_ConstantConfig(), procgen_buffer, seed=0, device="cpu", out_dir=tmp_path)


def test_a_cosine_schedule_decays_the_learning_rate_to_zero_at_the_last_step(procgen_buffer, tmp_path):
    config = learn.learner_config("bc", {"steps": 4, "batch_size": 4, "log_every": 2, "lr_schedule": "cosine", "learning_rate": 0.01})
    trained = learn.fit(config, procgen_buffer, seed=0, device="cpu", out_dir=tmp_path, show_progress=False)
    optim = trained.policy.algo.impl._modules.optim.optim
    assert optim.param_groups[0]["lr"] == pytest.approx(0.0, abs=1e-12)
    with pytest.raises(ConfigError, match="lr_schedule"):
        learn.learner_config("bc", {"lr_schedule": "linear"})
    with pytest.raises(ConfigError, match="tokens"):
        learn.learner_config("dt", {"lr_schedule": "cosine"})
