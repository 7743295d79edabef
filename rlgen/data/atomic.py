"""Atomic writes, the one implementation rlgen has: a temporary name in the same folder, fsync, rename.

`atomic_writer` / `atomic_write_bytes` write a file, `atomic_folder` builds a folder (a PPO
checkpoint). A reader never sees a half-written shard, manifest or checkpoint under its final
name; a crash leaves at most a temporary file or folder (`.tmp-*`), which collection (and PPO
training, for its checkpoints) sweeps away when it starts (holding the dataset folder's lock, so
never another collection's file in flight).

A full disk (or quota) while writing is a `NoSpaceError`: an `OSError` whose message names the
file, the space left on its file system and what to do, instead of a bare errno deep inside a
Ray traceback. It is a plain `OSError(errno, message)`, so it pickles out of Ray tasks unchanged.
"""

from __future__ import annotations

import errno
import os
import shutil
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, Iterator

TMP_PREFIX = ".tmp-"


NO_SPACE_ERRNOS = (errno.ENOSPC, errno.EDQUOT)


class NoSpaceError(OSError):
    """The disk (or the user's quota) filled up while rlgen wrote a file; see `no_space_error`."""


def _human_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if n < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"


def no_space_error(path: Path | None, exc: OSError) -> NoSpaceError:
    """A one-line `NoSpaceError` for `exc` (ENOSPC / EDQUOT) raised writing `path` (None: not
    known): which file, how much space its file system has left, and what to do (the stages
    resume, so nothing finished is lost by rerunning)."""
    try:
        free = f"{_human_bytes(shutil.disk_usage(Path(path).parent).free)} free there" if path else "free space unknown"
    except OSError:
        free = "free space unknown"
    what = "disk quota exceeded" if exc.errno == errno.EDQUOT else "no space left on device"
    return NoSpaceError(
        exc.errno,
        f"{what} writing {path or 'a file'} ({free}); free some space, or point data_dir / $RLGEN_DATA_DIR "
        "(datasets) or output_dir (runs) at a disk with room, then rerun the same command: "
        "it resumes, keeping every finished shard and run",
    )


def describe_os_error(exc: OSError) -> str:
    """One line for an `OSError` that reaches the command line: a `NoSpaceError`'s message, else
    the file and the system's words (no traceback)."""
    if isinstance(exc, NoSpaceError):
        return exc.strerror or str(exc)
    if exc.errno in NO_SPACE_ERRNOS:
        return no_space_error(Path(exc.filename) if exc.filename else None, exc).strerror
    where = f"{exc.filename}: " if exc.filename else ""
    return f"{where}{exc.strerror or exc}"


@contextmanager
def atomic_writer(path: Path) -> Iterator[BinaryIO]:
    """Open a temporary file beside `path`; on success it is fsynced and renamed to `path`.
    A full disk raises `NoSpaceError` naming `path` (the temporary file is removed)."""
    path = Path(path)
    tmp = path.with_name(f"{TMP_PREFIX}{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}")
    try:
        with open(tmp, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        if exc.errno in NO_SPACE_ERRNOS and not isinstance(exc, NoSpaceError):
            raise no_space_error(path, exc) from exc
        raise
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    with atomic_writer(path) as f:
        f.write(data)


@contextmanager
def atomic_folder(path: Path) -> Iterator[Path]:
    """A fresh temporary folder beside `path` to build in; on success it replaces `path` (a
    previous folder there is removed first), on failure it is removed. Write its files with
    `atomic_writer`, so they are fsynced before the rename makes them visible."""
    path = Path(path)
    tmp = path.with_name(f"{TMP_PREFIX}{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}")
    tmp.mkdir(parents=True)
    try:
        yield tmp
        if path.exists():
            shutil.rmtree(path)
        os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _fsync_dir(path.parent)


def remove_stray_temporaries(folder: Path) -> list[Path]:
    """Delete temporary files left by an interrupted writer; returns what was removed."""
    removed = []
    if folder.is_dir():
        for tmp in folder.glob(f"{TMP_PREFIX}*"):
            tmp.unlink(missing_ok=True)
            removed.append(tmp)
    return removed


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
