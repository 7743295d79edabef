"""The dataset manifest: what the data is, how it was made, and a checksum for every shard.

`manifest.json` sits at the root of a dataset folder. It lists each shard's file name, sha256,
episode and transition counts, level seeds and returns; the config and seed that produced the
data; the level split (train levels are the data's; validation and test are the fixed unseen
blocks it must never be evaluated as "train" on); the behaviour policy with its *measured*
skill; package versions and the git revision. Results cite a dataset by the sha256 of this file.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rlgen.core.levels import LevelSplit
from rlgen.data.atomic import atomic_write_bytes
from rlgen.data.errors import DatasetError

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

    @classmethod
    def from_dict(cls, data: dict) -> ShardRecord:
        return cls(
            name=data["name"],
            sha256=data["sha256"],
            episodes=int(data["episodes"]),
            transitions=int(data["transitions"]),
            level_seeds=tuple(int(x) for x in data["level_seeds"]),
            returns=tuple(float(x) for x in data["returns"]),
            lengths=tuple(int(x) for x in data["lengths"]),
            partial=tuple(bool(x) for x in data["partial"]),
            stats=dict(data.get("stats", {})),
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
            return cls(
                name=data["name"],
                format_version=int(data["format_version"]),
                env=dict(data["env"]),
                levels=LevelSplit.from_dict(data["levels"]),
                behaviour=dict(data["behaviour"]),
                shards=tuple(ShardRecord.from_dict(s) for s in data["shards"]),
                seed=int(data["seed"]),
                config=dict(data["config"]),
                provenance=dict(data["provenance"]),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise DatasetError(f"{path} is not a valid rlgen manifest ({type(exc).__name__}: {exc})") from exc


def manifest_sha256(folder: Path) -> str:
    return hashlib.sha256((Path(folder) / MANIFEST_NAME).read_bytes()).hexdigest()
