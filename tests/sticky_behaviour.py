"""A behaviour of one's own for a built-in world (Procgen maze), registered from a module named
in a config's `imports:`: `tests/test_plugins.py` collects with it through Ray actors, which
know the name only because they import this module too."""

from __future__ import annotations

import numpy as np

from rlgen.policies.registry import register_behaviour


class StickyRandom:
    """Uniform random actions, each kept for `repeat` steps."""

    def __init__(self, seed: int, num_actions: int, repeat: int) -> None:
        self.rng, self.num_actions, self.repeat, self.t = np.random.default_rng(seed), num_actions, repeat, 0
        self.actions = None

    def act(self, observations: np.ndarray) -> np.ndarray:
        if self.actions is None or len(self.actions) != len(observations) or self.t % self.repeat == 0:
            self.actions = self.rng.integers(0, self.num_actions, len(observations))
        self.t += 1
        return self.actions


register_behaviour(
    "sticky_random", lambda seed, world, repeat=4: StickyRandom(seed, world.num_actions, int(repeat)), games=("maze",), options=("repeat",)
)
