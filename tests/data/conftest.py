"""A real dataset shared by the format and card tests: Procgen maze, random play, collected by
`collect_dataset` with the shards collected in this process (as tests/stitch does): the same
`collect_shard` a Ray actor runs, without starting Ray (whose workers would import rlgen from
the installed checkout, not the one under test)."""

from __future__ import annotations

import pytest

import rlgen.collect as collect_module
from rlgen.core.config import ExperimentConfig

TINY = {
    "levels.train": 5,
    "collect.transitions": 1500,
    "collect.shard_transitions": 600,  # three shards: 600, 600 and 300 transitions
    "collect.envs_per_worker": 4,
}


@pytest.fixture(scope="session")
def collected(tmp_path_factory):
    """A finished dataset as `rlgen collect` leaves it; tests copy it before changing anything."""
    config = ExperimentConfig().with_overrides([f"{k}={v}" for k, v in TINY.items()])
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RLGEN_DATA_DIR", str(tmp_path_factory.mktemp("collected")))
        mp.setattr(
            collect_module, "_collect_with_ray",
            lambda config, indices, shard_dir, *args: {i: collect_module.collect_shard(config, i, shard_dir) for i in indices},
        )  # fmt: skip
        return collect_module.collect_dataset(config, progress=False)
