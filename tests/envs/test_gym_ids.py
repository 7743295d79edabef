"""The gymnasium ids rlgen registers: Procgen with level ranges (make and make_vec), and the
stitching and WebShop ids, in a fresh interpreter as a user meets them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import gymnasium
import numpy as np
import pytest

import rlgen  # noqa: F401  (registers the ids, as a user's `import rlgen` does)
from rlgen_envs import PROCGEN_GAMES, ProcgenVecEnv

ROOT = Path(__file__).resolve().parents[2]


def test_every_game_has_an_id_and_the_generic_id_takes_the_game():
    assert {f"rlgen/procgen-{game}-v0" for game in PROCGEN_GAMES} <= set(gymnasium.registry)
    env = gymnasium.make("rlgen/procgen-v0", game="coinrun", mode="hard", start_level=7, num_levels=1)
    _, info = env.reset(seed=0)
    assert info["level_seed"] == 7 and env.spec.kwargs["mode"] == "hard"


def test_single_env_plays_only_its_levels_and_reset_keeps_the_next_episode():
    env = gymnasium.make("rlgen/procgen-maze-v0", start_level=100, num_levels=3)
    obs, info = env.reset(seed=1)
    assert obs.shape == (64, 64, 3) and obs.dtype == np.uint8 and info["level_seed"] in range(100, 103)
    ends = 0
    while ends < 2:
        obs, _, terminated, truncated, info = env.step(env.action_space.sample())
        assert info["level_seed"] in range(100, 103)
        if terminated or truncated:
            ends += 1
            assert info["episode_level_seed"] in range(100, 103)
            first, after = env.reset()
            # Procgen already began the next episode: reset hands out its first frame, no level skipped
            assert np.array_equal(first, obs) and after["level_seed"] == info["level_seed"]


def test_channels_first_matches_the_d3rlpy_buffer_layout():
    env = gymnasium.make("rlgen/procgen-maze-v0", start_level=0, num_levels=1, channels_first=True)
    obs, _ = env.reset(seed=0)
    assert obs.shape == (3, 64, 64) and env.observation_space.shape == (3, 64, 64)
    plain = gymnasium.make("rlgen/procgen-maze-v0", start_level=0, num_levels=1)
    frame, _ = plain.reset(seed=0)
    assert np.array_equal(obs, frame.transpose(2, 0, 1))


def test_make_vec_gives_the_native_vector_env_on_the_levels_asked():
    envs = gymnasium.make_vec("rlgen/procgen-maze-v0", num_envs=4, start_level=5, num_levels=2)
    assert isinstance(envs, ProcgenVecEnv) and envs.num_envs == 4
    obs, info = envs.reset(seed=0)
    assert obs.shape == (4, 64, 64, 3) and set(info["level_seed"]) <= {5, 6}
    envs.close()


@pytest.mark.parametrize(
    "code",
    [
        # after `import rlgen`, the plain ids
        "import gymnasium, rlgen; env = gymnasium.make('rlgen/procgen-maze-v0', start_level=2_000_000, num_levels=200); "
        "assert env.reset(seed=0)[1]['level_seed'] >= 2_000_000",
        # without any import: the module named in the id (gymnasium 1.0 loads no entry-point plugins)
        "import gymnasium; env = gymnasium.make('rlgen_envs:rlgen/StitchMaze-v0'); env.reset(seed=0)",
        "import gymnasium; env = gymnasium.make('rlgen_envs:rlgen/WebShop-v0'); env.reset(seed=0)",
        "import gymnasium; envs = gymnasium.make_vec('rlgen_envs:rlgen/procgen-maze-v0', num_envs=2); envs.reset(seed=0)",
    ],
)
def test_ids_work_in_a_new_interpreter(code):
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-2000:]
