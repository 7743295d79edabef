"""The `rlgen` command: one entry point, a subcommand per stage, for whole runs and for datasets."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path


def _config(args: argparse.Namespace):
    from rlgen.core.config import load_config

    return load_config(args.config, args.set)


def cmd_run(args: argparse.Namespace) -> None:
    from rlgen.experiment import run_experiment

    config = _config(args)
    started = time.perf_counter()
    markdown = run_experiment(config, address=args.address, progress=not args.quiet)
    print(markdown)
    print(f"\nreport, CSV and plots: {config.run_dir / 'report'}  ({time.perf_counter() - started:.0f} s)")


def cmd_collect(args: argparse.Namespace) -> None:
    from rlgen.collect import collect_dataset

    config = _config(args)
    dataset = collect_dataset(config, address=args.address, progress=not args.quiet)
    skill = dataset.manifest.behaviour.get("skill", {})
    print(f"dataset {dataset.name}: {dataset.manifest.transitions} transitions, {dataset.manifest.episodes} episodes in {dataset.root}")
    if skill.get("episodes"):
        low, high = skill["mean_return_ci95"]
        print(f"behaviour {dataset.manifest.behaviour['label']}: mean return {skill['mean_return']:.2f} [{low:.2f}, {high:.2f}] on training levels")


def cmd_train(args: argparse.Namespace) -> None:
    from rlgen.data.dataset import load_dataset
    from rlgen.experiment import validate_experiment, write_resolved_config
    from rlgen.ray_session import ray_session
    from rlgen.train import train_all

    config = _config(args)
    validate_experiment(config)
    dataset = load_dataset(config.dataset_dir())
    write_resolved_config(config)
    with ray_session(config.ray, args.address):
        for path in train_all(config, dataset.root, dataset.sha256, progress=not args.quiet):
            print(path)


def cmd_evaluate(args: argparse.Namespace) -> None:
    from rlgen.data.dataset import load_dataset
    from rlgen.experiment import evaluate_all, validate_experiment
    from rlgen.ray_session import ray_session

    config = _config(args)
    validate_experiment(config)
    dataset = load_dataset(config.dataset_dir())
    with ray_session(config.ray, args.address):
        for path in evaluate_all(config, dataset, progress=not args.quiet):
            print(path)


def cmd_report(args: argparse.Namespace) -> None:
    from rlgen.experiment import report

    config = _config(args)
    print(report(config))
    print(f"\nreport, CSV and plots: {config.run_dir / 'report'}")


def cmd_datasets_list(args: argparse.Namespace) -> None:
    from rlgen.data.dataset import default_data_dir
    from rlgen.data.manifest import MANIFEST_NAME, DatasetManifest

    root = Path(args.data_dir) if args.data_dir else default_data_dir()
    folders = sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
    if not folders:
        print(f"no datasets under {root}")
    for folder in folders:
        if (folder / MANIFEST_NAME).exists():
            m = DatasetManifest.read(folder)
            skill = m.behaviour.get("skill", {}).get("mean_return")
            skill_text = f", behaviour return {skill:.2f}" if skill is not None else ""
            print(f"{m.name}: built, {m.transitions} transitions, {m.episodes} episodes, {len(m.shards)} shards{skill_text}")
        else:
            print(f"{folder.name}: incomplete (rerun its `rlgen collect` to finish it)")


def cmd_datasets_verify(args: argparse.Namespace) -> None:
    from rlgen.data.dataset import load_dataset

    dataset = load_dataset(args.dataset, Path(args.data_dir) if args.data_dir else None, verify=True)
    print(f"{dataset.name}: {len(dataset.manifest.shards)} shards verified (sha256), manifest sha256 {dataset.sha256}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rlgen", description="Generalization in offline RL: collect, train, evaluate, report.")
    sub = parser.add_subparsers(dest="command", required=True)

    def staged(name: str, fn, help_text: str) -> None:
        p = sub.add_parser(name, help=help_text)
        p.add_argument("config", help="experiment config (YAML), e.g. configs/quickstart.yaml")
        p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a config value, e.g. --set collect.transitions=5000")
        p.add_argument("--address", default=None, help="Ray cluster address (default: $RAY_ADDRESS, else embedded local Ray)")
        p.add_argument("--quiet", action="store_true", help="no progress bars")
        p.set_defaults(fn=fn)

    staged("run", cmd_run, "the whole experiment: collect, train, evaluate, report")
    staged("collect", cmd_collect, "collect the dataset with Ray actors (resumes an interrupted collection)")
    staged("train", cmd_train, "train every learner and seed on the collected dataset")
    staged("evaluate", cmd_evaluate, "evaluate trained runs and reference policies on train/validation/test levels")
    staged("report", cmd_report, "tables (Markdown, CSV) and plots from the evaluation records")

    datasets = sub.add_parser("datasets", help="list or verify datasets").add_subparsers(dest="action", required=True)
    p = datasets.add_parser("list", help="datasets under the data directory, built or not")
    p.add_argument("--data-dir", default=None)
    p.set_defaults(fn=cmd_datasets_list)
    p = datasets.add_parser("verify", help="recheck every shard's sha256 against the manifest")
    p.add_argument("dataset", help="dataset name (under the data directory) or folder")
    p.add_argument("--data-dir", default=None)
    p.set_defaults(fn=cmd_datasets_verify)
    return parser


def main(argv: list[str] | None = None) -> int:
    from rlgen.core.games import UnknownNameError
    from rlgen.core.levels import LevelOverlapError
    from rlgen.core.typed import ConfigError
    from rlgen.data.errors import DatasetError

    args = build_parser().parse_args(argv)
    try:
        args.fn(args)
    except (ConfigError, UnknownNameError, LevelOverlapError, DatasetError, FileNotFoundError, ValueError) as exc:
        print(f"rlgen: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:
        print(f"\nrlgen: {exc or 'interrupted'}", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
