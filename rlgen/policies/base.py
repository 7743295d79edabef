"""The policy protocol, and the two policies every experiment has: random and epsilon-mixtures.

A policy is anything with a batched `act(observations) -> actions`:

- `observations`: (n, 64, 64, 3) uint8 frames, exactly as `rlgen_envs.ProcgenVecEnv` emits them
  (channel-last); a learner that wants channel-first transposes inside its own `act`.
- returns (n,) integer actions in [0, 15).

Two optional methods, called by collection and evaluation when present:

- `reset(env_indices)`: the episodes in these slots just ended and new ones begin (stateful
  policies such as the decision transformer clear their context there). Called once with all
  indices before the first step.
- `attach(env)`: hands the policy the `ProcgenVecEnv` it acts in, before the first step.
  Planners use it to read and restore saved game states; learned policies never need it.
- `observe(rewards)`: the rewards of the last actions, for policies that condition on them
  (the decision transformer's return-to-go).

Users bring their own learner by implementing `act` (and `reset` if it keeps state).
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np

from rlgen.core.games import NUM_ACTIONS


@runtime_checkable
class Policy(Protocol):
    def act(self, observations: np.ndarray) -> np.ndarray: ...


def call_if_present(policy: object, method: str, *args: object) -> None:
    """Call an optional protocol method (`reset`, `attach`, `observe`) when the policy has it."""
    fn = getattr(policy, method, None)
    if fn is not None:
        fn(*args)


class RandomPolicy:
    """Uniformly random actions from a seeded generator."""

    def __init__(self, seed: int = 0, num_actions: int = NUM_ACTIONS) -> None:
        self.rng = np.random.default_rng(seed)
        self.num_actions = num_actions

    def act(self, observations: np.ndarray) -> np.ndarray:
        return self.rng.integers(0, self.num_actions, size=len(observations))


class EpsilonMixture:
    """With probability `epsilon` per step, replace the inner policy's action by a random one.

    The inner policy still sees every step (its `act` runs for all envs), so a planner that
    tracks its plan notices the deviation and re-plans. Beware: in games where a planner
    recovers from noise (maze), epsilon changes episode length, not return; collection
    measures and records the resulting skill rather than assuming it.
    """

    def __init__(self, inner: Policy, epsilon: float, seed: int = 0, num_actions: int = NUM_ACTIONS) -> None:
        if not 0.0 <= epsilon <= 1.0:
            raise ValueError(f"epsilon must lie in [0, 1], got {epsilon}")
        self.inner = inner
        self.epsilon = epsilon
        self.rng = np.random.default_rng(seed)
        self.num_actions = num_actions

    def act(self, observations: np.ndarray) -> np.ndarray:
        actions = np.asarray(self.inner.act(observations)).copy()
        explore = self.rng.random(len(actions)) < self.epsilon
        actions[explore] = self.rng.integers(0, self.num_actions, size=int(explore.sum()))
        return actions

    def reset(self, env_indices: np.ndarray) -> None:
        call_if_present(self.inner, "reset", env_indices)

    def attach(self, env: object) -> None:
        call_if_present(self.inner, "attach", env)

    def observe(self, rewards: np.ndarray) -> None:
        call_if_present(self.inner, "observe", rewards)
