import pytest

from rlgen.core.config import ExperimentConfig, load_config
from rlgen.core.games import UnknownNameError
from rlgen.core.levels import LevelOverlapError
from rlgen.core.typed import ConfigError


def write(tmp_path, text):
    path = tmp_path / "c.yaml"
    path.write_text(text)
    return path


def test_quickstart_config_loads():
    config = load_config("configs/quickstart.yaml")
    assert config.env.game == "maze"
    assert {spec.algo for spec in config.learners} == {"bc", "cql", "dt"}


def test_unknown_key_is_named(tmp_path):
    with pytest.raises(ConfigError, match="collect.polcy"):
        load_config(write(tmp_path, "collect:\n  polcy: {name: random}\n"))


def test_unknown_top_level_key_lists_valid_keys(tmp_path):
    with pytest.raises(ConfigError, match="valid keys"):
        load_config(write(tmp_path, "colect: {}\n"))


def test_wrong_type_is_named(tmp_path):
    with pytest.raises(ConfigError, match="collect.transitions"):
        load_config(write(tmp_path, "collect:\n  transitions: many\n"))


def test_unknown_game_lists_valid_games(tmp_path):
    with pytest.raises(ConfigError, match="coinrun"):
        load_config(write(tmp_path, "env: {game: pacman}\n"))


def test_overlapping_levels_are_refused_at_load(tmp_path):
    text = "levels:\n  train: 300\n  validation: {start: 200, count: 50}\n"
    with pytest.raises(ConfigError, match="overlap"):
        load_config(write(tmp_path, text))


def test_overrides_apply_and_revalidate():
    config = load_config("configs/quickstart.yaml", ["collect.transitions=5000", "env.game=coinrun"])
    assert config.collect.transitions == 5000 and config.env.game == "coinrun"
    with pytest.raises(ConfigError, match="collect.nope"):
        config.with_overrides(["collect.nope=1"])


def test_dataset_name_says_what_the_data_is():
    config = load_config("configs/quickstart.yaml", ["collect.transitions=1000000", "levels.train=200"])
    assert config.dataset_name.startswith("procgen-maze-easy-L200-maze_planner-1M-")


def test_shard_quotas_sum_to_the_requested_transitions():
    config = ExperimentConfig().with_overrides(["collect.transitions=2500", "collect.shard_transitions=1000"])
    quotas = [config.collect.shard_quota(i) for i in range(config.collect.num_shards)]
    assert quotas == [1000, 1000, 500]


def test_learners_are_checked_before_work():
    from rlgen.experiment import validate_experiment

    config = load_config("configs/quickstart.yaml")
    bad = config.with_overrides(["learners=[{algo: bcq}]"])
    with pytest.raises(UnknownNameError, match="bc"):
        validate_experiment(bad)
    typo = config.with_overrides(["learners=[{algo: cql, params: {alpah: 1.0}}]"])
    with pytest.raises(ConfigError, match="alpah"):
        validate_experiment(typo)


def test_planner_on_wrong_game_is_refused_before_work():
    from rlgen.experiment import validate_experiment

    config = load_config("configs/quickstart.yaml", ["env.game=coinrun"])
    with pytest.raises(UnknownNameError, match="maze"):
        validate_experiment(config)


def test_level_overlap_error_type():
    with pytest.raises(ConfigError):
        ExperimentConfig().with_overrides(["levels.train=1000001"])
    assert issubclass(LevelOverlapError, ValueError)


def test_imports_of_user_learner_modules_are_checked():
    from rlgen.experiment import validate_experiment

    config = load_config("configs/quickstart.yaml", ["imports=[no_such_learner_module]"])
    with pytest.raises(ConfigError, match="no_such_learner_module"):
        validate_experiment(config)


def test_a_reference_the_world_does_not_name_is_refused_before_work():
    from rlgen.experiment import validate_experiment

    config = load_config("configs/quickstart.yaml", ["evaluate.references=[random, oracle]"])
    with pytest.raises(ConfigError, match="unknown reference 'oracle'.*valid: random, behaviour"):
        validate_experiment(config)


def test_a_checkpoint_picked_by_skill_names_other_data_than_the_expert():
    from rlgen.core.config import BehaviourConfig

    assert BehaviourConfig(name="ppo").label == "ppo"
    assert BehaviourConfig(name="ppo", options={"skill": 0.75}).label == "ppo-skill0.75"
    assert BehaviourConfig(name="ppo", epsilon=0.1, options={"skill": 0.5, "mix": 0.5}).label == "ppo-eps0.1-skill0.5-mix0.5"


def test_an_expert_with_a_set_temperature_names_other_data_than_the_default():
    """The arg-max planner (`temperature: 0`) and the sampled default must never share a folder."""
    from rlgen.core.config import BehaviourConfig

    assert BehaviourConfig(name="planner").label == "planner"
    assert BehaviourConfig(name="planner", options={"temperature": 0}).label == "planner-temp0"
    assert BehaviourConfig(name="search", options={"temperature": 0.25, "mix": 0.5}).label == "search-temp0.25-mix0.5"
