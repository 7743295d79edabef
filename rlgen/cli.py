"""The `rlgen` command: one entry point, a subcommand per stage, for whole runs and for datasets."""

from __future__ import annotations

import argparse
import collections
import sys
import time
from pathlib import Path


def _config(args: argparse.Namespace):
    """The config the command names, with its `imports:` imported (a user's world, behaviour or
    learner registers itself before any stage reads the names)."""
    from rlgen.core.config import load_config
    from rlgen.core.imports import import_modules

    device = [f"device={args.device}"] if getattr(args, "device", None) else []
    config = load_config(args.config, [*args.set, *device])
    import_modules(config.imports)
    return config


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
    from rlgen.experiment import stitch_stage, validate_experiment, write_resolved_config
    from rlgen.ray_session import ray_session
    from rlgen.train import train_all

    config = _config(args)
    validate_experiment(config)
    dataset = load_dataset(config.dataset_dir())
    write_resolved_config(config)
    augmented = stitch_stage(config, dataset)
    with ray_session(config.ray, args.address):
        extra = None if augmented is None else (augmented.root, augmented.sha256)
        for path in train_all(config, dataset.root, dataset.sha256, progress=not args.quiet, augmented=extra):
            print(path)


def cmd_evaluate(args: argparse.Namespace) -> None:
    from rlgen.data.dataset import load_dataset
    from rlgen.experiment import check_runs, evaluate_all, validate_experiment
    from rlgen.ray_session import ray_session

    config = _config(args)
    validate_experiment(config)
    dataset = load_dataset(config.dataset_dir())
    check_runs(config, dataset)  # every run trained under this config, before Ray starts
    with ray_session(config.ray, args.address):
        for path in evaluate_all(config, dataset, progress=not args.quiet):
            print(path)


def cmd_report(args: argparse.Namespace) -> None:
    from rlgen.experiment import report

    config = _config(args)
    print(report(config))
    print(f"\nreport, CSV and plots: {config.run_dir / 'report'}")


def cmd_sweep(args: argparse.Namespace) -> None:
    from rlgen.sweep import REPORT_DIR, load_sweep, run_sweep

    _, configs = load_sweep(args.config, args.set, args.device, args.scale)  # every check, before Ray starts
    started = time.perf_counter()
    markdown = run_sweep(args.config, args.set, device=args.device, address=args.address, progress=not args.quiet, scale=args.scale)
    print(markdown)
    print(f"\nreport across all trials: {Path(configs[0].output_dir) / REPORT_DIR}  ({time.perf_counter() - started:.0f} s)")


def cmd_datasets_list(args: argparse.Namespace) -> None:
    """The catalog's cards (at `--scale`), each with whether it is built, then any other dataset
    folder under the data directory (imports, configs' datasets)."""
    from rlgen.catalog import load_catalog
    from rlgen.core.typed import ConfigError
    from rlgen.core.data_dir import resolve_data_dir
    from rlgen.data.manifest import MANIFEST_NAME, DatasetManifest, frame_diversity

    root = resolve_data_dir(args.data_dir)
    folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")) if root.is_dir() else []

    def built_text(folder: Path) -> str:
        m = DatasetManifest.read(folder)
        skill = m.behaviour.get("skill", {}).get("mean_return")
        skill_text = f", behaviour return {skill:.2f}" if skill is not None else ""
        diversity = frame_diversity(m)
        diversity_text = (
            f", distinct frames {diversity['distinct_frames_per_level']['mean']:.1f}/level, "
            f"{diversity['distinct_frames_per_1k_transitions']:.1f}/1k transitions"
            if diversity is not None
            else ", distinct frames unknown"
        )
        return f"{m.transitions} transitions, {m.episodes} episodes, {len(m.shards)} shards{skill_text}{diversity_text}"

    carded: set[str] = set()
    try:
        catalog = load_catalog(args.catalog).scaled(args.scale)
    except ConfigError as exc:
        if args.catalog:
            raise
        catalog = None
        print(f"(no dataset catalog: {exc})")
    if catalog is not None:
        cards = [c for c in catalog.cards if not args.game or c.env.game in args.game]
        status = {}
        for card in cards:
            folder = root / card.name
            carded.add(card.name)
            status[card.name] = "built" if (folder / MANIFEST_NAME).exists() else "incomplete" if folder.is_dir() else "not built"
        counts = collections.Counter(status.values())
        policies = collections.Counter(card.behaviour.policy for card in cards)
        print(
            f"catalog {catalog.source}: {len(cards)} cards ({', '.join(f'{n} {name}' for name, n in sorted(policies.items()))}); "
            f"{counts['built']} built, {counts['incomplete']} incomplete, {counts['not built']} not built (data under {root})"
        )
        for card in cards:
            state = status[card.name]
            detail = built_text(root / card.name) if state == "built" else ""
            if state == "incomplete":
                detail = "rerun `rlgen datasets build` to finish it"
            print(f"  {state:<11} {card.name}  [{card.behaviour.skill}; {', '.join(card.grid)}]" + (f"  {detail}" if detail else ""))
    others = [f for f in folders if f.name not in carded]
    if not folders:
        print(f"no datasets under {root}")
    elif others and catalog is not None:
        print(f"other datasets under {root}:")
    for folder in others:
        if (folder / MANIFEST_NAME).exists():
            print(f"{DatasetManifest.read(folder).name}: built, {built_text(folder)}")
        else:
            print(f"{folder.name}: incomplete (rerun its `rlgen collect` to finish it)")


def cmd_datasets_verify(args: argparse.Namespace) -> None:
    from rlgen.data.dataset import load_dataset

    from rlgen.data.card import ensure_card

    dataset = load_dataset(args.dataset, Path(args.data_dir) if args.data_dir else None, verify=True)
    print(f"{dataset.name}: {len(dataset.manifest.shards)} shards verified (sha256), manifest sha256 {dataset.sha256}")
    if (card := ensure_card(dataset.root, dataset.manifest)) is not None:
        print(f"wrote the missing dataset card {card}")
    _print_data_summary(dataset.manifest)


def _print_data_summary(m) -> None:
    """The behaviour's measured skill and, beside it, how much the data varies: an expert's return
    says nothing of whether its episodes repeat one path per level."""
    from rlgen.data.manifest import describe_diversity, frame_diversity

    skill = m.behaviour.get("skill", {})
    if skill.get("episodes"):
        low, high = skill["mean_return_ci95"]
        print(f"behaviour {m.behaviour.get('label', m.behaviour.get('name'))}: mean return {skill['mean_return']:.2f} [{low:.2f}, {high:.2f}] on training levels")
    print(f"data: {describe_diversity(frame_diversity(m))}")


def cmd_datasets_build(args: argparse.Namespace) -> None:
    import os

    from rlgen.catalog import build_card, load_catalog
    from rlgen.core.data_dir import DATA_DIR_VARIABLE

    if args.data_dir:
        os.environ[DATA_DIR_VARIABLE] = args.data_dir  # --data-dir wins over the variable and the card's config (rlgen.core.data_dir)
    card = load_catalog(args.catalog).find(args.name, args.scale)
    card.require_buildable()  # before Ray starts
    started = time.perf_counter()
    dataset = build_card(card, address=args.address, progress=not args.quiet, num_workers=args.workers, rebuild=args.rebuild)
    m = dataset.manifest
    print(f"dataset {dataset.name}: {m.transitions} transitions, {m.episodes} episodes in {dataset.root} ({time.perf_counter() - started:.0f} s)")
    skill = m.behaviour.get("skill", {})
    if skill.get("episodes"):
        low, high = skill["mean_return_ci95"]
        print(
            f"behaviour {m.behaviour['label']} ({card.behaviour.skill}, target {card.behaviour.target_fraction:g} x the expert's return): "
            f"mean return {skill['mean_return']:.2f} [{low:.2f}, {high:.2f}] on training levels"
        )
    from rlgen.data.manifest import describe_diversity, frame_diversity

    print(f"data: {describe_diversity(frame_diversity(m))}")


def cmd_datasets_import_paper(args: argparse.Namespace) -> None:
    from rlgen.data.interop import import_paper_dataset

    dataset = import_paper_dataset(args.source, args.name, game=args.game, mode=args.mode, train_levels=args.train_levels, data_dir=args.data_dir)
    m = dataset.manifest
    print(f"imported {m.episodes} episodes, {m.transitions} transitions ({m.game}, levels [0, {m.levels.train.count})) as {dataset.name} in {dataset.root}")


def cmd_datasets_export_minari(args: argparse.Namespace) -> None:
    from rlgen.data.interop import export_minari

    path = export_minari(args.dataset, args.out, dataset_id=args.dataset_id, data_dir=args.data_dir, author=args.author, author_email=args.author_email)
    print(f"exported {args.dataset} to {path} (load it with minari.MinariDataset({str(path)!r}), or by id under MINARI_DATASETS_PATH)")


def cmd_datasets_import_minari(args: argparse.Namespace) -> None:
    from rlgen.data.interop import import_minari

    dataset = import_minari(args.source, args.name, game=args.game, mode=args.mode, data_dir=args.data_dir)
    print(f"imported {dataset.manifest.episodes} episodes, {dataset.manifest.transitions} transitions as {dataset.name} in {dataset.root}")


def cmd_stitch_audit(args: argparse.Namespace) -> int:
    """Prove from the data that no stitching test pair occurs in one training trajectory.

    Exit status 1 when some pair does (the dataset does not test stitching), 0 otherwise.
    """
    import json

    from rlgen.core.config import EvaluateConfig, load_config
    from rlgen.core.imports import import_modules
    from rlgen.data.dataset import load_dataset
    from rlgen.stitch.audit import StitchingLeakError
    from rlgen.stitch.variant import audit_summary
    from rlgen.worlds import world_of, world_of_manifest

    target = Path(args.target)
    augmented = None
    if target.is_file() and target.suffix in (".yaml", ".yml"):
        config = load_config(target, args.set)
        import_modules(config.imports)
        world, dataset = world_of(config), load_dataset(config.dataset_dir())
        split, splits, levels = config.levels.split, config.evaluate.splits, config.evaluate.levels_per_split
        root = config.augmented_dataset_dir()
        if root is not None and root.exists():
            augmented = load_dataset(root)
    else:
        dataset = load_dataset(target, Path(args.data_dir) if args.data_dir else None)
        world, split = world_of_manifest(dataset.manifest.env), dataset.manifest.levels
        splits, levels = EvaluateConfig().splits, args.levels_per_split
    if not world.stitching:
        raise ValueError(f"{dataset.name} was not collected in a stitching world (env.kind stitch_maze or procgen_maze_stitch): nothing to audit")
    try:
        summary = audit_summary(world, split, splits, levels, dataset, augmented, strict=True)
    except StitchingLeakError as exc:
        summary = audit_summary(world, split, splits, levels, dataset, augmented, strict=False)
        print(json.dumps(summary, indent=1))
        print(f"rlgen: stitching audit FAILED for {dataset.name}: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(summary, indent=1))
    print(
        f"stitching audit passed for {dataset.name}: {summary['pairs']} test pairs, none together in any of "
        f"{summary['episodes']} trajectories; on training levels {summary['train_level_pairs_reachable_by_one_splice']} "
        f"of {summary['train_level_pairs']} are reachable by one splice"
        + (f", {summary['train_level_pairs_covered_after_augmentation']} covered by {augmented.name}" if augmented else "")
    )
    return 0


def cmd_stitch_results(args: argparse.Namespace) -> None:
    """Export a stitching run's report for results/stitch/ (`rlgen.report.stitch_results.export`)."""
    from rlgen.report.stitch_results import export

    print(export(Path(args.run), Path(args.out), args.command, *map(Path, args.more_runs)))


def cmd_policy_train_ppo(args: argparse.Namespace) -> None:
    """Train PPO on a game's training levels; checkpoints with train and validation returns."""
    from rlgen.policies.ppo_checkpoints import default_run_dir
    from rlgen.policies.ppo_settings import PPOSettings
    from rlgen.policies.ppo_train import train_ppo

    fields = {"game": args.game, "mode": args.mode, "train_levels": args.train_levels}
    for key in ("total_env_steps", "num_env_runners", "num_learners", "checkpoint_every", "seed", "eval_levels"):
        if getattr(args, key) is not None:
            fields[key] = getattr(args, key)
    settings = PPOSettings(**fields).with_overrides(args.set)  # every check, before Ray starts
    out = Path(args.out) if args.out else default_run_dir(settings.game, settings.mode, settings.train_levels)
    started = time.perf_counter()
    checkpoints = train_ppo(settings, out, device=args.device, address=args.address, num_cpus=args.num_cpus, progress=not args.quiet)
    print(f"\n{len(checkpoints)} checkpoints in {out / 'checkpoints'} ({time.perf_counter() - started:.0f} s); list them with `rlgen policy list-checkpoints {out}`")


def cmd_policy_skill(args: argparse.Namespace) -> None:
    """Each game's expert (the saved-state planner) and its `mixed` episode dial, measured on
    training levels [0, N); one JSON line per game and a Markdown table, so the skill figures
    quoted anywhere can be rerun (rlgen/policies/README.md)."""
    import json

    from rlgen.core.config import BehaviourConfig
    from rlgen.policies.registry import make_behaviour_policy
    from rlgen.policies.skill import calibrate_skill

    rows = []
    for game in args.games:
        started = time.perf_counter()
        calibration = calibrate_skill(
            lambda: make_behaviour_policy(BehaviourConfig(name="planner"), game, args.seed), game, range(args.levels),
            args.target, tolerance=args.tolerance, seed=args.seed,
        )  # fmt: skip
        record = {"game": game, "levels": args.levels, "seconds": round(time.perf_counter() - started, 1), **calibration.to_dict()}
        print(json.dumps(record), flush=True)
        rows.append(record)
    print("\n| game | expert return | random return | mixed: episode p | achieved fraction [95% CI] | mean length | discounted return | success |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        low, high = r["achieved_ci95"]
        print(
            f"| {r['game']} | {r['expert_return']:.2f} | {r['random_return']:.2f} | {r['parameter']:.3f} | "
            f"{r['achieved_fraction']:.3f} [{low:.3f}, {high:.3f}] | {r['mean_length']:.1f} | {r['mean_discounted_return']:.2f} | {r['success_rate']:.2f} |"
        )


def cmd_policy_list_checkpoints(args: argparse.Namespace) -> None:
    import json

    from rlgen.policies.ppo_checkpoints import RUN_JSON, resolve_checkpoints, resolve_path

    found = resolve_checkpoints(args.run)
    best = max(c.train_return for c in found)
    run_json = resolve_path(args.run) / RUN_JSON
    random_ref = json.loads(run_json.read_text()).get("random") if run_json.exists() else None
    if random_ref:
        print(f"random policy: train {random_ref['train']['mean_return']:.2f}, validation {random_ref['validation']['mean_return']:.2f}")
    print(f"{'checkpoint':<24} {'env steps':>12} {'train return':>13} {'validation':>11} {'x best (train)':>15}")
    for c in found:
        frac = f"{c.train_return / best:.2f}" if best > 0 else "-"
        print(f"{c.path.name:<24} {c.env_steps:>12} {c.train_return:>13.2f} {c.validation_return:>11.2f} {frac:>15}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rlgen", description="Generalization in offline RL: collect, train, evaluate, report.")
    sub = parser.add_subparsers(dest="command", required=True)

    def staged(name: str, fn, help_text: str) -> None:
        p = sub.add_parser(name, help=help_text)
        p.add_argument("config", help="experiment config (YAML), e.g. configs/quickstart.yaml")
        p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a config value, e.g. --set collect.transitions=5000")
        p.add_argument("--address", default=None, help="Ray cluster address (default: $RAY_ADDRESS, else embedded local Ray)")
        p.add_argument("--device", default=None, help="torch device for training and evaluation: cpu, cuda:0 or auto (same as --set device=...)")
        p.add_argument("--quiet", action="store_true", help="no progress bars")
        p.set_defaults(fn=fn)

    staged("run", cmd_run, "the whole experiment: collect, train, evaluate, report")
    staged("collect", cmd_collect, "collect the dataset with Ray actors (resumes an interrupted collection)")
    staged("train", cmd_train, "train every learner and seed on the collected dataset")
    staged("evaluate", cmd_evaluate, "evaluate trained runs and reference policies on train/validation/test levels")
    staged("report", cmd_report, "tables (Markdown, CSV) and plots from the evaluation records")
    p = sub.add_parser("sweep", help="datasets x learners x seeds of a sweep config as Ray tasks; rerunning resumes")
    p.add_argument("config", help="sweep config (YAML), e.g. configs/sweeps/diversity.yaml")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a value of the base experiment config for every trial")
    p.add_argument("--device", default=None, help="torch device for training and evaluation: cpu, cuda:0 or auto (default: the base config's)")
    p.add_argument("--address", default=None, help="Ray cluster address (default: $RAY_ADDRESS, else embedded local Ray)")
    p.add_argument("--scale", type=float, default=1.0, help="dataset sizes times this, e.g. 0.02 runs a 1M-transition grid with 20k (default 1)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(fn=cmd_sweep)

    datasets = sub.add_parser("datasets", help="the dataset catalog: list, build, verify, import, export").add_subparsers(dest="action", required=True)
    p = datasets.add_parser("list", help="the catalog's cards and which are built, then other datasets under the data directory")
    p.add_argument("--data-dir", default=None)
    p.add_argument("--catalog", default=None, help="catalog folder or file (default: the repository's datasets/)")
    p.add_argument("--scale", type=float, default=1.0, help="show the cards as `build --scale` would build them")
    p.add_argument("--game", action="append", default=[], help="only this game's cards (repeatable)")
    p.set_defaults(fn=cmd_datasets_list)
    p = datasets.add_parser("verify", help="recheck every shard's sha256 against the manifest")
    p.add_argument("dataset", help="dataset name (under the data directory) or folder")
    p.add_argument("--data-dir", default=None)
    p.set_defaults(fn=cmd_datasets_verify)
    p = datasets.add_parser("build", help="build a catalog card's dataset with the Ray collection (datasets/procgen.yaml)")
    p.add_argument("name", help="card name (full size, or as `list --scale` shows it)")
    p.add_argument("--scale", type=float, default=1.0, help="size factor, e.g. 0.001 builds the 1M cards with 1k transitions (default 1)")
    p.add_argument("--address", default=None, help="Ray cluster address (default: $RAY_ADDRESS, else embedded local Ray)")
    p.add_argument("--workers", type=int, default=None, help="collecting Ray actors (default 2; keep it when resuming)")
    p.add_argument("--rebuild", action="store_true", help="replace a finished dataset (kept, and restored, until the new one is complete)")
    p.add_argument("--catalog", default=None, help="catalog folder or file (default: the repository's datasets/)")
    p.add_argument("--data-dir", default=None)
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(fn=cmd_datasets_build)
    p = datasets.add_parser("import-paper", help="import the generalization-gap paper's per-episode .npz files")
    p.add_argument("source", help="folder of TIMESTAMP_INDEX_LENGTH_LEVELSEED_RETURN.npz files (searched recursively)")
    p.add_argument("name", help="name of the rlgen dataset to create")
    p.add_argument("--game", default=None, help="Procgen game (default: the game named by a folder on the path)")
    p.add_argument("--mode", default="easy")
    p.add_argument("--train-levels", type=int, default=None, help="training levels [0, N) (default: largest level seed + 1)")
    p.add_argument("--data-dir", default=None)
    p.set_defaults(fn=cmd_datasets_import_paper)
    p = datasets.add_parser("export-minari", help="write a dataset in Minari's format (HDF5)")
    p.add_argument("dataset", help="dataset name (under the data directory) or folder")
    p.add_argument("--out", default=None, help="Minari datasets root (default: $MINARI_DATASETS_PATH)")
    p.add_argument("--dataset-id", default=None, help="Minari id (default: rlgen/NAME, dots as p)")
    p.add_argument("--data-dir", default=None)
    p.add_argument("--author", default="rlgen contributors", help="Minari's author field: who made the dataset")
    p.add_argument("--author-email", default=None, help="Minari's author_email field")
    p.set_defaults(fn=cmd_datasets_export_minari)
    p = datasets.add_parser("import-minari", help="read a Minari dataset (HDF5) into an rlgen dataset")
    p.add_argument("source", help="Minari dataset folder, its data/ folder, or an id under $MINARI_DATASETS_PATH")
    p.add_argument("name", nargs="?", default=None, help="dataset name (default: the exported name, for datasets rlgen exported)")
    p.add_argument("--game", default=None, help="Procgen game (needed for datasets rlgen did not export)")
    p.add_argument("--mode", default="easy")
    p.add_argument("--data-dir", default=None)
    p.set_defaults(fn=cmd_datasets_import_minari)

    policy = sub.add_parser("policy", help="behaviour policies: train PPO experts, list their checkpoints, measure skill").add_subparsers(dest="action", required=True)
    p = policy.add_parser("train-ppo", help="train PPO (RLlib, IMPALA CNN) on a game's training levels [0, N); rerunning resumes")
    p.add_argument("--game", required=True, help="Procgen game, e.g. bigfish")
    p.add_argument("--mode", default="easy", help="easy or hard (default easy)")
    p.add_argument("--train-levels", type=int, default=200, help="training levels [0, N) (default 200, the paper's)")
    p.add_argument("--total-env-steps", type=int, default=None, help="env steps to train for (default 25M, the paper's)")
    p.add_argument("--out", default=None, help="run folder (default checkpoints/ppo/GAME-MODE-LN, where dataset cards look)")
    p.add_argument("--checkpoint-every", type=int, default=None, help="iterations between checkpoints (default 10; the last always saves)")
    p.add_argument("--eval-levels", type=int, default=None, help="training and validation levels played at each checkpoint (default 20)")
    p.add_argument("--num-env-runners", type=int, default=None, help="Ray actors stepping environments on CPU (default 1)")
    p.add_argument("--num-learners", type=int, default=None, help="0: learn in this process (default); N: remote learner actors on a cluster")
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a PPO setting, e.g. --set num_envs=16 --set lr=3e-4")
    p.add_argument("--device", default="cpu", help="learner device: cpu, cuda or auto (env runners always step on CPU)")
    p.add_argument("--address", default=None, help="Ray cluster address (default: $RAY_ADDRESS, else embedded local Ray on 127.0.0.1)")
    p.add_argument("--num-cpus", type=int, default=None, help="CPUs of the embedded Ray (default: all)")
    p.add_argument("--quiet", action="store_true", help="no per-iteration lines")
    p.set_defaults(fn=cmd_policy_train_ppo)
    p = policy.add_parser("list-checkpoints", help="a PPO run's checkpoints with their train and validation returns")
    p.add_argument("run", help="PPO run folder (or one checkpoint folder)")
    p.set_defaults(fn=cmd_policy_list_checkpoints)
    p = policy.add_parser("skill", help="measure each game's planner expert and its mixed episode dial on training levels")
    p.add_argument("--games", nargs="+", default=["maze", "heist"])
    p.add_argument("--levels", type=int, default=20, help="training levels [0, N) played (default 20)")
    p.add_argument("--target", type=float, default=0.75, help="target fraction of the expert's return (default: mixed, 0.75)")
    p.add_argument("--tolerance", type=float, default=0.05)
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(fn=cmd_policy_skill)

    stitch = sub.add_parser("stitch", help="the stitching track's checks").add_subparsers(dest="action", required=True)
    p = stitch.add_parser("audit", help="count co-occurrences of the stitching test pairs in every trajectory; exit 1 on any")
    p.add_argument("target", help="experiment config (YAML; its dataset, evaluation pairs and augmented variant) or a dataset name or folder")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a config value")
    p.add_argument("--data-dir", default=None)
    p.add_argument("--levels-per-split", type=int, default=100, help="levels of each split with test pairs (a dataset target only)")
    p.set_defaults(fn=cmd_stitch_audit)
    p = stitch.add_parser("results", help="copy a stitching run's report to a results folder, with a success plot and summary")
    p.add_argument("run", help="the run folder (runs/NAME)")
    p.add_argument("out", help="the results folder to write (e.g. results/stitch/grid_maze)")
    p.add_argument("command", help="the command that produced the run, recorded in summary.md and COMMAND")
    p.add_argument("more_runs", nargs="*", help="runs whose augmented variants add rows (e.g. the hindsight baseline's)")
    p.set_defaults(fn=cmd_stitch_results)
    return parser


def main(argv: list[str] | None = None) -> int:
    from rlgen.core.games import UnknownNameError
    from rlgen.core.levels import LevelOverlapError
    from rlgen.core.typed import ConfigError
    from rlgen.data.errors import DatasetError
    from rlgen.sweep import SweepFailedError

    from rlgen.data.atomic import describe_os_error
    from rlgen.ray_session import task_error_cause

    from rlgen.resources import example_config

    args = build_parser().parse_args(argv)
    if isinstance(getattr(args, "config", None), str):  # no such file here: the shipped example of that name
        args.config = str(example_config(args.config))
    try:
        code = args.fn(args)
    except KeyboardInterrupt as exc:
        print(f"\nrlgen: {str(exc) or 'interrupted'}", file=sys.stderr)
        return 130
    except Exception as raised:
        # An error raised in a Ray task arrives wrapped, its message the remote traceback: say its cause.
        exc = task_error_cause(raised)
        if isinstance(exc, (ConfigError, UnknownNameError, LevelOverlapError, DatasetError, FileNotFoundError, ValueError)):
            print(f"rlgen: error: {exc}", file=sys.stderr)
            return 2
        if isinstance(exc, OSError):  # a full disk, a folder that cannot be written: which file, what to do
            print(f"rlgen: error: {describe_os_error(exc)}", file=sys.stderr)
            return 2
        if isinstance(exc, SweepFailedError):
            print(f"rlgen: error: {exc}", file=sys.stderr)
            return 1
        raise
    return int(code or 0)


if __name__ == "__main__":
    sys.exit(main())
