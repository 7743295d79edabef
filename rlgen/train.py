"""Training stage: fit every (learner, seed) of an experiment on its dataset, as Ray tasks.

Each run gets its own folder `runs/<experiment>/train/<learner>-seed<k>/` holding the
checkpoint, `learner.json`, the training log and `run.json` (which config, dataset manifest
hash and seed produced it). A run whose `run.json` matches is skipped, so rerunning an
interrupted experiment trains only what is missing. Model selection, where a learner asks
for it, plays validation levels only: the test block is never seen during training.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from rlgen.core.config import ExperimentConfig, LearnerSpec
from rlgen.core.levels import LevelSplit
from rlgen.data.atomic import atomic_write_bytes

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


def is_trained(config: ExperimentConfig, spec: LearnerSpec, seed: int, dataset_sha256: str, variant: str = "") -> bool:
    path = run_dir(config, spec, seed, variant) / RUN_RECORD
    if not path.exists():
        return False
    return json.loads(path.read_text()).get("identity") == _run_identity(config, spec, seed, dataset_sha256, variant)


def train_one(config: ExperimentConfig, spec: LearnerSpec, seed: int, dataset_root: str, variant: str = "") -> dict:
    """Fit one learner with one seed in this process; returns the run record.

    `variant` names which of the experiment's datasets `dataset_root` is ("" the collected one,
    `AUGMENTED` its stitching-augmented variant); it only keeps the two runs' folders apart.
    """
    from rlgen.core.determinism import deterministic_torch
    from rlgen.data.dataset import load_dataset
    from rlgen.evaluate import validation_scorer
    from rlgen.learn import fit, learner_config
    from rlgen.learn.registry import import_modules
    from rlgen.worlds import world_of

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
        validate = validation_scorer(config.env.game, config.env.mode, jobs, config.evaluate.envs_per_worker, seed, world=world)
    out = run_dir(config, spec, seed, variant)
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
    from rlgen.ray_session import gpus_for_device

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
