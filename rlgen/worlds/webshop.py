"""The WebShop world: what the pipeline needs to collect, train on and evaluate WebShop (issue 4).

The same seam as `rlgen.worlds.procgen.ProcgenWorld` / `rlgen.worlds.stitch_maze.StitchMazeWorld`;
collection, training, model selection, evaluation and the report run their ordinary code on it.

Levels are instructions. rlgen's level sets keep their meaning and their checks (`LevelSplit`
refuses overlapping sets): training level i plays the i-th goal of the WebShop train split, so a
dataset's diversity `levels.train = N` is its number of training instructions; validation level
`validation.start + j` plays the j-th goal of the validation split (1_000_000 + j by default),
test level `test.start + k` the k-th goal of the test split (2_000_000 + k). The goal splits
(`rlgen_envs.webshop.splits`, kind `split_kind`) are disjoint in goals and in normalized
instruction text, checked with `check_disjoint` when the world is built; a level set larger than
its split is refused (`check_levels`, before collection and whenever jobs are made).

Actions are candidate indices (K = `num_candidates`, default 20) and observations (D,) uint8
feature vectors (`rlgen_envs.webshop.choice`); an index whose slot is empty on the page is a
no-op step counted against `max_episode_steps` (`rlgen_envs.webshop.vec`). The learners see
(D,) vectors and use d3rlpy's MLP encoder with a min-max scaler, as the stitching maze's vector
mode does.

Scores: `score(return) = 100 x reward` (the paper's Score, per episode); success is reward
exactly 1 (the vec env's `level_complete`). Records carry the task as (`webshop`, split kind).
On the generated catalog the numbers are not comparable with the paper's (`REPORT_NOTE`, the
world's `report_note`, which the report prints).

Options (`env.options`):

- `catalog_seed` (0), `num_products` (3000): the generated catalog; or `catalog_folder`: a folder
  with the original's files (`rlgen_envs.webshop.load_catalog_folder`).
- `split_kind`: `unseen` (default: the positional blocks minus repeated instructions),
  `original`, `category` (whole product types held out), `attributes` (held-out combinations
  of product type and attribute: every type and attribute is seen in training, never together
  with the other); `split_seed` (0) for the two hold-out kinds.
- `num_candidates` (20), `max_episode_steps` (100, the original baselines' limit),
  `featurizer` (`hashed`, or `module:factory` called with `num_candidates` and
  `featurizer_options`), `featurizer_options` ({} : e.g. `instruction_buckets`).

Behaviour policies (`collect.policy.name`): `webshop_oracle` (options: `max_result_pages`;
`mix`: the probability that an episode is the oracle's, the others being the rule baseline's),
`webshop_rule`, `webshop_random` (uniform over the page's candidates), registered here in the
behaviour registry (`rlgen.policies.registry`); the generic `random` draws all K slots.
`collect.policy.epsilon` replaces an action by a uniform choice among the page's candidates with
that probability (never an empty slot; `epsilon_policy`). Reference rows: `oracle` and `rule` (`reference_names`), beside the generic
`random` (uniform over all K slots, empty ones included) and `behaviour`.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Sequence

import numpy as np

from rlgen.core.config import ConfigError
from rlgen.core.levels import LevelSet, LevelSplit
from rlgen.policies.base import EpisodeMixture
from rlgen.policies.registry import register_behaviour
from rlgen.worlds.base import WorldBase
from rlgen.worlds.registry import register_world

KIND = "webshop"
REPORT_NOTE = (
    "WebShop: the score is 100 x reward (0 to 1, computed on Buy Now; an episode that never buys "
    "scores 0) and success is reward exactly 1 (Yao et al., 2022). Results on rlgen's generated "
    "catalog are not comparable with the paper's (which use the original 1.18M-product catalog "
    "and human instructions)."
)
SPLIT_KINDS = ("unseen", "original", "category", "attributes")
OPTIONS = (
    "catalog_seed", "num_products", "catalog_folder", "split_kind", "split_seed", "num_candidates",
    "max_episode_steps", "featurizer", "featurizer_options",
)


@dataclass(frozen=True)
class GoalJob:
    """Play catalog goal `goal` once, as repeat `repeat` of `level`, reported under `split`."""

    split: str
    level: int
    repeat: int
    goal: int


@lru_cache(maxsize=4)
def _catalog(seed: int, num_products: int, folder: str | None):
    from rlgen_envs.webshop import default_catalog, load_catalog_folder

    return default_catalog(seed, num_products) if folder is None else load_catalog_folder(folder)


@lru_cache(maxsize=8)
def _splits(seed: int, num_products: int, folder: str | None, kind: str, split_seed: int):
    from rlgen_envs.webshop import check_disjoint, make_splits

    goals = _catalog(seed, num_products, folder).goals
    splits = make_splits(goals, kind, seed=split_seed)
    check_disjoint(splits, goals)
    return splits


class WebShopWorld(WorldBase):
    """WebShop as a choice among K candidates; see the module docstring."""

    kind = KIND
    reference_names = ("oracle", "rule")
    report_note = REPORT_NOTE

    def __init__(
        self,
        catalog_seed: int = 0,
        num_products: int = 3000,
        catalog_folder: str | None = None,
        split_kind: str = "unseen",
        split_seed: int = 0,
        num_candidates: int = 20,
        max_episode_steps: int = 100,
        featurizer: str = "hashed",
        featurizer_options: dict | None = None,
    ) -> None:
        from rlgen_envs.webshop.choice import FIRST_ITEM_SLOT

        if split_kind not in SPLIT_KINDS:
            raise ConfigError(f"env.options.split_kind: unknown {split_kind!r}; valid: {', '.join(SPLIT_KINDS)}")
        if not FIRST_ITEM_SLOT < int(num_candidates) <= 255:
            raise ConfigError(f"env.options.num_candidates must lie in ({FIRST_ITEM_SLOT}, 255] (actions are stored as uint8), got {num_candidates}")
        if int(max_episode_steps) < 1 or int(num_products) < 1:
            raise ConfigError("env.options: max_episode_steps and num_products must be at least 1")
        self.catalog_seed, self.num_products = int(catalog_seed), int(num_products)
        self.catalog_folder = None if catalog_folder is None else str(catalog_folder)
        self.split_kind, self.split_seed = split_kind, int(split_seed)
        self.num_actions = self.num_candidates = int(num_candidates)
        self.max_episode_steps = int(max_episode_steps)
        self.featurizer_name = str(featurizer)
        self.featurizer_options = dict(featurizer_options or {})
        self._featurizer = self._make_featurizer()

    @classmethod
    def from_env(cls, env: dict[str, Any], behaviour_options: dict | None = None) -> WebShopWorld:
        """The world of a config's or a manifest's `env` (its `options`)."""
        options = dict(env.get("options") or {})
        unknown = sorted(set(options) - set(OPTIONS))
        if unknown:
            raise ConfigError(f"env.options: unknown option(s) {unknown} for webshop; valid: {', '.join(OPTIONS)}")
        try:
            return cls(**options)
        except (TypeError, ValueError) as exc:
            if isinstance(exc, ConfigError):
                raise
            raise ConfigError(f"webshop: {exc}") from exc

    # -- what the world is -------------------------------------------------------------------

    @classmethod
    def dataset_label(cls, options: dict) -> str:
        """`webshop`, or `webshop-<split_kind>` for a goal split other than the default `unseen`
        (other splits hold other instructions, so other data)."""
        split_kind = options.get("split_kind", "unseen")
        return cls.kind if split_kind == "unseen" else f"{cls.kind}-{split_kind}"

    @property
    def options(self) -> dict:
        return {
            "catalog_seed": self.catalog_seed, "num_products": self.num_products, "catalog_folder": self.catalog_folder,
            "split_kind": self.split_kind, "split_seed": self.split_seed, "num_candidates": self.num_candidates,
            "max_episode_steps": self.max_episode_steps, "featurizer": self.featurizer_name,
            "featurizer_options": self.featurizer_options,
        }

    @property
    def catalog(self):
        return _catalog(self.catalog_seed, self.num_products, self.catalog_folder)

    @property
    def splits(self):
        return _splits(self.catalog_seed, self.num_products, self.catalog_folder, self.split_kind, self.split_seed)

    def goals_of(self, split: str) -> tuple[int, ...]:
        """Catalog goal indices of a split, in level order."""
        return self.splits.indices(split)

    @property
    def manifest_env(self) -> dict:
        """What a dataset records: the options that rebuild this world, and what the data is."""
        catalog = self.catalog
        meta = dict(catalog.metadata)
        return {
            "kind": self.kind,
            "options": self.options,
            "num_actions": self.num_actions,
            "observation_size": int(self._featurizer.size),
            "catalog": {
                "source": meta.get("source", "original files"), "num_products": len(catalog.products),
                "num_goals": len(catalog.goals), "matcher": meta.get("matcher"),
                "comparable_with_paper": meta.get("source") != "generated",
            },
            "splits": {k: v for k, v in self.splits.as_dict().items() if k not in ("test", "validation")},
            "note": REPORT_NOTE,
        }

    def _make_featurizer(self):
        from rlgen_envs.webshop.choice import HashedNgramFeaturizer

        if self.featurizer_name == "hashed":
            try:
                return HashedNgramFeaturizer(self.num_candidates, **self.featurizer_options)
            except TypeError as exc:
                raise ConfigError(f"env.options.featurizer_options: {exc}") from exc
        module, sep, name = self.featurizer_name.partition(":")
        if not sep:
            raise ConfigError(f"env.options.featurizer: 'hashed' or 'module:factory', got {self.featurizer_name!r}")
        factory = getattr(importlib.import_module(module), name)
        featurizer = factory(num_candidates=self.num_candidates, **self.featurizer_options)
        if not hasattr(featurizer, "encode") or int(getattr(featurizer, "size", 0)) < 1:
            raise ConfigError(f"env.options.featurizer {self.featurizer_name!r} must give an object with size and encode(view)")
        return featurizer

    # -- levels and jobs ---------------------------------------------------------------------

    def check_levels(self, split: LevelSplit) -> None:
        """Refuse a level set with more levels than its split has instructions."""
        for name in ("train", "validation", "test"):
            have = len(self.goals_of(name))
            if split[name].count > have:
                raise ConfigError(
                    f"levels.{name}: {split[name].count} levels but the WebShop {name} split "
                    f"({self.split_kind}) has {have} instructions"
                )

    def _goal(self, split: LevelSplit, name: str, level: int) -> int:
        offset = level - split[name].start
        goals = self.goals_of(name)
        if not 0 <= offset < len(goals):
            raise ConfigError(f"level {level} of {name} maps to instruction {offset}; the {name} split has {len(goals)}")
        return goals[offset]

    def jobs(self, split: LevelSplit, splits: Sequence[str], levels_per_split: int | None, episodes_per_level: int) -> list[GoalJob]:
        """The first `levels_per_split` instructions of each split, each played `episodes_per_level` times."""
        self.check_levels(split)
        jobs = []
        for name in splits:
            levels = split[name] if levels_per_split is None else split[name].first(levels_per_split)
            for level in levels.seeds:
                goal = self._goal(split, name, level)
                jobs.extend(GoalJob(name, level, k, goal) for k in range(episodes_per_level))
        return jobs

    def training_env(self, levels: LevelSet, num_envs: int):
        from rlgen_envs.webshop.vec import WebShopChoiceVecEnv

        train = self.goals_of("train")
        if levels.start + levels.count > len(train):
            raise ConfigError(f"training levels {levels} exceed the {len(train)} instructions of the WebShop train split")
        return WebShopChoiceVecEnv(
            self.catalog, train[levels.start : levels.start + levels.count], num_envs, levels.start,
            self.num_candidates, self._featurizer, self.max_episode_steps,
        )  # fmt: skip

    def pinned_env(self, jobs: Sequence[GoalJob], seeds: Sequence[int]):
        from rlgen_envs.webshop.vec import GoalTask, WebShopChoiceVecEnv

        return WebShopChoiceVecEnv.pinned(
            self.catalog, [GoalTask(j.level, j.goal) for j in jobs], num_candidates=self.num_candidates,
            featurizer=self._featurizer, max_episode_steps=self.max_episode_steps,
        )  # fmt: skip

    def repin(self, env, slot: int, job: GoalJob, seed: int) -> np.ndarray:
        from rlgen_envs.webshop.vec import GoalTask

        return env.repin(slot, GoalTask(job.level, job.goal), seed)

    def task_columns(self, job: GoalJob) -> dict:
        return {"game": self.kind, "mode": self.split_kind, "task": f"goal{job.goal}"}

    def score(self, returns: np.ndarray | float) -> np.ndarray:
        """The paper's Score of an episode: 100 x its reward."""
        return 100.0 * np.asarray(returns, dtype=np.float64)

    # -- behaviour and references ------------------------------------------------------------

    def epsilon_policy(self, policy: Any, epsilon: float, seed: int) -> Any:
        """Step noise among the page's candidates (never an empty slot)."""
        from rlgen.webshop.policies import CandidateEpsilon  # deferred, as every WebShop policy: the env package

        return CandidateEpsilon(policy, epsilon, seed=seed)

    def reference_policy(self, name: str, config: Any, seed: int):
        """`oracle` (the choice oracle, no noise) or `rule` (the paper's rule baseline)."""
        from rlgen.webshop.policies import ChoiceOracle, ChoiceRule

        if name == "oracle":
            return ChoiceOracle(seed)
        if name == "rule":
            return ChoiceRule(seed)
        raise ValueError(f"unknown WebShop reference {name!r}; valid: {', '.join(self.reference_names)}")


def make_world(env: dict[str, Any], behaviour_options: dict | None = None) -> WebShopWorld:
    """The world of a config's or a manifest's `env` (`WebShopWorld.from_env`)."""
    return WebShopWorld.from_env(env, behaviour_options)


def _oracle(seed: int, world: Any, max_result_pages: int | None = None, mix: float | None = None) -> Any:
    """The choice oracle; with `mix`, each episode is the oracle's with that probability, else the rule baseline's."""
    from rlgen.webshop.policies import ChoiceOracle, ChoiceRule

    policy: Any = ChoiceOracle(seed) if max_result_pages is None else ChoiceOracle(seed, max_result_pages=max_result_pages)
    return policy if mix is None else EpisodeMixture(policy, float(mix), seed=seed + 2, other=ChoiceRule(seed))


register_world(KIND, WebShopWorld)
register_behaviour("webshop_oracle", _oracle, games=(KIND,), options=("max_result_pages", "mix"), mix=False)
def _rule(seed: int, world: Any) -> Any:
    """The paper's rule baseline."""
    from rlgen.webshop.policies import ChoiceRule

    return ChoiceRule(seed)


def _valid_random(seed: int, world: Any) -> Any:
    """Uniform over the page's candidates (never an empty slot)."""
    from rlgen.webshop.policies import ValidRandom

    return ValidRandom(seed)


register_behaviour("webshop_rule", _rule, games=(KIND,), options=(), mix=False)
register_behaviour("webshop_random", _valid_random, games=(KIND,), options=(), mix=False)
