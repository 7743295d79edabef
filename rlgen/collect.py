"""Collection: Ray actors run a behaviour policy on the training levels and write shards themselves.

The unit of work is a shard. Shard `i` is a deterministic function of the config and `i`: its
environments and policy are seeded from (collect.seed, i), it holds complete episodes in the
order they finished, and the last one is cut to make the shard's quota exact (marked
`partial`, a timeout). So the same config and seed give byte-identical shards whichever actor
runs them, and an interrupted collection resumes by collecting only the shards not yet on disk.
Actors return a `ShardRecord` (counts, checksum, level seeds, returns); frames never cross the
object store. The driver writes the manifest last: a folder with a manifest is a finished
dataset.
"""

from __future__ import annotations

import json
import time
import warnings
from pathlib import Path

import numpy as np

from rlgen.core.config import ExperimentConfig
from rlgen.core.games import normalize_returns
from rlgen.core.provenance import provenance
from rlgen.data.atomic import atomic_write_bytes, remove_stray_temporaries
from rlgen.data.dataset import SHARDS_DIR, Dataset, load_dataset
from rlgen.data.errors import DatasetError
from rlgen.data.manifest import MANIFEST_NAME, DatasetManifest, ShardRecord
from rlgen.data.shards import EpisodeData, ShardContents, ShardReader, file_sha256, write_shard
from rlgen.policies.base import Policy, call_if_present
from rlgen.policies.registry import check_behaviour, make_behaviour_policy

COLLECT_SPEC_NAME = "collect.json"


def shard_name(index: int) -> str:
    return f"shard-{index:05d}.npz"


def shard_seeds(collect_seed: int, index: int) -> tuple[int, int]:
    """Independent (environment, policy) seeds for shard `index`."""
    env_seed, policy_seed = np.random.SeedSequence([collect_seed, index]).generate_state(2)
    return int(env_seed % (2**31 - 1)), int(policy_seed)


def run_episodes(env, policy: Policy, quota: int, seed: int) -> list[EpisodeData]:
    """Step `env` with `policy` until finished episodes hold `quota` transitions; cut the last.

    Episodes come in the order they finished; the one that crosses the quota is cut to fit
    (marked `partial`, a timeout) and any others ending on that step are dropped. Their frames
    are views into one (quota, 64, 64, 3) uint8 array, in episode order, so a shard's frames
    need no further copy (`collect_shard` hands that array to the shard writer as it is).
    """
    episodes, _ = _run_episodes(env, policy, quota, seed)
    return episodes


def _run_episodes(env, policy: Policy, quota: int, seed: int) -> tuple[list[EpisodeData], np.ndarray]:
    """`run_episodes`, also returning the (quota, H, W, C) frame array its episodes are views of.

    Per step, the Python work is one policy call, one env step and a few stores of references
    to the step's arrays (the env hands out a fresh observation array each step, so nothing is
    copied then). An episode's frames are copied once, when it ends, straight into its place in
    the frame array. The frame Procgen returns with an episode's last reward belongs to the next
    episode and starts it.
    """
    obs, info = env.reset(seed=seed)
    n = env.num_envs
    call_if_present(policy, "attach", env)
    call_if_present(policy, "reset", np.arange(n))
    out = np.empty((quota, *obs.shape[1:]), dtype=obs.dtype)
    frames: dict[int, np.ndarray] = {}
    actions_log: dict[int, np.ndarray] = {}
    rewards_log: dict[int, np.ndarray] = {}
    episode_start = np.zeros(n, dtype=np.int64)
    episode_level = info["level_seed"].copy()
    finished: list[EpisodeData] = []
    filled = 0
    oldest = 0
    t = 0
    while filled < quota:
        actions = np.asarray(policy.act(obs))
        frames[t], actions_log[t] = obs, actions
        obs, rewards, terminated, truncated, info = env.step(actions)
        rewards_log[t] = rewards
        call_if_present(policy, "observe", rewards)
        ended = np.flatnonzero(terminated | truncated)
        for i in ended:
            if info["episode_level_seed"][i] != episode_level[i]:
                raise RuntimeError(
                    f"env slot {i}: episode started on level {episode_level[i]} but ended on "
                    f"{info['episode_level_seed'][i]}; the auto-reset bookkeeping is broken"
                )
            start = int(episode_start[i])
            episode_start[i] = t + 1
            episode_level_i = int(episode_level[i])
            episode_level[i] = info["level_seed"][i]
            room = quota - filled
            if room <= 0:
                continue  # another episode ending on this step already filled the quota
            steps = range(start, min(t + 1, start + room))
            length = len(steps)
            observations = out[filled : filled + length]
            np.stack([frames[s][i] for s in steps], out=observations)
            cut = length < t + 1 - start
            finished.append(
                EpisodeData(
                    observations=observations,
                    actions=np.array([actions_log[s][i] for s in steps], dtype=np.uint8),
                    rewards=np.array([rewards_log[s][i] for s in steps], dtype=np.float32),
                    level_seed=episode_level_i,
                    terminated=bool(terminated[i]) and not cut,
                    truncated=bool(truncated[i]) or cut,
                    level_complete=bool(info["level_complete"][i]) and not cut,
                    partial=cut,
                )
            )
            filled += length
        if len(ended):
            call_if_present(policy, "reset", ended)
        t += 1
        for s in range(oldest, int(episode_start.min())):  # steps no open episode needs
            del frames[s], actions_log[s], rewards_log[s]
        oldest = max(oldest, int(episode_start.min()))
    return finished, out


def record_of_shard(path: Path, stats: dict | None = None) -> ShardRecord:
    """The manifest entry of a shard on disk, read from the shard itself."""
    path = Path(path)
    return _record(path.name, file_sha256(path), ShardReader(path).contents(), stats)


def _record(name: str, sha256: str, contents: ShardContents, stats: dict | None = None) -> ShardRecord:
    return ShardRecord(
        name=name,
        sha256=sha256,
        episodes=contents.num_episodes,
        transitions=contents.num_transitions,
        level_seeds=tuple(int(x) for x in contents.level_seeds),
        returns=tuple(float(x) for x in contents.episode_returns),
        lengths=tuple(int(x) for x in contents.episode_lengths),
        partial=tuple(bool(x) for x in contents.partial),
        stats=stats or {},
    )


def collect_shard(config: ExperimentConfig, index: int, shard_dir: Path) -> ShardRecord:
    """Collect shard `index` of the dataset `config` describes and write it to `shard_dir`."""
    from rlgen_envs import ProcgenVecEnv

    env_seed, policy_seed = shard_seeds(config.collect.seed, index)
    env = ProcgenVecEnv(
        config.env.game,
        num_envs=config.collect.envs_per_worker,
        start_level=config.levels.split.train.start,
        num_levels=config.levels.split.train.count,
        mode=config.env.mode,
    )
    policy = make_behaviour_policy(config.collect.policy, config.env.game, policy_seed)
    started = time.perf_counter()
    episodes, frames = _run_episodes(env, policy, config.collect.shard_quota(index), seed=env_seed)
    env.close()
    seconds = time.perf_counter() - started
    contents = ShardContents.from_episodes(episodes, frames)
    path = Path(shard_dir) / shard_name(index)
    sha256 = write_shard(path, contents)
    stats = {"seconds": round(seconds, 3), **getattr(policy, "stats", {})}
    inner = getattr(policy, "inner", None)
    stats.update(getattr(inner, "stats", {}))
    # The record comes from what was written (the digest of the bytes as they went to disk),
    # not from reading the shard back, which decoded and copied every frame a second time.
    return _record(path.name, sha256, contents, stats)


class ShardCollector:
    """A Ray actor: one process that collects the shards the driver hands it."""

    def __init__(self, config: ExperimentConfig, shard_dir: str) -> None:
        self.config = config
        self.shard_dir = Path(shard_dir)

    def collect(self, index: int) -> ShardRecord:
        return collect_shard(self.config, index, self.shard_dir)


def measured_skill(records: list[ShardRecord], game: str, mode: str, seed: int = 0) -> dict:
    """Mean return of the behaviour policy on the training levels, from the full episodes collected."""
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
        "normalized_mean_return": float(normalize_returns(returns.mean(), game, mode)),
        "mean_length": float(lengths.mean()),
        "measured_on": "training levels (the episodes in this dataset)",
    }


def _collection_spec(config: ExperimentConfig) -> dict:
    """What determines the dataset's bytes; a resumed collection must match it exactly."""
    return {
        "dataset": config.dataset_name,
        "env": config.to_dict()["env"],
        "levels": config.levels.split.to_dict(),
        "collect": config.to_dict()["collect"],
    }


def collect_dataset(config: ExperimentConfig, address: str | None = None, progress: bool = True) -> Dataset:
    """Build (or finish, or just verify) the dataset `config` describes, with Ray actors."""
    check_behaviour(config.collect.policy, config.env.game)
    root = config.dataset_dir()
    shard_dir = root / SHARDS_DIR
    spec = _collection_spec(config)
    spec_path = root / COLLECT_SPEC_NAME
    if spec_path.exists():
        existing = json.loads(spec_path.read_text())
        if existing != spec:
            raise DatasetError(
                f"{root} holds a dataset collected with a different config ({spec_path} differs); "
                "choose another data_dir or delete that folder"
            )
    if (root / MANIFEST_NAME).exists():
        return load_dataset(root)
    shard_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(spec_path, json.dumps(spec, indent=1).encode())
    for stray in remove_stray_temporaries(shard_dir):
        warnings.warn(f"removed {stray}, a temporary file left by an interrupted collection", stacklevel=2)

    records: dict[int, ShardRecord] = {}
    for index in range(config.collect.num_shards):
        path = shard_dir / shard_name(index)
        if path.exists():
            try:
                records[index] = record_of_shard(path, {"resumed": True})
            except DatasetError as exc:
                warnings.warn(f"{exc}; collecting it again", stacklevel=2)
                path.unlink()
    missing = [i for i in range(config.collect.num_shards) if i not in records]
    if missing:
        records.update(_collect_with_ray(config, missing, shard_dir, address, progress, records))
        remove_stray_temporaries(shard_dir)  # left by an actor killed mid-write (its shard was redone)
    ordered = [records[i] for i in range(config.collect.num_shards)]
    manifest = DatasetManifest(
        name=config.dataset_name,
        env={"game": config.env.game, "mode": config.env.mode},
        levels=config.levels.split,
        behaviour={
            **config.to_dict()["collect"]["policy"],
            "label": config.collect.policy.label,
            "skill": measured_skill(ordered, config.env.game, config.env.mode, config.collect.seed),
        },
        shards=tuple(ordered),
        seed=config.collect.seed,
        config=spec,
        provenance=provenance(),
    )
    manifest.write(root)
    return load_dataset(root)


def _collect_with_ray(
    config: ExperimentConfig,
    indices: list[int],
    shard_dir: Path,
    address: str | None,
    progress: bool,
    done: dict[int, ShardRecord],
) -> dict[int, ShardRecord]:
    import ray
    from tqdm.auto import tqdm

    from rlgen.ray_session import ray_session

    records: dict[int, ShardRecord] = {}
    with ray_session(config.ray, address):
        actor_cls = ray.remote(num_cpus=1, max_restarts=3, max_task_retries=3)(ShardCollector)
        actors = [actor_cls.remote(config, str(shard_dir)) for _ in range(min(config.collect.num_workers, len(indices)))]
        queue = list(indices)
        pending = {}
        for actor in actors:
            index = queue.pop(0)
            pending[actor.collect.remote(index)] = (actor, index)
        already = sum(r.transitions for r in done.values())
        bar = tqdm(
            total=config.collect.transitions, initial=already, unit="transitions", unit_scale=True,
            desc=f"collect {config.dataset_name}", disable=not progress, smoothing=0.1,
        )  # fmt: skip
        try:
            while pending:
                ready, _ = ray.wait(list(pending), num_returns=1)
                actor, index = pending.pop(ready[0])
                record = ray.get(ready[0])
                records[index] = record
                bar.update(record.transitions)
                if queue:
                    nxt = queue.pop(0)
                    pending[actor.collect.remote(nxt)] = (actor, nxt)
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
