"""The dataset manifest: what the data is, how it was made, and a checksum for every shard.

`manifest.json` sits at the root of a dataset folder. It lists each shard's file name, sha256,
episode and transition counts, level seeds and returns; the config and seed that produced the
data; the level split (train levels are the data's; validation and test are the fixed unseen
blocks it must never be evaluated as "train" on); the behaviour policy with its *measured*
skill; package versions and the git revision. Results cite a dataset by the sha256 of this file.

It also records how much the data varies: `diversity`, the distinct observations per training
level and per 1,000 transitions (`diversity_section`, read back with `frame_diversity`). A
deterministic expert repeats one path per level, so more transitions from the same levels can
hold no new frame at all; this section is where that shows. Manifests written before it have
none (`frame_diversity` gives None: unknown).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

import numpy as np

from rlgen.core.levels import LevelSplit
from rlgen.data.atomic import atomic_write_bytes
from rlgen.data.errors import DatasetError
from rlgen.data.names import check_name, check_shard_name, unique_names

MANIFEST_NAME = "manifest.json"


@dataclass(frozen=True)
class ShardRecord:
    """One shard as the manifest lists it; the collecting actor returns this, not the data."""

    name: str  # file name relative to the dataset's shards/ folder
    sha256: str
    episodes: int
    transitions: int
    level_seeds: tuple[int, ...]
    returns: tuple[float, ...]
    lengths: tuple[int, ...]
    partial: tuple[bool, ...]  # episodes cut by the shard quota (their returns are not full returns)
    stats: dict = field(default_factory=dict)  # collection cost: seconds, planner expansions, ...
    frame_digests: Mapping[int, np.ndarray] | None = field(default=None, compare=False, repr=False)
    """Per level seed, the sorted distinct `rlgen.data.shards.frame_digests` of this shard's frames.
    In transit only (actor -> driver, which unions them into the manifest's `diversity`); never
    written to the manifest, so None in every record read from one."""

    @classmethod
    def from_dict(cls, data: dict, where: str | Path | None = None) -> ShardRecord:
        """The record as a manifest lists it; its name must be a shard file name and its counts
        must agree with its per-episode lists (`check`), since `verify` compares those lists,
        not the counts, against the shard."""
        record = cls(
            name=check_shard_name(data["name"], where),
            sha256=data["sha256"],
            episodes=int(data["episodes"]),
            transitions=int(data["transitions"]),
            level_seeds=tuple(int(x) for x in data["level_seeds"]),
            returns=tuple(float(x) for x in data["returns"]),
            lengths=tuple(int(x) for x in data["lengths"]),
            partial=tuple(bool(x) for x in data["partial"]),
            stats=dict(data.get("stats", {})),
        )
        record.check(where)
        return record

    def check(self, where: str | Path | None = None) -> None:
        """Refuse a record whose counts disagree with its own lists (an edited manifest)."""
        n = self.episodes
        if not (len(self.level_seeds) == len(self.returns) == len(self.lengths) == len(self.partial) == n) or n < 1:
            raise DatasetError(
                f"{where or self.name}: shard {self.name} lists {n} episodes but {len(self.level_seeds)} level seeds, "
                f"{len(self.returns)} returns, {len(self.lengths)} lengths and {len(self.partial)} partial flags; "
                "the manifest was edited: restore it from the dataset's source"
            )
        if sum(self.lengths) != self.transitions or min(self.lengths) < 1:
            raise DatasetError(
                f"{where or self.name}: shard {self.name} lists {self.transitions} transitions but its episode lengths "
                f"sum to {sum(self.lengths)}; the manifest was edited: restore it from the dataset's source"
            )

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "sha256": self.sha256,
            "episodes": self.episodes,
            "transitions": self.transitions,
            "level_seeds": list(self.level_seeds),
            "returns": list(self.returns),
            "lengths": list(self.lengths),
            "partial": list(self.partial),
            "stats": self.stats,
        }


@dataclass(frozen=True)
class DatasetManifest:
    name: str
    env: dict  # Procgen: {"game", "mode"}; other worlds: {"kind", "options", "num_actions", ...} (rlgen.worlds)
    levels: LevelSplit
    behaviour: dict  # the behaviour-policy config, plus its measured skill under "skill"
    shards: tuple[ShardRecord, ...]
    seed: int
    config: dict  # the resolved collection config
    provenance: dict  # package versions, git revision, host
    format_version: int = 1
    diversity: dict | None = None
    """`diversity_section` of the data; None when unknown (manifests written before it, imports)."""

    @property
    def transitions(self) -> int:
        return sum(s.transitions for s in self.shards)

    @property
    def episodes(self) -> int:
        return sum(s.episodes for s in self.shards)

    @property
    def game(self) -> str:
        """Procgen's game; another environment's kind (e.g. `stitch_maze`)."""
        return self.env.get("game", self.env.get("kind", ""))

    @property
    def mode(self) -> str:
        return self.env.get("mode", "")

    @property
    def num_actions(self) -> int:
        """The environment's discrete action count: recorded by non-Procgen worlds, else Procgen's 15."""
        from rlgen.core.games import NUM_ACTIONS

        return int(self.env.get("num_actions", NUM_ACTIONS))

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "format_version": self.format_version,
            "env": self.env,
            "levels": self.levels.to_dict(),
            "behaviour": self.behaviour,
            "seed": self.seed,
            "transitions": self.transitions,
            "episodes": self.episodes,
            **({"diversity": self.diversity} if self.diversity is not None else {}),
            "shards": [s.to_dict() for s in self.shards],
            "config": self.config,
            "provenance": self.provenance,
        }

    def to_json(self) -> bytes:
        return (json.dumps(self.to_dict(), indent=1, sort_keys=False) + "\n").encode()

    def write(self, folder: Path) -> str:
        """Write atomically to folder/manifest.json; returns the manifest's sha256."""
        data = self.to_json()
        atomic_write_bytes(Path(folder) / MANIFEST_NAME, data)
        return hashlib.sha256(data).hexdigest()

    @classmethod
    def read(cls, folder: Path) -> DatasetManifest:
        path = Path(folder) / MANIFEST_NAME
        if not path.exists():
            raise DatasetError(
                f"{path} does not exist: {folder} is not a finished dataset "
                "(run `rlgen collect CONFIG` to build or resume it)"
            )
        try:
            data = json.loads(path.read_text())
        except (ValueError, UnicodeDecodeError) as exc:
            raise DatasetError(f"{path} is not a valid rlgen manifest ({type(exc).__name__}: {exc})") from exc
        return cls.from_dict(data, path)

    @classmethod
    def from_dict(cls, data: dict, where: str | Path) -> DatasetManifest:
        """A manifest from its `to_dict()` form, read from `where` (a manifest.json, or a Minari
        metadata.json carrying one) and checked as untrusted input: a safe dataset name, shard
        file names listed once each, per-shard counts that agree with their episode lists, and
        top-level totals that agree with the shards. Anything else is a `DatasetError`."""
        try:
            manifest = cls(
                name=check_name(data["name"], "dataset", where),
                format_version=int(data["format_version"]),
                env=dict(data["env"]),
                levels=LevelSplit.from_dict(data["levels"]),
                behaviour=dict(data["behaviour"]),
                shards=tuple(ShardRecord.from_dict(s, where) for s in data["shards"]),
                seed=int(data["seed"]),
                config=dict(data["config"]),
                provenance=dict(data["provenance"]),
                diversity=dict(data["diversity"]) if data.get("diversity") is not None else None,
            )
        except DatasetError:
            raise
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise DatasetError(f"{where} is not a valid rlgen manifest ({type(exc).__name__}: {exc})") from exc
        unique_names([s.name for s in manifest.shards], "shard", where)
        for key in ("transitions", "episodes"):
            if key in data and data[key] != getattr(manifest, key):
                raise DatasetError(
                    f"{where}: says {data[key]!r} {key} but its shards list {getattr(manifest, key)}; "
                    "the manifest was edited: restore it from the dataset's source"
                )
        return manifest


def manifest_sha256(folder: Path) -> str:
    return hashlib.sha256((Path(folder) / MANIFEST_NAME).read_bytes()).hexdigest()


# --------------------------------------------------------------------------------------------
# Distinct frames: the numbers' one definition

DIGEST_NAME = "blake2b-64 of each observation's bytes"


def distinct_by_level(digests: np.ndarray, level_seeds: np.ndarray, lengths: np.ndarray) -> dict[int, np.ndarray]:
    """Per level seed, the sorted distinct digests among `digests` (one per transition, in order)
    of the episodes `level_seeds` / `lengths` delimit (a shard's per-episode arrays)."""
    digests = np.asarray(digests, dtype=np.uint64)
    lengths = np.asarray(lengths, dtype=np.int64)
    if len(digests) != int(lengths.sum()):
        raise ValueError(f"{len(digests)} frame digests for episodes of {int(lengths.sum())} transitions")
    levels = np.repeat(np.asarray(level_seeds, dtype=np.int64), lengths)
    return {int(level): np.unique(digests[levels == level]) for level in np.unique(levels)}


def union_by_level(parts: Iterable[Mapping[int, np.ndarray]]) -> dict[int, np.ndarray]:
    """The per-level union of several shards' `distinct_by_level` (sorted distinct digests)."""
    grouped: dict[int, list[np.ndarray]] = {}
    for part in parts:
        for level, digests in part.items():
            grouped.setdefault(int(level), []).append(np.asarray(digests, dtype=np.uint64))
    return {level: np.unique(np.concatenate(arrays)) for level, arrays in sorted(grouped.items())}


def diversity_section(by_level: Mapping[int, np.ndarray], transitions: int) -> dict:
    """The manifest's `diversity`: distinct frames over the dataset, per level (over the levels that
    appear in the data) and per 1,000 transitions, with each level's count.

    `distinct_frames` counts a frame seen on two levels once (Procgen levels rarely share one).
    `distinct_frames_per_1k_transitions` is the figure to compare across sizes: a deterministic
    expert's grows no further once every level's path is in, so doubling the transitions halves it.
    """
    counts = {int(level): int(len(d)) for level, d in sorted(by_level.items())}
    everything = np.concatenate([np.asarray(d, dtype=np.uint64) for d in by_level.values()]) if by_level else np.zeros(0, np.uint64)
    total = int(len(np.unique(everything)))
    values = np.array(list(counts.values()) or [0])
    return {
        "distinct_frames": total,
        "distinct_frames_per_level": {"mean": round(float(values.mean()), 2), "min": int(values.min()), "max": int(values.max())},
        "distinct_frames_per_1k_transitions": round(1000.0 * total / transitions, 3) if transitions else 0.0,
        "levels": len(counts),
        "transitions": int(transitions),
        "digest": DIGEST_NAME,
        "per_level": {str(level): n for level, n in counts.items()},
    }


def frame_diversity(manifest: DatasetManifest | dict | str | Path) -> dict | None:
    """The dataset's `diversity_section`, or None when its manifest predates it (unknown).

    Takes a manifest, its `to_dict()` / JSON data, or a dataset folder. Reports and sweeps read
    the numbers here instead of from the JSON, so their definition stays in this module.
    """
    if isinstance(manifest, (str, Path)):
        manifest = DatasetManifest.read(Path(manifest))
    section = manifest.diversity if isinstance(manifest, DatasetManifest) else manifest.get("diversity")
    if not section or "distinct_frames" not in section:
        return None
    return dict(section)


def describe_diversity(section: dict | None) -> str:
    """One line for people: `352 distinct frames (17.6 per level, 17.6 per 1k transitions)`."""
    if section is None:
        return "distinct frames unknown (not counted when this dataset was written: an older manifest, or an import)"
    per_level = section["distinct_frames_per_level"]
    return (
        f"{section['distinct_frames']:,} distinct frames ({per_level['mean']:.1f} per level, min {per_level['min']}, "
        f"max {per_level['max']}; {section['distinct_frames_per_1k_transitions']:.1f} per 1k transitions)"
    )
