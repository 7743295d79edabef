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

import functools
import json
import shutil
import time
from pathlib import Path
from typing import Any

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


def train_one(
    config: ExperimentConfig, spec: LearnerSpec, seed: int, dataset_root: str, variant: str = "", steps_counter: Any = None
) -> dict:
    """Fit one learner with one seed in this process; returns the run record.

    `variant` names which of the experiment's datasets `dataset_root` is ("" the collected one,
    `AUGMENTED` its stitching-augmented variant); it only keeps the two runs' folders apart.
    `steps_counter`: the driver's `StepCounter` actor, told this run's steps done as it trains.
    """
    from rlgen.learn.monitor import TENSORBOARD_DIR, TrainingMonitor, monitoring

    key = run_key(spec, seed, variant)
    monitor = TrainingMonitor(
        on_steps=None if steps_counter is None else functools.partial(_tell_counter, steps_counter, key),
        tensorboard_dir=run_dir(config, spec, seed, variant) / TENSORBOARD_DIR if config.train.tensorboard else None,
    )
    with folder_lock(run_dir(config, spec, seed, variant), "run"), monitoring(monitor):
        return _train_locked(config, spec, seed, dataset_root, variant)


def _tell_counter(counter: Any, key: str, steps: int) -> None:
    counter.report.remote(key, steps)  # fire and forget: a lost update only delays the bar


class StepCounter:
    """A Ray actor holding each running training task's latest step count, for the driver's bar.

    Why an actor and not a file: training tasks may run on other nodes than the driver, with no
    folder in common. Tasks push at most twice a second (`TrainingMonitor.interval_s`); the driver
    polls. A task that crashes stops pushing; its error reaches the driver through its own
    object ref, so the bar never waits on the counter.
    """

    def __init__(self) -> None:
        self._steps: dict[str, int] = {}

    def report(self, key: str, steps: int) -> None:
        self._steps[key] = max(int(steps), self._steps.get(key, 0))

    def read(self) -> dict[str, int]:
        return dict(self._steps)


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


def run_steps(spec: LearnerSpec) -> int | None:
    """The gradient steps a run of `spec` takes (its config's `steps`); None when its learner's
    config has no integer `steps` (a user learner), whose runs then count as whole runs."""
    from rlgen.learn import learner_config

    steps = getattr(learner_config(spec.algo, spec.params), "steps", None)
    return steps if isinstance(steps, int) and not isinstance(steps, bool) and steps > 0 else None


def train_all(
    config: ExperimentConfig, dataset_root: Path, dataset_sha256: str, progress: bool = True, *, augmented: tuple[Path, str] | None = None
) -> list[Path]:
    """Train every (learner, seed) not yet trained, as Ray tasks of one CPU (and one GPU when the
    device is a GPU: runs then queue for the GPUs) each. Ray must be running.

    `augmented`: (root, manifest sha256) of the data's stitching-augmented variant; every
    (learner, seed) is then trained on it as well, in the same pool of tasks.

    The bar counts gradient steps over all runs, streamed from the tasks through a `StepCounter`
    actor (a run whose learner reports no steps counts as its steps when it finishes); it shows
    whole runs when some learner has no `steps`.
    """
    import ray
    from tqdm.auto import tqdm

    import_modules(config.imports)  # a user learner's config says its steps
    if config.train.tensorboard:
        from rlgen.learn.monitor import require_tensorboard

        require_tensorboard()  # here, before any task starts, not only in each task
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
    totals = {run_key(spec, seed, variant): run_steps(spec) for spec, seed, variant, _ in todo}
    in_steps = all(t is not None for t in totals.values())
    counter = ray.remote(num_cpus=0)(StepCounter).remote() if todo and progress and in_steps else None
    task = ray.remote(num_cpus=1, num_gpus=gpus_for_device(config.device), max_retries=0)(train_one)
    refs = {task.remote(config, spec, seed, str(root), variant, counter): run_key(spec, seed, variant) for spec, seed, variant, root in todo}
    total = sum(totals.values()) if in_steps else len(refs)
    finished: set[str] = set()
    reported: dict[str, int] = {}
    try:
        with tqdm(total=total, unit="steps" if in_steps else "runs", desc="train", disable=not progress or not refs) as bar:
            while refs:
                ready, _ = ray.wait(list(refs), num_returns=1, timeout=0.5)
                for ref in ready:
                    key = refs.pop(ref)
                    record = ray.get(ref)  # a crashed task raises here: the bar never waits for it
                    finished.add(key)
                    bar.set_postfix_str(f"{key} {record['train_seconds']:.0f}s")
                if counter is not None:
                    reported = _read_counter(counter, reported)
                done = sum(totals[k] if k in finished else min(reported.get(k, 0), totals[k]) for k in totals) if in_steps else len(finished)
                bar.update(done - bar.n)
    finally:
        if counter is not None:
            ray.kill(counter)
    return [run_dir(config, spec, seed, variant) for variant, _, _ in datasets for spec in config.learners for seed in config.seeds]


def _read_counter(counter: Any, last: dict[str, int]) -> dict[str, int]:
    """The counter's step counts; the last ones read when it does not answer within 2 s (the bar
    then lags, training goes on)."""
    import ray

    try:
        return ray.get(counter.read.remote(), timeout=2.0)
    except (ray.exceptions.GetTimeoutError, ray.exceptions.RayActorError):
        return last
