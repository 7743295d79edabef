"""Hostile storage with real Ray collection: a resumed collection refuses shards it cannot vouch
for, a finished dataset is repaired by rerunning its command, an actor's OS error is one line."""

from __future__ import annotations

import json
import os

import pytest

from rlgen.cli import main
from rlgen.collect import collect_dataset, collect_shard, shard_name
from rlgen.data.dataset import load_dataset
from rlgen.data.errors import DatasetError
from rlgen.data.manifest import manifest_sha256
from rlgen.data.shards import ShardReader, digest_path
from test_hostile_storage import CLI_OVERRIDES, QUICKSTART, cli_config


def _flip_a_frame_bit(path) -> None:
    """Flip one bit inside shard `path`'s compressed frames, which the zip's CRC does not guard
    (frames are read by offset, not through the zip)."""
    reader = ShardReader(path)
    data = bytearray(path.read_bytes())
    data[reader.data_offset + int(reader.chunk_offsets[1]) // 2] ^= 0x04
    path.write_bytes(bytes(data))


def test_resume_collects_again_every_shard_its_writer_cannot_vouch_for(ray_local, tiny_config):
    """An interrupted collection left four shards: one intact; one with a bit flipped in its
    compressed frames; one overwritten by another, valid shard (readable, consistent, wrong);
    one without the writer's digest. Resume used to rehash the files as they were and accept the
    flipped and the swapped ones; now it keeps only the intact one, and the data is as written."""
    config = tiny_config(**{"collect.transitions": 800})
    shard_dir = config.dataset_dir() / "shards"
    shard_dir.mkdir(parents=True)
    written = [collect_shard(config, i, shard_dir).sha256 for i in range(4)]
    _flip_a_frame_bit(shard_dir / shard_name(1))
    (shard_dir / shard_name(2)).write_bytes((shard_dir / shard_name(0)).read_bytes())
    ShardReader(shard_dir / shard_name(2))  # a perfectly good shard: only the writer's digest can tell
    digest_path(shard_dir / shard_name(3)).unlink()

    with pytest.warns(UserWarning) as warned:
        dataset = collect_dataset(config, progress=False)
    messages = " | ".join(str(w.message) for w in warned)
    for i in (1, 2):
        assert f"shard {shard_dir / shard_name(i)} changed on disk since it was written" in messages
    assert f"shard {shard_dir / shard_name(3)} has no sha256 recorded by its writer" in messages
    assert "collecting it again" in messages and str(shard_dir / shard_name(0)) not in messages
    records = dataset.manifest.shards
    assert [r.sha256 for r in records] == written  # the bytes the writer first wrote
    assert [bool(r.stats.get("resumed")) for r in records] == [True, False, False, False]


def test_delete_the_shard_and_rerun_repairs_a_finished_dataset(ray_local, capsys):
    """`verify` says to delete a damaged shard and rerun the collection; with the manifest present
    the rerun used to stop at the same error (a dead end). Now it collects the shard again and
    puts it in place when its bytes are the manifest's: the manifest, and results citing it, stand."""
    args = ["collect", str(QUICKSTART), "--quiet", *CLI_OVERRIDES]
    assert main(args) == 0
    config = cli_config()
    root = config.dataset_dir()
    cited = manifest_sha256(root)
    shard = root / "shards" / shard_name(1)
    clean = shard.read_bytes()

    # A damaged shard: verify names it and says what to do ...
    data = bytearray(clean)
    data[len(data) // 2] ^= 0x10
    shard.write_bytes(bytes(data))
    with pytest.raises(DatasetError, match=rf"{shard} is corrupt.*delete it and rerun the collection"):
        load_dataset(root)
    # ... and doing it works: delete, rerun the same command.
    shard.unlink()
    capsys.readouterr()
    with pytest.warns(UserWarning, match=r"collecting shards \[1\] .* again to repair it"):
        assert main(args) == 0
    assert shard.read_bytes() == clean and manifest_sha256(root) == cited
    assert not (root / ".repair").exists()
    load_dataset(root)  # verifies

    # Rerunning without deleting repairs a damaged shard too.
    shard.write_bytes(bytes(data))
    with pytest.warns(UserWarning, match="repair"):
        collect_dataset(config, progress=False)
    assert shard.read_bytes() == clean

    # A shard that comes out different from the manifest's is refused; nothing in the dataset changes.
    manifest = json.loads((root / "manifest.json").read_text())
    manifest["shards"][0]["sha256"] = "0" * 64
    (root / "manifest.json").write_text(json.dumps(manifest))
    before = (root / "shards" / shard_name(0)).read_bytes()
    with pytest.warns(UserWarning, match="repair"), pytest.raises(DatasetError, match=r"differ from those its manifest lists.*Delete .* and rerun"):
        collect_dataset(config, progress=False)
    assert (root / "shards" / shard_name(0)).read_bytes() == before and not (root / ".repair").exists()


def test_an_actors_os_error_is_one_line_saying_what_to_do(ray_local, capsys):
    """An actor that cannot write its shard (here its digest's path is a folder; a full disk is
    the same path) used to surface as Ray's remote traceback."""
    config = cli_config()
    shard_dir = config.dataset_dir() / "shards"
    blocked = digest_path(shard_dir / shard_name(0))
    blocked.mkdir(parents=True)
    code = main(["collect", str(QUICKSTART), "--quiet", *CLI_OVERRIDES])
    line = capsys.readouterr().err.strip().splitlines()[-1]
    assert code == 2 and "Traceback" not in line and "RayTaskError" not in line
    assert line.startswith("rlgen: error: collecting shard 0 into ") and str(blocked) in line and "rerun the same command" in line
    os.rmdir(blocked)
