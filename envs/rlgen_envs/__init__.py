"""Standalone gymnasium environments of the rlgen benchmark.

Nothing here imports the rlgen pipeline: anyone can use these environments with their own
collection code or learners. Source lives in the repository's `envs/` folder; the import name
is `rlgen_envs` (the name `envs` is taken on the package index).
"""

from rlgen_envs.procgen import PROCGEN_GAMES, ProcgenVecEnv, episode_step_limit

__all__ = ["PROCGEN_GAMES", "ProcgenVecEnv", "episode_step_limit"]
