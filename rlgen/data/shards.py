"""Shards: complete episodes in one file, frames kept uint8 and compressed in independent chunks.

Format (version 1). A shard is an uncompressed `.npz` (a zip of `.npy` arrays, readable with
`np.load(path, allow_pickle=False)` by anyone) holding:

================  ==============  ======================================================
array             shape, dtype    meaning
================  ==============  ======================================================
format_version    (), int64       1
frame_shape       (3,), int64     (64, 64, 3): frames as the environment emits them (HWC)
chunk_frames      (), int64       frames per compressed chunk (the last may hold fewer)
chunk_offsets     (C+1,), int64   byte offsets of the chunks in `frames_zstd`
frames_zstd       (B,), uint8     zstd-compressed chunks of consecutive uint8 frames
actions           (N,), uint8     action taken after each frame
rewards           (N,), float32   reward of that action
episode_starts    (E+1,), int64   episode e spans transitions [starts[e], starts[e+1])
level_seeds       (E,), int64     Procgen level of each episode
terminated        (E,), bool      the episode ended (death or level complete)
truncated         (E,), bool      it was cut: Procgen's step limit, or the shard's quota
level_complete    (E,), bool      the level was solved
partial           (E,), bool      cut by the shard's quota (its return is not a full return)
================  ==============  ======================================================

N transitions; each episode stores the frame *before* each of its T actions, so T frames. The
frame after the last action does not exist: Procgen resets at once and returns the next
episode's first frame (see `rlgen_envs.procgen`); d3rlpy treats the terminal as absorbing.

Chunks are compressed independently so a random minibatch decodes only the chunks it touches,
and a dataset need not fit in memory as decoded frames. Writing is deterministic (fixed zip
timestamps, fixed compression level): the same episodes give byte-identical shards.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np
import zstandard

from rlgen.data.atomic import atomic_writer
from rlgen.data.errors import DatasetError

FORMAT_VERSION = 1
CHUNK_FRAMES = 64
ZSTD_LEVEL = 3
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
_EPISODE_FIELDS = ("level_seeds", "terminated", "truncated", "level_complete", "partial")


@dataclass(frozen=True)
class EpisodeData:
    """One episode. observations (T, 64, 64, 3) uint8; actions (T,) int; rewards (T,) float32."""

    observations: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    level_seed: int
    terminated: bool
    truncated: bool
    level_complete: bool
    partial: bool = False

    @property
    def length(self) -> int:
        return len(self.actions)

    @property
    def episode_return(self) -> float:
        return float(self.rewards.sum(dtype=np.float64))


@dataclass(frozen=True)
class ShardContents:
    """Episodes of one shard, concatenated (see the module docstring for each array)."""

    observations: np.ndarray  # (N, 64, 64, 3) uint8
    actions: np.ndarray  # (N,) uint8
    rewards: np.ndarray  # (N,) float32
    episode_starts: np.ndarray  # (E+1,) int64
    level_seeds: np.ndarray  # (E,) int64
    terminated: np.ndarray  # (E,) bool
    truncated: np.ndarray  # (E,) bool
    level_complete: np.ndarray  # (E,) bool
    partial: np.ndarray  # (E,) bool

    @classmethod
    def from_episodes(cls, episodes: list[EpisodeData], frames: np.ndarray | None = None) -> ShardContents:
        """Concatenate `episodes`. `frames`, if given, already holds their frames back to back in
        order (collection lays episodes out that way), and is used as it is instead of copied."""
        if not episodes:
            raise ValueError("a shard needs at least one episode")
        for ep in episodes:
            if ep.terminated == ep.truncated:
                raise ValueError("each episode must end exactly one way: terminated or truncated")
            if not (len(ep.observations) == len(ep.actions) == len(ep.rewards) > 0):
                raise ValueError("an episode needs T >= 1 frames, actions and rewards")
        lengths = np.array([ep.length for ep in episodes], dtype=np.int64)
        if frames is None:
            frames = np.concatenate([ep.observations for ep in episodes])
        elif len(frames) != lengths.sum():
            raise ValueError(f"episodes hold {lengths.sum()} transitions but the frame array {len(frames)}")
        return cls(
            observations=frames,
            actions=np.concatenate([ep.actions for ep in episodes]).astype(np.uint8),
            rewards=np.concatenate([ep.rewards for ep in episodes]).astype(np.float32),
            episode_starts=np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64),
            level_seeds=np.array([ep.level_seed for ep in episodes], dtype=np.int64),
            terminated=np.array([ep.terminated for ep in episodes], dtype=bool),
            truncated=np.array([ep.truncated for ep in episodes], dtype=bool),
            level_complete=np.array([ep.level_complete for ep in episodes], dtype=bool),
            partial=np.array([ep.partial for ep in episodes], dtype=bool),
        )

    @property
    def num_transitions(self) -> int:
        return len(self.actions)

    @property
    def num_episodes(self) -> int:
        return len(self.level_seeds)

    @property
    def episode_returns(self) -> np.ndarray:
        """(E,) float64 sums of rewards per episode."""
        sums = np.add.reduceat(self.rewards.astype(np.float64), self.episode_starts[:-1])
        return sums

    @property
    def episode_lengths(self) -> np.ndarray:
        return np.diff(self.episode_starts)

    def episodes(self) -> Iterator[EpisodeData]:
        for e in range(self.num_episodes):
            lo, hi = self.episode_starts[e], self.episode_starts[e + 1]
            yield EpisodeData(
                observations=self.observations[lo:hi],
                actions=self.actions[lo:hi],
                rewards=self.rewards[lo:hi],
                level_seed=int(self.level_seeds[e]),
                terminated=bool(self.terminated[e]),
                truncated=bool(self.truncated[e]),
                level_complete=bool(self.level_complete[e]),
                partial=bool(self.partial[e]),
            )


def write_shard(path: Path, contents: ShardContents) -> str:
    """Write `contents` atomically to `path` and return the file's sha256 (hex)."""
    frames = np.ascontiguousarray(contents.observations, dtype=np.uint8)
    if frames.ndim != 4:
        raise ValueError(f"observations must be (N, H, W, C) uint8 frames, got shape {frames.shape}")
    compressor = zstandard.ZstdCompressor(level=ZSTD_LEVEL)
    chunks = [compressor.compress(frames[i : i + CHUNK_FRAMES].tobytes()) for i in range(0, len(frames), CHUNK_FRAMES)]
    offsets = np.concatenate([[0], np.cumsum([len(c) for c in chunks])]).astype(np.int64)
    arrays = {
        "format_version": np.array(FORMAT_VERSION, dtype=np.int64),
        "frame_shape": np.array(frames.shape[1:], dtype=np.int64),
        "chunk_frames": np.array(CHUNK_FRAMES, dtype=np.int64),
        "chunk_offsets": offsets,
        "frames_zstd": np.frombuffer(b"".join(chunks), dtype=np.uint8),
        "actions": contents.actions.astype(np.uint8),
        "rewards": contents.rewards.astype(np.float32),
        "episode_starts": contents.episode_starts.astype(np.int64),
        **{name: getattr(contents, name) for name in _EPISODE_FIELDS},
    }
    digest = hashlib.sha256()
    with atomic_writer(Path(path)) as f:
        hashing = _HashingWriter(f, digest)
        with zipfile.ZipFile(hashing, "w", compression=zipfile.ZIP_STORED) as zf:
            for name, array in arrays.items():
                info = zipfile.ZipInfo(f"{name}.npy", date_time=_ZIP_EPOCH)
                buf = io.BytesIO()
                np.lib.format.write_array(buf, np.ascontiguousarray(array), allow_pickle=False)
                zf.writestr(info, buf.getvalue())
    return digest.hexdigest()


class ShardReader:
    """Reads one shard lazily: small arrays at once, frames chunk by chunk on demand."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        try:
            with np.load(self.path, allow_pickle=False) as npz:
                arrays = {name: npz[name] for name in npz.files}
        except FileNotFoundError:
            raise DatasetError(f"shard {self.path} is missing; rerun the collection to re-create it") from None
        except Exception as exc:  # zip, npy or pickle errors: all mean an unreadable file
            raise DatasetError(
                f"shard {self.path} cannot be read ({type(exc).__name__}: {exc}); it is corrupt or not a shard: "
                "delete it and rerun the collection to re-create it"
            ) from exc
        missing = {"format_version", "frames_zstd", "chunk_offsets", "actions", "episode_starts", *_EPISODE_FIELDS} - set(
            arrays
        )
        if missing:
            raise DatasetError(f"shard {self.path} lacks arrays {sorted(missing)}; it was not written by rlgen")
        if int(arrays["format_version"]) != FORMAT_VERSION:
            raise DatasetError(
                f"shard {self.path} has format version {int(arrays['format_version'])}, this rlgen reads {FORMAT_VERSION}"
            )
        self._arrays = arrays
        self.frame_shape = tuple(int(x) for x in arrays["frame_shape"])
        self.chunk_frames = int(arrays["chunk_frames"])
        self.num_transitions = len(arrays["actions"])
        n_chunks = len(arrays["chunk_offsets"]) - 1
        if n_chunks != -(-self.num_transitions // self.chunk_frames) or int(arrays["episode_starts"][-1]) != self.num_transitions:
            raise DatasetError(f"shard {self.path} is inconsistent: frame chunks and episode offsets disagree with its actions")

    def decode_chunk(self, chunk: int) -> np.ndarray:
        """Frames of chunk `chunk`: (<= chunk_frames, H, W, C) uint8."""
        offsets = self._arrays["chunk_offsets"]
        raw = zstandard.ZstdDecompressor().decompress(self._arrays["frames_zstd"][offsets[chunk] : offsets[chunk + 1]].tobytes())
        return np.frombuffer(raw, dtype=np.uint8).reshape(-1, *self.frame_shape)

    def frames(self, indices: np.ndarray) -> np.ndarray:
        """Frames at transition `indices`, decoding only the chunks they fall in."""
        indices = np.asarray(indices)
        out = np.empty((len(indices), *self.frame_shape), dtype=np.uint8)
        chunk_of = indices // self.chunk_frames
        for chunk in np.unique(chunk_of):
            sel = chunk_of == chunk
            out[sel] = self.decode_chunk(int(chunk))[indices[sel] - chunk * self.chunk_frames]
        return out

    def contents(self) -> ShardContents:
        """Everything, frames decoded: (N, H, W, C) uint8."""
        n_chunks = len(self._arrays["chunk_offsets"]) - 1
        frames = np.concatenate([self.decode_chunk(c) for c in range(n_chunks)]) if n_chunks else np.empty((0, *self.frame_shape), np.uint8)
        a = self._arrays
        return ShardContents(
            observations=frames,
            actions=a["actions"],
            rewards=a["rewards"],
            episode_starts=a["episode_starts"],
            **{name: a[name] for name in _EPISODE_FIELDS},
        )


def read_shard(path: Path) -> ShardContents:
    return ShardReader(path).contents()


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class _HashingWriter(io.RawIOBase):
    """A write-only stream that hashes what passes through; zipfile needs tell() and a flush()."""

    def __init__(self, f, digest) -> None:
        self._f = f
        self._digest = digest
        self._pos = 0

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self._digest.update(data)
        self._f.write(data)
        self._pos += len(data)
        return len(data)

    def tell(self) -> int:
        return self._pos

    def flush(self) -> None:
        self._f.flush()
