"""What a PPO run depends on (`PPOSettings`), with the generalization-gap paper's values as defaults.

The paper's expert (../shared/reference/generalization-gap.md) is PPO trained 25M steps on levels
[0, 200) in easy mode, 64 envs x 256 steps, 3 epochs, 8 minibatches, lr 5e-4, gamma 0.999,
lambda 0.95, clip 0.2, entropy 0.01, on an IMPALA ResNet. A module of its own because training
(`ppo_train`), the checkpoints that record the settings (`ppo_checkpoints`) and the policy that
rebuilds the network from them (`ppo_policy`) all read it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from rlgen.core.games import GAMES, MODES
from rlgen.core.typed import ConfigError, apply_overrides, from_dict, to_dict

__all__ = ["PPOSettings"]


@dataclass(frozen=True)
class PPOSettings:
    """Everything a PPO run depends on; defaults are the generalization-gap paper's.

    Batch per iteration = `num_envs` x `rollout_length` env steps (64 x 256 = 16,384), split into
    `minibatches` minibatches for each of `epochs` passes.
    """

    game: str = "bigfish"
    mode: str = "easy"
    train_levels: int = 200
    """Training levels [0, N)."""
    total_env_steps: int = 25_000_000
    num_envs: int = 64
    """Parallel environments in all (split evenly over the env runners)."""
    rollout_length: int = 256
    epochs: int = 3
    minibatches: int = 8
    lr: float = 5e-4
    gamma: float = 0.999
    lam: float = 0.95
    clip: float = 0.2
    entropy: float = 0.01
    vf_coef: float = 0.5
    vf_clip: float = 1e4
    """RLlib clips the squared value error at this (not the paper's clipping by the old value)."""
    grad_clip: float = 0.5
    channels: tuple[int, ...] = (16, 32, 32)
    feature_size: int = 256
    num_env_runners: int = 1
    """Ray actors stepping environments (CPU); 0 samples in the driver process."""
    num_learners: int = 0
    """0: the learner runs in the driver (on `device`); >= 1: remote learner actors (a cluster)."""
    checkpoint_every: int = 10
    """Iterations between checkpoints (the last iteration always writes one)."""
    eval_levels: int = 20
    """Training levels and validation levels played at each checkpoint (the first ones of each)."""
    eval_episodes_per_level: int = 1
    eval_envs: int = 8
    seed: int = 0

    def __post_init__(self) -> None:
        if self.game not in GAMES:
            raise ConfigError(f"unknown Procgen game {self.game!r}; valid games: {', '.join(GAMES)}")
        if self.mode not in MODES:
            raise ConfigError(f"unknown mode {self.mode!r}; valid: {', '.join(MODES)}")
        object.__setattr__(self, "channels", tuple(int(c) for c in self.channels))
        for name in ("train_levels", "total_env_steps", "num_envs", "rollout_length", "epochs", "minibatches",
                     "checkpoint_every", "eval_levels", "eval_episodes_per_level", "eval_envs", "feature_size"):  # fmt: skip
            if int(getattr(self, name)) < 1:
                raise ConfigError(f"ppo {name} must be at least 1, got {getattr(self, name)}")
        if self.num_env_runners < 0 or self.num_learners < 0:
            raise ConfigError("ppo num_env_runners and num_learners must be non-negative")
        runners = max(self.num_env_runners, 1)
        if self.num_envs % runners:
            raise ConfigError(f"ppo num_envs ({self.num_envs}) must be a multiple of num_env_runners ({self.num_env_runners})")
        if self.batch_size % self.minibatches:
            raise ConfigError(f"ppo batch ({self.batch_size} = num_envs x rollout_length) must split into {self.minibatches} minibatches")
        if not 0 < self.gamma <= 1 or not 0 <= self.lam <= 1:
            raise ConfigError("ppo gamma must lie in (0, 1] and lam in [0, 1]")

    @property
    def batch_size(self) -> int:
        return self.num_envs * self.rollout_length

    @property
    def minibatch_size(self) -> int:
        return self.batch_size // self.minibatches

    def to_dict(self) -> dict:
        return to_dict(self)

    @classmethod
    def from_dict(cls, data: dict) -> PPOSettings:
        """The settings a run or checkpoint recorded (`to_dict`); unknown keys and wrong types are errors."""
        return from_dict(cls, data, "ppo")

    def with_overrides(self, overrides: Sequence[str]) -> PPOSettings:
        """`KEY=VALUE` strings, as `--set` gives them (`rlgen.core.typed.apply_overrides`)."""
        return self.from_dict(apply_overrides(self.to_dict(), overrides))
