"""Files rlgen ships beside its code: the dataset catalog (`datasets/`) and the example configs
(`configs/`), read with `importlib.resources` from wherever rlgen is imported.

The repository keeps both folders at its top level. `rlgen/package_data/datasets` and
`rlgen/package_data/configs` are symbolic links to them, so a checkout (editable install or
`PYTHONPATH`) reads the repository's own files, and a wheel carries copies of them as package
data (pyproject.toml, `[tool.setuptools.package-data]`): one set of files, nothing to keep in step.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

PACKAGE_DATA = "package_data"
SHIPPED_FOLDERS = ("datasets", "configs")


def shipped_dir(folder: str) -> Path:
    """The shipped `datasets` or `configs` folder as a file-system path, links resolved (so a
    checkout names the repository's own `datasets/` in messages).

    pip installs wheels unpacked, so the folder is always a directory on disk; a zip import
    (which `importlib.resources` would hand out as a `zipfile.Path`) is refused by name.
    """
    if folder not in SHIPPED_FOLDERS:
        raise ValueError(f"rlgen ships {', '.join(SHIPPED_FOLDERS)}, not {folder!r}")
    found = resources.files("rlgen").joinpath(PACKAGE_DATA, folder)
    if not isinstance(found, Path):
        raise RuntimeError(f"rlgen's {folder}/ is inside an archive ({found}); install rlgen with pip, which unpacks it")
    return found.resolve()


def example_config(path: str | Path) -> Path:
    """`path` when it exists; else the shipped example config it names, so that
    `rlgen run configs/quickstart.yaml` works from any folder once rlgen is installed.

    `configs/quickstart.yaml`, `quickstart.yaml` and `quickstart` all name the shipped
    `configs/quickstart.yaml`; a path that names neither is returned as given, for the caller's
    "does not exist" error.
    """
    given = Path(path)
    if given.exists():
        return given
    parts = given.parts[1:] if given.parts[:1] == ("configs",) else given.parts
    if not parts or given.is_absolute():
        return given
    relative = Path(*parts)
    configs = shipped_dir("configs")
    for candidate in (relative, relative.with_name(relative.name + ".yaml")):
        if (configs / candidate).is_file():
            return configs / candidate
    return given
