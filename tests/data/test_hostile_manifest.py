"""Hostile manifests: shard names used as paths, and counts, levels or returns edited after writing.

The dataset is real (shards written by `write_dataset`); each test edits its `manifest.json` or
plants a file as an attacker would, then checks that loading (what training does) and
`rlgen datasets verify` refuse it, naming the file, what is wrong, and what to do.
"""

from __future__ import annotations

import json
import os
import re
import shutil

import numpy as np
import pytest

from rlgen.cli import main
from rlgen.core.levels import LevelSplit
from rlgen.data import DatasetError, EpisodeData, load_dataset
from rlgen.data.interop import write_dataset

FIX = "restore it from the dataset's source"


def _episode(rng, length, level):
    return EpisodeData(
        observations=rng.integers(0, 256, size=(length, 64, 64, 3), dtype=np.uint8),
        actions=rng.integers(0, 15, size=length).astype(np.uint8),
        rewards=rng.random(length).astype(np.float32),
        level_seed=level,
        terminated=True,
        truncated=False,
        level_complete=False,
    )


@pytest.fixture()
def root(tmp_path):
    """A finished two-shard dataset of five episodes on levels [0, 10)."""
    rng = np.random.default_rng(0)
    episodes = [(0, _episode(rng, 4, 3)), (0, _episode(rng, 6, 7)), (1, _episode(rng, 3, 0)), (1, _episode(rng, 5, 9)), (1, _episode(rng, 2, 3))]
    dataset = write_dataset(
        tmp_path / "data" / "ds", episodes, name="ds", env={"game": "maze", "mode": "easy"},
        levels=LevelSplit.with_diversity(10), behaviour={"name": "random"}, seed=0, config={},
    )  # fmt: skip
    return dataset.root


def _edit(root, edit):
    path = root / "manifest.json"
    data = json.loads(path.read_text())
    edit(data)
    path.write_text(json.dumps(data))


def _refused(root, match, capsys=None):
    """Loading refuses (what `train` does) and so does `rlgen datasets verify`; returns the message."""
    with pytest.raises(DatasetError, match=match) as info:
        load_dataset(root)
    assert main(["datasets", "verify", str(root)]) == 2
    return str(info.value)


def test_the_untouched_dataset_verifies(root, capsys):
    assert main(["datasets", "verify", str(root)]) == 0
    assert "2 shards verified" in capsys.readouterr().out


@pytest.mark.parametrize("name", ["../outside.npz", "../../outside.npz", "/dev/zero", "sub/shard-00000.npz", "shard-1.npz"])
def test_shard_names_are_not_paths(root, tmp_path, name):
    """`../x.npz` read a file outside the dataset; `/dev/zero` made verify hang forever."""
    outside = tmp_path / "data" / "outside.npz"
    shutil.copy(root / "shards" / "shard-00000.npz", outside)  # a genuine shard, sha256 and all
    (tmp_path / "outside.npz").write_bytes(outside.read_bytes())
    _edit(root, lambda m: m["shards"][0].update(name=name))
    message = _refused(root, r"manifest\.json: shard name .* is not a shard file name \(shard-NNNNN\.npz\)")
    assert str(root / "manifest.json") in message and FIX in message


def test_a_shard_that_is_a_device_or_a_pipe_is_refused(root):
    """A valid name whose file is a FIFO (or a link to a device) is refused, not read forever."""
    shard = root / "shards" / "shard-00000.npz"
    shard.unlink()
    os.mkfifo(shard)
    message = _refused(root, "is not a regular file")
    assert str(shard) in message


def test_a_shard_linked_to_a_device_is_refused(root):
    shard = root / "shards" / "shard-00000.npz"
    shard.unlink()
    shard.symlink_to("/dev/zero")
    _refused(root, r"leads to /dev/zero, outside")


def test_a_shard_linked_out_of_the_dataset_is_refused(root, tmp_path):
    shard = root / "shards" / "shard-00000.npz"
    outside = tmp_path / "elsewhere.npz"
    shard.rename(outside)  # the same bytes, sha256 matches
    shard.symlink_to(outside)
    _refused(root, "outside")


def _move_a_step(m):
    """Lengths edited consistently with the counts: only the shard's own arrays can tell."""
    s = m["shards"][0]
    s["lengths"] = [s["lengths"][0] + 1, s["lengths"][1] - 1]


@pytest.mark.parametrize(
    "edit, match",
    [
        (lambda m: m.update(transitions=m["transitions"] * 10), r"says \d+ transitions but its shards list \d+"),
        (lambda m: m.update(episodes=1000), "says 1000 episodes but its shards list 5"),
        (lambda m: m["shards"][0].update(transitions=1000), "lists 1000 transitions but its episode lengths sum to 10"),
        (lambda m: m["shards"][1].update(episodes=2), "lists 2 episodes but 3 level seeds"),
        (_move_a_step, "episode lengths differ"),
        (lambda m: m["shards"][1]["level_seeds"].__setitem__(1, 4), "lists level seed 4 for episode 1, .* holds level 9"),
        (lambda m: m["levels"]["train"].update(count=8), r"shard-00001.npz holds episodes on level\(s\) \[9\] outside its training levels"),
        (lambda m: m["shards"][0]["returns"].__setitem__(0, 100.0), "lists return 100 for episode 0"),
        (lambda m: m["shards"][1]["partial"].__setitem__(2, True), "partial flags differ"),
        (lambda m: m["shards"].append(dict(m["shards"][0])), "shard 'shard-00000.npz' is listed twice"),
        (lambda m: m.update(name="../other"), "dataset name '../other' is not a safe name"),
    ],
)
def test_an_edited_manifest_fails_verify(root, edit, match):
    """Edited counts, levels or returns passed `verify` (the sha256s still matched) and training
    ran on the inconsistent dataset; now the shards' own per-episode arrays are compared."""
    _edit(root, edit)
    message = _refused(root, match)
    assert str(root / "manifest.json") in message
    assert "restore" in message


def test_a_damaged_shard_of_an_imported_dataset_says_to_import_again(root):
    """An imported dataset has no collection to rerun: the advice is the import that built it."""
    _edit(root, lambda m: m["config"].update(source="minari"))
    (root / "shards" / "shard-00000.npz").unlink()
    with pytest.raises(DatasetError, match=rf"shard-00000.npz listed in .* is missing; delete the dataset folder {re.escape(str(root))} and rerun the import that built it \(minari\)"):
        load_dataset(root)


def test_a_compressed_member_is_refused(root):
    """A shard rewritten with deflated members (and its sha256 updated in the manifest): members
    could then inflate without bound while the small arrays are read."""
    import zipfile

    from rlgen.data.shards import file_sha256

    shard = root / "shards" / "shard-00000.npz"
    with zipfile.ZipFile(shard) as zf:
        members = {name: zf.read(name) for name in zf.namelist()}
    with zipfile.ZipFile(shard, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(zipfile.ZipInfo(name), data, compress_type=zipfile.ZIP_DEFLATED if name == "actions.npy" else zipfile.ZIP_STORED)
    _edit(root, lambda m: m["shards"][0].update(sha256=file_sha256(shard)))
    message = _refused(root, r"members \['actions.npy'\] are compressed inside the zip")
    assert str(shard) in message
