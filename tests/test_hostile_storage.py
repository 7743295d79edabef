"""Hostile storage without Ray: flipped bits in shards, old shards, full disks, two writers at once.

Every shard here is a real Procgen shard written by the real collection writer (`collect_shard`,
in this process); datasets are finished by the real `collect_dataset`, which starts no Ray when
every shard is already on disk and trusted.
"""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import zstandard

from rlgen.cli import main
from rlgen.collect import collect_dataset, collect_shard, shard_name
from rlgen.core.config import ExperimentConfig, load_config
from rlgen.data import atomic
from rlgen.data.errors import DatasetError
from rlgen.data.lock import LOCK_NAME, FolderLockedError, folder_lock
from rlgen.data.shards import ShardReader, ShardWriter, digest_path, file_sha256, read_shard, written_digest

ROOT = Path(__file__).resolve().parents[1]


QUICKSTART = ROOT / "configs" / "quickstart.yaml"
CLI_SETS = [
    "levels.train=5", "collect.transitions=400", "collect.shard_transitions=200", "collect.envs_per_worker=4",
    "collect.policy={name: random}",
]  # fmt: skip
CLI_OVERRIDES = [a for item in CLI_SETS for a in ("--set", item)]


def cli_config() -> ExperimentConfig:
    """The config `rlgen collect configs/quickstart.yaml` with `CLI_OVERRIDES` reads."""
    return load_config(QUICKSTART, CLI_SETS)


def shards_in_process(config: ExperimentConfig) -> Path:
    """Every shard of `config`'s dataset, written here by the collection's writer (no manifest yet)."""
    shard_dir = config.dataset_dir() / "shards"
    shard_dir.mkdir(parents=True)
    for i in range(config.collect.num_shards):
        collect_shard(config, i, shard_dir)
    return shard_dir


def test_writer_keeps_the_digest_it_computed_beside_the_shard(tmp_path, tiny_config):
    record = collect_shard(tiny_config(), 0, tmp_path)
    path = tmp_path / shard_name(0)
    assert digest_path(path).read_text() == f"{record.sha256}  {path.name}\n"  # `sha256sum -c` format
    assert written_digest(path) == record.sha256 == file_sha256(path)


def test_a_flipped_bit_in_compressed_frames_is_refused_not_decoded(tmp_path, tiny_config):
    """Without zstd's content checksum 82% of such flips decoded silently to other pixels."""
    collect_shard(tiny_config(), 0, tmp_path)
    path = tmp_path / shard_name(0)
    clean = path.read_bytes()
    reader = ShardReader(path)
    rng = np.random.default_rng(0)
    for _ in range(12):
        chunk = int(rng.integers(reader.num_chunks))
        lo, hi = int(reader.chunk_offsets[chunk]), int(reader.chunk_offsets[chunk + 1])
        at = reader.data_offset + int(rng.integers(lo + 6, hi - 4))  # inside the compressed blocks
        data = bytearray(clean)
        data[at] ^= 1 << int(rng.integers(8))
        path.write_bytes(bytes(data))
        with pytest.raises(DatasetError, match=rf"{path.name}: frame chunk {chunk} .*corrupt"):
            ShardReader(path).decode_chunk(chunk)
    path.write_bytes(clean)
    assert read_shard(path).num_transitions == 200


def test_shards_written_before_chunk_checksums_still_load(tmp_path, tiny_config):
    collect_shard(tiny_config(), 0, tmp_path)
    episodes = list(read_shard(tmp_path / shard_name(0)).episodes())
    legacy = ShardWriter(episodes[0].observations.shape[1:])
    legacy._compressor = zstandard.ZstdCompressor(level=1)  # frames as rlgen wrote them before: no checksum
    for ep in episodes:
        legacy.add(ep)
    legacy.write(tmp_path / "old.npz")
    old = read_shard(tmp_path / "old.npz")
    new = read_shard(tmp_path / shard_name(0))
    assert np.array_equal(old.observations, new.observations) and np.array_equal(old.actions, new.actions)


def test_full_disk_is_one_line_naming_the_file_and_a_rerun_finishes(monkeypatch, capsys):
    """The disk fills while the collection writes (fsync reports ENOSPC, as ext4 and NFS do): the
    command says which file, how much is free and what to do, in one line; shards are kept; a
    rerun finishes the dataset."""
    args = ["collect", str(QUICKSTART), "--quiet", *CLI_OVERRIDES]
    shard_dir = shards_in_process(cli_config())
    digests = {p.name: file_sha256(p) for p in shard_dir.glob("*.npz")}
    real_fsync = os.fsync

    def full(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(atomic.os, "fsync", full)
    code = main(args)
    monkeypatch.setattr(atomic.os, "fsync", real_fsync)
    line = capsys.readouterr().err.strip()
    root = shard_dir.parent
    assert code == 2 and "\n" not in line and "Traceback" not in line
    assert f"no space left on device writing {root}/" in line and "free there" in line and "rerun the same command" in line
    assert not (root / "manifest.json").exists() and not list(root.rglob(".tmp-*"))
    assert {p.name: file_sha256(p) for p in shard_dir.glob("*.npz")} == digests  # nothing lost
    assert main(args) == 0
    assert (root / "manifest.json").exists()


def test_atomic_writer_names_the_file_on_a_full_disk(tmp_path, monkeypatch):
    def full(fd):
        raise OSError(errno.EDQUOT, os.strerror(errno.EDQUOT))

    monkeypatch.setattr(atomic.os, "fsync", full)
    with pytest.raises(atomic.NoSpaceError, match=rf"disk quota exceeded writing {tmp_path / 'x.bin'} \(.* free there\)"):
        atomic.atomic_write_bytes(tmp_path / "x.bin", b"abc")
    assert not list(tmp_path.iterdir())  # neither the file nor its temporary


HOLDER = textwrap.dedent(
    """
    import sys, time
    from rlgen.data.lock import folder_lock
    with folder_lock(sys.argv[1], "dataset"):
        print("held", flush=True)
        time.sleep(600)
    """
)


def _hold_lock(folder: Path) -> subprocess.Popen:
    """Another process holding `folder`'s lock (the caller ends it)."""
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(folder)], stdout=subprocess.PIPE, text=True, cwd=ROOT)
    assert proc.stdout.readline().strip() == "held"
    return proc


def _release(proc: subprocess.Popen) -> None:
    proc.kill()
    proc.wait()


def test_second_collection_into_a_locked_dataset_stops_at_once_naming_the_holder(tiny_config):
    """Two collections into one folder: the second used to sweep away the first's in-flight files."""
    config = tiny_config()
    root = shards_in_process(config).parent
    in_flight = root / "shards" / ".tmp-shard-00000.npz.4242.abcdef12"
    in_flight.write_bytes(b"the other collection's shard, being written")
    holder = _hold_lock(root)
    try:
        info = json.loads((root / LOCK_NAME).read_text())
        with pytest.raises(FolderLockedError) as caught:
            collect_dataset(config, progress=False)
        message = str(caught.value)
        assert f"dataset folder {root} is in use: pid {holder.pid} on {info['host']} since {info['started']}" in message
        assert "running `-c " in message and "rerun" in message
        assert in_flight.exists() and not (root / "manifest.json").exists()  # the other collection's files untouched
    finally:
        _release(holder)
    # The lock dies with its process: the next collection takes it, sweeps the stray file, finishes.
    with pytest.warns(UserWarning, match="temporary"):
        dataset = collect_dataset(config, progress=False)
    assert not in_flight.exists() and dataset.manifest.transitions == 400
    assert not (root / LOCK_NAME).exists()


def test_folder_lock_is_exclusive_and_leaves_no_file(tmp_path):
    with folder_lock(tmp_path / "run", "run") as path:
        assert json.loads(path.read_text())["pid"] == os.getpid()
        with pytest.raises(FolderLockedError, match=rf"run folder {tmp_path / 'run'} is in use: pid {os.getpid()}"):
            with folder_lock(tmp_path / "run", "run"):
                pass
    assert not (tmp_path / "run" / LOCK_NAME).exists()
    with folder_lock(tmp_path / "run", "run"):
        pass


def test_a_killed_holder_leaves_no_stale_lock(tmp_path):
    _release(_hold_lock(tmp_path))  # SIGKILL: no cleanup ran
    with folder_lock(tmp_path, "dataset"):
        pass
