"""Drawing the computed table (train_vs_test.png, gap.png): plots read the table, never compute a statistic."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from rlgen.report.records import SPLITS
from rlgen.report.tables import GAP_SPLIT, policy_order

_SPLIT_COLORS = {"train": "tab:blue", "validation": "tab:orange", "test": "tab:green"}


def _figure(n_panels: int, width: float, title: str):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, 3.2 * n_panels + 0.6), layout="constrained")
    axes = fig.subplots(n_panels, 1, squeeze=False)[:, 0]
    fig.suptitle(title)
    return fig, axes


def save_figure(fig, path: Path) -> None:
    """Write `fig` as a PNG at `path`, byte-identical on a rerun (the report's and `rlgen.trends`' plots)."""
    # Agg canvas (a bare Figure needs no pyplot and no display); no software tag, so reruns match.
    fig.savefig(path, dpi=110, format="png", metadata={"Software": None})


def _runs(sub: pd.DataFrame) -> dict[str, int]:
    """Most runs a policy has on any split (the tick label's count)."""
    splits = sub[sub["split"].isin(SPLITS)]
    return {p: int(n) for p, n in splits.groupby("policy")["n_runs"].max().items()}


def _shade_references(ax, policies: Sequence[str], kinds: Mapping[str, str]) -> None:
    for x, policy in enumerate(policies):
        if kinds[policy] == "reference":
            ax.axvspan(x - 0.45, x + 0.45, color="0.92", zorder=0)


def _policy_ticks(ax, policies: Sequence[str], kinds: Mapping[str, str], runs: Mapping[str, int]) -> None:
    labels = []
    for p in policies:
        count = f"{runs[p]} run" + ("" if runs[p] == 1 else "s")
        labels.append(f"{p} (reference)\n{count}" if kinds[p] == "reference" else f"{p}\n{count}")
    ax.set_xticks(range(len(policies)))
    ax.set_xticklabels(labels)
    for label, policy in zip(ax.get_xticklabels(), policies):
        if kinds[policy] == "reference":
            label.set_fontstyle("italic")
    ax.set_xlim(-0.6, len(policies) - 0.4)


def plot_train_vs_test(table: pd.DataFrame, path: Path) -> None:
    """Normalized IQM with its interval over runs, train / validation / test side by side per
    policy, one panel per dataset. References: hollow markers, dashed intervals, grey band."""
    from matplotlib.lines import Line2D

    datasets = sorted(table["dataset"].unique())
    width = max(7.0, 1.3 * table["policy"].nunique() + 2.5)
    fig, axes = _figure(len(datasets), width, "Normalized IQM on train, validation and test levels (95% CI over runs)")
    for ax, dataset in zip(axes, datasets):
        sub = table[table["dataset"] == dataset]
        policies = policy_order(sub)
        kinds = sub.groupby("policy")["kind"].first().to_dict()
        _shade_references(ax, policies, kinds)
        for x, policy in enumerate(policies):
            reference = kinds[policy] == "reference"
            for offset, split in zip((-0.22, 0.0, 0.22), SPLITS):
                row = sub[(sub["policy"] == policy) & (sub["split"] == split)]
                if row.empty:
                    continue
                row = row.iloc[0]
                color = _SPLIT_COLORS[split]
                ax.vlines(x + offset, row["iqm_ci_low"], row["iqm_ci_high"], color=color, lw=2,
                          linestyles="dashed" if reference else "solid")
                ax.plot(x + offset, row["iqm_normalized"], "o", ms=7, color=color,
                        markerfacecolor="white" if reference else color, markeredgewidth=1.8)
        _policy_ticks(ax, policies, kinds, _runs(table[table["dataset"] == dataset]))
        ax.set_ylabel("normalized IQM")
        ax.set_title(f"dataset {dataset}", fontsize=10)
        ax.grid(axis="y", alpha=0.3)
    handles = [Line2D([], [], marker="o", ls="", color=c, label=s) for s, c in _SPLIT_COLORS.items()]
    handles.append(Line2D([], [], marker="o", ls="", color="0.3", markerfacecolor="white", label="reference policy"))
    axes[0].legend(handles=handles, fontsize=8, loc="best")
    save_figure(fig, path)


def plot_gap(table: pd.DataFrame, path: Path) -> None:
    """Generalization gap (train minus test normalized IQM) with its paired interval per policy."""
    from matplotlib.lines import Line2D

    gaps = table[table["split"] == GAP_SPLIT]
    datasets = sorted(table["dataset"].unique())
    width = max(7.0, 1.2 * table["policy"].nunique() + 2.5)
    fig, axes = _figure(len(datasets), width, "Generalization gap: train − test normalized IQM (95% paired CI over runs)")
    for ax, dataset in zip(axes, datasets):
        sub = gaps[gaps["dataset"] == dataset]
        policies = policy_order(table[table["dataset"] == dataset])
        kinds = table[table["dataset"] == dataset].groupby("policy")["kind"].first().to_dict()
        _shade_references(ax, policies, kinds)
        ax.axhline(0.0, color="0.4", lw=1)
        for x, policy in enumerate(policies):
            row = sub[sub["policy"] == policy]
            if row.empty:
                ax.text(x, 0.0, "no train/test", ha="center", va="bottom", fontsize=7, color="0.4")
                continue
            row = row.iloc[0]
            reference = kinds[policy] == "reference"
            ax.vlines(x, row["iqm_ci_low"], row["iqm_ci_high"], color="tab:red", lw=2,
                      linestyles="dashed" if reference else "solid")
            ax.plot(x, row["iqm_normalized"], "D", ms=7, color="tab:red",
                    markerfacecolor="white" if reference else "tab:red", markeredgewidth=1.8)
        _policy_ticks(ax, policies, kinds, _runs(table[table["dataset"] == dataset]))
        ax.set_ylabel("gap (normalized IQM)")
        ax.set_title(f"dataset {dataset}", fontsize=10)
        ax.grid(axis="y", alpha=0.3)
    axes[0].legend(
        handles=[
            Line2D([], [], marker="D", ls="", color="tab:red", label="learner"),
            Line2D([], [], marker="D", ls="", color="tab:red", markerfacecolor="white", label="reference policy"),
        ],
        fontsize=8, loc="best",
    )
    save_figure(fig, path)




def _policy_colors(policies: Sequence[str]) -> dict[str, str]:
    """One color per policy, the same in every panel of a figure (tab10 in report order)."""
    return {p: f"C{i % 10}" for i, p in enumerate(policies)}


def _present_splits(frame: pd.DataFrame) -> list[str]:
    return [s for s in SPLITS if (frame["split"] == s).any()]


def plot_performance_profiles(profiles: pd.DataFrame, path: Path) -> None:
    """Fraction of (run, task) scores above tau against tau, a line and 95% band per policy;
    one row of panels per dataset, one column per split, one legend for the figure (a policy has
    the same color in every panel). References dashed."""
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    datasets = sorted(profiles["dataset"].unique())
    splits = _present_splits(profiles)
    policies = policy_order(profiles)
    colors = _policy_colors(policies)
    kinds = profiles.groupby("policy")["kind"].first().to_dict()
    fig = Figure(figsize=(4.2 * len(splits) + 0.8, 2.9 * len(datasets) + 1.2), layout="constrained")
    axes = fig.subplots(len(datasets), len(splits), squeeze=False, sharey=True)
    fig.suptitle("Performance profiles: fraction of runs with normalized score > τ (band: 95% CI over runs)")
    for row, dataset in enumerate(datasets):
        sub = profiles[profiles["dataset"] == dataset]
        for col, split in enumerate(splits):
            ax = axes[row, col]
            for policy in policies:
                curve = sub[(sub["policy"] == policy) & (sub["split"] == split)]
                if curve.empty:
                    continue
                ax.fill_between(curve["tau"], curve["ci_low"], curve["ci_high"], step="post", color=colors[policy], alpha=0.15, lw=0)
                ax.step(curve["tau"], curve["fraction"], where="post", color=colors[policy], lw=1.8,
                        ls="--" if kinds[policy] == "reference" else "-")  # fmt: skip
            ax.set_ylim(-0.03, 1.03)
            ax.grid(alpha=0.3)
            ax.set_title(f"{dataset}: {split} levels", fontsize=8.5)
            if row == len(datasets) - 1:
                ax.set_xlabel("normalized score τ")
            if col == 0:
                ax.set_ylabel("fraction of runs > τ")
    runs = profiles.groupby("policy")["n_runs"].max().to_dict()
    handles = [
        Line2D([], [], color=colors[p], lw=1.8, ls="--" if kinds[p] == "reference" else "-",
               label=f"{p}{' (reference)' if kinds[p] == 'reference' else ''}, {runs[p]} run{'s' * (runs[p] != 1)}")
        for p in policies
    ]  # fmt: skip
    fig.legend(handles=handles, loc="outside lower center", ncols=min(len(handles), 5), fontsize=8.5, frameon=False)
    save_figure(fig, path)


def plot_improvement(improvement: pd.DataFrame, path: Path) -> None:
    """P(X > Y) with its 95% interval for every pair of policies; one row of panels per dataset,
    one column per split; 0.5 (no tendency either way) marked. Green: the interval lies above 0.5,
    red: below, grey: it holds 0.5."""
    from matplotlib.figure import Figure

    datasets = sorted(improvement["dataset"].unique())
    splits = _present_splits(improvement)
    pairs_per = [improvement[improvement["dataset"] == d][["policy_x", "policy_y"]].drop_duplicates().shape[0] for d in datasets]
    heights = [0.27 * n + 0.8 for n in pairs_per]
    fig = Figure(figsize=(4.2 * len(splits) + 2.2, sum(heights) + 0.9), layout="constrained")
    axes = fig.subplots(len(datasets), len(splits), squeeze=False, sharex=True,
                        gridspec_kw={"height_ratios": heights})  # fmt: skip
    fig.suptitle("Probability of improvement P(X > Y), 95% CI over runs\n"
                 "green: interval above 0.5, red: below 0.5, grey: holds 0.5", fontsize=10)
    for row, dataset in enumerate(datasets):
        sub = improvement[improvement["dataset"] == dataset]
        pairs = list(dict.fromkeys(zip(sub["policy_x"], sub["policy_y"])))
        for col, split in enumerate(splits):
            ax = axes[row, col]
            ax.axvline(0.5, color="0.4", lw=1, ls=":")
            for y, (x_name, y_name) in enumerate(pairs):
                cell = sub[(sub["split"] == split) & (sub["policy_x"] == x_name) & (sub["policy_y"] == y_name)]
                if cell.empty:
                    continue
                cell = cell.iloc[0]
                color = "tab:green" if cell["ci_low"] > 0.5 else "tab:red" if cell["ci_high"] < 0.5 else "tab:gray"
                ax.hlines(y, cell["ci_low"], cell["ci_high"], color=color, lw=6, alpha=0.45)
                ax.plot(cell["probability"], y, "o", color=color, ms=6, markeredgecolor="black", markeredgewidth=0.8)
            ax.set_yticks(range(len(pairs)))
            ax.set_yticklabels([f"{a} > {b}" for a, b in pairs] if col == 0 else [])
            ax.set_ylim(len(pairs) - 0.5, -0.5)
            ax.set_xlim(-0.02, 1.02)
            ax.grid(axis="x", alpha=0.3)
            ax.set_title(f"{dataset}: {split} levels", fontsize=8.5)
            if row == len(datasets) - 1:
                ax.set_xlabel("P(X > Y)")
    save_figure(fig, path)


def plot_learning_curves(curves, path: Path) -> None:
    """One learner's training log on one dataset (`rlgen.report.curves.LearningCurves`): one panel
    per logged loss (and the validation return where the run validated), every seed a line. A loss
    that is 0 throughout in every seed (BC's unused regularization term) gets no panel."""
    from matplotlib.figure import Figure

    metrics = [c for frame in curves.logs.values() for c in frame.columns if c != "step"]
    metrics = [m for m in dict.fromkeys(metrics) if any(m in f and f[m].fillna(0).ne(0).any() for f in curves.logs.values())]
    cols = min(3, max(1, len(metrics)))
    rows = -(-len(metrics) // cols) or 1
    fig = Figure(figsize=(4.0 * cols + 0.6, 2.8 * rows + 0.8), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False)
    fig.suptitle(f"{curves.policy} on {curves.dataset}: training log per seed")
    for ax, metric in zip(axes.ravel(), metrics):
        for i, (seed, frame) in enumerate(curves.logs.items()):
            if metric in frame and frame[metric].notna().any():
                points = frame[["step", metric]].dropna()
                ax.plot(points["step"], points[metric], "o-" if metric == "validation" else "-",
                        ms=3, lw=1.4, color=f"C{i % 10}", label=f"seed {seed}")  # fmt: skip
        ax.set_title("validation return" if metric == "validation" else metric, fontsize=9)
        ax.set_xlabel("gradient step")
        ax.grid(alpha=0.3)
    for ax in axes.ravel()[len(metrics):]:
        ax.set_visible(False)
    axes[0, 0].legend(fontsize=7)
    save_figure(fig, path)
