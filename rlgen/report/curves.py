"""Learning curves: each trained run's `train_log.csv`, grouped by (dataset, policy) for plotting.

Why in the report: an offline learner's test score means little without knowing whether its
loss had settled or was still falling when training stopped (an under-trained BC and a
converged one can score alike on unseen levels for different reasons). The report draws one
figure per (dataset, learner) with every seed overlaid (`plots.plot_learning_curves`).

A run folder says what it is in `run.json` (`rlgen.train`: the learner's name, seed, dataset),
the names the evaluation records use; a folder without `run.json` (not finished) or without
`train_log.csv` (a user learner that writes none) is skipped.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from rlgen.report.records import file_name_of

TRAIN_LOG = "train_log.csv"  # rlgen.learn.base.TRAIN_LOG_FILE; not imported: the report needs no torch
RUN_RECORD = "run.json"  # rlgen.train.RUN_RECORD
CURVES_DIR = "learning_curves"


@dataclass(frozen=True)
class LearningCurves:
    """The training logs of one learner's seeds on one dataset."""

    dataset: str
    policy: str
    logs: dict[int, pd.DataFrame]
    """{seed: its train_log.csv (`step`, one column per loss, `validation`)}, by seed."""

    @property
    def file_name(self) -> str:
        return f"{file_name_of(self.policy)}--{file_name_of(self.dataset)}.png"


def read_run(folder: Path) -> tuple[str, str, int, pd.DataFrame] | None:
    """(dataset, policy, seed, train log) of a finished run folder; None when it has no log."""
    record, log = folder / RUN_RECORD, folder / TRAIN_LOG
    if not record.exists() or not log.exists():
        return None
    try:
        identity = json.loads(record.read_text())["identity"]
        learner = identity["learner"]
        policy = str(learner.get("params", {}).get("label", learner["algo"]))
        frame = pd.read_csv(log)
    except (OSError, ValueError, KeyError, TypeError, pd.errors.EmptyDataError) as err:
        raise ValueError(f"{folder}: cannot read the run's {RUN_RECORD} or {TRAIN_LOG}: {err}") from err
    if "step" not in frame.columns:
        raise ValueError(f"{folder / TRAIN_LOG}: no 'step' column; columns are {', '.join(frame.columns)}")
    return str(identity["dataset"]), policy, int(identity["seed"]), frame


def collect_curves(run_dirs: Iterable[str | Path]) -> list[LearningCurves]:
    """The learning curves of these run folders, one entry per (dataset, policy), sorted."""
    grouped: dict[tuple[str, str], dict[int, pd.DataFrame]] = {}
    for folder in run_dirs:
        run = read_run(Path(folder))
        if run is not None:
            dataset, policy, seed, frame = run
            grouped.setdefault((dataset, policy), {})[seed] = frame
    return [
        LearningCurves(dataset, policy, dict(sorted(logs.items())))
        for (dataset, policy), logs in sorted(grouped.items())
    ]
