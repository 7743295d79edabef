"""Behaviour policies by name, as configs name them (`collect.policy.name`).

Built-ins: `random` (uniform actions) and `maze_planner` (breadth-first search over Procgen's
saved states; an expert for maze without any training). Any of them can be mixed with random
actions through `collect.policy.epsilon`.
"""

from __future__ import annotations

from typing import Callable

from rlgen.core.config import BehaviourConfig
from rlgen.core.games import UnknownNameError
from rlgen.core.typed import ConfigError
from rlgen.policies.base import EpsilonMixture, Policy, RandomPolicy


def _maze_planner(seed: int, **options: object) -> Policy:
    from rlgen.policies.planner import MazePlanner

    return MazePlanner(seed=seed, **options)


BEHAVIOUR_POLICIES: dict[str, Callable[..., Policy]] = {
    "random": lambda seed, **options: RandomPolicy(seed=seed, **options),
    "maze_planner": _maze_planner,
}

# Games each policy can act in (None: every game).
SUPPORTED_GAMES: dict[str, tuple[str, ...] | None] = {"random": None, "maze_planner": ("maze",)}


def check_behaviour(config: BehaviourConfig, game: str) -> None:
    """Refuse an unknown policy name, or a policy that cannot play `game`, before any work."""
    if config.name not in BEHAVIOUR_POLICIES:
        raise UnknownNameError(
            f"unknown behaviour policy {config.name!r}; valid policies: {', '.join(sorted(BEHAVIOUR_POLICIES))}"
        )
    games = SUPPORTED_GAMES[config.name]
    if games is not None and game not in games:
        raise UnknownNameError(f"behaviour policy {config.name!r} plays only {', '.join(games)}, not {game!r}")


def make_behaviour_policy(config: BehaviourConfig, game: str, seed: int) -> Policy:
    """Build the configured policy, wrapped in an epsilon-mixture when `epsilon` > 0."""
    check_behaviour(config, game)
    try:
        policy = BEHAVIOUR_POLICIES[config.name](seed, **config.options)
    except TypeError as exc:
        raise ConfigError(f"collect.policy.options for {config.name!r}: {exc}") from exc
    if config.epsilon > 0:
        policy = EpsilonMixture(policy, config.epsilon, seed=seed + 1)
    return policy
