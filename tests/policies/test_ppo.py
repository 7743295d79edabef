"""PPO behaviour policies: a tiny real RLlib run, its checkpoints, the `ppo` behaviour, the skill dial."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from rlgen.core.config import BehaviourConfig, EvaluateConfig, ExperimentConfig
from rlgen.core.typed import ConfigError
from rlgen.policies.ppo_checkpoints import (
    CHECKPOINT_JSON,
    MODEL_FILE,
    CheckpointError,
    list_checkpoints,
    save_checkpoint,
    select_checkpoint,
)
from rlgen.policies.ppo_policy import PPOPolicy, build_network
from rlgen.policies.ppo_settings import PPOSettings
from rlgen.policies.ppo_train import train_ppo
from rlgen.policies.registry import check_behaviour, make_behaviour_policy
from rlgen.policies.skill import SkillUnreachableError

TINY = dict(
    game="bigfish", train_levels=2, num_envs=4, rollout_length=32, minibatches=2, epochs=1, channels=(4, 8, 8),
    feature_size=32, eval_levels=2, eval_envs=2, checkpoint_every=1, num_env_runners=0,
)  # fmt: skip


def fake_run(root, train_returns, game="bigfish"):
    """A run folder with one checkpoint per training return (random weights; returns as given)."""
    settings = PPOSettings(**{**TINY, "game": game})
    net = build_network(settings.channels, settings.feature_size)
    levels = [0, 0, 1, 1]
    for i, mean in enumerate(train_returns):
        returns = [mean - 1, mean - 1, mean + 1, mean + 1]  # level 0 below the mean, level 1 above
        record = {
            "env_steps": 1000 * (i + 1), "iteration": i + 1, "settings": settings.to_dict(),
            "train": {"mean_return": mean, "returns": returns, "levels": levels},
            "validation": {"mean_return": mean / 2, "returns": [mean / 2] * 4, "levels": [7, 7, 8, 8]},
        }  # fmt: skip
        save_checkpoint(root, net.state_dict(), record)
    return root


# -- without Ray ----------------------------------------------------------------------------------


def test_nearest_checkpoint_for_a_skill_target(tmp_path):
    run = fake_run(tmp_path / "run", [1.0, 4.0, 7.5, 10.0, 9.0])
    assert [c.env_steps for c in list_checkpoints(run)] == [1000, 2000, 3000, 4000, 5000]
    final = select_checkpoint(run)  # no target: the final checkpoint, its fraction of the best
    assert final.checkpoint.env_steps == 5000 and final.expert.env_steps == 4000 and final.fraction == pytest.approx(0.9, abs=0.05)
    mixed = select_checkpoint(run, 0.75)
    assert mixed.checkpoint.env_steps == 3000 and mixed.fraction == pytest.approx(0.75)
    low, high = mixed.fraction_ci95
    assert low <= 0.75 <= high and high - low > 0  # a level-bootstrap interval, not a point
    assert select_checkpoint(run, 0.45).checkpoint.env_steps == 2000
    assert select_checkpoint(run, 1.0).checkpoint.env_steps == 4000
    stats = mixed.stats()
    assert stats["ppo_skill_target"] == 0.75 and stats["ppo_checkpoint"].endswith("step_3000")
    json.dumps(stats)  # collection writes it into the manifest


def test_unreachable_skill_names_the_closest(tmp_path):
    run = fake_run(tmp_path / "run", [6.0, 8.0, 10.0])
    with pytest.raises(SkillUnreachableError, match=r"skill 0.2 .* closest checkpoint \(step_1000\) reaches 0.600"):
        select_checkpoint(run, 0.2)
    assert select_checkpoint(run, 0.2, tolerance=0.5).checkpoint.env_steps == 1000
    with pytest.raises(SkillUnreachableError, match="reaches 1.000"):
        select_checkpoint(run, 1.5)


def test_missing_checkpoint_is_an_error_before_any_work(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = BehaviourConfig(name="ppo", options={"checkpoint": "checkpoints/ppo/ninja-easy-L10"})
    with pytest.raises(CheckpointError, match="make it with: rlgen policy train-ppo --game ninja --mode easy --train-levels 10"):
        check_behaviour(config, "ninja")
    with pytest.raises(CheckpointError, match="no PPO checkpoint"):
        make_behaviour_policy(config, "ninja", seed=0)
    with pytest.raises(ConfigError, match="needs collect.policy.options.checkpoint"):
        check_behaviour(BehaviourConfig(name="ppo"), "ninja")
    (tmp_path / "empty").mkdir()
    with pytest.raises(CheckpointError, match="no finished PPO checkpoints"):
        select_checkpoint(tmp_path / "empty")
    run = fake_run(tmp_path / "run", [5.0])
    with pytest.raises(ConfigError, match="plays bigfish, not ninja"):
        check_behaviour(BehaviourConfig(name="ppo", options={"checkpoint": str(run)}), "ninja")
    with pytest.raises(ConfigError, match="unknown option"):
        check_behaviour(BehaviourConfig(name="ppo", options={"checkpoint": str(run), "skil": 0.5}), "bigfish")


def test_policy_acts_on_uint8_frames_and_loads_with_weights_only(tmp_path):
    run = fake_run(tmp_path / "run", [3.0, 6.0])
    for step in list_checkpoints(run):
        state = torch.load(step.path / MODEL_FILE, weights_only=True)
        assert all(isinstance(v, torch.Tensor) for v in state.values())
    frames = np.random.default_rng(0).integers(0, 256, (5, 64, 64, 3), dtype=np.uint8)
    policy = make_behaviour_policy(BehaviourConfig(name="ppo", options={"checkpoint": str(run), "skill": 0.5}), "bigfish", seed=3)
    actions = policy.act(frames)
    assert actions.shape == (5,) and actions.dtype == np.int64 and ((0 <= actions) & (actions < 15)).all()
    assert policy.stats["ppo_env_steps"] == 1000
    again = PPOPolicy(list_checkpoints(run)[0].path, seed=3)
    assert (again.act(frames) == actions).all()  # seeded sampling
    greedy = PPOPolicy(list_checkpoints(run)[0].path, greedy=True)
    assert (greedy.act(frames) == greedy.act(frames)).all()
    mixed = make_behaviour_policy(BehaviourConfig(name="ppo", options={"checkpoint": str(run), "mix": 0.5}), "bigfish", seed=0)
    assert type(mixed).__name__ == "EpisodeMixture" and isinstance(mixed.inner, PPOPolicy)


def test_settings_are_checked():
    assert PPOSettings().batch_size == 64 * 256 and PPOSettings().minibatch_size == 2048  # the paper's
    with pytest.raises(ConfigError, match="unknown Procgen game"):
        PPOSettings(game="pong")
    with pytest.raises(ConfigError, match="minibatches"):
        PPOSettings(num_envs=3, rollout_length=3, minibatches=2)
    with pytest.raises(ConfigError, match="ppo.learning_rate"):
        PPOSettings().with_overrides(["learning_rate=1"])
    overridden = PPOSettings().with_overrides(["lr=3e-4", "channels=[8, 16, 16]"])
    assert overridden.channels == (8, 16, 16) and overridden.lr == 3e-4
    assert PPOSettings.from_dict(overridden.to_dict()) == overridden
    with pytest.raises(ConfigError, match="ppo.num_envs"):
        PPOSettings().with_overrides(["num_envs=many"])


def test_online_ppo_reference(tmp_path):
    from rlgen.worlds import world_of

    with pytest.raises(ConfigError, match="ppo_checkpoint is null"):
        EvaluateConfig(references=("random", "ppo"))
    run = fake_run(tmp_path / "run", [2.0, 4.0])
    config = ExperimentConfig().with_overrides(["env.game=bigfish", "evaluate.references=[random, ppo]", f"evaluate.ppo_checkpoint={run}"])
    world = world_of(config)
    assert "ppo" in world.reference_names
    policy = world.reference_policy("ppo", config, seed=0)
    assert isinstance(policy, PPOPolicy) and policy.checkpoint.env_steps == 2000 and not policy.greedy
    maze = ExperimentConfig().with_overrides(["env.game=maze", "evaluate.references=[ppo]", f"evaluate.ppo_checkpoint={run}"])
    with pytest.raises(ConfigError, match="trained on bigfish"):
        world_of(maze).check_reference("ppo", maze)


def test_rerun_with_other_settings_is_refused_before_ray(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / "ppo.json").write_text(json.dumps({"settings": PPOSettings(**TINY).to_dict()}))
    with pytest.raises(ConfigError, match="different settings \\(lr\\)"):
        train_ppo(PPOSettings(**{**TINY, "lr": 1e-3}), out)


# -- the real stack -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_run(ray_local, tmp_path_factory):
    out = tmp_path_factory.mktemp("ppo") / "bigfish-easy-L2"
    lines: list[str] = []
    first = train_ppo(PPOSettings(**TINY, total_env_steps=256), out, log=lines.append)
    resumed = train_ppo(PPOSettings(**TINY, total_env_steps=384), out, log=lines.append)
    return out, first, resumed, lines


@pytest.mark.slow
def test_tiny_ppo_run_writes_checkpoints_and_resumes(tiny_run):
    out, first, resumed, lines = tiny_run
    assert [c.env_steps for c in first] == [128, 256]
    assert [c.env_steps for c in resumed] == [128, 256, 384]
    assert any("resuming from" in line for line in lines) and sum(line.startswith("iter ") for line in lines) == 3
    for c in resumed:
        record = json.loads((c.path / CHECKPOINT_JSON).read_text())
        for split in ("train", "validation"):
            assert record[split]["episodes"] == 2 and len(record[split]["returns"]) == 2
            assert record[split]["mean_return"] == pytest.approx(np.mean(record[split]["returns"]))
        assert set(record["train"]["levels"]) <= {0, 1} and min(record["validation"]["levels"]) >= 1_000_000
        assert record["settings"]["train_levels"] == 2
        net = build_network((4, 8, 8), 32)
        net.load_state_dict(torch.load(c.path / MODEL_FILE, weights_only=True))
    a, b = (torch.load(c.path / MODEL_FILE, weights_only=True) for c in resumed[:2])
    assert any(not torch.equal(a[k], b[k]) for k in a)  # the learner's weights moved between checkpoints
    run = json.loads((out / "ppo.json").read_text())
    assert run["random"]["train"]["episodes"] == 2 and run["resumed_from"] == [256]
    assert not list((out / "checkpoints").glob(".tmp-*"))


@pytest.mark.slow
def test_ppo_behaviour_collects_a_dataset(tiny_run, tmp_path):
    from rlgen.collect import collect_dataset

    out = tiny_run[0]
    config = ExperimentConfig().with_overrides([
        "env.game=bigfish", "levels.train=2", "collect.transitions=300", "collect.shard_transitions=300",
        "collect.envs_per_worker=4", "collect.num_workers=1", "ray.num_cpus=2",
        f"collect.policy={{name: ppo, options: {{checkpoint: {out}, skill: 1.0}}}}",
    ])  # fmt: skip
    dataset = collect_dataset(config, progress=False)
    m = dataset.manifest
    assert m.transitions == 300 and m.behaviour["name"] == "ppo"
    stats = m.shards[0].stats if hasattr(m.shards[0], "stats") else m.shards[0]["stats"]
    assert stats["ppo_skill_target"] == 1.0 and stats["ppo_checkpoint"].startswith(str(out))
