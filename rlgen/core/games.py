"""The 16 Procgen games, their difficulty modes, episode limits and score normalization.

Normalization uses the min/max returns of Cobbe et al. (2020), as the generalization-gap paper
did (../shared/reference/generalization-gap.md): score = (return - min) / (max - min).
"""

from __future__ import annotations

import numpy as np

NUM_ACTIONS = 15
"""Procgen's action count. Written here, not imported from `rlgen_envs.procgen`, so that core
imports no environment package (tests/core/test_games.py checks the two agree)."""

MODES = ("easy", "hard")

# (min, max) return per game, easy and hard (Cobbe et al. 2020, Table in Appendix C).
COBBE_RETURN_RANGES: dict[str, dict[str, tuple[float, float]]] = {
    "bigfish": {"easy": (1.0, 40.0), "hard": (0.0, 40.0)},
    "bossfight": {"easy": (0.5, 13.0), "hard": (0.5, 13.0)},
    "caveflyer": {"easy": (3.5, 12.0), "hard": (2.0, 13.4)},
    "chaser": {"easy": (0.5, 13.0), "hard": (0.5, 14.2)},
    "climber": {"easy": (2.0, 12.6), "hard": (1.0, 12.6)},
    "coinrun": {"easy": (5.0, 10.0), "hard": (5.0, 10.0)},
    "dodgeball": {"easy": (1.5, 19.0), "hard": (1.5, 19.0)},
    "fruitbot": {"easy": (-1.5, 32.4), "hard": (-0.5, 27.2)},
    "heist": {"easy": (3.5, 10.0), "hard": (2.0, 10.0)},
    "jumper": {"easy": (1.0, 10.0), "hard": (1.0, 10.0)},
    "leaper": {"easy": (1.5, 10.0), "hard": (1.5, 10.0)},
    "maze": {"easy": (5.0, 10.0), "hard": (4.0, 10.0)},
    "miner": {"easy": (1.5, 13.0), "hard": (1.5, 20.0)},
    "ninja": {"easy": (3.5, 10.0), "hard": (2.0, 10.0)},
    "plunder": {"easy": (4.5, 30.0), "hard": (3.0, 30.0)},
    "starpilot": {"easy": (2.5, 64.0), "hard": (1.5, 35.0)},
}

GAMES: tuple[str, ...] = tuple(sorted(COBBE_RETURN_RANGES))



class UnknownNameError(ValueError):
    """A name (game, mode, algorithm, policy) that rlgen does not know; the message lists valid ones."""


def check_game(game: str, mode: str = "easy") -> None:
    """Raise `UnknownNameError` naming the valid choices if `game` or `mode` is unknown."""
    if game not in COBBE_RETURN_RANGES:
        raise UnknownNameError(f"unknown Procgen game {game!r}; valid games: {', '.join(GAMES)}")
    if mode not in MODES:
        raise UnknownNameError(f"unknown Procgen mode {mode!r}; valid modes: {', '.join(MODES)}")


def normalize_returns(returns: np.ndarray | float, game: str, mode: str) -> np.ndarray:
    """Min-max normalize raw returns with the Cobbe constants: 0 = min, 1 = max."""
    check_game(game, mode)
    low, high = COBBE_RETURN_RANGES[game][mode]
    return (np.asarray(returns, dtype=np.float64) - low) / (high - low)
