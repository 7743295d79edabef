"""Writing a dataset's shards: their names and the manifest entry of each; and its manifest and card.

Why in data: collection (`rlgen.collect`) and the datasets derived from others (the stitching
track's augmented variants, `rlgen.stitch.variant`) write shards the same way and describe them
in the manifest the same way; both use this module rather than one reaching into the other.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rlgen.data.card import write_card
from rlgen.data.manifest import DatasetManifest, ShardRecord, distinct_by_level
from rlgen.data.shards import ShardReader, file_sha256

__all__ = ["record_of_shard", "shard_name", "shard_record", "write_manifest"]


def shard_name(index: int) -> str:
    """The file name of shard `index`: zero-padded, so names sort in shard order."""
    return f"shard-{index:05d}.npz"


def record_of_shard(path: Path, stats: dict | None = None, digests: bool = False, sha256: str | None = None) -> ShardRecord:
    """The manifest entry of a shard on disk: its checksum and its per-episode arrays (no frame is
    decoded), and with `digests` its distinct frames per level (every frame decoded and hashed,
    which checks every chunk's zstd checksum). `sha256`, when the caller has just checked it,
    saves hashing the file again."""
    path = Path(path)
    reader = ShardReader(path)
    return shard_record(path.name, sha256 or file_sha256(path), reader.episode_arrays(), stats, reader.frame_digests() if digests else None)


def shard_record(
    name: str, sha256: str, episodes: dict[str, np.ndarray], stats: dict | None = None, digests: np.ndarray | None = None
) -> ShardRecord:
    """A manifest entry from a shard's per-episode arrays (`ShardWriter` / `ShardReader.episode_arrays`)
    and, when given, its frames' digests in transition order (grouped into distinct ones per level)."""
    return ShardRecord(
        name=name,
        sha256=sha256,
        episodes=len(episodes["level_seeds"]),
        transitions=int(np.sum(episodes["lengths"])),
        level_seeds=tuple(int(x) for x in episodes["level_seeds"]),
        returns=tuple(float(x) for x in episodes["returns"]),
        lengths=tuple(int(x) for x in episodes["lengths"]),
        partial=tuple(bool(x) for x in episodes["partial"]),
        stats=stats or {},
        frame_digests=None if digests is None else distinct_by_level(digests, episodes["level_seeds"], episodes["lengths"]),
    )


def write_manifest(folder: Path, manifest: DatasetManifest) -> str:
    """Finish a dataset: write `folder/manifest.json`, then its card (`rlgen.data.card`), each
    atomically; returns the manifest's sha256. Every writer of a dataset ends here, so every
    dataset folder gets its card."""
    sha256 = manifest.write(folder)
    write_card(folder, manifest)
    return sha256
