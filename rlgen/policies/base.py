"""The policy protocol, random play, and the two ways to mix an expert with it (per step, per episode).

A policy is anything with a batched `act(observations) -> actions`:

- `observations`: (n, 64, 64, 3) uint8 frames, exactly as `rlgen_envs.ProcgenVecEnv` emits them
  (channel-last); a learner that wants channel-first transposes inside its own `act`.
- returns (n,) integer actions in [0, num_actions) of the environment (15 in Procgen, 5 in the stitching maze).

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


def act_on_slots(policy: object, observations: np.ndarray, slots: np.ndarray) -> np.ndarray:
    """`policy`'s actions for the env slots `slots` only, (k,) ints.

    Through `act_slots(observations[slots], slots)` where the policy has it, so a planner
    searches only for the slots it plays (the others play someone else's episode or nothing);
    otherwise by acting on every slot and keeping those asked for.
    """
    act_slots = getattr(policy, "act_slots", None)
    if act_slots is not None:
        return act_slots(observations[slots], slots)
    return np.asarray(policy.act(observations))[slots]  # type: ignore[attr-defined]


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


class EpisodeMixture:
    """Each episode is played entirely by the expert with probability `mix`, else by `other`.

    Why per episode: a planner that re-plans after every random action recovers from step
    noise, so in maze an `EpsilonMixture` keeps the expert's return up to epsilon 0.75 and only
    lengthens episodes (../shared/reference/procgen-planners.md). Mixing whole episodes cannot
    be undone by recovery: the expected return is exactly `mix * expert + (1 - mix) * other`
    per level, which also makes the dial easy to calibrate (rlgen/policies/skill.py).

    The draw for a slot happens at `reset(env_indices)` (collection and evaluation call it with
    every slot before the first step, and with the finished slots after each episode), from a
    seeded generator. The expert acts only for its own slots when it offers
    `act_slots(observations, slots)` (the planners do: a search for a slot that plays randomly
    would be wasted); otherwise it sees the whole batch and its actions for the other slots
    are dropped (right for stateless and stateful learned policies alike). `other` defaults to
    uniform random actions. `inner` is the expert (collection records `inner.stats`);
    `stats` counts the episodes each side began.
    """

    def __init__(self, expert: Policy, mix: float, seed: int = 0, other: Policy | None = None, num_actions: int = NUM_ACTIONS) -> None:
        if not 0.0 <= mix <= 1.0:
            raise ValueError(f"mix (the probability of an expert episode) must lie in [0, 1], got {mix}")
        self.inner = expert
        self.mix = mix
        self.other = other if other is not None else RandomPolicy(seed=seed + 1, num_actions=num_actions)
        self.rng = np.random.default_rng(seed)
        self.expert_slots = np.zeros(0, dtype=bool)
        self.stats: dict[str, int] = {"expert_episodes": 0, "other_episodes": 0}

    def reset(self, env_indices: np.ndarray) -> None:
        indices = np.asarray(env_indices, dtype=np.int64).reshape(-1)
        if len(indices) and indices.max() >= len(self.expert_slots):
            grown = np.zeros(int(indices.max()) + 1, dtype=bool)
            grown[: len(self.expert_slots)] = self.expert_slots
            self.expert_slots = grown
        draws = self.rng.random(len(indices)) < self.mix
        self.expert_slots[indices] = draws
        self.stats["expert_episodes"] += int(draws.sum())
        self.stats["other_episodes"] += int(len(draws) - draws.sum())
        call_if_present(self.inner, "reset", indices)
        call_if_present(self.other, "reset", indices)

    def act(self, observations: np.ndarray) -> np.ndarray:
        n = len(observations)
        if len(self.expert_slots) < n:
            raise RuntimeError("call reset(env_indices) with every slot before the first act()")
        expert = self.expert_slots[:n]
        actions = np.asarray(self.other.act(observations), dtype=np.int64).copy()
        slots = np.flatnonzero(expert)
        if len(slots):
            actions[slots] = act_on_slots(self.inner, observations, slots)
        return actions

    def attach(self, env: object) -> None:
        call_if_present(self.inner, "attach", env)
        call_if_present(self.other, "attach", env)

    def observe(self, rewards: np.ndarray) -> None:
        call_if_present(self.inner, "observe", rewards)
        call_if_present(self.other, "observe", rewards)
