"""What the saved-state experts (`planner.SavedStatePlanner`, `search.SearchExpert`) share.

Both act on one game's vectorized env, plan in private Procgen envs that they restore the real
slots' saved states into (so the real envs are never stepped or restored), remember per slot
what the slot is following (a plan step, a chosen action sequence), and draw their random
choices from generators seeded per episode. `SavedStateExpert` holds that bookkeeping once; a
subclass says how many private envs it needs and how it acts (`_act`).
"""

from __future__ import annotations

from typing import Any

import numpy as np


def check_temperature(value: Any) -> float:
    """`value` as a temperature (a number >= 0; 0 is the deterministic expert), or ValueError."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise ValueError(f"temperature must be a number >= 0 (0: the deterministic expert), got {value!r}")
    return float(value)


def softmax_choice(values: np.ndarray, temperature: float, rng: np.random.Generator) -> int:
    """Index drawn with probability proportional to exp((value - best) / temperature)."""
    weights = np.exp((values - values.max()) / temperature)
    return int(rng.choice(len(values), p=weights / weights.sum()))


class EpisodeGenerators:
    """One random generator per env slot, re-seeded at each episode from (seed, slot, episode).

    Why per episode: a slot's draws then depend only on the policy seed and which episode of the
    slot this is, never on how other slots' episodes interleave, so a shard collected with a
    fixed config and seed is byte-identical wherever and however often it runs.
    """

    def __init__(self, seed: int) -> None:
        self.seed = int(seed)
        self._episodes: list[int] = []
        self._rngs: list[np.random.Generator] = []

    def _fresh(self, slot: int) -> np.random.Generator:
        return np.random.default_rng(np.random.SeedSequence([self.seed, slot, self._episodes[slot]]))

    def resize(self, slots: int) -> None:
        """Start over with `slots` slots, each at its first episode."""
        self._episodes = [0] * slots
        self._rngs = [self._fresh(i) for i in range(slots)]

    def reset(self, slot: int) -> None:
        if slot < len(self._rngs):
            self._episodes[slot] += 1
            self._rngs[slot] = self._fresh(slot)

    def __getitem__(self, slot: int) -> np.random.Generator:
        return self._rngs[slot]


class SavedStateExpert:
    """Binding to an env, private planning envs, per-slot memory and per-episode generators.

    A subclass passes its game, seed and temperature to `__init__`, overrides `_scratch_envs`
    when it plans in more than one private env, and implements `_act` (slots already checked).
    `_following[slot]` is what the slot follows (None: it decides afresh at its next step); a new
    episode clears it and re-seeds the slot's generator.
    """

    def __init__(self, game: str, seed: int, temperature: Any) -> None:
        self.game = game
        self.seed = int(seed)
        self.temperature = check_temperature(temperature)
        self.episode_rngs = EpisodeGenerators(self.seed)
        self._env: Any = None
        self._scratch: Any = None
        self._following: list[Any] = []

    def _scratch_envs(self) -> int:
        """How many private Procgen envs to plan in (played in one batch)."""
        return 1

    def attach(self, env: Any) -> None:
        """Act for `env` (an `rlgen_envs.ProcgenVecEnv` of this expert's game); builds the private envs."""
        if env.game != self.game:
            raise ValueError(f"this {type(self).__name__} plays {self.game!r}, not {env.game!r}")
        from procgen import ProcgenGym3Env  # imported here: procgen prints on import

        self._env = env
        # The level settings are irrelevant: every plan starts with set_state.
        self._scratch = ProcgenGym3Env(
            num=self._scratch_envs(), env_name=env.game, distribution_mode=env.mode, start_level=0, num_levels=1
        )
        self._following = [None] * env.num_envs
        self.episode_rngs.resize(env.num_envs)

    def reset(self, env_indices: np.ndarray) -> None:
        """These slots begin new episodes: nothing to follow, a fresh generator (safe before `attach`)."""
        for i in np.asarray(env_indices, dtype=np.int64).reshape(-1):
            if i < len(self._following):
                self._following[i] = None
                self.episode_rngs.reset(int(i))

    def act(self, observations: np.ndarray) -> np.ndarray:
        """(n, 64, 64, 3) uint8 frames as the attached env emitted them -> (n,) int64 actions."""
        if self._env is not None and len(observations) != len(self._following):
            raise ValueError(f"expected {len(self._following)} observations, got {len(observations)}")
        return self.act_slots(observations, np.arange(len(observations)))

    def act_slots(self, observations: np.ndarray, slots: np.ndarray) -> np.ndarray:
        """Actions for env slots `slots` only ((k,) ints), whose frames are `observations` (k, 64, 64, 3).

        `EpisodeMixture` calls this so that slots playing someone else's episode cost nothing.
        """
        if self._env is None:
            raise RuntimeError("call attach(env) before act()")
        slots = np.asarray(slots, dtype=np.int64).reshape(-1)
        if len(observations) != len(slots):
            raise ValueError(f"got {len(observations)} observations for {len(slots)} slots")
        return self._act(observations, slots)

    def _act(self, observations: np.ndarray, slots: np.ndarray) -> np.ndarray:
        raise NotImplementedError
