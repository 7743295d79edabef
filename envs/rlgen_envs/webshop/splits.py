"""Train / validation / test goal sets that really are unseen, and the check that proves it.

The original splits its shuffled goals by position: test = goals 0-499, validation = 500-1499,
train = 1500 onwards. Instructions repeat, though (34 of the 500 original test instructions
reappear among the training ones), so "unseen" needs more than disjoint positions. Kinds:

- `original`: the positional blocks, as published (may share instruction text).
- `unseen` (default): the same blocks, then every validation goal whose normalized instruction
  also occurs in test, and every train goal whose normalized instruction occurs in test or
  validation, is dropped (counted in `GoalSplits.dropped`). Test stays exactly the published
  block, so scores remain comparable with the paper's test set.
- `category`: whole product types held out. Product types (the goal's `query`; or top-level
  `category` with `group_key="category"`) are shuffled with `seed` and dealt to test, then
  validation, until each holds at least its fraction of the goals; the rest train. Text overlaps
  are then dropped as for `unseen`. An evaluation on it measures transfer to product kinds never
  seen in training (harder than new instructions for known kinds).
- `attributes`: held-out combinations. The (product type, attribute) pairs the goals request are
  shuffled with `seed` and dealt to test, then validation, until each split holds at least its
  fraction of the goals; a goal requesting a test pair goes to test, else one requesting a
  validation pair to validation, else it trains. A pair is held out only if its product type and
  its attribute each keep training goals without it, so every type and every attribute is seen
  in training, just never together as held out (compositional generalization). Text overlaps
  are then dropped as for `unseen`; `held_out` lists the pairs as "type|attribute".

Normalization (`normalize_instruction`): drop the price clause that the build appends
(", and price lower than X dollars": two requests that differ only in their bound are the same
request), lower-case, strip punctuation, collapse whitespace. This is stricter than comparing
texts with the price clause, so disjointness here implies disjointness there.

`check_disjoint(splits, goals)` raises `ValueError` on any shared goal index, any shared
normalized instruction, (for `category`) any shared product type, and (for `attributes`) any
held-out (type, attribute) pair requested by a training goal; evaluators call it before
trusting a split, as for Procgen level sets.
"""

from __future__ import annotations

import random
import re
import string
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

SPLIT_NAMES = ("train", "validation", "test")
SPLIT_KINDS = ("original", "unseen", "category", "attributes")
TEST_GOALS = range(0, 500)
VALIDATION_GOALS = range(500, 1500)
TRAIN_START = 1500

_PRICE_CLAUSE = re.compile(r",?\s*and price lower than\s+[\d.,]+\s+dollars\s*$", re.IGNORECASE)
_PUNCTUATION = str.maketrans("", "", string.punctuation)


def normalize_instruction(text: str) -> str:
    text = _PRICE_CLAUSE.sub("", text.strip())
    return " ".join(text.lower().translate(_PUNCTUATION).split())


@dataclass(frozen=True)
class GoalSplits:
    """Goal indices (into `Catalog.goals`) of each split, and how they were made."""

    kind: str
    train: tuple[int, ...]
    validation: tuple[int, ...]
    test: tuple[int, ...]
    dropped: dict[str, int] = field(default_factory=dict)  # goals removed for text overlap, per split
    group_key: str | None = None  # 'query' or 'category' for kind='category'
    held_out: dict[str, tuple[str, ...]] = field(default_factory=dict)  # split -> held-out groups

    def indices(self, name: str) -> tuple[int, ...]:
        if name not in SPLIT_NAMES:
            raise ValueError(f"unknown split {name!r}; valid: {SPLIT_NAMES}")
        return getattr(self, name)

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready record of the split (for manifests and results)."""
        return {
            "kind": self.kind,
            "sizes": {n: len(self.indices(n)) for n in SPLIT_NAMES},
            "dropped": dict(self.dropped),
            "group_key": self.group_key,
            "held_out": {k: list(v) for k, v in self.held_out.items()},
            "test": list(self.test),
            "validation": list(self.validation),
        }


def _drop_text_overlap(blocks: dict[str, list[int]], goals: Sequence[Any]) -> dict[str, int]:
    """Drop from lower-priority splits (validation, then train) texts seen in higher ones."""
    seen: set[str] = set()
    dropped: dict[str, int] = {}
    for name in ("test", "validation", "train"):
        kept = []
        for i in blocks[name]:
            if normalize_instruction(goals[i].instruction_text) not in seen:
                kept.append(i)
        dropped[name] = len(blocks[name]) - len(kept)
        blocks[name] = kept
        seen.update(normalize_instruction(goals[i].instruction_text) for i in kept)
    return dropped


def make_splits(
    goals: Sequence[Any],
    kind: str = "unseen",
    seed: int = 0,
    test_fraction: float = 0.15,
    validation_fraction: float = 0.15,
    group_key: str = "query",
) -> GoalSplits:
    """Split `goals` (the catalog's, in order); see the module docstring for the kinds."""
    if kind not in SPLIT_KINDS:
        raise ValueError(f"unknown split kind {kind!r}; valid: {SPLIT_KINDS}")
    n = len(goals)
    if kind in ("original", "unseen"):
        if n <= TRAIN_START:
            raise ValueError(f"the positional split needs more than {TRAIN_START} goals, the catalog has {n}")
        blocks = {"test": list(TEST_GOALS), "validation": list(VALIDATION_GOALS), "train": list(range(TRAIN_START, n))}
        dropped = _drop_text_overlap(blocks, goals) if kind == "unseen" else {}
        splits = GoalSplits(kind, tuple(blocks["train"]), tuple(blocks["validation"]), tuple(blocks["test"]), dropped)
    elif kind == "attributes":
        splits = _attribute_splits(goals, seed, test_fraction, validation_fraction)
    else:
        if group_key not in ("query", "category"):
            raise ValueError(f"group_key must be 'query' or 'category', got {group_key!r}")
        if not (0 < test_fraction and 0 < validation_fraction and test_fraction + validation_fraction < 1):
            raise ValueError("need 0 < test_fraction, 0 < validation_fraction and their sum < 1")
        by_group: dict[str, list[int]] = {}
        for i, g in enumerate(goals):
            by_group.setdefault(getattr(g, group_key), []).append(i)
        groups = sorted(by_group)
        if len(groups) < 3:
            raise ValueError(f"holding out by {group_key!r} needs at least 3 groups, found {len(groups)}")
        random.Random(seed).shuffle(groups)
        held: dict[str, list[str]] = {"test": [], "validation": []}
        position = 0
        for name, fraction in (("test", test_fraction), ("validation", validation_fraction)):
            count = 0
            while count < fraction * n and position < len(groups) - 1:
                held[name].append(groups[position])
                count += len(by_group[groups[position]])
                position += 1
        train_groups = groups[position:]
        blocks = {
            "test": sorted(i for gk in held["test"] for i in by_group[gk]),
            "validation": sorted(i for gk in held["validation"] for i in by_group[gk]),
            "train": sorted(i for gk in train_groups for i in by_group[gk]),
        }
        dropped = _drop_text_overlap(blocks, goals)
        splits = GoalSplits(
            kind,
            tuple(blocks["train"]),
            tuple(blocks["validation"]),
            tuple(blocks["test"]),
            dropped,
            group_key,
            {"test": tuple(sorted(held["test"])), "validation": tuple(sorted(held["validation"]))},
        )
    return splits


def _pairs(goal: Any) -> set[str]:
    return {f"{goal.query}|{a}" for a in goal.attributes}


def _attribute_splits(goals: Sequence[Any], seed: int, test_fraction: float, validation_fraction: float) -> GoalSplits:
    """Held-out (type, attribute) combinations; see the module docstring (`attributes`)."""
    if not (0 < test_fraction and 0 < validation_fraction and test_fraction + validation_fraction < 1):
        raise ValueError("need 0 < test_fraction, 0 < validation_fraction and their sum < 1")
    n = len(goals)
    by_pair: dict[str, list[int]] = {}
    for i, g in enumerate(goals):
        for p in _pairs(g):
            by_pair.setdefault(p, []).append(i)
    pairs = sorted(by_pair)
    random.Random(seed).shuffle(pairs)
    where = ["train"] * n
    types: dict[str, int] = {}
    attrs: dict[str, int] = {}
    for g in goals:
        types[g.query] = types.get(g.query, 0) + 1
        for a in set(g.attributes):
            attrs[a] = attrs.get(a, 0) + 1
    held: dict[str, list[str]] = {"test": [], "validation": []}
    position = 0
    for name, fraction in (("test", test_fraction), ("validation", validation_fraction)):
        count = 0
        while count < fraction * n and position < len(pairs):
            pair = pairs[position]
            position += 1
            moving = [i for i in by_pair[pair] if where[i] == "train"]
            lost_types: dict[str, int] = {}
            lost_attrs: dict[str, int] = {}
            for i in moving:
                lost_types[goals[i].query] = lost_types.get(goals[i].query, 0) + 1
                for a in set(goals[i].attributes):
                    lost_attrs[a] = lost_attrs.get(a, 0) + 1
            if any(types[t] - k < 1 for t, k in lost_types.items()) or any(attrs[a] - k < 1 for a, k in lost_attrs.items()):
                continue  # holding it out would leave its type or an attribute unseen in training
            for t, k in lost_types.items():
                types[t] -= k
            for a, k in lost_attrs.items():
                attrs[a] -= k
            for i in moving:
                where[i] = name
            held[name].append(pair)
            count += len(moving)
    blocks = {name: [i for i in range(n) if where[i] == name] for name in SPLIT_NAMES}
    dropped = _drop_text_overlap(blocks, goals)
    return GoalSplits(
        "attributes", tuple(blocks["train"]), tuple(blocks["validation"]), tuple(blocks["test"]), dropped, None,
        {"test": tuple(sorted(held["test"])), "validation": tuple(sorted(held["validation"]))},
    )


def check_disjoint(splits: GoalSplits, goals: Sequence[Any]) -> None:
    """Raise ValueError if two splits share a goal, a normalized instruction or (category) a group."""
    problems = []
    texts: dict[str, set[str]] = {}
    groups: dict[str, set[str]] = {}
    for name in SPLIT_NAMES:
        idx = splits.indices(name)
        if any(i < 0 or i >= len(goals) for i in idx):
            problems.append(f"{name} holds goal indices outside [0, {len(goals)})")
            idx = tuple(i for i in idx if 0 <= i < len(goals))
        texts[name] = {normalize_instruction(goals[i].instruction_text) for i in idx}
        if splits.group_key:
            groups[name] = {getattr(goals[i], splits.group_key) for i in idx}
    for a, b in (("train", "validation"), ("train", "test"), ("validation", "test")):
        shared_idx = set(splits.indices(a)) & set(splits.indices(b))
        if shared_idx:
            problems.append(f"{a} and {b} share {len(shared_idx)} goal indices, e.g. {sorted(shared_idx)[:3]}")
        shared_text = texts[a] & texts[b]
        if shared_text:
            problems.append(f"{a} and {b} share {len(shared_text)} normalized instructions, e.g. {sorted(shared_text)[:2]}")
        if splits.group_key:
            shared_groups = groups[a] & groups[b]
            if shared_groups:
                problems.append(f"{a} and {b} share {len(shared_groups)} {splits.group_key} groups, e.g. {sorted(shared_groups)[:3]}")
    if splits.kind == "attributes":
        train_pairs = {p for i in splits.train if 0 <= i < len(goals) for p in _pairs(goals[i])}
        for name in ("validation", "test"):
            leaked = train_pairs & set(splits.held_out.get(name, ()))
            if leaked:
                problems.append(f"train requests {len(leaked)} (type, attribute) pairs held out for {name}, e.g. {sorted(leaked)[:2]}")
    if problems:
        raise ValueError(f"goal split {splits.kind!r} is not disjoint: " + "; ".join(problems))
