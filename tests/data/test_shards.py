import numpy as np
import pytest

from rlgen.data.errors import DatasetError
from rlgen.data.shards import CHUNK_FRAMES, EpisodeData, ShardContents, ShardReader, file_sha256, read_shard, write_shard


def make_episodes(rng, lengths=(5, 130, 70)):
    episodes = []
    for i, n in enumerate(lengths):
        episodes.append(
            EpisodeData(
                observations=rng.integers(0, 256, (n, 64, 64, 3), dtype=np.uint8),
                actions=rng.integers(0, 15, n).astype(np.uint8),
                rewards=rng.random(n).astype(np.float32),
                level_seed=10 + i,
                terminated=i != 1,
                truncated=i == 1,
                level_complete=i == 0,
            )
        )
    return episodes


def test_round_trip_keeps_every_array(tmp_path):
    contents = ShardContents.from_episodes(make_episodes(np.random.default_rng(0)))
    write_shard(tmp_path / "s.npz", contents)
    back = read_shard(tmp_path / "s.npz")
    assert back.observations.dtype == np.uint8
    for name in ("observations", "actions", "rewards", "episode_starts", "level_seeds", "terminated", "truncated", "level_complete", "partial"):
        np.testing.assert_array_equal(getattr(back, name), getattr(contents, name), err_msg=name)
    assert list(back.episode_lengths) == [5, 130, 70]


def test_same_episodes_give_byte_identical_files(tmp_path):
    contents = ShardContents.from_episodes(make_episodes(np.random.default_rng(1)))
    h1 = write_shard(tmp_path / "a.npz", contents)
    h2 = write_shard(tmp_path / "b.npz", contents)
    assert h1 == h2 == file_sha256(tmp_path / "a.npz")
    assert (tmp_path / "a.npz").read_bytes() == (tmp_path / "b.npz").read_bytes()


def test_random_access_decodes_only_what_it_needs(tmp_path):
    contents = ShardContents.from_episodes(make_episodes(np.random.default_rng(2)))
    write_shard(tmp_path / "s.npz", contents)
    reader = ShardReader(tmp_path / "s.npz")
    idx = np.array([0, CHUNK_FRAMES - 1, CHUNK_FRAMES, 204, 3])
    np.testing.assert_array_equal(reader.frames(idx), contents.observations[idx])


def test_shard_is_a_plain_npz_without_pickles(tmp_path):
    write_shard(tmp_path / "s.npz", ShardContents.from_episodes(make_episodes(np.random.default_rng(3))))
    with np.load(tmp_path / "s.npz", allow_pickle=False) as npz:
        assert npz["frames_zstd"].dtype == np.uint8
        assert all(npz[name].dtype != object for name in npz.files)


def test_compression_beats_raw_frames_on_repetitive_data(tmp_path):
    frame = np.random.default_rng(4).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    ep = EpisodeData(np.repeat(frame[None], 200, 0), np.zeros(200, np.uint8), np.zeros(200, np.float32), 0, True, False, False)
    write_shard(tmp_path / "s.npz", ShardContents.from_episodes([ep]))
    assert (tmp_path / "s.npz").stat().st_size < 200 * 64 * 64 * 3 / 20


def test_no_temporary_file_is_left_behind(tmp_path):
    write_shard(tmp_path / "s.npz", ShardContents.from_episodes(make_episodes(np.random.default_rng(5))))
    assert [p.name for p in tmp_path.iterdir()] == ["s.npz"]


def test_truncated_file_gives_error_naming_it(tmp_path):
    path = tmp_path / "s.npz"
    write_shard(path, ShardContents.from_episodes(make_episodes(np.random.default_rng(6))))
    path.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(DatasetError, match="s.npz"):
        read_shard(path)


def test_episode_must_end_one_way():
    ep = make_episodes(np.random.default_rng(7), (3,))[0]
    bad = EpisodeData(ep.observations, ep.actions, ep.rewards, 0, terminated=True, truncated=True, level_complete=False)
    with pytest.raises(ValueError, match="exactly one way"):
        ShardContents.from_episodes([bad])


def test_step_extras_round_trip_and_are_checked(tmp_path):
    """Per-step arrays an environment adds (waypoint keys) travel with their frames."""
    rng = np.random.default_rng(0)
    episodes = [
        EpisodeData(
            rng.integers(0, 255, (t, 8, 8, 3), dtype=np.uint8), np.zeros(t, np.uint8), np.ones(t, np.float32),
            level_seed=t, terminated=True, truncated=False, level_complete=True,
            extras={"waypoint": np.arange(3 * t, dtype=np.int64).reshape(t, 3)},
        )  # fmt: skip
        for t in (5, 70, 3)
    ]
    write_shard(tmp_path / "s.npz", ShardContents.from_episodes(episodes))
    back = list(read_shard(tmp_path / "s.npz").episodes())
    for ep, again in zip(episodes, back):
        np.testing.assert_array_equal(ep.extras["waypoint"], again.extras["waypoint"])
        np.testing.assert_array_equal(ep.observations, again.observations)
    with np.load(tmp_path / "s.npz", allow_pickle=False) as npz:
        assert "step_waypoint" in npz.files
    wrong = EpisodeData(*[getattr(episodes[0], f) for f in ("observations", "actions", "rewards")], 0, True, False, False, extras={"waypoint": np.zeros((2, 3))})
    with pytest.raises(ValueError, match="one row per step"):
        ShardContents.from_episodes([wrong])
    with pytest.raises(ValueError, match="same extras"):
        ShardContents.from_episodes([episodes[0], EpisodeData(*[getattr(episodes[1], f) for f in ("observations", "actions", "rewards")], 0, True, False, False)])
