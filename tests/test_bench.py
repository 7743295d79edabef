"""Smoke tests of the benchmark scripts (bench/): each runs at a tiny size on the real stack.

They check that every script measures both sides, writes its result row and that the report
renders it; the figures themselves mean nothing at these sizes.
"""

import json
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench import bench_collect, bench_evaluate, bench_experts, bench_storage, bench_training, report  # noqa: E402
from bench.__main__ import main as run_all  # noqa: E402


def _row(results: Path, name: str) -> dict:
    row = json.loads((results / f"{name}.json").read_text())
    assert row["name"] == name and row["command"] and row["date"]
    assert row["machine"]["cpus"] >= 1
    for target in row["targets"]:
        assert {"what", "figure", "ratio", "target", "met"} <= set(target)
        assert target["ratio"] > 0
        if not target["met"]:
            assert target["reason"] and target["close"]
    return row


def test_collect_measures_both_sides_and_splits_time(ray_local, tmp_path):
    figures = bench_collect.main(
        ["--games", "maze", "--transitions", "640", "--shard-transitions", "320", "--envs", "4", "--levels", "5",
         "--neural-transitions", "64", "--neural-game", "bigfish", "--neural-channels", "4", "8", "8",
         "--results-dir", str(tmp_path)]
    )  # fmt: skip
    maze = figures["games"]["maze"]
    assert maze["raw"]["transitions"] == maze["rlgen"]["transitions"] == 640
    assert maze["rlgen"]["shards"] == 2 and maze["ratio"] > 0
    assert maze["split_random"]["env_steps"] >= 320
    neural = figures["neural"]
    assert neural["inference_seconds"] > 0 and neural["env_seconds"] > 0 and neural["write_seconds"] > 0
    row = _row(tmp_path, "collect")
    assert len(row["targets"]) == 1 and len(row["tables"]) == 2


def test_storage_compares_formats(tmp_path):
    figures = bench_storage.main(
        ["--games", "maze", "bigfish", "--transitions", "200", "--levels", "3", "--envs", "4", "--results-dir", str(tmp_path)]
    )
    maze, bigfish = figures["games"]["maze"], figures["games"]["bigfish"]
    assert maze["policy"] == "maze_planner" and bigfish["policy"] == "random"
    for m in (maze, bigfish):
        # uint8 zstd shards are far smaller than float32 deflate files of the same episodes
        assert 0 < m["rlgen_bytes_per_transition"] < m["paper_bytes_per_transition"]
        assert m["rlgen_decode_frames_per_second"] > 0 and m["paper_decode_frames_per_second"] > 0
    row = _row(tmp_path, "storage")
    assert len(row["targets"]) == 4
    assert "no expert" in row["tables"][0]["rows"][1][1]


def test_experts_measure_expert_and_random_per_game(tmp_path):
    assert bench_experts.main(["--games", "miner", "--levels", "1", "--envs", "1", "--jobs", "1", "--results-dir", str(tmp_path)]) == 0
    row = _row(tmp_path, "experts")
    miner = row["figures"]["miner"]
    assert miner["expert_policy"] == "search" and miner["expert"]["episodes"] == miner["random"]["episodes"] == 1
    assert miner["expert"]["expansions_per_step"] > 0 and miner["expert"]["options"]["temperature"] > 0
    assert [r[0] for r in row["tables"][0]["rows"]] == ["miner"]


def test_training_overhead_and_learners(tmp_path):
    figures = bench_training.main(
        ["--steps", "2", "--rounds", "2", "--learner-steps", "2", "--channels", "4", "8", "8", "--results-dir", str(tmp_path)]
    )
    update = figures["update"]
    assert update["d3rlpy_steps_per_second"] > 0 and update["bare_steps_per_second"] > 0 and update["steps_each"] == 2
    assert set(figures["learner_steps_per_second"]) == {"bc", "cql", "dt"}
    _row(tmp_path, "training")


def test_evaluate_same_episodes_both_sides(ray_local, tmp_path):
    figures = bench_evaluate.main(
        ["--episodes", "4", "--envs", "2", "--channels", "4", "8", "8", "--results-dir", str(tmp_path)]
    )
    for kind in ("neural", "constant"):
        f = figures["policies"][kind]
        assert f["rlgen"]["episodes"] == 4 and f["raw"]["episodes"] >= 4
        assert f["rlgen"]["mean_length"] > 0 and f["raw"]["mean_length"] > 0
    row = _row(tmp_path, "evaluate")
    assert len(row["targets"]) == 1  # the neural policy is the target; the constant one is context


def test_report_rewrites_tables_from_rows(tmp_path):
    results = tmp_path / "results"
    results.mkdir()
    ours = {
        "name": "training", "title": "Training overhead (target 4)", "date": "2026-11-29T20:00:00+00:00",
        "command": ".venv/bin/python bench/bench_training.py", "machine": {"loadavg_start": [1.0], "loadavg_end": [2.0]},
        "targets": [{"what": "training overhead", "figure": "9 vs 10 steps/s", "ratio": 1.11, "target": "<= 1.25x", "met": True,
                     "reason": "", "close": ""}],
        "tables": [{"title": "steps/s", "columns": ["what", "steps/s"], "rows": [["bare", "10"]]}],
        "figures": {}, "notes": ["a note"],
    }  # fmt: skip
    other = {"name": "sampler", "date": "2026-11-29T21:00:00", "figures": {"samples_per_second": 1234.5, "ratio": 1.6}}
    (results / "training.json").write_text(json.dumps(ours))
    (results / "sampler.json").write_text(json.dumps(other))
    out = tmp_path / "BENCHMARKS.md"
    assert run_all(["--report-only", "--results-dir", str(results), "--output", str(out)]) == 0
    text = out.read_text()
    assert "| 4 | training overhead | 9 vs 10 steps/s | 1.11 | <= 1.25x | yes |" in text
    assert "## 3. Out-of-core sampling" in text and "samples_per_second" in text  # another script's row, shown as it is
    assert "NVIDIA H200" in text and text.index("## 3.") < text.index("## 4.")
    assert report.render(report.load_rows(results)) == text


def test_committed_benchmarks_are_what_the_committed_rows_render():
    """BENCHMARKS.md is generated: a figure edited by hand, or a row changed without rerendering,
    would make the file say what no result row holds."""
    committed = (report.REPO / "BENCHMARKS.md").read_text()
    assert report.render(report.load_rows()) == committed, "stale: run `.venv/bin/python -m bench --report-only`"


@pytest.mark.parametrize("missing", ["collect"])
def test_runner_reports_a_missing_script(tmp_path, monkeypatch, missing):
    from bench import __main__ as runner

    monkeypatch.setitem(runner.SCRIPTS, missing, "bench/no_such_script.py")
    assert run_all(["--only", missing, "--results-dir", str(tmp_path), "--output", str(tmp_path / "B.md")]) == 0
    assert (tmp_path / "B.md").exists()
