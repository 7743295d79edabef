"""Decision transformer for discrete actions (d3rlpy `DiscreteDecisionTransformer`), IMPALA encoder.

Chen et al., 2021, "Decision Transformer: Reinforcement Learning via Sequence Modeling": a
GPT over (return-to-go, frame, action) tokens predicts each action. Unlike the generalization-gap
paper's public code, whose "DT" never conditioned on return, rlgen's is always conditioned on a
target return: the configured one, or else the largest episode return in the training buffer.
The value used is recorded in `learner.json` and on the returned `TrainedLearner`.

The frame embedding is the IMPALA encoder's output, so `feature_size` is also the transformer's
width (the paper's GPT: width 128, 6 layers, 8 heads, context 10-30).
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Any

from d3rlpy.algos import DiscreteDecisionTransformerConfig
from d3rlpy.preprocessing import PixelObservationScaler

from rlgen.learn.base import LearnerConfig, episode_summary, load_algo, train_d3rlpy
from rlgen.learn.policy import DecisionTransformerPolicy
from rlgen.learn.registry import TrainedLearner, Validator, register_learner

__all__ = ["DTConfig", "fit_dt", "load_dt"]

PROCGEN_MAX_EPISODE_STEPS = 1000


@dataclasses.dataclass(frozen=True)
class DTConfig(LearnerConfig):
    """Discrete decision transformer (see `LearnerConfig` for the shared fields).

    `batch_size` counts sequences of `context_size` steps.
    """

    batch_size: int = 128
    learning_rate: float = 6e-4
    """Peak learning rate (Chen et al.: 6e-4), after a linear warm-up, with cosine decay to 0.1x."""
    feature_size: int = 128
    """IMPALA output width = transformer width (the paper's GPT: 128)."""
    context_size: int = 20
    """Steps of history the transformer sees (the paper: 10-30)."""
    num_layers: int = 6
    num_heads: int = 8
    """Attention heads; must divide `feature_size`."""
    dropout: float = 0.1
    """Attention, residual and embedding dropout."""
    target_return: float | None = None
    """Return to condition on at evaluation; None = the largest episode return in the training data."""
    max_timestep: int = 1000
    """Size of the timestep embedding: at least the longest episode (Procgen: 1000 steps)."""
    warmup_tokens: int = 10_240
    """Tokens of linear learning-rate warm-up (Chen et al.: 512 x 20)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.lr_schedule != "constant":
            raise ValueError("lr_schedule: the decision transformer decays its rate by tokens (warmup_tokens, final_tokens); leave lr_schedule constant")
        for name in ("context_size", "num_layers", "num_heads"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.feature_size % self.num_heads:
            raise ValueError(f"num_heads ({self.num_heads}) must divide feature_size ({self.feature_size})")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must lie in [0, 1), got {self.dropout}")
        if self.max_timestep < PROCGEN_MAX_EPISODE_STEPS:
            raise ValueError(
                f"max_timestep must be at least Procgen's step limit {PROCGEN_MAX_EPISODE_STEPS}, "
                f"got {self.max_timestep}"
            )
        if self.target_return is not None and not math.isfinite(self.target_return):
            raise ValueError(f"target_return must be a finite number or null, got {self.target_return}")
        if self.warmup_tokens < 0:
            raise ValueError(f"warmup_tokens must be non-negative, got {self.warmup_tokens}")

    @property
    def final_tokens(self) -> int:
        """Where the cosine decay ends: every position of every sequence of the run (padding
        does not count as a token in d3rlpy, so the rate ends slightly above its 0.1x floor)."""
        return self.steps * self.batch_size * self.context_size

    def to_d3rlpy(self) -> DiscreteDecisionTransformerConfig:
        return DiscreteDecisionTransformerConfig(
            batch_size=self.batch_size,
            learning_rate=self.learning_rate,
            encoder_factory=self.encoder_factory(),
            observation_scaler=PixelObservationScaler(),
            context_size=self.context_size,
            max_timestep=self.max_timestep,
            num_heads=self.num_heads,
            num_layers=self.num_layers,
            attn_dropout=self.dropout,
            resid_dropout=self.dropout,
            embed_dropout=self.dropout,
            warmup_tokens=self.warmup_tokens,
            final_tokens=max(self.final_tokens, self.warmup_tokens + 1),
        )


def dataset_target_return(buffer: Any) -> float:
    """The largest episode return in `buffer`: the default return to condition on."""
    return float(episode_summary(buffer)[1].max())


def fit_dt(
    config: DTConfig,
    buffer: Any,
    *,
    seed: int,
    device: str,
    out_dir: Path,
    validate: Validator | None = None,
    show_progress: bool = True,
) -> TrainedLearner:
    longest = int(episode_summary(buffer)[0].max())
    if longest > config.max_timestep:
        raise ValueError(
            f"the buffer has an episode of {longest} steps, longer than max_timestep={config.max_timestep}"
        )
    from_data = config.target_return is None
    target_return = dataset_target_return(buffer) if config.target_return is None else float(config.target_return)
    return train_d3rlpy(
        algo_name="dt",
        config=config,
        d3rlpy_config=config.to_d3rlpy(),
        buffer=buffer,
        seed=seed,
        device=device,
        out_dir=out_dir,
        validate=validate,
        show_progress=show_progress,
        make_policy=lambda algo: DecisionTransformerPolicy.from_algo(algo, target_return),
        context_size=config.context_size,
        target_return=target_return,
        extra_meta={"target_return_source": "dataset max episode return" if from_data else "config"},
    )


def load_dt(out_dir: Path, device: str, *, greedy: bool = True) -> DecisionTransformerPolicy:
    algo, meta = load_algo(out_dir, device)
    return DecisionTransformerPolicy.from_algo(algo, float(meta["target_return"]), greedy=greedy)


register_learner("dt", DTConfig, fit_dt, load_fn=load_dt)
