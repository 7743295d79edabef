"""Checkpoint selection that never picks by noise.

Validating a policy during training gives one return per validation episode. Keeping whichever
checkpoint had the highest mean return picks noise whenever the checkpoints differ by less than
the spread of that mean: on maze, where an episode's return is 0 or 10 and near-random learners
solve about half the validation levels, ten episodes pick a checkpoint by luck (issue 16: the
quickstart's BC was kept at step 500, 0.15 success on its own training levels, when its final
weights solved all of them).

The rule, in `select_checkpoint`:

1. the candidate is the checkpoint with the highest mean validation return; ties go to the
   *latest* one (the checkpoints differ only in training time, and more training is the default);
2. the candidate replaces the final weights only when the paired bootstrap interval of
   ``mean(candidate) - mean(final)`` over the same validation episodes lies above zero. Every
   checkpoint plays the same episodes (the same levels, the same environment seeds), so the
   difference is paired: a level every checkpoint solves or fails adds no noise to it;
3. otherwise the final weights stay the model, and the record says why.

So the default outcome is the final checkpoint, and a selected checkpoint is one the validation
levels can tell apart from it. With fewer than two episodes there is no spread to measure, and the
final weights stay. Everything is a pure function of the validation returns and a seed, so the
same run gives the same record.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from rlgen import stats

__all__ = ["CheckpointScore", "Selection", "select_checkpoint", "SELECTION_CONFIDENCE"]

SELECTION_CONFIDENCE = 0.95
N_RESAMPLES = 2000


@dataclasses.dataclass(frozen=True)
class CheckpointScore:
    """One validated checkpoint: its gradient step and mean validation return with a
    `SELECTION_CONFIDENCE` bootstrap interval over validation episodes."""

    step: int
    mean: float
    ci_low: float
    ci_high: float
    episodes: int

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class Selection:
    """What selection saw and what it kept.

    `best` is the highest-scoring checkpoint (ties: the latest), `final` the last one;
    `difference_ci` the paired interval of best minus final; `kept` is "final" or "best", and
    `reason` says why in words (it is written to `learner.json` and the report's provenance).
    """

    checkpoints: tuple[CheckpointScore, ...]
    best: CheckpointScore
    final: CheckpointScore
    difference_ci: tuple[float, float]
    kept: str
    reason: str

    @property
    def model(self) -> CheckpointScore:
        """The checkpoint whose weights are the selected model."""
        return self.best if self.kept == "best" else self.final

    def to_dict(self) -> dict:
        return {
            "rule": "best mean validation return (ties: latest), kept only when its paired "
            f"{int(SELECTION_CONFIDENCE * 100)}% bootstrap interval over validation episodes lies above the final checkpoint's",
            "kept": self.kept,
            "selected_step": self.model.step,
            "reason": self.reason,
            "best": self.best.to_dict(),
            "final": self.final.to_dict(),
            "difference_ci": list(self.difference_ci),
            "checkpoints": [c.to_dict() for c in self.checkpoints],
        }


def _score(step: int, returns: np.ndarray, rng: np.random.Generator) -> CheckpointScore:
    ci = stats.bootstrap_ci_over_units(returns, stats.mean, rng=rng, n_resamples=N_RESAMPLES, confidence=SELECTION_CONFIDENCE)
    return CheckpointScore(step, float(returns.mean()), float(ci.low), float(ci.high), int(returns.size))


def select_checkpoint(validation: Sequence[tuple[int, np.ndarray]], *, seed: int = 0) -> Selection:
    """Apply the rule of the module docstring to (step, per-episode returns (E,)) pairs in step
    order; every entry must hold the same episodes in the same order (paired)."""
    if not validation:
        raise ValueError("select_checkpoint needs at least one validated checkpoint")
    steps = [int(s) for s, _ in validation]
    if steps != sorted(steps) or len(set(steps)) != len(steps):
        raise ValueError(f"validation steps must increase, got {steps}")
    returns = [np.asarray(r, dtype=np.float64).reshape(-1) for _, r in validation]
    sizes = {r.size for r in returns}
    if len(sizes) != 1 or 0 in sizes:
        raise ValueError(f"every checkpoint must be validated on the same non-empty episodes, got sizes {sorted(sizes)}")
    rng = np.random.default_rng([seed, 0x5E1EC7])
    scores = tuple(_score(s, r, rng) for s, r in zip(steps, returns))
    means = np.array([c.mean for c in scores])
    best_index = int(np.flatnonzero(means == means.max())[-1])  # ties: the latest
    best, final = scores[best_index], scores[-1]
    if best_index == len(scores) - 1:
        return Selection(scores, best, final, (0.0, 0.0), "final", "the final checkpoint scored best on validation")
    episodes = returns[0].size
    if episodes < 2:
        return Selection(scores, best, final, (best.mean - final.mean,) * 2, "final",
                         "one validation episode cannot tell checkpoints apart: kept the final weights")  # fmt: skip
    diff = stats.bootstrap_ci_over_units(
        returns[best_index] - returns[-1], stats.mean, rng=rng, n_resamples=N_RESAMPLES, confidence=SELECTION_CONFIDENCE
    )
    interval = (float(diff.low), float(diff.high))
    if diff.low > 0:
        reason = (f"step {best.step} beat the final step {final.step} on validation by "
                  f"{best.mean - final.mean:.3g} [{diff.low:.3g}, {diff.high:.3g}] over {episodes} episodes")  # fmt: skip
        return Selection(scores, best, final, interval, "best", reason)
    reason = (f"step {best.step} scored {best.mean:.3g} against the final {final.mean:.3g}, but the paired interval of the "
              f"difference [{diff.low:.3g}, {diff.high:.3g}] over {episodes} episodes includes 0: kept the final weights")  # fmt: skip
    return Selection(scores, best, final, interval, "final", reason)
