"""The experiment (`rlgen.experiment`): every check that can fail runs before any work, the
resolved config is written to read back as the same config, and which weights are evaluated."""

import pytest

from rlgen.core.config import ConfigError, ExperimentConfig, load_config
from rlgen.core.games import UnknownNameError
from rlgen.data.errors import DatasetError
from rlgen.experiment import checkpoint_dir, validate_experiment, write_resolved_config
from rlgen.learn.registry import SELECTED_DIR


def config(*overrides: str) -> ExperimentConfig:
    return load_config("configs/quickstart.yaml", list(overrides))


def test_the_quickstart_passes_every_check():
    validate_experiment(config())


@pytest.mark.parametrize(
    "overrides, error, message",
    [
        (["evaluate.references=[random, oracle]"], ConfigError, r"unknown reference 'oracle' for env.kind procgen; valid: random, behaviour, ppo"),
        (["augment={eps: 0.5}"], ValueError, "only the stitching worlds"),
        (["learners=[{algo: bc}, {algo: bc}]"], ValueError, "two learners share a name"),
        (["learners=[{algo: bc, label: ../out}]"], DatasetError, "learner .* name '../out' is not a safe name"),
        (["name=a/b"], DatasetError, "experiment .* name 'a/b' is not a safe name"),
        (["learners=[{algo: bcq}]"], UnknownNameError, "bcq"),
        (["env.game=coinrun"], ConfigError, "cannot act in 'coinrun'"),
        (["imports=[no_such_module_here]"], ConfigError, "imports: cannot import 'no_such_module_here'"),
    ],
)
def test_bad_experiments_are_refused_before_any_work(overrides, error, message):
    with pytest.raises(error, match=message):
        validate_experiment(config(*overrides))


def test_the_resolved_config_reads_back_as_the_same_config(tmp_path):
    cfg = config(f"output_dir={tmp_path}", "collect.transitions=5000", "learners=[{algo: bc, steps: 7}]")
    path = write_resolved_config(cfg)
    assert path == cfg.run_dir / "config.yaml"
    assert load_config(path) == cfg and load_config(path).fingerprint() == cfg.fingerprint()


def test_selected_weights_are_evaluated_only_where_selection_kept_some(tmp_path):
    run = tmp_path / "bc-seed0"
    run.mkdir()
    assert checkpoint_dir(run, "selected") == run == checkpoint_dir(run, "final")
    (run / SELECTED_DIR).mkdir()
    assert checkpoint_dir(run, "selected") == run / SELECTED_DIR and checkpoint_dir(run, "final") == run
