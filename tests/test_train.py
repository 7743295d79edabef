"""The training stage (`rlgen.train`): a run's identity, skipping a finished run on a rerun,
retraining a stale one, and refusing to pass off a stale or missing run (`check_trained`).

A real dataset (shards written in this process, finished without Ray) and real BC training of a
few steps in this process. Killed and contested retrains are in test_hostile_runs.py.
"""

import json

import pytest

from rlgen.collect import collect_dataset
from rlgen.train import RUN_RECORD, StaleRunError, check_trained, is_trained, run_dir, run_key, train_one
from test_hostile_storage import shards_in_process

BC = "[{algo: bc, steps: %d, batch_size: 4, log_every: 2, validate_every: 0, encoder_channels: [4, 8, 8]}]"


@pytest.fixture
def setup(tiny_config, tmp_path):
    """(config for `steps`, its dataset) with one BC learner; nothing trained yet."""

    def config(steps: int = 4):
        return tiny_config(**{"learners": BC % steps, "output_dir": str(tmp_path / "runs"), "name": "train-test"})

    shards_in_process(config())
    return config, collect_dataset(config(), progress=False)  # every shard on disk: no Ray


def test_runs_are_named_by_learner_seed_and_variant(setup):
    config, _ = setup
    spec = config().learners[0]
    assert run_key(spec, 3) == "bc-seed3" and run_key(spec, 3, "aug") == "bc-aug-seed3"
    assert run_dir(config(), spec, 3) == config().run_dir / "train" / "bc-seed3"


def test_a_finished_run_is_skipped_and_a_stale_one_retrained(setup):
    config, dataset = setup
    old = config()
    spec = old.learners[0]
    assert not is_trained(old, spec, 0, dataset.sha256)
    record = train_one(old, spec, 0, str(dataset.root))
    folder = check_trained(old, spec, 0, dataset.sha256)
    assert folder == run_dir(old, spec, 0) and json.loads((folder / RUN_RECORD).read_text()) == record
    weights = (folder / "model.pt").stat().st_mtime_ns
    assert train_one(old, spec, 0, str(dataset.root)) == record  # a rerun resumes: nothing trained again
    assert (folder / "model.pt").stat().st_mtime_ns == weights

    new = config(steps=6)  # the same run folder (bc-seed0), another learner config
    assert not is_trained(new, new.learners[0], 0, dataset.sha256)
    retrained = train_one(new, new.learners[0], 0, str(dataset.root))
    assert retrained["identity"]["learner"]["params"]["steps"] == 6
    assert check_trained(new, new.learners[0], 0, dataset.sha256) == folder
    with pytest.raises(StaleRunError, match=rf"run {folder} is stale: it was trained with another learner than this config gives"):
        check_trained(old, spec, 0, dataset.sha256)


def test_a_missing_or_unreadable_run_or_other_data_is_refused(setup):
    config, dataset = setup
    cfg = config()
    spec = cfg.learners[0]
    with pytest.raises(FileNotFoundError, match=r"no trained run at .*bc-seed0; run `rlgen train CONFIG` first"):
        check_trained(cfg, spec, 0, dataset.sha256)
    train_one(cfg, spec, 0, str(dataset.root))
    with pytest.raises(StaleRunError, match="another dataset_sha256 than this config gives"):
        check_trained(cfg, spec, 0, "0" * 64)
    (run_dir(cfg, spec, 0) / RUN_RECORD).write_text("{not json")
    with pytest.raises(StaleRunError, match=r"run.json is unreadable"):
        check_trained(cfg, spec, 0, dataset.sha256)
    assert not is_trained(cfg, spec, 0, dataset.sha256)
