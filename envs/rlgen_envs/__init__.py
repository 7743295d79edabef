"""Standalone gymnasium environments of the rlgen benchmark.

Nothing here imports the rlgen pipeline: anyone can use these environments with their own
collection code or learners. Source lives in the repository's `envs/` folder; the import name
is `rlgen_envs` (the name `envs` is taken on the package index).
"""

import gymnasium

from rlgen_envs.procgen import PROCGEN_GAMES, ProcgenVecEnv, episode_step_limit
from rlgen_envs.procgen_env import ProcgenEnv, register_procgen_ids
from rlgen_envs.stitch_maze import StitchMazeEnv
from rlgen_envs.stitch_vec import StitchMazeVecEnv, StitchTask

# The ids exist once this package is imported (`import rlgen` imports it): gymnasium 1.0 loads no
# entry-point plugins. Without an import, name the module in the id: "rlgen_envs:rlgen/WebShop-v0".
gymnasium.register("rlgen/StitchMaze-v0", entry_point="rlgen_envs.stitch_maze:StitchMazeEnv")
gymnasium.register("rlgen/WebShop-v0", entry_point="rlgen_envs.webshop.env:WebShopEnv")
register_procgen_ids()


def __getattr__(name: str):
    """`WebShopEnv` on first use: its search and fuzzy-matching libraries take about 0.2 s to
    import, which every Procgen collection and evaluation actor would otherwise pay."""
    if name == "WebShopEnv":
        from rlgen_envs.webshop import WebShopEnv

        return WebShopEnv
    raise AttributeError(f"module 'rlgen_envs' has no attribute {name!r}")


__all__ = [
    "PROCGEN_GAMES", "ProcgenEnv", "ProcgenVecEnv", "StitchMazeEnv", "StitchMazeVecEnv", "StitchTask", "WebShopEnv",
    "episode_step_limit",
]
