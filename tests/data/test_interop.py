"""Interop: the paper's per-episode files in, Minari out and back in; tiny files the tests write."""

from __future__ import annotations

import dataclasses
import hashlib
import json

import numpy as np
import pytest

from rlgen.cli import main
from rlgen.data import DatasetError, load_dataset
from rlgen.data.card import CARD_NAME, dataset_card
from rlgen.data.interop import (
    PaperEpisodeFile,
    export_minari,
    import_minari,
    import_paper_dataset,
    minari_dataset_id,
    minari_metadata,
    paper_file_name,
    read_paper_episode,
)


def _episode(rng, length, level, reward_at_end=10.0):
    frames = rng.integers(0, 256, size=(length + 1, 64, 64, 3), dtype=np.uint8)  # T+1 frames, HWC
    actions = rng.integers(0, 15, size=length)
    rewards = np.zeros(length, np.float32)
    rewards[-1] = reward_at_end
    return {"frames": frames, "actions": actions, "rewards": rewards, "level": level}


def _write_paper(folder, index, ep, scale=255.0, **overrides):
    """One file as the paper's collector writes it: float32 (T+1, 3, 64, 64), (T, 1) actions and rewards."""
    arrays = {
        "observations": ep["frames"].transpose(0, 3, 1, 2).astype(np.float32) * np.float32(scale / 255.0),
        "actions": ep["actions"].astype(np.int64)[:, None],
        "rewards": ep["rewards"][:, None],
        "dones": np.arange(len(ep["actions"])) == len(ep["actions"]) - 1,
    }
    arrays.update(overrides)
    name = overrides.pop("_name", None) or paper_file_name("20240101T000000", index, ep["level"], ep["rewards"])
    folder.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(folder / name, **arrays)
    return folder / name


@pytest.fixture()
def paper_dir(tmp_path):
    rng = np.random.default_rng(0)
    episodes = [_episode(rng, 5, 3), _episode(rng, 7, 0, 0.0), _episode(rng, 3, 1)]
    folder = tmp_path / "paper" / "maze"
    for i, ep in enumerate(episodes):
        _write_paper(folder, i, ep, scale=1.0 if i == 1 else 255.0)  # one file on the 0-1 scale
    return folder, episodes


def _assert_same_episodes(got, episodes):
    assert len(got) == len(episodes)
    for g, e in zip(got, episodes):
        assert np.array_equal(g.observations, e["frames"][:-1])  # uint8 HWC, the T+1-th frame dropped
        assert g.observations.dtype == np.uint8 and g.observations.shape[1:] == (64, 64, 3)
        assert np.array_equal(g.actions, e["actions"]) and np.array_equal(g.rewards, e["rewards"])
        assert g.level_seed == e["level"] and g.terminated and not g.truncated and not g.partial


def test_import_paper_files(paper_dir, tmp_path):
    folder, episodes = paper_dir
    ds = import_paper_dataset(folder.parent, "paper-maze-L4")  # the game comes from the folder name
    assert ds.manifest.game == "maze" and ds.manifest.levels.train.count == 4  # largest level seed + 1
    assert ds.manifest.behaviour["skill"]["mean_return"] == pytest.approx(20 / 3)
    _assert_same_episodes(list(ds.episodes()), episodes)
    with pytest.raises(DatasetError, match="already exists"):
        import_paper_dataset(folder, "paper-maze-L4")
    with pytest.raises(DatasetError, match="outside the training levels"):
        import_paper_dataset(folder, "other", train_levels=2)
    # an episode as long as the step limit ended by timeout
    info = PaperEpisodeFile.parse(sorted(folder.iterdir())[0])
    assert read_paper_episode(info, step_limit=5).truncated


def test_an_import_writes_its_card(paper_dir):
    folder, _ = paper_dir
    ds = import_paper_dataset(folder, "paper-maze-L4", game="maze")
    card = (ds.root / CARD_NAME).read_text()
    assert card == dataset_card(ds.manifest, ds.sha256)
    assert "15 transitions in 3 episodes of Procgen maze (easy mode), played by the `paper` behaviour policy" in card
    assert "| train | [0, 4) | 4 |" in card


def test_minari_metadata_describes_the_dataset(paper_dir, tmp_path):
    """What Minari asks of a dataset, built without minari: env specs on the dataset's own train
    and test levels that gymnasium can make, author, description, code permalink, reference scores."""
    import gymnasium
    from gymnasium.envs.registration import EnvSpec

    from rlgen.core.games import COBBE_RETURN_RANGES

    folder, _ = paper_dir
    source = import_paper_dataset(folder, "paper-maze-L4", game="maze")
    data = export_minari(source.name, tmp_path / "minari", author="A. Researcher", author_email="a@example.org")
    meta = json.loads((data / "metadata.json").read_text())
    m = source.manifest
    assert meta == minari_metadata(
        m, source.sha256, dataset_id="rlgen/paper-maze-L4-v0", total_episodes=3, total_steps=15, frame_shape=(64, 64, 3),
        dataset_size=meta["dataset_size"], author="A. Researcher", author_email="a@example.org",
    )  # fmt: skip
    train, test = EnvSpec.from_json(meta["env_spec"]), EnvSpec.from_json(meta["eval_env_spec"])
    assert train.id == "rlgen/procgen-maze-v0" and train.kwargs == {"game": "maze", "mode": "easy", "start_level": 0, "num_levels": 4, "channels_first": True}
    assert (test.kwargs["start_level"], test.kwargs["num_levels"]) == (m.levels.test.start, m.levels.test.count)
    assert EnvSpec.from_json(meta["rlgen_validation_env_spec"]).kwargs["start_level"] == m.levels.validation.start
    env = gymnasium.make(test)
    try:
        obs, info = env.reset(seed=0)
        assert list(obs.shape) == json.loads(meta["observation_space"])["shape"] and info["level_seed"] in m.levels.test
    finally:
        env.close()
    assert meta["author"] == ["A. Researcher"] and meta["author_email"] == ["a@example.org"]
    assert meta["description"].startswith("15 transitions in 3 episodes of Procgen maze (easy mode)") and "[2000000, 2000200)" in meta["description"]
    assert m.provenance["git_revision"].removesuffix("-dirty") in meta["code_permalink"]
    assert (meta["ref_min_score"], meta["ref_max_score"]) == COBBE_RETURN_RANGES["maze"]["easy"]
    assert meta["rlgen_reference_scores"]["behaviour"]["mean_return"] == pytest.approx(20 / 3)
    assert f"rlgen=={m.provenance['packages']['rlgen']}" in meta["requirements"]
    # another world: no Procgen env spec, no Cobbe constants, the rest as before
    other = dataclasses.replace(m, env={"kind": "stitch_maze", "options": {}, "num_actions": 5})
    meta = minari_metadata(other, "0" * 64, dataset_id="rlgen/x-v0", total_episodes=3, total_steps=15, frame_shape=(1682,), dataset_size=0.1)
    assert "env_spec" not in meta and "ref_min_score" not in meta and meta["author"] == ["rlgen contributors"]
    assert json.loads(meta["observation_space"])["shape"] == [1682] and json.loads(meta["action_space"])["n"] == 5


def test_import_paper_cli(paper_dir, tmp_path, capsys):
    folder, _ = paper_dir
    assert main(["datasets", "import-paper", str(folder), "paper-cli", "--game", "maze"]) == 0
    assert "imported 3 episodes, 15 transitions" in capsys.readouterr().out
    assert main(["datasets", "verify", "paper-cli"]) == 0


@pytest.mark.parametrize(
    "change, message",
    [
        ({"_name": "episode-3.npz"}, "not a paper episode file name"),
        ({"_name": "20240101T000000_9_5_-1_10.00.npz"}, "level seed -1"),
        ({"_name": "20240101T000000_9_5_3_7.00.npz"}, "says return 7.00"),
        ({"observations": np.full((6, 3, 64, 64), 300.0, np.float32)}, r"span \[300, 300\]"),
        ({"observations": np.full((6, 3, 64, 64), -1.0, np.float32)}, "span"),
        ({"observations": np.full((6, 3, 64, 64), 12.5, np.float32)}, "not 8-bit levels"),
        ({"observations": np.full((6, 3, 64, 64), 0.3, np.float32)}, "0-1 scale are not 8-bit"),
        ({"observations": np.full((6, 3, 64, 64), np.nan, np.float32)}, "NaN"),
        ({"observations": np.zeros((6, 64, 64, 3), np.float32)}, "expected \\(6, 3, 64, 64\\)"),
        ({"actions": np.full((5, 1), 20)}, "actions must be integers in \\[0, 15\\)"),
        ({"dones": np.array([0, 1, 0, 0, 1], bool)}, "before the last step"),
        ({"observations": np.array([{"a": 1}] * 6, dtype=object)}, "without pickle"),
    ],
)
def test_import_paper_refuses_bad_files_naming_them(tmp_path, change, message):
    rng = np.random.default_rng(1)
    folder = tmp_path / "bad"
    _write_paper(folder, 0, _episode(rng, 5, 3))  # a good file beside the bad one
    bad = _write_paper(folder, 1, _episode(rng, 5, 3), **change)
    with pytest.raises(DatasetError, match=message) as info:
        import_paper_dataset(folder, "bad-import", game="maze")
    assert bad.name in str(info.value)
    data = tmp_path / "data"
    assert not data.exists() or not any(data.iterdir())  # nothing half-built left behind


def test_minari_round_trip_is_byte_identical(paper_dir, tmp_path, capsys):
    folder, episodes = paper_dir
    source = import_paper_dataset(folder, "paper-maze-mix0.5-v1", game="maze")
    out = tmp_path / "minari"
    assert main(["datasets", "export-minari", source.name, "--out", str(out)]) == 0
    data = out / "rlgen" / "paper-maze-mix0p5-v1" / "data"  # Minari ids allow no dots
    assert str(data) in capsys.readouterr().out and minari_dataset_id(source.name) == "rlgen/paper-maze-mix0p5-v1"
    meta = json.loads((data / "metadata.json").read_text())
    assert meta["data_format"] == "hdf5" and meta["total_episodes"] == 3 and meta["total_steps"] == 15
    assert json.loads(meta["observation_space"])["shape"] == [3, 64, 64] and json.loads(meta["action_space"])["n"] == 15
    import h5py

    with h5py.File(data / "main_data.hdf5") as f:
        first = f["episode_0"]
        assert first["observations"].shape == (6, 3, 64, 64) and first["observations"].dtype == np.uint8
        assert first["terminations"][()].tolist() == [False] * 4 + [True] and first.attrs["level_seed"] == 3
    with pytest.raises(DatasetError, match="already exists"):
        export_minari(source.name, out)

    back = import_minari(data, data_dir=tmp_path / "back")
    assert back.name == source.name and back.sha256 == source.sha256  # the very same manifest bytes
    assert (back.root / CARD_NAME).read_bytes() == (source.root / CARD_NAME).read_bytes()  # and the same card
    for a, b in zip(source.manifest.shards, back.manifest.shards):
        shard = hashlib.sha256((back.root / "shards" / b.name).read_bytes()).hexdigest()
        assert a == b and shard == a.sha256
    _assert_same_episodes(list(back.episodes()), episodes)
    assert main(["datasets", "import-minari", str(data.parent), "renamed", "--data-dir", str(tmp_path / "back")]) == 0
    assert load_dataset("renamed", tmp_path / "back").manifest.shards == source.manifest.shards


def test_minari_export_needs_a_place(paper_dir, monkeypatch):
    folder, _ = paper_dir
    import_paper_dataset(folder, "p", game="maze")
    monkeypatch.delenv("MINARI_DATASETS_PATH", raising=False)
    with pytest.raises(DatasetError, match="MINARI_DATASETS_PATH"):
        export_minari("p")


def _foreign_minari(folder, episodes, jpeg=False, vlen=False):
    """A Minari HDF5 dataset as another tool writes it: no rlgen manifest, no level seeds."""
    import io

    import h5py
    from PIL import Image

    data = folder / "data"
    data.mkdir(parents=True)
    shape = [64, 64, 3] if jpeg else [3, 64, 64]
    with h5py.File(data / "main_data.hdf5", "w") as f:
        for i, ep in enumerate(episodes):
            g = f.create_group(f"episode_{i}")
            if jpeg:
                codes = []
                for frame in ep["frames"]:
                    buf = io.BytesIO()
                    Image.fromarray(frame).save(buf, format="JPEG")
                    codes.append(np.frombuffer(buf.getvalue(), np.uint8))
                if len({len(c) for c in codes}) == 1 and not vlen:  # as minari stores them: one row of bytes per frame
                    g.create_dataset("observations", data=np.stack(codes))
                else:
                    vlen = g.create_dataset("observations", (len(codes),), dtype=h5py.vlen_dtype(np.uint8))
                    for k, c in enumerate(codes):
                        vlen[k] = c
            else:
                g.create_dataset("observations", data=ep["frames"].transpose(0, 3, 1, 2))
            t = len(ep["actions"])
            g.create_dataset("actions", data=ep["actions"])
            g.create_dataset("rewards", data=ep["rewards"].astype(np.float64))
            g.create_dataset("terminations", data=np.arange(t) == t - 1)
            g.create_dataset("truncations", data=np.zeros(t, bool))
    box = {"type": "Box", "dtype": "uint8", "shape": shape, "low": 0, "high": 255}
    meta = {
        "dataset_id": "other/thing-v0", "total_episodes": len(episodes), "total_steps": 0, "data_format": "hdf5",
        "observation_space": json.dumps(box), "action_space": json.dumps({"type": "Discrete", "dtype": "int64", "start": 0, "n": 15}),
        "minari_version": "0.5.3",
    }  # fmt: skip
    (data / "metadata.json").write_text(json.dumps(meta))
    return data


@pytest.mark.parametrize("storage", ["raw", "jpeg", "jpeg-vlen"])
def test_import_foreign_minari(tmp_path, storage):
    jpeg = storage != "raw"
    rng = np.random.default_rng(2)
    episodes = [_episode(rng, 4, 0), _episode(rng, 2, 0)]
    if jpeg:  # JPEG is lossy: flat colours survive it exactly
        for ep in episodes:
            ep["frames"][:] = np.array([40, 120, 200], np.uint8)
    data = _foreign_minari(tmp_path / "other", episodes, jpeg=jpeg, vlen=storage == "jpeg-vlen")
    with pytest.raises(DatasetError, match="not exported by rlgen"):
        import_minari(data)
    ds = import_minari(data, "from-minari", game="coinrun")
    got = list(ds.episodes())
    if jpeg:
        assert all(np.abs(g.observations.astype(int) - e["frames"][:-1]).max() <= 2 for g, e in zip(got, episodes))
        for g, e in zip(got, episodes):
            e["frames"] = np.concatenate([g.observations, g.observations[-1:]])
    _assert_same_episodes(got, episodes)
    assert ds.manifest.game == "coinrun" and ds.manifest.config["source"] == "minari"


def test_real_minari_reads_the_export(paper_dir, tmp_path):
    """Cross-check with the minari package where it is installed (not in rlgen's environment: see interop)."""
    minari = pytest.importorskip("minari")
    folder, episodes = paper_dir
    import_paper_dataset(folder, "paper-maze-v1", game="maze")
    data = export_minari("paper-maze-v1", tmp_path / "minari")
    ds = minari.MinariDataset(data)
    assert ds.total_episodes == 3 and ds.total_steps == 15
    for got, e in zip(ds.iterate_episodes(), episodes):
        assert np.array_equal(got.observations[:-1], e["frames"][:-1].transpose(0, 3, 1, 2))
        assert np.array_equal(got.actions, e["actions"]) and got.terminations[-1]
    assert ds.storage.metadata["author"] == {"rlgen contributors"}
    assert float(minari.get_normalized_score(ds, np.array([10.0]))[0]) == 1.0  # Cobbe's maze maximum
    env = ds.recover_environment(eval_env=True)  # the test levels, frames as the dataset's
    try:
        assert env.spec.kwargs["start_level"] == 2_000_000 and env.observation_space == ds.observation_space
    finally:
        env.close()
