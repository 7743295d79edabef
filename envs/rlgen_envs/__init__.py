"""Standalone gymnasium environments of the rlgen benchmark.

Nothing here imports the rlgen pipeline: anyone can use these environments with their own
collection code or learners. Source lives in the repository's `envs/` folder; the import name
is `rlgen_envs` (the name `envs` is taken on the package index).
"""

import gymnasium

from rlgen_envs.procgen import PROCGEN_GAMES, ProcgenVecEnv, episode_step_limit
from rlgen_envs.stitch_maze import StitchMazeEnv
from rlgen_envs.stitch_vec import StitchMazeVecEnv, StitchTask
from rlgen_envs.webshop import WebShopEnv

gymnasium.register("rlgen/StitchMaze-v0", entry_point="rlgen_envs.stitch_maze:StitchMazeEnv")
gymnasium.register("rlgen/WebShop-v0", entry_point="rlgen_envs.webshop.env:WebShopEnv")

__all__ = [
    "PROCGEN_GAMES", "ProcgenVecEnv", "StitchMazeEnv", "StitchMazeVecEnv", "StitchTask", "WebShopEnv",
    "episode_step_limit",
]
