"""The cluster launch files are valid Ray cluster configs (checked against Ray's own schema)."""

from pathlib import Path

import pytest
import yaml

CLUSTER_CONFIGS = sorted(Path("configs/cluster").glob("*.yaml"))


@pytest.mark.parametrize("path", CLUSTER_CONFIGS, ids=lambda p: p.name)
def test_cluster_config_matches_rays_schema(path):
    from ray.autoscaler._private.util import prepare_config, validate_config

    config = yaml.safe_load(path.read_text())
    validate_config(prepare_config(config))
    commands = " ".join(config["setup_commands"] + config["head_start_ray_commands"])
    # the dashboard (and its job server) listens on the head only; reach it through `ray dashboard`
    assert "scripts/install.sh" in commands and "--dashboard-host=127.0.0.1" in commands


def test_there_are_cloud_and_onprem_configs():
    assert {p.stem for p in CLUSTER_CONFIGS} >= {"aws", "onprem"}
