"""The stitching audit: prove from the data that no test pair occurs together in any trajectory.

Why: Ghugare et al. (2024) found that datasets advertised as stitching tests contained their
supposedly unseen pairs. A sound benchmark reads every trajectory and counts, for each test
pair (level, start, goal), the episodes whose waypoints contain both the start and the goal
(in either order: the stricter test), and refuses the dataset when any count is non-zero.

It also answers "what can augmentation do for these pairs": a pair becomes *reachable by one
splice* when some trajectory visits the start and later a waypoint w, and some trajectory
visits w (same match label) and later the goal. That is exactly the condition under which
temporal goal relabelling (`rlgen.stitch.augment.relabel_goals`) can produce a training example
with that state and that goal. `goal_pair_counts` counts the examples an augmented dataset
actually holds.

Episodes are read one at a time (any iterable, e.g. a generator over shards): each a mapping
with `waypoints` (T, 3) int (level, row, col), and for the coverage check optionally the
matching labels (T,) under `labels_key` (exact waypoints when absent).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Iterable, Mapping, Sequence

import numpy as np


class StitchingLeakError(RuntimeError):
    """A test pair occurs together in a training trajectory: the dataset does not test stitching."""


def encode_waypoints(waypoints: np.ndarray) -> np.ndarray:
    """(T, 3) (level, row, col) -> (T,) int64 keys (rows and columns below 64)."""
    w = np.asarray(waypoints, dtype=np.int64).reshape(-1, 3)
    return (w[:, 0] << 12) | (w[:, 1] << 6) | w[:, 2]


def _pair_keys(pairs: Sequence) -> tuple[np.ndarray, np.ndarray]:
    starts = np.array([(p.level, *p.start) for p in pairs], dtype=np.int64).reshape(-1, 3)
    goals = np.array([(p.level, *p.goal) for p in pairs], dtype=np.int64).reshape(-1, 3)
    return encode_waypoints(starts), encode_waypoints(goals)


@dataclass(frozen=True)
class AuditReport:
    """Per-pair counts over the whole dataset; arrays are (pairs,) in the order pairs were given."""

    episodes: int
    transitions: int
    cooccurrences: np.ndarray  # episodes holding both start and goal, either order
    ordered: np.ndarray  # episodes visiting the start and later the goal
    reachable_by_one_splice: np.ndarray  # bool: augmentation can produce (start, goal)
    start_seen: np.ndarray  # bool: the start occurs in some episode
    goal_seen: np.ndarray
    leaking: tuple[int, ...] = field(default=())

    def summary(self) -> dict:
        """Plain numbers for a manifest or a report."""
        return {
            "pairs": int(len(self.cooccurrences)),
            "episodes": self.episodes,
            "transitions": self.transitions,
            "pairs_cooccurring": int((self.cooccurrences > 0).sum()),
            "cooccurrences_total": int(self.cooccurrences.sum()),
            "pairs_start_and_goal_seen": int((self.start_seen & self.goal_seen).sum()),
            "pairs_reachable_by_one_splice": int(self.reachable_by_one_splice.sum()),
        }


def audit_cooccurrence(
    episodes: Iterable[Mapping[str, np.ndarray]],
    pairs: Sequence,
    *,
    labels_key: str | None = None,
    strict: bool = True,
) -> AuditReport:
    """Read every episode once; count co-occurrences of each pair; raise if any (when `strict`).

    `pairs`: objects with `level`, `start`, `goal` (e.g. `EvalPair`, `StitchTask`). With
    `labels_key`, waypoint matching for the coverage check uses those per-step labels (e.g.
    k-means clusters from `match_waypoints`); otherwise exact waypoint keys.
    """
    start_keys, goal_keys = _pair_keys(pairs)
    pairs_by_start: dict[int, list[int]] = defaultdict(list)
    for p, key in enumerate(start_keys):
        pairs_by_start[int(key)].append(p)
    start_set, goal_set = set(map(int, start_keys)), set(map(int, goal_keys))
    cooc = np.zeros(len(pairs), dtype=np.int64)
    ordered = np.zeros(len(pairs), dtype=np.int64)
    after_start: dict[int, set] = defaultdict(set)  # labels visited at or after a test start
    before_goal: dict[int, set] = defaultdict(set)  # labels visited at or before a test goal
    seen: set[int] = set()
    n_episodes = n_transitions = 0
    for episode in episodes:
        keys = encode_waypoints(episode["waypoints"])
        labels = keys if labels_key is None else np.asarray(episode[labels_key]).reshape(-1)
        n_episodes += 1
        n_transitions += len(keys)
        first: dict[int, int] = {}
        last: dict[int, int] = {}
        for t, k in enumerate(keys.tolist()):
            first.setdefault(k, t)
            last[k] = t
        present = first.keys()
        seen.update(present)
        for s in start_set.intersection(present):
            after_start[s].update(labels[first[s]:].tolist())
            for p in pairs_by_start[s]:
                g = int(goal_keys[p])
                if g in first:
                    cooc[p] += 1
                    ordered[p] += first[s] <= last[g]
        for g in goal_set.intersection(present):
            before_goal[g].update(labels[: last[g] + 1].tolist())
    reachable = np.array(
        [bool(after_start.get(int(s), set()) & before_goal.get(int(g), set())) for s, g in zip(start_keys, goal_keys)],
        dtype=bool,
    )
    leaking = tuple(int(p) for p in np.flatnonzero(cooc))
    report = AuditReport(
        n_episodes, n_transitions, cooc, ordered, reachable,
        np.array([int(s) in seen for s in start_keys], dtype=bool),
        np.array([int(g) in seen for g in goal_keys], dtype=bool),
        leaking,
    )
    if strict and leaking:
        shown = ", ".join(
            f"level {pairs[p].level} {tuple(pairs[p].start)}->{tuple(pairs[p].goal)} ({cooc[p]} episodes)" for p in leaking[:5]
        )
        raise StitchingLeakError(
            f"{len(leaking)} of {len(pairs)} test pairs occur together in training trajectories: {shown}"
            + (" ..." if len(leaking) > 5 else "")
        )
    return report


def goal_pair_counts(episodes: Iterable[Mapping[str, np.ndarray]], pairs: Sequence, goal_key: str = "goals") -> np.ndarray:
    """(pairs,) int64: steps whose state is a pair's start and whose (relabelled) goal is its goal.

    Episodes need `waypoints` (T, 3) and per-step `goal_key` (T, 2) (row, col) on the same level:
    run it on an augmented dataset to count the test pairs augmentation actually covers.
    """
    start_keys, goal_keys = _pair_keys(pairs)
    index = {(int(s), int(g)): p for p, (s, g) in enumerate(zip(start_keys, goal_keys))}
    counts = np.zeros(len(pairs), dtype=np.int64)
    for episode in episodes:
        waypoints = np.asarray(episode["waypoints"], dtype=np.int64).reshape(-1, 3)
        goals = np.asarray(episode[goal_key], dtype=np.int64).reshape(-1, 2)
        state = encode_waypoints(waypoints)
        goal = encode_waypoints(np.concatenate([waypoints[:, :1], goals], axis=1))
        for s, g in zip(state.tolist(), goal.tolist()):
            p = index.get((s, g))
            if p is not None:
                counts[p] += 1
    return counts
