"""What produced a result: package versions, git revision, host; recorded in manifests and runs."""

from __future__ import annotations

import functools
import platform
import subprocess
from importlib import metadata
from pathlib import Path

TRACKED_PACKAGES = ("rlgen", "numpy", "torch", "d3rlpy", "gymnasium", "procgen-mirror", "ray", "zstandard")


def package_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in TRACKED_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


@functools.cache
def git_revision() -> str:
    """The rlgen checkout's commit (with `-dirty` if it has uncommitted changes), or `unknown`."""
    root = Path(__file__).resolve().parents[2]
    try:
        rev = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True, text=True, timeout=5, check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return rev + ("-dirty" if dirty else "")


def provenance() -> dict[str, object]:
    return {"packages": package_versions(), "git_revision": git_revision(), "host": platform.node()}
