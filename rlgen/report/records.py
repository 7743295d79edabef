"""Per-episode evaluation records: their columns, reading them from CSV, and the checks every
report makes before computing anything (one dataset per manifest, no episode twice, Procgen's
normalized returns as Cobbe's constants give them).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from rlgen.core.games import COBBE_RETURN_RANGES, MODES, normalize_returns

REQUIRED_COLUMNS: tuple[str, ...] = (
    "policy",
    "kind",
    "seed",
    "dataset",
    "dataset_sha256",
    "game",
    "mode",
    "split",
    "level_seed",
    "episode",
    "return",
    "normalized_return",
    "length",
    "success",
)
KINDS = ("learner", "reference")
SPLITS = ("train", "validation", "test")
# Normalized returns that differ from the Cobbe normalization of `return` by more than this are
# refused: they were normalized with other constants, or for another mode.
NORMALIZATION_TOLERANCE = 1e-6

def file_name_of(name: str) -> str:
    """A dataset or policy name as one path component of the report folder ("/" becomes "_")."""
    return name.replace("/", "_").replace("\\", "_")


RECORD_KEY = ["policy", "dataset", "seed", "game", "mode", "split", "level_seed", "episode"]
TASK_COLUMNS = ["game", "mode"]
SUCCESS_FLOAT = "_success_as_float"


def load_records(paths: str | Path | Iterable[str | Path]) -> pd.DataFrame:
    """Read per-policy evaluation CSV files into one checked DataFrame of episode records.

    Raises ValueError naming the file when one cannot be read or lacks a required column.
    Extra columns are kept and ignored by the report.
    """
    if isinstance(paths, (str, Path)):
        paths = [paths]
    paths = [Path(p) for p in paths]
    if not paths:
        raise ValueError("load_records needs at least one CSV file")
    frames = []
    for path in paths:
        try:
            frame = pd.read_csv(path)
        except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as err:
            raise ValueError(f"{path}: cannot read evaluation records: {err}") from err
        frames.append(check_records(frame, source=str(path)))
    return check_records(pd.concat(frames, ignore_index=True), source=", ".join(map(str, paths)))


def _as_bool(column: pd.Series, source: str) -> pd.Series:
    if column.dtype == bool:
        return column
    words = {"true": True, "false": False, "1": True, "0": False, "1.0": True, "0.0": False}
    mapped = column.map(lambda v: words.get(str(v).strip().lower()))
    if mapped.isna().any():
        bad = column[mapped.isna()].iloc[0]
        raise ValueError(f"{source}: column 'success' must hold booleans, found {bad!r}")
    return mapped.astype(bool)


def check_records(records: pd.DataFrame | Sequence[Mapping], source: str = "records") -> pd.DataFrame:
    """The records as a DataFrame with checked columns, types and values (a copy)."""
    frame = pd.DataFrame(records).copy() if not isinstance(records, pd.DataFrame) else records.copy()
    for column in REQUIRED_COLUMNS:
        if column not in frame.columns:
            raise ValueError(f"{source}: missing required column {column!r}")
    if frame.empty:
        raise ValueError(f"{source}: no evaluation records")
    for column in REQUIRED_COLUMNS:
        if frame[column].isna().any():
            row = int(np.flatnonzero(frame[column].isna().to_numpy())[0])
            raise ValueError(f"{source}: column {column!r} is empty in row {row}")
    for column in ("policy", "kind", "dataset", "dataset_sha256", "game", "mode", "split"):
        frame[column] = frame[column].astype(str)
    for column, dtype in (("seed", np.int64), ("level_seed", np.int64), ("episode", np.int64),
                          ("length", np.int64), ("return", np.float64), ("normalized_return", np.float64)):
        try:
            converted = frame[column].astype(dtype)
        except (TypeError, ValueError) as err:
            raise ValueError(f"{source}: column {column!r} must hold {np.dtype(dtype).name} values: {err}") from err
        if dtype is np.int64 and frame[column].dtype.kind == "f" and (converted != frame[column]).any():
            raise ValueError(f"{source}: column {column!r} must hold integers")
        frame[column] = converted
    for column in ("return", "normalized_return"):
        if not np.all(np.isfinite(frame[column].to_numpy())):
            raise ValueError(f"{source}: column {column!r} holds a non-finite value")
    frame["success"] = _as_bool(frame["success"], source)

    for column, valid in (("kind", KINDS), ("split", SPLITS)):
        unknown = sorted(set(frame[column]) - set(valid))
        if unknown:
            raise ValueError(f"{source}: unknown {column} {unknown}; valid: {', '.join(valid)}")
    kinds = frame.groupby("policy")["kind"].nunique()
    if (kinds > 1).any():
        raise ValueError(f"{source}: policy {kinds[kinds > 1].index[0]!r} is both a learner and a reference")
    hashes = frame.groupby("dataset")["dataset_sha256"].nunique()
    if (hashes > 1).any():
        raise ValueError(
            f"{source}: dataset {hashes[hashes > 1].index[0]!r} appears with more than one manifest "
            "sha256; two different datasets share a name"
        )
    duplicated = frame.duplicated(subset=RECORD_KEY)
    if duplicated.any():
        row = frame[duplicated].iloc[0]
        raise ValueError(
            f"{source}: duplicate episode record {dict(row[RECORD_KEY])}; was a file loaded twice?"
        )
    for (game, mode), group in frame.groupby(TASK_COLUMNS, sort=True):
        if game not in COBBE_RETURN_RANGES:
            continue  # not a Procgen game: its normalization is its environment's business
        if mode not in MODES:
            raise ValueError(f"{source}: unknown mode {mode!r} for Procgen game {game!r}; valid: {', '.join(MODES)}")
        expected = normalize_returns(group["return"].to_numpy(), game, mode)
        off = np.abs(group["normalized_return"].to_numpy() - expected) > NORMALIZATION_TOLERANCE
        if off.any():
            i = int(np.flatnonzero(off)[0])
            raise ValueError(
                f"{source}: normalized_return {group['normalized_return'].iloc[i]!r} for return "
                f"{group['return'].iloc[i]!r} on {game}/{mode} is not the Cobbe min-max normalization "
                f"({expected[i]!r})"
            )
    # A canonical order, so that sums (and so every number) do not depend on the record order.
    return frame.sort_values(RECORD_KEY, kind="stable").reset_index(drop=True)


