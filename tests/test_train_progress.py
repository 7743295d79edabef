"""Watching training: the driver's bar counts gradient steps streamed from Ray training tasks (a
crashed task ends it with the task's error), and TensorBoard logs go through d3rlpy's adapter.

Real Procgen shards (written in this process), real d3rlpy training, real Ray tasks.
"""

from __future__ import annotations

import re
import struct
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from rlgen.cli import main
from rlgen.collect import collect_dataset
from rlgen.core.config import load_config
from rlgen.experiment import trained_run_dirs
from rlgen.learn.monitor import TENSORBOARD_DIR
from rlgen.report import collect_curves
from rlgen.train import run_dir, train_all, train_one
from test_hostile_storage import shards_in_process

BC = {"algo": "bc", "batch_size": 8, "log_every": 2, "validate_every": 0, "encoder_channels": [4, 8, 8], "feature_size": 32}


def tiny(tmp_path: Path, learners: list[dict], seeds=(0,), **extra) -> Path:
    data = {
        "name": "watched",
        "levels": {"train": 5},
        "collect": {"transitions": 400, "shard_transitions": 200, "envs_per_worker": 4},
        "learners": learners,
        "seeds": list(seeds),
        "evaluate": {"levels_per_split": 2, "references": []},
        "output_dir": str(tmp_path / "runs"),
        **extra,
    }
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def dataset_of(path: Path):
    config = load_config(path)
    shards_in_process(config)
    return config, collect_dataset(config, progress=False)  # every shard on disk: no Ray


def _bar_counts(err: str, total: int) -> list[int]:
    """The counts a tqdm bar of `total` printed, in order."""
    return [int(n) for n in re.findall(rf"(\d+)/{total} \[", err)]


@pytest.mark.slow
def test_a_real_training_run_moves_the_bar_in_gradient_steps(ray_local, tmp_path, capsys):
    config, dataset = dataset_of(tiny(tmp_path, [{**BC, "steps": 40, "log_every": 20}], seeds=(0, 1)))
    train_all(config, dataset.root, dataset.sha256, progress=True)
    bar = capsys.readouterr().err
    counts = _bar_counts(bar, 80)
    assert counts and counts[-1] == 80 and "steps/s" in bar and counts == sorted(counts)
    for seed in (0, 1):
        log = pd.read_csv(run_dir(config, config.learners[0], seed) / "train_log.csv")
        assert log["step"].tolist() == [20, 40]
    # the report's learning curves read these real run folders: one learner, both seeds
    (curves,) = collect_curves(trained_run_dirs(config))
    assert (curves.policy, curves.dataset, sorted(curves.logs)) == ("bc", dataset.name, [0, 1])


@pytest.mark.slow
def test_the_bar_shows_steps_from_inside_runs_and_ends_with_a_crash(ray_local, tmp_path, capsys):
    # two runs of 150 steps at 20 ms a step (3 s each whatever the machine): the tasks push their
    # counts twice a second, so the bar shows counts that are no multiple of 150 (a bar of
    # whole runs would only show 0, 150, 300)
    paced = {"algo": "paced_steps", "steps": 150, "seconds_per_step": 0.02}
    config, dataset = dataset_of(tiny(tmp_path, [paced], seeds=(0, 1), imports=["paced_learner"]))
    train_all(config, dataset.root, dataset.sha256, progress=True)
    counts = _bar_counts(capsys.readouterr().err, 300)
    assert counts[-1] == 300 and counts == sorted(counts)
    assert any(c % 150 for c in counts), counts

    crash = {"algo": "crash_after_steps", "steps": 1000, "crash_at": 40}
    crashing = config.with_overrides([f"learners=[{crash}]".replace("'", "")])
    with pytest.raises(Exception, match="paced_learner failed on purpose at step 40"):
        train_all(crashing, dataset.root, dataset.sha256, progress=True)  # returns, never waits on the dead run


def _scalars(folder: Path) -> dict[str, list[tuple[int, float]]]:
    """{tag: [(step, value)]} from the TFRecord event files under `folder` (length, crc, Event, crc)."""
    from tensorboardX.proto import event_pb2

    found: dict[str, list[tuple[int, float]]] = {}
    for path in sorted(folder.rglob("events.out.tfevents.*")):
        data = path.read_bytes()
        offset = 0
        while offset < len(data):
            (length,) = struct.unpack("<Q", data[offset : offset + 8])
            event = event_pb2.Event.FromString(data[offset + 12 : offset + 12 + length])
            offset += 12 + length + 4
            for value in event.summary.value:
                if value.HasField("simple_value"):
                    found.setdefault(value.tag, []).append((event.step, value.simple_value))
    return found


def test_tensorboard_holds_the_train_log_rows(tmp_path):
    pytest.importorskip("tensorboardX")
    config, dataset = dataset_of(tiny(tmp_path, [{**BC, "steps": 6}], train={"tensorboard": True}))
    train_one(config, config.learners[0], 0, str(dataset.root))
    run = run_dir(config, config.learners[0], 0)
    log = pd.read_csv(run / "train_log.csv")
    scalars = _scalars(run / TENSORBOARD_DIR / "runs" / "bc-seed0")
    assert [s for s, _ in scalars["metrics/loss"]] == log["step"].tolist() == [2, 4, 6]
    assert [v for _, v in scalars["metrics/loss"]] == pytest.approx(log["loss"].tolist(), rel=1e-5)


def test_tensorboard_without_its_package_is_one_line_naming_the_extra(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "tensorboardX", None)  # what `import tensorboardX` meets when it is not installed
    path = tiny(tmp_path, [{**BC, "steps": 6}], train={"tensorboard": True})
    assert main(["train", str(path), "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "train.tensorboard" in err[0] and "pip install 'rlgen[tensorboard]'" in err[0]


def test_tensorboard_is_left_out_of_the_fingerprint(tmp_path):
    plain = load_config(tiny(tmp_path, [BC]))
    watched = plain.with_overrides(["train.tensorboard=true"])
    assert watched.train.tensorboard and watched.fingerprint() == plain.fingerprint()
