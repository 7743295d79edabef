"""Moved to `rlgen.worlds.procgen_maze_stitch` (one module per world); kept so old imports work."""

from rlgen.worlds.procgen_maze_stitch import ProcgenMazeStitchWorld, make_world

__all__ = ["ProcgenMazeStitchWorld", "make_world"]
