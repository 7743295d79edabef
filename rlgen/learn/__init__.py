"""Offline learners: d3rlpy's discrete BC, CQL and decision transformer with an IMPALA encoder.

`import rlgen.learn` registers the built-in learners (`bc`, `cql`, `dt`) through the same
`register_learner` seam a user's learner uses (see `rlgen.learn.registry`):

    config = learner_config("cql", {"steps": 50_000, "alpha": 4.0})
    trained = fit(config, buffer, seed=0, device="auto", out_dir="runs/cql-0", validate=score_on_validation_levels)
    policy = load_policy("runs/cql-0")          # rlgen.policies.base.Policy: act((n, 64, 64, 3) uint8) -> (n,)

Runs on CPU or one GPU; nothing here imports Ray.
"""

from rlgen.learn import encoders as _encoders  # noqa: F401  (registers the "impala" encoder)
from rlgen.learn.base import LearnerConfig
from rlgen.learn.bc import BCConfig
from rlgen.learn.cql import CQLConfig
from rlgen.learn.dt import DTConfig
from rlgen.learn.encoders import ImpalaEncoderFactory
from rlgen.learn.policy import DecisionTransformerPolicy, QLearningPolicy
from rlgen.learn.registry import (
    TrainedLearner,
    fit,
    learner_config,
    learner_names,
    load_policy,
    register_learner,
    resolve_device,
)

__all__ = [
    "BCConfig",
    "CQLConfig",
    "DTConfig",
    "DecisionTransformerPolicy",
    "ImpalaEncoderFactory",
    "LearnerConfig",
    "QLearningPolicy",
    "TrainedLearner",
    "fit",
    "learner_config",
    "learner_names",
    "load_policy",
    "register_learner",
    "resolve_device",
]
