"""Evaluation (start, goal) pairs: stitching pairs never seen together, and ordinary pairs.

Why two kinds: a stitching test asks for combinations the data never shows together (start in
one region, goal in another, or farther apart than any hop), an ordinary pair asks for what the
data does show (start and goal within one region or hop). Both are built on training levels
and on unseen levels, so a report can separate "new combination" from "new level".

Stitching pairs are drawn with `structure.separated(level, start, goal)`, which holds by
construction for region-restricted behaviour; `rlgen.stitch.audit.audit_cooccurrence` then
checks it against the dataset itself. Pairs are deterministic given `seed` and distinct within
a level. Model selection must use pairs on validation levels, never these test pairs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np

from rlgen.stitch.regions import Hops, Regions, StitchStructure, graph_distances
from rlgen_envs.stitch_vec import StitchTask

KINDS = ("stitch", "ordinary")


@dataclass(frozen=True)
class EvalPair:
    """One evaluation task: `split` (e.g. train / test levels), `kind` (stitch / ordinary)."""

    split: str
    kind: str
    level: int
    start: tuple[int, int]
    goal: tuple[int, int]

    @property
    def task(self) -> StitchTask:
        """The env task (`StitchMazeVecEnv.pinned([pair.task, ...])`)."""
        return StitchTask(self.level, self.start, self.goal)

    @property
    def distance(self) -> int:
        """Shortest-path block steps on the grid maze, twice the actions with `move: cell` (any world's
        actions: `structure.distances(level, start)[goal]`)."""
        return int(graph_distances(self.level, self.start)[self.goal])


def stitch_pairs(structure: StitchStructure, level: int, count: int, rng: np.random.Generator) -> list[tuple]:
    """Up to `count` distinct (start, goal) pairs of `level` that restricted behaviour never joins.

    Regions: start exclusive to one region, goal exclusive to another. Hops: more than
    `2 * max_distance` steps apart. Fewer pairs come back only if the level has fewer.
    """
    if isinstance(structure, Regions):
        exclusive = structure.exclusive(level)
        by_region = [np.argwhere(exclusive == k) for k in range(structure.num_regions)]
        regions = [k for k, cells in enumerate(by_region) if len(cells)]
        candidates = [
            (tuple(map(int, s)), tuple(map(int, g)))
            for a in regions for b in regions if a != b for s in by_region[a] for g in by_region[b]
        ]
    elif isinstance(structure, Hops):
        free = structure.free_positions(level)
        candidates = [(s, g) for s in free for g in free if s != g and structure.separated(level, s, g)]
    else:
        raise TypeError(f"unknown stitching structure {structure!r}")
    candidates = [(s, g) for s, g in candidates if structure.separated(level, s, g)]
    picks = rng.permutation(len(candidates))[:count]
    return [candidates[i] for i in sorted(picks)]


def ordinary_pairs(structure: StitchStructure, level: int, count: int, rng: np.random.Generator) -> list[tuple]:
    """Up to `count` distinct pairs drawn as the behaviour's own tasks are (within a region or hop)."""
    pairs: dict[tuple, None] = {}
    for _ in range(20 * count):
        if len(pairs) >= count:
            break
        task = structure(level, rng)
        pairs.setdefault((task.start, task.goal))
    return list(pairs)


def make_eval_pairs(
    structure: StitchStructure,
    levels: Mapping[str, Sequence[int]],
    pairs_per_level: int,
    seed: int = 0,
    kinds: Sequence[str] = KINDS,
) -> list[EvalPair]:
    """Pairs for every (split, level, kind): e.g. `levels={"train": range(20), "test": range(2_000_000, 2_000_020)}`.

    Each (split, level, kind) draws from its own generator seeded by (seed, level, kind), so
    adding a split or a level never changes the pairs of another.
    """
    unknown = set(kinds) - set(KINDS)
    if unknown:
        raise ValueError(f"unknown pair kinds {sorted(unknown)}; valid: {', '.join(KINDS)}")
    out = []
    for split, split_levels in levels.items():
        for level in split_levels:
            for kind in kinds:
                rng = np.random.default_rng([seed, int(level), KINDS.index(kind)])
                draw = stitch_pairs if kind == "stitch" else ordinary_pairs
                out.extend(EvalPair(split, kind, int(level), s, g) for s, g in draw(structure, int(level), pairs_per_level, rng))
    return out
