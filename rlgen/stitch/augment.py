"""Temporal data augmentation (Ghugare et al., ICLR 2024) as pure functions over episodes.

Why: supervised learners (goal-conditioned BC, decision transformers) learn only the (state,
goal) combinations their data shows together; they do not stitch A -> B and B -> C into A -> C.
Temporal augmentation shows them such combinations: two trajectories that pass through "the
same waypoint" are joined there.

Episodes are mappings of numpy arrays over T steps: `observations` (T, ...), `actions` (T,),
`rewards` (T,), `waypoints` (T, 3) int (level, row, col) of the state before each action, and
`goals` (T, 2) int (row, col); other keys are copied where the step structure allows. Every
function is deterministic given its seed and returns new episodes plus a `params` dict to
record in the augmented dataset's manifest.

1. `match_waypoints`: one label per step, equal labels meaning "the same waypoint". Exact keys
   where the env gives them (the stitching maze, Procgen maze's (level, row, col)); otherwise
   k-means on a chosen feature, each dimension z-normalized (the reference implementation
   clustered unnormalized, learner-dependent features; see ../shared/reference/stitching.md),
   within each level by default so that a match never joins two different levels.
2. `relabel_goals`: for each step t of trajectory A, with probability `eps`, take a hindsight
   step t' >= t of A, pick uniformly a step u of any trajectory B with the same label as t', and
   use the state of a step u' >= u of B as the goal. The new goal is never from before the
   matching point. Each step then is a (state, goal, action) sample for goal-conditioned BC;
   relabelled steps are not a coherent episode for TD learning.
3. `splice_episodes` / `spliced_windows`: for sequence models the context itself is spliced:
   A's steps up to the waypoint, then B's steps from the matching step on, conditioned on B's
   goal; windows straddle the splice point.

Goals live in the observation too (image: the green block; vector: entries 2-3 and the goal
plane; egocentric: the goal-offset plane, relative to the step's waypoint), so functions
that change goals take a `render(observations, waypoints, old_goals, new_goals)` callable;
`stitch_maze_goal_renderer(obs_mode)` is the stitching maze's.
"""

from __future__ import annotations

from typing import Callable, Mapping, Sequence

import numpy as np

from rlgen.stitch.audit import encode_waypoints
from rlgen_envs.stitch_maze import AGENT_COLOUR, BLOCK_PIXELS, GOAL_COLOUR, SIZE, egocentric_goals, vector_observation

Episode = Mapping[str, np.ndarray]
Renderer = Callable[[np.ndarray, np.ndarray, np.ndarray, np.ndarray], np.ndarray]
TRANSFORM_VERSION = 1


# -- waypoint matching ---------------------------------------------------------------------------


def kmeans(x: np.ndarray, k: int, rng: np.random.Generator, iterations: int = 25) -> np.ndarray:
    """(N,) int64 labels of Lloyd's k-means on (N, D) `x` with k-means++ seeding."""
    n = len(x)
    k = min(k, n)
    centres = np.empty((k, x.shape[1]), dtype=np.float64)
    centres[0] = x[rng.integers(n)]
    d2 = ((x - centres[0]) ** 2).sum(axis=1)
    for j in range(1, k):
        total = d2.sum()
        centres[j] = x[rng.choice(n, p=d2 / total)] if total > 0 else x[rng.integers(n)]
        d2 = np.minimum(d2, ((x - centres[j]) ** 2).sum(axis=1))
    labels = np.zeros(n, dtype=np.int64)
    for it in range(iterations):
        dist = (x**2).sum(1)[:, None] - 2 * x @ centres.T + (centres**2).sum(1)[None, :]
        new = np.argmin(dist, axis=1)
        if it and np.array_equal(new, labels):
            break
        labels = new
        for j in range(k):
            members = labels == j
            if members.any():
                centres[j] = x[members].mean(axis=0)
    return labels


def match_waypoints(
    episodes: Sequence[Episode],
    method: str = "exact",
    *,
    feature: str = "waypoints",
    num_clusters: int = 20,
    per_level: bool = True,
    seed: int = 0,
    iterations: int = 25,
) -> tuple[list[np.ndarray], dict]:
    """Per-episode (T,) int64 labels; equal labels across episodes mean "the same waypoint".

    `method="exact"`: labels are the distinct (level, row, col) keys. `method="kmeans"`:
    k-means with `num_clusters` clusters on `feature` (any per-step array, flattened and
    z-normalized per dimension), run separately within each level when `per_level` (levels read
    from `waypoints[:, 0]`, else from an episode's `level_seed`).
    """
    lengths = [len(e["actions"]) for e in episodes]
    params: dict = {"method": method, "seed": seed}
    if method == "exact":
        keys = np.concatenate([encode_waypoints(e["waypoints"]) for e in episodes])
        _, flat = np.unique(keys, return_inverse=True)
        params["feature"] = "waypoints"
    elif method == "kmeans":
        if num_clusters < 1:
            raise ValueError(f"num_clusters must be positive, got {num_clusters}")
        x = np.concatenate([np.asarray(e[feature], dtype=np.float64).reshape(len(e["actions"]), -1) for e in episodes])
        mean, std = x.mean(axis=0), x.std(axis=0)
        x = (x - mean) / np.where(std > 0, std, 1.0)
        if per_level:
            groups = np.concatenate([
                np.asarray(e["waypoints"])[:, 0] if "waypoints" in e else np.full(len(e["actions"]), int(e["level_seed"]))
                for e in episodes
            ])
        else:
            groups = np.zeros(len(x), dtype=np.int64)
        rng = np.random.default_rng(seed)
        flat = np.empty(len(x), dtype=np.int64)
        offset = 0
        for group in np.unique(groups):
            rows = np.flatnonzero(groups == group)
            labels = kmeans(x[rows], num_clusters, rng, iterations)
            flat[rows] = labels + offset
            offset += int(labels.max()) + 1
        params.update(feature=feature, num_clusters=num_clusters, per_level=per_level, normalize="zscore", iterations=iterations)
    else:
        raise ValueError(f"unknown matching method {method!r}; valid: exact, kmeans")
    bounds = np.cumsum([0, *lengths])
    params["num_labels"] = int(flat.max()) + 1 if len(flat) else 0
    return [flat[bounds[i] : bounds[i + 1]].astype(np.int64) for i in range(len(episodes))], params


class _Index:
    """All steps of all episodes, flat, with the steps of each label contiguous (for sampling)."""

    def __init__(self, episodes: Sequence[Episode], labels: Sequence[np.ndarray]) -> None:
        self.lengths = np.array([len(e["actions"]) for e in episodes], dtype=np.int64)
        self.offsets = np.concatenate([[0], np.cumsum(self.lengths)])
        self.episode = np.repeat(np.arange(len(episodes)), self.lengths)
        self.step = np.arange(self.offsets[-1]) - self.offsets[self.episode]
        self.label = np.concatenate(labels) if labels else np.zeros(0, np.int64)
        self.order = np.argsort(self.label, kind="stable")
        counts = np.bincount(self.label, minlength=int(self.label.max()) + 1 if len(self.label) else 0)
        self.first = np.concatenate([[0], np.cumsum(counts)])[:-1]
        self.count = counts

    def sample_same_label(self, flat_steps: np.ndarray, u: np.ndarray) -> np.ndarray:
        """For each flat step, a uniformly drawn flat step with the same label (`u` in [0, 1))."""
        lab = self.label[flat_steps]
        return self.order[self.first[lab] + (u * self.count[lab]).astype(np.int64)]


# -- goal relabelling ----------------------------------------------------------------------------


def relabel_goals(
    episodes: Sequence[Episode],
    labels: Sequence[np.ndarray],
    eps: float = 0.5,
    seed: int = 0,
    render: Renderer | None = None,
) -> tuple[list[dict], dict]:
    """Episodes with goals relabelled through matched waypoints with probability `eps` per step.

    Adds per step: `relabelled` (T,) bool, `goal_source` (T, 2) int64 (episode, step) whose state
    is the new goal, and `match_source` (T, 2) (episode, step) of the matching waypoint in B
    (-1 where not relabelled); `goal_source` step >= `match_source` step always. A relabelled goal
    on another level (possible only with cross-level k-means) is refused and the step kept.
    """
    if not 0.0 <= eps <= 1.0:
        raise ValueError(f"eps must lie in [0, 1], got {eps}")
    index = _Index(episodes, labels)
    rng = np.random.default_rng(seed)
    total = int(index.offsets[-1])
    flat = np.arange(total)
    own_end = index.offsets[index.episode + 1]  # one past the last step of each step's episode
    hindsight = flat + (rng.random(total) * (own_end - flat)).astype(np.int64)  # t' in [t, T_A)
    match = index.sample_same_label(hindsight, rng.random(total))  # (B, u)
    match_end = index.offsets[index.episode[match] + 1]
    goal = match + (rng.random(total) * (match_end - match)).astype(np.int64)  # u' in [u, T_B)
    chosen = rng.random(total) < eps
    waypoints = np.concatenate([np.asarray(e["waypoints"], np.int64).reshape(-1, 3) for e in episodes])
    same_level = waypoints[goal, 0] == waypoints[flat, 0]
    chosen &= same_level
    out = []
    for i, episode in enumerate(episodes):
        lo, hi = int(index.offsets[i]), int(index.offsets[i + 1])
        sel = chosen[lo:hi]
        new = {k: v for k, v in episode.items()}
        old_goals = np.asarray(episode["goals"], np.int64)
        goals = old_goals.copy()
        goals[sel] = waypoints[goal[lo:hi][sel], 1:]
        new["goals"] = goals
        new["relabelled"] = sel.copy()
        new["goal_source"] = np.where(sel[:, None], np.stack([index.episode[goal[lo:hi]], index.step[goal[lo:hi]]], 1), -1)
        new["match_source"] = np.where(sel[:, None], np.stack([index.episode[match[lo:hi]], index.step[match[lo:hi]]], 1), -1)
        if render is not None and sel.any():
            new["observations"] = render(np.asarray(episode["observations"]), np.asarray(episode["waypoints"]), old_goals, goals)
        out.append(new)
    params = {
        "transform": "temporal_goal_relabelling",
        "version": TRANSFORM_VERSION,
        "eps": eps,
        "seed": seed,
        "relabelled_steps": int(chosen.sum()),
        "refused_cross_level": int((~same_level).sum()),
        "steps": total,
    }
    return out, params


# -- spliced trajectories for sequence models ------------------------------------------------------

_STEP_KEYS = ("observations", "actions", "rewards", "waypoints")


def splice_episodes(
    episodes: Sequence[Episode],
    labels: Sequence[np.ndarray],
    num_splices: int,
    seed: int = 0,
    render: Renderer | None = None,
    max_tries: int = 20,
) -> tuple[list[dict], dict]:
    """`num_splices` new episodes A[:t] + B[u:], where step t of A and step u of B share a label.

    B != A, and t >= 1, so each spliced episode has a prefix of A and enters B at the matched
    waypoint; its goal is B's goal (prefix observations re-rendered with it), its rewards are
    zero on A's prefix and B's from u on, its `terminated` / `truncated` are B's. Each carries
    `splice` (the index where B begins) and `source` (L, 2) (episode, step) of every step.
    With exact labels, the step A[t-1] -> B[u] is a real transition of A (B[u] is A[t]'s state).
    """
    index = _Index(episodes, labels)
    rng = np.random.default_rng(seed)
    weights = np.maximum(index.lengths - 1, 0).astype(np.float64)
    if weights.sum() == 0:
        raise ValueError("splicing needs episodes of at least two steps")
    out: list[dict] = []
    failed = 0
    while len(out) < num_splices and failed < max_tries * max(num_splices, 1):
        a = int(rng.choice(len(episodes), p=weights / weights.sum()))
        t = int(rng.integers(1, index.lengths[a]))
        m = int(index.sample_same_label(np.array([index.offsets[a] + t]), rng.random(1))[0])
        b, u = int(index.episode[m]), int(index.step[m])
        if b == a:
            failed += 1
            continue
        out.append(_splice(episodes[a], episodes[b], a, b, t, u, render))
    params = {
        "transform": "temporal_splicing",
        "version": TRANSFORM_VERSION,
        "num_splices": len(out),
        "requested": num_splices,
        "seed": seed,
        "self_matches_skipped": failed,
    }
    return out, params


def _splice(ea: Episode, eb: Episode, a: int, b: int, t: int, u: int, render: Renderer | None) -> dict:
    spliced: dict = {}
    for key in _STEP_KEYS:
        if key in ea and key in eb:
            spliced[key] = np.concatenate([np.asarray(ea[key])[:t], np.asarray(eb[key])[u:]])
    spliced["rewards"] = np.concatenate([np.zeros(t, np.asarray(eb["rewards"]).dtype), np.asarray(eb["rewards"])[u:]])
    goal = np.asarray(eb["goals"], np.int64)[u]
    old_goals = np.concatenate([np.asarray(ea["goals"], np.int64)[:t], np.asarray(eb["goals"], np.int64)[u:]])
    spliced["goals"] = np.repeat(goal[None], len(old_goals), axis=0)
    if render is not None:
        spliced["observations"] = render(spliced["observations"], spliced["waypoints"], old_goals, spliced["goals"])
    for key in ("terminated", "truncated", "level_seed", "level_complete"):
        if key in eb:
            spliced[key] = eb[key]
    spliced["splice"] = t
    spliced["source"] = np.concatenate([
        np.stack([np.full(t, a), np.arange(t)], 1),
        np.stack([np.full(len(old_goals) - t, b), np.arange(u, u + len(old_goals) - t)], 1),
    ]).astype(np.int64)
    return spliced


def spliced_windows(spliced: Sequence[Mapping], context: int, seed: int = 0) -> list[dict]:
    """One window of at most `context` steps per spliced episode, always straddling its splice.

    The window starts 1..context-1 steps before the splice (clipped to the episode), so it holds
    at least one step of A and one of B: the context a decision transformer sees is spliced.
    """
    if context < 2:
        raise ValueError("a spliced window needs context >= 2")
    rng = np.random.default_rng(seed)
    windows = []
    for ep in spliced:
        length, s = len(ep["actions"]), int(ep["splice"])
        start = max(0, s - int(rng.integers(1, context)))
        end = min(length, start + context)
        window = {k: (v[start:end] if isinstance(v, np.ndarray) and v.ndim and len(v) == length else v) for k, v in ep.items()}
        window["splice"] = s - start
        windows.append(window)
    return windows


# -- whole joined episodes with hindsight goals (the dataset transform) -----------------------------


def _positions(episode: Episode) -> np.ndarray:
    """(T or T+1, 3) states of an episode: the T stored waypoints, then the goal it reached if it terminated."""
    waypoints = np.asarray(episode["waypoints"], np.int64).reshape(-1, 3)
    if not episode.get("terminated", False):
        return waypoints
    final = np.concatenate([waypoints[-1:, :1], np.asarray(episode["goals"], np.int64)[-1:]], axis=1)
    return np.concatenate([waypoints, final])


def join_episodes(
    episodes: Sequence[Episode],
    labels: Sequence[np.ndarray],
    num_transitions: int,
    seed: int = 0,
    render: Renderer | None = None,
    max_tries: int = 50,
    max_joins: int = 1,
    erase_loops: bool = False,
) -> tuple[list[dict], dict]:
    """New episodes A[:t] + B[u:...] (+ C[w:...] ...), goal a later state of the last one, until
    they hold `num_transitions` steps.

    Why whole episodes rather than per-sample relabelling (`relabel_goals`): a dataset variant
    on disk must serve every learner. A joined episode is one goal-conditioned trajectory: BC
    reads its (state, goal, action) steps, the decision transformer samples windows that
    straddle the join (as `spliced_windows` does), and CQL gets coherent transitions with
    hindsight rewards: the goal is fixed along the episode, the episode ends at the first step
    whose next state is the goal, with reward 1 and `terminated` there, 0 before (as the maze
    itself pays). Step t of A and step u of B share a label, B drawn uniformly among the steps
    with that label (Ghugare et al.); the goal is a state of the last trajectory strictly after
    its join (its stored waypoints, or the goal it reached), never one from before the join.

    Chaining (`max_joins` > 1): each episode makes 1..`max_joins` joins (uniformly many), the
    walk leaving each joined trajectory at a uniformly drawn later step and joining the next
    one there; `max_joins=1` is the paper's single join. Why: with trajectories confined to
    regions, a join crosses into another region only at the few waypoints regions share, so
    one uniform join rarely pairs a state with a goal in another region (measured on
    configs/stitch.yaml: 191 of 30,000 joined steps); a chain of joins reaches goals farther
    through the shared waypoints. With `erase_loops`, loops the path makes (a block visited
    twice, by `waypoints`) are cut out, so the joined path never revisits a block; with exact
    labels every step stays a recorded transition. With exact labels each join A[t-1] -> B[u] is A's own transition (B[u] is A[t]'s
    state), so the joined episode is a path the environment can produce; with k-means labels it
    is approximate. Observations are re-rendered with the new goal.
    Each episode carries `splice` (where the second trajectory begins) and `source` (L, 2)
    (episode, step) of every step.
    """
    if max_joins < 1:
        raise ValueError(f"max_joins must be at least 1, got {max_joins}")
    index = _Index(episodes, labels)
    rng = np.random.default_rng(seed)
    positions = [_positions(e) for e in episodes]
    weights = np.maximum(index.lengths - 1, 0).astype(np.float64)
    if weights.sum() == 0:
        raise ValueError("joining needs episodes of at least two steps")
    out: list[dict] = []
    total = failed = joins_made = loops_cut = 0
    while total < num_transitions and failed < max_tries * max(len(out), 10):
        a = int(rng.choice(len(episodes), p=weights / weights.sum()))
        t = int(rng.integers(1, index.lengths[a]))
        segments = [(a, 0, t)]  # (episode, first step, end step): steps [first, end) of the episode
        cur, at = a, t
        joins = int(rng.integers(1, max_joins + 1)) if max_joins > 1 else 1
        goal = None
        for j in range(joins):
            m = int(index.sample_same_label(np.array([index.offsets[cur] + at]), rng.random(1))[0])
            b, u = int(index.episode[m]), int(index.step[m])
            pos_b = positions[b]
            if b == cur or u + 1 >= len(pos_b) or pos_b[u, 0] != positions[a][0, 0]:
                break
            if j < joins - 1 and u + 1 < index.lengths[b]:
                nxt = int(rng.integers(u + 1, index.lengths[b]))
                segments.append((b, u, nxt))
                cur, at = b, nxt
                continue
            g = int(rng.integers(u + 1, len(pos_b)))
            segments.append((b, u, g))
            goal = pos_b[g]
            break
        if goal is None:
            failed += 1
            continue
        steps = np.concatenate([np.stack([np.full(hi - lo, e), np.arange(lo, hi)], 1) for e, lo, hi in segments])
        path = np.stack([positions[e][st] for e, st in steps])
        if (path[0] == goal).all():
            failed += 1
            continue
        arrived = np.flatnonzero((np.concatenate([path[1:], goal[None]]) == goal).all(axis=1))
        k = int(arrived[0]) + 1  # steps until the first arrival
        steps, path = steps[:k], path[:k]
        if erase_loops:
            kept = _erase_loops(encode_waypoints(path))
            loops_cut += k - len(kept)
            steps, path, k = steps[kept], path[kept], len(kept)
        old_goals = np.stack([np.asarray(episodes[e]["goals"], np.int64)[st] for e, st in steps])
        goals = np.repeat(goal[None, 1:], k, axis=0)
        observations = np.stack([np.asarray(episodes[e]["observations"])[st] for e, st in steps])
        if render is not None:
            observations = render(observations, path, old_goals, goals)
        rewards = np.zeros(k, np.asarray(episodes[a]["rewards"]).dtype)
        rewards[-1] = 1
        out.append({
            "observations": observations,
            "actions": np.array([np.asarray(episodes[e]["actions"])[st] for e, st in steps]),
            "rewards": rewards,
            "waypoints": path,
            "goals": goals,
            "level_seed": int(goal[0]),
            "terminated": True,
            "truncated": False,
            "level_complete": True,
            "splice": int(np.argmax(steps[:, 0] != a)) if (steps[:, 0] != a).any() else k,
            "source": steps.astype(np.int64),
        })
        joins_made += len(segments) - 1
        total += k
    params = {
        "transform": "temporal_joining",
        "version": TRANSFORM_VERSION,
        "seed": seed,
        "max_joins": max_joins,
        "erase_loops": erase_loops,
        "episodes": len(out),
        "joins": joins_made,
        "loop_steps_cut": loops_cut,
        "transitions": total,
        "requested_transitions": num_transitions,
        "rejected_draws": failed,
    }
    return out, params


def hindsight_episodes(
    episodes: Sequence[Episode],
    num_transitions: int,
    seed: int = 0,
    render: Renderer | None = None,
    erase_loops: bool = True,
) -> tuple[list[dict], dict]:
    """Within-trajectory hindsight relabelling as whole episodes: the fair baseline for augmentation.

    Why: goal-conditioned supervised learners (the paper's RvS) train on goals resampled from
    future states of the same trajectory; temporal augmentation then swaps some of those goals
    for states of other trajectories. Comparing augmentation against the collected goals alone
    would credit it with what hindsight already gives (many more (state, goal) pairs per
    trajectory). Each new episode takes a uniformly drawn step a of a uniformly drawn recorded
    step's trajectory, a goal drawn uniformly among that trajectory's later states (its stored
    waypoints after a, or the goal it reached), and the trajectory's own steps from a to the
    first visit of the goal, with loops cut out when `erase_loops` (as the joined episodes of
    `join_reachable` never revisit a block). Rewards, termination, `source` as `join_episodes`;
    `splice` is the episode's length (nothing comes from another trajectory). Goals are redrawn
    in the observations with `render`. Episodes are added until they hold `num_transitions` steps.
    """
    rng = np.random.default_rng(seed)
    positions = [_positions(e) for e in episodes]
    lengths = np.array([len(e["actions"]) for e in episodes], dtype=np.int64)
    if num_transitions > 0 and lengths.sum() == 0:
        raise ValueError("hindsight relabelling needs episodes with at least one step")
    weights = lengths / max(lengths.sum(), 1)
    out: list[dict] = []
    total = skipped = 0
    while total < num_transitions:
        i = int(rng.choice(len(episodes), p=weights))
        pos = positions[i]
        a = int(rng.integers(lengths[i]))
        if a + 1 >= len(pos):  # the last step of an episode that did not reach its goal: no later state
            skipped += 1
            continue
        goal_index = int(rng.integers(a + 1, len(pos)))
        goal = pos[goal_index, 1:]
        keys = pos[:, 1] * 4096 + pos[:, 2]
        if keys[a] == keys[goal_index]:  # back where it started: no task
            skipped += 1
            continue
        end = a + 1 + int(np.argmax(keys[a + 1 : goal_index + 1] == keys[goal_index]))  # first arrival at the goal
        steps = np.arange(a, end)
        if erase_loops:
            steps = a + _erase_loops(keys[a:end])
        k = len(steps)
        episode = episodes[i]
        old_goals = np.asarray(episode["goals"], np.int64)[steps]
        goals = np.repeat(goal[None].astype(np.int64), k, axis=0)
        observations = np.asarray(episode["observations"])[steps]
        path = pos[steps]
        if render is not None:
            observations = render(observations, path, old_goals, goals)
        rewards = np.zeros(k, np.asarray(episode["rewards"]).dtype)
        rewards[-1] = 1
        out.append({
            "observations": observations, "actions": np.asarray(episode["actions"])[steps], "rewards": rewards,
            "waypoints": path, "goals": goals, "level_seed": int(pos[0, 0]),
            "terminated": True, "truncated": False, "level_complete": True,
            "splice": k, "source": np.stack([np.full(k, i), steps], 1).astype(np.int64),
        })  # fmt: skip
        total += k
    params = {
        "transform": "hindsight_within_trajectory",
        "version": TRANSFORM_VERSION,
        "seed": seed,
        "erase_loops": erase_loops,
        "episodes": len(out),
        "transitions": total,
        "requested_transitions": num_transitions,
        "draws_without_later_state": skipped,
    }
    return out, params


def join_reachable(
    episodes: Sequence[Episode],
    num_transitions: int,
    seed: int = 0,
    render: Renderer | None = None,
) -> tuple[list[dict], dict]:
    """Joined episodes whose goal is drawn uniformly from every state reachable through shared
    waypoints: chaining taken to its limit, with exact waypoints only.

    Per level, the recorded transitions form a graph on blocks (an edge s -> s' for every step
    of every trajectory). Each new episode starts at a uniformly drawn recorded step's state,
    draws its goal uniformly among the blocks reachable from it in that graph (so, with two
    regions, about half the goals lie in the other region, where one uniform join gives
    under 1%), and follows a shortest path in the graph, each edge taken from a uniformly drawn
    recorded transition along it. Every step is a recorded (state, action, next state), joined
    to the next at the block they share, so each join is an exact waypoint match as in
    `join_episodes`; paths never revisit a block. Rewards, termination, `splice` and `source`
    as `join_episodes` (`splice` is the first step taken from another trajectory).
    """
    from collections import deque

    rng = np.random.default_rng(seed)
    positions = [_positions(e) for e in episodes]
    edges: dict[int, dict[tuple, dict[tuple, list]]] = {}  # level -> block -> next block -> [(episode, step)]
    starts: list[tuple[int, int]] = []
    for i, pos in enumerate(positions):
        level = int(pos[0, 0])
        graph = edges.setdefault(level, {})
        for t in range(len(episodes[i]["actions"])):
            if t + 1 < len(pos):
                a, b = tuple(pos[t, 1:].tolist()), tuple(pos[t + 1, 1:].tolist())
                if a != b:
                    graph.setdefault(a, {}).setdefault(b, []).append((i, t))
                    starts.append((i, t))
    out: list[dict] = []
    total = 0
    while total < num_transitions and starts:
        i, t = starts[int(rng.integers(len(starts)))]
        level, here = int(positions[i][t, 0]), tuple(positions[i][t, 1:].tolist())
        graph = edges[level]
        parent: dict[tuple, tuple | None] = {here: None}
        frontier = deque([here])
        while frontier:
            node = frontier.popleft()
            for nxt in graph.get(node, {}):
                if nxt not in parent:
                    parent[nxt] = node
                    frontier.append(nxt)
        reachable = [n for n in parent if n != here]
        if not reachable:
            continue
        goal = reachable[int(rng.integers(len(reachable)))]
        blocks = [goal]
        while parent[blocks[-1]] is not None:
            blocks.append(parent[blocks[-1]])
        blocks.reverse()
        steps = []
        for a, b in zip(blocks[:-1], blocks[1:]):
            options = graph[a][b]
            steps.append(options[int(rng.integers(len(options)))])
        steps_arr = np.array(steps, dtype=np.int64)
        path = np.array([[level, *block] for block in blocks[:-1]], dtype=np.int64)
        k = len(steps)
        old_goals = np.stack([np.asarray(episodes[e]["goals"], np.int64)[st] for e, st in steps])
        goals = np.repeat(np.array(goal, np.int64)[None], k, axis=0)
        observations = np.stack([np.asarray(episodes[e]["observations"])[st] for e, st in steps])
        if render is not None:
            observations = render(observations, path, old_goals, goals)
        rewards = np.zeros(k, np.asarray(episodes[i]["rewards"]).dtype)
        rewards[-1] = 1
        other = steps_arr[:, 0] != steps_arr[0, 0]
        out.append({
            "observations": observations,
            "actions": np.array([np.asarray(episodes[e]["actions"])[st] for e, st in steps]),
            "rewards": rewards, "waypoints": path, "goals": goals, "level_seed": level,
            "terminated": True, "truncated": False, "level_complete": True,
            "splice": int(np.argmax(other)) if other.any() else k, "source": steps_arr,
        })  # fmt: skip
        total += k
    params = {
        "transform": "temporal_joining_reachable",
        "version": TRANSFORM_VERSION,
        "seed": seed,
        "episodes": len(out),
        "transitions": total,
        "requested_transitions": num_transitions,
    }
    return out, params


def _erase_loops(keys: np.ndarray) -> np.ndarray:
    """Indices of the steps left after cutting every loop (chronological loop erasure): when a
    state recurs, the steps since its first visit go, and the later step (whose action leaves
    the state the way the path continues) takes its place."""
    kept: list[int] = []
    where: dict[int, int] = {}
    for i, key in enumerate(keys.tolist()):
        if key in where:
            cut = where[key]
            for dropped in kept[cut:]:
                where.pop(int(keys[dropped]), None)
            kept = kept[:cut]
        where[key] = len(kept)
        kept.append(i)
    return np.array(kept, dtype=np.int64)


# -- the stitching maze's goal renderer ----------------------------------------------------------


def stitch_maze_goal_renderer(obs_mode: str) -> Renderer:
    """Rewrite the goal in stitching-maze observations (vector entries 2-3 and goal plane, the
    egocentric goal plane placed relative to the step's waypoint, or the green block)."""
    if obs_mode == "egocentric":  # any maze side (Procgen maze's too): the window says it
        def render_egocentric(obs, waypoints, old_goals, new_goals):
            return egocentric_goals(np.asarray(obs), np.asarray(waypoints)[:, 1:], new_goals)

        return render_egocentric
    if obs_mode == "vector":
        def render_vector(obs, waypoints, old_goals, new_goals):
            obs = np.asarray(obs)
            walls = obs[:, 4 : 4 + SIZE * SIZE]
            return vector_observation(obs[:, 0:2], new_goals, walls).astype(obs.dtype, copy=False)

        return render_vector
    if obs_mode != "image":
        raise ValueError(f"obs_mode must be 'vector', 'egocentric' or 'image', got {obs_mode!r}")
    b = BLOCK_PIXELS

    def render_image(obs, waypoints, old_goals, new_goals):
        out = np.array(obs, copy=True)
        agents = np.asarray(waypoints)[:, 1:]
        changed = np.flatnonzero((np.asarray(old_goals) != np.asarray(new_goals)).any(axis=1))
        for i in changed:
            (r, c), (nr, nc), (ar, ac) = old_goals[i], new_goals[i], agents[i]
            if (r, c) != (ar, ac):
                out[i, r * b : (r + 1) * b, c * b : (c + 1) * b] = 0  # goals sit on floor blocks
            out[i, nr * b : (nr + 1) * b, nc * b : (nc + 1) * b] = AGENT_COLOUR if (nr, nc) == (ar, ac) else GOAL_COLOUR
        return out

    return render_image
