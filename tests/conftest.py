"""Shared fixtures: data and runs go to temporary folders; one small Ray session for the suite."""

from __future__ import annotations

import os
import shutil
import tempfile

import pytest


@pytest.fixture(autouse=True)
def _isolated_data_dir(tmp_path, monkeypatch):
    """Datasets go to a temporary folder, never into the repository or the home folder."""
    monkeypatch.setenv("RLGEN_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("RAY_USAGE_STATS_ENABLED", "0")


@pytest.fixture
def tiny_config():
    """`tiny_config(**overrides)`: a small random-play maze experiment (levels [0, 5), 400
    transitions in shards of 200, 4 envs per actor, 2 Ray CPUs), `overrides` by dotted key
    (`tiny_config(**{"collect.transitions": 800})`), as `--set` gives them."""
    from rlgen.core.config import ExperimentConfig

    def make(**overrides) -> ExperimentConfig:
        items = {
            "levels.train": 5,
            "collect.transitions": 400,
            "collect.shard_transitions": 200,
            "collect.envs_per_worker": 4,
            "collect.num_workers": 2,
            "ray.num_cpus": 2,
            **overrides,
        }
        return ExperimentConfig().with_overrides([f"{k}={v}" for k, v in items.items()])

    return make


@pytest.fixture(scope="session")
def ray_local():
    """An embedded 2-CPU Ray on loopback, its session files in a short temporary folder."""
    import ray

    temp_dir = tempfile.mkdtemp(prefix="rlgen-ray-", dir="/tmp")
    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        dashboard_host="127.0.0.1",
        _node_ip_address="127.0.0.1",
        _temp_dir=temp_dir,
        logging_level="ERROR",
        object_store_memory=200_000_000,
        # workers import test modules (policies defined in tests) like the driver does
        runtime_env={"env_vars": {"PYTHONPATH": os.path.dirname(__file__)}},
    )
    yield ray
    ray.shutdown()
    shutil.rmtree(temp_dir, ignore_errors=True)
