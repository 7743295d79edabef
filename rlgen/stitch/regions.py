"""Where region-restricted behaviour may go: regions of a level (Ghugare et al.) or short hops (OGBench).

Why restriction: a stitching test needs (start, goal) pairs that no training trajectory contains
together. Instead of hoping, behaviour is confined so that it is impossible by construction,
and the audit (`rlgen.stitch.audit`) then proves it from the data:

- `Regions(num_regions, overlap)`: each level's free blocks are split into `num_regions`
  connected parts (graph Voronoi cells around farthest-point seeds, so parts are compact and
  connected), each grown by `overlap` steps so neighbouring regions share blocks, the waypoints
  where trajectories can be stitched (Ghugare et al., 2024: several regions per maze, episodes
  within one). An episode's start and goal lie in one region and the behaviour never leaves it,
  so a start exclusive to region a and a goal exclusive to region b != a never co-occur.
- `Hops(max_distance)`: OGBench's `*-stitch` style, short trajectories between nearby blocks
  (goal within `max_distance` steps of the start; OGBench: about 4 cells, i.e. 8 blocks here).
  The behaviour stays within `max_distance` of the episode's start, so any two blocks of one
  trajectory are at most `2 * max_distance` apart, and pairs farther apart never co-occur.

Both are task samplers for `rlgen_envs.StitchMazeVecEnv(task_sampler=...)` and tell the oracle
(`allowed`) where it may step. Distances are shortest-path steps on the maze graph.

Which maze: a structure's `layout` maps a level to its (height, width) bool wall grid; the
default is the grid maze's (`rlgen_envs.stitch_maze.layout`), and the Procgen maze world passes
the grid parsed from each level's saved state (`rlgen_envs.procgen_maze_stitch.level_walls`),
whose size and free area differ per level and whose free cells may touch the border: every
search here pads the grid with a ring of walls, so no layout needs border walls of its own.
`layout` is not a parameter of the data (`params()` leaves it out): the world that builds a
structure supplies it.

Which move: `move` is the grid maze's (`rlgen_envs.stitch_maze`): `cell` (its default; one
action moves a whole cell, positions are cell centres) or `block` (the only move of other
layouts, e.g. Procgen maze's). Regions are still sets of blocks (a passage belongs to the
region of the cells it joins); what `cell` changes is which blocks are positions (task starts
and goals, test pairs: cell centres), and `distances` counts actions (block steps / 2), e.g.
`Hops.max_distance` is in cells. The grid maze's structures record `move` in `params()`, so a
manifest says which move its data was collected with; other layouts record it only if not
`block`. The env takes the move from the structure it samples tasks from.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Callable, Hashable

import numpy as np

from rlgen_envs.stitch_maze import DEFAULT_MOVE, MOVES, layout as grid_maze_layout, move_stride
from rlgen_envs.stitch_vec import StitchTask

Position = tuple[int, int]
Layout = Callable[[int], np.ndarray]
"""level -> (height, width) bool walls (read-only); hashable, as it keys caches."""


def free_cells(level: int, layout: Layout = grid_maze_layout) -> list[Position]:
    """The free blocks of `level` in reading order."""
    return [(int(r), int(c)) for r, c in zip(*np.nonzero(~layout(level)))]


def resolve_move(move: str | None, layout: Layout) -> str:
    """`move` checked against `layout`; None: the grid maze's default, `block` elsewhere."""
    if move is None:
        return DEFAULT_MOVE if layout is grid_maze_layout else "block"
    move_stride(move)
    if move == "cell" and layout is not grid_maze_layout:
        raise ValueError("move: cell needs the grid maze's layout (cell centres at odd rows and columns)")
    return move


def position_mask(level: int, move: str, layout: Layout = grid_maze_layout) -> np.ndarray:
    """(height, width) bool: the free blocks of `level` that are positions under `move`."""
    free = ~layout(level)
    if move_stride(move) == 1:
        return free
    rows, cols = np.indices(free.shape)
    return free & (rows % 2 == 1) & (cols % 2 == 1)


def _move_params(structure) -> dict:
    return {"move": structure.move} if structure.move != "block" or structure.layout is grid_maze_layout else {}


def graph_distances(level: int, source: Position, allowed: np.ndarray | None = None, layout: Layout = grid_maze_layout) -> np.ndarray:
    """(height, width) int64 shortest-path steps from `source` (-1: wall, unreachable or not allowed)."""
    return _distances(level, tuple(int(x) for x in source), None if allowed is None else allowed.tobytes(), layout)


@lru_cache(maxsize=65536)
def _distances(level: int, source: Position, allowed: bytes | None, layout: Layout) -> np.ndarray:
    walls = layout(level)
    open_ = ~walls
    if allowed is not None:
        open_ = open_ & np.frombuffer(allowed, dtype=bool).reshape(walls.shape)
    height, width = walls.shape
    if not (0 <= source[0] < height and 0 <= source[1] < width) or not open_[source]:
        raise ValueError(f"{source} is not an allowed free block of level {level}")
    open_ = np.pad(open_, 1, constant_values=False)  # a wall ring: moves never leave the grid
    dist = np.full(open_.shape, -1, dtype=np.int64)
    start = (source[0] + 1, source[1] + 1)
    dist[start] = 0
    frontier = deque([start])
    while frontier:
        r, c = frontier.popleft()
        for dr, dc in MOVES[1:]:
            nxt = (r + dr, c + dc)
            if open_[nxt] and dist[nxt] < 0:
                dist[nxt] = dist[r, c] + 1
                frontier.append(nxt)
    dist = np.ascontiguousarray(dist[1:-1, 1:-1])
    dist.setflags(write=False)
    return dist


@dataclass(frozen=True)
class Regions:
    """`num_regions` overlapping connected regions per level; episodes stay inside one region."""

    num_regions: int = 4
    overlap: int = 1
    layout: Layout = field(default=grid_maze_layout, compare=False, repr=False)
    move: str | None = None

    def __post_init__(self) -> None:
        if self.num_regions < 2 or self.overlap < 0:
            raise ValueError("Regions needs num_regions >= 2 and overlap >= 0")
        object.__setattr__(self, "move", resolve_move(self.move, self.layout))

    def masks(self, level: int) -> np.ndarray:
        """(num_regions, height, width) bool: the blocks of each region of `level`."""
        return _region_masks(level, self.num_regions, self.overlap, self.layout)

    def free_positions(self, level: int) -> list[Position]:
        """The positions of `level` under `move` (cell centres or free blocks), reading order."""
        return [(int(r), int(c)) for r, c in np.argwhere(position_mask(level, self.move, self.layout))]

    def distances(self, level: int, source: Position, allowed: np.ndarray | None = None) -> np.ndarray:
        """Actions from `source` to each position (-1: unreachable); other blocks' entries are not meaningful."""
        return graph_distances(level, source, allowed, self.layout) // move_stride(self.move)

    def exclusive(self, level: int) -> np.ndarray:
        """(height, width) int64: the region a position belongs to alone, -1 for shared blocks, walls and non-positions."""
        masks = self.masks(level)
        owner = np.argmax(masks, axis=0)
        return np.where((masks.sum(axis=0) == 1) & position_mask(level, self.move, self.layout), owner, -1)

    def __call__(self, level: int, rng: np.random.Generator) -> StitchTask:
        """A task sampler: a random region, then start and goal drawn uniformly from its positions."""
        region = int(rng.integers(self.num_regions))
        cells = np.argwhere(self.masks(level)[region] & position_mask(level, self.move, self.layout))
        i, j = rng.choice(len(cells), size=2, replace=False)
        return StitchTask(level, tuple(int(x) for x in cells[i]), tuple(int(x) for x in cells[j]), region)

    def allowed(self, task: StitchTask) -> np.ndarray:
        return self.masks(task.level)[task.region]

    def scope(self, task: StitchTask) -> Hashable:
        """What `allowed` depends on (a cache key)."""
        return (task.level, task.region)

    def separated(self, level: int, a: Position, b: Position) -> bool:
        """True when no region holds both blocks: no restricted trajectory can contain both."""
        masks = self.masks(level)
        return not bool((masks[:, a[0], a[1]] & masks[:, b[0], b[1]]).any())

    def params(self) -> dict:
        return {"kind": "regions", "num_regions": self.num_regions, "overlap": self.overlap, **_move_params(self)}


@lru_cache(maxsize=4096)
def _region_masks(level: int, num_regions: int, overlap: int, layout: Layout = grid_maze_layout) -> np.ndarray:
    free = free_cells(level, layout)
    if len(free) < 2 * num_regions:
        raise ValueError(f"level {level} has {len(free)} free blocks, too few for {num_regions} regions")
    # Farthest-point seeds, starting from the first free block in reading order (deterministic).
    seeds = [free[0]]
    nearest = graph_distances(level, seeds[0], None, layout).astype(np.float64)
    for _ in range(num_regions - 1):
        d = np.where(nearest < 0, -np.inf, nearest)
        seed = tuple(int(x) for x in np.unravel_index(int(np.argmax(d)), d.shape))
        seeds.append(seed)
        nearest = np.minimum(nearest, graph_distances(level, seed, None, layout))
    # Multi-source breadth-first search on the wall-ringed grid: each block joins the region
    # that reaches it first, so each region is connected (a block's predecessor on the way
    # belongs to the same region).
    walls = np.pad(layout(level), 1, constant_values=True)
    owner = np.full(walls.shape, -1, dtype=np.int64)
    frontier = deque()
    for k, seed in enumerate(seeds):
        seed = (seed[0] + 1, seed[1] + 1)
        owner[seed] = k
        frontier.append(seed)
    while frontier:
        r, c = frontier.popleft()
        for dr, dc in MOVES[1:]:
            nxt = (r + dr, c + dc)
            if not walls[nxt] and owner[nxt] < 0:
                owner[nxt] = owner[r, c]
                frontier.append(nxt)
    masks = np.stack([owner == k for k in range(num_regions)])
    for _ in range(overlap):  # grow each region by one step along the maze graph
        grown = masks.copy()
        for dr, dc in MOVES[1:]:
            grown |= np.roll(masks, (dr, dc), axis=(1, 2))
        masks = grown & ~walls
    masks = np.ascontiguousarray(masks[:, 1:-1, 1:-1])
    masks.setflags(write=False)
    return masks


@dataclass(frozen=True)
class Hops:
    """Short trajectories: the goal within `max_distance` steps of the start (OGBench's stitch style)."""

    max_distance: int = 8
    min_distance: int = 2
    layout: Layout = field(default=grid_maze_layout, compare=False, repr=False)
    move: str | None = None

    def __post_init__(self) -> None:
        if not 1 <= self.min_distance <= self.max_distance:
            raise ValueError("Hops needs 1 <= min_distance <= max_distance")
        object.__setattr__(self, "move", resolve_move(self.move, self.layout))

    def free_positions(self, level: int) -> list[Position]:
        """The positions of `level` under `move` (cell centres or free blocks), reading order."""
        return [(int(r), int(c)) for r, c in np.argwhere(position_mask(level, self.move, self.layout))]

    def distances(self, level: int, source: Position, allowed: np.ndarray | None = None) -> np.ndarray:
        """Actions from `source` to each position (-1: unreachable); other blocks' entries are not meaningful."""
        return graph_distances(level, source, allowed, self.layout) // move_stride(self.move)

    def __call__(self, level: int, rng: np.random.Generator) -> StitchTask:
        free = self.free_positions(level)
        while True:
            start = free[int(rng.integers(len(free)))]
            dist = self.distances(level, start)
            goals = np.argwhere((dist >= self.min_distance) & (dist <= self.max_distance) & position_mask(level, self.move, self.layout))
            if len(goals):
                goal = goals[int(rng.integers(len(goals)))]
                return StitchTask(level, start, (int(goal[0]), int(goal[1])))

    def allowed(self, task: StitchTask) -> np.ndarray:
        """Blocks within `max_distance` actions of the start (with `cell`, the passages on the way)."""
        dist = graph_distances(task.level, task.start, None, self.layout)
        return (dist >= 0) & (dist <= self.max_distance * move_stride(self.move))

    def scope(self, task: StitchTask) -> Hashable:
        return (task.level, task.start)

    def separated(self, level: int, a: Position, b: Position) -> bool:
        """True when `a` and `b` are more than `2 * max_distance` steps apart."""
        return int(self.distances(level, a)[b]) > 2 * self.max_distance

    def params(self) -> dict:
        return {"kind": "hops", "max_distance": self.max_distance, "min_distance": self.min_distance, **_move_params(self)}


StitchStructure = Regions | Hops


def structure_from_params(params: dict, layout: Layout | None = None) -> StitchStructure:
    """Rebuild a structure from its `params()` (as recorded in a manifest or given in a config),
    on `layout`'s levels (default: the grid maze's)."""
    params = dict(params)
    kind = params.pop("kind", "regions")
    if "layout" in params:
        raise ValueError("a structure's layout comes from its world, not from its parameters")
    if layout is not None:
        params["layout"] = layout
    elif params.get("move") == "block":
        # The grid maze world builds its evaluation envs without the structure (rlgen/worlds/stitch_maze.py
        # passes no move), so they move cells: block-moving data would be scored in another maze.
        raise ValueError(
            "structure move: block on the grid maze: its evaluation envs move cells (rlgen.worlds passes no "
            "move yet); use move: cell, or StitchMazeVecEnv(move='block') directly"
        )
    if kind == "regions":
        return Regions(**params)
    if kind == "hops":
        return Hops(**params)
    raise ValueError(f"unknown stitching structure {kind!r}; valid: regions, hops")
