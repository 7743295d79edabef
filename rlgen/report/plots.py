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


