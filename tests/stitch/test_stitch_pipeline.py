"""The stitching track end to end on a tiny budget: real Ray actors, real env, real d3rlpy learners.

configs/stitch.yaml through `rlgen run`: collect region-restricted data, audit it, build the
augmented variant, train BC, CQL and DT on both, evaluate on stitching and ordinary pairs,
report; then the audit command on the same config.
"""

import csv
import json

import pytest

from rlgen.cli import main

TINY = [
    "levels.train=3",
    "collect.transitions=2000",
    "collect.shard_transitions=1000",
    "collect.envs_per_worker=4",
    "learners=[{algo: bc, steps: 10, batch_size: 8, validate_every: 5, feature_size: 32},"
    " {algo: cql, steps: 5, batch_size: 8, validate_every: 0, feature_size: 32},"
    " {algo: dt, steps: 5, batch_size: 4, context_size: 4, num_layers: 1, num_heads: 1, validate_every: 0,"
    " feature_size: 32}]",
    "seeds=[0, 1]",
    "evaluate.levels_per_split=2",
    "evaluate.selection_levels=1",
    "evaluate.envs_per_worker=8",
    "env.options.pairs_per_level=1",
]


@pytest.mark.slow
def test_stitch_track_end_to_end(ray_local, tmp_path, capsys):
    overrides = [*TINY, f"output_dir={tmp_path / 'runs'}", "name=stitch-e2e"]
    argv = ["run", "configs/stitch.yaml", "--quiet"] + [a for o in overrides for a in ("--set", o)]
    assert main(argv) == 0
    run = tmp_path / "runs" / "stitch-e2e"
    audit = json.loads((run / "stitch_audit.json").read_text())
    assert audit["pairs"] > 0 and audit["pairs_cooccurring"] == 0
    assert "train_level_pairs_covered_after_augmentation" in audit
    with open(run / "report" / "stitching.csv") as f:
        rows = list(csv.DictReader(f))
    datasets = {r["dataset"] for r in rows}
    assert len(datasets) == 2 and any("-aug0.5-" in d for d in datasets)
    assert {r["policy"] for r in rows} == {"bc", "cql", "dt", "random", "behaviour"}
    assert {(r["pairs"], r["split"]) for r in rows} >= {("stitch", "train"), ("stitch", "test"), ("ordinary", "train"), ("ordinary", "test")}
    learners = [r for r in rows if r["kind"] == "learner"]
    assert all(r["n_runs"] == "2" for r in learners)
    behaviour = [r for r in rows if r["policy"] == "behaviour"]
    assert all(float(r["success_rate"]) > 0.5 for r in behaviour)  # the unconfined oracle solves pairs
    markdown = (run / "report" / "report.md").read_text()
    assert "## Stitching: success rate" in markdown and "stitching audit" in markdown
    # model selection saw validation pairs only: the trained runs never played a test level
    meta = json.loads((run / "train" / "bc-aug-seed0" / "learner.json").read_text())
    assert meta["action_size"] == 5 and meta["selection"] is not None

    capsys.readouterr()
    assert main(["stitch", "audit", "configs/stitch.yaml"] + [a for o in overrides for a in ("--set", o)]) == 0
    assert "stitching audit passed" in capsys.readouterr().out
