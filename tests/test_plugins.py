"""The seams a user extends: a world and a behaviour policy, each one module named in `imports:`
(`tests/corridor_world.py`, `tests/sticky_behaviour.py`), used with no edit to rlgen."""

from __future__ import annotations

import csv

import numpy as np
import pytest
import yaml

from rlgen.cli import main
from rlgen.core.config import BehaviourConfig, ConfigError, load_config
from rlgen.core.imports import import_modules
from rlgen.policies.registry import behaviour_names, register_behaviour
from rlgen.worlds import register_world, world_kinds, world_of

CORRIDOR = {
    "name": "corridor",
    "imports": ["corridor_world", "table_learner"],
    "env": {"kind": "corridor"},
    "levels": {"train": 5},
    "collect": {"policy": {"name": "walker", "options": {"p_right": 0.9}}, "transitions": 800, "shard_transitions": 400,
                "num_workers": 2, "envs_per_worker": 4},
    "learners": [{"algo": "bc", "steps": 30, "batch_size": 16, "validate_every": 0}, {"algo": "table"}],
    "evaluate": {"levels_per_split": 4, "num_workers": 2, "envs_per_worker": 4},
}


def write_config(tmp_path, data: dict, **overrides) -> str:
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump({**data, "output_dir": str(tmp_path / "runs"), **overrides}))
    return str(path)


def test_a_kind_is_checked_after_the_imports_ran(tmp_path):
    """A config naming a plug-in's kind reads; its world is found only once `imports:` ran."""
    config = load_config(write_config(tmp_path, CORRIDOR))  # core knows no world but Procgen: no error here
    if "corridor" not in world_kinds():  # this process may have imported it in an earlier test
        with pytest.raises(ConfigError, match="unknown environment kind 'corridor'.*imports"):
            world_of(config)
    import_modules(config.imports)
    world = world_of(config)
    assert world.kind == "corridor" and world.num_actions == 2 and "walker" in behaviour_names("corridor")
    world.check_behaviour(config.collect.policy)
    with pytest.raises(ConfigError, match="cannot act in 'corridor'"):
        world.check_behaviour(BehaviourConfig("maze_planner"))
    with pytest.raises(ConfigError, match="unknown option"):
        world.check_behaviour(BehaviourConfig("walker", options={"speed": 2}))
    policy = world.behaviour_policy(BehaviourConfig("random"), seed=0)  # the generic random plays the world's actions
    assert set(policy.act(np.zeros((64, 2), np.uint8))) == {0, 1}
    with pytest.raises(ConfigError, match="unknown environment kind 'nowhere'"):
        world_of(load_config(write_config(tmp_path, {"env": {"kind": "nowhere"}})))


def test_registries_refuse_a_second_entry_under_one_name():
    import_modules(["corridor_world"])
    with pytest.raises(ValueError, match="already registered"):
        register_behaviour("walker", lambda seed, world: None)
    with pytest.raises(ValueError, match="already registered"):
        register_world("corridor", type("Other", (), {"from_env": classmethod(lambda cls, env, options: cls())}))
    with pytest.raises(TypeError, match="from_env"):
        register_world("nothing", object)


def test_collection_actors_import_the_behaviour_module(ray_local, tmp_path):
    """A Procgen dataset collected by a behaviour that only `imports:` registers, on Ray actors."""
    from rlgen.collect import collect_dataset

    config = load_config("configs/quickstart.yaml", [
        "imports=[sticky_behaviour]", "collect.policy.name=sticky_random", "collect.policy.options={repeat: 3}",
        "levels.train=3", "collect.transitions=400", "collect.shard_transitions=200", "collect.envs_per_worker=2",
        "collect.num_workers=2",
    ])  # fmt: skip
    import_modules(config.imports)
    dataset = collect_dataset(config, progress=False)
    assert dataset.name == "procgen-maze-easy-L3-sticky_random-400-s0-v3"
    assert dataset.manifest.transitions == 400 and dataset.manifest.behaviour["name"] == "sticky_random"


@pytest.mark.slow
def test_rlgen_run_on_a_world_of_ones_own(ray_local, tmp_path, capsys):
    """`rlgen run` collects, trains BC and a learner of one's own, evaluates and reports in a world
    registered from `imports:`."""
    assert main(["run", write_config(tmp_path, CORRIDOR), "--quiet"]) == 0
    run = tmp_path / "runs" / "corridor"
    with open(run / "report" / "report.csv") as f:
        rows = list(csv.DictReader(f))
    assert {r["policy"] for r in rows} == {"bc", "table", "random", "behaviour"}
    with open(run / "eval" / "reference-behaviour.csv") as f:
        records = list(csv.DictReader(f))
    assert {r["game"] for r in records} == {"corridor"} and {r["split"] for r in records} == {"train", "validation", "test"}
    assert np.mean([float(r["success"] == "True") for r in records]) > 0.5  # the walker mostly reaches the end
    with open(run / "eval" / "table-seed0.csv") as f:
        table = list(csv.DictReader(f))
    assert np.mean([float(r["success"] == "True") for r in table]) >= 0.9  # the data's most frequent move: right
    dataset = load_config(write_config(tmp_path, CORRIDOR)).dataset_name
    assert dataset == "corridor-L5-walker-800-s0-v3"
