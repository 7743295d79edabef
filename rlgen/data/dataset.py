"""Loading a dataset: verify checksums, iterate episodes, build a d3rlpy replay buffer or sampler.

A dataset is a folder: `manifest.json` plus `shards/shard-NNNNN.npz`. It is found by path, or by
name under the data directory (`rlgen.core.data_dir`: a given `data_dir`, else $RLGEN_DATA_DIR, else ./data).

Two buffers train the learners, giving batches of identical content (see `rlgen.data.sampler`):
`to_d3rlpy()` decodes every frame into memory (12,288 bytes a transition) and is the fastest to
sample; `sampler(seed)` decodes minibatches from the compressed shards on disk, keeping 5 bytes a
transition (actions, rewards) plus a bounded cache of decoded chunks in memory.
`training_buffer(data, seed=...)` picks one: `data="auto"` takes the in-memory buffer while the
decoded frames fit in `IN_MEMORY_LIMIT_BYTES` (4 GiB, about 350k transitions), the sampler
beyond. The limit is a fixed constant, not a fraction of this machine's memory, so the same
config and seed pick the same buffer (and give the same run) everywhere.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import numpy as np

from rlgen.core.data_dir import resolve_data_dir
from rlgen.data.errors import DatasetError
from rlgen.data.manifest import MANIFEST_NAME, DatasetManifest, ShardRecord, manifest_sha256
from rlgen.data.names import check_shard_name, inside, regular_file
from rlgen.data.shards import EpisodeData, ShardReader, file_sha256, learner_layout

SHARDS_DIR = "shards"
FRAME_BYTES = 64 * 64 * 3
"""Bytes of one decoded uint8 Procgen frame."""
IN_MEMORY_LIMIT_BYTES = 4 * 2**30
"""Largest decoded-frame size `training_buffer("auto")` loads into memory."""
DATA_MODES = ("auto", "memory", "disk")
"""How a learner reads its data: see `Dataset.training_buffer`."""


class Dataset:
    """A finished dataset on disk. Frames are decoded shard by shard, never all at once unless asked."""

    def __init__(self, root: Path, manifest: DatasetManifest) -> None:
        self.root = Path(root)
        self.manifest = manifest

    @property
    def name(self) -> str:
        return self.manifest.name

    @property
    def num_actions(self) -> int:
        """Discrete actions of the data's environment: the manifest's `env.num_actions` where the
        environment records it (the stitching maze: 5), else Procgen's 15."""
        return self.manifest.num_actions

    @property
    def sha256(self) -> str:
        """The manifest's sha256: how results cite this dataset."""
        return manifest_sha256(self.root)

    def shard_path(self, name: str) -> Path:
        """The file of shard `name`: a shard file name (`shard-NNNNN.npz`) inside `shards/`, never
        a path the manifest makes up (`../x.npz`, `/dev/zero`); see `rlgen.data.names`."""
        where = self.root / MANIFEST_NAME
        return inside(self.root / SHARDS_DIR, check_shard_name(name, where), where=where)

    def verify(self) -> None:
        """Check every shard against the manifest; the error names the file and what to do.

        Per shard: a regular file (a device or pipe would be read forever), whose sha256 is the
        manifest's, holding only stored (uncompressed) zip members (so no member can expand
        beyond the file's size), whose per-episode arrays (lengths, level seeds, returns, partial
        flags) are the manifest's.
        The sha256 alone proves only that the manifest and the shards were written together;
        these checks catch a manifest edited afterwards (counts, levels, returns), which training
        would otherwise take at its word. Frames are not decoded: this reads a few small arrays.
        """
        manifest_path = self.root / MANIFEST_NAME
        for record in self.manifest.shards:
            path = self.shard_path(record.name)
            try:
                regular_file(path, manifest_path)
            except FileNotFoundError:
                raise DatasetError(f"shard {path} listed in {manifest_path} is missing; {self._rebuild_advice()}") from None
            actual = file_sha256(path)
            if actual != record.sha256:
                raise DatasetError(
                    f"shard {path} is corrupt: sha256 {actual[:16]}... does not match the manifest's "
                    f"{record.sha256[:16]}...; {self._rebuild_advice(delete=True)}"
                )
            _check_stored_members(path, self._rebuild_advice(delete=True))
            self._check_episodes(record, ShardReader(path).episode_arrays(), path)

    def _rebuild_advice(self, delete: bool = False) -> str:
        """What rebuilds a shard: rerunning the collection that made it (which repairs a finished
        dataset in place), or for an imported dataset (its config names a `source`) the import."""
        if "source" in self.manifest.config:
            return f"delete the dataset folder {self.root} and rerun the import that built it ({self.manifest.config['source']})"
        return ("delete it and " if delete else "") + "rerun the collection command that built this dataset to re-create it"

    def _check_episodes(self, record: ShardRecord, arrays: dict[str, np.ndarray], path: Path) -> None:
        """The shard's per-episode arrays against the manifest's record of it."""
        where = self.root / MANIFEST_NAME
        fix = "the manifest was edited or does not belong to these shards: restore it from the dataset's source"
        lengths = [int(x) for x in arrays["lengths"]]
        if lengths != list(record.lengths):
            raise DatasetError(
                f"{where}: shard {record.name} lists {record.episodes} episodes, {record.transitions} transitions; "
                f"{path} holds {len(lengths)} episodes, {sum(lengths)} transitions (episode lengths differ); {fix}"
            )
        seeds = [int(x) for x in arrays["level_seeds"]]
        if seeds != list(record.level_seeds):
            first = next(i for i, (a, b) in enumerate(zip(seeds, record.level_seeds)) if a != b)
            raise DatasetError(
                f"{where}: shard {record.name} lists level seed {record.level_seeds[first]} for episode {first}, "
                f"{path} holds level {seeds[first]}; {fix}"
            )
        train = self.manifest.levels.train
        outside = sorted({seed for seed in seeds if seed not in train})
        if outside:
            raise DatasetError(f"{where}: shard {record.name} holds episodes on level(s) {outside[:5]} outside its training levels {train}; {fix}")
        partial = [bool(x) for x in arrays["partial"]]
        if partial != list(record.partial):
            raise DatasetError(f"{where}: shard {record.name}'s partial flags differ from those in {path}; {fix}")
        returns = np.asarray(arrays["returns"], dtype=np.float64)
        listed = np.asarray(record.returns, dtype=np.float64)
        wrong = np.flatnonzero(~np.isclose(returns, listed, rtol=1e-9, atol=1e-6))
        if len(wrong):
            i = int(wrong[0])
            raise DatasetError(
                f"{where}: shard {record.name} lists return {listed[i]:g} for episode {i}, "
                f"{path}'s rewards sum to {returns[i]:g}; {fix}"
            )

    def episodes(self) -> Iterator[EpisodeData]:
        for record in self.manifest.shards:
            yield from ShardReader(self.shard_path(record.name)).contents().episodes()

    def to_d3rlpy(self):
        """A d3rlpy ReplayBuffer: channel-first (3, 64, 64) uint8 frames (or (D,) uint8 vectors, as
        stored), `num_actions` discrete actions.

        Terminated episodes end in a terminal; truncated ones (step limit, or cut by a shard's
        quota) end in a timeout, so their last action has no next frame and is not a transition.
        Truncated episodes of one step carry no transition and are skipped.
        """
        import d3rlpy
        from d3rlpy.dataset import Episode, InfiniteBuffer, ReplayBuffer, Signature

        episodes = [
            Episode(
                observations=learner_layout(ep.observations),
                actions=ep.actions.astype(np.int64)[:, None],
                rewards=ep.rewards.astype(np.float32)[:, None],
                terminated=ep.terminated,
            )
            for ep in self.episodes()
            if ep.terminated or ep.length > 1
        ]
        if not episodes:
            raise DatasetError(f"dataset {self.root} has no usable episodes")
        return ReplayBuffer(
            InfiniteBuffer(),
            episodes=episodes,
            # given, not inferred: d3rlpy logs a line per buffer when it infers them
            observation_signature=Signature(dtype=[np.dtype(np.uint8)], shape=[episodes[0].observations.shape[1:]]),
            action_signature=Signature(dtype=[np.dtype(np.int64)], shape=[(1,)]),
            reward_signature=Signature(dtype=[np.dtype(np.float32)], shape=[(1,)]),
            action_space=d3rlpy.ActionSpace.DISCRETE,
            action_size=self.num_actions,
        )

    @property
    def decoded_frame_bytes(self) -> int:
        """Memory the observations take decoded (what `to_d3rlpy()` holds): transitions x bytes of
        one observation (a Procgen frame 12,288; the first shard's header says; 0 shards: frames)."""
        shards = self.manifest.shards
        per = FRAME_BYTES if not shards else ShardReader(self.shard_path(shards[0].name)).frame_bytes
        return self.manifest.transitions * per

    def sampler(self, seed: int, *, cache_bytes: int | None = None, prefetch: int | None = None):
        """A `ShardSampler`: minibatches decoded from the shards on disk, memory bounded.

        `seed` (the training seed) fixes the sampled indices; `cache_bytes` bounds the cache of
        decoded chunks (default 256 MiB); `prefetch` is how many batches a background thread
        builds ahead (default 2; 0 = none). Close it when done (it is a context manager).
        """
        from rlgen.data.sampler import DEFAULT_CACHE_BYTES, DEFAULT_PREFETCH, ShardSampler  # deferred: d3rlpy

        return ShardSampler(
            self,
            seed=seed,
            cache_bytes=DEFAULT_CACHE_BYTES if cache_bytes is None else cache_bytes,
            prefetch=DEFAULT_PREFETCH if prefetch is None else prefetch,
        )

    def training_buffer(self, data: str = "auto", *, seed: int, limit_bytes: int = IN_MEMORY_LIMIT_BYTES):
        """The buffer a learner trains from: `data` is "memory" (`to_d3rlpy()`), "disk"
        (`sampler(seed)`) or "auto" (memory while `decoded_frame_bytes <= limit_bytes`, else disk).

        Close the returned buffer if it has a `close` method (the sampler does).
        """
        if data not in DATA_MODES:
            raise ValueError(f"data must be one of {', '.join(DATA_MODES)}; got {data!r}")
        if data == "memory" or (data == "auto" and self.decoded_frame_bytes <= limit_bytes):
            return self.to_d3rlpy()
        return self.sampler(seed)


def _check_stored_members(path: Path, advice: str) -> None:
    """Refuse a shard whose zip members are compressed: rlgen stores them plain, so each member's
    size is bounded by the file's, and reading the small arrays cannot inflate without bound."""
    import zipfile

    try:
        with zipfile.ZipFile(path) as zf:
            packed = [i.filename for i in zf.infolist() if i.compress_type != zipfile.ZIP_STORED or i.file_size != i.compress_size]
    except (zipfile.BadZipFile, OSError) as exc:
        raise DatasetError(f"shard {path} cannot be read ({type(exc).__name__}: {exc}); {advice}") from exc
    if packed:
        raise DatasetError(
            f"shard {path}: members {packed[:3]} are compressed inside the zip; rlgen shards store every member plain "
            "(frames are compressed in chunks): it was not written by rlgen, rebuild it with rlgen"
        )


def resolve_dataset_path(name_or_path: str | Path, data_dir: Path | None = None) -> Path:
    path = Path(name_or_path)
    if (path / MANIFEST_NAME).exists() or path.is_dir():
        return path
    return resolve_data_dir(data_dir) / str(name_or_path)


def load_dataset(name_or_path: str | Path, data_dir: Path | None = None, verify: bool = True) -> Dataset:
    """Open a dataset by folder path or by name under the data directory; verify checksums by default."""
    root = resolve_dataset_path(name_or_path, data_dir)
    if not root.exists():
        raise DatasetError(
            f"no dataset at {root}; build it with `rlgen collect CONFIG` or list datasets with `rlgen datasets list`"
        )
    dataset = Dataset(root, DatasetManifest.read(root))
    if verify:
        dataset.verify()
    return dataset
