"""The stitching track on datasets: the audit of a collected dataset and its augmented variant on disk.

Why on disk: temporal augmentation (Ghugare et al., 2024) is a transform of the data, not of a
learner, so it produces a dataset like any other (same shard format, a manifest with
checksums) that every learner trains on unchanged, and whose manifest says how it was made:
the transform and its parameters, and the source dataset's name and manifest sha256. The
variant holds the source's shards byte for byte (copied), then as many relabelled transitions
again, so half of its samples carry a relabelled goal, always a later state of a trajectory:
with probability `augment.eps` one reached through a shared waypoint of another trajectory
(`rlgen.stitch.augment.join_episodes`, or `join_reachable` with `augment.join: reachable`),
otherwise one of the same trajectory (`hindsight_episodes`), as the paper's sampler draws a
hindsight goal and swaps it for a joined one with probability eps. `augment.eps: 0` is thus the
fair baseline, within-trajectory hindsight relabelling alone, and `eps` is part of the variant's
name (`-aug0-...` against `-aug0.5-...`), so the two never share a name.

The audit reads every trajectory of a dataset (`step_waypoint` of each episode, plus the goal
a terminated episode reached) and counts, for every stitching test pair, the episodes that hold
both its start and its goal (`rlgen.stitch.audit.audit_cooccurrence`); any such episode is a
leak and the audit fails. It also reports how many test pairs one splice can reach, and, given
the variant, how many the variant actually covers (a step whose state is the pair's start and
whose goal is the pair's goal). Only pairs on training levels can be covered: unseen levels
have no data by design.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Callable, Iterator, Sequence

import numpy as np

from rlgen.core.config import AugmentConfig
from rlgen.core.provenance import provenance
from rlgen.data.dataset import SHARDS_DIR, Dataset, load_dataset
from rlgen.data.manifest import MANIFEST_NAME, DatasetManifest
from rlgen.data.shards import EpisodeData, ShardWriter
from rlgen.data.writer import record_of_shard, shard_name, write_manifest
from rlgen.stitch.audit import AuditReport, audit_cooccurrence, goal_pair_counts
from rlgen.stitch.augment import hindsight_episodes, join_episodes, join_reachable, match_waypoints

__all__ = ["audit_dataset", "build_augmented_variant", "coverage", "trajectories"]

AUGMENTED_SHARD_TRANSITIONS = 25_000


def _episode_mapping(ep: EpisodeData, with_frames: bool = False) -> dict:
    if "waypoint" not in ep.extras or "goal" not in ep.extras:
        raise ValueError("the stitching audit and augmentation need per-step `waypoint` and `goal` arrays in the shards")
    out = {
        "waypoints": np.asarray(ep.extras["waypoint"], np.int64),
        "goals": np.asarray(ep.extras["goal"], np.int64),
        "actions": ep.actions,
        "rewards": ep.rewards,
        "terminated": ep.terminated,
        "truncated": ep.truncated,
        "level_complete": ep.level_complete,
        "level_seed": ep.level_seed,
    }
    if with_frames:
        out["observations"] = ep.observations
    return out


def trajectories(dataset: Dataset) -> Iterator[dict]:
    """Every episode's states as the audit reads them: the stored waypoints, then for a terminated
    episode the goal it reached (the state after its last action, which shards do not store)."""
    for ep in dataset.episodes():
        e = _episode_mapping(ep)
        if ep.terminated:
            final = np.concatenate([e["waypoints"][-1:, :1], e["goals"][-1:]], axis=1)
            e["waypoints"] = np.concatenate([e["waypoints"], final])
        yield e


def audit_dataset(dataset: Dataset, pairs: Sequence, *, strict: bool = True) -> AuditReport:
    """`audit_cooccurrence` over every trajectory of `dataset`; raises `StitchingLeakError` on a leak when `strict`."""
    return audit_cooccurrence(trajectories(dataset), pairs, strict=strict)


def coverage(augmented: Dataset, pairs: Sequence) -> np.ndarray:
    """(pairs,) int64: steps of `augmented` whose state is a pair's start and whose goal is its goal."""
    return goal_pair_counts((_episode_mapping(ep) for ep in augmented.episodes()), pairs)


def build_augmented_variant(source: Dataset, root: Path, name: str, augment: AugmentConfig, render: Callable) -> Dataset:
    """Write the stitching-augmented variant of `source` to `root` (reused when already complete).

    `render(observations, waypoints, old_goals, new_goals) -> observations` redraws a relabelled
    goal in the observations: the world's `goal_renderer()` (`rlgen.worlds.StitchingWorld`),
    which the caller passes, so this module needs no world.

    The whole source is read into memory (frames included): fine for the stitching maze's
    small frames and datasets; larger data would join shard by shard.
    """
    root = Path(root)
    spec = {
        "transform": {"name": "temporal_joining", **_to_plain(augment)},
        "source": {"name": source.name, "manifest_sha256": source.sha256},
    }
    if (root / MANIFEST_NAME).exists():
        existing = load_dataset(root)
        if existing.manifest.config.get("source") == spec["source"] and existing.manifest.config.get("transform") == spec["transform"]:
            return existing
        raise ValueError(f"{root} holds another augmented variant (different source or transform); delete it to rebuild")
    episodes = [_episode_mapping(ep, with_frames=True) for ep in source.episodes()]
    method = "exact" if augment.match == "exact" else "kmeans"
    labels, match_params = match_waypoints(
        episodes, method, feature="waypoints" if augment.feature == "waypoint" else augment.feature,
        num_clusters=augment.num_clusters, seed=augment.seed,
    )
    source_transitions = source.manifest.transitions
    joined_wanted = int(round(source_transitions * augment.eps))
    joined: list[dict] = []
    join_params: dict = {"transitions": 0}
    if joined_wanted:
        if augment.join == "reachable":
            joined, join_params = join_reachable(episodes, joined_wanted, seed=augment.seed, render=render)
        else:
            joined, join_params = join_episodes(
                episodes, labels, joined_wanted, seed=augment.seed, render=render, max_joins=augment.max_joins,
                erase_loops=augment.erase_loops,
            )  # fmt: skip
    hindsight, hindsight_params = hindsight_episodes(
        episodes, source_transitions - join_params["transitions"], seed=augment.seed + 1, render=render, erase_loops=augment.erase_loops,
    )  # fmt: skip
    joined = joined + hindsight

    shard_dir = root / SHARDS_DIR
    if root.exists():
        shutil.rmtree(root)  # an unfinished variant (no manifest): rebuild from scratch
    shard_dir.mkdir(parents=True)
    records = []
    for record in source.manifest.shards:
        shutil.copyfile(source.shard_path(record.name), shard_dir / record.name)
        records.append(record)
    index = len(records)
    frame_shape = tuple(episodes[0]["observations"].shape[1:])
    writer, count = ShardWriter(frame_shape), 0
    for k, ep in enumerate(joined):
        writer.add(EpisodeData(
            observations=ep["observations"], actions=ep["actions"].astype(np.uint8), rewards=ep["rewards"].astype(np.float32),
            level_seed=ep["level_seed"], terminated=True, truncated=False, level_complete=True,
            extras={"goal": ep["goals"].astype(np.int64), "waypoint": ep["waypoints"].astype(np.int64)},
        ))  # fmt: skip
        count += len(ep["actions"])
        if count >= AUGMENTED_SHARD_TRANSITIONS or k == len(joined) - 1:
            path = shard_dir / shard_name(index)
            writer.write(path)
            records.append(record_of_shard(path, {"augmented": True}))
            writer, count, index = ShardWriter(frame_shape), 0, index + 1
    manifest = DatasetManifest(
        name=name,
        env=source.manifest.env,
        levels=source.manifest.levels,
        behaviour={**source.manifest.behaviour, "augmented": True},
        shards=tuple(records),
        seed=augment.seed,
        config={
            **spec, "matching": match_params, "joining": join_params, "hindsight": hindsight_params,
            "source_config": source.manifest.config,
        },
        provenance=provenance(),
    )
    write_manifest(root, manifest)
    return load_dataset(root)


def _to_plain(augment: AugmentConfig) -> dict:
    from rlgen.core.typed import to_dict

    return json.loads(json.dumps(to_dict(augment)))


def audit_summary(world, split, splits: Sequence[str], levels_per_split: int | None, dataset: Dataset,
                  augmented: Dataset | None = None, *, strict: bool = True) -> dict:
    """The audit of `dataset` against `world`'s stitching test pairs, as plain numbers.

    Raises `StitchingLeakError` when a test pair co-occurs (and `strict`). `coverage_*` counts
    are over the pairs on training levels, the only ones data can cover; with `augmented`,
    `covered_after_augmentation` is how many of them the variant holds as (state, goal) steps.
    """
    pairs = world.pairs(split, splits, levels_per_split, kinds=("stitch",))
    report = audit_dataset(dataset, pairs, strict=strict)
    on_train = np.array([p.split == "train" for p in pairs], dtype=bool)
    summary = {
        **report.summary(),
        "structure": world.structure_params,
        "pairs_per_split": {s: int(sum(p.split == s for p in pairs)) for s in splits},
        "train_level_pairs": int(on_train.sum()),
        "train_level_pairs_start_and_goal_seen": int((report.start_seen & report.goal_seen & on_train).sum()),
        "train_level_pairs_reachable_by_one_splice": int((report.reachable_by_one_splice & on_train).sum()),
    }
    if augmented is not None:
        counts = coverage(augmented, pairs)
        summary["augmented_dataset"] = augmented.name
        summary["train_level_pairs_covered_after_augmentation"] = int(((counts > 0) & on_train).sum())
        summary["augmented_steps_on_test_pairs"] = int(counts.sum())
        summary["separated_steps"] = {"source": separated_steps(world, dataset), "augmented": separated_steps(world, augmented)}
    return summary


def separated_steps(world, dataset: Dataset) -> int:
    """Steps whose state and goal no restricted trajectory joins (`structure.separated`): the kind
    of (state, goal) example a stitching test pair asks for. The collected data has none by
    construction; an augmented variant's count says how much stitching data augmentation made,
    whether or not it hit the few exact test pairs."""
    total = 0
    for ep in dataset.episodes():
        w, g = ep.extras["waypoint"], ep.extras["goal"]
        total += sum(world.structure.separated(int(l), (int(r), int(c)), (int(gr), int(gc))) for (l, r, c), (gr, gc) in zip(w, g))
    return int(total)
