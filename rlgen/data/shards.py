"""Shards: complete episodes in one file, frames kept uint8 and compressed in independent chunks.

Format (version 1), specified for readers in any language in FORMAT.md at the repository's root
(every array with its dtype and shape, the chunking, the checksums); `rlgen.data.reference_reader`
is that specification as code. In short: a shard is an uncompressed `.npz` (a zip of `.npy`
arrays, readable with `np.load(path, allow_pickle=False)` by anyone) holding the frames as
independently zstd-compressed chunks of 64 (`frames_zstd`, `chunk_offsets`), the per-step
`actions` (uint8) and `rewards` (float32), the episode bounds (`episode_starts`), the per-episode
`level_seeds`, `terminated`, `truncated`, `level_complete` and `partial` flags, and optional
per-step `step_<name>` arrays the environment adds (the stitching maze's waypoint keys and goals).
The scalars (`format_version`, `chunk_frames`) are stored as arrays of shape (1,).

N transitions; each episode stores the frame *before* each of its T actions, so T frames. The
frame after the last action does not exist: Procgen resets at once and returns the next
episode's first frame (see `rlgen_envs.procgen`); d3rlpy treats the terminal as absorbing.

Chunks are compressed independently so a random minibatch decodes only the chunks it touches,
and a dataset need not fit in memory as decoded frames. Writing is deterministic (fixed zip
timestamps, fixed compression level, `ZSTD_LEVEL`): the same episodes give byte-identical shards.

Integrity. Each zstd chunk carries its content checksum (XXH64 of the decoded bytes), which the
decompressor checks on every decode: without it, most single-bit flips in a compressed chunk
decoded silently to other pixels. Shards written before the checksums were added have frames
without them and still load (zstd checks a checksum only where a frame carries one). The writer
also returns the sha256 of the bytes as they went to disk, computed while writing; a collection
keeps it beside the shard (`DIGEST_SUFFIX`, in `sha256sum` format) so that a resumed collection
checks each shard against what its writer wrote, not against a hash of the file as it is now.
"""

from __future__ import annotations

import hashlib
import io
import os
import struct
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np
import zstandard

from rlgen.data.atomic import atomic_write_bytes, atomic_writer
from rlgen.data.errors import DatasetError

FORMAT_VERSION = 1
CHUNK_FRAMES = 64
ZSTD_LEVEL = 1
"""Level 1, not zstd's default 3: measured on 12,800 random-play frames per game, level 1 compresses
maze / bigfish frames 1.7x faster and coinrun's 1.1x, for 3-7% more bytes; compression runs on the
collection's critical path (2 saturated cores leave nothing to overlap it with)."""
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
_EPISODE_FIELDS = ("level_seeds", "terminated", "truncated", "level_complete", "partial")
STEP_EXTRA_PREFIX = "step_"
REPAIR_ADVICE = (
    "delete it and rerun the command that built the dataset (`rlgen collect CONFIG` or `rlgen datasets build NAME`): "
    "it collects the shard again and keeps it only if it is the one the manifest lists"
)
"""What to do about a damaged collected shard; `rlgen.collect` makes it work with the manifest in place."""
DIGEST_SUFFIX = ".sha256"
"""`shard-00001.npz.sha256` beside a shard holds the sha256 its writer computed while writing it,
as `sha256sum` writes it (`<hex>  shard-00001.npz`), so `sha256sum -c` checks it too."""


def _check_extras(extras: dict[str, np.ndarray], steps: int, where: str) -> None:
    for name, array in extras.items():
        if not name.isidentifier():
            raise ValueError(f"{where}: extra {name!r} must be an identifier (it becomes a file name in the shard)")
        if array.dtype.hasobject or len(array) != steps:
            raise ValueError(f"{where}: extra {name!r} must be a numeric array with one row per step ({steps}), got {array.dtype} {array.shape}")


def _episode_returns(rewards: np.ndarray, episode_starts: np.ndarray) -> np.ndarray:
    """(E,) float64 sums of `rewards` over the episodes `episode_starts` (E+1,) delimits."""
    if len(episode_starts) < 2:
        return np.zeros(0)
    return np.add.reduceat(rewards.astype(np.float64), episode_starts[:-1])


def _check_episode(episode: EpisodeData, extras: set[str]) -> None:
    if episode.terminated == episode.truncated:
        raise ValueError("each episode must end exactly one way: terminated or truncated")
    if not (len(episode.observations) == len(episode.actions) == len(episode.rewards) > 0):
        raise ValueError("an episode needs T >= 1 frames, actions and rewards")
    if set(episode.extras) != extras:
        raise ValueError(f"every episode needs the same extras; got {sorted(episode.extras)} and {sorted(extras)}")
    _check_extras(episode.extras, episode.length, "episode")


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
    extras: dict[str, np.ndarray] = field(default_factory=dict)
    """Per-step arrays the environment adds, (T, ...) each (see the module docstring)."""

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
    extras: dict[str, np.ndarray] = field(default_factory=dict)  # name -> (N, ...)

    @classmethod
    def from_episodes(cls, episodes: list[EpisodeData], frames: np.ndarray | None = None) -> ShardContents:
        """Concatenate `episodes`. `frames`, if given, already holds their frames back to back in
        order (collection lays episodes out that way), and is used as it is instead of copied."""
        if not episodes:
            raise ValueError("a shard needs at least one episode")
        names = set(episodes[0].extras)
        for ep in episodes:
            _check_episode(ep, names)
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
            extras={name: np.concatenate([ep.extras[name] for ep in episodes]) for name in sorted(names)},
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
        return _episode_returns(self.rewards, self.episode_starts)

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
                extras={name: array[lo:hi] for name, array in self.extras.items()},
            )


class ShardWriter:
    """Builds a shard episode by episode, compressing its frames chunk by chunk as they arrive.

    Collection hands each episode over as it ends; frames go into a 64-frame staging buffer
    that is compressed whenever it fills, so a shard never needs its decoded frames in memory
    at once (a 25,000-transition shard is 307 MB decoded; first-touching that much fresh memory
    per shard cost as much as copying it). The chunks are the same consecutive 64-frame runs
    however the frames were fed, so the bytes equal `write_shard`'s for the same episodes.
    """

    def __init__(self, frame_shape: tuple[int, ...], dtype=np.uint8) -> None:
        self.frame_shape = tuple(frame_shape)
        self._staging = np.empty((CHUNK_FRAMES, *self.frame_shape), dtype=dtype)
        self._staged = 0
        self._compressor = zstandard.ZstdCompressor(level=ZSTD_LEVEL, write_checksum=True)
        self._chunks: list[bytes] = []
        self._actions: list[np.ndarray] = []
        self._rewards: list[np.ndarray] = []
        self._extras: dict[str, list[np.ndarray]] | None = None
        self._episodes: dict[str, list] = {name: [] for name in ("lengths", *_EPISODE_FIELDS)}

    def add(self, episode: EpisodeData) -> None:
        """Append one episode (its arrays are copied or compressed at once; the caller may reuse them)."""
        frames = episode.observations
        if frames.shape[1:] != self.frame_shape:
            raise ValueError(f"frames of shape {frames.shape[1:]} in a shard of {self.frame_shape} frames")
        if self._extras is None:
            self._extras = {name: [] for name in sorted(episode.extras)}
        _check_episode(episode, set(self._extras))
        for name, parts in self._extras.items():
            parts.append(np.array(episode.extras[name]))
        self._actions.append(np.asarray(episode.actions).astype(np.uint8))
        self._rewards.append(np.asarray(episode.rewards).astype(np.float32))
        for name, value in (
            ("lengths", episode.length), ("level_seeds", episode.level_seed), ("terminated", episode.terminated),
            ("truncated", episode.truncated), ("level_complete", episode.level_complete), ("partial", episode.partial),
        ):  # fmt: skip
            self._episodes[name].append(value)
        at = 0
        while at < len(frames):
            take = min(CHUNK_FRAMES - self._staged, len(frames) - at)
            self._staging[self._staged : self._staged + take] = frames[at : at + take]
            self._staged += take
            at += take
            if self._staged == CHUNK_FRAMES:
                self._flush()

    def _flush(self) -> None:
        self._chunks.append(self._compressor.compress(self._staging[: self._staged]))
        self._staged = 0

    @property
    def num_transitions(self) -> int:
        return int(sum(self._episodes["lengths"]))

    def episode_arrays(self) -> dict[str, np.ndarray]:
        """Per-episode arrays so far: level_seeds, terminated, ..., plus `returns` and `lengths`."""
        e = self._episodes
        arrays = {
            "level_seeds": np.array(e["level_seeds"], dtype=np.int64),
            **{name: np.array(e[name], dtype=bool) for name in _EPISODE_FIELDS[1:]},
            "lengths": np.array(e["lengths"], dtype=np.int64),
            "returns": np.array([r.sum(dtype=np.float64) for r in self._rewards], dtype=np.float64),
        }
        return arrays

    def write(self, path: Path, *, keep_digest: bool = False) -> str:
        """Write the shard atomically to `path` and return the file's sha256 (hex), computed from
        the bytes as they were written. With `keep_digest` the digest is also written beside it
        (`digest_path`): first any old digest is removed, then the shard lands, then its digest,
        so a digest on disk always vouches for the shard beside it (a crash in between leaves a
        shard without one, which a resumed collection collects again)."""
        path = Path(path)
        if keep_digest:
            digest_path(path).unlink(missing_ok=True)
        sha256 = self._write(path)
        if keep_digest:
            atomic_write_bytes(digest_path(path), f"{sha256}  {path.name}\n".encode())
        return sha256

    def _write(self, path: Path) -> str:
        if not self._actions:
            raise ValueError("a shard needs at least one episode")
        if self._staged:
            self._flush()
        offsets = np.concatenate([[0], np.cumsum([len(c) for c in self._chunks])]).astype(np.int64)
        episodes = self.episode_arrays()
        arrays = {
            "format_version": np.array(FORMAT_VERSION, dtype=np.int64),
            "frame_shape": np.array(self.frame_shape, dtype=np.int64),
            "chunk_frames": np.array(CHUNK_FRAMES, dtype=np.int64),
            "chunk_offsets": offsets,
            "frames_zstd": np.frombuffer(b"".join(self._chunks), dtype=np.uint8),
            "actions": np.concatenate(self._actions),
            "rewards": np.concatenate(self._rewards),
            "episode_starts": np.concatenate([[0], np.cumsum(episodes["lengths"])]).astype(np.int64),
            **{name: episodes[name] for name in _EPISODE_FIELDS},
            **{STEP_EXTRA_PREFIX + name: np.concatenate(parts) for name, parts in (self._extras or {}).items()},
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


def digest_path(path: Path) -> Path:
    """Where the writer keeps shard `path`'s sha256 (`DIGEST_SUFFIX`)."""
    path = Path(path)
    return path.with_name(path.name + DIGEST_SUFFIX)


def written_digest(path: Path) -> str | None:
    """The sha256 the writer recorded beside shard `path` (`ShardWriter.write(keep_digest=True)`),
    or None when there is none or it is unreadable (the shard then cannot be vouched for)."""
    try:
        text = digest_path(path).read_text()
    except (OSError, UnicodeDecodeError):
        return None
    digest, _, name = text.strip().partition("  ")
    if name != Path(path).name or len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
        return None
    return digest


def learner_layout(observations: np.ndarray) -> np.ndarray:
    """Observations as the learners take them: (N, H, W, C) frames -> (N, C, H, W); (N, D) vectors
    (the stitching maze's compact observation) pass through unchanged."""
    if observations.ndim == 4:
        return np.ascontiguousarray(observations.transpose(0, 3, 1, 2))
    if observations.ndim == 2:
        return observations
    raise ValueError(f"observations must be (N, H, W, C) frames or (N, D) vectors, got shape {observations.shape}")


def learner_shape(frame_shape: tuple[int, ...]) -> tuple[int, ...]:
    """One observation's shape as the learners take it: (H, W, C) -> (C, H, W); (D,) unchanged."""
    frame_shape = tuple(int(x) for x in frame_shape)
    return (frame_shape[2], frame_shape[0], frame_shape[1]) if len(frame_shape) == 3 else frame_shape


def write_shard(path: Path, contents: ShardContents) -> str:
    """Write `contents` atomically to `path` and return the file's sha256 (hex).

    Observations are uint8, either (N, H, W, C) frames or (N, D) vectors (the stitching maze's
    compact observation); both are stored the same way, chunked and compressed."""
    if contents.observations.ndim not in (2, 4) or contents.observations.dtype != np.uint8:
        raise ValueError(
            f"observations must be (N, H, W, C) uint8 frames or (N, D) uint8 vectors, got "
            f"{contents.observations.dtype} {contents.observations.shape}"
        )
    writer = ShardWriter(contents.observations.shape[1:])
    for episode in contents.episodes():
        writer.add(episode)
    return writer.write(path)


class ShardReader:
    """Reads one shard lazily: its small arrays at once, frame chunks on demand.

    The compressed frames stay on disk: each chunk is read with `os.pread` at its byte offset
    inside the (stored, uncompressed) `.npz`, so a dataset of many shards can be opened for
    random access (the out-of-core sampler) without holding their compressed frames in memory.
    Every way a shard can be unreadable or inconsistent is a `DatasetError` naming the file.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        required = {"format_version", "frame_shape", "chunk_frames", "chunk_offsets", "actions", "rewards", "episode_starts", *_EPISODE_FIELDS}
        try:
            with zipfile.ZipFile(self.path) as zf:
                infos = {info.filename: info for info in zf.infolist()}
            missing = {f"{name}.npy" for name in (*required, "frames_zstd")} - set(infos)
            if missing:
                raise DatasetError(f"shard {self.path} lacks arrays {sorted(missing)}; it was not written by rlgen")
            extras = sorted(f[: -len(".npy")] for f in infos if f.startswith(STEP_EXTRA_PREFIX) and f.endswith(".npy"))
            with np.load(self.path, allow_pickle=False) as npz:
                self.arrays = {name: npz[name] for name in sorted(required)}
                self.extras = {name[len(STEP_EXTRA_PREFIX) :]: npz[name] for name in extras}
            self.data_offset, blob_shape, blob_dtype = _member_data_offset(self.path, infos["frames_zstd.npy"])
        except FileNotFoundError:
            raise DatasetError(f"shard {self.path} is missing; {REPAIR_ADVICE.removeprefix('delete it and ')}") from None
        except DatasetError:
            raise
        except Exception as exc:  # zip, npy, struct or OS errors: all mean an unreadable file
            raise DatasetError(
                f"shard {self.path} cannot be read ({type(exc).__name__}: {exc}); it is corrupt or not a shard: "
                + REPAIR_ADVICE
            ) from exc
        a = self.arrays
        if int(a["format_version"]) != FORMAT_VERSION:
            raise DatasetError(f"shard {self.path} has format version {int(a['format_version'])}, this rlgen reads {FORMAT_VERSION}")
        self.frame_shape = tuple(int(x) for x in a["frame_shape"])
        self.frame_bytes = int(np.prod(self.frame_shape))
        self.chunk_frames = int(a["chunk_frames"])
        self.chunk_offsets = a["chunk_offsets"].astype(np.int64)
        self.num_transitions = len(a["actions"])
        n_chunks = len(self.chunk_offsets) - 1
        consistent = (
            self.chunk_frames > 0
            and n_chunks == -(-self.num_transitions // self.chunk_frames)
            and int(a["episode_starts"][-1]) == self.num_transitions
            and len(a["rewards"]) == self.num_transitions
            and all(len(x) == self.num_transitions for x in self.extras.values())
            and blob_dtype == np.uint8
            and blob_shape == (int(self.chunk_offsets[-1]),)
            and bool(np.all(np.diff(self.chunk_offsets) >= 0))
            and self.data_offset + int(self.chunk_offsets[-1]) <= self.path.stat().st_size
        )
        if not consistent:
            raise DatasetError(
                f"shard {self.path} is inconsistent: frame chunks, episode offsets and actions disagree; " + REPAIR_ADVICE
            )

    def episode_arrays(self) -> dict[str, np.ndarray]:
        """Per-episode arrays, as `ShardWriter.episode_arrays` gives them, read without decoding a frame."""
        a = self.arrays
        return {
            **{name: a[name] for name in _EPISODE_FIELDS},
            "lengths": np.diff(a["episode_starts"]),
            "returns": _episode_returns(a["rewards"], a["episode_starts"]),
        }

    @property
    def num_chunks(self) -> int:
        return len(self.chunk_offsets) - 1

    def chunk_size(self, chunk: int) -> int:
        """Frames in `chunk` (the last chunk may hold fewer)."""
        return min(self.chunk_frames, self.num_transitions - chunk * self.chunk_frames)

    def read_chunk(self, fd: int, chunk: int) -> bytes:
        """The compressed bytes of `chunk`, read from the open file descriptor `fd` of this shard."""
        lo, hi = int(self.chunk_offsets[chunk]), int(self.chunk_offsets[chunk + 1])
        raw = os.pread(fd, hi - lo, self.data_offset + lo)
        if len(raw) != hi - lo:
            raise DatasetError(f"shard {self.path} is truncated: chunk {chunk} ends past the end of the file")
        return raw

    def decode_chunk(self, chunk: int, fd: int | None = None, dctx: zstandard.ZstdDecompressor | None = None) -> np.ndarray:
        """Frames of chunk `chunk`: (<= chunk_frames, H, W, C) uint8. A caller reading many chunks
        passes its open `fd` and decompressor; otherwise the file is opened for this one read."""
        if fd is None:
            fd = os.open(self.path, os.O_RDONLY)
            try:
                return self.decode_chunk(chunk, fd, dctx)
            finally:
                os.close(fd)
        raw = self.read_chunk(fd, chunk)
        expected = self.chunk_size(chunk) * self.frame_bytes
        try:
            data = (dctx or zstandard.ZstdDecompressor()).decompress(raw, max_output_size=expected)
        except zstandard.ZstdError as exc:
            raise DatasetError(
                f"shard {self.path}: frame chunk {chunk} cannot be decompressed ({exc}); the file is corrupt: "
                + REPAIR_ADVICE
            ) from exc
        if len(data) != expected:
            raise DatasetError(f"shard {self.path}: frame chunk {chunk} holds {len(data)} bytes, expected {expected}; the file is corrupt")
        return np.frombuffer(data, dtype=np.uint8).reshape(-1, *self.frame_shape)

    def frames(self, indices: np.ndarray) -> np.ndarray:
        """Frames at transition `indices`, decoding only the chunks they fall in."""
        indices = np.asarray(indices)
        out = np.empty((len(indices), *self.frame_shape), dtype=np.uint8)
        chunk_of = indices // self.chunk_frames
        for chunk in np.unique(chunk_of):
            sel = chunk_of == chunk
            out[sel] = self.decode_chunk(int(chunk))[indices[sel] - chunk * self.chunk_frames]
        return out

    def frame_digests(self) -> np.ndarray:
        """(N,) `frame_digests` of every frame in transition order, one chunk decoded at a time
        (a resumed collection recounts its finished shards' distinct frames with this)."""
        dctx = zstandard.ZstdDecompressor()
        fd = os.open(self.path, os.O_RDONLY)
        try:
            parts = [frame_digests(self.decode_chunk(c, fd, dctx)) for c in range(self.num_chunks)]
        finally:
            os.close(fd)
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.uint64)

    def contents(self) -> ShardContents:
        """Everything, frames decoded: (N, H, W, C) uint8."""
        dctx = zstandard.ZstdDecompressor()
        fd = os.open(self.path, os.O_RDONLY)
        try:
            chunks = [self.decode_chunk(c, fd, dctx) for c in range(self.num_chunks)]
        finally:
            os.close(fd)
        frames = np.concatenate(chunks) if chunks else np.empty((0, *self.frame_shape), np.uint8)
        a = self.arrays
        return ShardContents(
            observations=frames,
            actions=a["actions"],
            rewards=a["rewards"],
            episode_starts=a["episode_starts"],
            **{name: a[name] for name in _EPISODE_FIELDS},
            extras=dict(self.extras),
        )


def _member_data_offset(path: Path, info: zipfile.ZipInfo) -> tuple[int, tuple[int, ...], np.dtype]:
    """Byte offset of a stored `.npy` member's array data in the zip, with its shape and dtype."""
    if info.compress_type != zipfile.ZIP_STORED:
        raise DatasetError(f"shard {path}: {info.filename} is compressed inside the zip; rlgen shards store it plain")
    with open(path, "rb") as f:
        f.seek(info.header_offset)
        header = f.read(30)
        if len(header) != 30 or header[:4] != b"PK\x03\x04":
            raise DatasetError(f"shard {path}: the zip entry {info.filename} has no valid local header")
        name_len, extra_len = struct.unpack("<HH", header[26:30])
        f.seek(info.header_offset + 30 + name_len + extra_len)
        version = np.lib.format.read_magic(f)
        if version == (1, 0):
            shape, _, dtype = np.lib.format.read_array_header_1_0(f)
        else:
            shape, _, dtype = np.lib.format.read_array_header_2_0(f)
        return f.tell(), tuple(shape), dtype


def read_shard(path: Path) -> ShardContents:
    return ShardReader(path).contents()


def frame_digests(frames: np.ndarray) -> np.ndarray:
    """(N,) uint64: an 8-byte blake2b digest of each observation's bytes (frames (N, H, W, C) or
    vectors (N, D), uint8), to count distinct observations without keeping them.

    8 bytes make a collision among even 10^8 distinct frames unlikely (birthday bound ~3e-4), and
    blake2b costs ~16 us per 64x64x3 frame: about 1.5% of a planner's collection step. The
    digest is of the bytes, so it is the same on every machine and in every process.
    """
    digests = b"".join(hashlib.blake2b(np.ascontiguousarray(frame), digest_size=8).digest() for frame in frames)
    return np.frombuffer(digests, dtype="<u8").astype(np.uint64)


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
