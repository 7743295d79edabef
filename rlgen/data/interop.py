"""Interop: import the generalization-gap paper's episode files; export to and import from Minari.

Both directions land in (or start from) rlgen's own format, shards + manifest, so everything
downstream (loading, checksums, d3rlpy buffers, the out-of-core sampler) is unchanged.

**The paper's files** (Mediratta et al., 2024; `procgen/online/datasets/storage.py` of its code):
one `np.savez_compressed` file per episode named
`{timestamp}_{episode index}_{length T}_{level seed}_{return:.2f}.npz` holding `observations`
(T+1, 3, 64, 64) float32, `actions` (T, 1) int64, `rewards` (T, 1) float32 and `dones` (T,) bool.
The last observation is the next episode's first frame (Procgen resets at once), so it is
dropped: rlgen keeps the T frames before the T actions. Frames are converted to uint8 HWC; a
file's floats must be 8-bit values on either the 0-255 scale (what the paper wrote) or the 0-1
scale (one divided by 255), decided by the file's maximum (<= 1: the 0-1 scale), and anything
else (negative, above 255, NaN, not a multiple of one step) is refused, naming the file. The
files say neither whether an episode ended by Procgen's step limit nor whether the level was
completed: an episode as long as the game's step limit is taken as a timeout, any other as
terminated, and `level_complete` is stored False (the manifest says so). Level seeds and
returns come from the file names, and each name is checked against the file's contents.

**Minari** (Farama; minari 0.5.x, HDF5 backend): `<root>/<namespace>/<name>-v<N>/data/` with
`metadata.json` (spaces serialized as JSON, counts, `data_format: hdf5`, `minari_version`) and
`main_data.hdf5` holding one group `episode_<i>` per episode: `observations` (T+1, ...),
`actions`, `rewards`, `terminations`, `truncations` (T each), optional `infos`. Written here
with h5py, not the `minari` package: minari's current release requires numpy >= 2, and rlgen
pins numpy < 2 (0.5.3 would fit but is not worth a dependency for two files). Frames are stored
channel-first, (T+1, 3, 64, 64) uint8, as d3rlpy and the paper lay them out; this also keeps
minari from treating them as an image space, which it JPEG-encodes (lossily). The T+1-th frame
does not exist in rlgen's data (see above): it is the last frame repeated, and dropped on
import. rlgen's manifest rides along in `metadata.json` (`rlgen_manifest`) and each episode
records its shard, level seed, completion and `partial` flag as attributes, so a re-import
rebuilds byte-identical shards, checked against the manifest's sha256s. Datasets written by
others import too (uint8 or 8-bit float frames, JPEG-encoded image observations, discrete
actions); their level seeds come from an episode attribute `level_seed` when present. An
export's `metadata.json` also carries what Minari asks of a dataset (`minari_metadata`): the
gymnasium spec of the Procgen env on the training levels (`env_spec`) and on the test levels
(`eval_env_spec`), author, description, a code permalink and reference scores.

Every writer builds the dataset in a temporary folder beside its final place and renames it
there when complete: no half-written dataset ever stands under the final name.

**Imported files are untrusted.** Every name that becomes a path (the dataset's, each shard's,
from the command line or from `metadata.json`) is checked by `rlgen.data.names` before anything
is written, and the target must lie inside the data directory; a re-import's shard sha256s are
compared as each shard is written into the temporary folder, which is deleted on a mismatch.
Sizes are checked before data is read: a paper file's length (its name) must be within the
game's step limit, each `.npy` member's header must declare the shape that length implies and
its zip entry exactly that many bytes, inflating at most `MAX_COMPRESSION_RATIO` times; a
Minari episode's declared shapes are checked the same way before its arrays are read. Frames
are converted to uint8 in blocks (`CONVERT_FRAMES`), never as one float64 copy.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np

from rlgen.core.data_dir import resolve_data_dir
from rlgen.core.levels import LevelSplit
from rlgen.data.dataset import SHARDS_DIR, Dataset, load_dataset
from rlgen.data.errors import DatasetError
from rlgen.data.manifest import DatasetManifest, ShardRecord
from rlgen.data.names import check_name, check_shard_name, inside, regular_file, unique_names
from rlgen.data.shards import EpisodeData, ShardReader, ShardWriter
from rlgen.data.writer import write_manifest

FRAME_SHAPE = (64, 64, 3)
SHARD_TRANSITIONS = 25_000
"""Transitions per shard of an imported dataset (episodes are never split across shards)."""

# --------------------------------------------------------------------------------------------
# Writing a dataset from episodes


def _skill_summary(returns: np.ndarray, lengths: np.ndarray, game: str, mode: str, measured_on: str) -> dict:
    """The manifest's `behaviour.skill`: mean return with a 95% bootstrap CI over episodes."""
    from rlgen.core.games import COBBE_RETURN_RANGES, normalize_returns
    from rlgen.stats import bootstrap_ci_over_units

    if len(returns) == 0:
        return {"episodes": 0}
    low, high = bootstrap_ci_over_units(returns, np.mean, rng=np.random.default_rng(0))
    summary = {
        "episodes": int(len(returns)),
        "mean_return": float(returns.mean()),
        "mean_return_ci95": [float(low), float(high)],
        "mean_length": float(lengths.mean()),
        "measured_on": measured_on,
    }
    if game in COBBE_RETURN_RANGES:
        summary["normalized_mean_return"] = float(normalize_returns(returns.mean(), game, mode))
    return summary


def write_dataset(
    root: Path,
    episodes: Iterable[tuple[int, EpisodeData]],
    *,
    name: str,
    env: dict,
    levels: LevelSplit,
    behaviour: dict,
    seed: int,
    config: dict,
    original: DatasetManifest | None = None,
) -> Dataset:
    """Write `(shard index, episode)` pairs (indices non-decreasing) as a finished dataset at `root`.

    Built in `root.parent/.tmp-<name>-<pid>` and renamed to `root` once the manifest is written.
    With `original` (the manifest of the dataset these episodes were exported from), every shard
    must come out with the sha256 that manifest lists, or it is an error: how a re-import proves
    it rebuilt the exported bytes; the manifest written is then the original one (renamed to
    `name` if that differs), so a round trip keeps the manifest's sha256, by which results cite
    data. Refuses an existing `root`.
    """
    from rlgen.core.provenance import provenance

    root = Path(root)
    check_name(name, "dataset", root)
    if original is not None:  # names that become files: checked before anything is written
        for record in original.shards:
            record.check(f"{root}: the exported manifest")
        unique_names([record.name for record in original.shards], "shard", f"{root}: the exported manifest")
    if root.exists() or root.is_symlink():
        raise DatasetError(f"{root} already exists; delete it or choose another name")
    root.parent.mkdir(parents=True, exist_ok=True)
    staging = root.parent / f".tmp-{root.name}-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    (staging / SHARDS_DIR).mkdir(parents=True)
    records: list[ShardRecord] = []
    writer: ShardWriter | None = None
    current = -1

    def close() -> None:
        if writer is None:
            return
        known = original is not None and 0 <= current < len(original.shards)
        shard = check_shard_name(original.shards[current].name if known else f"shard-{len(records):05d}.npz")
        sha256 = writer.write(inside(staging / SHARDS_DIR, shard))
        if original is not None:
            expected = original.shards[current].sha256 if current < len(original.shards) else "(no such shard)"
            if expected != sha256 or current != len(records):
                raise DatasetError(
                    f"rebuilt shard {current} has sha256 {sha256[:16]}..., the exported manifest lists "
                    f"{expected[:16]}...: the data changed since it was exported"
                )
            records.append(original.shards[current])
            return
        e = writer.episode_arrays()
        records.append(
            ShardRecord(
                name=shard, sha256=sha256, episodes=len(e["level_seeds"]), transitions=int(e["lengths"].sum()),
                level_seeds=tuple(int(x) for x in e["level_seeds"]), returns=tuple(float(x) for x in e["returns"]),
                lengths=tuple(int(x) for x in e["lengths"]), partial=tuple(bool(x) for x in e["partial"]),
            )  # fmt: skip
        )

    try:
        for index, episode in episodes:
            if index != current:
                if index < current:
                    raise ValueError(f"shard indices must not decrease ({current} then {index})")
                close()
                writer, current = ShardWriter(episode.observations.shape[1:]), index
            writer.add(episode)
        close()
        if not records:
            raise DatasetError(f"no episodes to write for {name}")
        if original is not None and len(records) != len(original.shards):
            raise DatasetError(f"rebuilt {len(records)} shards, the exported manifest lists {len(original.shards)}")
        returns = np.array([r for s in records for r, p in zip(s.returns, s.partial) if not p])
        lengths = np.array([n for s in records for n, p in zip(s.lengths, s.partial) if not p])
        if "skill" not in behaviour:
            behaviour = {**behaviour, "skill": _skill_summary(returns, lengths, env.get("game", ""), env.get("mode", ""), "the episodes in this dataset")}
        if original is not None:
            manifest = dataclasses.replace(original, name=name)
        else:
            manifest = DatasetManifest(
                name=name, env=env, levels=levels, behaviour=behaviour, shards=tuple(records),
                seed=seed, config=config, provenance=provenance(),
            )  # fmt: skip
        write_manifest(staging, manifest)  # and its card, renamed into place with the shards
        staging.rename(root)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return load_dataset(root)


def new_dataset_root(data_dir: str | Path | None, name: str, where: str | Path) -> Path:
    """Where a new dataset `name` goes: the data directory (`rlgen.core.data_dir.resolve_data_dir`) joined
    with `name`, which must be a safe name (`rlgen.data.names`) and stay inside it. `where` is the
    file or argument the name came from, for the error."""
    base = resolve_data_dir(data_dir)
    return inside(base, check_name(name, "dataset", where), where=where)


def _shards_by_size(episodes: Iterable[EpisodeData], shard_transitions: int) -> Iterator[tuple[int, EpisodeData]]:
    """Number episodes into shards of about `shard_transitions` (a shard closes once it reaches it)."""
    index, filled = 0, 0
    for episode in episodes:
        if filled >= shard_transitions:
            index, filled = index + 1, 0
        filled += episode.length
        yield index, episode


CONVERT_FRAMES = 256
"""Frames converted at a time (`to_uint8_frames`): its float64 temporaries stay near 25 MB
whatever the episode's length, instead of 8 bytes a value for the whole array at once."""


def to_uint8_frames(frames: np.ndarray, where: str) -> np.ndarray:
    """8-bit frames as uint8, from uint8 or from floats on the 0-255 or the 0-1 scale; refuses anything else.

    The scale is the array's: maximum <= 1 means 0-1 (a Procgen episode whose every pixel is
    at most 1 on the 0-255 scale would be black, and is not a real episode). Works in blocks
    of `CONVERT_FRAMES` frames: one pass for the range (the scale is the whole array's), one to
    convert, so memory beyond the input is the uint8 output and one block's temporaries.
    """
    if frames.dtype == np.uint8:
        return frames
    if not np.issubdtype(frames.dtype, np.floating) and not np.issubdtype(frames.dtype, np.integer):
        raise DatasetError(f"{where}: frames of dtype {frames.dtype} are not images")
    if frames.size == 0:
        return frames.astype(np.uint8)
    blocks = [slice(i, i + CONVERT_FRAMES) for i in range(0, len(frames), CONVERT_FRAMES)]
    low, high = np.inf, -np.inf
    for block in blocks:
        part = frames[block]
        if np.issubdtype(part.dtype, np.floating) and not np.all(np.isfinite(part)):
            raise DatasetError(f"{where}: frames hold NaN or infinite values")
        low, high = min(low, float(part.min())), max(high, float(part.max()))
    if low < 0 or high > 255:
        raise DatasetError(f"{where}: frame values span [{low:g}, {high:g}]; expected 8-bit values on the 0-255 or the 0-1 scale")
    out = np.empty(frames.shape, dtype=np.uint8)
    for block in blocks:
        values = frames[block].astype(np.float64)
        scaled = values * 255.0 if high <= 1.0 else values
        rounded = np.rint(scaled)
        if np.abs(scaled - rounded).max() > 1e-3:
            scale = "0-1" if high <= 1.0 else "0-255"
            raise DatasetError(f"{where}: frame values on the {scale} scale are not 8-bit levels (not multiples of 1/255 or of 1)")
        out[block] = rounded
    return out


# --------------------------------------------------------------------------------------------
# The generalization-gap paper's per-episode files

PAPER_NAME = re.compile(r"^(?P<timestamp>[0-9T]+)_(?P<index>\d+)_(?P<length>\d+)_(?P<level>-?\d+)_(?P<ret>-?\d+(?:\.\d+)?)\.npz$")
PAPER_KEYS = ("observations", "actions", "rewards", "dones")


@dataclass(frozen=True)
class PaperEpisodeFile:
    """What a paper episode's file name says."""

    path: Path
    timestamp: str
    index: int
    length: int
    level_seed: int
    episode_return: float

    @classmethod
    def parse(cls, path: Path) -> PaperEpisodeFile:
        match = PAPER_NAME.match(Path(path).name)
        if match is None:
            raise DatasetError(
                f"{path}: not a paper episode file name; expected TIMESTAMP_INDEX_LENGTH_LEVELSEED_RETURN.npz "
                "(e.g. 20230501T120102_17_245_113_10.00.npz)"
            )
        return cls(
            path=Path(path), timestamp=match["timestamp"], index=int(match["index"]), length=int(match["length"]),
            level_seed=int(match["level"]), episode_return=float(match["ret"]),
        )  # fmt: skip

    @property
    def order(self) -> tuple:
        return (self.timestamp, self.index, self.path.name)


def paper_file_name(timestamp: str, index: int, level_seed: int, rewards: np.ndarray) -> str:
    """The name the paper's collector gives an episode's file (used by tests and by anyone writing such files)."""
    rewards = np.asarray(rewards)
    return f"{timestamp}_{index}_{len(rewards)}_{level_seed}_{float(np.sum(rewards)):.2f}.npz"


PAPER_MAX_STEPS = 1000
"""Longest Procgen episode (the step limit of most games): the bound on T when no game is given."""
MAX_COMPRESSION_RATIO = 250
"""Largest inflated/compressed size ratio accepted for an array member of an imported file. The
paper's float32 frames of real play (16 games, 300 steps each, measured) compress 3x (starpilot)
to 42x (climber); deflate's own limit is about 1000x, which only a made-up array reaches."""
_RATIO_CHECKED_BYTES = 1 << 22
"""Members inflating to less than this (4 MiB, ~85 float32 frames) are not ratio-checked: a (T,)
array of zeros or a few constant test frames legitimately pack 100x or more, and cost nothing."""


def _npy_header(zf: zipfile.ZipFile, member: str, where: Path) -> tuple[tuple[int, ...], np.dtype, int]:
    """(shape, dtype, header bytes) of a `.npy` member, read from its header alone (no data).

    np.load would inflate the whole member before anyone could look at its shape: a 1 MB file
    can declare gigabytes. Numeric dtypes only (an object array needs pickle, never used)."""
    try:
        with zf.open(member) as f:
            version = np.lib.format.read_magic(f)
            if version == (1, 0):
                shape, _, dtype = np.lib.format.read_array_header_1_0(f)
            elif version == (2, 0):
                shape, _, dtype = np.lib.format.read_array_header_2_0(f)
            else:
                raise ValueError(f"unsupported .npy version {version}")
            header = f.tell()
    except DatasetError:
        raise
    except Exception as exc:  # zip or npy header errors: a corrupt or forged file
        raise DatasetError(f"{where}: {member} has no valid .npy header ({type(exc).__name__}: {exc}); the file is corrupt: download it again") from exc
    if dtype.hasobject or dtype.kind not in "biuf" or dtype.itemsize > 8:
        pickled = " (objects cannot be read without pickle, which rlgen never uses)" if dtype.hasobject else ""
        raise DatasetError(f"{where}: {member} holds {dtype} values{pickled}; expected numbers: the file is not a paper episode")
    return tuple(int(x) for x in shape), dtype, header


def check_npz_members(path: Path, expected: dict[str, list[tuple[int, ...]]]) -> None:
    """Before loading anything: every expected member of the `.npz` at `path` exists, declares a
    shape among `expected[name]` (what the file's own name implies), and its declared size in the
    zip is exactly that shape's (header + shape x itemsize), inflating at most
    `MAX_COMPRESSION_RATIO` times. A decompression bomb is refused from its zip directory and
    its headers, never inflated."""
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise DatasetError(f"{path}: unreadable ({type(exc).__name__}: {exc}); the file is corrupt: download it again") from exc
    with zf:
        members = {info.filename: info for info in zf.infolist()}
        missing = [k for k in expected if f"{k}.npy" not in members]
        if missing:
            raise DatasetError(f"{path}: lacks arrays {missing} (a paper episode holds {', '.join(expected)}); it is not a paper episode file")
        for name, shapes in expected.items():
            info = members[f"{name}.npy"]
            shape, dtype, header = _npy_header(zf, info.filename, path)
            if shape not in shapes:
                raise DatasetError(
                    f"{path}: {name} declares shape {shape}; expected {' or '.join(map(str, shapes))} "
                    "(T from the file name): the file does not match its name"
                )
            size = header + int(np.prod(shape)) * dtype.itemsize
            if info.file_size != size:
                raise DatasetError(f"{path}: {name} declares {info.file_size} bytes in the zip, its header implies {size}; the file is corrupt or forged")
            if info.file_size > _RATIO_CHECKED_BYTES and info.file_size > MAX_COMPRESSION_RATIO * max(info.compress_size, 1):
                raise DatasetError(
                    f"{path}: {name} inflates {info.file_size / max(info.compress_size, 1):.0f}x ({info.compress_size} -> {info.file_size} bytes), "
                    f"more than real frames ever do ({MAX_COMPRESSION_RATIO}x); refusing a likely decompression bomb"
                )


def read_paper_episode(info: PaperEpisodeFile, step_limit: int | None) -> EpisodeData:
    """One paper file as an `EpisodeData` (frames uint8 HWC, the T+1-th frame dropped); checks everything.

    The length T in the file name must be at most the game's `step_limit` (else `PAPER_MAX_STEPS`),
    and every member's declared shape and size must be what T implies before any is loaded
    (`check_npz_members`): memory is bounded by the step limit, whatever the file declares."""
    path = info.path
    t = info.length
    limit = step_limit if step_limit is not None else PAPER_MAX_STEPS
    if not 1 <= t <= limit:
        raise DatasetError(
            f"{path}: the file name says {t} steps; a Procgen episode of this game has 1 to {limit} (its step limit): "
            "rename or remove the file"
        )
    try:
        regular_file(path)
    except FileNotFoundError:
        raise DatasetError(f"{path}: vanished while importing; rerun the import") from None
    steps = [(t,), (t, 1)]
    check_npz_members(path, {"observations": [(t + 1, 3, 64, 64)], "actions": steps, "rewards": steps, "dones": [(t,)]})
    try:
        with np.load(path, allow_pickle=False) as npz:
            obs, actions, rewards, dones = (npz[k] for k in PAPER_KEYS)
    except ValueError as exc:  # object arrays need pickle, which is refused
        raise DatasetError(f"{path}: cannot be read without pickle ({exc}); rlgen never unpickles data") from exc
    except Exception as exc:  # zip / npy errors: a corrupt file
        raise DatasetError(f"{path}: unreadable ({type(exc).__name__}: {exc})") from exc
    t = info.length
    if obs.ndim != 4 or obs.shape[1:] != (3, 64, 64) or len(obs) != t + 1:
        raise DatasetError(f"{path}: observations have shape {obs.shape}; expected ({t + 1}, 3, 64, 64) (T+1 frames, T = {t} from the file name)")
    actions = actions[:, 0] if actions.ndim == 2 and actions.shape[1] == 1 else actions
    rewards = rewards[:, 0] if rewards.ndim == 2 and rewards.shape[1] == 1 else rewards
    if actions.shape != (t,) or rewards.shape != (t,) or dones.shape != (t,):
        raise DatasetError(f"{path}: actions {actions.shape}, rewards {rewards.shape} and dones {dones.shape} must each hold T = {t} steps")
    integral = np.issubdtype(actions.dtype, np.integer) or (np.issubdtype(actions.dtype, np.floating) and np.all(np.mod(actions, 1) == 0))
    if not integral or actions.min() < 0 or actions.max() > 14:
        raise DatasetError(f"{path}: actions must be integers in [0, 15) (Procgen's 15 actions), got {actions.dtype} in [{actions.min()}, {actions.max()}]")
    if not np.all(np.isfinite(rewards)):
        raise DatasetError(f"{path}: rewards hold NaN or infinite values")
    if info.level_seed < 0:
        raise DatasetError(f"{path}: level seed {info.level_seed} in the file name (the collector did not know the level); cannot import it")
    total = float(np.sum(rewards, dtype=np.float64))
    if abs(total - info.episode_return) > 0.006:
        raise DatasetError(f"{path}: the file name says return {info.episode_return:.2f}, its rewards sum to {total:.4f}")
    dones = dones.astype(bool)
    if dones[:-1].any():
        raise DatasetError(f"{path}: `dones` is set before the last step (step {int(np.flatnonzero(dones)[0])}): not one episode")
    frames = to_uint8_frames(obs[:-1], str(path)).transpose(0, 2, 3, 1)
    ended = bool(dones[-1])
    timeout = ended and step_limit is not None and t >= step_limit
    return EpisodeData(
        observations=np.ascontiguousarray(frames),
        actions=actions.astype(np.uint8),
        rewards=rewards.astype(np.float32),
        level_seed=info.level_seed,
        terminated=ended and not timeout,
        truncated=timeout or not ended,
        level_complete=False,
        partial=not ended,
    )


def _training_levels(n: int, where: str | Path) -> LevelSplit:
    """Training levels [0, n) with the fixed unseen blocks; a level seed beyond Procgen's range is
    a `DatasetError` naming the source, not a traceback."""
    try:
        return LevelSplit.with_diversity(n)
    except ValueError as exc:
        raise DatasetError(f"{where}: level seeds up to {n - 1} give no valid level split ({exc}); remove the episodes with such seeds") from exc


def _game_from_paths(paths: Iterable[Path]) -> str | None:
    """The one Procgen game named by a folder on the files' paths (None when none or several)."""
    from rlgen.core.games import GAMES

    found = {part for path in paths for part in path.resolve().parent.parts if part in GAMES}
    return found.pop() if len(found) == 1 else None


def import_paper_dataset(
    source: str | Path,
    name: str,
    *,
    game: str | None = None,
    mode: str = "easy",
    train_levels: int | None = None,
    data_dir: str | Path | None = None,
    shard_transitions: int = SHARD_TRANSITIONS,
) -> Dataset:
    """Import every paper episode file under `source` (recursively) as the rlgen dataset `name`.

    `game` defaults to the one game named by a folder on the files' paths (the paper's downloads
    sit in per-game folders); `train_levels` (levels [0, N)) defaults to the largest level seed
    plus one, and every episode's level must lie in it. Episodes are ordered by (timestamp,
    index) from the file names, so the same files always give the same shards.
    """
    from rlgen.core.games import check_game
    from rlgen_envs.procgen import episode_step_limit

    root = new_dataset_root(data_dir, name, "the dataset name")
    source = Path(source)
    if not source.is_dir():
        raise DatasetError(f"{source} is not a folder of paper episode files")
    paths = sorted(source.rglob("*.npz"))
    if not paths:
        raise DatasetError(f"{source} holds no .npz files")
    files = sorted((PaperEpisodeFile.parse(p) for p in paths), key=lambda f: f.order)
    game = game or _game_from_paths(paths)
    if game is None:
        raise DatasetError(f"cannot tell the game from the paths under {source} (no single game folder); pass it (--game)")
    check_game(game, mode)
    seeds = [f.level_seed for f in files]
    n = max(seeds) + 1 if train_levels is None else int(train_levels)
    limit = episode_step_limit(game)
    for f in files:  # what the names say, checked before anything is written
        if not 0 <= f.level_seed < n:
            raise DatasetError(f"{f.path}: level seed {f.level_seed} lies outside the training levels [0, {n})")
        if not 1 <= f.length <= limit:
            raise DatasetError(f"{f.path}: the file name says {f.length} steps; a {game} episode has 1 to {limit} (its step limit): rename or remove the file")
    levels = _training_levels(n, source)
    episodes = (read_paper_episode(f, limit) for f in files)
    return write_dataset(
        root,
        _shards_by_size(episodes, shard_transitions),
        name=name,
        env={"game": game, "mode": mode},
        levels=levels,
        behaviour={"name": "paper", "label": "paper", "source": "generalization-gap paper episode files (Mediratta et al., 2024)"},
        seed=0,
        config={
            "source": "generalization-gap paper",
            "folder": str(source.resolve()),
            "files": len(files),
            "file_name": "TIMESTAMP_INDEX_LENGTH_LEVELSEED_RETURN.npz",
            "frames": "float32 (T+1, 3, 64, 64) converted to uint8 (T, 64, 64, 3); the T+1-th frame (next episode's first) dropped",
            "terminated_vs_truncated": f"an episode of {limit} steps (the step limit) is a timeout, any other ended episode terminated",
            "level_complete": "not recorded by the paper's files; stored False",
            "shard_transitions": shard_transitions,
        },
    )


# --------------------------------------------------------------------------------------------
# Minari (HDF5 backend)

MINARI_VERSION = "0.5.3"
"""The minari release whose layout this writes; readers from 0.4.0 on accept it."""
MINARI_METADATA = "metadata.json"
MINARI_MAIN = "main_data.hdf5"
_MINARI_ID = re.compile(r"^(?:(?P<namespace>[-_\w][-_\w/]*[-_\w]+)/)?(?P<dataset>[-_\w]+?)(?:-v(?P<version>\d+))?$")


def minari_dataset_id(name: str, namespace: str = "rlgen") -> str:
    """`namespace/name` as a valid Minari id: dots become `p` (`mix0.69` -> `mix0p69`), and a name
    without a `-vN` suffix gets `-v0` (Minari ids carry a version)."""
    dataset = name.replace(".", "p")
    if not re.search(r"-v\d+$", dataset):
        dataset += "-v0"
    dataset_id = f"{namespace}/{dataset}" if namespace else dataset
    if not _MINARI_ID.fullmatch(dataset_id):
        raise DatasetError(f"{dataset_id!r} is not a valid Minari dataset id ((namespace/)name-vN; letters, digits, - and _)")
    return dataset_id


def minari_root(root: str | Path | None) -> Path:
    """Where Minari datasets live: `root`, else $MINARI_DATASETS_PATH. Never a silent default in the home folder."""
    if root is not None:
        return Path(root)
    env = os.environ.get("MINARI_DATASETS_PATH")
    if env:
        return Path(env)
    raise DatasetError("say where Minari datasets go: pass --out DIR or set MINARI_DATASETS_PATH (minari's own default is ~/.minari/datasets)")


def _box_space(shape: tuple[int, ...]) -> str:
    return json.dumps({"type": "Box", "dtype": "uint8", "shape": list(shape), "low": np.zeros(shape, np.uint8).tolist(), "high": np.full(shape, 255, np.uint8).tolist()})


DEFAULT_AUTHOR = "rlgen contributors"
"""Minari's `author` when the exporter names none (`rlgen datasets export-minari --author`)."""
PROCGEN_ENV_ID = "rlgen/procgen-{game}-v0"
"""The gymnasium id of a Procgen game with level-range arguments (`rlgen_envs.procgen_env`)."""


def procgen_env_spec(manifest: DatasetManifest, split: str):
    """The gymnasium `EnvSpec` of the dataset's Procgen game on one of its level sets (`train`,
    `validation`, `test`), frames channel-first as a Minari export stores them; None for other
    worlds. `gymnasium.make(spec)` builds that env wherever rlgen is installed."""
    import dataclasses

    import gymnasium

    import rlgen_envs  # noqa: F401  (registers rlgen's gymnasium ids)

    if "game" not in manifest.env:
        return None
    levels = manifest.levels[split]
    registered = gymnasium.spec(PROCGEN_ENV_ID.format(game=manifest.game))
    kwargs = {"mode": manifest.mode, "start_level": levels.start, "num_levels": levels.count, "channels_first": True}
    return dataclasses.replace(registered, kwargs={**registered.kwargs, **kwargs})


def minari_metadata(
    manifest: DatasetManifest,
    manifest_sha256: str,
    *,
    dataset_id: str,
    total_episodes: int,
    total_steps: int,
    frame_shape: tuple[int, ...],
    dataset_size: float,
    author: str = DEFAULT_AUTHOR,
    author_email: str | None = None,
) -> dict:
    """`metadata.json` of a Minari export of `manifest`'s dataset (Minari 0.5's keys, plus `rlgen_*`).

    - `env_spec` / `eval_env_spec`: the Procgen env on the training / test levels (`procgen_env_spec`;
      the validation levels' spec rides along as `rlgen_validation_env_spec`), JSON as Minari stores them.
    - `author`, `author_email`, `description` (the dataset card's summary), `code_permalink` (the
      repository at the git revision that wrote the data), `requirements` (pip pins of that run).
    - `ref_min_score` / `ref_max_score`: Cobbe et al.'s per-game constants, by which rlgen normalizes
      Procgen returns, so `minari.get_normalized_score` agrees with rlgen's reports; the behaviour's
      measured return is in `rlgen_reference_scores`.
    - `rlgen_manifest` (+ its sha256): what a re-import rebuilds the dataset from, byte for byte.
    """
    from rlgen.core.games import COBBE_RETURN_RANGES
    from rlgen.data.card import code_permalink, describe
    from rlgen.data.shards import learner_shape

    m = manifest
    packages = m.provenance.get("packages", {})
    metadata: dict = {
        "dataset_id": dataset_id,
        "total_episodes": int(total_episodes),
        "total_steps": int(total_steps),
        "data_format": "hdf5",
        "observation_space": _box_space(learner_shape(frame_shape)),
        "action_space": json.dumps({"type": "Discrete", "dtype": "int64", "start": 0, "n": int(m.num_actions)}),
        "minari_version": MINARI_VERSION,
        "jpeg_encoding": False,
        "algorithm_name": str(m.behaviour.get("label", m.behaviour.get("name", ""))),
        "author": [author],  # minari keeps sets of authors, as JSON lists
        **({"author_email": [author_email]} if author_email else {}),
        "description": describe(m) + (
            f" Evaluate on the unseen test levels {m.levels.test} (eval_env_spec); select checkpoints on the "
            f"validation levels {m.levels.validation} only."
        ),
        "code_permalink": code_permalink(m),
        "requirements": [f"{name}=={packages[name]}" for name in ("rlgen", "procgen-mirror") if name in packages and packages[name] != "not installed"],
        "dataset_size": dataset_size,
        "rlgen_manifest": m.to_dict(),
        "rlgen_manifest_sha256": manifest_sha256,
        "rlgen_final_observation": "repeats the last frame (Procgen resets at once; the frame after the last action is the next episode's)",
    }
    specs = {split: procgen_env_spec(m, split) for split in ("train", "validation", "test")}
    if specs["train"] is not None:
        metadata["env_spec"] = specs["train"].to_json()
        metadata["eval_env_spec"] = specs["test"].to_json()
        metadata["rlgen_validation_env_spec"] = specs["validation"].to_json()
    skill = m.behaviour.get("skill", {})
    references: dict = {"behaviour": {k: skill[k] for k in ("mean_return", "mean_return_ci95", "normalized_mean_return", "episodes", "measured_on") if k in skill}}
    if m.game in COBBE_RETURN_RANGES and m.mode in COBBE_RETURN_RANGES[m.game]:
        metadata["ref_min_score"], metadata["ref_max_score"] = (float(x) for x in COBBE_RETURN_RANGES[m.game][m.mode])
        references["normalization"] = f"ref_min_score, ref_max_score: Cobbe et al. (2020) min-max constants of {m.game} ({m.mode} mode)"
    metadata["rlgen_reference_scores"] = references
    return metadata


def export_minari(
    name_or_path: str | Path,
    out: str | Path | None = None,
    *,
    dataset_id: str | None = None,
    data_dir: str | Path | None = None,
    author: str = DEFAULT_AUTHOR,
    author_email: str | None = None,
) -> Path:
    """Write the rlgen dataset as a Minari dataset; returns its `data/` folder.

    `out` is the Minari datasets root (default $MINARI_DATASETS_PATH); the dataset goes to
    `out/<dataset_id>/data` (default id `rlgen/<name>`, see `minari_dataset_id`). Checksums are
    verified before anything is written; an existing Minari dataset there is refused. Its
    `metadata.json` is `minari_metadata`'s: env specs, author, description, code permalink and
    reference scores beside the spaces and counts.
    """
    import h5py

    dataset = load_dataset(name_or_path, Path(data_dir) if data_dir is not None else None, verify=True)
    m = dataset.manifest
    dataset_id = dataset_id or minari_dataset_id(m.name)
    if not _MINARI_ID.fullmatch(dataset_id):
        raise DatasetError(f"{dataset_id!r} is not a valid Minari dataset id")
    target = minari_root(out) / dataset_id / "data"
    if target.exists():
        raise DatasetError(f"a Minari dataset already exists at {target}; delete it or choose another --dataset-id")
    staging = target.with_name(f".tmp-data-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    steps = 0
    episodes = 0
    try:
        with h5py.File(staging / MINARI_MAIN, "w", track_order=True) as f:
            for shard_index, record in enumerate(m.shards):
                for episode in ShardReader(dataset.shard_path(record.name)).contents().episodes():
                    _write_minari_episode(f, episodes, episode, shard_index)
                    episodes += 1
                    steps += episode.length
        metadata = minari_metadata(
            m, dataset.sha256, dataset_id=dataset_id, total_episodes=episodes, total_steps=steps,
            frame_shape=ShardReader(dataset.shard_path(m.shards[0].name)).frame_shape,
            dataset_size=round(os.path.getsize(staging / MINARI_MAIN) / 1e6, 1), author=author, author_email=author_email,
        )  # fmt: skip
        (staging / MINARI_METADATA).write_text(json.dumps(metadata))
        namespace = dataset_id.rsplit("/", 1)[0] if "/" in dataset_id else None
        if namespace:
            meta = minari_root(out) / namespace / "namespace_metadata.json"
            if not meta.exists():
                meta.write_text(json.dumps({"description": "datasets exported by rlgen"}))
        staging.rename(target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target


def _write_minari_episode(f, index: int, episode: EpisodeData, shard_index: int) -> None:
    t = episode.length
    g = f.create_group(f"episode_{index}")
    g.attrs.update({
        "id": index, "total_steps": t, "level_seed": episode.level_seed, "level_complete": episode.level_complete,
        "partial": episode.partial, "rlgen_shard": shard_index,
    })  # fmt: skip
    frames = episode.observations.transpose(0, 3, 1, 2)
    obs = np.concatenate([frames, frames[-1:]])  # (T+1, 3, 64, 64)
    g.create_dataset("observations", data=obs, chunks=(min(len(obs), 64), *obs.shape[1:]), compression="gzip", compression_opts=1)
    g.create_dataset("actions", data=episode.actions.astype(np.int64))
    g.create_dataset("rewards", data=episode.rewards.astype(np.float32))
    end = np.zeros(t, dtype=bool)
    g.create_dataset("terminations", data=np.concatenate([end[:-1], [episode.terminated]]))
    g.create_dataset("truncations", data=np.concatenate([end[:-1], [episode.truncated]]))
    if episode.extras:
        infos = g.create_group("infos")
        for key, value in episode.extras.items():
            infos.create_dataset(key, data=np.concatenate([value, value[-1:]]))


def _minari_data_folder(source: str | Path) -> Path:
    """`source` as a Minari `data/` folder: the folder itself, its `data/`, or an id under $MINARI_DATASETS_PATH."""
    path = Path(source)
    for candidate in (path, path / "data"):
        if (candidate / MINARI_METADATA).exists():
            return candidate
    if not path.is_absolute() and os.environ.get("MINARI_DATASETS_PATH"):
        candidate = Path(os.environ["MINARI_DATASETS_PATH"]) / str(source) / "data"
        if (candidate / MINARI_METADATA).exists():
            return candidate
    raise DatasetError(f"no Minari dataset at {source} (expected {MINARI_METADATA} in it or in its data/ folder)")


def _frames_from_minari(dataset, steps: int, where: str) -> np.ndarray:
    """(T+1, 64, 64, 3) uint8 from a Minari observations dataset: raw HWC/CHW arrays, or JPEG bytes.

    The declared shape is checked before anything is read (HDF5 chunks can be compressed: a
    small file can declare a huge array), and each JPEG's declared size before it is decoded."""
    shape = tuple(int(x) for x in dataset.shape)
    if dataset.dtype == object or len(shape) == 2:  # minari's JPEG-encoded image space: one byte string per frame
        import io

        from PIL import Image

        if len(shape) < 1 or shape[0] != steps + 1:
            raise DatasetError(f"{where}: {shape[0] if shape else 0} encoded observations for {steps} actions; Minari episodes hold T+1")
        frames = np.empty((steps + 1, *FRAME_SHAPE), np.uint8)
        for i, encoded in enumerate(dataset[()]):
            image = Image.open(io.BytesIO(bytes(np.asarray(encoded, np.uint8))))
            if image.size != FRAME_SHAPE[:2]:
                raise DatasetError(f"{where}: observation {i} is a {image.size[0]}x{image.size[1]} image; rlgen imports 64x64 RGB frames")
            frames[i] = np.asarray(image.convert("RGB"), np.uint8)
        return frames
    if len(shape) != 4 or shape[0] != steps + 1 or shape[1:] not in ((3, 64, 64), FRAME_SHAPE):
        raise DatasetError(
            f"{where}: observations of shape {shape} for {steps} actions; rlgen imports T+1 64x64 RGB frames, (T+1, 3, 64, 64) or (T+1, 64, 64, 3)"
        )
    if dataset.dtype.kind not in "biuf" or dataset.dtype.itemsize > 8:
        raise DatasetError(f"{where}: observations of dtype {dataset.dtype} are not images")
    raw = dataset[()]
    if raw.shape[1:] == (3, 64, 64):
        raw = raw.transpose(0, 2, 3, 1)
    return to_uint8_frames(raw, where)


def _minari_steps(g, step_limit: int, where: str) -> int:
    """T of a Minari episode group from its arrays' declared shapes (nothing read): `actions`,
    `rewards`, `terminations` and `truncations` hold T each, 1 <= T <= the game's step limit."""
    try:
        shapes = {key: tuple(int(x) for x in g[key].shape) for key in ("actions", "rewards", "terminations", "truncations")}
    except KeyError as exc:
        raise DatasetError(f"{where}: lacks {exc}; a Minari episode holds actions, rewards, terminations and truncations") from None
    steps = shapes["actions"][0] if shapes["actions"] else 0
    if any(shape not in ((steps,), (steps, 1)) for shape in shapes.values()) or not 1 <= steps <= step_limit:
        raise DatasetError(
            f"{where}: arrays of shapes {shapes}; expected T each with 1 <= T <= {step_limit} (the game's step limit): "
            "the file is corrupt or not a Procgen dataset"
        )
    return steps


def read_minari_episodes(folder: Path, metadata: dict, step_limit: int = PAPER_MAX_STEPS) -> Iterator[tuple[int | None, EpisodeData]]:
    """(the rlgen shard it came from, or None; the episode) for every episode of a Minari HDF5 dataset.

    Episodes longer than `step_limit` (the game's) are refused from their declared shapes before
    any array is read, so memory stays bounded by one episode of the game however the file is
    compressed."""
    import h5py

    action = json.loads(metadata["action_space"]) if isinstance(metadata.get("action_space"), str) else {}
    if action.get("type") != "Discrete" or int(action.get("start", 0)) != 0:
        raise DatasetError(f"{folder}: action space {action or 'missing'}; rlgen imports discrete actions starting at 0")
    n_actions = int(action["n"])
    with h5py.File(regular_file(folder / MINARI_MAIN), "r") as f:
        for i in range(int(metadata["total_episodes"])):
            key = f"episode_{i}"
            where = f"{folder / MINARI_MAIN}:{key}"
            if key not in f:
                raise DatasetError(f"{where} is missing (metadata.json counts {metadata['total_episodes']} episodes)")
            g = f[key]
            t = _minari_steps(g, step_limit, where)
            frames = _frames_from_minari(g["observations"], t, where)
            actions, rewards = g["actions"][()].reshape(t), g["rewards"][()].reshape(t)
            term, trunc = g["terminations"][()].reshape(t).astype(bool), g["truncations"][()].reshape(t).astype(bool)
            if actions.min() < 0 or actions.max() >= n_actions:
                raise DatasetError(f"{where}: actions outside [0, {n_actions})")
            if (term[:-1] | trunc[:-1]).any():
                raise DatasetError(f"{where}: the episode ends before its last step")
            attrs = dict(g.attrs)
            terminated = bool(term[-1])
            yield (
                int(attrs["rlgen_shard"]) if "rlgen_shard" in attrs else None,
                EpisodeData(
                    observations=np.ascontiguousarray(frames[:-1]),
                    actions=actions.astype(np.uint8) if n_actions <= 256 else actions,
                    rewards=rewards.astype(np.float32),
                    level_seed=int(attrs.get("level_seed", 0)),
                    terminated=terminated,
                    truncated=not terminated,
                    level_complete=bool(attrs.get("level_complete", False)),
                    partial=bool(attrs.get("partial", not (terminated or bool(trunc[-1])))),
                    extras=_minari_extras(g, t, where) if "infos" in g and "rlgen_shard" in attrs else {},
                ),
            )


MAX_EXTRA_ROW_BYTES = 1 << 16
"""Largest per-step extra row accepted from a Minari file (the stitching maze's are a few bytes):
a declared (T+1, 10^9) array is refused before it is read."""


def _minari_extras(g, steps: int, where: str) -> dict[str, np.ndarray]:
    """An rlgen export's per-step extras (`infos/<name>`, T+1 rows), each checked before it is read."""
    extras = {}
    for key, value in g["infos"].items():
        shape = tuple(getattr(value, "shape", ()) or ())
        if not shape or shape[0] != steps + 1 or value.dtype.kind not in "biuf" or int(np.prod(shape[1:])) * value.dtype.itemsize > MAX_EXTRA_ROW_BYTES:
            raise DatasetError(
                f"{where}: infos/{key} of shape {shape} is not a numeric array of T+1 = {steps + 1} rows of at most "
                f"{MAX_EXTRA_ROW_BYTES} bytes; the file is corrupt or not an rlgen export: export it again"
            )
        extras[key] = value[()][:-1]
    return extras


def _minari_level_seeds(folder: Path, metadata: dict) -> list[int]:
    """Every episode's `level_seed` attribute (0 where absent), read without reading any array."""
    import h5py

    seeds = []
    with h5py.File(regular_file(folder / MINARI_MAIN), "r") as f:
        for i in range(int(metadata["total_episodes"])):
            if f"episode_{i}" not in f:
                raise DatasetError(f"{folder / MINARI_MAIN}:episode_{i} is missing (metadata.json counts {metadata['total_episodes']} episodes)")
            seeds.append(int(f[f"episode_{i}"].attrs.get("level_seed", 0)))
    if not seeds:
        raise DatasetError(f"{folder / MINARI_MAIN}: holds no episodes")
    if min(seeds) < 0:
        raise DatasetError(f"{folder / MINARI_MAIN}: an episode has level seed {min(seeds)}; level seeds are >= 0")
    return seeds


def _read_minari_metadata(folder: Path) -> dict:
    """metadata.json as a dict; a file that is not a JSON object is a `DatasetError` naming it."""
    path = folder / MINARI_METADATA
    try:
        metadata = json.loads(regular_file(path).read_text())
    except (ValueError, UnicodeDecodeError) as exc:
        raise DatasetError(f"{path}: not valid JSON ({exc}); the file is corrupt: export the dataset again") from exc
    if not isinstance(metadata, dict):
        raise DatasetError(f"{path}: holds a {type(metadata).__name__}, not a JSON object; the file is corrupt: export the dataset again")
    return metadata


def import_minari(
    source: str | Path,
    name: str | None = None,
    *,
    game: str | None = None,
    mode: str = "easy",
    data_dir: str | Path | None = None,
    shard_transitions: int = SHARD_TRANSITIONS,
) -> Dataset:
    """Import a Minari HDF5 dataset (a folder, its `data/`, or an id under $MINARI_DATASETS_PATH).

    A dataset rlgen exported comes back as it was: same name (unless `name` is given), manifest
    fields and byte-identical shards (each checked against the exported manifest's sha256).
    Any other needs `game` (its env is not recorded in rlgen's terms) and `name`; its level
    seeds come from the episodes' `level_seed` attributes (0 where absent).

    `metadata.json` is untrusted: the dataset name and every shard name in it are checked
    (`rlgen.data.names`) and the target folder must lie inside the data directory before
    anything is written; episodes longer than the game's step limit are refused unread.
    """
    from rlgen.core.games import check_game
    from rlgen_envs.procgen import episode_step_limit

    folder = _minari_data_folder(source)
    where = folder / MINARI_METADATA
    metadata = _read_minari_metadata(folder)
    if metadata.get("data_format") != "hdf5":
        raise DatasetError(f"{folder}: data format {metadata.get('data_format')!r}; rlgen reads Minari's hdf5 format only")
    original = metadata.get("rlgen_manifest")
    if original is not None:
        if not isinstance(original, dict):
            raise DatasetError(f"{where}: rlgen_manifest is not a JSON object; export the dataset again")
        m = DatasetManifest.from_dict(original, f"{where} (rlgen_manifest)")
        root = new_dataset_root(data_dir, name or m.name, "the dataset name" if name else where)
        check_game(m.game, m.mode)  # exported Procgen data: its step limit bounds every episode
        episodes = read_minari_episodes(folder, metadata, episode_step_limit(m.game))
        return write_dataset(
            root, episodes, name=root.name, env=m.env, levels=m.levels, behaviour=m.behaviour,
            seed=m.seed, config=m.config, original=m,
        )  # fmt: skip
    if name is None or game is None:
        raise DatasetError(f"{folder} was not exported by rlgen: pass a dataset name and --game for it")
    root = new_dataset_root(data_dir, name, "the dataset name")
    check_game(game, mode)
    n = max(_minari_level_seeds(folder, metadata)) + 1  # the training levels, before any episode is read
    episodes = (ep for _, ep in read_minari_episodes(folder, metadata, episode_step_limit(game)))
    return write_dataset(
        root,
        _shards_by_size(episodes, shard_transitions),
        name=name,
        env={"game": game, "mode": mode},
        levels=_training_levels(n, where),
        behaviour={"name": "minari", "label": str(metadata.get("algorithm_name") or "minari"), "source": f"Minari dataset {metadata.get('dataset_id')}"},
        seed=0,
        config={"source": "minari", "dataset_id": metadata.get("dataset_id"), "minari_version": metadata.get("minari_version"), "folder": str(folder.resolve())},
    )
