"""Hostile imports: names that lead out of the data directory, and files that inflate without bound.

Each test builds the attacker's file in its real format (a Minari export edited by hand, a zip
of `.npy` members, an HDF5 file) and checks that the import is refused with a message naming
the file, and that nothing was written anywhere: not outside the data directory, not in it.
"""

from __future__ import annotations

import json
import os
import tracemalloc
import zipfile

import numpy as np
import pytest

from rlgen.cli import main
from rlgen.data import DatasetError
from rlgen.data.interop import export_minari, import_minari, import_paper_dataset, paper_file_name


def _files(root):
    """Every path under `root`, relative, with its bytes' size and mtime: a snapshot to compare."""
    return {p.relative_to(root): (p.stat().st_size, p.stat().st_mtime_ns) for p in root.rglob("*") if p.is_file()}


def _paper_file(folder, index, length, level=1, frames=None):
    """A genuine paper episode file (float32 (T+1, 3, 64, 64) frames, (T, 1) actions and rewards)."""
    rng = np.random.default_rng(index)
    frames = rng.integers(0, 256, size=(length + 1, 3, 64, 64)).astype(np.float32) if frames is None else frames
    rewards = np.zeros((length, 1), np.float32)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / paper_file_name("20240101T000000", index, level, rewards[:, 0])
    np.savez_compressed(
        path, observations=frames, actions=rng.integers(0, 15, size=(length, 1)), rewards=rewards,
        dones=np.arange(length) == length - 1,
    )  # fmt: skip
    return path


@pytest.fixture()
def exported(tmp_path, monkeypatch):
    """A small rlgen dataset exported to Minari: (the Minari data/ folder, the data directory)."""
    data_dir = tmp_path / "data"
    for i in range(3):
        _paper_file(tmp_path / "paper" / "maze", i, length=4 + i, level=i)
    import_paper_dataset(tmp_path / "paper", "maze-L3", data_dir=data_dir)
    minari = export_minari("maze-L3", tmp_path / "minari", data_dir=data_dir)
    import shutil

    shutil.rmtree(data_dir / "maze-L3")  # the import target must be free
    return minari, data_dir


def _edit_metadata(folder, edit):
    path = folder / "metadata.json"
    metadata = json.loads(path.read_text())
    edit(metadata["rlgen_manifest"])
    path.write_text(json.dumps(metadata))


@pytest.mark.parametrize("name", ["../escaped", "../../escaped", "/tmp/escaped", "a/b", "..", ".hidden", "x" * 300])
def test_minari_dataset_name_cannot_leave_the_data_dir(exported, tmp_path, name):
    folder, data_dir = exported
    _edit_metadata(folder, lambda m: m.update(name=name))
    before = _files(tmp_path)
    with pytest.raises(DatasetError, match=r"metadata\.json.*dataset name .* is not a safe name \(it must be") as info:
        import_minari(folder, data_dir=data_dir)
    assert str(folder / "metadata.json") in str(info.value)
    assert _files(tmp_path) == before  # nothing written, nothing overwritten, anywhere
    assert not (tmp_path / "escaped").exists() and not (data_dir.parent.parent / "escaped").exists()


@pytest.mark.parametrize("shard", ["../../victim.npz", "/tmp/victim.npz", "../shards/shard-00000.npz", "shard-0.npz", "victim.npz"])
def test_minari_shard_name_cannot_overwrite_a_file(exported, tmp_path, shard):
    """The issue's attack: a shard named `../../victim.npz` was written over an existing file
    outside --data-dir (atomic_writer's os.replace), and its sha256 was checked only afterwards."""
    folder, data_dir = exported
    victim = tmp_path / "victim.npz"
    victim.write_bytes(b"precious")
    _edit_metadata(folder, lambda m: m["shards"][0].update(name=shard))
    before = _files(tmp_path)
    with pytest.raises(DatasetError, match=r"shard name .* is not a shard file name \(shard-NNNNN\.npz\); the manifest was edited"):
        import_minari(folder, data_dir=data_dir)
    assert victim.read_bytes() == b"precious"
    assert _files(tmp_path) == before


def test_minari_shard_listed_twice_is_refused(exported, tmp_path):
    folder, data_dir = exported
    _edit_metadata(folder, lambda m: m["shards"].append(dict(m["shards"][0])))
    before = _files(tmp_path)
    with pytest.raises(DatasetError, match="shard 'shard-00000.npz' is listed twice"):
        import_minari(folder, data_dir=data_dir)
    assert _files(tmp_path) == before


def test_cli_names_the_file_and_the_rule(exported, tmp_path, capsys):
    folder, data_dir = exported
    _edit_metadata(folder, lambda m: m.update(name="../escaped"))
    assert main(["datasets", "import-minari", str(folder), "--data-dir", str(data_dir)]) == 2
    err = capsys.readouterr().err
    assert "metadata.json" in err and "'../escaped' is not a safe name" in err
    assert not (tmp_path / "escaped").exists() and list(data_dir.iterdir()) == []


@pytest.mark.parametrize("name", ["../escaped", "a/b", ""])
def test_import_names_given_on_the_command_line_are_checked_too(tmp_path, name):
    _paper_file(tmp_path / "paper" / "maze", 0, length=3)
    with pytest.raises(DatasetError, match="is not a safe name"):
        import_paper_dataset(tmp_path / "paper", name, data_dir=tmp_path / "data")
    assert not (tmp_path / "escaped").exists() and not (tmp_path / "data").exists()


def test_minari_target_that_is_a_symlink_out_is_refused(exported, tmp_path):
    folder, data_dir = exported
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    data_dir.mkdir(exist_ok=True)
    (data_dir / "maze-L3").symlink_to(outside)
    with pytest.raises(DatasetError, match="outside|already exists"):
        import_minari(folder, data_dir=data_dir)
    assert list(outside.iterdir()) == []


# --------------------------------------------------------------------------------------------
# Decompression bombs


def _npy_member(zf, name, shape, dtype, data_chunks, compress=True):
    """Write `name.npy` into `zf` as numpy would: a real header declaring `shape`, then the bytes
    of `data_chunks` (an iterable, so a member can inflate to gigabytes without being in memory)."""
    info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    with zf.open(info, "w", force_zip64=True) as f:
        np.lib.format.write_array_header_1_0(f, {"descr": np.dtype(dtype).str, "fortran_order": False, "shape": shape})
        for chunk in data_chunks:
            f.write(chunk)


def _zeros(nbytes, chunk=1 << 24):
    while nbytes > 0:
        yield bytes(min(chunk, nbytes))
        nbytes -= chunk


def _bomb(folder, length, declared_frames, dtype=np.float32):
    """A paper-format file whose name says T = `length` and whose observations member is a real
    deflate stream of zeros declaring `declared_frames` frames (a few hundred KB on disk)."""
    folder.mkdir(parents=True, exist_ok=True)
    rewards = np.zeros(length, np.float32)
    path = folder / paper_file_name("20240101T000000", 0, 1, rewards)
    frame_bytes = 3 * 64 * 64 * np.dtype(dtype).itemsize
    with zipfile.ZipFile(path, "w") as zf:
        _npy_member(zf, "observations", (declared_frames, 3, 64, 64), dtype, _zeros(declared_frames * frame_bytes))
        _npy_member(zf, "actions", (length, 1), np.int64, [bytes(8 * length)])
        _npy_member(zf, "rewards", (length, 1), np.float32, [rewards.tobytes()])
        _npy_member(zf, "dones", (length,), np.bool_, [(np.arange(length) == length - 1).tobytes()])
    return path


def _refused_within(limit_bytes, call, match):
    """`call()` raises DatasetError matching `match` while Python/numpy allocate < `limit_bytes`."""
    tracemalloc.start()
    try:
        with pytest.raises(DatasetError, match=match) as info:
            call()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < limit_bytes, f"refusing took {peak / 1e6:.0f} MB"
    return info


def test_paper_bomb_declaring_more_frames_than_its_name_is_refused_unread(tmp_path):
    """The issue's bomb: a small file whose observations inflate to gigabytes (here 400 MB of
    float32, 3.2 GB once converted to float64) was loaded whole before its shape was checked."""
    path = _bomb(tmp_path / "paper" / "maze", length=5, declared_frames=8_000)
    assert path.stat().st_size < 1_000_000
    info = _refused_within(
        20_000_000,
        lambda: import_paper_dataset(tmp_path / "paper", "bomb", data_dir=tmp_path / "data"),
        r"observations declares shape \(8000, 3, 64, 64\); expected \(6, 3, 64, 64\)",
    )
    assert str(path) in str(info.value)
    assert not (tmp_path / "data").exists() or not any((tmp_path / "data").iterdir())


def test_paper_bomb_within_the_step_limit_is_refused_by_its_ratio(tmp_path):
    """Shape and name agree (T = 450 < maze's 500 steps), but the frames are all zeros in float64:
    1000x compression, which no real episode reaches (42x at most, measured)."""
    path = _bomb(tmp_path / "paper" / "maze", length=450, declared_frames=451, dtype=np.float64)
    info = _refused_within(
        20_000_000,
        lambda: import_paper_dataset(tmp_path / "paper", "bomb", data_dir=tmp_path / "data"),
        r"observations inflates \d+x .* refusing a likely decompression bomb",
    )
    assert str(path) in str(info.value)


def test_paper_episode_longer_than_the_step_limit_is_refused_from_its_name(tmp_path):
    path = _bomb(tmp_path / "paper" / "maze", length=501, declared_frames=502)  # maze ends episodes at 500 steps
    with pytest.raises(DatasetError, match=r"says 501 steps; a maze episode has 1 to 500 \(its step limit\)") as info:
        import_paper_dataset(tmp_path / "paper", "long", data_dir=tmp_path / "data")
    assert str(path) in str(info.value)
    assert not (tmp_path / "data").exists()


def test_paper_member_whose_zip_size_disagrees_with_its_header_is_refused(tmp_path):
    """A header declaring the right shape, followed by more bytes than it implies."""
    folder = tmp_path / "paper" / "maze"
    good = _paper_file(folder, 0, length=3)
    with zipfile.ZipFile(good) as zf:
        members = {name: zf.read(name) for name in zf.namelist()}
    with zipfile.ZipFile(good, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data + (bytes(1 << 20) if name == "observations.npy" else b""))
    with pytest.raises(DatasetError, match=r"observations declares \d+ bytes in the zip, its header implies \d+; the file is corrupt or forged"):
        import_paper_dataset(tmp_path / "paper", "forged", data_dir=tmp_path / "data")


def test_paper_file_that_is_a_pipe_is_refused(tmp_path):
    folder = tmp_path / "paper" / "maze"
    folder.mkdir(parents=True)
    os.mkfifo(folder / paper_file_name("20240101T000000", 0, 1, np.zeros(3)))
    with pytest.raises(DatasetError, match="is not a regular file"):
        import_paper_dataset(tmp_path / "paper", "pipe", data_dir=tmp_path / "data")


def test_pickled_member_is_refused_from_its_header(tmp_path):
    folder = tmp_path / "paper" / "maze"
    rewards = np.zeros(3, np.float32)
    folder.mkdir(parents=True)
    path = folder / paper_file_name("20240101T000000", 0, 1, rewards)
    np.savez(path, observations=np.array([{"a": 1}] * 4, dtype=object), actions=np.zeros(3, np.int64), rewards=rewards, dones=np.arange(3) == 2)
    with pytest.raises(DatasetError, match="cannot be read without pickle"):
        import_paper_dataset(tmp_path / "paper", "pickled", data_dir=tmp_path / "data")


def _foreign_minari_bomb(folder, steps, frames):
    """A Minari HDF5 dataset (no rlgen manifest) with one episode of `steps` actions and a
    gzip-compressed observations dataset of `frames` zero frames."""
    import h5py

    data = folder / "data"
    data.mkdir(parents=True)
    with h5py.File(data / "main_data.hdf5", "w") as f:
        g = f.create_group("episode_0")
        obs = g.create_dataset("observations", shape=(frames, 3, 64, 64), dtype=np.uint8, chunks=(min(frames, 64), 3, 64, 64), compression="gzip")
        obs[:1] = 0  # the rest are fill values: the file stays tiny
        g.create_dataset("actions", data=np.zeros(steps, np.int64))
        g.create_dataset("rewards", data=np.zeros(steps))
        g.create_dataset("terminations", data=np.arange(steps) == steps - 1)
        g.create_dataset("truncations", data=np.zeros(steps, bool))
    meta = {
        "dataset_id": "other/bomb-v0", "total_episodes": 1, "data_format": "hdf5",
        "action_space": json.dumps({"type": "Discrete", "dtype": "int64", "start": 0, "n": 15}),
    }  # fmt: skip
    (data / "metadata.json").write_text(json.dumps(meta))
    return data


def test_minari_episode_longer_than_the_step_limit_is_refused_unread(tmp_path):
    folder = _foreign_minari_bomb(tmp_path / "minari", steps=100_000, frames=100_001)  # 1.2 GB of frames declared
    info = _refused_within(
        20_000_000,
        lambda: import_minari(folder, "bomb", game="maze", data_dir=tmp_path / "data"),
        r"expected T each with 1 <= T <= 500 \(the game's step limit\)",
    )
    assert "main_data.hdf5:episode_0" in str(info.value)
    assert not (tmp_path / "data").exists() or not any((tmp_path / "data").iterdir())


def test_minari_observations_that_disagree_with_the_actions_are_refused_unread(tmp_path):
    folder = _foreign_minari_bomb(tmp_path / "minari", steps=10, frames=100_000)
    info = _refused_within(
        20_000_000,
        lambda: import_minari(folder, "bomb", game="maze", data_dir=tmp_path / "data"),
        r"observations of shape \(100000, 3, 64, 64\) for 10 actions",
    )
    assert "main_data.hdf5:episode_0" in str(info.value)



def test_minari_metadata_claiming_endless_episodes_is_refused_at_the_first_missing_one(tmp_path):
    folder = _foreign_minari_bomb(tmp_path / "minari", steps=3, frames=4)
    metadata = json.loads((folder / "metadata.json").read_text())
    (folder / "metadata.json").write_text(json.dumps({**metadata, "total_episodes": 10**12}))
    with pytest.raises(DatasetError, match=r"main_data\.hdf5:episode_1 is missing \(metadata\.json counts 1000000000000 episodes\)"):
        import_minari(folder, "endless", game="maze", data_dir=tmp_path / "data")
    assert not (tmp_path / "data").exists() or not any((tmp_path / "data").iterdir())
