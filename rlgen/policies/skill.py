"""The skill dial: a target fraction of the expert's return on the training levels, measured.

Skill is never assumed from a mixing parameter: it is the mean return on the training levels
divided by the expert's mean return on the same levels, measured by playing them, with a
bootstrap interval over levels (DESIGN.md, "Behaviour policies"). Two dials:

- `episode` (`EpisodeMixture`): each episode is the expert's with probability p, else random.
  Per level the expected return is p * expert + (1 - p) * random, so p follows from the two
  measured returns in closed form and one measurement of the mixture at that p confirms it.
  It is the dial to use where the expert recovers from step noise (maze's planner keeps the
  expert's return up to epsilon 0.75, ../shared/reference/procgen-planners.md).
- `epsilon` (`EpsilonMixture`): each action is random with probability epsilon. The return need
  not be linear (or even monotone) in epsilon, so epsilon is found by bisection on measured
  returns, assuming only that more noise does not help on average.

Every measurement reports episode length and discounted return beside the raw return, since in
recovering games noise shows up there first. Named levels: `expert` (1.0), `mixed` (0.75, the
generalization-gap paper's), `random` (the random policy itself, whatever fraction it reaches).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Callable, Sequence

import numpy as np

from rlgen.policies.base import EpisodeMixture, EpsilonMixture, Policy, RandomPolicy
from rlgen.policies.rollout import play_pinned

PolicyFactory = Callable[[], Policy]


class SkillUnreachableError(ValueError):
    """The target fraction lies outside what the dial can reach; the message names the closest."""


@dataclass(frozen=True)
class EpisodeStats:
    """Per-episode results of `play_levels`, each (episodes,), in the order of `levels`."""

    levels: np.ndarray  # (episodes,) int64 level seeds
    returns: np.ndarray  # (episodes,) float64 undiscounted returns
    discounted_returns: np.ndarray  # (episodes,) float64, sum_t gamma^t r_t
    lengths: np.ndarray  # (episodes,) int64
    success: np.ndarray  # (episodes,) bool: the level was completed
    seconds: float  # wall time of the whole play

    def per_level(self, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(unique levels, mean of `values` per level)."""
        levels, inverse = np.unique(self.levels, return_inverse=True)
        sums = np.bincount(inverse, weights=np.asarray(values, np.float64))
        return levels, sums / np.bincount(inverse)

    def summary(self) -> dict:
        return {
            "episodes": int(len(self.returns)),
            "mean_return": float(self.returns.mean()),
            "mean_discounted_return": float(self.discounted_returns.mean()),
            "mean_length": float(self.lengths.mean()),
            "success_rate": float(self.success.mean()),
            "seconds": round(self.seconds, 3),
        }


def play_levels(
    policy: Policy,
    game: str,
    levels: Sequence[int],
    *,
    mode: str = "easy",
    episodes_per_level: int = 1,
    num_envs: int = 8,
    gamma: float = 0.99,
    seed: int = 0,
) -> EpisodeStats:
    """Play each of `levels` `episodes_per_level` times with `policy` (pinned slots, batched `act`).

    The evaluator's own loop (`rlgen.policies.rollout.play_pinned`), so stateful policies and
    planners behave as in collection and evaluation.
    """
    from rlgen_envs import ProcgenVecEnv

    jobs = [int(level) for level in levels for _ in range(episodes_per_level)]
    if not jobs:
        raise ValueError("play_levels needs at least one level")
    job_seeds = np.random.SeedSequence(seed).generate_state(len(jobs)) % (2**31 - 1)
    slots = min(num_envs, len(jobs))
    env = ProcgenVecEnv.pinned(game, jobs[:slots], mode, seeds=[int(s) for s in job_seeds[:slots]])
    started = time.perf_counter()
    try:
        outcomes = play_pinned(policy, env, jobs, job_seeds, lambda env, slot, level, s: env.repin(slot, level, s), gamma)
    finally:
        env.close()
    out = {
        "returns": np.array([o.episode_return for o in outcomes]),
        "discounted": np.array([o.discounted_return for o in outcomes]),
        "lengths": np.array([o.length for o in outcomes]),
        "success": np.array([o.success for o in outcomes]),
    }
    return EpisodeStats(
        levels=np.array(jobs, dtype=np.int64),
        returns=out["returns"],
        discounted_returns=out["discounted"],
        lengths=out["lengths"].astype(np.int64),
        success=out["success"].astype(bool),
        seconds=time.perf_counter() - started,
    )


def fraction_of_expert(
    stats: EpisodeStats, expert: EpisodeStats, *, seed: int = 0, n_resamples: int = 2000
) -> tuple[float, tuple[float, float]]:
    """Mean return over the expert's mean return on the same levels, with a 95% bootstrap CI.

    Levels are the resampling unit (episodes of a level are averaged first), and each resample
    takes the same levels for both policies, so level difficulty cancels in the ratio.
    """
    from rlgen.stats import bootstrap_ci_over_units

    levels, mine = stats.per_level(stats.returns)
    expert_levels, theirs = expert.per_level(expert.returns)
    if not np.array_equal(levels, expert_levels):
        raise ValueError("the policy and the expert must be measured on the same levels")
    if theirs.mean() <= 0:
        raise ValueError(f"the expert's mean return is {theirs.mean():g}; a fraction of it means nothing")

    def ratio(index: np.ndarray) -> float:
        idx = index.astype(np.int64)
        return float(mine[idx].mean() / theirs[idx].mean())

    low, high = bootstrap_ci_over_units(
        np.arange(len(levels), dtype=np.float64), ratio, rng=np.random.default_rng(seed), n_resamples=n_resamples
    )
    return float(mine.mean() / theirs.mean()), (low, high)


@dataclass(frozen=True)
class SkillCalibration:
    """The chosen mixing parameter and what it achieved, measured on the training levels."""

    dial: str  # "episode" (parameter = probability of an expert episode) or "epsilon"
    parameter: float
    target_fraction: float
    achieved_fraction: float
    achieved_ci95: tuple[float, float]
    expert_return: float
    random_return: float
    mean_return: float
    mean_discounted_return: float
    mean_length: float
    success_rate: float
    episodes: int
    tolerance: float
    searched: tuple[tuple[float, float], ...]  # (parameter, measured fraction) of every measurement

    @property
    def within_tolerance(self) -> bool:
        return abs(self.achieved_fraction - self.target_fraction) <= self.tolerance

    def to_dict(self) -> dict:
        return {**asdict(self), "within_tolerance": self.within_tolerance}


def calibrate_skill(
    make_expert: PolicyFactory,
    game: str,
    levels: Sequence[int],
    target_fraction: float,
    *,
    dial: str = "episode",
    mode: str = "easy",
    episodes_per_level: int = 1,
    tolerance: float = 0.05,
    iterations: int = 6,
    num_envs: int = 8,
    gamma: float = 0.99,
    seed: int = 0,
) -> SkillCalibration:
    """Find the mixing parameter whose measured return is `target_fraction` of the expert's.

    `make_expert()` builds a fresh expert (planners remember plans; a fresh one per measurement
    keeps measurements independent). The expert and the random policy are measured once on
    `levels`; then the dial is searched: `episode` starts from the closed-form p and corrects it
    by the secant rule on measured fractions, `epsilon` bisects on [0, 1]; each step plays every
    level `episodes_per_level` times, and the search stops once a measurement is within
    `tolerance` or after `iterations` measurements. The returned parameter is the measured one
    closest to the target. Raises `SkillUnreachableError` naming the closest achievable fraction
    when the target lies outside [random's fraction, 1].
    """
    if dial not in ("episode", "epsilon"):
        raise ValueError(f"dial must be 'episode' or 'epsilon', got {dial!r}")
    if not 0.0 <= target_fraction <= 1.0:
        raise SkillUnreachableError(
            f"target fraction {target_fraction:g} is outside [0, 1]: no mixture beats its expert; "
            f"the closest achievable is {min(max(target_fraction, 0.0), 1.0):g}"
        )

    def measure(policy: Policy, run_seed: int) -> EpisodeStats:
        return play_levels(
            policy, game, levels, mode=mode, episodes_per_level=episodes_per_level, num_envs=num_envs, gamma=gamma, seed=run_seed
        )

    expert = measure(make_expert(), seed)
    rand = measure(RandomPolicy(seed=seed + 1), seed)
    expert_return, random_return = float(expert.returns.mean()), float(rand.returns.mean())
    if expert_return <= 0:
        raise SkillUnreachableError(f"the expert's mean return on these levels is {expert_return:g}; no fraction of it is defined")
    floor = random_return / expert_return
    if target_fraction < floor - tolerance:
        raise SkillUnreachableError(
            f"target fraction {target_fraction:g} is below the random policy's {floor:.3f} on these levels; "
            f"the closest achievable is {floor:.3f} (the `random` skill level)"
        )

    def build(parameter: float, k: int) -> Policy:
        if dial == "episode":
            return EpisodeMixture(make_expert(), parameter, seed=seed + 100 + k)
        return EpsilonMixture(make_expert(), parameter, seed=seed + 100 + k)

    measured: list[tuple[float, float, EpisodeStats]] = []
    if dial == "episode":
        span = expert_return - random_return
        p = 1.0 if span <= 0 else float(np.clip((target_fraction * expert_return - random_return) / span, 0.0, 1.0))
        lo, hi = 0.0, 1.0  # fractions known at p = 0 (floor) and p = 1 (1.0) bracket the target
        f_lo, f_hi = floor, 1.0
        for k in range(iterations):
            stats = measure(build(p, k), seed + 1000 + k)
            fraction = float(stats.returns.mean()) / expert_return
            measured.append((p, fraction, stats))
            if abs(fraction - target_fraction) <= tolerance:
                break
            if fraction < target_fraction:
                lo, f_lo = p, fraction
            else:
                hi, f_hi = p, fraction
            # Secant within the bracket, falling back to its midpoint when the bracket is flat.
            p = lo + (target_fraction - f_lo) * (hi - lo) / (f_hi - f_lo) if f_hi > f_lo else (lo + hi) / 2
            p = float(np.clip(p, lo, hi))
    else:
        lo, hi = 0.0, 1.0  # return falls as epsilon rises
        eps = 0.5
        for k in range(iterations):
            stats = measure(build(eps, k), seed + 1000 + k)
            fraction = float(stats.returns.mean()) / expert_return
            measured.append((eps, fraction, stats))
            if abs(fraction - target_fraction) <= tolerance:
                break
            if fraction > target_fraction:
                lo = eps
            else:
                hi = eps
            eps = (lo + hi) / 2

    parameter, _, stats = min(measured, key=lambda m: abs(m[1] - target_fraction))
    achieved, ci = fraction_of_expert(stats, expert, seed=seed)
    return SkillCalibration(
        dial=dial,
        parameter=parameter,
        target_fraction=target_fraction,
        achieved_fraction=achieved,
        achieved_ci95=ci,
        expert_return=expert_return,
        random_return=random_return,
        mean_return=float(stats.returns.mean()),
        mean_discounted_return=float(stats.discounted_returns.mean()),
        mean_length=float(stats.lengths.mean()),
        success_rate=float(stats.success.mean()),
        episodes=int(len(stats.returns)),
        tolerance=tolerance,
        searched=tuple((float(p), float(f)) for p, f, _ in measured),
    )

