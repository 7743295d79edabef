"""Policies: the protocol every evaluated or behaviour policy follows, and the built-in ones."""

from rlgen.policies.base import EpisodeMixture, EpsilonMixture, Policy, RandomPolicy

__all__ = ["EpisodeMixture", "EpsilonMixture", "Policy", "RandomPolicy"]
