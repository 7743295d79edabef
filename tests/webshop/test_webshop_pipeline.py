"""WebShop end to end on a tiny budget: real Ray actors, the real env and oracle, real d3rlpy BC.

configs/webshop.yaml through `rlgen run`: collect with the noisy oracle, train BC for a few
steps, evaluate it and the references on train / validation / test instructions, report.
"""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from rlgen.cli import main
from rlgen.data import load_dataset

TINY = [
    "levels.train=20",
    "collect.transitions=600",
    "collect.shard_transitions=300",
    "collect.envs_per_worker=4",
    "learners=[{algo: bc, steps: 30, batch_size: 32, validate_every: 15, feature_size: 32}]",
    "evaluate.levels_per_split=4",
    "evaluate.selection_levels=2",
    "evaluate.envs_per_worker=4",
]


@pytest.mark.slow
def test_webshop_collect_train_evaluate_report(ray_local, tmp_path):
    overrides = [*TINY, f"output_dir={tmp_path / 'runs'}", "name=webshop-e2e"]
    argv = ["run", "configs/webshop.yaml", "--quiet"] + [a for o in overrides for a in ("--set", o)]
    assert main(argv) == 0
    run = tmp_path / "runs" / "webshop-e2e"

    dataset = load_dataset("webshop-L20-webshop_oracle-eps0.1-600-s0-v1")
    manifest = dataset.manifest
    assert manifest.env["kind"] == "webshop" and manifest.num_actions == 20
    # the recorded skill is the mean reward of the complete episodes in the shards, measured
    returns = [r for s in manifest.shards for r, p in zip(s.returns, s.partial) if not p]
    skill = manifest.behaviour["skill"]
    assert skill["episodes"] == len(returns) > 50
    assert skill["mean_return"] == pytest.approx(np.mean(returns))
    assert skill["normalized_mean_return"] == pytest.approx(100 * np.mean(returns))
    assert {level for s in manifest.shards for level in s.level_seeds} <= set(range(20))  # training instructions only
    buffer = dataset.to_d3rlpy()
    assert buffer.dataset_info.action_size == 20
    # shards store no strings: the goal index and the actions rebuild every observation, byte for byte
    from rlgen_envs.webshop import default_catalog
    from rlgen_envs.webshop.vec import GoalTask, WebShopChoiceVecEnv

    for episode in list(dataset.episodes())[:10]:
        env = WebShopChoiceVecEnv.pinned(default_catalog(), [GoalTask(episode.level_seed, int(episode.extras["goal_index"][0]))], max_episode_steps=30)
        obs, _ = env.reset()
        for t, action in enumerate(episode.actions):
            assert np.array_equal(obs[0], episode.observations[t])
            obs, reward, *_ = env.step(np.array([action]))
            assert reward[0] == episode.rewards[t]

    with open(run / "eval" / "reference-oracle.csv") as f:
        oracle = list(csv.DictReader(f))
    assert {r["split"] for r in oracle} == {"train", "validation", "test"} and len(oracle) == 12
    assert {r["game"] for r in oracle} == {"webshop"}
    for r in oracle:
        assert float(r["normalized_return"]) == pytest.approx(100 * float(r["return"]))
        assert (r["success"] == "True") == (float(r["return"]) == 1.0)
    with open(run / "report" / "report.csv") as f:
        rows = list(csv.DictReader(f))
    assert {r["policy"] for r in rows} == {"bc", "random", "behaviour", "oracle", "rule"}
    markdown = (run / "report" / "report.md").read_text()
    assert "Success rate per split" in markdown and "not comparable with the paper" in markdown
    meta = json.loads((run / "train" / "bc-seed0" / "learner.json").read_text())
    assert meta["observation_shape"] == [2154] and meta["action_size"] == 20
