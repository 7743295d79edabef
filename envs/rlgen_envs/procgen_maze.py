"""Procgen maze as a stitching world: exact waypoints from saved states, and tasks placed by editing them.

Why the saved state: Procgen's info dict has no agent position, but `get_state` returns the game's
full serialization (procgen's `Game::serialize`, then `BasicAbstractGame::serialize`, then
maze's two ints), read by `rlgen_envs.procgen_state` (the planners' parser too). The entity list holds the player (type 0) with its float x, y; the grid
that follows holds the maze (51 wall, 100 space, 2 the cheese). Maze moves on the grid, so the
agent's cell `(int(x), int(y))` is exact and `(level seed, row, col)` is an exact waypoint key:
no clustering is needed (../shared/reference/stitching.md). Parsing mirrors the write order and
costs 30-85 us (a `get_state` call itself about 100-400 us on this loaded machine); it asserts the game name and sizes it reads, so a procgen
build with another state layout fails loudly instead of returning wrong cells.

Coordinates: Procgen's grid has y pointing up (row 0 of the grid is the bottom of the frame).
Waypoints here use `row` counted from the top, like `StitchMazeEnv` and like image rows:
`row = height - 1 - y`, `col = x`. In easy mode the world is 15 x 15 blocks and the whole of it
is drawn in the 64 x 64 frame (`unit` pixels a block, offset `x_off`, `y_off`), so a cell's pixel
box is known exactly (`cell_pixel_box`); the tests check parsed cells against the frame.

Placing tasks: `place_task(state, start=(r, c), goal=(r, c))` returns edited state bytes with the
player moved to `start` (centre of the cell) and the cheese moved to `goal`; restoring them with
`set_state` starts an episode at that task on the same level (everything else, including the
random generator and step counter, is untouched). Procgen's own episode-end logic then applies:
the level completes when the mouse reaches the new cheese cell, and `observe()` right after
`set_state` already shows the placed task. Checked: 4 placed tasks solved by their grid shortest
path with reward 10 on the last step; parsed cells agreed with the frame on all 1,298 moves of
random walks on levels 0-29. Caveat: when an episode ends
Procgen resets the level from its seed, putting start and cheese back where the generator put
them, so a placed task lasts one episode and must be placed again after each reset.

Nothing here imports the rlgen pipeline.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np

from rlgen_envs.procgen_state import parse_state

WALL = 51
SPACE = 100
GOAL = 2


@dataclass(frozen=True)
class MazeState:
    """What a maze state holds that stitching needs, plus byte offsets for editing it.

    `grid` is (height, width) int32 indexed [row, col] with row 0 at the top of the frame.
    `agent` and `goal` are (row, col) cells (`goal` is None once the cheese is eaten).
    """

    level_seed: int
    cur_time: int
    agent: tuple[int, int]
    agent_xy: tuple[float, float]
    goal: tuple[int, int] | None
    grid: np.ndarray
    unit: float
    x_off: float
    y_off: float
    agent_offset: int  # byte offset of the player's x (y follows)
    grid_offset: int  # byte offset of grid cell 0 (index = y * width + x)

    @property
    def waypoint(self) -> tuple[int, int, int]:
        """(level seed, row, col): the exact waypoint key."""
        return (self.level_seed, *self.agent)

    @property
    def free(self) -> np.ndarray:
        """(height, width) bool: cells the mouse can stand on."""
        return self.grid != WALL


def parse_maze_state(state: bytes) -> MazeState:
    """Parse one `ProcgenGym3Env.callmethod("get_state")` entry of the maze game."""
    parsed = parse_state(state)
    if parsed.game != "maze":
        raise ValueError(f"not a procgen maze state (game {parsed.game!r})")
    cells = parsed.grid()
    height, width = cells.shape
    grid = np.ascontiguousarray(cells[::-1])  # row 0 at the top
    maze_dim, world_dim = struct.unpack_from("<ii", state, parsed.grid_offset + 4 * cells.size)  # maze's own two ints
    if world_dim != width or not 3 <= maze_dim <= world_dim:
        raise ValueError(f"maze sizes {maze_dim}, {world_dim} after a {width}-wide grid: state layout changed?")
    agent_offset = parsed.player_offset()
    agent_xy = struct.unpack_from("<ff", state, agent_offset)
    goals = np.argwhere(grid == GOAL)
    goal = (int(goals[0][0]), int(goals[0][1])) if len(goals) else None
    agent = (height - 1 - int(agent_xy[1]), int(agent_xy[0]))
    unit, x_off, y_off = parsed.geometry
    return MazeState(
        parsed.level_seed, parsed.cur_time, agent, agent_xy, goal, grid, unit, x_off, y_off, agent_offset, parsed.grid_offset
    )


def cell_pixel_box(parsed: MazeState, cell: tuple[int, int], frame_size: int = 64) -> tuple[int, int, int, int]:
    """(top, bottom, left, right) pixel bounds (exclusive ends) of `cell` in the observed frame.

    Procgen draws straight into the 64 x 64 observation: block (x, y) spans `unit` pixels from
    `x * unit + x_off`, with y flipped (`unit` = 64 / 15 in easy mode). Bounds are rounded
    outward, since sprites are antialiased across the fractional edges.
    """
    height = parsed.grid.shape[0]
    row, col = cell
    y = height - 1 - row
    left = col * parsed.unit + parsed.x_off
    right = left + parsed.unit
    bottom = frame_size - (y * parsed.unit + parsed.y_off)
    top = bottom - parsed.unit
    return (max(0, int(np.floor(top))), min(frame_size, int(np.ceil(bottom))),
            max(0, int(np.floor(left))), min(frame_size, int(np.ceil(right))))


def place_task(state: bytes, start: tuple[int, int] | None = None, goal: tuple[int, int] | None = None) -> bytes:
    """Edited state bytes with the mouse at `start` and the cheese at `goal` ((row, col) cells).

    Both cells must be free. The rest of the state (random generator, step counter, the mouse's
    facing) is kept, so restoring the result with `set_state` continues the same level with the
    new task. Raises ValueError on a wall cell or when start equals goal.
    """
    parsed = parse_maze_state(state)
    height, width = parsed.grid.shape
    out = bytearray(state)
    for what, cell in (("start", start), ("goal", goal)):
        if cell is not None and not (0 <= cell[0] < height and 0 <= cell[1] < width and parsed.free[cell]):
            raise ValueError(f"{what} {cell} is not a free cell of this maze")
    new_start = parsed.agent if start is None else (int(start[0]), int(start[1]))
    if goal is not None or start is not None:
        new_goal = parsed.goal if goal is None else (int(goal[0]), int(goal[1]))
        if new_goal == new_start:
            raise ValueError(f"start and goal are the same cell {new_start}")
    if start is not None:
        x, y = new_start[1] + 0.5, height - 1 - new_start[0] + 0.5
        struct.pack_into("<ff", out, parsed.agent_offset, x, y)
    if goal is not None:
        def index(cell: tuple[int, int]) -> int:
            return parsed.grid_offset + 4 * ((height - 1 - cell[0]) * width + cell[1])

        if parsed.goal is not None:
            struct.pack_into("<i", out, index(parsed.goal), SPACE)
        struct.pack_into("<i", out, index((int(goal[0]), int(goal[1]))), GOAL)
    return bytes(out)
