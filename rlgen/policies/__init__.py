"""Policies: the protocol every evaluated or behaviour policy follows, and the built-in ones."""

from rlgen.policies.base import EpsilonMixture, Policy, RandomPolicy

__all__ = ["EpsilonMixture", "Policy", "RandomPolicy"]
