"""A search expert for every Procgen game: receding-horizon rollouts over restored saved states.

Why: 13 of the 16 games have no BFS planner (`rlgen.policies.planner`), and their rewards come
from collecting and surviving (bigfish, starpilot, chaser, ...), not from reaching one goal
cell. Procgen restores its full state, random generator included, so a rollout from a restored
state predicts the real future of the same actions exactly (../shared/reference/
procgen-planners.md). `SearchExpert` uses that as a deterministic simulator:

- Every `replan` real steps, for each slot, it restores the slot's state into `rollouts`
  copies of a private vectorized Procgen env and plays `rollouts` action sequences of
  `horizon` steps in one batch (one C++ call per step for all copies): the *incumbent* (the
  rest of the sequence chosen last time), mutations of it (its prefix, then a random walk),
  and fresh random walks over the game's action classes, each class held for `repeat` steps
  (a walk that holds its action goes somewhere; one that changes it every frame jitters).
- A sequence scores its discounted reward, minus `death_penalty` when the episode ends without
  completing the level (a death; Procgen's `prev_level_complete` tells the two apart, since
  bigfish can die on a +1 step), plus an optional progress term read from the parsed state
  (the agent's x or y, or closing in on a goal entity) for rewards beyond the horizon.
- The simulator is exact, so the chosen sequence's score is a promise the real episode keeps
  while the expert follows it; between searches the slot follows it as long as its frames
  are the predicted ones (any other frame, e.g. after `EpsilonMixture` noise, searches at
  once), and the next search keeps it as a candidate, so plans only improve: the planner's
  plan memory in receding-horizon form.

Cost is counted in expansions (one simulated step of one copy): `rollouts * horizon` per
search, never wall time (`stats`). Stochastic mode (`temperature` > 0, the default for
datasets): each first action's value is the best score among the sequences that start with it,
and the action is drawn from a softmax of (value - best value) / temperature, so actions within
a fraction of a reward of the best are taken about as often as the best and dying ones almost
never; the generator is re-seeded per episode from (seed, slot, the slot's episode count)
(`EpisodeGenerators`), so a shard's bytes depend on its config and seed only. `temperature: 0`
takes the arg-max (ties: the incumbent).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from rlgen.policies.saved_state import SavedStateExpert, softmax_choice
from rlgen_envs.procgen_state import TYPE, WILL_ERASE, ProcgenState, parse_state

# Action semantics (all games): horizontal move a // 3 - 1, vertical a % 3 - 1 for a in 0..8;
# 9-14 are the extra buttons (fire in the shooters; unused elsewhere).
EIGHT_WAY = (0, 1, 2, 3, 5, 6, 7, 8)
FOUR_WAY = (1, 3, 5, 7)
NOOP = 4
FIRE = 9  # the "D" button: shoots in bossfight, starpilot, plunder, dodgeball; caveflyer's laser
PLATFORMER = (1, 2, 4, 5, 7, 8)  # left, left+jump, wait, jump, right, right+jump

SEARCH_TEMPERATURE = 0.5
"""The default `temperature` (reward units) for dataset building: stochastic, still expert by
return (bench/results/experts.json measures both)."""


@dataclass(frozen=True)
class SearchSpec:
    """The per-game settings of `SearchExpert` (everything else is shared).

    `actions`: the action classes sampled (one representative per distinct effect; a class
    listed k times is drawn k times as often: starpilot's walks fire often).
    `horizon`: simulated steps per sequence; `rollouts`: sequences per real step (their
    product is the expansion budget per step). `repeat`: how long a random sequence holds each
    sampled action. `progress`: what counts as progress, for games whose reward lies beyond any
    horizon, rewarded `progress_weight` per cell: "x" or "y" (the agent's coordinate in the
    parsed state: coinrun's coin at the right end, climber's top), "goal" (closing in on the
    nearest entity of type `goal_type`: jumper's carrot, dodgeball's exit), "path" (fewer grid steps, around
    `wall_cells`, to the nearest of `target_cells`, else to a `goal_type` entity: chaser's orbs,
    miner's diamonds then its exit), None: reward only. `discount` makes earlier
    reward worth more than later, so the expert does not postpone it forever.
    """

    game: str
    actions: tuple[int, ...]
    horizon: int = 24
    rollouts: int = 16
    repeat: int = 4
    death_penalty: float = 10.0
    progress: str | None = None
    progress_weight: float = 0.0
    goal_type: int | None = None
    target_cells: tuple[int, ...] = ()
    wall_cells: tuple[int, ...] = ()
    fire_cost: float = 0.0
    """Charged per FIRE in a sequence: plunder's shots eat its timer, a cost beyond the horizon."""
    temperature_scale: float = 1.0
    """Multiplies the expert's `temperature`: in games of many small rewards (starpilot's +1 per
    kill, 60 a level) a reward's worth of difference decides little, and the default
    temperature cost starpilot 15% of its return (2 levels: 57 vs 66 at temperature 0)."""
    discount: float = 0.98
    replan: int = 2
    """Search every `replan` real steps; in between, follow the chosen sequence (its frames
    predicted exactly), which divides the cost per real step by `replan`."""

    def __post_init__(self) -> None:
        if self.horizon < self.replan or self.rollouts < 2 or self.repeat < 1 or self.replan < 1 or self.temperature_scale <= 0:
            raise ValueError(f"{self.game}: horizon and repeat must be >= 1 and rollouts >= 2, got {self}")
        if self.progress not in (None, "x", "y", "goal", "path") or (self.progress == "goal" and self.goal_type is None):
            raise ValueError(f"{self.game}: progress must be None, 'x', 'y', 'goal' (with goal_type) or 'path', got {self.progress!r}")

    @property
    def expansions_per_step(self) -> int:
        """Expansions per search (a search runs every `replan` real steps, or on a deviation)."""
        return self.horizon * self.rollouts


SEARCH_SPECS: dict[str, SearchSpec] = {
    "bigfish": SearchSpec("bigfish", EIGHT_WAY + (NOOP,)),
    "bossfight": SearchSpec("bossfight", EIGHT_WAY + (NOOP, FIRE), rollouts=24),
    "caveflyer": SearchSpec("caveflyer", (1, 2, 5, 7, 8, 4, FIRE), horizon=32, progress="x", progress_weight=0.05),
    "chaser": SearchSpec(
        "chaser", FOUR_WAY + (NOOP,), rollouts=32, progress="path", target_cells=(1002,), wall_cells=(5,), progress_weight=0.5
    ),
    "climber": SearchSpec("climber", PLATFORMER, horizon=32, progress="y", progress_weight=0.2),
    "coinrun": SearchSpec("coinrun", PLATFORMER, horizon=32, progress="x", progress_weight=0.2),
    "dodgeball": SearchSpec("dodgeball", EIGHT_WAY + (NOOP, FIRE), progress="goal", goal_type=5, progress_weight=0.2),
    "fruitbot": SearchSpec("fruitbot", (1, 4, 7, FIRE), horizon=40, rollouts=24),
    "heist": SearchSpec("heist", EIGHT_WAY, horizon=32),
    "jumper": SearchSpec("jumper", PLATFORMER, horizon=32, progress="goal", goal_type=1, progress_weight=0.3),
    "leaper": SearchSpec("leaper", FOUR_WAY + (NOOP,), progress="y", progress_weight=0.5),
    "maze": SearchSpec("maze", FOUR_WAY, horizon=32),
    "miner": SearchSpec(
        "miner", FOUR_WAY + (NOOP,), progress="path", target_cells=(2,), wall_cells=(1,), goal_type=6, progress_weight=0.3
    ),
    "ninja": SearchSpec("ninja", PLATFORMER, horizon=32, progress="x", progress_weight=0.2),
    "plunder": SearchSpec("plunder", (1, 4, 7, FIRE), horizon=48, repeat=2, fire_cost=0.3),
    "starpilot": SearchSpec("starpilot", EIGHT_WAY + (NOOP,) + (FIRE,) * 4, rollouts=24, temperature_scale=0.2),
}  # fmt: skip


class SearchExpert(SavedStateExpert):
    """Receding-horizon rollout search over Procgen saved states (module docstring); any game.

    `max_expansions` overrides the spec's budget per search (the sequence count follows:
    `max_expansions // horizon`, at least 2). Between searches (every `spec.replan` real
    steps) a slot follows its chosen sequence while its frames are the ones the rollout
    predicted; any other frame (a step of `EpsilonMixture` noise) searches at once. `stats`
    counts `plans` (searches run), `expansions` (simulated steps), `deaths_foreseen`
    (searches whose best sequence still dies), `deviations` (unpredicted frames) and `steps`.
    """

    def __init__(
        self,
        game: str,
        *,
        temperature: float = 0.0,
        max_expansions: int | None = None,
        horizon: int | None = None,
        seed: int = 0,
    ) -> None:
        if game not in SEARCH_SPECS:
            raise ValueError(f"no search settings for {game!r}; games: {', '.join(sorted(SEARCH_SPECS))}")
        super().__init__(game, seed, temperature)
        spec = SEARCH_SPECS[game]
        if horizon is not None:
            if isinstance(horizon, bool) or not isinstance(horizon, int) or horizon < spec.replan:
                raise ValueError(f"horizon must be an integer >= {spec.replan} for {game}, got {horizon!r}")
            spec = replace(spec, horizon=horizon)
        if max_expansions is not None:
            if isinstance(max_expansions, bool) or not isinstance(max_expansions, int) or max_expansions < 2 * spec.horizon:
                raise ValueError(
                    f"max_expansions must be an integer >= 2 * horizon ({2 * spec.horizon}) for {game}, got {max_expansions!r}"
                )
            spec = replace(spec, rollouts=max_expansions // spec.horizon)
        self.spec = spec
        self.stats: dict[str, int] = dict.fromkeys(("plans", "expansions", "deaths_foreseen", "deviations", "steps"), 0)
        self._softmax_temperature = self.temperature * spec.temperature_scale
        # `_following[slot]`: the chosen sequence's remaining actions, and the frames they were
        # predicted to show.

    def _scratch_envs(self) -> int:
        return self.spec.rollouts

    def _act(self, observations: np.ndarray, slots: np.ndarray) -> np.ndarray:
        actions = np.empty(len(slots), dtype=np.int64)
        states: list[bytes] | None = None
        for j, (i, frame) in enumerate(zip(slots, observations)):
            plan = self._following[i]
            if plan is not None and len(plan[1]) and np.array_equal(plan[1][0], frame):
                actions[j] = plan[0][0]
                self._following[i] = (plan[0][1:], plan[1][1:])
                continue
            if plan is not None and len(plan[1]):
                self.stats["deviations"] += 1
            states = self._env.get_states() if states is None else states
            actions[j] = self._plan(int(i), states[i])
        self.stats["steps"] += len(slots)
        return actions

    def _candidates(self, rng: np.random.Generator, incumbent: np.ndarray | None) -> np.ndarray:
        """(rollouts, horizon) int32 action sequences: incumbent, its mutations, random walks."""
        spec = self.spec
        moves = np.asarray(spec.actions, dtype=np.int32)
        chunks = -(-spec.horizon // spec.repeat)
        walks = moves[rng.integers(len(moves), size=(spec.rollouts, chunks))]
        seqs = np.repeat(walks, spec.repeat, axis=1)[:, : spec.horizon]
        if incumbent is not None and len(incumbent):
            seqs[0, : len(incumbent)] = incumbent
            # Mutations: a prefix of the incumbent, then a random walk.
            for k in range(1, spec.rollouts // 2):
                cut = int(rng.integers(0, len(incumbent)))
                seqs[k, :cut] = incumbent[:cut]
        return seqs

    def _plan(self, slot: int, state: bytes) -> int:
        """Search from `state`; commit the slot to the chosen sequence's first `replan` steps."""
        spec, rng = self.spec, self.episode_rngs[slot]
        plan = self._following[slot]
        seqs = self._candidates(rng, None if plan is None else plan[0])
        scores, frames = self._rollout(state, seqs)
        self.stats["plans"] += 1
        self.stats["expansions"] += spec.expansions_per_step
        first = seqs[:, 0]
        best = int(np.argmax(scores))
        if self._softmax_temperature > 0:
            classes = np.unique(first)
            values = np.array([scores[first == a].max() for a in classes])
            choice = classes[softmax_choice(values, self._softmax_temperature, rng)]
            pick = np.flatnonzero(first == choice)
            best = int(pick[np.argmax(scores[pick])])
        if scores[best] <= -spec.death_penalty / 2:
            self.stats["deaths_foreseen"] += 1
        chosen = seqs[best]
        # The rest of the sequence is the next search's incumbent; its first `replan - 1` actions
        # are taken without a search while the frames are the predicted ones.
        self._following[slot] = (chosen[1:], frames[:, best])
        return int(chosen[0])

    def _rollout(self, state: bytes, seqs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Play every sequence from `state` in the scratch envs.

        Returns (rollouts,) float64 scores and (replan - 1, rollouts, 64, 64, 3) uint8 frames
        of the first steps (what the slot should see while it follows its choice).
        """
        spec, env = self.spec, self._scratch
        n = len(seqs)
        env.callmethod("set_state", [state] * n)
        start = _progress(state, spec) if spec.progress else 0.0
        score = np.zeros(n)
        alive = np.ones(n, dtype=bool)
        frames = np.empty((max(spec.replan - 1, 0), n, 64, 64, 3), dtype=np.uint8)
        weight = 1.0
        for t in range(spec.horizon):
            env.act(seqs[:, t])
            reward, ob, first = env.observe()
            if t < len(frames):
                frames[t] = ob["rgb"]
            score += np.where(alive, weight * (reward - spec.fire_cost * (seqs[:, t] == FIRE)), 0.0)
            ended = alive & first
            if ended.any():  # a death, unless the level was completed (bigfish can end on a +1)
                complete = np.array([info["prev_level_complete"] for info in env.get_info()], dtype=bool)
                score[ended & ~complete] -= spec.death_penalty
            alive &= ~first
            weight *= spec.discount
            if not alive.any() and t >= len(frames):
                break
        if spec.progress:
            end_states = env.callmethod("get_state")
            for k in np.flatnonzero(alive):
                score[k] += spec.progress_weight * (_progress(end_states[k], spec) - start)
        return score, frames


def _progress(state: bytes, spec: SearchSpec) -> float:
    """How far along the game's direction the agent is: its x or y, or minus its distance to
    the nearest live entity of type `spec.goal_type` (0 when none is left)."""
    parsed = parse_state(state)
    agent = parsed.agent
    if spec.progress == "x":
        return float(agent[0])
    if spec.progress == "y":
        return float(agent[1])
    goals = parsed.floats[(parsed.entities[:, TYPE] == spec.goal_type) & (parsed.entities[:, WILL_ERASE] == 0)]
    if spec.progress == "path":
        return -_path_length(parsed, spec, goals)
    if not len(goals):
        return 0.0
    return -float(np.hypot(goals[:, 0] - agent[0], goals[:, 1] - agent[1]).min())


def _path_length(parsed: ProcgenState, spec: SearchSpec, goals: np.ndarray) -> float:
    """Grid steps from the agent's cell to the nearest `target_cells` cell (else goal entity),
    around `wall_cells`, by breadth-first dilation (the grid's size when none is reachable),
    plus (height + width) per target cell left."""
    grid = parsed.grid()
    targets = np.isin(grid, spec.target_cells)
    # Each target left counts as a full crossing of the grid, so eating one never looks like a
    # step back (the next one is usually further away than the one just eaten).
    left = float(targets.sum()) * (grid.shape[0] + grid.shape[1])
    if not targets.any():
        cells = np.floor(goals[:, :2]).astype(int) if len(goals) else np.zeros((0, 2), int)
        inside = (cells[:, 0] >= 0) & (cells[:, 0] < grid.shape[1]) & (cells[:, 1] >= 0) & (cells[:, 1] < grid.shape[0])
        targets[cells[inside, 1], cells[inside, 0]] = True
    open_cells = ~np.isin(grid, spec.wall_cells)
    x, y = (int(v) for v in np.floor(parsed.agent[:2]))
    reached = np.zeros_like(targets)
    if 0 <= y < grid.shape[0] and 0 <= x < grid.shape[1]:
        reached[y, x] = True
    for steps in range(grid.size):
        if (reached & targets).any():
            return left + steps
        grown = reached.copy()
        grown[1:] |= reached[:-1]
        grown[:-1] |= reached[1:]
        grown[:, 1:] |= reached[:, :-1]
        grown[:, :-1] |= reached[:, 1:]
        grown &= open_cells | targets
        if (grown == reached).all():
            break
        reached = grown
    return left + grid.size
