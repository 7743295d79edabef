"""Training stage: fit every (learner, seed) of an experiment on its dataset, as Ray tasks.

Each run gets its own folder `runs/<experiment>/train/<learner>-seed<k>/` holding the
checkpoint, `learner.json`, the training log and `run.json` (which config, dataset manifest
hash and seed produced it). A run whose `run.json` matches is skipped, so rerunning an
interrupted experiment trains only what is missing. Model selection, where a learner asks
for it, plays validation levels only: the test block is never seen during training.

`run.json` is the run's identity and is written last: a folder without one holds no finished
run. Retraining removes the old result first, `run.json` before anything else, so a retrain
killed halfway never passes for the old run (nor the old weights for the new config); and
evaluation checks the identity against the config it is given (`check_trained`) instead of
scoring whatever weights lie in the folder. A run folder is locked while it trains
(`rlgen.data.lock`).
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

from rlgen.core.config import ExperimentConfig, LearnerSpec
from rlgen.core.determinism import deterministic_torch
from rlgen.core.imports import import_modules
from rlgen.core.levels import LevelSplit
from rlgen.data.atomic import atomic_write_bytes
from rlgen.data.dataset import load_dataset
from rlgen.data.lock import LOCK_NAME, folder_lock
from rlgen.ray_session import gpus_for_device
from rlgen.worlds import world_of
from rlgen.worlds.play import validation_scorer

RUN_RECORD = "run.json"


AUGMENTED = "aug"
"""The variant of runs trained on the stitching-augmented dataset (`ExperimentConfig.augment`)."""


def run_key(spec: LearnerSpec, seed: int, variant: str = "") -> str:
    """`bc-seed0`; a run on the augmented variant of the data: `bc-aug-seed0`."""
    return f"{spec.name}-{variant}-seed{seed}" if variant else f"{spec.name}-seed{seed}"


def run_dir(config: ExperimentConfig, spec: LearnerSpec, seed: int, variant: str = "") -> Path:
    return config.run_dir / "train" / run_key(spec, seed, variant)


def _run_identity(config: ExperimentConfig, spec: LearnerSpec, seed: int, dataset_sha256: str, variant: str = "") -> dict:
    return {
        "learner": {"algo": spec.algo, "params": spec.params},
        "seed": seed,
        "dataset": config.augmented_dataset_name if variant == AUGMENTED else config.dataset_name,
        "dataset_sha256": dataset_sha256,
        "levels": config.levels.split.to_dict(),
        "selection": {"levels": config.evaluate.selection_levels},
    }


class StaleRunError(ValueError):
    """A run folder holds a result trained under another config or dataset than the one given."""


def _recorded_identity(path: Path) -> dict | None:
    """The identity `run.json` at `path` records; None when it is missing or unreadable."""
    try:
        identity = json.loads(path.read_text()).get("identity")
    except (OSError, ValueError, AttributeError):
        return None
    return identity if isinstance(identity, dict) else None


def is_trained(config: ExperimentConfig, spec: LearnerSpec, seed: int, dataset_sha256: str, variant: str = "") -> bool:
    path = run_dir(config, spec, seed, variant) / RUN_RECORD
    return _recorded_identity(path) == _run_identity(config, spec, seed, dataset_sha256, variant)


def check_trained(config: ExperimentConfig, spec: LearnerSpec, seed: int, dataset_sha256: str, variant: str = "") -> Path:
    """The run folder of (spec, seed, variant) if it holds a run trained under exactly this config
    and dataset; otherwise an error naming the folder, what differs, and the command that fixes it.

    Evaluating weights trained under another learner config, seed, dataset, level split or
    selection would report them as this config's results (`rlgen evaluate` used to, with exit 0).
    """
    folder = run_dir(config, spec, seed, variant)
    path = folder / RUN_RECORD
    if not path.exists():
        raise FileNotFoundError(f"no trained run at {folder}; run `rlgen train CONFIG` first")
    recorded = _recorded_identity(path)
    expected = _run_identity(config, spec, seed, dataset_sha256, variant)
    if recorded == expected:
        return folder
    if recorded is None:
        what = f"{path} is unreadable"
    else:
        differ = sorted(k for k in {*expected, *recorded} if expected.get(k) != recorded.get(k))
        what = "it was trained with another " + ", ".join(differ) + " than this config gives"
    raise StaleRunError(
        f"run {folder} is stale: {what}; its weights are not this config's result. "
        "Run `rlgen train CONFIG` (the same config and --set options) to retrain it, then evaluate"
    )


def clear_result(folder: Path) -> None:
    """Remove a run folder's old result before it is trained again: `run.json` first (so the
    folder stops passing for a finished run at once), then everything else but its lock."""
    (folder / RUN_RECORD).unlink(missing_ok=True)
    for entry in sorted(folder.iterdir()) if folder.is_dir() else ():
        if entry.name == LOCK_NAME:
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()


def train_one(config: ExperimentConfig, spec: LearnerSpec, seed: int, dataset_root: str, variant: str = "") -> dict:
    """Fit one learner with one seed in this process; returns the run record.

    `variant` names which of the experiment's datasets `dataset_root` is ("" the collected one,
    `AUGMENTED` its stitching-augmented variant); it only keeps the two runs' folders apart.
    """
    with folder_lock(run_dir(config, spec, seed, variant), "run"):
        return _train_locked(config, spec, seed, dataset_root, variant)


def _train_locked(config: ExperimentConfig, spec: LearnerSpec, seed: int, dataset_root: str, variant: str) -> dict:
    """`train_one`'s work, with the run folder's lock held."""
    from rlgen.learn import fit, learner_config

    import_modules(config.imports)
    deterministic_torch(threads=1)  # one CPU per Ray task (runs go side by side), same numbers on a rerun
    dataset = load_dataset(dataset_root)
    # The data's training levels must stay clear of this experiment's unseen levels.
    split = LevelSplit(dataset.manifest.levels.train, config.levels.validation, config.levels.test)
    algo_config = learner_config(spec.algo, spec.params)
    validate = None
    if getattr(algo_config, "validate_every", 0):
        world = world_of(config)
        jobs = world.jobs(split, ("validation",), config.evaluate.selection_levels, 1)
        validate = validation_scorer(world, jobs, config.evaluate.envs_per_worker, seed)
    out = run_dir(config, spec, seed, variant)
    if is_trained(config, spec, seed, dataset.sha256, variant):  # finished by another process since train_all looked
        return json.loads((out / RUN_RECORD).read_text())
    clear_result(out)
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    # Built-in learners say where their batches come from (`LearnerConfig.data`: memory, disk or
    # auto by size); a user learner without that field gets d3rlpy's in-memory buffer.
    buffer = dataset.training_buffer(getattr(algo_config, "data", "memory"), seed=seed)
    try:
        fit(algo_config, buffer, seed=seed, device=config.device, out_dir=out, validate=validate, show_progress=False)
    finally:
        close = getattr(buffer, "close", None)
        if close is not None:
            close()
    record = {
        "identity": _run_identity(config, spec, seed, dataset.sha256, variant),
        "train_seconds": round(time.perf_counter() - started, 2),
        "experiment": config.name,
    }
    atomic_write_bytes(out / RUN_RECORD, json.dumps(record, indent=1).encode())
    return record


def train_all(
    config: ExperimentConfig, dataset_root: Path, dataset_sha256: str, progress: bool = True, *, augmented: tuple[Path, str] | None = None
) -> list[Path]:
    """Train every (learner, seed) not yet trained, as Ray tasks of one CPU (and one GPU when the
    device is a GPU: runs then queue for the GPUs) each. Ray must be running.

    `augmented`: (root, manifest sha256) of the data's stitching-augmented variant; every
    (learner, seed) is then trained on it as well, in the same pool of tasks.
    """
    import ray
    from tqdm.auto import tqdm

    datasets = [("", Path(dataset_root), dataset_sha256)]
    if augmented is not None:
        datasets.append((AUGMENTED, Path(augmented[0]), augmented[1]))
    todo = [
        (spec, seed, variant, root)
        for variant, root, sha in datasets
        for spec in config.learners
        for seed in config.seeds
        if not is_trained(config, spec, seed, sha, variant)
    ]

    task = ray.remote(num_cpus=1, num_gpus=gpus_for_device(config.device), max_retries=0)(train_one)
    refs = {task.remote(config, spec, seed, str(root), variant): (spec, seed, variant) for spec, seed, variant, root in todo}
    with tqdm(total=len(refs), unit="runs", desc="train", disable=not progress or not refs) as bar:
        while refs:
            ready, _ = ray.wait(list(refs), num_returns=1)
            spec, seed, variant = refs.pop(ready[0])
            record = ray.get(ready[0])
            bar.set_postfix_str(f"{run_key(spec, seed, variant)} {record['train_seconds']:.0f}s")
            bar.update(1)
    return [run_dir(config, spec, seed, variant) for variant, _, _ in datasets for spec in config.learners for seed in config.seeds]
