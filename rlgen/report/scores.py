"""Score arrays in rliable's format: one (runs, tasks) matrix of normalized scores per policy and split.

Why: a researcher comparing a new method with rlgen's results needs the numbers behind the tables,
in the shape the statistics are defined on, not a CSV of aggregates. `write_score_arrays` puts
them in the report folder, one folder per dataset (named as the dataset, "/" replaced by "_"):

    report/scores/<dataset>/train.npz        {policy: float64 (runs, tasks)}
    report/scores/<dataset>/validation.npz
    report/scores/<dataset>/test.npz
    report/scores/<dataset>/scores.json      names, run ids, provenance (below)

Each `.npz` holds plain float64 arrays, one per policy, keyed by the policy's name (`bc`, `cql`,
`random`, ...), so it loads without pickle straight into rliable's {algorithm: (runs, tasks)}::

    scores = dict(np.load("report/scores/<dataset>/test.npz", allow_pickle=False))
    rliable.library.get_interval_estimates(scores, aggregate_func, reps=2000)

Entry [i, j] is run i's mean normalized return over its episodes on task j's levels of that split
(Procgen: Cobbe et al. 2020 min-max constants; other worlds: their own scale, see report.md).
A run is one training seed (for a reference policy, one evaluation seed); a task is a
(game, mode) pair. Policies may have different numbers of runs; within a split every policy
has the same tasks in the same column order (a task some policy was not evaluated on is left
out, and listed under `dropped_tasks`).

`scores.json`::

    {"format": "rlgen-score-arrays/1",
     "dataset": "<name>", "dataset_sha256": "<manifest sha256>",
     "score": "<what an entry is>",
     "splits": {"test": {"file": "test.npz",
                         "tasks": ["maze/easy"],                  # column j's (game/mode)
                         "dropped_tasks": [],
                         "policies": {"bc": {"kind": "learner",   # or "reference"
                                             "runs": [0, 1, 2],   # row i's seed
                                             "episodes": [[20], [20], [20]]}}}},  # per (run, task)
     "provenance": {...}}                                        # as report.md lists it

Rows of train and test for one policy hold the same seeds in the same order whenever both were
evaluated for every seed, so train minus test per run is the generalization gap.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from rlgen.data.atomic import atomic_write_bytes
from rlgen.report.records import SPLITS, TASK_COLUMNS, file_name_of
from rlgen.report.tables import policy_order, score_matrix

SCORES_DIR = "scores"
SCORES_INDEX = "scores.json"
FORMAT = "rlgen-score-arrays/1"
SCORE_MEANING = (
    "mean normalized return of the run's episodes on the task's levels of the split "
    "(Procgen: Cobbe et al. 2020 min-max constants; other worlds: their own scale)"
)


@dataclass(frozen=True)
class SplitScores:
    """The (runs, tasks) score matrices of every policy of one dataset on one split."""

    dataset: str
    dataset_sha256: str
    split: str
    tasks: tuple[str, ...]
    """Column j's task, "game/mode"."""
    scores: dict[str, np.ndarray]
    """{policy: float64 (runs, tasks)}, policies in report order (learners, then references)."""
    runs: dict[str, tuple[int, ...]]
    """{policy: row i's seed}."""
    episodes: dict[str, np.ndarray]
    """{policy: int64 (runs, tasks)}: the episodes each entry averages."""
    kinds: dict[str, str]
    dropped_tasks: tuple[str, ...] = ()


def collect_scores(frame: pd.DataFrame) -> list[SplitScores]:
    """One `SplitScores` per (dataset, split) of checked records, ordered by dataset then split."""
    out = []
    for dataset, by_dataset in frame.groupby("dataset", sort=True):
        kinds = by_dataset.groupby("policy")["kind"].first().to_dict()
        for split in SPLITS:
            episodes = by_dataset[by_dataset["split"] == split]
            if episodes.empty:
                continue
            policies = [p for p in policy_order(by_dataset) if p in set(episodes["policy"])]
            matrices, counts = {}, {}
            for policy in policies:
                label = f"policy {policy!r}, dataset {dataset!r}, split {split!r}"
                mine = episodes[episodes["policy"] == policy]
                matrices[policy] = score_matrix(mine, "normalized_return", label)
                counts[policy] = mine.groupby(["seed", *TASK_COLUMNS], sort=True).size().unstack(TASK_COLUMNS)
            every = sorted({t for m in matrices.values() for t in m.columns})
            shared = [t for t in every if all(t in m.columns for m in matrices.values())]
            out.append(SplitScores(
                dataset=str(dataset),
                dataset_sha256=str(by_dataset["dataset_sha256"].iloc[0]),
                split=split,
                tasks=tuple("/".join(t) for t in shared),
                scores={p: matrices[p][shared].to_numpy(np.float64) for p in policies},
                runs={p: tuple(int(s) for s in matrices[p].index) for p in policies},
                episodes={p: counts[p][shared].to_numpy(np.int64) for p in policies},
                kinds={p: kinds[p] for p in policies},
                dropped_tasks=tuple("/".join(t) for t in every if t not in shared),
            ))  # fmt: skip
    return out


def write_score_arrays(collected: list[SplitScores], out_dir: Path, provenance: Mapping) -> list[Path]:
    """Write `scores/<dataset>/<split>.npz` and `scores/<dataset>/scores.json` (module docstring)
    under `out_dir`; returns the files written. Same inputs, same bytes."""
    written = []
    by_dataset: dict[str, list[SplitScores]] = {}
    for item in collected:
        by_dataset.setdefault(item.dataset, []).append(item)
    for dataset, items in by_dataset.items():
        folder = Path(out_dir) / SCORES_DIR / file_name_of(dataset)
        folder.mkdir(parents=True, exist_ok=True)
        splits = {}
        for item in items:
            path = folder / f"{item.split}.npz"
            _write_npz(path, item.scores)
            written.append(path)
            splits[item.split] = {
                "file": path.name,
                "tasks": list(item.tasks),
                "dropped_tasks": list(item.dropped_tasks),
                "policies": {
                    p: {"kind": item.kinds[p], "runs": list(item.runs[p]), "episodes": item.episodes[p].tolist()}
                    for p in item.scores
                },
            }
        index = {
            "format": FORMAT,
            "dataset": dataset,
            "dataset_sha256": items[0].dataset_sha256,
            "score": SCORE_MEANING,
            "splits": splits,
            "provenance": provenance,
        }
        atomic_write_bytes(folder / SCORES_INDEX, (json.dumps(index, indent=1, default=str) + "\n").encode())
        written.append(folder / SCORES_INDEX)
    return written


def _write_npz(path: Path, arrays: Mapping[str, np.ndarray]) -> None:
    """An uncompressed .npz with fixed zip timestamps (numpy's `savez` stamps each member with the
    current time), so a rerun writes the same bytes."""
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for name, array in arrays.items():
            member = io.BytesIO()
            np.lib.format.write_array(member, np.ascontiguousarray(array, dtype=np.float64), allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            archive.writestr(info, member.getvalue())
    atomic_write_bytes(path, buffer.getvalue())


def load_score_arrays(folder: str | Path, split: str) -> tuple[dict[str, np.ndarray], dict]:
    """({policy: (runs, tasks)}, that split's entry of scores.json) from a `scores/<dataset>` folder."""
    folder = Path(folder)
    index = json.loads((folder / SCORES_INDEX).read_text())
    if split not in index["splits"]:
        raise ValueError(f"{folder / SCORES_INDEX}: no split {split!r}; it has {', '.join(index['splits'])}")
    with np.load(folder / index["splits"][split]["file"], allow_pickle=False) as data:
        return {name: data[name] for name in data.files}, index["splits"][split]
