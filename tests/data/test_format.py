"""FORMAT.md and its reference reader, against real shards: the reader (numpy + zstandard only)
returns byte for byte what `ShardReader` returns, refuses corrupted shards, and the spec names
every array and manifest field rlgen writes."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

import rlgen.collect as collect_module
from rlgen.core.config import load_config
from rlgen.data import reference_reader
from rlgen.data.errors import DatasetError
from rlgen.data.shards import STEP_EXTRA_PREFIX, ShardReader

REPO = Path(__file__).resolve().parents[2]
FORMAT = (REPO / "FORMAT.md").read_text()
READER = Path(reference_reader.__file__)


def _assert_identical(arrays: dict[str, np.ndarray], path: Path) -> None:
    """The reference reader's arrays against `ShardReader`'s: same dtype, shape and bytes, and
    nothing either has that the other lacks."""
    reader = ShardReader(path)
    contents = reader.contents()
    expected = {
        **reader.arrays,  # format_version, frame_shape, chunk_frames, chunk_offsets, and the rest as stored
        "observations": contents.observations,
        "actions": contents.actions,
        "rewards": contents.rewards,
        "episode_starts": contents.episode_starts,
        **{STEP_EXTRA_PREFIX + name: array for name, array in contents.extras.items()},
    }
    assert sorted(arrays) == sorted(expected)
    for name, array in expected.items():
        got = arrays[name]
        assert got.dtype == array.dtype and got.shape == array.shape, name
        assert got.tobytes() == array.tobytes(), name


def test_reference_reader_reads_every_shard_byte_for_byte(collected):
    manifest, shards = reference_reader.read_dataset(collected.root)
    assert manifest["name"] == collected.name and len(shards) == len(collected.manifest.shards) == 3
    for record, arrays in shards:
        _assert_identical(arrays, collected.shard_path(record["name"]))
        assert arrays["observations"].shape == (record["transitions"], 64, 64, 3)
        assert np.diff(arrays["episode_starts"]).tolist() == record["lengths"]


def test_reference_reader_reads_vector_observations_and_step_arrays(tmp_path):
    """The stitching maze's shards: (N, 1682) uint8 observations and per-step goal / waypoint arrays."""
    config = load_config("configs/stitch.yaml", ["levels.train=3", "collect.transitions=300", "collect.shard_transitions=300", "collect.envs_per_worker=4"])
    record = collect_module.collect_shard(config, 0, tmp_path)
    path = tmp_path / record.name
    arrays = reference_reader.read_shard(path, record.sha256)
    _assert_identical(arrays, path)
    assert arrays["observations"].ndim == 2 and {"step_goal", "step_waypoint"} <= set(arrays)


def test_reference_reader_refuses_a_corrupted_shard(collected, tmp_path):
    root = tmp_path / collected.name
    shutil.copytree(collected.root, root)
    record = collected.manifest.shards[1]
    path = root / "shards" / record.name
    reader = ShardReader(path)
    inside_chunk = reader.data_offset + (int(reader.chunk_offsets[2]) + int(reader.chunk_offsets[3])) // 2
    data = bytearray(path.read_bytes())
    data[inside_chunk] ^= 0x10  # one bit of one compressed frame chunk
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=rf"{record.name}: sha256 differs from the manifest's"):
        reference_reader.read_dataset(root)
    with pytest.raises(zipfile.BadZipFile, match="Bad CRC-32 for file 'frames_zstd.npy'"):
        reference_reader.read_shard(path)  # without the sha256: the zip member's CRC-32, read whole
    with pytest.raises(DatasetError, match="frame chunk 2 cannot be decompressed"):
        ShardReader(path).decode_chunk(2)  # reading one chunk in place: the chunk's zstd checksum


def test_reference_reader_refuses_a_shard_name_outside_the_folder(collected, tmp_path):
    root = tmp_path / "edited"
    shutil.copytree(collected.root, root)
    manifest = json.loads((root / "manifest.json").read_text())
    manifest["shards"][0]["name"] = "../../escape.npz"
    (root / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ValueError, match="is not shard-NNNNN.npz"):
        reference_reader.read_dataset(root)


def test_reference_reader_runs_alone_without_rlgen(collected):
    """As a script in an isolated interpreter: it imports numpy and zstandard, nothing of rlgen
    nor any of its heavy dependencies."""
    check = (
        f"import runpy, sys; sys.argv = [{str(READER)!r}, sys.argv[1]]; runpy.run_path(sys.argv[0], run_name='__main__'); "
        "heavy = sorted({m.split('.')[0] for m in sys.modules} & {'rlgen', 'rlgen_envs', 'torch', 'd3rlpy', 'ray', 'gymnasium', 'h5py', 'procgen'}); "
        "print('heavy:', heavy)"
    )
    out = subprocess.run([sys.executable, "-I", "-c", check, str(collected.root)], capture_output=True, text=True, check=True).stdout
    assert "heavy: []" in out
    assert f"{collected.name}: {collected.manifest.episodes} episodes, 1500 transitions, sha256 checked" in out


def test_format_md_names_every_array_and_manifest_field(collected):
    """The spec keeps up with the writer: every shard member and every manifest field (top level,
    shard records, skill, diversity, levels) rlgen writes is named in FORMAT.md."""
    documented = set(re.findall(r"`([a-z_0-9]+)`", FORMAT))
    members = set(np.load(collected.shard_path(collected.manifest.shards[0].name)).files)
    data = json.loads((collected.root / "manifest.json").read_text())
    fields = {
        *data, *data["shards"][0], *data["behaviour"]["skill"], *data["diversity"], *data["levels"],
        *data["levels"]["train"], *data["provenance"],
    }  # fmt: skip
    assert members - documented == set()
    assert fields - documented == set()
    assert "Readers must ignore fields they do not know" in FORMAT


def test_format_md_gives_each_arrays_dtype_and_shape(collected):
    """FORMAT.md's table of shard members against a real shard: the dtype of each, and the shape
    wherever the table gives a fixed one (the scalars are stored as (1,), not ())."""
    rows = re.findall(r"^\| `(\w+)` \| `([<|][a-z][0-9])` \| ([^|]+) \|", FORMAT.replace("\\|", "|"), flags=re.M)
    with np.load(collected.shard_path(collected.manifest.shards[0].name)) as npz:
        arrays = {name: npz[name] for name in npz.files}
    assert {name for name, _, _ in rows} == set(arrays)
    for name, dtype, shapes in rows:
        assert arrays[name].dtype.str == dtype, name
        fixed = [tuple(int(x) for x in shape.split(",") if x.strip()) for shape in re.findall(r"\(([0-9, ]+)\)", shapes)]
        if fixed:
            assert arrays[name].shape in fixed, name
