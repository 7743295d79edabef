"""What the wheel ships, and what a core install (numpy, zstandard, pyyaml) can do.

The wheel test builds the real wheel from this checkout (pip, no build isolation: the venv's
setuptools) and checks that every module and every catalog and config file is in it, byte for
byte. `.ci/run` then installs that wheel into a fresh venv and runs it from outside the checkout.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

from rlgen.catalog import DEFAULT_CATALOG_DIR
from rlgen.resources import example_config, shipped_dir

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("torch", "d3rlpy", "ray", "gymnasium", "gym", "gym3", "procgen", "pandas", "matplotlib", "h5py", "rapidfuzz",
         "bm25s", "tqdm", "tensorboardX", "sklearn")  # fmt: skip
"""Everything outside the core dependencies; blocked in the core-only test."""


def _shipped_sources() -> dict[str, Path]:
    """Wheel path -> repository file, for every file the wheel must carry."""
    files = {}
    for package, folder in (("rlgen", ROOT / "rlgen"), ("rlgen_envs", ROOT / "envs" / "rlgen_envs")):
        for path in folder.rglob("*.py"):
            if "__pycache__" not in path.parts and "package_data" not in path.parts:
                files[f"{package}/{path.relative_to(folder).as_posix()}"] = path
    for pattern in ("datasets/*.yaml", "datasets/*.md", "configs/**/*.yaml"):
        for path in ROOT.glob(pattern):
            files[f"rlgen/package_data/{path.relative_to(ROOT).as_posix()}"] = path
    return files


def test_the_checkout_reads_the_repositorys_own_folders():
    for folder in ("datasets", "configs"):
        assert (ROOT / "rlgen" / "package_data" / folder).is_symlink()
        assert shipped_dir(folder).resolve() == (ROOT / folder).resolve()
    assert DEFAULT_CATALOG_DIR == shipped_dir("datasets")


def test_example_configs_are_found_from_any_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    quickstart = shipped_dir("configs") / "quickstart.yaml"
    assert example_config("configs/quickstart.yaml") == example_config("quickstart") == quickstart
    assert example_config("configs/sweeps/diversity.yaml") == shipped_dir("configs") / "sweeps" / "diversity.yaml"
    assert example_config("nothing.yaml") == Path("nothing.yaml")
    (tmp_path / "configs").mkdir()
    (tmp_path / "configs" / "quickstart.yaml").write_text("name: mine\n")
    assert example_config("configs/quickstart.yaml") == Path("configs/quickstart.yaml")  # a file here wins


def test_the_wheel_carries_every_module_catalog_and_config(tmp_path):
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--quiet", "-w", str(tmp_path), str(ROOT)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    (wheel,) = tmp_path.glob("rlgen-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        expected = _shipped_sources()
        missing = sorted(set(expected) - names)
        assert not missing, f"the wheel lacks {missing[:10]}"
        changed = [name for name, path in expected.items() if zf.read(name) != path.read_bytes()]
        assert not changed, changed
        metadata = zf.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    data = {n for n in names if n.startswith("rlgen/package_data/")}
    assert data == {n for n in expected if n.startswith("rlgen/package_data/")}
    assert len([n for n in data if n.startswith("rlgen/package_data/configs/sweeps/")]) >= 1
    requires = [line for line in metadata.splitlines() if line.startswith("Requires-Dist:")]
    core = sorted(line.split()[1].split(">")[0].split("<")[0].split("=")[0] for line in requires if "extra ==" not in line)
    assert core == ["numpy", "pyyaml", "zstandard"]
    extras = {line.split("Provides-Extra:")[1].strip() for line in metadata.splitlines() if line.startswith("Provides-Extra:")}
    assert {"procgen", "train", "ray", "ppo", "webshop", "minari", "tensorboard", "report", "all", "test"} <= extras


def test_the_loader_and_format_need_only_the_core(tmp_path):
    """A dataset is written, verified and read back with every heavy package blocked."""
    code = textwrap.dedent(
        f"""
        import sys
        for name in {HEAVY!r}:
            sys.modules[name] = None  # `import name` now fails as if it were not installed
        import numpy as np
        import rlgen
        from rlgen.core.config import load_config
        from rlgen.core.levels import LevelSplit
        from rlgen.data import EpisodeData, load_dataset
        from rlgen.data.interop import write_dataset
        from rlgen.resources import example_config

        rng = np.random.default_rng(0)
        episodes = [
            (shard, EpisodeData(observations=rng.integers(0, 256, (n, 64, 64, 3), dtype=np.uint8),
                                actions=rng.integers(0, 15, n).astype(np.uint8), rewards=rng.random(n).astype(np.float32),
                                level_seed=level, terminated=True, truncated=False, level_complete=True))
            for shard, n, level in ((0, 5, 1), (0, 3, 2), (1, 4, 0))
        ]
        write_dataset({str(tmp_path / "ds")!r}, episodes, name="ds", env={{"game": "maze", "mode": "easy"}},
                      levels=LevelSplit.with_diversity(3), behaviour={{"name": "random"}}, seed=0, config={{}})
        dataset = load_dataset({str(tmp_path / "ds")!r})  # verifies every shard
        read = list(dataset.episodes())
        assert [e.length for e in read] == [5, 3, 4]
        assert all(np.array_equal(a.observations, b.observations) for a, (_, b) in zip(read, episodes))
        assert load_config(example_config("configs/quickstart.yaml")).name == "quickstart"
        assert not [name for name in {HEAVY!r} if sys.modules.get(name) is not None]
        """
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]

