"""bench/bench_webshop.py at a tiny size: both sides measured, the row written."""

from __future__ import annotations

import json

from bench.bench_webshop import main


def test_bench_webshop_writes_env_search_and_choice_rates(tmp_path):
    assert main(["--episodes", "6", "--queries", "20", "--rounds", "1", "--envs", "3", "--results-dir", str(tmp_path)]) == 0
    row = json.loads((tmp_path / "webshop.json").read_text())
    figures = row["figures"]
    for key in ("env_steps_per_second", "env_steps_per_second_cold_search", "choice_env_steps_per_second", "search_queries_per_second_uncached"):
        assert figures[key] > 0
    assert figures["oracle_steps_per_episode"] >= 4  # search, open, (options), buy
    assert row["tables"][0]["rows"][0][0].startswith("env alone")
