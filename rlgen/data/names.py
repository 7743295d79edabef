"""Names read from files become paths: check them here, in one place, before anything is written.

A dataset's manifest, a Minari `metadata.json`, a sweep's records: each names datasets, shards,
runs or goals that rlgen then joins onto a folder. Those files may come from anyone (a download,
a colleague, an attacker), so a name is never trusted as a path: `../x`, `/dev/zero` or `a/b`
would read or write outside the folder it belongs to. Every such name goes through
`check_name` (a strict pattern: letters, digits, `.`, `_`, `-`; no separators, no leading dot),
and every path built from one through `inside` (resolved, symlinks followed, and still under its
root). Readers add `regular_file`, so a shard that is a device or a pipe (`/dev/zero`, a FIFO)
is refused instead of read forever.

Checks raise `DatasetError` with "<where>: <what is wrong>; <what to do>".
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

from rlgen.data.errors import DatasetError

MAX_NAME_CHARS = 200
"""Longest name: file systems allow 255 bytes, and temporary names add a prefix and a suffix."""
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
"""A dataset, run or goal name: starts with a letter or digit (so never `.`, `..` or hidden)."""
SHARD_PATTERN = re.compile(r"shard-[0-9]{5,9}\.npz")
"""A shard's file name, as every rlgen writer gives it (`shard-00012.npz`)."""


def check_name(name: object, kind: str = "dataset", where: str | Path | None = None) -> str:
    """`name` if it is a safe single path component for a `kind` (dataset, run, goal, ...); else a
    `DatasetError` naming `where` (the file the name came from) and the rule."""
    if isinstance(name, str) and len(name) <= MAX_NAME_CHARS and NAME_PATTERN.fullmatch(name) and ".." not in name:
        return name
    raise DatasetError(
        f"{_where(where, name)}: {kind} name {name!r} is not a safe name (it must be 1-{MAX_NAME_CHARS} letters, digits, "
        "'.', '_' or '-', starting with a letter or digit: no '/', no '..'); use such a name, "
        "or restore the file it came from if it was edited"
    )


def check_shard_name(name: object, where: str | Path | None = None) -> str:
    """`name` if it is a shard file name (`shard-NNNNN.npz`); else a `DatasetError` naming `where`."""
    if isinstance(name, str) and SHARD_PATTERN.fullmatch(name):
        return name
    raise DatasetError(
        f"{_where(where, name)}: shard name {name!r} is not a shard file name (shard-NNNNN.npz); "
        "the manifest was edited or is not rlgen's: restore it from the dataset's source"
    )


def inside(root: str | Path, *parts: str, where: str | Path | None = None) -> Path:
    """`root / parts...`, refused unless it resolves (symlinks followed) to a path under `root`
    resolved: a checked name can still lead outside through a symlink planted in the folder."""
    root = Path(root)
    path = root.joinpath(*parts)
    base = root.resolve()
    resolved = path.resolve()
    if resolved != base and base not in resolved.parents:
        raise DatasetError(
            f"{_where(where, path)}: {path} leads to {resolved}, outside {base}; "
            "remove the link or the name that points out of the folder"
        )
    return path


def regular_file(path: str | Path, where: str | Path | None = None) -> Path:
    """`path` if it is a regular file (following symlinks); a device, pipe or folder is refused
    (reading `/dev/zero` or a FIFO never ends). A missing file raises FileNotFoundError."""
    path = Path(path)
    mode = os.stat(path).st_mode
    if not stat.S_ISREG(mode):
        raise DatasetError(
            f"{_where(where, path)}: {path} is not a regular file (a device, pipe or folder); "
            "replace it with the shard file itself"
        )
    return path


def unique_names(names: list[str], kind: str, where: str | Path | None = None) -> None:
    """Refuse a list naming one file twice: two records would write, or check, one file."""
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise DatasetError(
                f"{_where(where, name)}: {kind} {name!r} is listed twice, so two entries name one file; "
                "the file was edited: restore it from its source"
            )
        seen.add(name)


def _where(where: str | Path | None, fallback: object) -> str:
    return str(where) if where is not None else repr(fallback)
