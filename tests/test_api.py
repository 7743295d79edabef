"""`rlgen.make_env_and_dataset` on a real Procgen dataset collected with Ray: the buffer, and envs
on exactly the level blocks its manifest records (set away from the defaults here, so envs built
from defaults or from the name would fail)."""

from __future__ import annotations

import d3rlpy
import numpy as np
import pytest
from d3rlpy.metrics import EnvironmentEvaluator

import rlgen
from rlgen.catalog import load_catalog
from rlgen.collect import collect_dataset
from rlgen.core.config import ExperimentConfig
from rlgen.data import DatasetError

SPLITS = ("train", "validation", "test")


@pytest.fixture(scope="module")
def dataset(ray_local, tmp_path_factory):
    config = ExperimentConfig().with_overrides(
        [
            "levels.train=4",
            "levels.validation.start=500000", "levels.validation.count=3",
            "levels.test.start=900000", "levels.test.count=2",
            "collect.transitions=1200", "collect.shard_transitions=600", "collect.envs_per_worker=4", "ray.num_cpus=2",
        ]
    )  # fmt: skip
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("RLGEN_DATA_DIR", str(tmp_path_factory.mktemp("data")))
        return collect_dataset(config, progress=False)


def test_buffer_and_three_envs_on_the_manifests_levels(dataset):
    buffer, *envs = rlgen.make_env_and_dataset(dataset.root)
    assert isinstance(buffer, d3rlpy.dataset.ReplayBuffer)
    assert buffer.episodes[0].observations.shape[1:] == (3, 64, 64)
    levels = dataset.manifest.levels
    for split, env in zip(SPLITS, envs):
        kwargs = env.spec.kwargs
        assert (kwargs["game"], kwargs["mode"]) == (dataset.manifest.env["game"], dataset.manifest.env["mode"])
        assert (kwargs["start_level"], kwargs["num_levels"]) == (levels[split].start, levels[split].count)
        _, info = env.reset(seed=0)
        assert info["level_seed"] in levels[split]
    # d3rlpy's own evaluator runs an algorithm built on the buffer on the test env as returned
    algo = d3rlpy.algos.DiscreteBCConfig(batch_size=8).create(device="cpu")
    algo.build_with_dataset(buffer)
    score = EnvironmentEvaluator(envs[2], n_trials=1)(algo, buffer)
    assert np.isfinite(score)


def test_arrays_hold_every_transition_with_its_episode_ends(dataset):
    arrays, train_env, _, _ = rlgen.make_env_and_dataset(dataset.root, dataset_format="arrays")
    manifest = dataset.manifest
    n = manifest.transitions
    assert arrays["observations"].shape == (n, 64, 64, 3) and train_env.observation_space.shape == (64, 64, 3)
    assert {k: len(v) for k, v in arrays.items()} == dict.fromkeys(arrays, n)
    ends = arrays["terminals"] | arrays["timeouts"]
    assert ends.sum() == manifest.episodes and ends[-1] and not (arrays["terminals"] & arrays["timeouts"]).any()
    returns = [r for shard in manifest.shards for r in shard.returns]
    assert np.isclose(arrays["rewards"].sum(), sum(returns))
    assert set(arrays["level_seeds"]) <= set(manifest.levels.train.seeds)


def test_an_unbuilt_catalog_card_says_how_to_build_it(tmp_path):
    name = next(card.name for card in load_catalog().cards if card.env.game == "coinrun")
    with pytest.raises(DatasetError, match=f"rlgen datasets build {name}"):
        rlgen.make_env_and_dataset(name, data_dir=tmp_path)
