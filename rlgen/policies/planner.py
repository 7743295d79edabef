"""An expert behaviour policy for Procgen maze that plans with the game's saved states.

Why planning: expert data for maze needs no GPU and no training. Procgen saves and restores its
full state (level, entities, random generator), and replaying actions from a restored state is
exactly deterministic, so breadth-first search over restored states finds a shortest path to
the goal (../shared/reference/procgen-planners.md).

Costs, measured on one core of the 2-core development machine (easy mode, levels 0-49, one
expansion = restore + one step, plus a save when the frame is new; 2.7-3.3k expansions/s):
every level solved with return 10 in 14.6 steps on average; 243 expansions (median 138, at most
884) and 73 ms of planning per episode. Under `EpsilonMixture(planner, 0.5)` episodes take 28.2
steps and 2.8 searches, 764 expansions (at most 6.6k) and 283 ms per episode, with every level
still solved.

How it acts: plans are maps from frame digest to the next planned action, remembered across
slots and episodes (a level played again costs no search). `act` looks the current frame up;
only a slot whose frame is on no known plan (a new level, or a step after an epsilon-random
action inserted by `EpsilonMixture` off the known paths) searches from its current saved state. Planning happens in a private one-environment Procgen instance, so the real
environments are never stepped or restored.
"""

from __future__ import annotations

import hashlib
from collections import deque
from typing import Any

import numpy as np

# Maze's distinct moves (action = 3 * (dx + 1) + (dy + 1)): left, down, up, right. The other
# actions repeat these (0-2 left, 6-8 right) or do nothing (4, 9-14); a no-op reproduces the
# parent's frame (3204 of 3204 states tried), which the search has seen, so it is never expanded.
MAZE_MOVES: tuple[int, ...] = (1, 3, 5, 7)

# A plan: frame digest -> (action to take, digest of the frame it should lead to; None at the goal).
Plan = dict[bytes, tuple[int, bytes | None]]


def frame_digest(frame: np.ndarray) -> bytes:
    """A stable 16-byte digest of one (64, 64, 3) uint8 frame (about 20 us)."""
    return hashlib.blake2b(np.ascontiguousarray(frame), digest_size=16).digest()


class MazePlanner:
    """Shortest-path expert for maze: breadth-first search over saved states, keyed by the frame.

    Why the frame is a sound key here: maze's frame shows the whole maze and the agent, and
    nothing else moves, so equal frames mean equal positions and equal futures (the step
    counter differs, which only matters near the 500-step limit, where a timed-out branch is
    dropped). The key is finer than the position: the agent's sprite faces its last horizontal
    move, so a cell can be reached twice (in 30 levels, 22% of moves undoing the previous move
    did not restore its frame, all of them horizontal), which enlarges the search but never
    misleads it. Search cost is counted in expansions (one restore + one step, and a save for
    each new frame), not wall time, so runs are reproducible on a loaded machine. If a search runs
    out of `max_expansions` or finds no path (too close to the step limit), the slot takes a
    seeded random move and re-plans on the next step.

    `stats` counts, since construction: `plans` (searches run), `expansions`, `budget_exhausted`
    (searches stopped by the budget), `no_path` (searches that ran out of states),
    `fallback_actions` (random moves taken for want of a plan) and `deviations` (steps where a
    slot's frame was not the one its plan predicted, e.g. after an epsilon-random action).
    """

    SUPPORTED_GAMES = ("maze",)

    def __init__(self, max_expansions: int = 20_000, seed: int = 0, max_remembered: int = 500_000) -> None:
        if max_expansions < 1:
            raise ValueError(f"max_expansions must be positive, got {max_expansions}")
        self.max_expansions = max_expansions
        self.max_remembered = max_remembered
        self.seed = seed
        self.rng = np.random.default_rng(seed)
        self.stats: dict[str, int] = dict.fromkeys(
            ("plans", "expansions", "budget_exhausted", "no_path", "fallback_actions", "deviations"), 0
        )
        self._env: Any = None
        self._scratch: Any = None
        # Every plan step found so far, across slots and episodes: each is a step on a shortest
        # path from its frame, so it stays right whenever that frame comes back (the same level
        # played again, or a random action that lands on a planned cell). Cleared when full.
        self._known: Plan = {}
        self._expected: list[bytes | None] = []

    def attach(self, env: Any) -> None:
        """Plan for `env` (an `rlgen_envs.ProcgenVecEnv`); builds the private search environment."""
        if env.game not in self.SUPPORTED_GAMES:
            raise ValueError(
                f"MazePlanner plans only in {', '.join(self.SUPPORTED_GAMES)}, not in {env.game!r}"
            )
        from procgen import ProcgenGym3Env  # imported here: procgen prints on import

        self._env = env
        # The level settings are irrelevant: every search starts with set_state.
        self._scratch = ProcgenGym3Env(
            num=1, env_name=env.game, distribution_mode=env.mode, start_level=0, num_levels=1
        )
        self._expected = [None] * env.num_envs

    def reset(self, env_indices: np.ndarray) -> None:
        """These slots begin new episodes: forget the frame they expected (safe before `attach`)."""
        for i in np.asarray(env_indices, dtype=np.int64).reshape(-1):
            if i < len(self._expected):
                self._expected[i] = None

    def act(self, observations: np.ndarray) -> np.ndarray:
        """(n, 64, 64, 3) uint8 frames as the attached env emitted them -> (n,) int64 actions."""
        if self._env is None:
            raise RuntimeError("call attach(env) before act()")
        n = len(observations)
        if n != len(self._expected):
            raise ValueError(f"expected {len(self._expected)} observations, got {n}")
        digests = [frame_digest(frame) for frame in observations]
        actions = np.empty(n, dtype=np.int64)
        replan: list[int] = []
        for i, digest in enumerate(digests):
            step = self._known.get(digest)
            if self._expected[i] is not None and digest != self._expected[i]:
                self.stats["deviations"] += 1
            if step is None:
                replan.append(i)
            else:
                actions[i], self._expected[i] = step
        if replan:
            states = self._env.get_states()
            for i in replan:
                step = self._known.get(digests[i])  # another slot may have just planned it
                plan = self._search(states[i], digests[i]) if step is None else {digests[i]: step}
                if plan is None:
                    self.stats["fallback_actions"] += 1
                    actions[i] = MAZE_MOVES[self.rng.integers(len(MAZE_MOVES))]
                    self._expected[i] = None
                else:
                    if len(self._known) + len(plan) > self.max_remembered:
                        self._known.clear()
                    self._known.update(plan)
                    actions[i], self._expected[i] = plan[digests[i]]
        return actions

    def _search(self, root_state: bytes, root_digest: bytes) -> Plan | None:
        """Breadth-first search from `root_state`; the plan to the first completed level, or None."""
        env = self._scratch
        self.stats["plans"] += 1
        parents: dict[bytes, tuple[bytes, int] | None] = {root_digest: None}
        frontier: deque[tuple[bytes, bytes]] = deque([(root_digest, root_state)])
        expansions = 0
        try:
            while frontier:
                digest, state = frontier.popleft()
                for action in MAZE_MOVES:
                    if expansions >= self.max_expansions:
                        self.stats["budget_exhausted"] += 1
                        return None
                    env.callmethod("set_state", [state])
                    env.act(np.array([action], dtype=np.int32))
                    reward, ob, first = env.observe()
                    expansions += 1
                    if first[0]:
                        if reward[0] > 0:
                            return _plan_to(parents, digest, action)
                        continue  # timed out: the frame already belongs to a new episode
                    child = frame_digest(ob["rgb"][0])
                    if child not in parents:
                        parents[child] = (digest, action)
                        frontier.append((child, env.callmethod("get_state")[0]))
            self.stats["no_path"] += 1
            return None
        finally:
            self.stats["expansions"] += expansions


def _plan_to(parents: dict[bytes, tuple[bytes, int] | None], last: bytes, final_action: int) -> Plan:
    """Walk the search tree back from `last` (whose `final_action` completes the level)."""
    plan: Plan = {last: (final_action, None)}
    child = last
    link = parents[child]
    while link is not None:
        parent, action = link
        plan[parent] = (action, child)
        child = parent
        link = parents[child]
    return plan
