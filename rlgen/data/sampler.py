"""Minibatches decoded from the compressed shards on disk: training on data bigger than memory.

`ShardSampler` stands in for d3rlpy's `ReplayBuffer` in rlgen's training loop
(`rlgen.learn.base.train_d3rlpy`): it has `sample_transition_batch(batch_size)`,
`sample_trajectory_batch(batch_size, length)`, `dataset_info` and `transition_count`, and in place of
`episodes` (which would need every frame in memory) the small per-episode metadata the learners
ask for: `episode_count`, `episode_lengths`, `episode_returns`.

What a batch holds. Exactly what d3rlpy 2.8.1's `BasicTransitionPicker` and
`BasicTrajectorySlicer` give for the same sampled transitions of `Dataset.to_d3rlpy()`'s buffer
(the same episodes, in the same order, so transition `j` is the same transition in both): the
next frame of a terminal transition is zeros with `terminals = 1`; a truncated episode's last
action has no next frame and is not a transition; a truncated episode of one step carries no
transition at all; trajectories are padded at the front with zeros, with returns-to-go computed
by d3rlpy's own arithmetic. One difference, on purpose: observations stay uint8
((B, 3, 64, 64), or (B, L, 3, 64, 64) for trajectories) where d3rlpy casts them to float32.
d3rlpy's `update` turns uint8 arrays into the same float tensors (`convert_to_torch`), so the
training maths is unchanged, and a batch moves 4x fewer bytes (a decision-transformer batch of
128 x 20 frames is 31 MB instead of 126 MB). The batches' `transitions` list is empty: only
`compute_returns_to_go` algorithms (Cal-QL) read it, and rlgen's learners are not among them.

Memory, bounded whatever the dataset's size:

- in memory, for the whole dataset: actions (uint8) and rewards (float32) of every frame,
  5 bytes per transition, plus about 40 bytes per episode and 8 bytes per 64-frame chunk;
  the compressed frames are never loaded: each chunk is read with `os.pread` when needed;
- an LRU cache of decoded 64-frame chunks (786 KB each), at most `cache_bytes` (default 256 MiB);
- the batches in flight: `prefetch` queued ones, one being built, and the one being trained on.

Prefetch. With `prefetch > 0` a background thread builds the next batches while the learner
runs its gradient step; zstd and `pread` release the GIL, so decoding overlaps torch's work.

Sampling. Transitions are drawn uniformly, as d3rlpy does. Batch `k` (counting every batch this
sampler has handed out) draws its indices from `numpy.random.default_rng([seed, k])`, so each
batch is a function of (seed, k, what was asked) alone: the same seed gives the same run, with
or without prefetch, however far the prefetcher got. (d3rlpy's buffer draws from numpy's global
generator instead, so the two buffers give different, equally distributed, streams.)

Corrupt or truncated shards raise `DatasetError` naming the file, when the sampler opens it or
when a damaged chunk is first decoded (from the prefetch thread, re-raised to the caller).
"""

from __future__ import annotations

import os
import queue
import threading
import weakref
from collections import OrderedDict
from pathlib import Path
from typing import Any, Callable, Hashable, Protocol

import numpy as np
import zstandard
from d3rlpy.constants import ActionSpace
from d3rlpy.dataset import DatasetInfo, Signature, TrajectoryMiniBatch, TransitionMiniBatch

from rlgen.data.errors import DatasetError
from rlgen.data.manifest import DatasetManifest
from rlgen.data.shards import ShardReader, learner_layout, learner_shape

__all__ = ["DEFAULT_CACHE_BYTES", "FrameTrajectoryMiniBatch", "FrameTransitionMiniBatch", "ShardSampler", "ShardSource"]


class ShardSource(Protocol):
    """What the sampler reads of a dataset (`rlgen.data.dataset.Dataset` is one): its folder,
    manifest, shard paths and action count. A protocol rather than the class, so that the
    dataset module can build samplers without the two importing each other."""

    root: Path
    manifest: DatasetManifest

    @property
    def num_actions(self) -> int: ...

    def shard_path(self, name: str) -> Path: ...

DEFAULT_CACHE_BYTES = 256 * 2**20
"""Decoded chunks kept (256 MiB: about 340 chunks of 64 frames)."""
DEFAULT_PREFETCH = 2
"""Batches the background thread builds ahead of the learner."""
_MAX_OPEN_FILES = 64


class FrameTransitionMiniBatch(TransitionMiniBatch):
    """d3rlpy's `TransitionMiniBatch` with uint8 observations (B, C, H, W), or (B, D) for vector
    observations; every other array float32 as d3rlpy has it. d3rlpy's `update` converts uint8
    observations itself."""

    def __post_init__(self) -> None:
        _check_frames(self.observations, (2, 4), "observations")
        _check_frames(self.next_observations, (2, 4), "next_observations")
        for name in ("actions", "rewards", "next_actions", "terminals", "intervals"):
            _check_float32(getattr(self, name), name, ndim=2)


class FrameTrajectoryMiniBatch(TrajectoryMiniBatch):
    """d3rlpy's `TrajectoryMiniBatch` with uint8 observations (B, L, C, H, W), or (B, L, D)."""

    def __post_init__(self) -> None:
        _check_frames(self.observations, (3, 5), "observations")
        for name in ("actions", "rewards", "returns_to_go", "terminals"):
            _check_float32(getattr(self, name), name, ndim=3)
        for name in ("timesteps", "masks"):
            _check_float32(getattr(self, name), name, ndim=2)


def _check_frames(array: Any, ndims: tuple[int, ...], name: str) -> None:
    if not (isinstance(array, np.ndarray) and array.dtype == np.uint8 and array.ndim in ndims):
        raise TypeError(f"{name} must be a {' or '.join(map(str, ndims))}-d uint8 array, got {getattr(array, 'dtype', type(array))}")


def _check_float32(array: Any, name: str, ndim: int) -> None:
    if not (isinstance(array, np.ndarray) and array.dtype == np.float32 and array.ndim == ndim):
        raise TypeError(f"{name} must be a {ndim}-d float32 array, got {getattr(array, 'dtype', type(array))}")


class _FrameStore:
    """Frames of every shard by global frame index, decoded chunk by chunk through an LRU cache.

    Thread-safe (one lock around each gather): the prefetch thread and the caller may both read.
    """

    def __init__(self, shards: list[ShardReader], cache_bytes: int) -> None:
        self.shards = shards
        self.frame_shape = shards[0].frame_shape
        for s in shards:
            if s.frame_shape != self.frame_shape:
                raise DatasetError(f"shard {s.path} has frames {s.frame_shape}, others {self.frame_shape}")
        self.starts = np.concatenate([[0], np.cumsum([s.num_transitions for s in shards])]).astype(np.int64)
        self.chunk_frames = np.array([s.chunk_frames for s in shards], dtype=np.int64)
        self.cache_limit = int(cache_bytes)
        self._cache: OrderedDict[tuple[int, int], np.ndarray] = OrderedDict()
        self.cache_bytes = 0
        self.hits = 0
        self.misses = 0
        self._fds: OrderedDict[int, int] = OrderedDict()
        self._lock = threading.Lock()
        self._dctx = zstandard.ZstdDecompressor()

    def gather(self, frames: np.ndarray, out: np.ndarray, rows: np.ndarray) -> None:
        """`out[rows[k]] = frame frames[k]` in the learners' layout: out is (M, C, H, W) or (M, D) uint8."""
        frames = np.asarray(frames, dtype=np.int64)
        if len(frames) == 0:
            return
        shard = np.searchsorted(self.starts, frames, side="right") - 1
        local = frames - self.starts[shard]
        chunk = local // self.chunk_frames[shard]
        key = shard * (int(local.max()) + 1) + chunk
        order = np.argsort(key, kind="stable")
        bounds = np.flatnonzero(np.diff(key[order])) + 1
        groups = np.split(order, bounds)
        with self._lock:
            # cached chunks first, so this batch's decodes cannot evict them before they are read
            groups.sort(key=lambda g: (int(shard[g[0]]), int(chunk[g[0]])) not in self._cache)
            for group in groups:
                s, c = int(shard[group[0]]), int(chunk[group[0]])
                decoded = self._chunk(s, c)
                out[rows[group]] = learner_layout(decoded[local[group] - c * self.chunk_frames[s]])

    def _chunk(self, shard: int, chunk: int) -> np.ndarray:
        key = (shard, chunk)
        cached = self._cache.get(key)
        if cached is not None:
            self._cache.move_to_end(key)
            self.hits += 1
            return cached
        self.misses += 1
        decoded = self._decode(shard, chunk)
        if decoded.nbytes <= self.cache_limit:
            self._cache[key] = decoded
            self.cache_bytes += decoded.nbytes
            while self.cache_bytes > self.cache_limit:
                _, old = self._cache.popitem(last=False)
                self.cache_bytes -= old.nbytes
        return decoded

    def _decode(self, shard: int, chunk: int) -> np.ndarray:
        return self.shards[shard].decode_chunk(chunk, self._fd(shard), self._dctx)

    def _fd(self, shard: int) -> int:
        fd = self._fds.get(shard)
        if fd is not None:
            self._fds.move_to_end(shard)
            return fd
        try:
            fd = os.open(self.shards[shard].path, os.O_RDONLY)
        except FileNotFoundError:
            raise DatasetError(f"shard {self.shards[shard].path} is missing; rerun the collection to re-create it") from None
        self._fds[shard] = fd
        while len(self._fds) > _MAX_OPEN_FILES:
            _, old = self._fds.popitem(last=False)
            os.close(old)
        return fd

    def close(self) -> None:
        with self._lock:
            while self._fds:
                os.close(self._fds.popitem()[1])
            self._cache.clear()
            self.cache_bytes = 0


class _Batches:
    """Builds batches from global transition indices; shared by the caller and the prefetch thread."""

    def __init__(self, store: _FrameStore, actions: np.ndarray, rewards: np.ndarray, episodes: dict[str, np.ndarray], seed: int) -> None:
        self.store = store
        self.actions = actions  # (N,) uint8, every frame of every shard
        self.rewards = rewards  # (N,) float32
        self.ep_frame = episodes["frame_start"]  # (E,) global frame of each usable episode's first step
        self.ep_length = episodes["length"]  # (E,)
        self.ep_terminated = episodes["terminated"]  # (E,) bool
        self.ep_transitions = episodes["transition_start"]  # (E+1,) d3rlpy's transition numbering
        self.seed = seed
        self.transition_count = int(self.ep_transitions[-1])
        self.frame_shape = learner_shape(store.frame_shape)  # channel-first frames; vectors unchanged

    def indices(self, k: int, batch_size: int) -> np.ndarray:
        """Transitions of batch `k`: (batch_size,) int64, uniform, from `default_rng([seed, k])`."""
        return np.random.default_rng([self.seed, k]).integers(0, self.transition_count, size=batch_size)

    def locate(self, indices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(usable episode, step within it) of each global transition index."""
        j = np.asarray(indices, dtype=np.int64)
        if j.ndim != 1 or len(j) == 0:
            raise ValueError(f"indices must be a non-empty 1-d array, got shape {j.shape}")
        if j.min() < 0 or j.max() >= self.transition_count:
            raise IndexError(f"transition indices must lie in [0, {self.transition_count}), got [{j.min()}, {j.max()}]")
        e = np.searchsorted(self.ep_transitions, j, side="right") - 1
        return e, j - self.ep_transitions[e]

    def transition_batch(self, indices: np.ndarray) -> FrameTransitionMiniBatch:
        e, i = self.locate(indices)
        b = len(e)
        frame = self.ep_frame[e] + i
        terminal = self.ep_terminated[e] & (i == self.ep_length[e] - 1)
        live = np.flatnonzero(~terminal)
        both = np.zeros((b + len(live), *self.frame_shape), dtype=np.uint8)
        self.store.gather(np.concatenate([frame, frame[live] + 1]), both, np.arange(len(both)))
        next_observations = np.zeros((b, *self.frame_shape), dtype=np.uint8)
        next_observations[live] = both[b:]
        next_actions = np.zeros(b, dtype=np.float32)
        next_actions[live] = self.actions[frame[live] + 1]
        return FrameTransitionMiniBatch(
            observations=both[:b],  # (B, C, H, W) uint8
            actions=self.actions[frame].astype(np.float32)[:, None],  # (B, 1)
            rewards=self.rewards[frame][:, None],  # (B, 1)
            next_observations=next_observations,  # (B, C, H, W) uint8, zeros after a terminal
            next_actions=next_actions[:, None],  # (B, 1), 0 after a terminal
            terminals=terminal.astype(np.float32)[:, None],  # (B, 1)
            intervals=np.ones((b, 1), dtype=np.float32),  # (B, 1)
            transitions=[],
        )

    def trajectory_batch(self, indices: np.ndarray, length: int) -> FrameTrajectoryMiniBatch:
        """d3rlpy's `BasicTrajectorySlicer(episode, end_index=i, size=length)` for each index."""
        if length < 1:
            raise ValueError(f"length must be at least 1, got {length}")
        e, i = self.locate(indices)
        b = len(e)
        end = i + 1
        start = np.maximum(end - length, 0)
        pad = length - (end - start)
        step = np.arange(length)[None, :] - pad[:, None] + start[:, None]  # (B, L) step in the episode
        valid = np.arange(length)[None, :] >= pad[:, None]  # (B, L)
        frame = self.ep_frame[e][:, None] + step
        observations = np.zeros((b, length, *self.frame_shape), dtype=np.uint8)
        flat_rows = np.flatnonzero(valid.ravel())
        self.store.gather(frame[valid], observations.reshape(b * length, *self.frame_shape), flat_rows)
        actions = np.zeros((b, length), dtype=np.float32)
        rewards = np.zeros((b, length), dtype=np.float32)
        actions[valid] = self.actions[frame[valid]]
        rewards[valid] = self.rewards[frame[valid]]
        returns_to_go = np.zeros((b, length, 1), dtype=np.float32)
        for k in range(b):
            # d3rlpy's arithmetic, on the same (n, 1) float32 slice, so the values agree to the bit
            lo = int(self.ep_frame[e[k]] + start[k])
            tail = self.rewards[lo : int(self.ep_frame[e[k]] + self.ep_length[e[k]])][:, None]
            ret = np.sum(tail)
            all_returns_to_go = ret - np.cumsum(tail, axis=0) + tail
            returns_to_go[k, pad[k] :] = all_returns_to_go[: length - pad[k]]
        terminals = np.zeros((b, length, 1), dtype=np.float32)
        terminals[:, -1, 0] = self.ep_terminated[e] & (i == self.ep_length[e] - 1)
        return FrameTrajectoryMiniBatch(
            observations=observations,  # (B, L, C, H, W) uint8, zeros where padded
            actions=actions[:, :, None],  # (B, L, 1)
            rewards=rewards[:, :, None],  # (B, L, 1)
            returns_to_go=returns_to_go,  # (B, L, 1)
            terminals=terminals,  # (B, L, 1)
            timesteps=np.where(valid, step + 1, 0).astype(np.float32),  # (B, L), 1-based, 0 where padded
            masks=valid.astype(np.float32),  # (B, L)
            length=length,
        )

    def make(self, request: tuple, k: int) -> Any:
        kind, batch_size, *rest = request
        idx = self.indices(k, batch_size)
        if kind == "transition":
            return self.transition_batch(idx)
        return self.trajectory_batch(idx, rest[0])


class _Prefetcher:
    """A background thread building batches k, k+1, ... of one request into a bounded queue.

    A different request (another batch size or kind) restarts it at the caller's batch number,
    discarding what it built; batches depend only on (seed, k, request), so results do not change.
    """

    def __init__(self, make: Callable[[tuple, int], Any], depth: int) -> None:
        self._make = make
        self._depth = depth
        self._thread: threading.Thread | None = None
        self._stop: threading.Event | None = None
        self._queue: queue.Queue | None = None
        self._request: Hashable = None
        self._next = -1

    def get(self, request: tuple, k: int) -> Any:
        if self._thread is None or self._request != request or self._next != k:
            self.stop()
            self._start(request, k)
        assert self._queue is not None and self._thread is not None
        while True:
            try:
                item = self._queue.get(timeout=1.0)
                break
            except queue.Empty:
                if not self._thread.is_alive():
                    self._thread = None
                    raise RuntimeError("the sampler's prefetch thread ended without a batch") from None
        self._next = k + 1
        if isinstance(item, BaseException):
            self.stop()
            raise item
        return item

    def _start(self, request: tuple, k: int) -> None:
        self._queue = queue.Queue(maxsize=self._depth)
        self._stop = threading.Event()
        self._request, self._next = request, k
        self._thread = threading.Thread(
            target=_prefetch_loop, args=(self._make, request, k, self._queue, self._stop), name="rlgen-sampler-prefetch", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            assert self._stop is not None
            self._stop.set()
            self._thread.join()
        self._thread = self._stop = self._queue = None
        self._request, self._next = None, -1


def _prefetch_loop(make: Callable[[tuple, int], Any], request: tuple, k: int, out: queue.Queue, stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            item = make(request, k)
        except BaseException as exc:  # handed to the caller, who re-raises it
            item = exc
        while not stop.is_set():
            try:
                out.put(item, timeout=0.05)
                break
            except queue.Full:
                continue
        if isinstance(item, BaseException):
            return
        k += 1


class ShardSampler:
    """A d3rlpy-compatible buffer that decodes minibatches from a dataset's shards on disk.

    Build it with `Dataset.sampler(seed)`; close it (or use it as a context manager) to stop the
    prefetch thread and close the shard files. See the module docstring for what batches hold,
    the memory bound and the sampling.
    """

    def __init__(self, dataset: ShardSource, *, seed: int, cache_bytes: int = DEFAULT_CACHE_BYTES, prefetch: int = DEFAULT_PREFETCH) -> None:
        if seed < 0:
            raise ValueError(f"seed must be non-negative, got {seed}")
        if cache_bytes < 0 or prefetch < 0:
            raise ValueError(f"cache_bytes and prefetch must be non-negative, got {cache_bytes} and {prefetch}")
        self.root = dataset.root
        self.seed = int(seed)
        shards = []
        for record in dataset.manifest.shards:
            shard = ShardReader(dataset.shard_path(record.name))
            if shard.num_transitions != record.transitions:
                raise DatasetError(
                    f"shard {shard.path} holds {shard.num_transitions} transitions, its manifest says {record.transitions}; "
                    "verify the dataset (`rlgen datasets verify`)"
                )
            shards.append(shard)
        if not shards:
            raise DatasetError(f"dataset {self.root} has no shards")
        actions = np.concatenate([s.arrays["actions"] for s in shards]).astype(np.uint8)
        rewards = np.concatenate([s.arrays["rewards"] for s in shards]).astype(np.float32)
        episodes = _usable_episodes(shards)
        for s in shards:  # keep only what sampling needs
            s.arrays = {}
        if len(episodes["length"]) == 0:
            raise DatasetError(f"dataset {self.root} has no usable episodes")
        num_actions = dataset.num_actions
        if actions.max(initial=0) >= num_actions:
            raise DatasetError(f"dataset {self.root} has action {int(actions.max())}; its environment has {num_actions} actions")
        store = _FrameStore(shards, cache_bytes)
        self._batches = _Batches(store, actions, rewards, episodes, self.seed)
        self._prefetcher = _Prefetcher(self._batches.make, prefetch) if prefetch > 0 else None
        self._k = 0
        # (E,) steps of each episode d3rlpy's buffer holds, in its order, and their returns, each
        # summed in float32 as d3rlpy's `Episode.compute_return` does (so the values agree)
        self.episode_lengths: np.ndarray = episodes["length"].copy()
        self.episode_returns: np.ndarray = np.array(
            [float(np.sum(rewards[f : f + n][:, None])) for f, n in zip(episodes["frame_start"], episodes["length"])]
        )
        shape = self._batches.frame_shape
        self.dataset_info = DatasetInfo(
            observation_signature=Signature(dtype=[np.dtype(np.uint8)], shape=[shape]),
            action_signature=Signature(dtype=[np.dtype(np.int64)], shape=[(1,)]),
            reward_signature=Signature(dtype=[np.dtype(np.float32)], shape=[(1,)]),
            action_space=ActionSpace.DISCRETE,
            action_size=num_actions,
        )
        self._finalizer = weakref.finalize(self, _shutdown, self._prefetcher, store)

    # -- what the training loop and the learners read --------------------------------------

    @property
    def transition_count(self) -> int:
        return self._batches.transition_count

    @property
    def episode_count(self) -> int:
        return len(self.episode_lengths)

    @property
    def episodes(self) -> Any:
        raise AttributeError(
            "ShardSampler does not materialize episodes (their frames need not fit in memory); "
            "use episode_count, episode_lengths and episode_returns, or train with data: memory"
        )

    def sample_transition_batch(self, batch_size: int) -> FrameTransitionMiniBatch:
        """Next batch of `batch_size` uniformly drawn transitions (see `transition_batch`)."""
        return self._next(("transition", int(batch_size)))

    def sample_trajectory_batch(self, batch_size: int, length: int) -> FrameTrajectoryMiniBatch:
        """Next batch of `batch_size` partial trajectories of `length` steps, ending at uniformly drawn transitions."""
        return self._next(("trajectory", int(batch_size), int(length)))

    # -- batches for given indices (tests, custom loops) ------------------------------------

    def transition_batch(self, indices: np.ndarray) -> FrameTransitionMiniBatch:
        """The transitions at d3rlpy transition indices `indices` ((B,) in [0, transition_count))."""
        return self._batches.transition_batch(indices)

    def trajectory_batch(self, indices: np.ndarray, length: int) -> FrameTrajectoryMiniBatch:
        """Partial trajectories of `length` steps ending at transitions `indices`."""
        return self._batches.trajectory_batch(indices, length)

    def batch_indices(self, k: int, batch_size: int) -> np.ndarray:
        """The transition indices batch number `k` draws."""
        return self._batches.indices(k, batch_size)

    @property
    def batches_drawn(self) -> int:
        return self._k

    def observation_maxima(self) -> np.ndarray:
        """(D,) uint8 each entry's maximum over every stored observation (decodes every chunk once;
        meant for (N, D) vector data, where the whole dataset is small)."""
        maxima = None
        for shard in self._batches.store.shards:
            for chunk in range(shard.num_chunks):
                m = shard.decode_chunk(chunk).max(axis=0)
                maxima = m if maxima is None else np.maximum(maxima, m)
        return maxima

    @property
    def cache_stats(self) -> dict[str, int]:
        """Decoded-chunk cache: bytes held, its limit, hits and misses (chunks decoded)."""
        s = self._batches.store
        return {"bytes": s.cache_bytes, "limit": s.cache_limit, "chunks": len(s._cache), "hits": s.hits, "misses": s.misses}

    def close(self) -> None:
        """Stop the prefetch thread and close the shard files; sampling after this reopens them."""
        _shutdown(self._prefetcher, self._batches.store)

    def __enter__(self) -> ShardSampler:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def _next(self, request: tuple) -> Any:
        k = self._k
        batch = self._batches.make(request, k) if self._prefetcher is None else self._prefetcher.get(request, k)
        self._k = k + 1
        return batch


def _shutdown(prefetcher: _Prefetcher | None, store: _FrameStore) -> None:
    if prefetcher is not None:
        prefetcher.stop()
    store.close()


def _usable_episodes(shards: list[ShardReader]) -> dict[str, np.ndarray]:
    """The episodes `Dataset.to_d3rlpy` keeps, in its order, with d3rlpy's transition numbering.

    Kept: terminated episodes, and truncated ones of two or more steps. A terminated episode of
    T steps has T transitions (the last ends in a terminal); a truncated one T - 1.
    """
    frame_start, length, terminated = [], [], []
    offset = 0
    for s in shards:
        starts = s.arrays["episode_starts"].astype(np.int64)
        lengths = np.diff(starts)
        term = s.arrays["terminated"].astype(bool)
        keep = term | (lengths > 1)
        frame_start.append(offset + starts[:-1][keep])
        length.append(lengths[keep])
        terminated.append(term[keep])
        offset += s.num_transitions
    length_all = np.concatenate(length).astype(np.int64)
    terminated_all = np.concatenate(terminated)
    transitions = np.where(terminated_all, length_all, length_all - 1)
    return {
        "frame_start": np.concatenate(frame_start).astype(np.int64),
        "length": length_all,
        "terminated": terminated_all,
        "transition_start": np.concatenate([[0], np.cumsum(transitions)]).astype(np.int64),
    }
