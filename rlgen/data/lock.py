"""One writer per folder: an exclusive, non-blocking `flock` on `FOLDER/.lock`, held for a whole stage.

Two collections into one dataset folder (or two trainings of one run) would each write the same
files and each sweep away the other's temporary files as an interrupted writer's leftovers. A
stage that writes a folder therefore takes its lock first and holds it to the end; a second one
fails at once, naming the holder (pid, host, command and start time, written into the lock file
by whoever holds it). The lock is the kernel's: it dies with its process (a killed stage leaves
no stale lock; its file may stay, naming a dead process, until the next holder overwrites it), so
no pid needs to be checked for liveness. The file is removed on release,
under the lock; a process that opened the old file then sees it gone and tries again, so two
holders can never lock two different files of the same name.

`flock` works on local file systems and on NFSv4 / most cluster file systems; where it is not
supported the stage fails with that error rather than running unprotected.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import socket
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from rlgen.data.errors import DatasetError

LOCK_NAME = ".lock"


class FolderLockedError(DatasetError):
    """Another process holds the folder's lock: the message names it and what to do."""


def _holder_text(path: Path) -> str:
    """Who holds the lock at `path`, from what the holder wrote into it."""
    try:
        info = json.loads(path.read_text() or "{}")
    except (OSError, ValueError):
        info = {}
    if not info:
        return "another process (it has not yet written who it is)"
    return (
        f"pid {info.get('pid')} on {info.get('host')} since {info.get('started')}, "
        f"running `{info.get('command')}`"
    )


@contextmanager
def folder_lock(folder: Path, what: str) -> Iterator[Path]:
    """Hold `folder`'s lock for the body (`folder` is created if missing); raise
    `FolderLockedError` naming the holder when another process has it.

    `what` says what the folder is ("dataset", "run") for the message.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / LOCK_NAME
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise
            raise FolderLockedError(
                f"{what} folder {folder} is in use: {_holder_text(path)} (lock file {path}); "
                "wait for it to finish or stop it, then rerun (the lock goes with its process; never delete it by hand)"
            ) from None
        try:
            same = os.fstat(fd).st_ino == os.stat(path).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)  # the holder removed the file between our open and our lock: take the new one
    try:
        info = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "command": " ".join(sys.argv) or sys.executable,
            "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(info).encode(), 0)
        yield path
    finally:
        try:
            os.unlink(path)  # under the lock: see the module docstring
        except FileNotFoundError:
            pass
        os.close(fd)
