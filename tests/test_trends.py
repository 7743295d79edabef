"""Trends against swept dataset axes, on the report table of hand-checkable records.

Three datasets (4 and 40 training levels at size 1000; 40 levels at size 5000) with one learner
whose test score rises with diversity: the trend table must put each dataset's own report row
under the right axis value, and leave out the cells no dataset has.
"""

from __future__ import annotations

import pytest

from rlgen import report, trends
from tests.test_report import BASES, make_records

POINTS = {
    "d-L4-1k": {"levels.train": 4, "collect.transitions": 1000},
    "d-L40-1k": {"levels.train": 40, "collect.transitions": 1000},
    "d-L40-5k": {"levels.train": 40, "collect.transitions": 5000},
}
TEST_SHIFT = {"d-L4-1k": 0.0, "d-L40-1k": 0.1, "d-L40-5k": 0.1}


def _records():
    records = []
    for name, shift in TEST_SHIFT.items():
        bases = {("bc", "learner"): {**BASES[("bc", "learner")], "test": [v + shift for v in BASES[("bc", "learner")]["test"]]}}
        bases[("random", "reference")] = BASES[("random", "reference")]
        for record in make_records(bases):
            records.append({**record, "dataset": name, "dataset_sha256": name.encode().hex().ljust(64, "0")[:64]})
    return records


def test_numeric_axes_are_those_that_vary():
    assert trends.numeric_axes(POINTS) == ["collect.transitions", "levels.train"]
    assert trends.numeric_axes({"a": {"levels.train": 4, "collect.policy": {"name": "x"}}, "b": {"levels.train": 4}}) == []


def test_trend_rows_are_the_report_rows_of_each_dataset(tmp_path):
    table = report.compute_report_table(_records(), n_resamples=200)
    rows = trends.trend_table(table, POINTS, "levels.train")
    assert set(rows["policy"]) == {"bc"}  # references are not trends
    for name, point in POINTS.items():
        got = rows[(rows["dataset"] == name) & (rows["split"] == "test")]
        want = table[(table["dataset"] == name) & (table["policy"] == "bc") & (table["split"] == "test")]
        assert len(got) == 1 and got.iloc[0]["levels.train"] == point["levels.train"]
        assert got.iloc[0]["iqm_normalized"] == want.iloc[0]["iqm_normalized"]
    low = rows[(rows["dataset"] == "d-L4-1k") & (rows["split"] == "test")].iloc[0]["iqm_normalized"]
    high = rows[(rows["dataset"] == "d-L40-1k") & (rows["split"] == "test")].iloc[0]["iqm_normalized"]
    assert high - low == pytest.approx(0.1, abs=1e-9)


def test_markdown_and_plots_cover_every_axis(tmp_path):
    table = report.compute_report_table(_records(), n_resamples=200)
    lines = trends.write_trends(table, POINTS, tmp_path)
    text = "\n".join(lines)
    assert "### Against `levels.train`" in text and "### Against `collect.transitions`" in text
    assert (tmp_path / "trend_levels_train.png").stat().st_size > 0
    assert (tmp_path / "trend_collect_transitions.png").stat().st_size > 0
    # size 5000 exists only at 40 levels: the 4-level row has a dash in that column
    size_rows = [line for line in text.splitlines() if line.startswith("| 4 | bc |")]
    assert size_rows and all(line.rstrip(" |").endswith("–") for line in size_rows)


def _diversity(frames: dict[str, int | None]) -> dict:
    transitions = {name: point["collect.transitions"] for name, point in POINTS.items()}
    return {
        name: None if n is None else {"distinct_frames": n, "distinct_frames_per_1k_transitions": 1000 * n / transitions[name]}
        for name, n in frames.items()
    }


def test_size_warning_fires_when_more_transitions_hold_no_new_frames(tmp_path):
    # 5x the transitions at 40 levels, 2.5% more distinct frames: the size axis is repetition.
    diversity = _diversity({"d-L4-1k": 50, "d-L40-1k": 400, "d-L40-5k": 410})
    findings = trends.size_axis_findings(POINTS, diversity)
    assert findings == [{
        "setting": {"levels.train": 40}, "datasets": ("d-L40-1k", "d-L40-5k"),
        "transitions": (1000.0, 5000.0), "distinct_frames": (400, 410),
    }]  # fmt: skip
    table = report.compute_report_table(_records(), n_resamples=200)
    text = "\n".join(trends.write_trends(table, POINTS, tmp_path, diversity))
    size_section = text.split("### Against `collect.transitions`")[1]
    assert trends.SIZE_WARNING in size_section and "1,000 → 5,000 transitions (5.0x) hold 400 → 410 distinct frames (+2.5%)" in size_section
    assert trends.SIZE_WARNING not in text.split("### Against `collect.transitions`")[0]  # only on the size axis
    # every axis shows each dataset's distinct frames (per 1k transitions) in its columns
    assert "| 40 | 400 (400.0) | 410 (82.0) |" in size_section
    assert "| 1,000 | 50 (50.0) | 400 (400.0) |" in text.split("### Against `levels.train`")[1]


def test_size_warning_stays_quiet_when_frames_grow_or_are_unknown(tmp_path):
    table = report.compute_report_table(_records(), n_resamples=200)
    for frames in ({"d-L4-1k": 50, "d-L40-1k": 400, "d-L40-5k": 2000}, {"d-L4-1k": 50, "d-L40-1k": 400, "d-L40-5k": None}):
        diversity = _diversity(frames)
        assert trends.size_axis_findings(POINTS, diversity) == []
        text = "\n".join(trends.write_trends(table, POINTS, tmp_path, diversity))
        assert trends.SIZE_WARNING not in text
    assert "| 40 | 400 (400.0) | unknown |" in text  # an old manifest: unknown, never a guess
    # 1.5x the transitions is too small a step to judge; 2x with 5% more frames is flagged
    near = {"a": {"collect.transitions": 1000}, "b": {"collect.transitions": 1500}, "c": {"collect.transitions": 2000}}
    counts = {"a": {"distinct_frames": 100}, "b": {"distinct_frames": 100}, "c": {"distinct_frames": 105}}
    assert [f["datasets"] for f in trends.size_axis_findings(near, counts)] == [("a", "c")]
    assert "Distinct frames" not in "\n".join(trends.write_trends(table, POINTS, tmp_path))  # no diversity given: as before
