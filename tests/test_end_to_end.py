"""The whole stack on a tiny budget: real Procgen, real Ray actors, real d3rlpy learners."""

import csv

import pytest

from rlgen.cli import main

TINY = [
    "levels.train=4",
    "collect.transitions=3000",
    "collect.shard_transitions=1000",
    "collect.envs_per_worker=4",
    "learners=[{algo: bc, steps: 30, batch_size: 8, validate_every: 15, encoder_channels: [4, 8, 8], feature_size: 32},"
    " {algo: cql, steps: 10, batch_size: 8, validate_every: 0, encoder_channels: [4, 8, 8], feature_size: 32},"
    " {algo: dt, steps: 10, batch_size: 4, context_size: 4, num_layers: 1, num_heads: 1, validate_every: 0,"
    " encoder_channels: [4, 8, 8], feature_size: 32}]",
    "seeds=[0, 1]",
    "evaluate.levels_per_split=3",
    "evaluate.selection_levels=2",
    "evaluate.envs_per_worker=4",
]


@pytest.mark.slow
def test_run_end_to_end_then_resume(ray_local, tmp_path, capsys):
    overrides = [*TINY, f"output_dir={tmp_path / 'runs'}", "name=e2e"]
    argv = ["run", "configs/quickstart.yaml", "--quiet"] + [a for o in overrides for a in ("--set", o)]
    assert main(argv) == 0
    out = capsys.readouterr().out
    run = tmp_path / "runs" / "e2e"
    assert (run / "config.yaml").exists()
    report_dir = run / "report"
    for name in ("report.md", "report.csv", "train_vs_test.png", "gap.png"):
        assert (report_dir / name).stat().st_size > 0
    with open(report_dir / "report.csv") as f:
        rows = list(csv.DictReader(f))
    policies = {r["policy"] for r in rows}
    assert policies == {"bc", "cql", "dt", "random", "behaviour"}
    splits = {r["split"] for r in rows}
    assert {"train", "validation", "test", "gap (train - test)"} <= splits
    bc_test = next(r for r in rows if r["policy"] == "bc" and r["split"] == "test")
    assert int(bc_test["n_runs"]) == 2 and int(bc_test["n_levels"]) == 3
    behaviour_train = next(r for r in rows if r["policy"] == "behaviour" and r["split"] == "train")
    assert float(behaviour_train["success_rate"]) == 1.0  # the planner solves every level
    assert "manifest" in out.lower() or "sha256" in out.lower()

    # Every per-episode record names its dataset manifest and seed.
    with open(run / "eval" / "bc-seed1.csv") as f:
        records = list(csv.DictReader(f))
    assert {r["seed"] for r in records} == {"1"} and len({r["dataset_sha256"] for r in records}) == 1
    assert {r["split"] for r in records} == {"train", "validation", "test"}

    # Rerunning finds everything done: nothing is collected, trained or evaluated again.
    checkpoint = run / "train" / "dt-seed0" / "model.pt"
    stamp = checkpoint.stat().st_mtime_ns
    eval_stamp = (run / "eval" / "bc-seed0.csv").stat().st_mtime_ns
    assert main(argv) == 0
    assert checkpoint.stat().st_mtime_ns == stamp
    assert (run / "eval" / "bc-seed0.csv").stat().st_mtime_ns == eval_stamp


@pytest.mark.slow
def test_the_same_config_gives_a_byte_identical_report(ray_local, tmp_path):
    """Collection, training (with selection), evaluation and report, twice from scratch: the same
    dataset bytes and the same report.csv (README, "Determinism")."""
    runs = []
    for attempt in ("first", "second"):
        overrides = [*TINY, "seeds=[0]", f"output_dir={tmp_path / attempt}", f"data_dir={tmp_path / attempt / 'data'}", "name=twice"]
        assert main(["run", "configs/quickstart.yaml", "--quiet"] + [a for o in overrides for a in ("--set", o)]) == 0
        runs.append(tmp_path / attempt / "twice")
    first, second = runs
    for csv_path in sorted((first / "eval").glob("*.csv")):
        assert csv_path.read_bytes() == (second / "eval" / csv_path.name).read_bytes(), csv_path.name
    assert (first / "report" / "report.csv").read_bytes() == (second / "report" / "report.csv").read_bytes()
