"""Sweeps: config expansion, and a sweep whose driver is killed, then resumed by rerunning it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from rlgen.core.typed import ConfigError
from rlgen.sweep import dataset_points, load_sweep, sweep_report, trials_of

QUICKSTART = str(Path("configs/quickstart.yaml").resolve())


def write_sweep(tmp_path: Path, **fields) -> Path:
    path = tmp_path / "sweep.yaml"
    path.write_text(yaml.safe_dump({"name": "t", "base": QUICKSTART, **fields}, sort_keys=False))
    return path


@pytest.mark.parametrize("path", sorted(Path("configs/sweeps").glob("*.yaml")), ids=lambda p: p.name)
def test_example_sweeps_expand(path):
    sweep, configs = load_sweep(path)
    assert len(configs) >= 2 and len({c.dataset_name for c in configs}) == len(configs)
    for config in configs:
        assert config.name == config.dataset_name and Path(config.output_dir).name == sweep.name
        assert len(trials_of(config)) == 1 + len(config.learners) * len(config.seeds)


def test_axes_are_a_product_and_override_the_base(tmp_path):
    path = write_sweep(
        tmp_path,
        set=["collect.transitions=5000"],
        datasets={"levels.train": [3, 7], "collect.policy": [{"name": "random"}, {"name": "maze_planner", "epsilon": 0.5}]},
        learners=[{"algo": "bc", "steps": 10}],
        seeds=[1, 2, 3],
        output_dir=str(tmp_path / "out"),
    )
    _, configs = load_sweep(path, ["evaluate.levels_per_split=4"], device="auto")
    assert [(c.levels.train, c.collect.policy.label) for c in configs] == [
        (3, "random"), (3, "maze_planner-eps0.5"), (7, "random"), (7, "maze_planner-eps0.5"),
    ]  # fmt: skip
    assert all(c.collect.transitions == 5000 and c.evaluate.levels_per_split == 4 and c.device == "auto" for c in configs)
    assert [s.params for s in configs[0].learners] == [{"steps": 10}] and configs[0].seeds == (1, 2, 3)
    ids = [t.id for t in trials_of(configs[0])]
    assert ids == [f"{configs[0].name}--references"] + [f"{configs[0].name}--bc-seed{s}" for s in (1, 2, 3)]
    assert configs[0].run_dir == tmp_path / "out" / "t" / configs[0].dataset_name


def test_scale_shrinks_every_dataset_and_the_command_line_wins(tmp_path):
    path = write_sweep(
        tmp_path,
        datasets=[{"levels.train": 4, "collect.transitions": 1_000_000}, {"levels.train": 4, "collect.transitions": 10_000_000}],
        set=["collect.shard_transitions=250000"],
        learners=[{"algo": "bc", "steps": 100000}],
        output_dir=str(tmp_path / "out"),
    )
    _, configs = load_sweep(path, ["learners=[{algo: bc, steps: 10}]"], scale=0.01)
    assert [(c.collect.transitions, c.collect.shard_transitions) for c in configs] == [(10_000, 2_500), (100_000, 2_500)]
    assert [c.dataset_name.split("-")[-3] for c in configs] == ["10k", "100k"]  # the names say what the data is
    assert Path(configs[0].output_dir).name == "t-x0.01"  # a scaled sweep never mixes with the full one
    assert [s.params for s in configs[0].learners] == [{"steps": 10}]
    with pytest.raises(ConfigError, match="--scale must be positive"):
        load_sweep(path, scale=0)


def test_bad_sweeps_are_refused_naming_the_problem(tmp_path):
    with pytest.raises(ConfigError, match="seeed"):
        load_sweep(write_sweep(tmp_path, seeed=[0]))
    with pytest.raises(ConfigError, match="same dataset"):
        load_sweep(write_sweep(tmp_path, datasets=[{"levels.train": 3}, {"levels.train": 3, "evaluate.num_workers": 1}]))
    with pytest.raises(ConfigError, match="levels.train"):
        load_sweep(write_sweep(tmp_path, datasets={"levels.train": 3}))
    with pytest.raises(ConfigError, match="transitons"):
        load_sweep(write_sweep(tmp_path, datasets={"collect.transitons": [3]}))


def test_report_warns_when_a_larger_dataset_holds_no_new_frames(ray_local, tmp_path):
    # A deterministic planner on 2 levels: 3x the transitions replays the same two paths. The
    # distinct frames come from the real manifests; the evaluation records are hand-made.
    import pandas as pd

    from rlgen.collect import collect_dataset
    from rlgen.trends import SIZE_WARNING
    from tests.test_report import BASES, make_records

    path = write_sweep(
        tmp_path,
        set=["collect.policy={name: maze_planner, options: {temperature: 0}}", "levels.train=2", "collect.shard_transitions=1000",
             "collect.envs_per_worker=4", "collect.num_workers=2", "ray.num_cpus=2"],
        datasets={"collect.transitions": [1000, 3000]},
        learners=[{"algo": "bc", "steps": 10}],
        output_dir=str(tmp_path / "runs"),
    )  # fmt: skip
    sweep, configs = load_sweep(path)
    frames = []
    for config in configs:
        dataset = collect_dataset(config, progress=False)
        frames.append(dataset.manifest.diversity["distinct_frames"])
        bases = {key: BASES[key] for key in [("bc", "learner"), ("random", "reference")]}
        records = [{**r, "dataset": config.name, "dataset_sha256": dataset.sha256} for r in make_records(bases)]
        (config.run_dir / "eval").mkdir(parents=True)
        pd.DataFrame(records).to_csv(config.run_dir / "eval" / "records.csv", index=False)
    assert frames[0] == frames[1] > 0
    markdown = sweep_report(Path(configs[0].output_dir), configs, dataset_points(sweep, configs))
    assert SIZE_WARNING in markdown
    assert f"1,000 → 3,000 transitions (3.0x) hold {frames[0]:,} → {frames[1]:,} distinct frames (+0.0%)" in markdown
    assert f"| {frames[0]:,} ({frames[0]:.1f}) | {frames[1]:,} ({frames[1] / 3:.1f}) |" in markdown  # frames (per 1k) per dataset
    assert (Path(configs[0].output_dir) / "report" / "report.md").read_text() == markdown


TINY = [
    "collect.policy={name: random}",
    "collect.transitions=2000",
    "collect.shard_transitions=1000",
    "collect.envs_per_worker=4",
    "evaluate.levels_per_split=2",
    "evaluate.splits=[train, test]",
    "evaluate.references=[random]",
    "evaluate.num_workers=1",
    "evaluate.envs_per_worker=4",
    "ray.num_cpus=2",
]


@pytest.mark.slow
def test_sweep_killed_with_its_driver_resumes_and_skips_finished_trials(tmp_path):
    # The kill lands when the references trial has written its record. The learner trials wait
    # on that trial's result, so at that moment none of them can have finished (each still has
    # to train and evaluate): the kill always falls between finished and unfinished trials.
    # Killing at the first learner's record instead raced: Ray lends a trial's CPUs to the next
    # one while it waits on its evaluation actors, so two learner trials can finish together.
    # One dataset keeps it short (each trial starts processes); expansion is tested above.
    path = write_sweep(
        tmp_path,
        set=TINY,
        datasets={"levels.train": [3]},
        learners=[{"algo": "bc", "steps": 40, "batch_size": 16, "encoder_channels": [4, 8, 8], "validate_every": 0}],
        seeds=[0, 1],
        resources={"num_cpus": 2},
        output_dir=str(tmp_path / "runs"),
    )
    _, configs = load_sweep(path)
    sweep_dir = tmp_path / "runs" / "t"
    trials = sweep_dir / "trials"
    command = [sys.executable, "-m", "rlgen.cli", "sweep", str(path), "--quiet"]
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}
    # Its own process group: after the driver is killed, its embedded Ray is cleaned up with it.
    driver = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and driver.poll() is None and not list(trials.glob("*--references.json")):
            time.sleep(0.1)
        assert driver.poll() is None, driver.communicate()[1][-3000:]
        os.kill(driver.pid, signal.SIGKILL)  # the driver dies mid-sweep, without a chance to clean up
        driver.wait()
    finally:
        try:
            os.killpg(driver.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    finished = {p.name: p.read_bytes() for p in trials.glob("*.json")}
    total = sum(len(trials_of(c)) for c in configs)
    assert [name.endswith("--references.json") for name in finished] == [True]
    assert total == 3

    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=400)
    assert done.returncode == 0, done.stderr[-3000:]
    assert f"{len(finished)} of {total} trials already finished, skipped" in done.stdout
    for name, data in finished.items():
        assert (trials / name).read_bytes() == data  # finished trials were not run again
    records = {p.name: p.read_bytes() for p in sorted(trials.glob("*.json"))}
    assert len(records) == total
    # the report across every trial: the dataset, the learner and the reference
    table = (sweep_dir / "report" / "report.csv").read_text()
    for config in configs:
        assert config.dataset_name in table
        assert (sweep_dir / config.name / "report" / "report.md").exists()
    assert "bc" in table and "random" in table

    # Once more: now every trial, the learners included, is finished, and none is trained again.
    first_run = sweep_dir / configs[0].name / "train" / "bc-seed0" / "run.json"
    trained = first_run.read_bytes()
    again = subprocess.run(command, env=env, capture_output=True, text=True, timeout=400)
    assert again.returncode == 0, again.stderr[-3000:]
    assert f"{total} of {total} trials already finished, skipped" in again.stdout
    assert {p.name: p.read_bytes() for p in trials.glob("*.json")} == records
    assert first_run.read_bytes() == trained
