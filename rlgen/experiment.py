"""A whole experiment, stage by stage: collect -> (stitching: audit, augment) -> train -> evaluate -> report.

Each stage reads what the previous one left on disk, so each can be run on its own from the
command line (`rlgen collect|train|evaluate|report CONFIG`) and `rlgen run CONFIG` resumes
where an interrupted run stopped. The resolved config is written to the run folder first.
"""

from __future__ import annotations

import contextlib
import functools
import json
from pathlib import Path

import yaml

from rlgen.collect import collect_dataset
from rlgen.core.config import ConfigError, ExperimentConfig
from rlgen.core.imports import import_modules
from rlgen.core.provenance import provenance
from rlgen.data.atomic import atomic_write_bytes
from rlgen.data.dataset import Dataset, load_dataset
from rlgen.data.lock import folder_lock
from rlgen.data.manifest import describe_diversity, frame_diversity
from rlgen.data.names import check_name
from rlgen.evaluate import evaluate_policies, write_records
from rlgen.policies.base import RandomPolicy
from rlgen.ray_session import gpus_for_device, ray_session
from rlgen.stitch.variant import audit_summary, build_augmented_variant
from rlgen.train import AUGMENTED, check_trained, run_dir, run_key, train_all
from rlgen.worlds import stitching_kinds, world_of

EVAL_DIR = "eval"
REPORT_DIR = "report"
STITCH_AUDIT = "stitch_audit.json"

GENERIC_REFERENCES = ("random", "behaviour")
"""References every world has; a world may add its own (`reference_names` / `reference_policy`)."""


def validate_experiment(config: ExperimentConfig) -> None:
    """Every check that can fail before any work: names, hyperparameters, level splits."""
    from rlgen.learn import learner_config

    import_modules(config.imports)  # first: a user's world, behaviour or learner registers itself
    config.levels.split  # noqa: B018  (overlapping splits raise here)
    world = world_of(config)  # an unknown env.kind is refused here, after the imports
    world.check_behaviour(config.collect.policy)
    extra = tuple(getattr(world, "reference_names", ()))
    for ref in config.evaluate.references:
        if ref not in GENERIC_REFERENCES + extra:
            raise ConfigError(
                f"evaluate.references: unknown reference {ref!r} for env.kind {config.env.kind}; "
                f"valid: {', '.join(GENERIC_REFERENCES + extra)}"
            )
        if ref not in GENERIC_REFERENCES and hasattr(world, "check_reference"):
            world.check_reference(ref, config)  # e.g. the online PPO checkpoint exists and plays this game
    if config.augment is not None and not world.stitching:
        raise ValueError(
            f"augment: temporal augmentation needs per-step waypoints; only the stitching worlds (env.kind "
            f"{', '.join(stitching_kinds())}) record them"
        )
    if config.augment is not None and hasattr(world, "check_augment"):
        world.check_augment(config.augment)  # e.g. goals that cannot be redrawn exactly in the observations
    for spec in config.learners:
        learner_config(spec.algo, spec.params)
    if config.train.tensorboard:
        from rlgen.learn.monitor import require_tensorboard

        require_tensorboard()
    names = [spec.name for spec in config.learners]
    # The experiment's and learners' names become folders (runs/NAME/train/LABEL-seedN): refuse
    # one that would lead out of output_dir, as names read from a dataset's files are refused.
    check_name(config.name, "experiment (`name:`)", "config")
    for name in names:
        check_name(name, "learner (`label:` or `algo:`)", "config")
    if len(set(names)) != len(names):
        raise ValueError(f"learners: two learners share a name in {names}; give one a distinct `label`")


def write_resolved_config(config: ExperimentConfig) -> Path:
    config.run_dir.mkdir(parents=True, exist_ok=True)
    path = config.run_dir / "config.yaml"
    atomic_write_bytes(path, yaml.safe_dump(config.to_dict(), sort_keys=False).encode())
    return path


def experiment_datasets(config: ExperimentConfig, dataset: Dataset) -> list[tuple[str, Dataset]]:
    """(variant, dataset) pairs the experiment trains and evaluates on: the collected data, and its
    stitching-augmented variant when the config has an `augment` section and it has been built."""
    out = [("", dataset)]
    root = config.augmented_dataset_dir()
    if root is not None and root.exists():
        out.append((AUGMENTED, load_dataset(root, verify=False)))
    return out


def stitch_stage(config: ExperimentConfig, dataset: Dataset, *, strict: bool = True) -> Dataset | None:
    """The stitching track between collection and training: audit, then build the augmented variant.

    Fails (`StitchingLeakError`) when a test pair co-occurs in a training trajectory, before any
    training. Writes the audit and coverage figures to `runs/NAME/stitch_audit.json`, which the
    report cites. Returns the augmented variant (None without an `augment` section).
    """
    world = world_of(config)
    if not world.stitching:
        return None
    ev = config.evaluate
    audit_summary(world, config.levels.split, ev.splits, ev.levels_per_split, dataset, strict=strict)  # fail before building
    augmented = None
    if config.augment is not None:
        augmented = build_augmented_variant(
            dataset, config.augmented_dataset_dir(), config.augmented_dataset_name, config.augment, world.goal_renderer()
        )
    summary = audit_summary(world, config.levels.split, ev.splits, ev.levels_per_split, dataset, augmented, strict=strict)
    config.run_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(config.run_dir / STITCH_AUDIT, (json.dumps(summary, indent=1) + "\n").encode())
    return augmented


def check_runs(config: ExperimentConfig, dataset: Dataset) -> None:
    """Refuse, before Ray starts, any run of the experiment missing or trained under another
    config or dataset (`rlgen.train.check_trained`); `evaluate_all` checks again under the locks."""
    for variant, data in experiment_datasets(config, dataset):
        for spec in config.learners:
            for seed in config.seeds:
                check_trained(config, spec, seed, data.sha256, variant)


def evaluate_all(config: ExperimentConfig, dataset: Dataset, progress: bool = True) -> list[Path]:
    """Evaluate every trained run and the reference policies on the same paired jobs (Ray must run).

    Each run must have been trained under this config and dataset (`rlgen.train.check_trained`):
    a run left from another config is refused, naming its folder, rather than scored.

    Runs trained on the augmented variant (when there is one) are evaluated too, their records
    naming that dataset; references are evaluated once, under the collected dataset.
    """
    # Hold every evaluated run's folder: a retrain starting meanwhile would swap the weights
    # under the actors loading them (it fails at once instead, naming this process).
    with contextlib.ExitStack() as locks:
        for variant, _ in experiment_datasets(config, dataset):
            for spec in config.learners:
                for seed in config.seeds:
                    folder = run_dir(config, spec, seed, variant)
                    if folder.is_dir():  # a missing one is refused below, and no empty folder is left
                        locks.enter_context(folder_lock(folder, "run"))
        return _evaluate_locked(config, dataset, progress)


def _evaluate_locked(config: ExperimentConfig, dataset: Dataset, progress: bool) -> list[Path]:
    """`evaluate_all`'s work, with the run folders' locks held."""
    from rlgen.learn.registry import load_policy_after_imports

    ev = config.evaluate
    world = world_of(config)
    jobs = world.jobs(config.levels.split, ev.splits, ev.levels_per_split, ev.episodes_per_level)
    entries: dict[str, tuple] = {}
    identities: dict[str, dict] = {}
    for variant, data in experiment_datasets(config, dataset):
        identity = {"evaluate": config.to_dict()["evaluate"], "dataset_sha256": data.sha256, "levels": config.levels.split.to_dict()}
        base = {"dataset": data.name, "dataset_sha256": data.sha256, "game": config.env.game, "mode": config.env.mode}
        for spec in config.learners:
            for seed in config.seeds:
                path = check_trained(config, spec, seed, data.sha256, variant)  # trained under this very config
                weights = checkpoint_dir(path, ev.checkpoint)
                factory = functools.partial(load_policy_after_imports, config.imports, weights, config.device, greedy=ev.greedy)
                trained = (path / "run.json").read_text()
                key = run_key(spec, seed, variant)
                entries[key] = (factory, {"policy": spec.name, "kind": "learner", "seed": seed, **base}, trained)
                identities[key] = identity
        if variant:
            continue
        for ref in ev.references:
            if ref == "random":
                factory = functools.partial(RandomPolicy, seed=config.collect.seed, num_actions=world.num_actions)
            elif ref == "behaviour":
                factory = functools.partial(world.reference_behaviour, config.collect.policy, config.collect.seed)
            else:  # one the world names (validated in validate_experiment)
                factory = functools.partial(world.reference_policy, ref, config, config.collect.seed)
            entries[f"reference-{ref}"] = (factory, {"policy": ref, "kind": "reference", "seed": config.collect.seed, **base}, "")
            identities[f"reference-{ref}"] = identity

    out = config.run_dir / EVAL_DIR
    todo = {}
    stamps = {key: {**identities[key], "trained": trained} for key, (_, _, trained) in entries.items()}
    for key, (factory, _, _) in entries.items():
        stamp = out / f"{key}.json"
        if not (stamp.exists() and json.loads(stamp.read_text()) == stamps[key] and (out / f"{key}.csv").exists()):
            todo[key] = factory
    if todo:
        results = evaluate_policies(
            todo, config.env.game, config.env.mode, jobs,
            num_workers=ev.num_workers, num_envs=ev.envs_per_worker, seed=config.collect.seed, progress=progress, world=world,
            num_gpus=gpus_for_device(config.device) / max(1, ev.num_workers), imports=config.imports,
        )  # fmt: skip
        for key, records in results.items():
            write_records(out / f"{key}.csv", records, entries[key][1])
            atomic_write_bytes(out / f"{key}.json", json.dumps(stamps[key]).encode())
    return [out / f"{key}.csv" for key in entries]


def checkpoint_dir(run: Path, checkpoint: str) -> Path:
    """The folder of a trained run's weights that `evaluate.checkpoint` names: the run folder
    (final weights) unless selection kept an earlier checkpoint and "selected" is asked for."""
    from rlgen.learn.registry import SELECTED_DIR

    selected = run / SELECTED_DIR
    return selected if checkpoint == "selected" and selected.is_dir() else run


def report(config: ExperimentConfig, eval_paths: list[Path] | None = None) -> str:
    """Build the report from the run's evaluation files; returns its Markdown."""
    from rlgen.report import build_report, load_records

    import_modules(config.imports)  # the report reads each world's notes and stitching flag from the registry
    paths = eval_paths or sorted((config.run_dir / EVAL_DIR).glob("*.csv"))
    if not paths:
        raise FileNotFoundError(f"no evaluation records under {config.run_dir / EVAL_DIR}; run `rlgen evaluate` first")
    dataset_root = config.dataset_dir()
    manifest_hash = load_dataset(dataset_root, verify=False).sha256 if dataset_root.exists() else "unknown"
    audit_path = config.run_dir / STITCH_AUDIT
    stitching = {"stitching audit": json.loads(audit_path.read_text())} if audit_path.exists() else {}
    prov = {
        **stitching,
        "config": str(config.run_dir / "config.yaml"),
        "config_sha256": config.fingerprint(),
        "dataset": {"name": config.dataset_name, "path": str(dataset_root), "manifest_sha256": manifest_hash},
        "seeds": list(config.seeds),
        "runs": _run_summaries(config),
        "levels": {k: str(v) for k, v in (("train", config.levels.split.train), ("validation", config.levels.validation), ("test", config.levels.test))},
        **provenance(),
    }
    return build_report(
        load_records(paths), config.run_dir / REPORT_DIR, provenance=prov, diversity=_diversity(config),
        train_runs=trained_run_dirs(config),
    )


def trained_run_dirs(config: ExperimentConfig) -> list[Path]:
    """The run folders of every (learner, seed) and data variant of the config that exist (the
    report draws their learning curves)."""
    variants = ("",) if config.augment is None else ("", AUGMENTED)
    paths = [run_dir(config, spec, seed, v) for v in variants for spec in config.learners for seed in config.seeds]
    return [path for path in paths if path.is_dir()]


def _diversity(config: ExperimentConfig) -> dict[str, str]:
    """{dataset name: its distinct frames in words} for the datasets of the run's records."""
    roots = [config.dataset_dir(), config.augmented_dataset_dir()]
    return {root.name: describe_diversity(frame_diversity(root)) for root in roots if root is not None and root.exists()}


def _run_summaries(config: ExperimentConfig) -> dict[str, dict]:
    """Each trained run's folder and what conditions its policy (the DT's target return)."""
    summaries = {}
    variants = ("",) if config.augment is None else ("", AUGMENTED)
    for variant in variants:
        for spec in config.learners:
            for seed in config.seeds:
                path = run_dir(config, spec, seed, variant)
                if variant and not path.exists():
                    continue
                meta_path = path / "learner.json"
                meta = json.loads(meta_path.read_text()) if meta_path.exists() else {}
                summary = {"dir": str(path), "steps": meta.get("steps"), "evaluated": config.evaluate.checkpoint}
                selection = meta.get("selection")
                if selection:
                    summary["selection"] = {k: selection[k] for k in ("kept", "selected_step", "reason")}
                if meta.get("target_return") is not None:
                    summary["target_return"] = meta["target_return"]
                summaries[run_key(spec, seed, variant)] = summary
    return summaries


def run_experiment(config: ExperimentConfig, address: str | None = None, progress: bool = True) -> str:
    """Collect (or reuse) the dataset, train, evaluate and report; returns the report's Markdown."""
    validate_experiment(config)
    write_resolved_config(config)
    with ray_session(config.ray, address):
        dataset = collect_dataset(config, progress=progress)
        augmented = stitch_stage(config, dataset)
        train_all(
            config, dataset.root, dataset.sha256, progress=progress,
            augmented=None if augmented is None else (augmented.root, augmented.sha256),
        )  # fmt: skip
        paths = evaluate_all(config, dataset, progress=progress)
    return report(config, paths)
