"""Worlds: every kind of environment the pipeline runs, behind one protocol and one registry.

`rlgen.worlds.base` says what a world is (`World`, the optional `StitchingWorld`, `WorldBase`
with the usual defaults), `rlgen.worlds.registry` names them (`register_world`, `world_of`,
`world_of_manifest`), and one module per built-in world registers it on import: `procgen`,
`stitch_maze` (the grid maze and the stitch oracle), `procgen_maze_stitch` (Procgen maze with
placed tasks) and `webshop`. Each module defers what is costly (the Procgen library, the WebShop
catalog) to first use, so importing them all costs little. A user's world is one module named in
a config's `imports:` (README, "Bring your own world").
"""

from rlgen.worlds.base import EpisodeJob, StitchingWorld, World, WorldBase, level_jobs
from rlgen.worlds.registry import register_world, stitching_kinds, world_class, world_kinds, world_of, world_of_manifest
from rlgen.worlds.procgen import ProcgenWorld
from rlgen.worlds.stitch_maze import PairJob, StitchMazeWorld, build_stitching_world
from rlgen.worlds.procgen_maze_stitch import ProcgenMazeStitchWorld
from rlgen.worlds.webshop import WebShopWorld

__all__ = [
    "EpisodeJob", "PairJob", "ProcgenMazeStitchWorld", "ProcgenWorld", "StitchMazeWorld", "StitchingWorld", "WebShopWorld",
    "World", "WorldBase", "build_stitching_world", "level_jobs", "register_world", "stitching_kinds", "world_class",
    "world_kinds", "world_of", "world_of_manifest",
]
