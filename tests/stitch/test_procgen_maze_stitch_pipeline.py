"""The stitching track on Procgen maze end to end on a tiny budget: real Ray actors, the real
game with placed tasks, real d3rlpy learners, the audit command (configs/stitch_procgen.yaml)."""

import csv
import json

import pytest

from rlgen.cli import main

TINY = [
    "levels.train=4",
    "collect.transitions=1500",
    "collect.shard_transitions=750",
    "collect.envs_per_worker=4",
    "learners=[{algo: bc, steps: 10, batch_size: 8, validate_every: 5, feature_size: 32},"
    " {algo: dt, steps: 5, batch_size: 4, context_size: 4, num_layers: 1, num_heads: 1, validate_every: 0,"
    " feature_size: 32}]",
    "seeds=[0]",
    "evaluate.levels_per_split=2",
    "evaluate.selection_levels=1",
    "evaluate.envs_per_worker=8",
    "env.options.pairs_per_level=1",
]


@pytest.mark.slow
def test_procgen_maze_stitch_track_end_to_end(ray_local, tmp_path, capsys):
    overrides = [*TINY, f"output_dir={tmp_path / 'runs'}", f"data_dir={tmp_path / 'data'}", "name=stitch-procgen-e2e"]
    sets = [a for o in overrides for a in ("--set", o)]
    assert main(["run", "configs/stitch_procgen.yaml", "--quiet", *sets]) == 0
    run = tmp_path / "runs" / "stitch-procgen-e2e"
    audit = json.loads((run / "stitch_audit.json").read_text())
    assert audit["pairs"] > 0 and audit["pairs_cooccurring"] == 0 and audit["separated_steps"]["source"] == 0
    manifest = json.loads(sorted((tmp_path / "data").glob("procgen_maze_stitch-*/manifest.json"))[0].read_text())  # the collected data
    assert manifest["env"]["kind"] == "procgen_maze_stitch" and manifest["env"]["num_actions"] == 5
    with open(run / "report" / "stitching.csv") as f:
        rows = list(csv.DictReader(f))
    assert len({r["dataset"] for r in rows}) == 2
    assert {r["policy"] for r in rows} == {"bc", "dt", "random", "behaviour"}
    assert {(r["pairs"], r["split"]) for r in rows} >= {("stitch", "train"), ("stitch", "test"), ("ordinary", "train"), ("ordinary", "test")}
    behaviour = [r for r in rows if r["policy"] == "behaviour"]
    assert all(float(r["success_rate"]) > 0.8 for r in behaviour)  # the unconfined oracle solves the placed pairs
    meta = json.loads((run / "train" / "bc-aug-seed0" / "learner.json").read_text())
    assert meta["action_size"] == 5 and meta["selection"] is not None

    capsys.readouterr()
    assert main(["stitch", "audit", "configs/stitch_procgen.yaml", *sets]) == 0
    assert "stitching audit passed" in capsys.readouterr().out
