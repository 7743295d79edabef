"""`ProcgenMazeStitchVecEnv`: Procgen maze with placed (start, goal) tasks, `StitchMazeVecEnv`'s contract.

Why: the stitching track needs tasks chosen by the benchmark (start and goal in one region for
collection, evaluation pairs across regions) and an exact waypoint per step. Procgen maze gives
neither on its own: it starts the mouse in a corner and puts the cheese where its generator
likes. Its saved state does both (`rlgen_envs.procgen_maze`): the mouse's cell is parsed from
the entity list, and `place_task` edits the state so the mouse stands on `start` and the
cheese lies on `goal`. The game itself still steps (Procgen's C++ maze, its walls, its reward
and its episode end on eating the cheese).

How an episode begins, in every slot, after `reset`, after every episode end and on `repin`:
the level's first saved state (a template, taken once per level and process from a fresh
`ProcgenGym3Env(start_level=level, num_levels=1)`), edited by `place_task`, is restored into the
slot with `set_state`. The level is drawn uniformly from [start_level, start_level + num_levels)
by this env (not by Procgen), the task by `task_sampler(level, rng)`; pinned envs replay their
slot's task. So an episode always starts at step 0 of its level with the placed task, and
Procgen's own auto-reset (to the level's generated start) is always overwritten at once.

Contract (as `rlgen_envs.StitchMazeVecEnv`):

- Actions: the 5 moves (0 stay, 1 up, 2 down, 3 left, 4 right), mapped to Procgen's 4, 5, 3, 1
  and 7. Procgen's other 10 actions do nothing different in maze (diagonals move horizontally
  only, the buttons are no-ops; ../shared/reference/procgen-planners.md), so the reduced set
  loses no behaviour and lets the grid maze's oracle and learners act unchanged.
- `step` returns reward 1 on reaching the goal (Procgen pays 10; success is the score),
  `terminated` on reaching it, `truncated` after `max_episode_steps` without it. Same-step
  auto-reset: the observation returned with an episode's last reward is the next episode's first.
- `info["level_seed"]`, `info["episode_level_seed"]`, `info["level_complete"]`,
  `info["episode_length"]`, `info["episode_goal"]` as `StitchMazeVecEnv`; the step extras
  `info["waypoint"]` (n, 3) int64 (level, row, col) and `info["goal"]` (n, 2) int64 are parsed
  from each slot's saved state after the step (row 0 at the top of the frame), never tracked
  on the side: the waypoint is the game's own position of the mouse.
- Observations, `obs_mode="vector"`: uint8 (4 + 3 * S * S,) with S the world's side (15 in easy
  mode, the same for every level; a level's maze is 3 x 3 to 15 x 15 cells inside it, walls
  around): agent row, col, goal row, col, the S x S walls, the agent's and the goal's one-hot
  planes, exactly the grid maze's layout (`vector_observation`). The goal is in the observation
  and relabelling it is exact: rewrite entries 2-3 and the goal plane. `obs_mode="egocentric"`:
  the grid maze's agent-centred view (`rlgen_envs.stitch_maze.egocentric_observation`: the walls
  in a (2S - 1)-wide window centred on the mouse, then the cheese's offset one-hot), uint8
  (2 (2S - 1)^2,); relabelling redraws the goal plane exactly. `obs_mode="image"`:
  Procgen's own 64 x 64 x 3 frames, read after the placement. The cheese is drawn by Procgen,
  so a relabelled goal cannot be redrawn exactly without the saved state (which datasets do not
  store); worlds refuse augmentation on frames rather than paint an approximate cheese.

Nothing here imports the rlgen pipeline.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Sequence

import gymnasium
import numpy as np
from gymnasium import spaces

from rlgen_envs.procgen_maze import MazeState, parse_maze_state, place_task
from rlgen_envs.stitch_maze import OBS_MODES, egocentric_observation, egocentric_size
from rlgen_envs.stitch_vec import StitchTask, TaskSampler

PROCGEN_ACTIONS = np.array([4, 5, 3, 1, 7], dtype=np.int32)
"""Procgen action of each move: stay (no-op), up, down, left, right."""
MOVES = ((0, 0), (-1, 0), (1, 0), (0, -1), (0, 1))
MODES = ("easy", "hard")


@lru_cache(maxsize=8192)
def level_state(level: int, mode: str = "easy") -> bytes:
    """The first saved state of maze `level` (its generated start and cheese), once per process.

    About 0.2 s (building a Procgen env); `set_state` of the bytes in any slot starts that level.
    """
    from procgen import ProcgenGym3Env

    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    env = ProcgenGym3Env(num=1, env_name="maze", distribution_mode=mode, start_level=int(level), num_levels=1)
    state = env.callmethod("get_state")[0]
    del env
    parsed = parse_maze_state(state)
    if parsed.level_seed != int(level):
        raise RuntimeError(f"asked Procgen for maze level {level}, got {parsed.level_seed}")
    return state


@lru_cache(maxsize=8192)
def level_walls(level: int, mode: str = "easy") -> np.ndarray:
    """(S, S) bool walls of maze `level` (row 0 at the top), parsed from its saved state; read-only."""
    walls = ~parse_maze_state(level_state(level, mode)).free
    walls.setflags(write=False)
    return walls


@dataclass(frozen=True)
class ProcgenMazeLayout:
    """`level -> walls` for Procgen maze in `mode`: the `layout` a stitching structure searches on.

    A frozen record rather than a closure so that it is hashable by value (it keys caches) and
    crosses process boundaries (Ray actors) by its mode alone.
    """

    mode: str = "easy"

    def __call__(self, level: int) -> np.ndarray:
        return level_walls(int(level), self.mode)

    @property
    def size(self) -> int:
        """The world's side S (every level of a mode has the same), from level 0."""
        return int(level_walls(0, self.mode).shape[0])


def vector_size(size: int) -> int:
    return 4 + 3 * size * size


def vector_maxima(size: int) -> np.ndarray:
    """(4 + 3 S^2,) uint8: the largest value each entry of a vector observation takes."""
    return np.array([size - 1] * 4 + [1] * (3 * size * size), dtype=np.uint8)


def vector_observation(agents: np.ndarray, goals: np.ndarray, walls: np.ndarray) -> np.ndarray:
    """(n, 4 + 3 S^2) uint8 from (n, 2) agent and goal cells and (n, S, S) walls (the grid maze's layout)."""
    agents, goals = np.asarray(agents, np.int64).reshape(-1, 2), np.asarray(goals, np.int64).reshape(-1, 2)
    walls = np.asarray(walls)
    n, size = len(agents), walls.shape[-1]
    cells = size * size
    out = np.zeros((n, vector_size(size)), dtype=np.uint8)
    out[:, 0:2], out[:, 2:4] = agents, goals
    out[:, 4 : 4 + cells] = walls.reshape(n, cells)
    rows = np.arange(n)
    out[rows, 4 + cells + agents[:, 0] * size + agents[:, 1]] = 1
    out[rows, 4 + 2 * cells + goals[:, 0] * size + goals[:, 1]] = 1
    return out


def relabel_vector_goals(observations: np.ndarray, new_goals: np.ndarray) -> np.ndarray:
    """Vector observations with the goal replaced (entries 2-3 and the goal plane); exact.

    (Egocentric observations: `rlgen_envs.stitch_maze.egocentric_goals`, which needs the agent's cells.)
    """
    obs = np.asarray(observations)
    size = int(round(np.sqrt((obs.shape[1] - 4) / 3)))
    if vector_size(size) != obs.shape[1]:
        raise ValueError(f"not a maze vector observation: {obs.shape[1]} entries")
    walls = obs[:, 4 : 4 + size * size].reshape(-1, size, size)
    return vector_observation(obs[:, 0:2], new_goals, walls).astype(obs.dtype, copy=False)


def random_task(level: int, rng: np.random.Generator, mode: str = "easy") -> StitchTask:
    """Start and goal: two distinct free cells of `level`, uniformly."""
    free = np.argwhere(~level_walls(level, mode))
    i, j = rng.choice(len(free), size=2, replace=False)
    return StitchTask(level, tuple(int(x) for x in free[i]), tuple(int(x) for x in free[j]))


class ProcgenMazeStitchVecEnv(gymnasium.vector.VectorEnv):
    """`num_envs` Procgen mazes with placed tasks; see the module docstring for the contract."""

    metadata = {"autoreset_mode": "same-step", "render_modes": []}
    step_extras = ("waypoint", "goal")
    """Per-step info arrays collection stores in shards (`step_waypoint`, `step_goal`)."""

    def __init__(
        self,
        num_envs: int = 1,
        start_level: int = 0,
        num_levels: int = 1,
        obs_mode: str = "vector",
        max_episode_steps: int = 100,
        seed: int = 0,
        task_sampler: TaskSampler | None = None,
        mode: str = "easy",
        *,
        _pinned: Sequence[StitchTask] | None = None,
    ) -> None:
        from procgen import ProcgenGym3Env

        if obs_mode not in OBS_MODES:
            raise ValueError(f"obs_mode must be one of {OBS_MODES}, got {obs_mode!r}")
        if num_envs < 1 or num_levels < 1 or start_level < 0 or not 1 <= max_episode_steps < 500:
            raise ValueError("need num_envs >= 1, num_levels >= 1, start_level >= 0 and 1 <= max_episode_steps < 500 (Procgen's own limit)")
        self.num_envs, self.start_level, self.num_levels = num_envs, start_level, num_levels
        self.obs_mode, self.mode = obs_mode, mode
        self.max_episode_steps = self.step_limit = max_episode_steps
        self.task_sampler = task_sampler
        self._seed = seed
        self._pinned = [self._checked(StitchTask(*t)) for t in _pinned] if _pinned is not None else None
        self.size = ProcgenMazeLayout(mode).size
        self.single_action_space = spaces.Discrete(len(MOVES))
        self.action_space = spaces.MultiDiscrete(np.full(num_envs, len(MOVES)))
        if obs_mode == "image":
            self.single_observation_space = spaces.Box(0, 255, (64, 64, 3), np.uint8)
        elif obs_mode == "egocentric":
            n = egocentric_size(self.size)
            self.single_observation_space = spaces.Box(np.zeros(n, np.uint8), np.ones(n, np.uint8), (n,), np.uint8)
        else:
            n = vector_size(self.size)
            self.single_observation_space = spaces.Box(np.zeros(n, np.uint8), vector_maxima(self.size), (n,), np.uint8)
        self.observation_space = spaces.Box(
            self.single_observation_space.low.min(), self.single_observation_space.high.max(),
            (num_envs, *self.single_observation_space.shape), np.uint8,
        )
        self._env = ProcgenGym3Env(
            num=num_envs, env_name="maze", distribution_mode=mode, start_level=start_level, num_levels=num_levels, rand_seed=seed
        )
        self.tasks: list[StitchTask] = []
        self.levels = np.zeros(num_envs, dtype=np.int64)
        self.agents = np.zeros((num_envs, 2), dtype=np.int64)
        self.goals = np.zeros((num_envs, 2), dtype=np.int64)
        self._walls = np.ones((num_envs, self.size, self.size), dtype=bool)
        self._elapsed = np.zeros(num_envs, dtype=np.int64)
        self._frames: np.ndarray | None = None
        self._rng = np.random.default_rng(seed)

    @classmethod
    def pinned(
        cls, tasks: Sequence[StitchTask], obs_mode: str = "vector", max_episode_steps: int = 100,
        seeds: Sequence[int] | None = None, mode: str = "easy",
    ) -> ProcgenMazeStitchVecEnv:
        """One slot per task, each replaying its task after every episode end; `repin` moves a slot.

        `seeds` is accepted for `ProcgenVecEnv.pinned`'s signature; a placed task is
        deterministic (maze draws no random numbers while stepping), so it changes nothing.
        """
        tasks = [StitchTask(*t) for t in tasks]
        return cls(len(tasks), min(t.level for t in tasks), 1, obs_mode, max_episode_steps, mode=mode, _pinned=tasks)

    def repin(self, slot: int, task: StitchTask | Sequence, seed: int = 0) -> np.ndarray:
        """Start a new episode of `task` in `slot` (pinned envs only); returns its first observation."""
        if self._pinned is None:
            raise RuntimeError("repin needs an environment built with ProcgenMazeStitchVecEnv.pinned")
        self._pinned[slot] = self._checked(StitchTask(*task))
        self._begin(np.array([slot]), self._env.callmethod("get_state"))
        return self._observe(np.array([slot]))[0]

    def get_states(self) -> list[bytes]:
        """Each slot's saved Procgen state (what the waypoints are parsed from)."""
        return list(self._env.callmethod("get_state"))

    # -- gymnasium API -------------------------------------------------------------------------

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        """Begin an episode in every slot; `seed` fixes level and task sampling."""
        if seed is not None:
            self._seed = seed
        self._rng = np.random.default_rng(self._seed)
        self.tasks = [StitchTask(0, (0, 0), (0, 0))] * self.num_envs
        everyone = np.arange(self.num_envs)
        self._begin(everyone, [b""] * self.num_envs)
        return self._observe(everyone), {"level_seed": self.levels.copy(), **self._position_info()}

    def step(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict]:
        if not self.tasks:
            raise RuntimeError("call reset() before step()")
        actions = np.asarray(actions)
        if actions.shape != (self.num_envs,):
            raise ValueError(f"expected {self.num_envs} actions, got shape {actions.shape}")
        if actions.min() < 0 or actions.max() >= len(MOVES):
            raise ValueError(f"actions must lie in [0, {len(MOVES)}): 0 stay, 1 up, 2 down, 3 left, 4 right")
        self._env.act(PROCGEN_ACTIONS[actions])
        reward, ob, first = self._env.observe()
        if self.obs_mode == "image":
            self._frames = ob["rgb"]
        states = self._env.callmethod("get_state")
        complete = first & (reward > 0)
        self._elapsed += 1
        ongoing = np.flatnonzero(~first)
        if len(ongoing):
            self._read(ongoing, [states[i] for i in ongoing])
        truncated = ~complete & ((self._elapsed >= self.max_episode_steps) | first)
        ended = complete | truncated
        info = {
            "episode_level_seed": self.levels.copy(),
            "level_complete": complete,
            "episode_length": np.where(ended, self._elapsed, 0),
            "episode_goal": self.goals.copy(),
        }
        done = np.flatnonzero(ended)
        if len(done):
            self._begin(done, states)
        info.update(level_seed=self.levels.copy(), **self._position_info())
        return self._observe(np.arange(self.num_envs)), complete.astype(np.float32), complete, truncated, info

    # -- internals -----------------------------------------------------------------------------

    def _checked(self, task: StitchTask) -> StitchTask:
        walls = level_walls(int(task.level), self.mode)
        start, goal = tuple(int(x) for x in task.start), tuple(int(x) for x in task.goal)
        for what, pos in (("start", start), ("goal", goal)):
            if not (0 <= pos[0] < walls.shape[0] and 0 <= pos[1] < walls.shape[1]) or walls[pos]:
                raise ValueError(f"{what} {pos} is not a free cell of maze level {task.level}")
        if start == goal:
            raise ValueError(f"task {task}: start and goal are the same cell")
        return StitchTask(int(task.level), start, goal, int(task.region))  # type: ignore[arg-type]

    def _sample(self) -> StitchTask:
        level = self.start_level + int(self._rng.integers(self.num_levels))
        task = random_task(level, self._rng, self.mode) if self.task_sampler is None else self.task_sampler(level, self._rng)
        task = self._checked(StitchTask(*task))
        if task.level != level:
            raise ValueError(f"task sampler returned level {task.level} for level {level}")
        return task

    def _begin(self, slots: np.ndarray, states: Sequence[bytes]) -> None:
        """New episodes in `slots`: the level's first state with the task placed, restored by `set_state`."""
        states = list(states)
        for i in slots:
            task = self._pinned[i] if self._pinned is not None else self._sample()
            self.tasks[i] = task
            states[i] = place_task(level_state(task.level, self.mode), task.start, task.goal)
            self._elapsed[i] = 0
        self._env.callmethod("set_state", states)
        self._read(slots, [states[i] for i in slots])
        for i in slots:
            if tuple(self.agents[i]) != self.tasks[i].start or tuple(self.goals[i]) != self.tasks[i].goal:
                raise RuntimeError(f"slot {i}: placing {self.tasks[i]} gave mouse {self.agents[i]}, cheese {self.goals[i]}")
        if self.obs_mode == "image":
            self._frames = self._env.observe()[1]["rgb"]

    def _read(self, slots: np.ndarray, states: Sequence[bytes]) -> None:
        """Agent, goal and level of `slots` from their saved states (the waypoint source)."""
        for i, state in zip(slots, states):
            parsed: MazeState = parse_maze_state(state)
            if parsed.goal is None:
                raise RuntimeError(f"slot {i}: the cheese is gone but Procgen did not end the episode")
            self.levels[i] = parsed.level_seed
            self._walls[i] = level_walls(parsed.level_seed, self.mode)
            self.agents[i] = parsed.agent
            self.goals[i] = parsed.goal

    def _position_info(self) -> dict[str, np.ndarray]:
        waypoint = np.concatenate([self.levels[:, None], self.agents], axis=1)
        return {"waypoint": waypoint, "goal": self.goals.copy()}

    def _observe(self, slots: np.ndarray) -> np.ndarray:
        if self.obs_mode == "image":
            return np.asarray(self._frames)[slots].copy()
        if self.obs_mode == "egocentric":
            return egocentric_observation(self.agents[slots], self.goals[slots], self._walls[slots])
        return vector_observation(self.agents[slots], self.goals[slots], self._walls[slots])
