"""The stitching track through the pipeline's own pieces: collection, the audit command, the variant."""

from __future__ import annotations

import json

import numpy as np
import pytest

import rlgen.collect as collect_module
from rlgen.cli import main
from rlgen.core.config import EnvConfig, load_config
from rlgen.data.dataset import load_dataset
from rlgen.data.manifest import DatasetManifest
from rlgen.data.shards import EpisodeData, ShardWriter, file_sha256
from rlgen.experiment import stitch_stage
from rlgen.stitch import Regions
from rlgen.stitch.augment import join_episodes, match_waypoints
from rlgen.stitch.regions import graph_distances
from rlgen.worlds import world_of
from rlgen_envs.stitch_maze import BLOCK_PIXELS, GOAL_COLOUR, MOVES

TINY = [
    "levels.train=3",
    "collect.transitions=2400",
    "collect.shard_transitions=1200",
    "collect.envs_per_worker=8",
    "evaluate.levels_per_split=3",
]


@pytest.fixture(scope="module")
def stitch_run(tmp_path_factory):
    """A tiny stitching dataset and its augmented variant, collected in this process (no Ray)."""
    root = tmp_path_factory.mktemp("stitch")
    config = load_config("configs/stitch.yaml", [*TINY, "env.options.obs_mode=image", f"data_dir={root / 'data'}", f"output_dir={root / 'runs'}"])
    original = collect_module._collect_with_ray
    collect_module._collect_with_ray = lambda config, indices, shard_dir, *a: {
        i: collect_module.collect_shard(config, i, shard_dir) for i in indices
    }
    try:
        dataset = collect_module.collect_dataset(config, progress=False)
    finally:
        collect_module._collect_with_ray = original
    augmented = stitch_stage(config, dataset)
    return config, dataset, augmented


def test_procgen_env_section_is_unchanged():
    assert EnvConfig().spec == {"game": "maze", "mode": "easy"}
    assert load_config("configs/quickstart.yaml").dataset_name == "procgen-maze-easy-L20-maze_planner-20k-s0-v3"


def test_collection_keeps_waypoints_goals_and_the_action_count(stitch_run):
    config, dataset, _ = stitch_run
    assert dataset.manifest.env["kind"] == "stitch_maze" and dataset.num_actions == 5
    episode = next(dataset.episodes())
    assert episode.extras["waypoint"].shape == (episode.length, 3) and episode.extras["goal"].shape == (episode.length, 2)
    assert episode.actions.max() < 5
    assert dataset.to_d3rlpy().dataset_info.action_size == 5
    with dataset.sampler(seed=0, prefetch=0) as sampler:
        assert sampler.dataset_info.action_size == 5
    regions = Regions(2, 2)
    for ep in dataset.episodes():  # region-restricted: every step inside one region
        masks = regions.masks(ep.level_seed)[:, ep.extras["waypoint"][:, 1], ep.extras["waypoint"][:, 2]]
        assert masks.all(axis=1).any()


def test_variant_copies_the_source_and_records_the_transform(stitch_run):
    config, dataset, augmented = stitch_run
    source_shards = {r.name: r.sha256 for r in dataset.manifest.shards}
    for record in augmented.manifest.shards:
        if record.name in source_shards:
            assert record.sha256 == source_shards[record.name] == file_sha256(augmented.shard_path(record.name))
    assert len(augmented.manifest.shards) > len(source_shards)
    meta = augmented.manifest.config
    assert meta["source"] == {"name": dataset.name, "manifest_sha256": dataset.sha256}
    assert meta["transform"]["eps"] == 0.5 and meta["transform"]["match"] == "exact"
    relabelled = augmented.manifest.transitions - dataset.manifest.transitions
    assert abs(relabelled - dataset.manifest.transitions) <= 60  # as many relabelled steps as source steps
    joined, hindsight = meta["joining"]["transitions"], meta["hindsight"]["transitions"]
    assert joined + hindsight == relabelled and abs(joined - 0.5 * dataset.manifest.transitions) <= 60  # eps 0.5 of them joined
    audit = json.loads((config.run_dir / "stitch_audit.json").read_text())
    assert audit["pairs_cooccurring"] == 0 and audit["separated_steps"]["source"] == 0
    assert audit["separated_steps"]["augmented"] > 0


def test_eps_zero_is_the_hindsight_baseline_under_its_own_name(stitch_run, tmp_path):
    """augment.eps 0: the same amount of relabelling, every goal from the same trajectory."""
    from rlgen.stitch.variant import build_augmented_variant, separated_steps

    config, dataset, augmented = stitch_run
    baseline_config = config.with_overrides(["augment.eps=0"])
    assert baseline_config.augmented_dataset_name != config.augmented_dataset_name
    baseline = build_augmented_variant(
        dataset, tmp_path / "hs", baseline_config.augmented_dataset_name, baseline_config.augment, world_of(config).goal_renderer()
    )
    meta = baseline.manifest.config
    assert meta["joining"]["transitions"] == 0 and meta["hindsight"]["transitions"] == baseline.manifest.transitions - dataset.manifest.transitions
    assert abs(baseline.manifest.transitions - augmented.manifest.transitions) <= 60  # matched in size
    assert separated_steps(world_of(config), baseline) == 0  # within one trajectory: never across regions


def test_joined_episodes_are_paths_to_a_later_goal(region_episodes):
    labels, _ = match_waypoints(region_episodes, "exact")
    joined, params = join_episodes(region_episodes, labels, 2000, seed=3)
    assert params["transitions"] >= 2000
    moves = np.array(MOVES)
    for ep in joined:
        w, goal = ep["waypoints"], ep["goals"][0]
        assert (ep["goals"] == goal).all()
        steps = np.abs(np.diff(w[:, 1:], axis=0)).sum(axis=1)
        assert (steps <= 1).all()  # a path the maze can produce
        last = w[-1, 1:] + moves[ep["actions"][-1]]
        walls = graph_distances(int(w[0, 0]), tuple(w[-1, 1:]))[tuple(last)] < 0
        assert walls or tuple(last) == tuple(goal)
        assert not (w[:, 1:] == goal).all(axis=1).any()  # ends at the first arrival
        assert ep["rewards"][-1] == 1 and ep["rewards"][:-1].sum() == 0 and ep["terminated"]
        # the goal comes from B after the matching step, never from before it
        b, u = ep["source"][ep["splice"]] if ep["splice"] < len(w) else ep["source"][-1]
        assert ep["source"][-1, 0] == b and ep["source"][-1, 1] >= u


def test_relabelled_frames_draw_the_new_goal(stitch_run):
    _, dataset, augmented = stitch_run
    source_names = {r.name for r in dataset.manifest.shards}
    b = BLOCK_PIXELS
    for record in augmented.manifest.shards:
        if record.name in source_names:
            continue
        from rlgen.data.shards import ShardReader

        for ep in ShardReader(augmented.shard_path(record.name)).contents().episodes():
            for frame, (r, c) in zip(ep.observations, ep.extras["goal"]):
                assert (frame[r * b : (r + 1) * b, c * b : (c + 1) * b] == GOAL_COLOUR).all()
                assert (frame.reshape(-1, 3) == GOAL_COLOUR).all(axis=1).sum() == b * b  # one goal only
        break


def test_audit_command_passes_then_catches_a_planted_cooccurrence(stitch_run, tmp_path, capsys):
    config, dataset, _ = stitch_run
    assert main(["stitch", "audit", str(dataset.root), "--levels-per-split", "3"]) == 0
    # Plant one trajectory that walks a stitching test pair's start to its goal.
    import shutil

    planted = tmp_path / "planted"
    shutil.copytree(dataset.root, planted)
    world = world_of(config)
    pair = next(p for p in world.pairs(dataset.manifest.levels, ("train",), 3, kinds=("stitch",)))
    dist = graph_distances(pair.level, pair.goal)
    path = [pair.start]
    while path[-1] != pair.goal:
        r, c = path[-1]
        path.append(min(((r + dr, c + dc) for dr, dc in MOVES[1:] if dist[r + dr, c + dc] >= 0), key=lambda x: dist[x]))
    steps = len(path) - 1
    writer = ShardWriter((64, 64, 3))
    writer.add(EpisodeData(
        observations=np.zeros((steps, 64, 64, 3), np.uint8), actions=np.zeros(steps, np.uint8),
        rewards=np.eye(1, steps, steps - 1, dtype=np.float32)[0], level_seed=pair.level, terminated=True, truncated=False,
        level_complete=True,
        extras={"goal": np.tile(np.array(pair.goal, np.int64), (steps, 1)),
                "waypoint": np.array([(pair.level, *p) for p in path[:-1]], np.int64)},
    ))  # fmt: skip
    writer.write(planted / "shards" / "shard-09999.npz")
    manifest = DatasetManifest.read(planted)
    import dataclasses

    from rlgen.collect import record_of_shard

    manifest = dataclasses.replace(manifest, shards=(*manifest.shards, record_of_shard(planted / "shards" / "shard-09999.npz")))
    manifest.write(planted)
    capsys.readouterr()
    assert main(["stitch", "audit", str(planted), "--levels-per-split", "3"]) == 1
    captured = capsys.readouterr()
    assert "FAILED" in captured.err
    assert json.loads(captured.out[: captured.out.rindex("}") + 1])["pairs_cooccurring"] >= 1
    assert load_dataset(planted).manifest.episodes == dataset.manifest.episodes + 1
