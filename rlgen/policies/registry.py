"""The behaviour registry: every world's behaviour policies by name, as configs name them
(`collect.policy.name`), checked before any work.

A behaviour is registered once, with the worlds it can act in and the options it takes:

    register_behaviour("mine", my_factory, games=("maze",), options=("depth",))

`factory(seed, world, **options) -> Policy` builds it; `world` is the world it will act in (its
`behaviour_game`, `num_actions`, and whatever else a factory needs, e.g. the stitching worlds'
`layout`). `games` are the `behaviour_game`s it plays (a Procgen world's is its game, other
worlds' their kind; None: every world); `options` the option names its factory takes (None: not
checked by name, the factory refuses what it does not know). `check(options, world)` runs extra
checks before any work (a PPO checkpoint exists and plays the game).

Any behaviour with `mix=True` (the default) can be mixed with random play in two ways: per
step through `collect.policy.epsilon` (the world's `epsilon_policy` when it has one, else an
`EpsilonMixture` over its actions), or per episode through the option `mix`
(`collect.policy.options: {mix: 0.75}`: each episode is the policy's with probability 0.75,
else random; `EpisodeMixture`). Use `mix` where the expert recovers from step noise (the
planners in maze). A behaviour registered with `mix=False` handles `mix` itself, or refuses it.

Built-ins registered here (Procgen): `random` (uniform actions, any world); `planner` (search
over Procgen's saved states, an expert without any training in the games of
`rlgen.policies.planner.GAME_SPECS`: maze, heist, coinrun); `maze_planner` (the same planner,
maze only, the name the quickstart uses); both take `temperature` (default
`PLANNER_TEMPERATURE`: moves drawn by their cost to finish the level; 0: the deterministic
planner), `max_expansions`, `max_remembered`; `search` (receding-horizon rollouts over saved
states, `rlgen.policies.search`, all 16 games: options `temperature` (default
`SEARCH_TEMPERATURE`, stochastic; 0: arg-max), `max_expansions` (simulated steps per real step),
`horizon`); `ppo`, a PPO checkpoint trained by
`rlgen policy train-ppo` (`rlgen.policies.ppo_policy` plays it), any Procgen game: options `checkpoint` (a
checkpoint folder, or a run folder: its final checkpoint), `skill` (a target fraction of the
expert's training-level return: the run's checkpoint nearest it, an error naming the closest
achievable when none is within `tolerance`, default 0.1), `greedy` (arg-max actions; default
sampled, as the paper collected), `device`. The stitching worlds register `stitch_oracle`
(`rlgen.worlds.stitch_maze`), WebShop its `webshop_*` policies (`rlgen.worlds.webshop`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Protocol

from rlgen.core.config import BehaviourConfig
from rlgen.core.games import GAMES, NUM_ACTIONS, UnknownNameError
from rlgen.core.typed import ConfigError
from rlgen.policies.base import EpisodeMixture, EpsilonMixture, Policy, RandomPolicy
from rlgen.policies.planner import GAME_SPECS, PLANNER_TEMPERATURE, MazePlanner, SavedStatePlanner
from rlgen.policies.ppo_checkpoints import check_ppo_options
from rlgen.policies.saved_state import check_temperature
from rlgen.policies.search import SEARCH_SPECS, SEARCH_TEMPERATURE, SearchExpert

__all__ = [
    "BehaviourEntry", "BehaviourWorldError", "MIX_OPTION", "ProcgenGame", "behaviour_entry", "behaviour_names", "check_behaviour",
    "effective_options", "make_behaviour_policy", "register_behaviour",
]

MIX_OPTION = "mix"
"""The option that wraps any policy in an `EpisodeMixture` (the probability of its episodes)."""


class BehaviourWorldError(UnknownNameError, ConfigError):
    """A registered behaviour named for a world it cannot act in: an unknown name there (as it
    always was for Procgen's games) and a config error (as the other worlds reported it)."""


class BehaviourFactory(Protocol):
    def __call__(self, seed: int, world: Any, **options: Any) -> Policy: ...


@dataclass(frozen=True)
class BehaviourEntry:
    """One registered behaviour (see the module docstring)."""

    name: str
    factory: BehaviourFactory
    games: tuple[str, ...] | None = None
    options: tuple[str, ...] | None = None
    check: Callable[[dict, Any], None] | None = None
    mix: bool = True
    defaults: tuple[tuple[str, Any], ...] = ()
    """Option values the factory uses when a config leaves them out, recorded in the manifest
    (`effective_options`) so a dataset says how it was made even after a default changes."""

    def plays(self, game: str) -> bool:
        return self.games is None or game in self.games


_BEHAVIOURS: dict[str, BehaviourEntry] = {}


def register_behaviour(
    name: str,
    factory: BehaviourFactory,
    *,
    games: tuple[str, ...] | list[str] | None = None,
    options: tuple[str, ...] | list[str] | None = None,
    check: Callable[[dict, Any], None] | None = None,
    mix: bool = True,
    defaults: dict[str, Any] | None = None,
) -> None:
    """Make a behaviour policy available to configs by `name` (see the module docstring).

    Registering a name twice is an error: two policies sharing a name would share datasets' names.
    """
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"behaviour name must be an identifier such as 'random', got {name!r}")
    if name in _BEHAVIOURS:
        raise ValueError(f"a behaviour named {name!r} is already registered ({_BEHAVIOURS[name].factory!r})")
    if not callable(factory):
        raise TypeError(f"behaviour {name!r}: factory {factory!r} is not callable")
    _BEHAVIOURS[name] = BehaviourEntry(
        name, factory, None if games is None else tuple(games), None if options is None else tuple(options), check, mix,
        tuple(sorted((defaults or {}).items())),
    )


def behaviour_names(game: str | None = None) -> tuple[str, ...]:
    """Registered behaviour names (those that play `game` when given), sorted."""
    return tuple(sorted(name for name, entry in _BEHAVIOURS.items() if game is None or entry.plays(game)))


def behaviour_entry(name: str) -> BehaviourEntry:
    """The registration of `name`; `UnknownNameError` listing the valid names if there is none."""
    try:
        return _BEHAVIOURS[name]
    except KeyError:
        raise UnknownNameError(f"unknown behaviour policy {name!r}; valid policies: {', '.join(behaviour_names())}") from None


@dataclass(frozen=True)
class ProcgenGame:
    """What a behaviour factory needs of a Procgen world, for callers that name only the game."""

    behaviour_game: str
    num_actions: int = NUM_ACTIONS


def _world(world: Any) -> Any:
    return ProcgenGame(world) if isinstance(world, str) else world


def check_behaviour(config: BehaviourConfig, world: Any) -> None:
    """Refuse an unknown policy, one that cannot act in `world` (a world, or a Procgen game's
    name), unknown options and a bad `mix`, before any work."""
    world = _world(world)
    entry = behaviour_entry(config.name)
    game = world.behaviour_game
    if not entry.plays(game):
        raise BehaviourWorldError(
            f"collect.policy.name: behaviour policy {config.name!r} cannot act in {game!r} (it plays only "
            f"{', '.join(entry.games or ())}); policies for {game!r}: {', '.join(behaviour_names(game))}"
        )
    allowed = entry.options if entry.options is None or not entry.mix else (*entry.options, MIX_OPTION)
    unknown = [] if allowed is None else sorted(set(config.options) - set(allowed))
    if unknown:
        raise ConfigError(
            f"collect.policy.options: unknown option(s) {unknown} for {config.name}; valid: {', '.join(allowed or ()) or 'none'}"
        )
    mix = config.options.get(MIX_OPTION)
    if mix is not None and not (isinstance(mix, (int, float)) and 0.0 <= mix <= 1.0):
        raise ConfigError(f"collect.policy.options.{MIX_OPTION} must lie in [0, 1], got {mix!r}")
    if entry.check is not None:
        entry.check(dict(config.options), world)


def effective_options(config: BehaviourConfig) -> dict:
    """The options the policy is built with: the config's, over the registered defaults (e.g. a
    stochastic expert's `temperature`), for the manifest."""
    return {**dict(behaviour_entry(config.name).defaults), **dict(config.options)}


def make_behaviour_policy(config: BehaviourConfig, world: Any, seed: int) -> Policy:
    """Build the configured policy for `world` (a world, or a Procgen game's name), in an
    epsilon-mixture when `epsilon` > 0 and in an episode mixture when the option `mix` is given
    (epsilon noise then applies inside the policy's own episodes only)."""
    world = _world(world)
    check_behaviour(config, world)
    entry = behaviour_entry(config.name)
    options = dict(config.options)
    mix = options.pop(MIX_OPTION, None) if entry.mix else None
    try:
        policy = entry.factory(seed, world, **options)
    except TypeError as exc:
        raise ConfigError(f"collect.policy.options for {config.name!r}: {exc}") from exc
    if config.epsilon > 0:
        epsilon_policy = getattr(world, "epsilon_policy", None)
        if epsilon_policy is not None:
            policy = epsilon_policy(policy, config.epsilon, seed + 1)
        else:
            policy = EpsilonMixture(policy, config.epsilon, seed=seed + 1, num_actions=world.num_actions)
    if mix is not None:
        policy = EpisodeMixture(policy, float(mix), seed=seed + 2, num_actions=world.num_actions)
    return policy


# -- the built-in behaviours (Procgen's, and `random` for every world) ------------------------------


def _random(seed: int, world: Any, num_actions: int | None = None, structure: dict | None = None) -> Policy:
    """Uniform actions over the world's (`structure`, a stitching world's confinement, binds no action)."""
    return RandomPolicy(seed=seed, num_actions=world.num_actions if num_actions is None else num_actions)


PLANNER_OPTIONS = ("temperature", "max_expansions", "max_remembered")


def _planner(seed: int, world: Any, temperature: float = PLANNER_TEMPERATURE, **options: Any) -> Policy:
    return SavedStatePlanner(world.behaviour_game, seed=seed, temperature=temperature, **options)


def _maze_planner(seed: int, world: Any, temperature: float = PLANNER_TEMPERATURE, **options: Any) -> Policy:
    return MazePlanner(seed=seed, temperature=temperature, **options)


def _check_temperature(options: dict, default: float) -> None:
    try:
        check_temperature(options.get("temperature", default))
    except ValueError as exc:
        raise ConfigError(f"collect.policy.options.{exc}") from None


def _check_positive_ints(options: dict, names: tuple[str, ...]) -> None:
    for name in names:
        value = options.get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise ConfigError(f"collect.policy.options.{name} must be a positive integer, got {value!r}")


def _check_planner(options: dict, world: Any) -> None:
    """Bad option values fail before any work, naming the option."""
    _check_temperature(options, PLANNER_TEMPERATURE)
    _check_positive_ints(options, ("max_expansions", "max_remembered"))


def _search(seed: int, world: Any, temperature: float = SEARCH_TEMPERATURE, max_expansions: int | None = None, horizon: int | None = None) -> Policy:
    return SearchExpert(world.behaviour_game, temperature=temperature, max_expansions=max_expansions, horizon=horizon, seed=seed)


def _check_search(options: dict, world: Any) -> None:
    """Bad option values fail before any work, naming the option."""
    _check_temperature(options, SEARCH_TEMPERATURE)
    _check_positive_ints(options, ("max_expansions", "horizon"))
    try:
        SearchExpert(world.behaviour_game, **{k: v for k, v in options.items() if k != MIX_OPTION})  # builds no env: checks the budget against the horizon
    except ValueError as exc:
        raise ConfigError(f"collect.policy.options: {exc}") from None


def _ppo(seed: int, world: Any, **options: Any) -> Policy:
    from rlgen.policies.ppo_policy import make_ppo_policy  # deferred: torch

    return make_ppo_policy(seed, game=world.behaviour_game, **options)


def _check_ppo(options: dict, world: Any) -> None:
    """The checkpoint exists, plays this game, reaches the skill: before any work."""
    check_ppo_options(options, world.behaviour_game)


register_behaviour("random", _random, options=("num_actions", "structure"))
register_behaviour(
    "planner", _planner, games=tuple(sorted(GAME_SPECS)), options=PLANNER_OPTIONS, check=_check_planner,
    defaults={"temperature": PLANNER_TEMPERATURE},
)
register_behaviour(
    "maze_planner", _maze_planner, games=("maze",), options=PLANNER_OPTIONS, check=_check_planner,
    defaults={"temperature": PLANNER_TEMPERATURE},
)
register_behaviour(
    "search", _search, games=tuple(sorted(SEARCH_SPECS)), options=("temperature", "max_expansions", "horizon"),
    check=_check_search, defaults={"temperature": SEARCH_TEMPERATURE},
)
register_behaviour("ppo", _ppo, games=GAMES, check=_check_ppo)
