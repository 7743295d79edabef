"""The world registry: environment kinds by name, as configs (`env.kind`) and manifests name them.

Why a registry: core knows no world by name, so a user's world is one module named in a
config's `imports:` that calls `register_world("mine", MyWorld)`; the built-in kinds register the
same way when `rlgen.worlds` is imported. A kind is checked when its world is built
(`world_of`), which `rlgen.experiment.validate_experiment` does after the config's `imports:`
have run, so a plug-in's kind is known by then.
"""

from __future__ import annotations

from typing import Any

from rlgen.core.config import BehaviourConfig, ConfigError, EnvConfig, ExperimentConfig, register_env_label
from rlgen.worlds.base import World

__all__ = ["register_world", "stitching_kinds", "world_class", "world_kinds", "world_of", "world_of_manifest"]

_WORLDS: dict[str, type] = {}


def register_world(kind: str, cls: type) -> None:
    """Make `cls` the world of `env.kind: <kind>`.

    `cls.from_env(env, behaviour_options)` builds it (see `rlgen.worlds.base.World`); its
    datasets' names start with `cls.dataset_label(env.options)`, or the kind when it has none
    (`rlgen.core.config.register_env_label`). Registering
    a kind twice is an error: two worlds sharing a name would mix their datasets' meaning.
    """
    if not isinstance(kind, str) or not kind.isidentifier():
        raise ValueError(f"world kind must be an identifier such as 'procgen', got {kind!r}")
    if not callable(getattr(cls, "from_env", None)):
        raise TypeError(f"world {kind!r}: {cls!r} has no from_env(env, behaviour_options) classmethod")
    if _WORLDS.get(kind, cls) is not cls:
        raise ValueError(f"a world of kind {kind!r} is already registered ({_WORLDS[kind]!r})")
    _WORLDS[kind] = cls
    label = getattr(cls, "dataset_label", None)
    register_env_label(kind, label if callable(label) else lambda options: kind)


def world_kinds() -> tuple[str, ...]:
    """Registered kinds, sorted."""
    return tuple(sorted(_WORLDS))


def world_class(kind: str) -> type:
    """The class registered for `kind`; a `ConfigError` naming the registered kinds if none is."""
    try:
        return _WORLDS[kind]
    except KeyError:
        raise ConfigError(
            f"env.kind: unknown environment kind {kind!r}; valid: {', '.join(world_kinds())} "
            "(a world of your own registers itself in a module named in `imports:`)"
        ) from None


def stitching_kinds() -> tuple[str, ...]:
    """Kinds whose worlds have stitching test pairs; their records' `game` is the kind."""
    return tuple(kind for kind in world_kinds() if getattr(_WORLDS[kind], "stitching", False))


def world_of(config: ExperimentConfig | EnvConfig, behaviour: BehaviourConfig | None = None) -> World:
    """The world an experiment config describes (a stitching world's structure is its behaviour's)."""
    if isinstance(config, ExperimentConfig):
        env, behaviour = config.env, config.collect.policy
    else:
        env = config
    section = {"game": env.game, "mode": env.mode, "options": dict(env.options)}
    return world_class(env.kind).from_env(section, {} if behaviour is None else dict(behaviour.options))


def world_of_manifest(env: dict[str, Any]) -> World:
    """The world a dataset was collected in, from its manifest's `env` alone (Procgen's records no kind)."""
    kind = env.get("kind", "procgen")
    if kind not in _WORLDS:
        raise ValueError(f"unknown environment kind {kind!r} in a manifest; registered: {', '.join(world_kinds())}")
    return _WORLDS[kind].from_env(env, None)
