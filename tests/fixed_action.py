"""A deterministic test policy (always the same action), so results cannot depend on scheduling.

A module of its own so that in-process tests and Ray actors (whose PYTHONPATH holds tests/)
import the same class."""

import numpy as np


class FixedAction:
    def __init__(self, action: int = 7) -> None:
        self.action = action
        self.resets = 0

    def act(self, observations):
        return np.full(len(observations), self.action)

    def reset(self, env_indices):
        self.resets += len(env_indices)
