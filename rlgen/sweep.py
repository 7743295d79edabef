"""Sweeps: the product datasets x learners x seeds of one experiment, as Ray tasks, resumable.

A sweep config names a base experiment config and the axes to vary (see `SweepConfig`). Each
point of the `datasets` axis is an ordinary experiment (the base with that point's overrides),
named after its dataset and stored under the sweep's folder, so `rlgen report` and friends
work on it as on any run. A *trial* is one (dataset, learner, seed): train it (`train_one`,
skipped when its `run.json` matches) and evaluate it (`evaluate_all` on a one-run config, whose
records and stamps are exactly those a full `rlgen evaluate` of the point would write), as one
Ray task with the trial's resources (CPUs, a fraction of a GPU). Each dataset's reference
policies (random, behaviour) are one more trial, which the dataset's learner trials wait for.

Nothing lives only in the driver: datasets, checkpoints, evaluation records and a small record
per finished trial (`trials/<trial>.json`) are on storage as soon as they exist. A driver that
dies loses only the trials in flight; rerunning the same command skips every finished trial
(its record matches the trial's config fingerprint and dataset hash, and its run is trained)
and redoes the rest. The sweep ends with one report per dataset and one across all trials.

Layout of a sweep NAME (under `output_dir`, default the base config's):

    NAME/sweep.yaml                     the resolved sweep: base config, points, trials
    NAME/<dataset>/                     one experiment per dataset point (config.yaml, train/, eval/, report/)
    NAME/trials/<dataset>--<run>.json   one record per finished trial
    NAME/report/                        the report across every trial
"""

from __future__ import annotations

import itertools
import json
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from rlgen.collect import collect_dataset
from rlgen.core.config import ExperimentConfig, LearnerSpec, load_config, read_yaml
from rlgen.core.imports import import_modules
from rlgen.core.provenance import provenance
from rlgen.core.typed import ConfigError, from_dict, to_dict
from rlgen.data.atomic import atomic_write_bytes
from rlgen.data.dataset import load_dataset
from rlgen.data.manifest import describe_diversity, frame_diversity
from rlgen.experiment import evaluate_all, report, trained_run_dirs, validate_experiment, write_resolved_config
from rlgen.ray_session import gpus_for_device, ray_session
from rlgen.train import is_trained, run_key, train_one

TRIALS_DIR = "trials"
REPORT_DIR = "report"
REFERENCES = "references"


class SweepFailedError(RuntimeError):
    """Some trials failed; the others finished and are reported. Rerunning retries only those."""


@dataclass(frozen=True)
class TrialResources:
    """What one trial (train, then evaluate, one learner with one seed) asks Ray for."""

    num_cpus: float = 1.0
    num_gpus: float | None = None
    """A fraction of a GPU shares it between trials (0.25: four at a time). None: a whole GPU
    when the device is `cuda[:N]`, or `auto` on a cluster that has GPUs; otherwise none."""

    def __post_init__(self) -> None:
        if self.num_cpus < 0 or (self.num_gpus is not None and self.num_gpus < 0):
            raise ConfigError("resources: num_cpus and num_gpus must not be negative")


@dataclass(frozen=True)
class SweepConfig:
    """A sweep: a base experiment config and the axes to vary.

    `datasets` is either a mapping from a config key to the list of its values (the product of
    all lists is taken: `{levels.train: [10, 200], collect.transitions: [20000, 100000]}` is four
    datasets) or an explicit list of points, each a mapping of overrides. Every point must give
    a different dataset (the dataset's name names the point). `learners` (flat mappings, as in
    an experiment config) and `seeds` replace the base's; the trials are every point x learner
    x seed.
    """

    name: str
    base: str
    """The base experiment config (YAML), relative to the sweep file."""
    set: tuple[str, ...] = ()
    """`section.key=value` overrides applied to the base for every trial."""
    datasets: Any = field(default_factory=dict)
    learners: tuple[Any, ...] | None = None
    seeds: tuple[int, ...] | None = None
    resources: TrialResources = field(default_factory=TrialResources)
    output_dir: str | None = None
    """Where the sweep's folder goes (default: the base config's `output_dir`)."""

    def points(self) -> list[dict[str, Any]]:
        """Each dataset point's overrides, in order (one empty point when no axis is given)."""
        if isinstance(self.datasets, dict):
            for key, values in self.datasets.items():
                if not isinstance(values, list) or not values:
                    raise ConfigError(f"datasets.{key}: give a non-empty list of values, got {values!r}")
            keys = list(self.datasets)
            return [dict(zip(keys, combo)) for combo in itertools.product(*(self.datasets[k] for k in keys))]
        if isinstance(self.datasets, list) and self.datasets and all(isinstance(p, dict) for p in self.datasets):
            return [dict(p) for p in self.datasets]
        raise ConfigError("datasets: give a mapping from config keys to lists of values, or a list of override mappings")


@dataclass(frozen=True)
class Trial:
    """One unit of a sweep: a learner and seed on a dataset point (no learner: the references)."""

    point: str  # the dataset name, which is also the point's experiment name
    config: ExperimentConfig  # the point's experiment narrowed to this trial's learner and seed
    spec: LearnerSpec | None
    seed: int | None

    @property
    def id(self) -> str:
        return f"{self.point}--{REFERENCES if self.spec is None else run_key(self.spec, self.seed)}"


def _override(key: str, value: Any) -> str:
    return f"{key}={json.dumps(value)}"  # JSON is YAML, so any value (lists, mappings) survives `with_overrides`


def load_sweep(
    path: str | Path, overrides: list[str] | None = None, device: str | None = None, scale: float = 1.0
) -> tuple[SweepConfig, list[ExperimentConfig]]:
    """Read a sweep config; returns it and each dataset point's experiment config (validated).

    `overrides` and `device` apply to the base, as `--set` does for a single experiment.
    `scale` multiplies every point's dataset size (`CollectConfig.scaled`), so the same sweep
    runs small on a laptop and at full size on a cluster; levels, learners and seeds stay.
    A scaled sweep gets its own folder (`NAME-x0.01`), as its datasets are other datasets.
    """
    path = Path(path)
    data = read_yaml(path, "sweep config")
    try:
        sweep = from_dict(SweepConfig, data)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from exc
    base_overrides = list(sweep.set)  # the file's values, then the command line's (which win)
    if sweep.learners is not None:
        base_overrides.append(_override("learners", list(sweep.learners)))
    if sweep.seeds is not None:
        base_overrides.append(_override("seeds", list(sweep.seeds)))
    base_overrides += overrides or []
    if device is not None:
        base_overrides.append(f"device={device}")
    base = load_config(path.parent / sweep.base, base_overrides)
    if not base.learners:
        raise ConfigError(f"{path}: no learners to sweep (give `learners` here or in {sweep.base})")
    if getattr(base, "augment", None) is not None:
        raise ConfigError(f"{path}: sweeps train on collected datasets only; remove `augment` from the base")
    sweep_dir = Path(sweep.output_dir or base.output_dir) / (sweep.name if scale == 1.0 else f"{sweep.name}-x{scale:g}")
    configs = []
    for point in sweep.points():
        config = base.with_overrides([_override(k, v) for k, v in point.items()])
        config = replace(config, collect=config.collect.scaled(scale))
        config = replace(config, name=config.dataset_name, output_dir=str(sweep_dir))
        validate_experiment(config)
        configs.append(config)
    names = [c.name for c in configs]
    if len(set(names)) != len(names):
        raise ConfigError(f"{path}: datasets: points give the same dataset more than once ({names}); each point must change the data")
    return sweep, configs


def trials_of(config: ExperimentConfig) -> list[Trial]:
    """A point's references trial, then one trial per (learner, seed)."""
    trials = [Trial(config.name, replace(config, learners=()), None, None)]
    for spec in config.learners:
        for seed in config.seeds:
            trials.append(Trial(config.name, replace(config, learners=(spec,), seeds=(seed,)), spec, seed))
    return trials


def _trial_path(sweep_dir: Path, trial: Trial) -> Path:
    return sweep_dir / TRIALS_DIR / f"{trial.id}.json"


def is_finished(sweep_dir: Path, trial: Trial, dataset_sha256: str) -> bool:
    """The trial's record matches its config and data, and its run (if any) is still trained."""
    path = _trial_path(sweep_dir, trial)
    if not path.exists():
        return False
    record = json.loads(path.read_text())
    if record.get("fingerprint") != trial.config.fingerprint() or record.get("dataset_sha256") != dataset_sha256:
        return False
    return trial.spec is None or is_trained(trial.config, trial.spec, trial.seed, dataset_sha256)


def run_trial(trial: Trial, dataset_root: str, sweep_dir: str, *after: Any) -> dict:
    """Train (unless trained) and evaluate one trial in this process; writes and returns its record.

    `after` is what must finish first (the point's references trial, passed as Ray object refs
    so that Ray starts this task only then); its values are unused.
    """
    started = time.perf_counter()
    config = trial.config
    import_modules(config.imports)  # a trial is its own process: the user's modules register here too
    dataset = load_dataset(dataset_root, verify=False)  # the driver verified it after collection
    trained = None
    if trial.spec is not None and not is_trained(config, trial.spec, trial.seed, dataset.sha256):
        trained = train_one(config, trial.spec, trial.seed, dataset_root)
    # Evaluation runs on `evaluate_policies`' actors, started from inside this trial: on the CPU,
    # since actors asking for a share of a GPU this trial already holds could wait for it forever
    # on a one-GPU machine. The device is no part of an evaluation's identity, so the records are
    # the same either way.
    eval_config = replace(config, device="cpu")
    paths = evaluate_all(eval_config, dataset, progress=False)
    record = {
        "trial": trial.id,
        "dataset": trial.point,
        "learner": None if trial.spec is None else trial.spec.name,
        "seed": trial.seed,
        "fingerprint": config.fingerprint(),
        "dataset_sha256": dataset.sha256,
        "seconds": round(time.perf_counter() - started, 2),
        "train_seconds": None if trained is None else trained["train_seconds"],
        "eval": [str(p) for p in paths],
        "scores": _mean_scores(paths),
    }
    out = _trial_path(Path(sweep_dir), trial)
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(out, json.dumps(record, indent=1).encode())
    return record


def _mean_scores(paths: list[Path]) -> dict[str, dict[str, float]]:
    """Mean normalized return per (policy, split), for a glance at a trial's record."""
    import pandas as pd

    frame = pd.concat([pd.read_csv(p) for p in paths])
    means = frame.groupby(["policy", "split"])["normalized_return"].mean()
    return {policy: {split: round(float(v), 4) for (p, split), v in means.items() if p == policy} for policy in frame["policy"].unique()}


def _gpus_per_trial(sweep: SweepConfig, device: str) -> float:
    return sweep.resources.num_gpus if sweep.resources.num_gpus is not None else gpus_for_device(device)


def run_sweep(path: str | Path, overrides: list[str] | None = None, device: str | None = None,
              address: str | None = None, progress: bool = True, scale: float = 1.0) -> str:  # fmt: skip
    """Run (or resume) the sweep at `path`; returns the cross-trial report's Markdown.

    Datasets are collected one after another by the driver (each with its own Ray actors); a
    dataset's trials are submitted as soon as it is ready, so training overlaps the next
    collection. A failed trial does not stop the others: the report covers what finished and
    the command then fails naming the trials to rerun.
    """
    import ray
    from ray.exceptions import RayError
    from tqdm.auto import tqdm

    sweep, configs = load_sweep(path, overrides, device, scale)
    sweep_dir = Path(configs[0].output_dir)
    sweep_dir.mkdir(parents=True, exist_ok=True)
    trials = {c.name: trials_of(c) for c in configs}
    resolved = {
        "sweep": to_dict(sweep),
        "source": str(path),
        "scale": scale,
        "points": {c.name: c.to_dict() for c in configs},
        "trials": [t.id for ts in trials.values() for t in ts],
    }
    atomic_write_bytes(sweep_dir / "sweep.yaml", yaml.safe_dump(resolved, sort_keys=False).encode())
    for config in configs:
        write_resolved_config(config)

    failed: dict[str, str] = {}
    with ray_session(configs[0].ray, address):
        gpus = _gpus_per_trial(sweep, configs[0].device)
        learner_task = ray.remote(num_cpus=sweep.resources.num_cpus, num_gpus=gpus, max_retries=0)(run_trial)
        reference_task = ray.remote(num_cpus=1, max_retries=0)(run_trial)
        pending: dict = {}
        skipped = 0
        bar = tqdm(total=sum(len(t) for t in trials.values()), unit="trials", desc=f"sweep {sweep.name}", disable=not progress)
        for config in configs:
            dataset = collect_dataset(config, progress=progress)
            refs_done = []
            for trial in trials[config.name]:
                if is_finished(sweep_dir, trial, dataset.sha256):
                    skipped += 1
                    bar.update(1)
                    continue
                if trial.spec is None:
                    ref = reference_task.remote(trial, str(dataset.root), str(sweep_dir))
                    refs_done = [ref]
                else:
                    ref = learner_task.remote(trial, str(dataset.root), str(sweep_dir), *refs_done)
                pending[ref] = trial
        if skipped:
            bar.write(f"sweep {sweep.name}: {skipped} of {bar.total} trials already finished, skipped")
        try:
            while pending:
                ready, _ = ray.wait(list(pending), num_returns=1)
                trial = pending.pop(ready[0])
                try:
                    record = ray.get(ready[0])
                    bar.set_postfix_str(f"{trial.id} {record['seconds']:.0f}s")
                except RayError as exc:
                    failed[trial.id] = str(exc).strip().splitlines()[-1]
                    bar.write(f"trial {trial.id} failed: {failed[trial.id]}")
                bar.update(1)
        except KeyboardInterrupt:
            done = sum(1 for ts in trials.values() for t in ts if _trial_path(sweep_dir, t).exists())
            raise KeyboardInterrupt(
                f"sweep interrupted: {done} of {bar.total} trials have finished records in {sweep_dir / TRIALS_DIR}; "
                "rerun the same command to resume"
            ) from None
        finally:
            bar.close()

    for config in configs:
        if (config.run_dir / "eval").is_dir():
            report(config)
    markdown = sweep_report(sweep_dir, configs, dataset_points(sweep, configs))
    if failed:
        raise SweepFailedError(
            f"{len(failed)} trial(s) failed: {', '.join(sorted(failed))}; the report covers the others. "
            "Fix the cause and rerun the same command: finished trials are skipped."
        )
    return markdown


def dataset_points(sweep: SweepConfig, configs: list[ExperimentConfig]) -> dict[str, dict[str, Any]]:
    """Each dataset's values of the swept keys as its config has them (after `--scale`, so a
    scaled sweep's trends are against the sizes it really used), by dataset name."""

    def value(data: Any, key: str) -> Any:
        for part in key.split("."):
            data = data[part]
        return data

    return {c.name: {k: value(c.to_dict(), k) for k in point} for c, point in zip(configs, sweep.points())}


def sweep_report(sweep_dir: Path, configs: list[ExperimentConfig], points: dict[str, dict[str, Any]] | None = None) -> str:
    """One report over every trial's evaluation records: rows per (dataset, policy, split).

    With `points` (dataset name -> its overrides), the report ends with the trends against each
    numeric axis (`rlgen.trends`: test IQM and gap against `levels.train`, `collect.transitions`),
    with each dataset's distinct frames from its manifest, and a warning where a larger dataset
    holds no new frames (the size axis then measures repetition).
    """
    from rlgen.report import build_report, load_records

    paths = sorted(p for c in configs for p in (c.run_dir / "eval").glob("*.csv"))
    if not paths:
        raise FileNotFoundError(f"no evaluation records under {sweep_dir}; no trial has finished")
    datasets, diversity = {}, {}
    for c in configs:
        root = c.dataset_dir()
        dataset = load_dataset(root, verify=False) if root.exists() else None
        diversity[c.name] = None if dataset is None else frame_diversity(dataset.manifest)
        datasets[c.name] = {"path": str(root), "manifest_sha256": "unknown" if dataset is None else dataset.sha256}
        if diversity[c.name] is not None:
            datasets[c.name]["distinct_frames"] = diversity[c.name]["distinct_frames"]
    prov = {
        "sweep": str(sweep_dir / "sweep.yaml"),
        "datasets": datasets,
        "seeds": sorted({s for c in configs for s in c.seeds}),
        **provenance(),
    }
    described = {name: describe_diversity(d) for name, d in diversity.items() if name in datasets}
    markdown = build_report(
        load_records(paths), sweep_dir / REPORT_DIR, provenance=prov, diversity=described,
        train_runs=[run for c in configs for run in trained_run_dirs(c)],
    )
    if points:
        import pandas as pd

        from rlgen.trends import write_trends

        table = pd.read_csv(sweep_dir / REPORT_DIR / "report.csv")
        reported = {name: p for name, p in points.items() if name in set(table["dataset"])}
        trends = write_trends(table, reported, sweep_dir / REPORT_DIR, diversity)
        if trends:
            head, sep, rest = markdown.partition("\n## How to read these numbers")
            markdown = head + "\n".join(trends) + sep + rest
            atomic_write_bytes(sweep_dir / REPORT_DIR / "report.md", markdown.encode())
    return markdown
