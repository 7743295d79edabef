"""Stale and contested runs: evaluation refuses a run trained under another config, a killed
retrain never leaves the old result looking finished, and a run folder has one trainer at a time.

Real shards, a real dataset (finished in this process: no Ray), real BC training in this process
or in a child process that is killed for real; evaluation is refused before Ray would start.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import yaml

from rlgen.cli import main
from rlgen.collect import collect_dataset
from rlgen.core.config import load_config
from rlgen.data.lock import FolderLockedError
from rlgen.experiment import check_runs, evaluate_all
from rlgen.train import RUN_RECORD, StaleRunError, check_trained, run_dir, train_one
from test_hostile_storage import ROOT, _hold_lock, _release, shards_in_process

BC = {"algo": "bc", "steps": 4, "batch_size": 4, "log_every": 2, "validate_every": 0, "encoder_channels": [4, 8, 8]}


def write_config(tmp_path: Path, steps: int = 4, name: str = "config.yaml") -> Path:
    data = {
        "name": "hostile",
        "levels": {"train": 5},
        "collect": {"transitions": 400, "shard_transitions": 200, "envs_per_worker": 4},
        "learners": [{**BC, "steps": steps}],
        "seeds": [0],
        "evaluate": {"levels_per_split": 2, "references": []},
        "output_dir": str(tmp_path / "runs"),
    }
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data))
    return path


def trained(tmp_path: Path):
    """A config, its dataset and its one BC run, trained in this process."""
    config = load_config(write_config(tmp_path))
    shards_in_process(config)
    dataset = collect_dataset(config, progress=False)  # every shard on disk: no Ray
    train_one(config, config.learners[0], 0, str(dataset.root))
    return config, dataset


def test_evaluate_refuses_a_run_trained_under_another_config(tmp_path, capsys):
    """`rlgen evaluate` used to score the weights trained under the old learner config, exit 0."""
    config, dataset = trained(tmp_path)
    folder = run_dir(config, config.learners[0], 0)
    assert check_trained(config, config.learners[0], 0, dataset.sha256) == folder
    changed = write_config(tmp_path, steps=8, name="changed.yaml")
    code = main(["evaluate", str(changed), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert f"run {folder} is stale: it was trained with another learner than this config gives" in err
    assert "Run `rlgen train CONFIG`" in err
    # Evaluating directly (as `rlgen run` and sweeps do) refuses too, before any work.
    with pytest.raises(StaleRunError, match="stale"):
        evaluate_all(load_config(changed), dataset, progress=False)
    assert not (config.run_dir / "eval").exists()
    # Retraining under the new config makes it current.
    new = load_config(changed)
    train_one(new, new.learners[0], 0, str(dataset.root))
    check_runs(new, dataset)


KILLED_TRAINER = textwrap.dedent(
    """
    import sys
    from rlgen.core.config import load_config
    from rlgen.train import train_one
    config = load_config(sys.argv[1])
    train_one(config, config.learners[0], 0, sys.argv[2])
    """
)


def test_a_killed_retrain_leaves_no_finished_looking_run(tmp_path):
    """A retrain killed halfway used to leave the old `run.json` and `model.pt` beside its new
    partial log, and evaluation took them as the new config's run."""
    config, dataset = trained(tmp_path)
    folder = run_dir(config, config.learners[0], 0)
    assert (folder / RUN_RECORD).exists() and (folder / "model.pt").exists()
    long = write_config(tmp_path, steps=1_000_000, name="long.yaml")
    child = subprocess.Popen([sys.executable, "-c", KILLED_TRAINER, str(long), str(dataset.root)], cwd=ROOT)
    try:
        deadline = time.monotonic() + 120
        while not (folder / "train_log.csv").exists() or (folder / "model.pt").exists():
            assert child.poll() is None, "the retrain ended before it was killed"
            assert time.monotonic() < deadline, "the retrain never started writing its log"
            time.sleep(0.05)
    finally:
        child.kill()
        child.wait()
    assert not (folder / RUN_RECORD).exists() and not (folder / "model.pt").exists()
    for cfg in (config, load_config(long)):  # neither the old config nor the new one sees a finished run
        with pytest.raises(FileNotFoundError, match=rf"no trained run at {folder}; run `rlgen train CONFIG`"):
            check_runs(cfg, dataset)


def test_a_run_folder_has_one_trainer_at_a_time(tmp_path):
    config, dataset = trained(tmp_path)
    folder = run_dir(config, config.learners[0], 0)
    before = {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file() and p.name != ".lock"}
    holder = _hold_lock(folder)
    try:
        with pytest.raises(FolderLockedError, match=rf"run folder {folder} is in use: pid {holder.pid}"):
            train_one(config, config.learners[0], 0, str(dataset.root))
        with pytest.raises(FolderLockedError, match=rf"run folder {folder} is in use: pid {holder.pid}"):
            evaluate_all(config, dataset, progress=False)  # it would read weights a retrain is replacing
    finally:
        _release(holder)
    # untouched (the killed holder's lock file stays behind, harmless: the lock was the kernel's)
    assert {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file() and p.name != ".lock"} == before
    train_one(config, config.learners[0], 0, str(dataset.root))  # the lock went with its holder
