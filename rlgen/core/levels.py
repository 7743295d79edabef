"""Level sets and the train / validation / test split, validated for disjointness.

Procgen levels are integer seeds. Training uses levels [0, N) for a dataset's diversity N;
validation and test are fixed blocks far above any training range, so that the same unseen
levels serve every dataset and every algorithm (the generalization-gap paper's test set was
the unseeded full distribution, which could include training levels; rlgen refuses that).
Validation is for early stopping and model selection only; the test block is never looked at
until the final evaluation.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

# Fixed blocks far from any training range (training diversity up to 1,000,000 levels).
DEFAULT_VALIDATION_START = 1_000_000
DEFAULT_VALIDATION_COUNT = 100
DEFAULT_TEST_START = 2_000_000
DEFAULT_TEST_COUNT = 200
MAX_LEVEL_SEED = 2**31 - 1  # Procgen's level seeds are C ints

SPLITS = ("train", "validation", "test")


class LevelOverlapError(ValueError):
    """Two level sets that must be disjoint share levels."""


@dataclass(frozen=True)
class LevelSet:
    """A contiguous block of Procgen levels [start, start + count)."""

    start: int
    count: int

    def __post_init__(self) -> None:
        if self.count < 1:
            raise ValueError(f"a level set needs at least one level, got count={self.count}")
        if self.start < 0 or self.stop - 1 > MAX_LEVEL_SEED:
            raise ValueError(f"levels [{self.start}, {self.stop}) fall outside Procgen's seed range [0, 2^31)")

    @property
    def stop(self) -> int:
        return self.start + self.count

    @property
    def seeds(self) -> range:
        return range(self.start, self.stop)

    def __contains__(self, level: object) -> bool:
        return isinstance(level, numbers.Integral) and self.start <= level < self.stop

    def overlaps(self, other: LevelSet) -> bool:
        return self.start < other.stop and other.start < self.stop

    def first(self, n: int) -> LevelSet:
        """The first `n` levels of this set (evaluation may play a prefix of a large block)."""
        return LevelSet(self.start, min(n, self.count))

    def to_dict(self) -> dict[str, int]:
        return {"start": self.start, "count": self.count}

    def __str__(self) -> str:
        return f"[{self.start}, {self.stop})"


@dataclass(frozen=True)
class LevelSplit:
    """Train, validation and test level sets; constructing one with overlapping sets fails."""

    train: LevelSet
    validation: LevelSet
    test: LevelSet

    def __post_init__(self) -> None:
        named = [("train", self.train), ("validation", self.validation), ("test", self.test)]
        for i, (name_a, a) in enumerate(named):
            for name_b, b in named[i + 1 :]:
                if a.overlaps(b):
                    raise LevelOverlapError(
                        f"{name_a} levels {a} and {name_b} levels {b} overlap; "
                        "train, validation and test levels must be disjoint"
                    )

    @classmethod
    def with_diversity(
        cls,
        num_train_levels: int,
        validation: LevelSet | None = None,
        test: LevelSet | None = None,
    ) -> LevelSplit:
        """Training levels [0, N) with the default (or given) validation and test blocks."""
        return cls(
            train=LevelSet(0, num_train_levels),
            validation=validation or LevelSet(DEFAULT_VALIDATION_START, DEFAULT_VALIDATION_COUNT),
            test=test or LevelSet(DEFAULT_TEST_START, DEFAULT_TEST_COUNT),
        )

    def __getitem__(self, split: str) -> LevelSet:
        if split not in SPLITS:
            raise KeyError(f"unknown split {split!r}; valid splits: {', '.join(SPLITS)}")
        return getattr(self, split)

    def to_dict(self) -> dict[str, dict[str, int]]:
        return {name: self[name].to_dict() for name in SPLITS}

    @classmethod
    def from_dict(cls, data: dict) -> LevelSplit:
        return cls(**{name: LevelSet(**data[name]) for name in SPLITS})
