"""Atomic writes (`rlgen.data.atomic`), the folder form: a PPO checkpoint folder appears whole or
not at all, and a rewrite replaces the old folder. Full disks are in test_hostile_storage.py."""

import pytest

from rlgen.data.atomic import TMP_PREFIX, atomic_folder, atomic_write_bytes


def test_a_folder_appears_whole_and_replaces_the_old_one(tmp_path):
    final = tmp_path / "step_100"
    final.mkdir()
    (final / "stale.txt").write_text("from an earlier write")
    with atomic_folder(final) as building:
        atomic_write_bytes(building / "model.pt", b"weights")
        assert building.name.startswith(TMP_PREFIX) and not (final / "model.pt").exists()
    assert sorted(p.name for p in final.iterdir()) == ["model.pt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["step_100"]  # no temporary left


def test_a_failed_folder_leaves_nothing(tmp_path):
    final = tmp_path / "step_200"
    with pytest.raises(RuntimeError, match="interrupted"):
        with atomic_folder(final) as building:
            atomic_write_bytes(building / "model.pt", b"half")
            raise RuntimeError("interrupted")
    assert list(tmp_path.iterdir()) == []
