"""The Procgen adapter on the real game: auto-reset bookkeeping, level pinning, timeouts."""

import numpy as np
import pytest

from rlgen_envs import PROCGEN_GAMES, ProcgenVecEnv, episode_step_limit


def test_episode_boundaries_are_reported_not_spliced():
    env = ProcgenVecEnv("maze", num_envs=8, start_level=0, num_levels=5, seed=0)
    obs, info = env.reset()
    assert obs.shape == (8, 64, 64, 3) and obs.dtype == np.uint8
    current = info["level_seed"].copy()
    lengths = np.zeros(8, dtype=int)
    rng = np.random.default_rng(0)
    ended = 0
    for _ in range(1500):
        obs, rew, term, trunc, info = env.step(rng.integers(0, 15, 8))
        lengths += 1
        assert not (term & trunc).any()
        done = term | trunc
        for i in np.flatnonzero(done):
            ended += 1
            # the finished episode is the one that started on this slot's level...
            assert info["episode_level_seed"][i] == current[i]
            assert info["episode_length"][i] == lengths[i]
            # ...and a success is a termination with Procgen's reward
            if info["level_complete"][i]:
                assert term[i] and rew[i] == 10.0
            if trunc[i]:
                assert lengths[i] == episode_step_limit("maze")
        current[done] = info["level_seed"][done]
        lengths[done] = 0
        assert ((0 <= info["level_seed"]) & (info["level_seed"] < 5)).all()
    assert ended > 5


def test_timeout_is_truncation():
    # A no-op policy never solves maze: every episode must end as a timeout at 500 steps.
    env = ProcgenVecEnv("maze", num_envs=2, start_level=0, num_levels=3, seed=1)
    env.reset()
    for step in range(1, 501):
        _, _, term, trunc, info = env.step(np.full(2, 4))
        if step < 500:
            assert not (term | trunc).any()
    assert trunc.all() and not term.any() and not info["level_complete"].any()


def test_pinned_slots_replay_their_levels_and_repin_moves_one():
    env = ProcgenVecEnv.pinned("coinrun", [3, 3, 9], seeds=[0, 1, 2])
    obs, info = env.reset()
    assert list(info["level_seed"]) == [3, 3, 9]
    np.testing.assert_array_equal(obs[0], obs[1])  # same level, same first frame
    first = env.repin(2, 3, seed=5)
    np.testing.assert_array_equal(first, obs[0])


def test_same_seed_same_frames():
    a, b = (ProcgenVecEnv("bigfish", 4, 0, 10, seed=7) for _ in range(2))
    oa, _ = a.reset()
    ob, _ = b.reset()
    actions = np.random.default_rng(0).integers(0, 15, (50, 4))
    for act in actions:
        oa, *_ = a.step(act)
        ob, *_ = b.step(act)
    np.testing.assert_array_equal(oa, ob)


def test_unknown_game_lists_games():
    with pytest.raises(ValueError, match="coinrun"):
        ProcgenVecEnv("pacman")
    assert len(PROCGEN_GAMES) == 16


@pytest.mark.parametrize("mode", ["easy", "hard"])
def test_all_games_step(mode):
    for game in PROCGEN_GAMES:
        env = ProcgenVecEnv(game, num_envs=2, start_level=0, num_levels=2, mode=mode)
        obs, _ = env.reset()
        obs, rew, term, trunc, info = env.step(np.zeros(2, dtype=int))
        assert obs.shape == (2, 64, 64, 3) and rew.dtype == np.float32
