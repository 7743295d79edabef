"""Conservative Q-learning for discrete actions (d3rlpy `DiscreteCQL`) with the IMPALA encoder.

Double DQN plus the conservative penalty alpha * E_s[logsumexp_a Q(s, a) - Q(s, a_data)]
(Kumar et al., 2020, "Conservative Q-Learning for Offline Reinforcement Learning"). Defaults are
the generalization-gap paper's: alpha 4.0, a hard target-network copy every 1000 steps.
"""

from __future__ import annotations

import dataclasses

from d3rlpy.algos import DiscreteCQLConfig
from d3rlpy.preprocessing import PixelObservationScaler

from rlgen.learn.base import LearnerConfig, register_q_learner

__all__ = ["CQLConfig"]


@dataclasses.dataclass(frozen=True)
class CQLConfig(LearnerConfig):
    """Discrete CQL (see `LearnerConfig` for the shared fields)."""

    alpha: float = 4.0
    """Weight of the conservative penalty (the paper: 4.0)."""
    target_update_interval: int = 1000
    """Gradient steps between hard copies into the target Q-network (the paper: 1000)."""
    gamma: float = 0.99
    """Discount factor."""
    n_critics: int = 1
    """Q-networks in the ensemble."""

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.alpha < 0:
            raise ValueError(f"alpha must be non-negative, got {self.alpha}")
        if self.target_update_interval < 1:
            raise ValueError(f"target_update_interval must be at least 1, got {self.target_update_interval}")
        if not 0.0 <= self.gamma <= 1.0:
            raise ValueError(f"gamma must lie in [0, 1], got {self.gamma}")
        if self.n_critics < 1:
            raise ValueError(f"n_critics must be at least 1, got {self.n_critics}")

    def to_d3rlpy(self) -> DiscreteCQLConfig:
        return DiscreteCQLConfig(
            batch_size=self.batch_size,
            learning_rate=self.learning_rate,
            gamma=self.gamma,
            n_critics=self.n_critics,
            target_update_interval=self.target_update_interval,
            alpha=self.alpha,
            optim_factory=self.optimizer_factory(),
            encoder_factory=self.encoder_factory(),
            observation_scaler=PixelObservationScaler(),
        )


register_q_learner("cql", CQLConfig)
