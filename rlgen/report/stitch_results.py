"""Commit-ready results of a stitching run: the report's files, the audit, and a success plot.

Why a step of its own: `rlgen run` writes a run's report under `runs/NAME/` (ignored by git);
results/stitch/ keeps what a reader needs, copied from the run unchanged (report.md,
stitching.csv, the per-episode records episodes.csv, stitch_audit.json, the resolved config), plus one figure and one summary table
that put the stitching question in one place: success of each learner with and without
augmentation, on stitching and ordinary pairs, on training and unseen levels, with the 95%
intervals the report computed. Nothing is recomputed here; every number is read from the run.

    rlgen stitch results runs/stitch results/stitch/grid_maze "COMMAND" [runs/stitch_hindsight]

It lives with the report, not with the stitching track's algorithms (`rlgen.stitch`),
because it reads runs: their report files, configs and trained policies.

A second run directory (the same config with `augment.eps=0`, the within-trajectory hindsight
baseline) adds its variant's rows; rows both runs have (the collected data, the references)
are taken from the first.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pandas as pd

COPIED = ("report/report.md", "report/stitching.csv", "report/report.csv", "report/episodes.csv", "stitch_audit.json", "config.yaml")
CELLS = (("stitch", "train"), ("stitch", "test"), ("ordinary", "train"), ("ordinary", "test"))


DATA_ORDER = ("collected", "hindsight", "augmented")


def data_label(dataset: str) -> str:
    """What a dataset name says about its goals: `collected` (the tasks' own), `hindsight`
    (the variant with augment.eps 0: relabelled within trajectories), `augmented` (eps > 0)."""
    if "-aug" not in dataset:
        return "collected"
    return "hindsight" if "-aug0-" in dataset else "augmented"


def _label(row: pd.Series) -> str:
    return data_label(str(row["dataset"]))


def summary_table(table: pd.DataFrame) -> str:
    """Markdown: one row per (policy, data), success [95% CI] per (pair kind, levels)."""
    table = table.assign(data=table.apply(_label, axis=1))
    header = ["Policy", "Data", "Runs", *(f"{k} pairs, {s} levels" for k, s in CELLS)]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    order = {"learner": 0, "reference": 1}
    keys = sorted({(r.policy, r.data, r.kind) for r in table.itertuples()}, key=lambda k: (order.get(k[2], 2), k[0], DATA_ORDER.index(k[1])))
    for policy, data, kind in keys:
        sub = table[(table["policy"] == policy) & (table["data"] == data)]
        cells = []
        for pairs, split in CELLS:
            row = sub[(sub["pairs"] == pairs) & (sub["split"] == split)]
            if row.empty:
                cells.append("—")
                continue
            r = row.iloc[0]
            cells.append(f"{r.success_rate:.2f} [{r.success_ci_low:.2f}, {r.success_ci_high:.2f}]")
        label = policy if kind == "learner" else f"{policy} (reference)"
        lines.append("| " + " | ".join([label, data if kind == "learner" else "", str(int(sub["n_runs"].max())), *cells]) + " |")
    episodes = table.groupby(["policy", "dataset", "pairs", "split"])["n_episodes"].first()
    lines.append("")
    lines.append(f"Episodes per cell: {int(episodes.min())}-{int(episodes.max())} (pairs x runs).")
    return "\n".join(lines)


def plot(table: pd.DataFrame, path: Path, title: str) -> None:
    """Grouped bars with 95% intervals: learners x data, one panel per (pair kind, levels)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    table = table.assign(data=table.apply(_label, axis=1))
    learners = table[table["kind"] == "learner"]
    policies = sorted(learners["policy"].unique())
    fig, axes = plt.subplots(1, len(CELLS), figsize=(3.2 * len(CELLS), 3.2), sharey=True)
    for ax, (pairs, split) in zip(axes, CELLS):
        cell = table[(table["pairs"] == pairs) & (table["split"] == split)]
        present = [d for d in DATA_ORDER if (learners["data"] == d).any()]
        width = 0.8 / max(len(present), 1)
        for j, data in enumerate(present):
            rows = [cell[(cell["policy"] == p) & (cell["data"] == data)] for p in policies]
            mean = [r["success_rate"].iloc[0] if len(r) else 0.0 for r in rows]
            low = [m - (r["success_ci_low"].iloc[0] if len(r) else 0.0) for m, r in zip(mean, rows)]
            high = [(r["success_ci_high"].iloc[0] if len(r) else 0.0) - m for m, r in zip(mean, rows)]
            xs = [i + (j - (len(present) - 1) / 2) * width for i in range(len(policies))]
            ax.bar(xs, mean, width * 0.95, yerr=[low, high], capsize=3, label=data)
        for ref, style in (("random", ":"), ("behaviour", "--")):
            r = cell[cell["policy"] == ref]
            if len(r):
                ax.axhline(r["success_rate"].iloc[0], linestyle=style, color="grey", linewidth=1, label=f"{ref} (reference)")
        ax.set_xticks(range(len(policies)), policies)
        ax.set_title(f"{pairs} pairs, {split} levels", fontsize=9)
        ax.set_ylim(0, 1.05)
    axes[0].set_ylabel("success rate (95% CI over seeds)")
    axes[0].legend(fontsize=7, loc="upper left")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def export(run_dir: Path, out_dir: Path, command: str, *more_runs: Path) -> str:
    """Copy the run's report files to `out_dir`, write success.png and summary.md; returns the summary.

    `more_runs` (e.g. the hindsight baseline's run) add the rows of their own variants; their
    report files are copied under `<run name>/`.
    """
    run_dir, out_dir = Path(run_dir), Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for rel in COPIED:
        if (run_dir / rel).exists():
            shutil.copyfile(run_dir / rel, out_dir / Path(rel).name)
    table = pd.read_csv(run_dir / "report" / "stitching.csv")
    for other in map(Path, more_runs):
        (out_dir / other.name).mkdir(exist_ok=True)
        for rel in COPIED:
            if (other / rel).exists():
                shutil.copyfile(other / rel, out_dir / other.name / Path(rel).name)
        rows = pd.read_csv(other / "report" / "stitching.csv")
        table = pd.concat([table, rows[~rows["dataset"].isin(set(table["dataset"]))]], ignore_index=True)
    table.to_csv(out_dir / "stitching_all.csv", index=False)
    audit = json.loads((run_dir / "stitch_audit.json").read_text())
    plot(table, out_dir / "success.png", f"{run_dir.name}: success rate, with and without temporal augmentation")
    keys = (
        "pairs", "episodes", "transitions", "pairs_cooccurring", "train_level_pairs", "train_level_pairs_start_and_goal_seen",
        "train_level_pairs_reachable_by_one_splice", "train_level_pairs_covered_after_augmentation", "augmented_steps_on_test_pairs",
    )
    audit_lines = [f"- {k}: {audit[k]}" for k in keys if k in audit]
    if "separated_steps" in audit:
        s = audit["separated_steps"]
        audit_lines.append(f"- steps pairing a state with a goal in another region (separated): source {s['source']}, augmented {s['augmented']}")
    text = "\n".join([
        f"# Stitching results: `{run_dir.name}`", "", "```bash", command, "```", "",
        "Success rate [95% bootstrap CI over training seeds] (from `stitching.csv`; `report.md` is the full report):", "",
        summary_table(table), "", "![success](success.png)", "", "Audit (`stitch_audit.json`):", "", *audit_lines, "",
    ])  # fmt: skip
    accuracy = _accuracy_section([run_dir, *map(Path, more_runs)], out_dir)
    text += accuracy
    (out_dir / "summary.md").write_text(text)
    (out_dir / "COMMAND").write_text(command + "\n")
    return text



def _accuracy_section(run_dirs: list[Path], out_dir: Path) -> str:
    """path_accuracy of the runs' configs, written to path_accuracy.csv, as Markdown (mean over seeds, range)."""
    from rlgen.core.config import load_config

    tables = [path_accuracy(load_config(d / "config.yaml")) for d in run_dirs]
    table = pd.concat(tables, ignore_index=True).drop_duplicates(["policy", "data", "seed", "pairs", "split"])
    if table.empty:
        return ""
    table.to_csv(out_dir / "path_accuracy.csv", index=False)
    grouped = table.groupby(["policy", "data", "pairs", "split"])["accuracy"].agg(["mean", "min", "max"])
    steps = table.groupby(["pairs", "split"])["steps"].first()
    header = ["Policy", "Data", *(f"{k} pairs, {s} levels ({steps.get((k, s), 0)} steps)" for k, s in CELLS)]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    for policy, data in sorted({(p, d) for p, d, _, _ in grouped.index}, key=lambda k: (k[0], DATA_ORDER.index(k[1]))):
        cells = []
        for kind, split in CELLS:
            if (policy, data, kind, split) in grouped.index:
                r = grouped.loc[(policy, data, kind, split)]
                cells.append(f"{r['mean']:.2f} ({r['min']:.2f}-{r['max']:.2f})")
            else:
                cells.append("—")
        lines.append("| " + " | ".join([policy, data, *cells]) + " |")
    return "\n".join([
        "", "Greedy action accuracy along the evaluation pairs' shortest paths (`path_accuracy.csv`; mean over seeds, "
        "range; an action is right when it shortens the distance to the goal; stateless learners only, not DT):", "", *lines, "",
    ])


def path_accuracy(config, kinds: tuple[str, ...] = ("stitch", "ordinary"), splits: tuple[str, ...] = ("train", "test")) -> pd.DataFrame:
    """Greedy action accuracy of each trained stateless policy along the evaluation pairs' shortest paths.

    Why: success needs every one of 10-60 steps right, so it hides how close a policy is (0.9
    per step over 30 steps is 4% success). Here each cell on a shortest path from a pair's start
    to its goal is shown to the policy with the pair's goal (the observation the env would give),
    and the action counts as right when it is one of the moves that shorten the distance to
    the goal. Stateless policies only (BC, CQL); the decision transformer needs a history.
    Rows: (policy, data, seed, pairs, split, steps, accuracy).
    """
    import numpy as np

    from rlgen.learn.registry import load_policy
    from rlgen.stitch.regions import graph_distances
    from rlgen.train import AUGMENTED, run_dir
    from rlgen_envs.stitch_maze import move_stride
    from rlgen.worlds import world_of

    world = world_of(config)
    layout = getattr(world.structure, "layout")
    stride = move_stride(getattr(world.structure, "move", "block"))  # blocks per action (`move: cell`: 2)
    moves = np.array(((0, 0), (-1, 0), (1, 0), (0, -1), (0, 1)))
    probes: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]] = {}
    for pair in world.pairs(config.levels.split, splits, config.evaluate.levels_per_split, kinds):
        # Block distances to the goal, padded by two wall rings (a cell move looks two blocks ahead).
        dist = np.pad(graph_distances(pair.level, pair.goal, None, layout), 2, constant_values=-1)
        walls = layout(pair.level)

        def shortens(cells):  # (n, 5): the moves whose passage and landing block are closer to the goal
            here = dist[cells[:, 0] + 2, cells[:, 1] + 2]
            return np.stack([
                (dist[cells[:, 0] + 2 + dr, cells[:, 1] + 2 + dc] == here - 1)
                & (dist[cells[:, 0] + 2 + stride * dr, cells[:, 1] + 2 + stride * dc] == here - stride)
                for dr, dc in moves
            ], axis=1)  # fmt: skip

        cell, cells = np.array(pair.start), []
        while tuple(cell) != tuple(pair.goal):  # walk one shortest path (first best move)
            cells.append(cell)
            cell = cell + stride * moves[int(np.flatnonzero(shortens(cell[None])[0])[0])]
        cells = np.array(cells)
        goals = np.repeat(np.array(pair.goal)[None], len(cells), axis=0)
        obs = _observation(world.obs_mode, cells, goals, np.repeat(walls[None], len(cells), axis=0))
        right = shortens(cells)
        key = (pair.kind, pair.split)
        old = probes.get(key)
        probes[key] = (obs, right) if old is None else (np.concatenate([old[0], obs]), np.concatenate([old[1], right]))
    rows = []
    for variant in ("", AUGMENTED):
        for spec in config.learners:
            if spec.algo == "dt":
                continue
            for seed in config.seeds:
                path = run_dir(config, spec, seed, variant)
                if not (path / "run.json").exists():
                    continue
                policy = load_policy(path, config.device)
                for (kind, split), (obs, right) in probes.items():
                    actions = np.asarray(policy.act(obs))
                    rows.append({
                        "policy": spec.name, "data": data_label(config.augmented_dataset_name) if variant else "collected", "seed": seed, "pairs": kind,
                        "split": split, "steps": len(obs), "accuracy": float(right[np.arange(len(obs)), actions].mean()),
                    })  # fmt: skip
    return pd.DataFrame(rows)


def _observation(obs_mode, agents, goals, walls):
    """The observation the env would give (both stitching worlds share the flat layouts)."""
    from rlgen_envs.procgen_maze_stitch import vector_observation
    from rlgen_envs.stitch_maze import egocentric_observation

    if obs_mode == "egocentric":
        return egocentric_observation(agents, goals, walls)
    if obs_mode != "vector":
        raise ValueError(f"path accuracy needs flat observations (vector or egocentric), not {obs_mode!r}")
    return vector_observation(agents, goals, walls)


if __name__ == "__main__":  # the form the commands recorded in results/stitch/ use; `rlgen stitch results` is the same
    if len(sys.argv) < 4:
        raise SystemExit("usage: rlgen stitch results RUN_DIR OUT_DIR COMMAND [MORE_RUN_DIRS...]")
    print(export(Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], *map(Path, sys.argv[4:])))
