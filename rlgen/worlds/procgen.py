"""Procgen as a world: a game and difficulty, 15 actions, Cobbe-normalized returns.

The world the pipeline always had. Its behaviour policies (`random`, the planners, `ppo`) are
registered in `rlgen.policies.registry` and checked against the game; its manifests record
exactly `{game, mode}` (no kind), as before there were other worlds, so old datasets stay valid.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from rlgen.core.config import ConfigError, ExperimentConfig
from rlgen.core.games import NUM_ACTIONS, normalize_returns
from rlgen.core.levels import LevelSet
from rlgen.policies.ppo_checkpoints import select_checkpoint
from rlgen.worlds.base import EpisodeJob, WorldBase
from rlgen.worlds.registry import register_world

__all__ = ["ProcgenWorld"]


class ProcgenWorld(WorldBase):
    """A Procgen game and difficulty, 15 actions, Cobbe-normalized returns."""

    kind = "procgen"
    num_actions = NUM_ACTIONS

    def __init__(self, game: str, mode: str) -> None:
        self.game, self.mode = game, mode

    @classmethod
    def from_env(cls, env: dict[str, Any], behaviour_options: dict | None = None) -> ProcgenWorld:
        return cls(env["game"], env["mode"])

    @property
    def behaviour_game(self) -> str:
        """The name `rlgen.policies.registry` checks a behaviour policy against: the game."""
        return self.game

    @property
    def manifest_env(self) -> dict:
        return {"game": self.game, "mode": self.mode}

    def training_env(self, levels: LevelSet, num_envs: int):
        from rlgen_envs import ProcgenVecEnv  # deferred: loads the Procgen C++ library

        return ProcgenVecEnv(self.game, num_envs=num_envs, start_level=levels.start, num_levels=levels.count, mode=self.mode)

    def pinned_env(self, jobs: Sequence[EpisodeJob], seeds: Sequence[int]):
        from rlgen_envs import ProcgenVecEnv  # deferred: loads the Procgen C++ library

        return ProcgenVecEnv.pinned(self.game, [j.level for j in jobs], self.mode, seeds=list(seeds))

    def task_columns(self, job: EpisodeJob) -> dict:
        """None: records carry the config's game and mode, which the report normalizes."""
        return {}

    def score(self, returns: np.ndarray | float) -> np.ndarray:
        return normalize_returns(returns, self.game, self.mode)

    reference_names: tuple[str, ...] = ("ppo",)
    """World references: `ppo`, the online PPO policy (the paper's comparison), trained on the
    experiment's training levels by `rlgen policy train-ppo`; `evaluate.ppo_checkpoint` names it."""

    def check_reference(self, name: str, config: ExperimentConfig) -> None:
        """Before any work: the reference's checkpoint exists and plays this game."""
        self._ppo_selection(name, config)

    def _ppo_selection(self, name: str, config: ExperimentConfig):
        """The final checkpoint of `evaluate.ppo_checkpoint`'s run, refused unless it plays this game."""
        if name != "ppo":
            raise ConfigError(f"evaluate.references: unknown Procgen reference {name!r}; valid: {', '.join(self.reference_names)}")
        selection = select_checkpoint(config.evaluate.ppo_checkpoint)
        played = selection.checkpoint.settings
        if (played.game, played.mode) != (self.game, self.mode):
            raise ConfigError(
                f"evaluate.ppo_checkpoint {config.evaluate.ppo_checkpoint}: trained on {played.game} ({played.mode}), "
                f"not {self.game} ({self.mode})"
            )
        return selection

    def reference_policy(self, name: str, config: ExperimentConfig, seed: int):
        """The online PPO reference: the final checkpoint of `evaluate.ppo_checkpoint`'s run on
        `config.device`, sampling its actions as PPO was trained and as the paper evaluated it
        (`evaluate.greedy` is for the offline learners)."""
        from rlgen.policies.ppo_policy import PPOPolicy  # deferred: torch

        selection = self._ppo_selection(name, config)
        return PPOPolicy(selection.checkpoint.path, seed=seed, greedy=False, device=config.device, stats=selection.stats())


register_world("procgen", ProcgenWorld)
