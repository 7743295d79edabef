"""The stitching maze's oracle behaviour policy: shortest paths, optionally confined and noisy.

Why an oracle reading the env: the task (level, start, goal, region) is the env's, and the
shortest path is exact on a grid, so the policy reads each slot's task and position through
`attach(env)` (as `MazePlanner` reads Procgen's saved states) instead of decoding frames. It
acts the same in image and vector observation modes.

- Confinement: given a `Regions` or `Hops` structure, it follows shortest paths inside the
  episode's allowed blocks (`structure.allowed(task)`), and its epsilon-random moves are drawn
  only among moves that stay inside them (a move into a wall is a stay). So every trajectory
  stays in its region or hop ball, which is what makes test pairs unseen by construction.
- Noise: with probability `epsilon` per step, a random (confined) action; the oracle re-plans
  from wherever it lands, so episodes get longer but still reach the goal (the same effect the
  maze planner shows on Procgen; ../shared/reference/procgen-planners.md).
- Ties: among equally short next moves, `tie_break="random"` picks one at random (seeded), so
  repeated tasks produce different routes; `"first"` picks the lowest action.

Actions are the maze's (0 stay, 1 up, 2 down, 3 left, 4 right). Move: the structure's `move`
(or `move=` when unconfined; the grid maze's default `cell`, `block` on other layouts). With
`cell` an action is a move of two blocks through a passage: best moves have the passage one
block and the next cell two blocks closer to the goal, and a random move stays confined
when both blocks are allowed (into a wall: a stay). Distance fields to each
(goal, allowed set) are cached, so a step costs a few array lookups per slot.

Which maze: the structure's `layout` (or `layout=` when unconfined), the grid maze's by default;
the Procgen maze world passes its parsed per-level grids and acts through its own vec env,
which exposes the same `tasks` / `agents` (`rlgen.worlds.procgen_maze_stitch`). Fields are padded by
one wall ring, so grids whose free cells touch the border need no special case.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rlgen.stitch.regions import Layout, StitchStructure, graph_distances, resolve_move
from rlgen_envs.stitch_maze import MOVES, layout as grid_maze_layout, move_stride

_MOVES = np.array(MOVES, dtype=np.int64)


class StitchOracle:
    """Batched shortest-path behaviour for `rlgen_envs.StitchMazeVecEnv` (see the module docstring)."""

    def __init__(
        self,
        structure: StitchStructure | None = None,
        epsilon: float = 0.0,
        seed: int = 0,
        tie_break: str = "random",
        layout: Layout | None = None,
        move: str | None = None,
    ) -> None:
        if not 0.0 <= epsilon <= 1.0:
            raise ValueError(f"epsilon must lie in [0, 1], got {epsilon}")
        if tie_break not in ("random", "first"):
            raise ValueError(f"tie_break must be 'random' or 'first', got {tie_break!r}")
        self.structure = structure
        self.layout: Layout = layout or getattr(structure, "layout", None) or grid_maze_layout
        structure_move = getattr(structure, "move", None)
        if move is not None and structure_move is not None and move != structure_move:
            raise ValueError(f"move {move!r} differs from the structure's {structure_move!r}")
        self.move = resolve_move(move or structure_move, self.layout)
        self.stride = move_stride(self.move)
        self.epsilon = epsilon
        self.tie_break = tie_break
        self.rng = np.random.default_rng(seed)
        self._env: Any = None
        self._fields: dict[tuple, tuple[np.ndarray, np.ndarray]] = {}

    def attach(self, env: Any) -> None:
        """Act for `env`, a `StitchMazeVecEnv` (reads its `tasks` and `agents` each step)."""
        if not hasattr(env, "tasks") or not hasattr(env, "agents"):
            raise ValueError("StitchOracle acts only in rlgen_envs.StitchMazeVecEnv")
        self._env = env

    def reset(self, env_indices: np.ndarray) -> None:
        """Stateless between steps: nothing to clear."""

    def act(self, observations: np.ndarray) -> np.ndarray:
        """(n, ...) observations as the attached env emitted them -> (n,) int64 actions in [0, 5)."""
        if self._env is None:
            raise RuntimeError("call attach(env) before act()")
        env = self._env
        n = len(observations)
        if n != env.num_envs:
            raise ValueError(f"expected {env.num_envs} observations, got {n}")
        actions = np.zeros(n, dtype=np.int64)
        explore = self.rng.random(n) < self.epsilon
        for i in range(n):
            task = env.tasks[i]
            dist, walls = self._field(task)
            pos = np.asarray(env.agents[i]) + 1  # the fields are padded by a wall ring
            nxt = pos + _MOVES  # (5, 2), the stay move first; with `cell`, the passages
            d = dist[nxt[:, 0], nxt[:, 1]]  # -1 at walls and outside the allowed blocks
            if self.stride == 2:  # the next cell's centre (clipped: a border passage is a wall)
                far = np.clip(pos + 2 * _MOVES, 0, np.array(dist.shape) - 1)
                d2 = dist[far[:, 0], far[:, 1]]
            if explore[i]:
                ok = d >= 0
                if self.stride == 2:
                    ok &= d2 >= 0
                ok |= walls[nxt[:, 0], nxt[:, 1]]  # into a wall: a stay
                choices = np.flatnonzero(ok)
                actions[i] = choices[int(self.rng.integers(len(choices)))]
                continue
            here = dist[pos[0], pos[1]]
            if here <= 0:  # at the goal (the env resets first) or outside the allowed set
                actions[i] = 0 if here == 0 else int(np.argmax(d >= 0))
                continue
            best = np.flatnonzero((d == here - 1) & ((d2 == here - 2) if self.stride == 2 else True))
            actions[i] = best[0] if self.tie_break == "first" or len(best) == 1 else best[int(self.rng.integers(len(best)))]
        return actions

    def _field(self, task) -> tuple[np.ndarray, np.ndarray]:
        """(distance field to the goal within the allowed blocks, walls), both padded by one wall ring."""
        key = (task.level, tuple(task.goal), None if self.structure is None else self.structure.scope(task))
        cached = self._fields.get(key)
        if cached is None:
            allowed = None if self.structure is None else self.structure.allowed(task)
            if len(self._fields) > 200_000:
                self._fields.clear()
            dist = np.pad(graph_distances(task.level, task.goal, allowed, self.layout), 1, constant_values=-1)
            walls = np.pad(self.layout(task.level), 1, constant_values=True)
            cached = self._fields[key] = (dist, walls)
        return cached

