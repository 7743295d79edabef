"""Behaviour policies by name, as configs name them (`collect.policy.name`).

Built-ins: `random` (uniform actions); `planner` (search over Procgen's saved states, an expert
without any training in the games of `rlgen.policies.planner.GAME_SPECS`: maze, heist,
coinrun); `maze_planner` (the same planner, maze only, the name the quickstart uses). Any of them
can be mixed with random play in two ways: per step through `collect.policy.epsilon`
(`EpsilonMixture`), or per episode through the option `mix` (`collect.policy.options: {mix:
0.75}`: each episode is the policy's with probability 0.75, else random; `EpisodeMixture`).
Use `mix` where the expert recovers from step noise (the planners in maze).

`ppo` plays a PPO checkpoint trained by `rlgen policy train-ppo` (`rlgen.policies.ppo`), any
Procgen game: options `checkpoint` (a checkpoint folder, or a run folder: its final checkpoint),
`skill` (a target fraction of the expert's training-level return: the run's checkpoint nearest
it, an error naming the closest achievable when none is within `tolerance`, default 0.1),
`greedy` (arg-max actions; default sampled, as the paper collected), `device`.
"""

from __future__ import annotations

from typing import Callable

from rlgen.core.config import BehaviourConfig
from rlgen.core.games import GAMES, UnknownNameError
from rlgen.core.typed import ConfigError
from rlgen.policies.base import EpisodeMixture, EpsilonMixture, Policy, RandomPolicy
from rlgen.policies.planner import GAME_SPECS


def _maze_planner(seed: int, **options: object) -> Policy:
    from rlgen.policies.planner import MazePlanner

    return MazePlanner(seed=seed, **options)


def _planner(seed: int, game: str, **options: object) -> Policy:
    from rlgen.policies.planner import SavedStatePlanner

    return SavedStatePlanner(game, seed=seed, **options)


def _ppo(seed: int, game: str, **options: object) -> Policy:
    from rlgen.policies.ppo import make_ppo_policy

    return make_ppo_policy(seed, game=game, **options)


def _stitch_oracle(seed: int, **options: object) -> Policy:
    """Shortest paths in the stitching maze, confined to `options["structure"]` (regions or hops)."""
    from rlgen.stitch.policy import make_stitch_oracle

    return make_stitch_oracle(seed, **options)


BEHAVIOUR_POLICIES: dict[str, Callable[..., Policy]] = {
    "random": lambda seed, **options: RandomPolicy(seed=seed, **options),
    "planner": _planner,
    "maze_planner": _maze_planner,
    "stitch_oracle": _stitch_oracle,
    "ppo": _ppo,
}

# Factories that also take the game, as the keyword `game` (the rest take seed and options).
GAME_AWARE: frozenset[str] = frozenset({"planner", "ppo"})

MIX_OPTION = "mix"
"""The option that wraps any policy in an `EpisodeMixture` (the probability of its episodes)."""

# Games each policy can act in (None: every game).
SUPPORTED_GAMES: dict[str, tuple[str, ...] | None] = {
    "random": None,
    "planner": tuple(sorted(GAME_SPECS)),
    "maze_planner": ("maze",),
    "stitch_oracle": ("stitch_maze",),
    "ppo": GAMES,
}


def check_behaviour(config: BehaviourConfig, game: str) -> None:
    """Refuse an unknown policy name, or a policy that cannot play `game`, before any work."""
    if config.name not in BEHAVIOUR_POLICIES:
        raise UnknownNameError(
            f"unknown behaviour policy {config.name!r}; valid policies: {', '.join(sorted(BEHAVIOUR_POLICIES))}"
        )
    games = SUPPORTED_GAMES[config.name]
    if games is not None and game not in games:
        raise UnknownNameError(f"behaviour policy {config.name!r} plays only {', '.join(games)}, not {game!r}")
    mix = config.options.get(MIX_OPTION)
    if mix is not None and not (isinstance(mix, (int, float)) and 0.0 <= mix <= 1.0):
        raise ConfigError(f"collect.policy.options.{MIX_OPTION} must lie in [0, 1], got {mix!r}")
    if config.name == "ppo":  # the checkpoint exists, plays this game, reaches the skill: before any work
        from rlgen.policies.ppo import check_ppo_options

        check_ppo_options(dict(config.options), game)


def make_behaviour_policy(config: BehaviourConfig, game: str, seed: int) -> Policy:
    """Build the configured policy, in an epsilon-mixture when `epsilon` > 0 and in an
    episode mixture when the option `mix` is given (epsilon noise then applies inside the
    policy's own episodes only)."""
    check_behaviour(config, game)
    options = dict(config.options)
    mix = options.pop(MIX_OPTION, None)
    try:
        if config.name in GAME_AWARE:
            options["game"] = game
        policy = BEHAVIOUR_POLICIES[config.name](seed, **options)
    except TypeError as exc:
        raise ConfigError(f"collect.policy.options for {config.name!r}: {exc}") from exc
    if config.epsilon > 0:
        policy = EpsilonMixture(policy, config.epsilon, seed=seed + 1)
    if mix is not None:
        policy = EpisodeMixture(policy, float(mix), seed=seed + 2)
    return policy
