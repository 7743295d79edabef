import numpy as np
import pytest

from rlgen.core.games import COBBE_RETURN_RANGES, GAMES, UnknownNameError, check_game, normalize_returns
from rlgen_envs import PROCGEN_GAMES


def test_the_sixteen_games_have_constants_for_both_modes():
    assert GAMES == tuple(sorted(PROCGEN_GAMES)) and len(GAMES) == 16
    for game in GAMES:
        assert set(COBBE_RETURN_RANGES[game]) == {"easy", "hard"}


@pytest.mark.parametrize(
    "game, mode, raw, expected",
    [
        ("maze", "easy", [5.0, 10.0, 7.5, 0.0], [0.0, 1.0, 0.5, -1.0]),
        ("coinrun", "hard", [10.0], [1.0]),
        ("starpilot", "easy", [2.5, 64.0], [0.0, 1.0]),
        ("fruitbot", "easy", [-1.5, 32.4, 15.45], [0.0, 1.0, 0.5]),
        ("bigfish", "hard", [20.0], [0.5]),
    ],
)
def test_min_max_normalization_with_cobbe_constants(game, mode, raw, expected):
    np.testing.assert_allclose(normalize_returns(np.array(raw), game, mode), expected)


def test_unknown_names_list_the_valid_ones():
    with pytest.raises(UnknownNameError, match="starpilot"):
        check_game("pong")
    with pytest.raises(UnknownNameError, match="easy, hard"):
        check_game("maze", "extreme")


def test_core_action_count_is_the_environments():
    """core keeps its own copy of Procgen's action count (core imports no environment package)."""
    from rlgen.core.games import NUM_ACTIONS
    from rlgen_envs.procgen import NUM_ACTIONS as ENV_NUM_ACTIONS

    assert NUM_ACTIONS == ENV_NUM_ACTIONS == 15
