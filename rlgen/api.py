"""One call for a researcher: a dataset with the envs of its exact level splits.

    import rlgen
    buffer, train_env, validation_env, test_env = rlgen.make_env_and_dataset("procgen-maze-easy-L20-maze_planner-20k-s0-v2")
    algo.fit(buffer, n_steps=10_000, evaluators={"test": d3rlpy.metrics.EnvironmentEvaluator(test_env)})

Like OGBench's `make_env_and_datasets` and d3rlpy's `get_*` datasets, but the envs are built
from what the dataset's manifest records, never from its name: the game and mode, and the
train, validation and test level blocks the data was collected for. The train env plays the
training levels [start, start + count), the other two the unseen blocks; each is a
`gymnasium.make("rlgen/procgen-<game>-v0", ...)` env whose `spec.kwargs` say so.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from rlgen.core.levels import LevelSet
from rlgen.data.dataset import Dataset, load_dataset, resolve_dataset_path
from rlgen.data.errors import DatasetError

if TYPE_CHECKING:
    import gymnasium

DATASET_FORMATS = ("d3rlpy", "arrays")


class EnvAndDataset(NamedTuple):
    """What `make_env_and_dataset` returns; unpacks as (dataset, train_env, validation_env, test_env)."""

    dataset: Any  # a d3rlpy ReplayBuffer, or the arrays of `episode_arrays`
    train_env: gymnasium.Env
    validation_env: gymnasium.Env
    test_env: gymnasium.Env


def make_env_and_dataset(
    name: str | Path, *, dataset_format: str = "d3rlpy", data_dir: str | Path | None = None, verify: bool = True
) -> EnvAndDataset:
    """The built dataset `name` (a folder, or a name under the data directory, such as a catalog
    card's) and single Procgen envs on its train, validation and test levels.

    `dataset_format="d3rlpy"` gives the replay buffer rlgen's learners train on, frames (3, 64, 64)
    uint8, and envs with the same layout (`channels_first`), so d3rlpy's `EnvironmentEvaluator`
    runs a trained algorithm on them as is. `"arrays"` gives `episode_arrays` (frames (N, 64, 64,
    3) as stored) and envs with frames (64, 64, 3). Checksums are verified unless `verify=False`.
    """
    if dataset_format not in DATASET_FORMATS:
        raise ValueError(f"dataset_format must be one of {', '.join(DATASET_FORMATS)}, got {dataset_format!r}")
    dataset = _load(name, data_dir, verify)
    env = dataset.manifest.env
    if "kind" in env:
        raise DatasetError(
            f"{dataset.root}: make_env_and_dataset builds Procgen envs, and this is a {env['kind']!r} dataset; "
            "load it with rlgen.data.load_dataset and build its envs with its world (rlgen.worlds)"
        )
    channels_first = dataset_format == "d3rlpy"
    levels = dataset.manifest.levels
    envs = [_procgen_env(env["game"], env["mode"], levels[split], channels_first) for split in ("train", "validation", "test")]
    data = dataset.to_d3rlpy() if dataset_format == "d3rlpy" else episode_arrays(dataset)
    return EnvAndDataset(data, *envs)


def episode_arrays(dataset: Dataset) -> dict[str, np.ndarray]:
    """Every transition of `dataset`, episodes back to back (D4RL's layout, all decoded in memory):
    observations (N, 64, 64, 3) uint8 (or (N, D) vectors, as stored), actions (N,) int64, rewards
    (N,) float32, terminals and timeouts (N,) bool (set on an episode's last step: it ended in the
    game, or at the step limit or a shard's quota), level_seeds (N,) int64."""
    episodes = list(dataset.episodes())
    if not episodes:
        raise DatasetError(f"dataset {dataset.root} holds no episodes")

    def last_step(flags: list[bool]) -> np.ndarray:
        out = np.zeros(sum(ep.length for ep in episodes), dtype=bool)
        ends = np.cumsum([ep.length for ep in episodes]) - 1
        out[ends] = flags
        return out

    return {
        "observations": np.concatenate([ep.observations for ep in episodes]),
        "actions": np.concatenate([ep.actions for ep in episodes]).astype(np.int64),
        "rewards": np.concatenate([ep.rewards for ep in episodes]).astype(np.float32),
        "terminals": last_step([ep.terminated for ep in episodes]),
        "timeouts": last_step([not ep.terminated for ep in episodes]),
        "level_seeds": np.concatenate([np.full(ep.length, ep.level_seed, np.int64) for ep in episodes]),
    }


def _load(name: str | Path, data_dir: str | Path | None, verify: bool) -> Dataset:
    root = resolve_dataset_path(name, Path(data_dir) if data_dir is not None else None)
    if not root.exists() and _is_card(str(name)):
        raise DatasetError(f"catalog card {name} is not built under {root.parent}; build it with `rlgen datasets build {name}`")
    return load_dataset(root, verify=verify)


def _is_card(name: str) -> bool:
    from rlgen.catalog import load_catalog
    from rlgen.core.typed import ConfigError

    try:
        load_catalog().find(name)
    except ConfigError:
        return False
    return True


def _procgen_env(game: str, mode: str, levels: LevelSet, channels_first: bool) -> gymnasium.Env:
    import gymnasium

    import rlgen_envs  # noqa: F401  (registers the ids)

    return gymnasium.make(
        f"rlgen/procgen-{game}-v0", mode=mode, start_level=levels.start, num_levels=levels.count, channels_first=channels_first
    )
