"""A goal-conditioned grid maze for stitching tests: level seed -> layout, goal in the observation.

Why its own environment: a stitching test needs exact control of where an episode starts and
where its goal is, an exact key for "the same place" in two trajectories, and runs cheap enough
that collect-train-evaluate takes minutes on 2 cores (Ghugare et al., 2024, used continuous
point/ant mazes with k-means waypoints; see ../shared/reference/stitching.md). Here:

- A level seed fixes the layout: a 7 x 7-cell maze carved by randomized depth-first search on a
  15 x 15 block grid (walls between cells are blocks), with a fraction of interior walls knocked
  out so that several routes exist. Padded to 16 x 16 blocks, rendered at 4 pixels a block.
- Positions are blocks `(row, col)`; `(level, row, col)` is an exact waypoint key, given in
  `info["waypoint"]`. Actions: 0 stay, 1 up, 2 down, 3 left, 4 right; a move into a wall stays.
- `move="cell"` (the default): one action moves a whole cell, from a cell's centre block
  (odd row and column) through the passage block to the next cell's centre, and positions
  (starts, goals, the agent) are cell centres only: 49 positions per level, paths half as
  long. Why: with one block per action every path has twice the steps, a passage block is a
  position with nothing to decide, and goal-conditioned BC's errors grow with the number of
  steps (measured outside the project: 0.87 success on ordinary pairs with blocks, 0.92 with
  cells, same data size and budget). `move="block"`: every free block is a position and an
  action moves one block (the grid maze before this option; datasets of `collect.version` 5
  and earlier). Pillars (even row and column) are always walls and two neighbouring cells
  share exactly one passage block, so a cell path of n moves is a block path of 2n steps.
- Reward 1 and `terminated` on reaching the goal; `truncated` after `max_episode_steps`.
- `reset(options={"level": L, "start": (r, c), "goal": (r, c)})` picks a level and a task;
  without options the level is drawn from [start_level, start_level + num_levels) and start and
  goal are distinct free blocks drawn at random (all from the seeded `np_random`).
- Observations, `obs_mode="vector"`: uint8 (4 + 3 x 225,) = agent row, col, goal row, col
  (integers in [0, 14]), the 15 x 15 wall grid (0 / 1), so a policy can act on levels it has
  never seen, then the agent's and the goal's block one-hot on the 15 x 15 grid
  (`vector_observation`). The one-hot planes repeat the positions in a form an MLP can relate
  to the walls (measured: BC's MLP on the 229 entries alone reached 0.2 success on training
  levels' ordinary pairs, barely above random). Small integers, never float32, so datasets
  store them as they store frames; learners scale each entry by its maximum (`VECTOR_MAXIMA`);
  `obs_mode="egocentric"`: uint8 (2 x 29 x 29,), the agent-centred view
  (`egocentric_observation`): the walls in a 29 x 29 window centred on the agent (blocks
  outside the maze count as walls; 29 = 2 x 15 - 1, so the whole maze is in view from any block),
  then the goal's offset from the agent as a one-hot plane on the same window. Why: in absolute
  coordinates an MLP must learn the same corridor rule once per position and underfits
  (measured outside the project: held-out action accuracy 0.73 and 0.27 success on ordinary
  pairs, against 0.89 and 0.63 for this view at the same cost); centred on the agent, "the
  block above me is free and the goal is up" is one input pattern wherever the agent stands.
  Still a plain input for a plain network: no planner is built into it;
  `obs_mode="image"`: uint8 (64, 64, 3): walls grey, floor black, goal green, agent blue.

`shortest_path(level, start, goal)` (breadth-first search) is the oracle behaviour policies and
evaluations use. Nothing here imports the rlgen pipeline.
"""

from __future__ import annotations

from collections import deque
from functools import lru_cache
from typing import Any

import gymnasium
import numpy as np
from gymnasium import spaces

CELLS = 7  # cells per side
SIZE = 2 * CELLS + 1  # blocks per side of the maze proper (15)
PADDED = 16  # rendered blocks per side (one wall row and column of padding)
BLOCK_PIXELS = 4
MOVES = ((0, 0), (-1, 0), (1, 0), (0, -1), (0, 1))  # stay, up, down, left, right
WALL_COLOUR, GOAL_COLOUR, AGENT_COLOUR = (110, 110, 110), (40, 200, 60), (50, 90, 230)
Position = tuple[int, int]
VECTOR_SIZE = 4 + 3 * SIZE * SIZE
VECTOR_MAXIMA = np.array([SIZE - 1] * 4 + [1] * (3 * SIZE * SIZE), dtype=np.uint8)
"""(679,) uint8: the largest value each entry of a vector observation takes."""
OBS_MODES = ("vector", "egocentric", "image")
MOVE_MODES = ("cell", "block")
DEFAULT_MOVE = "cell"
"""The grid maze's move: one action moves a whole cell (see the module docstring)."""


def move_stride(move: str) -> int:
    """Blocks one action moves: 2 for `cell`, 1 for `block`."""
    if move not in MOVE_MODES:
        raise ValueError(f"move must be one of {MOVE_MODES}, got {move!r}")
    return 2 if move == "cell" else 1


def is_position(pos, move: str) -> bool:
    """Whether block `pos` (free or not) can hold the agent under `move`: any block, or a cell centre."""
    return move_stride(move) == 1 or (int(pos[0]) % 2 == 1 and int(pos[1]) % 2 == 1)


def step_positions(walls: np.ndarray, agents: np.ndarray, actions: np.ndarray, move: str) -> np.ndarray:
    """(n, 2) positions after `actions` from (n, 2) `agents` on (n, S, S) `walls` (a blocked move stays).

    `cell`: the passage block and the next cell's centre must both be free (the passage is
    checked first, so the target is never read beyond the border walls).
    """
    walls = np.asarray(walls, dtype=bool)
    agents = np.asarray(agents, np.int64).reshape(-1, 2)
    step = np.asarray(MOVES, np.int64)[np.asarray(actions, np.int64).reshape(-1)]
    rows = np.arange(len(agents))
    size = walls.shape[-1]
    passage = agents + step
    blocked = walls[rows, passage[:, 0], passage[:, 1]]
    target = passage
    if move_stride(move) == 2:
        target = np.clip(agents + 2 * step, 0, size - 1)
        blocked = blocked | walls[rows, target[:, 0], target[:, 1]]
    return np.where(blocked[:, None], agents, target)
"""`vector` and `egocentric` are flat uint8 vectors (an MLP's input), `image` 64 x 64 frames."""


def egocentric_window(size: int) -> int:
    """Side of the agent-centred window on an S x S maze: 2 S - 1, the whole maze from any block."""
    return 2 * size - 1


def egocentric_size(size: int) -> int:
    """Entries of an egocentric observation on an S x S maze: a wall plane and a goal plane."""
    return 2 * egocentric_window(size) ** 2


def egocentric_observation(agents: np.ndarray, goals: np.ndarray, walls: np.ndarray) -> np.ndarray:
    """(n, 2 W^2) uint8 agent-centred views from (n, 2) agent and goal blocks and (n, S, S) walls.

    W = 2 S - 1 and the agent sits at the window's centre (S - 1, S - 1). The first W^2 entries
    are the walls around it (row-major; blocks beyond the maze's edge are walls), the next W^2
    the goal's offset (goal - agent) as a one-hot. Any S: the grid maze's 15 and Procgen maze's.
    """
    agents, goals = np.asarray(agents, np.int64).reshape(-1, 2), np.asarray(goals, np.int64).reshape(-1, 2)
    walls = np.asarray(walls, dtype=bool).reshape(len(agents), *np.shape(walls)[-2:])
    n, size = len(agents), walls.shape[-1]
    w = egocentric_window(size)
    padded = np.pad(walls, ((0, 0), (size - 1, size - 1), (size - 1, size - 1)), constant_values=True)
    windows = np.lib.stride_tricks.sliding_window_view(padded, (w, w), axis=(1, 2))  # (n, S, S, W, W) view
    out = np.zeros((n, 2 * w * w), dtype=np.uint8)
    rows = np.arange(n)
    out[:, : w * w] = windows[rows, agents[:, 0], agents[:, 1]].reshape(n, w * w)
    offset = goals - agents + (size - 1)
    out[rows, w * w + offset[:, 0] * w + offset[:, 1]] = 1
    return out


def egocentric_goals(observations: np.ndarray, agents: np.ndarray, new_goals: np.ndarray) -> np.ndarray:
    """Egocentric observations with the goal plane redrawn for `new_goals` (the walls plane is kept): exact.

    `agents` are the (n, 2) blocks the observations were taken at (a dataset's waypoints).
    """
    obs = np.array(observations, copy=True)
    w = int(round(np.sqrt(obs.shape[1] / 2)))
    if 2 * w * w != obs.shape[1] or w % 2 == 0:
        raise ValueError(f"not an egocentric maze observation: {obs.shape[1]} entries")
    size = (w + 1) // 2
    offset = np.asarray(new_goals, np.int64).reshape(-1, 2) - np.asarray(agents, np.int64).reshape(-1, 2) + (size - 1)
    if (offset < 0).any() or (offset >= w).any():
        raise ValueError("a goal lies outside the maze")
    obs[:, w * w :] = 0
    obs[np.arange(len(obs)), w * w + offset[:, 0] * w + offset[:, 1]] = 1
    return obs


def observation_space(obs_mode: str, size: int = SIZE) -> spaces.Box:
    """One observation's space in `obs_mode` on an S x S maze (frames: the grid maze's 64 x 64 x 3)."""
    if obs_mode == "vector":
        maxima = np.array([size - 1] * 4 + [1] * (3 * size * size), dtype=np.uint8)
        return spaces.Box(np.zeros(len(maxima), np.uint8), maxima, (len(maxima),), np.uint8)
    if obs_mode == "egocentric":
        n = egocentric_size(size)
        return spaces.Box(np.zeros(n, np.uint8), np.ones(n, np.uint8), (n,), np.uint8)
    if obs_mode == "image":
        return spaces.Box(0, 255, (PADDED * BLOCK_PIXELS, PADDED * BLOCK_PIXELS, 3), np.uint8)
    raise ValueError(f"obs_mode must be one of {OBS_MODES}, got {obs_mode!r}")


def vector_observation(agents: np.ndarray, goals: np.ndarray, walls: np.ndarray) -> np.ndarray:
    """(n, 679) uint8 vector observations from (n, 2) agent and goal blocks and (n, 15, 15) walls."""
    agents, goals = np.asarray(agents, np.int64).reshape(-1, 2), np.asarray(goals, np.int64).reshape(-1, 2)
    n, cells = len(agents), SIZE * SIZE
    out = np.zeros((n, VECTOR_SIZE), dtype=np.uint8)
    out[:, 0:2], out[:, 2:4] = agents, goals
    out[:, 4 : 4 + cells] = np.asarray(walls).reshape(n, cells)
    rows = np.arange(n)
    out[rows, 4 + cells + agents[:, 0] * SIZE + agents[:, 1]] = 1
    out[rows, 4 + 2 * cells + goals[:, 0] * SIZE + goals[:, 1]] = 1
    return out


@lru_cache(maxsize=4096)
def layout(level: int, loop_fraction: float = 0.15) -> np.ndarray:
    """(15, 15) bool walls of `level`: a randomized depth-first-search maze with some loops."""
    rng = np.random.default_rng([level, 0x5717C4])
    walls = np.ones((SIZE, SIZE), dtype=bool)
    visited = np.zeros((CELLS, CELLS), dtype=bool)
    stack = [(int(rng.integers(CELLS)), int(rng.integers(CELLS)))]
    visited[stack[0]] = True
    walls[2 * stack[0][0] + 1, 2 * stack[0][1] + 1] = False
    while stack:
        r, c = stack[-1]
        options = [(r + dr, c + dc) for dr, dc in MOVES[1:] if 0 <= r + dr < CELLS and 0 <= c + dc < CELLS and not visited[r + dr, c + dc]]
        if not options:
            stack.pop()
            continue
        nr, nc = options[int(rng.integers(len(options)))]
        walls[r + nr + 1, c + nc + 1] = False  # the wall block between the two cells
        walls[2 * nr + 1, 2 * nc + 1] = False
        visited[nr, nc] = True
        stack.append((nr, nc))
    # Knock out interior walls that separate two cells, so the maze has loops (several routes).
    between = [(r, c) for r in range(1, SIZE - 1) for c in range(1, SIZE - 1) if walls[r, c] and (r % 2) != (c % 2)]
    for i in rng.permutation(len(between))[: int(loop_fraction * len(between))]:
        walls[between[i]] = False
    walls.setflags(write=False)
    return walls


def free_positions(level: int, move: str = DEFAULT_MOVE) -> list[Position]:
    """The positions of `level` under `move` in reading order: cell centres, or all free blocks."""
    walls = layout(level)
    return [(int(r), int(c)) for r, c in zip(*np.nonzero(~walls)) if is_position((r, c), move)]


def shortest_path(level: int, start: Position, goal: Position, move: str = DEFAULT_MOVE) -> list[int]:
    """Actions of a shortest path from `start` to `goal` on `level` under `move` (breadth-first search)."""
    walls = layout(level)
    stride = move_stride(move)
    parents: dict[Position, tuple[Position, int] | None] = {start: None}
    frontier = deque([start])
    while frontier:
        pos = frontier.popleft()
        if pos == goal:
            actions = []
            while parents[pos] is not None:
                pos, action = parents[pos]  # type: ignore[misc]
                actions.append(action)
            return actions[::-1]
        for action, (dr, dc) in enumerate(MOVES[1:], start=1):
            nxt = (pos[0] + stride * dr, pos[1] + stride * dc)
            if not walls[pos[0] + dr, pos[1] + dc] and not walls[nxt] and nxt not in parents:
                parents[nxt] = (pos, action)
                frontier.append(nxt)
    raise ValueError(f"level {level}: {goal} is not reachable from {start}")


class StitchMazeEnv(gymnasium.Env):
    """Goal-conditioned grid maze; see the module docstring for layout, actions and observations."""

    metadata = {"render_modes": ["rgb_array"]}

    def __init__(
        self,
        obs_mode: str = "vector",
        start_level: int = 0,
        num_levels: int = 1,
        max_episode_steps: int = 100,
        render_mode: str | None = None,
        move: str = DEFAULT_MOVE,
    ) -> None:
        move_stride(move)
        if obs_mode not in OBS_MODES:
            raise ValueError(f"obs_mode must be one of {OBS_MODES}, got {obs_mode!r}")
        if num_levels < 1 or start_level < 0 or max_episode_steps < 1:
            raise ValueError("need start_level >= 0, num_levels >= 1 and max_episode_steps >= 1")
        self.obs_mode = obs_mode
        self.move = move
        self.start_level = start_level
        self.num_levels = num_levels
        self.max_episode_steps = max_episode_steps
        self.render_mode = render_mode
        self.action_space = spaces.Discrete(len(MOVES))
        self.observation_space = observation_space(obs_mode)
        self.level = start_level
        self.agent: Position = (1, 1)
        self.goal: Position = (1, 1)
        self._steps = 0

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        options = dict(options or {})
        unknown = set(options) - {"level", "start", "goal"}
        if unknown:
            raise ValueError(f"unknown reset options {sorted(unknown)}; valid: level, start, goal")
        level = options.get("level")
        self.level = int(level) if level is not None else self.start_level + int(self.np_random.integers(self.num_levels))
        free = free_positions(self.level, self.move)
        start, goal = options.get("start"), options.get("goal")
        if start is None or goal is None:
            picks = self.np_random.choice(len(free), size=2, replace=False)
            start = free[picks[0]] if start is None else start
            goal = free[picks[1]] if goal is None else goal
        self.agent, self.goal = self._check_position(start, "start"), self._check_position(goal, "goal")
        self._steps = 0
        return self._observation(), self._info()

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, dict]:
        if not self.action_space.contains(action):
            raise ValueError(f"invalid action {action!r}; valid: 0 stay, 1 up, 2 down, 3 left, 4 right")
        nxt = step_positions(layout(self.level)[None], np.array([self.agent]), np.array([int(action)]), self.move)[0]
        self.agent = (int(nxt[0]), int(nxt[1]))
        self._steps += 1
        terminated = self.agent == self.goal
        truncated = not terminated and self._steps >= self.max_episode_steps
        return self._observation(), float(terminated), terminated, truncated, self._info()

    def render(self) -> np.ndarray:
        return self._image()

    # -- internals -------------------------------------------------------------------------------

    def _check_position(self, pos: Any, what: str) -> Position:
        r, c = (int(x) for x in pos)
        if not (0 <= r < SIZE and 0 <= c < SIZE) or layout(self.level)[r, c] or not is_position((r, c), self.move):
            what_is = "a free block" if self.move == "block" else "a cell centre (odd row and column)"
            raise ValueError(f"{what} {(r, c)} is not {what_is} of level {self.level}")
        return (r, c)

    def _info(self) -> dict:
        return {"level": self.level, "waypoint": (self.level, *self.agent), "goal": self.goal, "position": self.agent}

    def _observation(self) -> np.ndarray:
        if self.obs_mode == "image":
            return self._image()
        if self.obs_mode == "egocentric":
            return egocentric_observation(np.array([self.agent]), np.array([self.goal]), layout(self.level)[None])[0]
        return vector_observation(np.array([self.agent]), np.array([self.goal]), layout(self.level)[None])[0]

    def _image(self) -> np.ndarray:
        blocks = np.zeros((PADDED, PADDED, 3), dtype=np.uint8)
        walls = np.ones((PADDED, PADDED), dtype=bool)
        walls[:SIZE, :SIZE] = layout(self.level)
        blocks[walls] = WALL_COLOUR
        blocks[self.goal] = GOAL_COLOUR
        blocks[self.agent] = AGENT_COLOUR
        return np.repeat(np.repeat(blocks, BLOCK_PIXELS, axis=0), BLOCK_PIXELS, axis=1)
