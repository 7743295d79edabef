"""`StitchMazeVecEnv`: the stitching maze batched, with `ProcgenVecEnv`'s exact contract.

Why a vector env of its own: rlgen's collection and evaluation loops drive `ProcgenVecEnv`
(same-step auto-reset, per-slot level seeds, `pinned` / `repin` for paired evaluation). Giving
the stitching maze the same contract lets those loops run it unchanged, and stepping all slots
as numpy arrays keeps Python per-step work out of the hot loop (no per-slot env objects).

Contract (as `rlgen_envs.procgen.ProcgenVecEnv`):

- `step` returns the reward of the action just taken (1 on reaching the goal) and the
  `terminated` / `truncated` flags of the episode it ended (`truncated`: `max_episode_steps`
  reached without the goal). The observation returned with an episode's last reward is already
  the first observation of the slot's next episode (same-step auto-reset); there is no final
  observation.
- `info["level_seed"]` (n,) level of the episode each returned observation belongs to;
  `info["episode_level_seed"]`, `info["level_complete"]`, `info["episode_length"]` describe the
  episode that just ended (meaningful where `terminated | truncated`).
- Extra per-step arrays a stitching dataset keeps: `info["waypoint"]` (n, 3) int64
  `(level, row, col)` of the agent in each returned observation, and `info["goal"]` (n, 2) int64
  the goal of the episode that observation belongs to. `info["episode_goal"]` (n, 2) is the goal
  of the episode that just ended.

Tasks: each episode's (start, goal) comes from a `task_sampler(level, rng) -> StitchTask` when
given (region-restricted collection), else start and goal are distinct free blocks drawn
uniformly; the level is drawn uniformly from [start_level, start_level + num_levels).
`StitchMazeVecEnv.pinned(tasks)` gives each slot one fixed task that it replays after every
auto-reset, and `repin(slot, task)` moves a slot to another task (evaluation of fixed
(start, goal) pairs, each played k times). `tasks` holds each slot's current task, so a behaviour
policy can read it through `attach` (`StitchTask.region` is an opaque tag the sampler sets).

Actions are the maze's five (0 stay, 1 up, 2 down, 3 left, 4 right), not Procgen's fifteen.
`move` (`rlgen_envs.stitch_maze`): `cell` moves a whole cell per action, positions are cell
centres; `block` one block. A training env takes its task sampler's `move` when not given (a
`rlgen.stitch.Regions` / `Hops` structure carries one), so tasks and steps always agree.
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple, Sequence

import gymnasium
import numpy as np
from gymnasium import spaces

from rlgen_envs.stitch_maze import (
    DEFAULT_MOVE,
    AGENT_COLOUR,
    BLOCK_PIXELS,
    GOAL_COLOUR,
    MOVES,
    PADDED,
    SIZE,
    OBS_MODES,
    WALL_COLOUR,
    egocentric_observation,
    free_positions,
    is_position,
    layout,
    move_stride,
    observation_space,
    step_positions,
    vector_observation,
)

Position = tuple[int, int]


class StitchTask(NamedTuple):
    """One episode's task: level, start and goal blocks; `region` is the sampler's tag (-1: none)."""

    level: int
    start: Position
    goal: Position
    region: int = -1


TaskSampler = Callable[[int, np.random.Generator], StitchTask]

_MOVES = np.array(MOVES, dtype=np.int64)
_FRAME = PADDED * BLOCK_PIXELS


def random_task(level: int, rng: np.random.Generator, move: str = DEFAULT_MOVE) -> StitchTask:
    """Start and goal: two distinct positions of `level` under `move`, uniformly."""
    free = free_positions(level, move)
    i, j = rng.choice(len(free), size=2, replace=False)
    return StitchTask(level, free[i], free[j])


def _background(level: int) -> np.ndarray:
    """(64, 64, 3) uint8 frame of `level`'s walls and floor (cached per level by the caller)."""
    blocks = np.zeros((PADDED, PADDED, 3), dtype=np.uint8)
    walls = np.ones((PADDED, PADDED), dtype=bool)
    walls[:SIZE, :SIZE] = layout(level)
    blocks[walls] = WALL_COLOUR
    return np.repeat(np.repeat(blocks, BLOCK_PIXELS, axis=0), BLOCK_PIXELS, axis=1)


class StitchMazeVecEnv(gymnasium.vector.VectorEnv):
    """`num_envs` stitching mazes stepped as arrays; see the module docstring for the contract."""

    metadata = {"autoreset_mode": "same-step", "render_modes": []}
    step_extras = ("waypoint", "goal")
    """Per-step info arrays collection stores in shards (`step_waypoint`, `step_goal`)."""

    def __init__(
        self,
        num_envs: int = 1,
        start_level: int = 0,
        num_levels: int = 1,
        obs_mode: str = "image",
        max_episode_steps: int = 100,
        seed: int = 0,
        task_sampler: TaskSampler | None = None,
        *,
        move: str | None = None,
        _pinned: Sequence[StitchTask] | None = None,
    ) -> None:
        sampler_move = getattr(task_sampler, "move", None)
        if move is not None and sampler_move is not None and move != sampler_move:
            raise ValueError(f"move {move!r} differs from the task sampler's {sampler_move!r}")
        self.move = move or sampler_move or DEFAULT_MOVE
        move_stride(self.move)
        if obs_mode not in OBS_MODES:
            raise ValueError(f"obs_mode must be one of {OBS_MODES}, got {obs_mode!r}")
        if num_envs < 1 or num_levels < 1 or start_level < 0 or max_episode_steps < 1:
            raise ValueError("need num_envs >= 1, num_levels >= 1, start_level >= 0 and max_episode_steps >= 1")
        self.num_envs = num_envs
        self.start_level = start_level
        self.num_levels = num_levels
        self.obs_mode = obs_mode
        self.max_episode_steps = max_episode_steps
        self.step_limit = max_episode_steps
        self.task_sampler = task_sampler or (lambda level, rng: random_task(level, rng, self.move))
        self._seed = seed
        self._pinned: list[StitchTask] | None = [self._checked(t) for t in _pinned] if _pinned is not None else None
        self.single_action_space = spaces.Discrete(len(MOVES))
        self.action_space = spaces.MultiDiscrete(np.full(num_envs, len(MOVES)))
        self.single_observation_space = observation_space(obs_mode)
        self.observation_space = spaces.Box(
            self.single_observation_space.low.min(), self.single_observation_space.high.max(),
            (num_envs, *self.single_observation_space.shape), self.single_observation_space.dtype,
        )
        self.tasks: list[StitchTask] = []
        self.levels = np.zeros(num_envs, dtype=np.int64)
        self.agents = np.zeros((num_envs, 2), dtype=np.int64)
        self.goals = np.zeros((num_envs, 2), dtype=np.int64)
        self._walls = np.ones((num_envs, SIZE, SIZE), dtype=bool)
        self._elapsed = np.zeros(num_envs, dtype=np.int64)
        self._backgrounds: dict[int, np.ndarray] = {}
        self._rng = np.random.default_rng(seed)

    @classmethod
    def pinned(
        cls, tasks: Sequence[StitchTask], obs_mode: str = "image", max_episode_steps: int = 100, seeds: Sequence[int] | None = None,
        move: str = DEFAULT_MOVE,
    ) -> StitchMazeVecEnv:
        """One slot per task, each replaying its task after every auto-reset; `repin` moves a slot.

        `seeds` is accepted for `ProcgenVecEnv.pinned`'s signature; the maze is deterministic
        given the task, so it changes nothing.
        """
        tasks = [StitchTask(*t) for t in tasks]
        levels = [t.level for t in tasks]
        return cls(len(tasks), min(levels), 1, obs_mode, max_episode_steps, move=move, _pinned=tasks)

    def repin(self, slot: int, task: StitchTask | Sequence, seed: int = 0) -> np.ndarray:
        """Start a new episode of `task` in `slot` (pinned envs only); returns its first observation."""
        if self._pinned is None:
            raise RuntimeError("repin needs an environment built with StitchMazeVecEnv.pinned")
        task = self._checked(StitchTask(*task))
        self._pinned[slot] = task
        self._begin(np.array([slot]))
        return self._observe(np.array([slot]))[0]

    # -- gymnasium API -------------------------------------------------------------------------

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        """Begin an episode in every slot; `seed` fixes level and task sampling."""
        if seed is not None:
            self._seed = seed
        self._rng = np.random.default_rng(self._seed)
        self.tasks = [StitchTask(0, (1, 1), (1, 1))] * self.num_envs
        everyone = np.arange(self.num_envs)
        self._begin(everyone)
        return self._observe(everyone), {"level_seed": self.levels.copy(), **self._position_info()}

    def step(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict]:
        if not self.tasks:
            raise RuntimeError("call reset() before step()")
        actions = np.asarray(actions)
        if actions.shape != (self.num_envs,):
            raise ValueError(f"expected {self.num_envs} actions, got shape {actions.shape}")
        if actions.min() < 0 or actions.max() >= len(MOVES):
            raise ValueError(f"actions must lie in [0, {len(MOVES)}): 0 stay, 1 up, 2 down, 3 left, 4 right")
        self.agents = step_positions(self._walls, self.agents, actions, self.move)
        self._elapsed += 1
        complete = (self.agents == self.goals).all(axis=1)
        truncated = ~complete & (self._elapsed >= self.max_episode_steps)
        ended = complete | truncated
        info = {
            "episode_level_seed": self.levels.copy(),
            "level_complete": complete,
            "episode_length": np.where(ended, self._elapsed, 0),
            "episode_goal": self.goals.copy(),
        }
        done = np.flatnonzero(ended)
        if len(done):
            self._begin(done)
        info.update(level_seed=self.levels.copy(), **self._position_info())
        return self._observe(np.arange(self.num_envs)), complete.astype(np.float32), complete, truncated, info

    # -- internals -----------------------------------------------------------------------------

    def _checked(self, task: StitchTask) -> StitchTask:
        walls = layout(int(task.level))
        start, goal = tuple(int(x) for x in task.start), tuple(int(x) for x in task.goal)
        for what, pos in (("start", start), ("goal", goal)):
            if not (0 <= pos[0] < SIZE and 0 <= pos[1] < SIZE) or walls[pos] or not is_position(pos, self.move):
                what_is = "a free block" if self.move == "block" else "a cell centre (odd row and column)"
                raise ValueError(f"{what} {pos} is not {what_is} of level {task.level}")
        if start == goal:
            raise ValueError(f"task {task}: start and goal are the same block")
        return StitchTask(int(task.level), start, goal, int(task.region))  # type: ignore[arg-type]

    def _begin(self, slots: np.ndarray) -> None:
        """New episodes in `slots`: pinned task, or a level drawn from the range and a sampled task."""
        for i in slots:
            if self._pinned is not None:
                task = self._pinned[i]
            else:
                level = self.start_level + int(self._rng.integers(self.num_levels))
                task = self._checked(StitchTask(*self.task_sampler(level, self._rng)))
                if task.level != level:
                    raise ValueError(f"task sampler returned level {task.level} for level {level}")
            self.tasks[i] = task
            self.levels[i] = task.level
            self.agents[i] = task.start
            self.goals[i] = task.goal
            self._elapsed[i] = 0
        self._walls[slots] = np.stack([layout(int(self.levels[i])) for i in slots])

    def _position_info(self) -> dict[str, np.ndarray]:
        waypoint = np.concatenate([self.levels[:, None], self.agents], axis=1)
        return {"waypoint": waypoint, "goal": self.goals.copy()}

    def _observe(self, slots: np.ndarray) -> np.ndarray:
        if self.obs_mode == "vector":
            return vector_observation(self.agents[slots], self.goals[slots], self._walls[slots])
        if self.obs_mode == "egocentric":
            return egocentric_observation(self.agents[slots], self.goals[slots], self._walls[slots])
        frames = np.empty((len(slots), _FRAME, _FRAME, 3), dtype=np.uint8)
        for k, i in enumerate(slots):
            level = int(self.levels[i])
            background = self._backgrounds.get(level)
            if background is None:
                if len(self._backgrounds) >= 4096:
                    self._backgrounds.clear()
                background = self._backgrounds[level] = _background(level)
            frames[k] = background
        b = BLOCK_PIXELS
        offsets = np.arange(b)
        for colour, cells in ((GOAL_COLOUR, self.goals[slots]), (AGENT_COLOUR, self.agents[slots])):
            rows = (cells[:, 0:1] * b + offsets)[:, :, None]  # (n, b, 1)
            cols = (cells[:, 1:2] * b + offsets)[:, None, :]  # (n, 1, b)
            frames[np.arange(len(slots))[:, None, None], rows, cols] = colour
        return frames
