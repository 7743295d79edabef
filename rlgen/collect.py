"""Collection: Ray actors run a behaviour policy on the training levels and write shards themselves.

The unit of work is a shard. Shard `i` is a deterministic function of the config and `i`: its
environments and policy are seeded from (collect.seed, i), it holds the episodes that finished in
the order they finished, then the ones still open at its end, cut there (marked `partial`, a
timeout), so no env step is wasted and the quota is exact. So the same config and seed give byte-identical shards whichever actor
runs them, and an interrupted collection resumes by collecting only the shards not yet on disk.
Actors return a `ShardRecord` (counts, checksum, level seeds, returns, and per level the 8-byte
digests of its distinct frames); frames never cross the object store. The driver writes the
manifest last, with the union of those digests as its `diversity` (distinct frames per level and
per 1k transitions): a folder with a manifest is a finished dataset.

Integrity. The dataset folder is locked for the whole collection (`rlgen.data.lock`): a second
collection into it stops at once, naming the first. Each shard's sha256 is computed by its
writer while writing and kept beside it (`shard-NNNNN.npz.sha256`); a resumed collection takes a
shard only if the file still has that digest (a shard without one, or changed since, is
collected again), so a shard damaged on disk never enters a manifest. A finished dataset whose
shard is missing or damaged (`verify` says to delete it and rerun) is repaired by rerunning the
same collection: the shard is collected again aside and put in place only if its bytes are
the ones the manifest lists (`_repair`), so the manifest, and every result citing it, stands.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import time
import warnings
from pathlib import Path
from typing import Callable

import numpy as np

from rlgen.core.config import ExperimentConfig
from rlgen.core.games import normalize_returns
from rlgen.core.imports import import_modules
from rlgen.core.provenance import provenance
from rlgen.data.atomic import atomic_write_bytes, remove_stray_temporaries
from rlgen.data.dataset import SHARDS_DIR, Dataset, load_dataset
from rlgen.data.errors import DatasetError
from rlgen.data.manifest import MANIFEST_NAME, DatasetManifest, ShardRecord, diversity_section, union_by_level
from rlgen.data.lock import folder_lock
from rlgen.data.shards import EpisodeData, ShardWriter, digest_path, file_sha256, frame_digests, written_digest
from rlgen.data.writer import record_of_shard, shard_name, shard_record, write_manifest
from rlgen.policies.base import Policy, call_if_present
from rlgen.policies.registry import effective_options
from rlgen.worlds import world_of

COLLECT_SPEC_NAME = "collect.json"
REPAIR_DIR = ".repair"
"""Inside a finished dataset's folder: shards collected again to repair it, before they are checked."""
RESTART_POLL_S = 1.0
"""How often the driver asks again after an actor that Ray is still restarting."""


def shard_seeds(collect_seed: int, index: int) -> tuple[int, int]:
    """Independent (environment, policy) seeds for shard `index`."""
    env_seed, policy_seed = np.random.SeedSequence([collect_seed, index]).generate_state(2)
    return int(env_seed % (2**31 - 1)), int(policy_seed)


class _OpenEpisodes:
    """Per-slot buffers of the episodes in progress: each step is stored once, in its slot's row.

    A step writes every slot's frame, action and reward into row `slot`, column `length[slot]`
    of preallocated arrays (one vectorized store each, no Python work per env); an episode that
    ends is handed out as one contiguous slice. The buffers double when an episode outgrows
    them (they start at the env's `step_limit` where it has one, so they never do), and the last
    ones a process used are reused by its next shard: first-touching hundreds of MB of fresh
    pages per shard cost as much as copying the frames. `extras` names
    per-step arrays of the env's info to keep (the stitching maze's waypoints).
    """

    _reusable: _OpenEpisodes | None = None

    @classmethod
    def for_env(cls, obs: np.ndarray, info: dict, extras: tuple[str, ...], capacity: int = 256) -> _OpenEpisodes:
        spare = cls._reusable
        layout = cls._layout(obs, info, extras)
        if spare is None or spare.layout != layout or spare.obs.shape[1] < capacity:
            spare = cls._reusable = cls(obs, info, extras, capacity)
        spare.length[:] = 0
        return spare

    @staticmethod
    def _layout(obs, info, extras) -> tuple:
        return (obs.shape, obs.dtype.str, tuple((k, np.shape(info[k]), np.asarray(info[k]).dtype.str) for k in extras))

    def __init__(self, obs: np.ndarray, info: dict, extras: tuple[str, ...], capacity: int = 256) -> None:
        n = len(obs)
        self.layout = self._layout(obs, info, extras)
        self.slots = np.arange(n)
        self.length = np.zeros(n, dtype=np.int64)
        self.obs = np.empty((n, capacity, *obs.shape[1:]), dtype=obs.dtype)
        self.actions = np.empty((n, capacity), dtype=np.uint8)
        self.rewards = np.empty((n, capacity), dtype=np.float32)
        self.extras = {k: np.empty((n, capacity, *np.shape(info[k])[1:]), dtype=np.asarray(info[k]).dtype) for k in extras}

    def record(self, obs, info, actions, rewards, active: slice) -> None:
        if self.length.max() == self.obs.shape[1]:
            self._grow()
        slots, at = self.slots[active], self.length[active]
        self.obs[slots, at] = obs[active]
        self.actions[slots, at] = actions[active]
        self.rewards[slots, at] = rewards[active]
        for k, buf in self.extras.items():
            buf[slots, at] = np.asarray(info[k])[active]
        self.length[active] += 1

    def take(self, slot: int, **ending) -> EpisodeData:
        """Slot `slot`'s episode as views into the buffers (valid until the slot records again)."""
        t = int(self.length[slot])
        self.length[slot] = 0
        return EpisodeData(
            observations=self.obs[slot, :t],
            actions=self.actions[slot, :t],
            rewards=self.rewards[slot, :t],
            extras={k: buf[slot, :t] for k, buf in self.extras.items()},
            **ending,
        )

    def _grow(self) -> None:
        def doubled(a):
            return np.concatenate([a, np.empty_like(a)], axis=1)

        self.obs, self.actions, self.rewards = doubled(self.obs), doubled(self.actions), doubled(self.rewards)
        self.extras = {k: doubled(buf) for k, buf in self.extras.items()}


def run_episodes(env, policy: Policy, quota: int, seed: int, emit: Callable[[EpisodeData], None]) -> None:
    """Step `env` with `policy` for exactly `quota` transitions, handing each episode to `emit`.

    The env takes ceil(quota / num_envs) steps and every one of them is kept: on the last step
    only the first slots count, to make the quota exact. Episodes that finished come first, in
    the order they finished; the ones still open at the end follow in slot order, cut there
    (marked `partial`, a timeout). Keeping them, rather than dropping them to hold complete
    episodes only, wastes no env step and does not bias the data toward short episodes (the
    likelier to have finished); a partial episode's return is left out of the measured skill.
    The frame Procgen returns with an episode's last reward belongs to the next episode and
    starts it. `emit` gets views into reused buffers: it must copy what it keeps.
    """
    obs, info = env.reset(seed=seed)
    n = env.num_envs
    call_if_present(policy, "attach", env)
    call_if_present(policy, "reset", np.arange(n))
    buffers = _OpenEpisodes.for_env(obs, info, tuple(getattr(env, "step_extras", ())), getattr(env, "step_limit", 256))
    level = info["level_seed"].copy()
    steps = -(-quota // n)
    for t in range(steps):
        active = slice(None) if t < steps - 1 else slice(0, quota - n * t)
        actions = np.asarray(policy.act(obs))
        step_obs, step_info = obs, info
        obs, rewards, terminated, truncated, info = env.step(actions)
        buffers.record(step_obs, step_info, actions, rewards, active)
        call_if_present(policy, "observe", rewards)
        ended = np.flatnonzero(terminated[active] | truncated[active])
        for i in ended:
            if info["episode_level_seed"][i] != level[i]:
                raise RuntimeError(
                    f"env slot {i}: episode started on level {level[i]} but ended on "
                    f"{info['episode_level_seed'][i]}; the auto-reset bookkeeping is broken"
                )
            emit(
                buffers.take(
                    i, level_seed=int(level[i]), terminated=bool(terminated[i]), truncated=bool(truncated[i]),
                    level_complete=bool(info["level_complete"][i]),
                )  # fmt: skip
            )
            level[i] = info["level_seed"][i]
        if len(ended):
            call_if_present(policy, "reset", ended)
    for i in np.flatnonzero(buffers.length):
        emit(buffers.take(i, level_seed=int(level[i]), terminated=False, truncated=True, level_complete=False, partial=True))


def untrusted_shard(path: Path) -> str | None:
    """Why a shard left by an interrupted collection cannot be resumed from, or None when its
    file still has the sha256 its writer recorded beside it (`ShardWriter.write(keep_digest=True)`).

    The digest is the writer's, taken from the bytes as they went to disk: rehashing the file as
    it is now would vouch for whatever it has become (a flipped bit, a truncated copy).
    """
    expected = written_digest(path)
    if expected is None:
        return (
            f"shard {path} has no sha256 recorded by its writer ({digest_path(path).name} is missing or unreadable: "
            "written by an older rlgen, or interrupted just after writing), so it cannot be trusted"
        )
    actual = file_sha256(path)
    if actual != expected:
        return f"shard {path} changed on disk since it was written: sha256 {actual[:16]}..., its writer recorded {expected[:16]}..."
    return None


def collect_shard(config: ExperimentConfig, index: int, shard_dir: Path) -> ShardRecord:
    """Collect shard `index` of the dataset `config` describes and write it to `shard_dir`.

    The environment on the training levels and the behaviour policy come from the config's world
    (`rlgen.worlds`): Procgen, or the stitching maze with region-restricted tasks.
    """
    world = world_of(config)
    env_seed, policy_seed = shard_seeds(config.collect.seed, index)
    env = world.training_env(config.levels.split.train, config.collect.envs_per_worker)
    policy = world.behaviour_policy(config.collect.policy, policy_seed)
    writer = ShardWriter(env.single_observation_space.shape)
    digests: list[np.ndarray] = []

    def emit(episode: EpisodeData) -> None:
        writer.add(episode)
        digests.append(frame_digests(episode.observations))  # one batch per episode, while its frames are at hand

    started = time.perf_counter()
    run_episodes(env, policy, config.collect.shard_quota(index), env_seed, emit)
    env.close()
    path = Path(shard_dir) / shard_name(index)
    sha256 = writer.write(path, keep_digest=True)
    stats = {"seconds": round(time.perf_counter() - started, 3)}
    layer = policy
    while layer is not None:  # mixtures wrap the expert (`inner`), maybe twice: keep every layer's stats
        stats.update(getattr(layer, "stats", {}))
        layer = getattr(layer, "inner", None)
    # The record comes from what was written (the digest of the bytes as they went to disk),
    # not from reading the shard back, which decoded and copied every frame a second time.
    return shard_record(path.name, sha256, writer.episode_arrays(), stats, np.concatenate(digests))


class ShardCollector:
    """A Ray actor: one process that collects the shards the driver hands it.

    It holds no state beyond the config, so Ray can restart it on any node after its node dies
    (its constructor simply runs again) and a shard can go to whichever collector is free: shard
    `i`'s bytes and file name depend only on (config, i), and the file is renamed into place
    only once complete, so a shard collected twice is the same file written twice.
    """

    def __init__(self, config: ExperimentConfig, shard_dir: str) -> None:
        import_modules(config.imports)  # a user's world or behaviour registers itself in this process too
        self.config = config
        self.shard_dir = Path(shard_dir)

    def ready(self) -> bool:
        """Answers once the actor is (again) alive: the driver's sign that a restart finished."""
        return True

    def collect(self, index: int) -> ShardRecord:
        import ray

        record = collect_shard(self.config, index, self.shard_dir)
        # Where it ran, for the manifest's stats (which node's loss would have cost this shard).
        return dataclasses.replace(record, stats={**record.stats, "node": ray.get_runtime_context().get_node_id()})


def measured_skill(records: list[ShardRecord], game: str, mode: str, seed: int = 0, normalize: Callable | None = None) -> dict:
    """Mean return of the behaviour policy on the training levels, from the full episodes collected.

    `normalize(returns)` scores returns (default: Cobbe's constants for Procgen `game` / `mode`)."""
    from rlgen.stats import bootstrap_ci_over_units

    returns = np.array([r for rec in records for r, p in zip(rec.returns, rec.partial) if not p])
    lengths = np.array([n for rec in records for n, p in zip(rec.lengths, rec.partial) if not p])
    if len(returns) == 0:
        return {"episodes": 0}
    low, high = bootstrap_ci_over_units(returns, np.mean, rng=np.random.default_rng(seed))
    return {
        "episodes": int(len(returns)),
        "mean_return": float(returns.mean()),
        "mean_return_ci95": [float(low), float(high)],
        "normalized_mean_return": float(normalize(returns.mean()) if normalize else normalize_returns(returns.mean(), game, mode)),
        "mean_length": float(lengths.mean()),
        "measured_on": "training levels (the episodes in this dataset)",
    }


def _collection_spec(config: ExperimentConfig) -> dict:
    """What determines the dataset's bytes; a resumed collection must match it exactly."""
    return {
        "dataset": config.dataset_name,
        "env": config.env.spec,
        "levels": config.levels.split.to_dict(),
        "collect": config.to_dict()["collect"],
    }


def collect_dataset(config: ExperimentConfig, address: str | None = None, progress: bool = True) -> Dataset:
    """Build (or finish, or repair, or just verify) the dataset `config` describes, with Ray actors.

    The dataset folder is locked throughout (`rlgen.data.lock`); see the module docstring."""
    import_modules(config.imports)
    world = world_of(config)
    world.check_behaviour(config.collect.policy)
    if hasattr(world, "check_levels"):  # a world with finite level sets (WebShop's instructions)
        world.check_levels(config.levels.split)
    root = config.dataset_dir()
    spec = _collection_spec(config)
    _check_spec(root, spec)
    with folder_lock(root, "dataset"):
        _check_spec(root, spec)  # again, now that no other collection can be writing it
        if (root / MANIFEST_NAME).exists():
            return _finished(config, root, address, progress)
        return _collect_locked(config, world, root, spec, address, progress)


def _check_spec(root: Path, spec: dict) -> None:
    """Refuse a folder holding a dataset collected with another config (`collect.json`)."""
    spec_path = root / COLLECT_SPEC_NAME
    if spec_path.exists():
        try:
            existing = json.loads(spec_path.read_text())
        except ValueError:
            existing = None
        if existing != spec:
            raise DatasetError(
                f"{root} holds a dataset collected with a different config ({spec_path} differs); "
                "choose another data_dir or delete that folder"
            )


def _collect_locked(config: ExperimentConfig, world, root: Path, spec: dict, address: str | None, progress: bool) -> Dataset:
    """Collect the shards not yet on disk (or not to be trusted), then write the manifest."""
    shard_dir = root / SHARDS_DIR
    spec_path = root / COLLECT_SPEC_NAME
    shard_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(spec_path, json.dumps(spec, indent=1).encode())
    for stray in remove_stray_temporaries(shard_dir):
        warnings.warn(f"removed {stray}, a temporary file left by an interrupted collection", stacklevel=3)

    records: dict[int, ShardRecord] = {}
    for index in range(config.collect.num_shards):
        path = shard_dir / shard_name(index)
        if not path.exists():
            continue
        problem = untrusted_shard(path)
        if problem is None:
            try:
                records[index] = record_of_shard(path, {"resumed": True}, digests=True, sha256=written_digest(path))
            except DatasetError as exc:  # e.g. a chunk whose zstd checksum fails
                problem = str(exc)
        if problem is not None:
            warnings.warn(f"{problem}; collecting it again", stacklevel=3)
            path.unlink()
            digest_path(path).unlink(missing_ok=True)
    missing = [i for i in range(config.collect.num_shards) if i not in records]
    if missing:
        records.update(_collect_with_ray(config, missing, shard_dir, address, progress, records))
        remove_stray_temporaries(shard_dir)  # left by an actor killed mid-write (its shard was redone)
    ordered = [records[i] for i in range(config.collect.num_shards)]
    manifest = DatasetManifest(
        name=config.dataset_name,
        env=world.manifest_env,
        levels=config.levels.split,
        behaviour={
            **config.to_dict()["collect"]["policy"],
            "label": config.collect.policy.label,
            "effective_options": effective_options(config.collect.policy),  # registered defaults made explicit (temperature)
            "skill": measured_skill(ordered, config.env.game, config.env.mode, config.collect.seed, world.score),
        },
        shards=tuple(ordered),
        seed=config.collect.seed,
        config=spec,
        provenance=provenance(),
        diversity=_diversity(ordered, shard_dir),
    )
    write_manifest(root, manifest)
    return load_dataset(root)


def _finished(config: ExperimentConfig, root: Path, address: str | None, progress: bool) -> Dataset:
    """A finished dataset, verified; one whose shards are missing or damaged is repaired first."""
    try:
        return load_dataset(root)
    except DatasetError as exc:
        manifest = DatasetManifest.read(root)
        shard_dir = root / SHARDS_DIR
        damaged = [
            i for i, record in enumerate(manifest.shards)
            if not _matches(shard_dir / record.name, record.sha256)
        ]  # fmt: skip
        collected_here = (root / COLLECT_SPEC_NAME).exists() and all(
            record.name == shard_name(i) for i, record in enumerate(manifest.shards)
        )
        if not damaged or not collected_here:
            raise  # the manifest itself is wrong, or the data was not collected by this command: its message says what to do
        warnings.warn(f"{exc}; collecting shards {damaged} of {root} again to repair it", stacklevel=3)
    _repair(config, root, manifest, damaged, address, progress)
    return load_dataset(root)


def _matches(path: Path, sha256: str) -> bool:
    """The shard at `path` is a regular file with sha256 `sha256`."""
    try:
        return path.is_file() and file_sha256(path) == sha256
    except OSError:
        return False


def _repair(config: ExperimentConfig, root: Path, manifest: DatasetManifest, indices: list[int], address: str | None, progress: bool) -> None:
    """Collect shards `indices` of a finished dataset again and put them in place, only if each is
    byte for byte the shard the manifest lists (collection is deterministic in (config, index)).

    They are collected into `REPAIR_DIR` first, so nothing in the dataset changes unless the
    repair succeeds; a shard that comes out different (the collection code or a package changed
    since the dataset was built) is refused, and the damaged one is left where it was.
    """
    shard_dir = root / SHARDS_DIR
    staging = root / REPAIR_DIR
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    try:
        records = _collect_with_ray(config, indices, staging, address, progress, {})
        differ = [i for i in indices if records[i].sha256 != manifest.shards[i].sha256]
        if differ:
            raise DatasetError(
                f"{root}: shards {[shard_name(i) for i in differ]} collected again differ from those its manifest lists "
                "(the collection code or a package changed since the dataset was built), so it cannot be restored exactly; "
                f"the damaged shards were left as they were. Delete {root} and rerun the same command to build it anew "
                "(runs trained on it will then be trained again)"
            )
        shard_dir.mkdir(exist_ok=True)
        for i in indices:
            name = shard_name(i)
            os.replace(staging / name, shard_dir / name)
            os.replace(digest_path(staging / name), digest_path(shard_dir / name))
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _diversity(records: list[ShardRecord], shard_dir: Path) -> dict:
    """The manifest's `diversity`: the union over shards of each level's distinct frame digests.
    A record that came without digests (collected by a caller other than `collect_shard`) is
    recounted from its file."""
    parts = (
        r.frame_digests if r.frame_digests is not None else record_of_shard(shard_dir / r.name, digests=True).frame_digests
        for r in records
    )
    return diversity_section(union_by_level(parts), sum(r.transitions for r in records))


def _collect_with_ray(
    config: ExperimentConfig,
    indices: list[int],
    shard_dir: Path,
    address: str | None,
    progress: bool,
    done: dict[int, ShardRecord],
) -> dict[int, ShardRecord]:
    """Collect shards `indices` on a pool of `ShardCollector` actors spread over the cluster's nodes.

    Actors are placed with the SPREAD strategy and `max_restarts=-1`: when a node dies, Ray
    restarts its actors wherever there is room (a hard node pin could not move). An actor gets
    work only once it answers `ready`, so one that cannot be placed (more workers than the
    cluster has CPUs for) delays nothing. The driver does not wait for a restart either: a shard
    whose actor or node died goes back to the front of the queue for the next free actor (Ray's
    own task retry would tie it to the dead actor, which may find no room to restart), and the
    restarted actor rejoins the pool once it answers `ready` again.
    Records are kept by shard index, so a shard run twice (a task whose result was lost after
    the file landed) is counted once; the file itself is the same bytes under the same name.
    A shard that loses its actor five times is an error, not a retry loop. An actor Ray reports
    as still restarting (`ActorUnavailableError`, e.g. after Ray's memory monitor killed it) is
    asked again every `RESTART_POLL_S` without counting against it: it is coming back.
    """
    import collections

    import ray
    from ray.exceptions import ActorUnavailableError, NodeDiedError, ObjectLostError, RayActorError, RayTaskError, WorkerCrashedError
    from tqdm.auto import tqdm

    from rlgen.ray_session import ray_session, task_error_cause

    lost_worker = (RayActorError, NodeDiedError, WorkerCrashedError, ObjectLostError)
    max_attempts = 5
    records: dict[int, ShardRecord] = {}
    with ray_session(config.ray, address):
        actor_cls = ray.remote(num_cpus=1, max_restarts=-1, max_task_retries=0, scheduling_strategy="SPREAD")(ShardCollector)
        actors = [actor_cls.remote(config, str(shard_dir)) for _ in range(min(config.collect.num_workers, len(indices)))]
        queue = collections.deque(indices)
        attempts = collections.Counter()
        busy: dict = {}  # task ref -> (actor, shard index)
        restarting: dict = {actor.ready.remote(): actor for actor in actors}  # `ready` ref -> actor not yet (again) alive
        failed_pings = collections.Counter()  # per actor (by position): `ready` answered by an error, in a row
        idle: list = []

        def assign(actor) -> None:
            if not queue:
                idle.append(actor)
                return
            index = queue.popleft()
            attempts[index] += 1
            busy[actor.collect.remote(index)] = (actor, index)

        already = sum(r.transitions for r in done.values())
        bar = tqdm(
            total=config.collect.transitions, initial=already, unit="transitions", unit_scale=True,
            desc=f"collect {config.dataset_name}", disable=not progress, smoothing=0.1,
        )  # fmt: skip
        try:
            while queue or busy:
                if not busy and not restarting:
                    raise RuntimeError(f"no collecting actor is left for shards {sorted(queue)}")
                ready, _ = ray.wait([*busy, *restarting], num_returns=1)
                ref = ready[0]
                if ref in restarting:
                    actor = restarting.pop(ref)
                    k = next(i for i, a in enumerate(actors) if a is actor)
                    try:
                        ray.get(ref)
                    except ActorUnavailableError:  # Ray is still restarting it (e.g. after an OOM kill): not a failure
                        time.sleep(RESTART_POLL_S)
                        restarting[actor.ready.remote()] = actor
                        continue
                    except lost_worker as exc:
                        failed_pings[k] += 1
                        if failed_pings[k] < max_attempts:  # died again while restarting
                            restarting[actor.ready.remote()] = actor
                        else:  # it cannot start at all (its constructor or process fails): do without it
                            warnings.warn(f"a collecting actor failed to start {failed_pings[k]} times ({exc}); going on without it", stacklevel=2)
                        continue
                    failed_pings[k] = 0
                    assign(actor)
                    continue
                actor, index = busy.pop(ref)
                try:
                    record = ray.get(ref)
                except RayTaskError as exc:  # the shard's own error (a full disk, ...): no retry, one clear line
                    raise _shard_error(index, shard_dir, task_error_cause(exc)) from None
                except lost_worker as exc:
                    if attempts[index] >= max_attempts:
                        raise RuntimeError(
                            f"shard {index} lost its collecting actor {attempts[index]} times; last error: {exc}"
                        ) from exc
                    warnings.warn(f"shard {index}: its actor or node was lost ({type(exc).__name__}); collecting it again", stacklevel=2)
                    queue.appendleft(index)
                    restarting[actor.ready.remote()] = actor
                    while idle and queue:
                        assign(idle.pop())
                    continue
                records[index] = record
                bar.update(record.transitions)
                assign(actor)
        except KeyboardInterrupt:
            bar.close()
            total = len(done) + len(records)
            raise KeyboardInterrupt(
                f"collection interrupted: {total} of {config.collect.num_shards} shards are on disk in {shard_dir}; "
                "rerun the same command to resume"
            ) from None
        finally:
            bar.close()
            for actor in actors:
                ray.kill(actor)
    return records


def _shard_error(index: int, shard_dir: Path, cause: BaseException) -> BaseException:
    """The error a collecting actor raised for shard `index`, for the command line to say in one
    line: a full disk is already a `NoSpaceError` naming the file; any other `OSError` gets the
    shard's folder and the way to resume; other errors pass as they are (their messages say)."""
    from rlgen.data.atomic import NoSpaceError

    if isinstance(cause, OSError) and not isinstance(cause, NoSpaceError):
        where = cause.filename or shard_dir
        return OSError(
            cause.errno, f"collecting shard {index} into {shard_dir}: {where}: {cause.strerror or cause}; "
            "fix that, then rerun the same command to resume (finished shards are kept)"
        )  # fmt: skip
    return cause
