"""Collection on real Procgen, in-process and through real Ray actors."""

import json

import numpy as np
import pytest

from rlgen.collect import collect_dataset, collect_shard, shard_name
from rlgen.data.dataset import load_dataset
from rlgen.data.errors import DatasetError
from rlgen.data.manifest import DatasetManifest, distinct_by_level, diversity_section, frame_diversity, union_by_level
from rlgen.data.shards import frame_digests, read_shard
from rlgen_envs import episode_step_limit


THREE_SHARDS = {"collect.transitions": 1500, "collect.shard_transitions": 600}
"""Two full shards and a remainder."""


def test_shard_is_exact_complete_and_deterministic(tmp_path, tiny_config):
    config = tiny_config(**THREE_SHARDS)
    (tmp_path / "a").mkdir()
    record = collect_shard(config, 1, tmp_path / "a")
    again = collect_shard(config, 1, tmp_path)
    assert record.sha256 == again.sha256
    assert record.transitions == 600
    contents = read_shard(tmp_path / shard_name(1))
    assert set(contents.level_seeds) <= set(range(5))
    limit = episode_step_limit("maze")
    for ep in contents.episodes():
        if ep.partial:
            assert ep.truncated
        elif ep.truncated:
            assert ep.length == limit and not ep.level_complete
        else:
            assert ep.terminated
    # Finished episodes first, then the (at most one per env slot) episodes open at the end.
    cut = int(contents.partial.sum())
    assert 1 <= cut <= config.collect.envs_per_worker
    assert contents.partial[-cut:].all() and not contents.partial[:-cut].any()
    other = collect_shard(config, 2, tmp_path)
    assert other.sha256 != record.sha256  # shards are seeded apart


def test_planner_collects_expert_episodes(tmp_path, tiny_config):
    config = tiny_config(**{"collect.policy": "{name: maze_planner}"})
    record = collect_shard(config, 0, tmp_path)
    full = [r for r, p in zip(record.returns, record.partial) if not p]
    assert full and all(r == 10.0 for r in full)
    assert record.stats["seconds"] > 0


def test_collect_with_ray_resume_and_corruption(ray_local, tmp_path, tiny_config):
    config = tiny_config(**THREE_SHARDS)
    dataset = collect_dataset(config, progress=False)
    manifest = dataset.manifest
    assert manifest.transitions == 1500 and len(manifest.shards) == 3
    assert [s.transitions for s in manifest.shards] == [600, 600, 300]
    assert manifest.levels.train.count == 5
    assert manifest.behaviour["name"] == "random" and manifest.behaviour["skill"]["episodes"] > 0
    assert "numpy" in manifest.provenance["packages"]
    hashes = [s.sha256 for s in manifest.shards]
    # Distinct frames: the union of what the actors returned equals a count over every frame on disk.
    diversity = frame_diversity(manifest)
    frames = np.concatenate([read_shard(dataset.shard_path(s.name)).observations for s in manifest.shards])
    levels = np.concatenate([np.repeat(s.level_seeds, s.lengths) for s in manifest.shards])
    flat = frames.reshape(len(frames), -1)
    assert diversity["distinct_frames"] == len(np.unique(flat, axis=0))
    assert diversity["per_level"] == {str(k): len(np.unique(flat[levels == k], axis=0)) for k in np.unique(levels)}
    assert diversity["levels"] == len(np.unique(levels)) and diversity["transitions"] == 1500
    assert diversity["distinct_frames_per_1k_transitions"] == round(diversity["distinct_frames"] / 1.5, 3)

    # Interrupted run: the manifest never got written and one shard is missing; a stray
    # temporary file lies beside the others. Rerunning completes it with identical bytes.
    root = dataset.root
    (root / "manifest.json").unlink()
    (root / "shards" / shard_name(1)).unlink()
    (root / "shards" / ".tmp-shard-00001.npz.123.abc").write_bytes(b"partial")
    with pytest.warns(UserWarning, match="temporary"):
        resumed = collect_dataset(config, progress=False)
    assert [s.sha256 for s in resumed.manifest.shards] == hashes
    assert frame_diversity(resumed.manifest) == diversity  # resumed shards are recounted from their files
    assert not list((root / "shards").glob(".tmp-*"))

    # A corrupt shard is named on load, with what to do.
    shard = root / "shards" / shard_name(2)
    data = bytearray(shard.read_bytes())
    data[-100] ^= 0xFF
    shard.write_bytes(bytes(data))
    with pytest.raises(DatasetError, match=r"shard-00002.npz is corrupt.*rerun"):
        load_dataset(root)

    # The same folder with a different collection config is refused.
    with pytest.raises(DatasetError, match="different config"):
        bad = tiny_config(**THREE_SHARDS, **{"collect.envs_per_worker": 8})
        (root / "collect.json").write_text(json.dumps({"other": 1}))
        collect_dataset(bad, progress=False)


def test_dataset_to_d3rlpy(ray_local, tiny_config):
    dataset = collect_dataset(tiny_config(), progress=False)
    buffer = dataset.to_d3rlpy()
    assert buffer.dataset_info.action_size == 15
    episode = buffer.episodes[0]
    assert episode.observations.shape[1:] == (3, 64, 64) and episode.observations.dtype == np.uint8
    n_terminal = sum(ep.terminated for ep in buffer.episodes)
    assert n_terminal == sum(1 for ep in dataset.episodes() if ep.terminated)


def test_distinct_frames_union_across_shards_and_levels():
    frames = np.zeros((6, 2, 2, 3), np.uint8)
    frames[1] = frames[4] = 7  # the same frame on level 3 (episode 0) and level 5 (episode 1)
    frames[2] = 9
    digests = frame_digests(frames)
    assert digests.dtype == np.uint64 and len(np.unique(digests)) == 3
    first = distinct_by_level(digests, level_seeds=[3, 5], lengths=[3, 3])
    assert {k: len(v) for k, v in first.items()} == {3: 3, 5: 2}
    second = distinct_by_level(frame_digests(np.full((2, 2, 2, 3), 9, np.uint8)), level_seeds=[5, 8], lengths=[1, 1])
    union = union_by_level([first, second])
    assert {k: len(v) for k, v in union.items()} == {3: 3, 5: 3, 8: 1}
    section = diversity_section(union, transitions=8)
    assert section["distinct_frames"] == 3  # a frame on several levels counts once
    assert section["distinct_frames_per_level"] == {"mean": round(7 / 3, 2), "min": 1, "max": 3}
    assert section["distinct_frames_per_1k_transitions"] == 375.0 and section["levels"] == 3
    with pytest.raises(ValueError, match="6 frame digests"):
        distinct_by_level(digests, level_seeds=[3], lengths=[5])


def test_manifest_without_diversity_loads_as_unknown(tmp_path, tiny_config):
    shard = {"name": "shard-00000.npz", "sha256": "0" * 64, "episodes": 1, "transitions": 2,
             "level_seeds": [0], "returns": [0.0], "lengths": [2], "partial": [False]}  # fmt: skip
    old = {
        "name": "old", "format_version": 1, "env": {"game": "maze", "mode": "easy"},
        "levels": tiny_config().levels.split.to_dict(), "behaviour": {"name": "random"}, "seed": 0,
        "transitions": 2, "episodes": 1, "shards": [shard], "config": {}, "provenance": {},
    }  # fmt: skip
    (tmp_path / "manifest.json").write_text(json.dumps(old))
    manifest = DatasetManifest.read(tmp_path)
    assert manifest.diversity is None and frame_diversity(manifest) is None and frame_diversity(tmp_path) is None
    assert "diversity" not in manifest.to_dict()  # rewritten, it stays as it was
    assert frame_diversity({**old, "diversity": {"distinct_frames": 2}}) == {"distinct_frames": 2}
