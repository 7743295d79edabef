"""Behaviour cloning for discrete actions (d3rlpy `DiscreteBC`) with the IMPALA encoder.

Cross-entropy between the dataset's actions and a categorical policy pi(a|s). The
generalization-gap paper (Mediratta et al., ICLR 2024) found BC the strongest offline method on
unseen Procgen levels when the data covers many levels.
"""

from __future__ import annotations

import dataclasses

from d3rlpy.algos import DiscreteBCConfig
from d3rlpy.preprocessing import PixelObservationScaler

from rlgen.learn.base import LearnerConfig, register_q_learner

__all__ = ["BCConfig"]


@dataclasses.dataclass(frozen=True)
class BCConfig(LearnerConfig):
    """Discrete behaviour cloning (see `LearnerConfig` for the shared fields)."""

    beta: float = 0.0
    """Weight of d3rlpy's logit penalty `beta * mean(logits**2)`. 0 = plain cross-entropy, as the
    paper's BC; d3rlpy's own default is 0.5."""

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.beta < 0:
            raise ValueError(f"beta must be non-negative, got {self.beta}")

    def to_d3rlpy(self) -> DiscreteBCConfig:
        return DiscreteBCConfig(
            batch_size=self.batch_size,
            learning_rate=self.learning_rate,
            beta=self.beta,
            optim_factory=self.optimizer_factory(),
            encoder_factory=self.encoder_factory(),
            observation_scaler=PixelObservationScaler(),
        )


register_q_learner("bc", BCConfig)
