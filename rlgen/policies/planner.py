"""Expert behaviour policies that plan with Procgen's saved states: maze, heist and coinrun.

Why planning: expert data then needs no GPU and no training. Procgen saves and restores its
full state (level, entities, random generator), and replaying actions from a restored state is
exactly deterministic, so search over restored states is exact (../shared/reference/
procgen-planners.md). One planner class, `SavedStatePlanner`, does the search and the plan
bookkeeping for every game; what differs between games is small and lives in a `GameSpec`:
which actions to try, how coarsely to merge states (the search key), and which order to
expand them in. Measured costs and success per game are in rlgen/policies/README.md
(`bench/bench_planners.py` reproduces them).

How it acts: every plan step found is remembered across slots and episodes under the exact
key of its state (`ProcgenState.exact_key`), with the frame it should lead to. A slot whose
new frame is the one its plan predicted takes the next step without touching the game state
(a frame digest, about 20 us); any other slot (a new episode, the end of a partial plan, or a
step after an epsilon-random action inserted by `EpsilonMixture`) reads its saved state,
looks its exact key up, and searches only when it is unknown. Planning happens in a private
one-environment Procgen instance, so the real environments are never stepped or restored.

Stochastic mode (`temperature` > 0, the default for datasets through the registry): a
deterministic planner repeats one path per level, so more transitions from the same levels add
no new frames. With a temperature, a finished search also keeps, for every state it expanded,
each move's cost to complete the level over the explored graph (1 + the child's distance to the
goal, by a backward breadth-first pass over the search keys; unknown: never taken), and the
slot draws its move from a softmax of -cost / temperature: shortest-path moves most often, a
one-cell detour (2 steps longer) with weight exp(-2 / temperature), a move that dies or leads
nowhere never. Procgen returns are undiscounted, so the return stays the expert's while the
paths vary. Draws come from a generator seeded per episode from (seed, slot, the slot's episode
count), so a shard's bytes depend on its config and seed only. `temperature: 0` is the
deterministic planner, bit for bit.
"""

from __future__ import annotations

import collections
import hashlib
import heapq
import itertools
import math
from dataclasses import dataclass

import numpy as np

from rlgen.policies.saved_state import SavedStateExpert, softmax_choice
from rlgen_envs.procgen_state import ProcgenState, parse_state

# Maze's distinct moves (action = 3 * (dx + 1) + (dy + 1)): left, down, up, right. The other
# actions repeat these (0-2 left, 6-8 right) or do nothing (4, 9-14).
MAZE_MOVES: tuple[int, ...] = (1, 3, 5, 7)
# Heist moves in eight directions (actions 0-8 are all distinct there); the no-op never helps.
EIGHT_WAY_MOVES: tuple[int, ...] = (0, 1, 2, 3, 5, 6, 7, 8)
# Coinrun: left, left+jump, no-op (wait for a saw to pass), jump, right, right+jump. Down (3)
# and the diagonals down (0, 6) only matter on a crate's edge, which the search does without.
COINRUN_MOVES: tuple[int, ...] = (1, 2, 4, 5, 7, 8)

PLANNER_TEMPERATURE = 1.0
"""The default `temperature` for dataset building (steps to finish the level): a one-cell detour
is taken with weight exp(-2) against the shortest move; maze's return stays 10 (rlgen/policies/
README.md measures return, length and distinct frames against temperature 0)."""

# A remembered plan step: exact state key -> (action, digest of the frame it leads to, exact
# key of the state it leads to); both None when the action ends the plan (the level completes,
# or a partial plan runs out).
Step = tuple[int, bytes | None, bytes | None]
# Stochastic mode: exact state key -> every move known from it, as (action, digest of the frame
# it leads to, exact key of the state it leads to, steps to complete the level when taking it).
Option = tuple[int, bytes | None, bytes | None, float]
# A search node: (raw state, exact key, frame digest, parent node id, action from parent, search key).
Node = tuple[bytes, bytes, "bytes | None", int, int, tuple]


def frame_digest(frame: np.ndarray) -> bytes:
    """A stable 16-byte digest of one (64, 64, 3) uint8 frame (about 20 us)."""
    return hashlib.blake2b(np.ascontiguousarray(frame), digest_size=16).digest()


@dataclass(frozen=True)
class GameSpec:
    """What the planner needs to know about one game; everything else is shared.

    `resolutions` are the cell fractions to which the agent's position is rounded in the
    search key, coarse to fine: a coarse key merges more states (a cheaper search) but may
    merge states that differ in speed and cut off the only route, so a search that runs out of
    states retries at the next finer one (the reference notes' coarse-to-fine fallback).
    `velocity_resolution` adds the rounded velocity to the key (None: not part of it). Every key
    also holds the live non-player entities (keys, doors) and a digest of the grid and the
    game's own fields (keys held, support under the agent). `order` is "breadth" (shortest
    plan first) or "rightward" (best-first on the agent's x, then depth: coinrun's goal is at
    the right end). `partial` lets a search that exhausts its budget return the plan to the
    best state it reached (furthest right) instead of nothing; the slot re-plans from there.
    """

    game: str
    moves: tuple[int, ...]
    resolutions: tuple[float, ...] = (1.0,)
    velocity_resolution: float | None = None
    order: str = "breadth"
    partial: bool = False
    repeat: int = 1
    """Hold each action for up to `repeat` steps until the key changes: with a key coarser than
    one step's move (heist's half cells, where the agent accelerates from rest) a single step
    often lands on its parent's key and would be pruned, leaving the search stuck."""
    max_expansions: int = 20_000

    def __post_init__(self) -> None:
        if self.order not in ("breadth", "rightward"):
            raise ValueError(f"order must be 'breadth' or 'rightward', got {self.order!r}")
        if not self.resolutions or any(r <= 0 for r in self.resolutions):
            raise ValueError(f"resolutions must be positive, got {self.resolutions}")

    def search_key(self, state: ProcgenState, resolution: float) -> tuple:
        agent = state.agent  # floor, not round: round() sends 3.5 and 4.5 both to 4
        key: tuple = (math.floor(agent[0] / resolution), math.floor(agent[1] / resolution))
        if self.velocity_resolution is not None:
            key += (math.floor(agent[2] / self.velocity_resolution), math.floor(agent[3] / self.velocity_resolution))
        return key + (state.others(), state.tail_digest())

    def priority(self, state: ProcgenState, depth: int) -> tuple[float, int]:
        """Smaller expands first."""
        if self.order == "breadth":
            return (0.0, depth)
        return (-round(float(state.agent[0]), 1), depth)


# Maze: the agent moves a whole cell per step and nothing else moves, so the cell is the state.
# Heist: half-cell positions first (86% of levels within 2 s in the reference notes), finer on
# failure. Coinrun: position and velocity, best-first to the right (96% at 0.07 s there).
GAME_SPECS: dict[str, GameSpec] = {
    "maze": GameSpec("maze", MAZE_MOVES, resolutions=(1.0,), max_expansions=20_000),
    "heist": GameSpec("heist", EIGHT_WAY_MOVES, resolutions=(0.5, 0.25), repeat=4, max_expansions=30_000),
    "coinrun": GameSpec(
        "coinrun", COINRUN_MOVES, resolutions=(0.5, 0.25), velocity_resolution=0.1, order="rightward",
        partial=True, max_expansions=20_000,
    ),
}  # fmt: skip


class SavedStatePlanner(SavedStateExpert):
    """An expert for the games in `GAME_SPECS`: search over saved states for a completed level.

    Search cost is counted in expansions (one restore + one step + one save), not wall time, so
    runs are reproducible on a loaded machine (the same run measured 3.9k and 8.4k expansions/s
    on this shared machine). If a search exhausts `max_expansions` without a plan (and the game
    allows no partial plan), or finds none, the slot takes a seeded random move and re-plans on
    the next step.

    `stats` counts, since construction: `plans` (searches run), `expansions`,
    `budget_exhausted` (searches stopped by the budget), `partial_plans` (of those, the ones
    that returned the plan to their best state), `no_path` (searches that ran out of states at
    every resolution), `fallback_actions` (random moves taken for want of a plan) and
    `deviations` (steps where a slot's frame was not the one its plan predicted, e.g. after an
    epsilon-random action).
    """

    def __init__(
        self,
        game: str,
        max_expansions: int | None = None,
        seed: int = 0,
        max_remembered: int = 500_000,
        temperature: float = 0.0,
    ) -> None:
        if game not in GAME_SPECS:
            raise ValueError(f"no planner for {game!r}; planners exist for {', '.join(sorted(GAME_SPECS))}")
        super().__init__(game, seed, temperature)
        self.spec = GAME_SPECS[game]
        self.max_expansions = self.spec.max_expansions if max_expansions is None else max_expansions
        if self.max_expansions < 1:
            raise ValueError(f"max_expansions must be positive, got {self.max_expansions}")
        self.max_remembered = max_remembered
        self._options: dict[bytes, list[Option]] = {}
        self.rng = np.random.default_rng(seed)
        self.stats: dict[str, int] = dict.fromkeys(
            ("plans", "expansions", "budget_exhausted", "partial_plans", "no_path", "fallback_actions", "deviations"), 0
        )
        self._known: dict[bytes, Step] = {}
        # `_following[slot]`: (frame digest, exact key) the slot's last action should lead to.

    def _act(self, observations: np.ndarray, slots: np.ndarray) -> np.ndarray:
        if self.temperature > 0:
            return self._act_sampled(observations, slots)
        actions = np.empty(len(slots), dtype=np.int64)
        replan: list[int] = []
        for j, (i, frame) in enumerate(zip(slots, observations)):
            expected = self._following[i]
            if expected is None:
                replan.append(j)
                continue
            step = self._known.get(expected[1])
            if frame_digest(frame) != expected[0]:
                self.stats["deviations"] += 1
                replan.append(j)
            elif step is None:
                replan.append(j)  # the memory was cleared under this slot
            else:
                actions[j] = self._take(i, step)
        if replan:
            states = self._env.get_states()
            for j in replan:
                i = slots[j]
                parsed = parse_state(states[i])
                key = parsed.exact_key()
                step = self._known.get(key)  # a level seen before, or another slot just planned it
                if step is None:
                    plan = self._search(parsed, key)
                    if plan is not None:
                        if len(self._known) + len(plan) > self.max_remembered:
                            self._known.clear()
                        self._known.update(plan)
                        step = plan[key]
                if step is None:
                    self.stats["fallback_actions"] += 1
                    actions[j] = self.spec.moves[self.rng.integers(len(self.spec.moves))]
                    self._following[i] = None
                else:
                    actions[j] = self._take(i, step)
        return actions

    def _act_sampled(self, observations: np.ndarray, slots: np.ndarray) -> np.ndarray:
        """Stochastic mode: each slot draws among the known moves of its state (module docstring)."""
        actions = np.empty(len(slots), dtype=np.int64)
        states: list[bytes] | None = None
        for j, (i, frame) in enumerate(zip(slots, observations)):
            options = None
            expected = self._following[i]
            if expected is not None:
                if frame_digest(frame) == expected[0]:
                    options = self._options.get(expected[1])
                else:
                    self.stats["deviations"] += 1
            if options is None:
                states = self._env.get_states() if states is None else states
                parsed = parse_state(states[i])
                key = parsed.exact_key()
                options = self._options.get(key)
                if options is None:
                    found = self._search(parsed, key, sampled=True)
                    if found is not None:
                        if len(self._options) + len(found) > self.max_remembered:
                            self._options.clear()
                        self._options.update(found)
                        options = found.get(key)
            rng = self.episode_rngs[int(i)]
            if not options:
                self.stats["fallback_actions"] += 1
                actions[j] = self.spec.moves[rng.integers(len(self.spec.moves))]
                self._following[i] = None
                continue
            action, digest, child, _ = options[softmax_choice(-np.array([o[3] for o in options]), self.temperature, rng)]
            actions[j] = action
            self._following[i] = None if digest is None or child is None else (digest, child)
        return actions

    def _take(self, slot: int, step: Step) -> int:
        action, digest, key = step
        self._following[slot] = None if digest is None or key is None else (digest, key)
        return action

    def _search(self, root: ProcgenState, root_key: bytes, sampled: bool = False) -> dict | None:
        """Search from `root` at each resolution in turn; a plan (exact key -> step), or None.

        With `sampled`, the plan is instead every expanded state's options (exact key ->
        [`Option`]), costed over the explored graph.
        """
        self.stats["plans"] += 1
        budget = self.max_expansions
        for resolution in self.spec.resolutions:
            plan, used, exhausted = self._search_at(root, root_key, resolution, budget, sampled)
            budget -= used
            self.stats["expansions"] += used
            if plan is not None:
                return plan
            if exhausted:
                self.stats["budget_exhausted"] += 1
                return None
        self.stats["no_path"] += 1
        return None

    def _search_at(
        self, root: ProcgenState, root_key: bytes, resolution: float, budget: int, sampled: bool = False
    ) -> tuple[dict | None, int, bool]:
        """One search with states merged at `resolution`: (plan or None, expansions, budget hit)."""
        env, spec = self._scratch, self.spec
        finish = _options_to if sampled else _plan_to
        root_search_key = spec.search_key(root, resolution)
        nodes: list[Node] = [(root.raw, root_key, None, -1, -1, root_search_key)]
        seen = {root_search_key}
        tie = itertools.count()
        frontier = [(spec.priority(root, 0), next(tie), 0, 0)]  # (priority, tie, node, depth)
        best = (spec.priority(root, 0), 0)
        expansions = 0
        while frontier:
            _, _, node, depth = heapq.heappop(frontier)
            state = nodes[node][0]
            parent_key = spec.search_key(parse_state(state), resolution)
            for action in spec.moves:
                if expansions >= budget:
                    if spec.partial and best[1] != 0:
                        self.stats["partial_plans"] += 1
                        return finish(nodes, best[1], None), expansions, False
                    return None, expansions, True
                env.callmethod("set_state", [state])
                parent = node
                for _ in range(spec.repeat):  # hold the action until the agent leaves its key
                    env.act(np.array([action], dtype=np.int32))
                    reward, ob, first = env.observe()
                    expansions += 1
                    if first[0]:
                        break
                    child = parse_state(env.callmethod("get_state")[0])
                    key = spec.search_key(child, resolution)
                    nodes.append((child.raw, child.exact_key(), frame_digest(ob["rgb"][0]), parent, action, key))
                    parent = len(nodes) - 1
                    if key != parent_key:
                        break
                if first[0]:
                    if reward[0] > 0:
                        return finish(nodes, parent, action), expansions, False
                    continue  # died or timed out: the frame already belongs to a new episode
                if key in seen:
                    continue
                seen.add(key)
                priority = spec.priority(child, depth + 1)
                heapq.heappush(frontier, (priority, next(tie), parent, depth + 1))
                if priority < best[0]:
                    best = (priority, parent)
        return None, expansions, False


def _plan_to(nodes: list[Node], last: int, final_action: int | None) -> dict[bytes, Step]:
    """Walk the search tree back from node `last`; `final_action` completes the level from it.

    With `final_action` None (a partial plan), the plan ends by arriving at `last`.
    """
    plan: dict[bytes, Step] = {}
    child = last
    if final_action is not None:
        plan[nodes[last][1]] = (final_action, None, None)
    while nodes[child][3] >= 0:
        _, key, digest, parent, action, _ = nodes[child]
        step_key = nodes[parent][1]
        plan[step_key] = (action, None, None) if child == last and final_action is None else (action, digest, key)
        child = parent
    return plan


def _options_to(nodes: list[Node], last: int, final_action: int | None) -> dict[bytes, list[Option]]:
    """Every move the search tried from each state, costed as 1 + its child's steps to node `last`.

    Steps are counted over the search tree, where a state the search pruned as a duplicate of
    a search key counts as that key's first (expanded) state: a backward 0-1 breadth-first pass
    from `last` along the tree's transitions (1 step each) and those merges (0 steps). A held
    action's intermediate frames are tree nodes too, so their cost is exact. Moves into states
    without a known distance (dead ends the search never linked to the goal, deaths: those
    have no node) get an infinite cost, and states without a finite move are left out.
    `final_action` completes the level from `last` (None: a partial plan that ends there).
    """
    first_of: dict[tuple, int] = {nodes[0][5]: 0}
    children: dict[int, list[int]] = {}
    for n, node in enumerate(nodes[1:], start=1):
        children.setdefault(node[3], []).append(n)
        if node[5] != nodes[node[3]][5]:
            first_of.setdefault(node[5], n)
    # Reverse edges: (node -> predecessors with their cost).
    before: dict[int, list[tuple[int, float]]] = {}
    for n, node in enumerate(nodes[1:], start=1):
        before.setdefault(n, []).append((node[3], 1.0))
        representative = first_of.get(node[5], n)
        if n not in children and representative != n:
            before.setdefault(representative, []).append((n, 0.0))
    distance = {last: 1.0 if final_action is not None else 0.0}
    queue = collections.deque([last])
    while queue:
        n = queue.popleft()
        for m, cost in before.get(n, ()):
            d = distance[n] + cost
            if d < distance.get(m, math.inf):
                distance[m] = d
                queue.appendleft(m) if cost == 0.0 else queue.append(m)
    options: dict[bytes, list[Option]] = {}
    for n, node in enumerate(nodes[1:], start=1):
        options.setdefault(nodes[node[3]][1], []).append((node[4], node[2], node[1], 1.0 + distance.get(n, math.inf)))
    if final_action is not None:
        options.setdefault(nodes[last][1], []).append((final_action, None, None, 1.0))
    return {key: moves for key, moves in options.items() if any(math.isfinite(m[3]) for m in moves)}


class MazePlanner(SavedStatePlanner):
    """The maze expert (`SavedStatePlanner("maze")`), under the name the quickstart configs use.

    Costs on one core (easy mode, levels 0-49): every level solved with return 10 in 14.6
    steps on average; about 240 expansions and 70 ms of planning per episode.
    """

    SUPPORTED_GAMES = ("maze",)

    def __init__(
        self, max_expansions: int = 20_000, seed: int = 0, max_remembered: int = 500_000, temperature: float = 0.0
    ) -> None:
        super().__init__("maze", max_expansions=max_expansions, seed=seed, max_remembered=max_remembered, temperature=temperature)
