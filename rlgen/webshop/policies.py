"""WebShop behaviour policies that act through the choice interface: they emit candidate indices.

Why here and not `rlgen_envs.webshop.policies`: those play the text env with action strings;
offline learners imitate what the dataset stores, which for WebShop is the index of a candidate
(`rlgen_envs.webshop.choice`). These policies follow rlgen's policy protocol (`act(observations)
-> (n,) int64`, `attach(env)`, `reset(env_indices)`) on a `WebShopChoiceVecEnv`, reading each
slot's page and candidates through `attach` (the oracle also reads the goal, as an oracle may),
so what they store is exactly what a learner can choose.

- `ChoiceOracle`: searches the instruction (the only search a candidate offers), and among the
  first `max_result_pages` pages of hits picks the product with the highest achievable reward
  (the goal's own product when it is there; each hit scored with the exact reward and the best
  options, `choose_options`), pages to it, opens it, selects the options and buys. Off its
  route (after a noisy step) it goes back: `< Prev` from a wrong item or sub-page.
- `ChoiceRule`: the paper's rule baseline: search the instruction, open the first result, buy.
- `ValidRandom`: uniform over the page's filled candidate slots.
- `CandidateEpsilon`: with probability epsilon per step, a uniform choice among the page's
  filled candidates instead of the inner policy's (never an empty slot).

Mixed skill: `EpisodeMixture` (rlgen.policies.base) of the oracle (probability `mix` per
episode) and the rule baseline (the rest), optionally inside `CandidateEpsilon`. The skill of a
dataset is measured at collection (mean reward on its training instructions), never assumed.
"""

from __future__ import annotations

import numpy as np

from rlgen_envs.webshop.choice import FIRST_ITEM_SLOT
from rlgen_envs.webshop.policies import choose_options
from rlgen_envs.webshop.reward import compute_reward

SEARCH, BACK, PREV, NEXT, BUY = 0, 1, 2, 3, 4
PRODUCTS_PER_PAGE = 10


class _ChoicePolicy:
    """Shared plumbing: the attached env, per-slot act, pass-through of protocol calls."""

    env = None

    def attach(self, env) -> None:
        if not hasattr(env, "views") or not hasattr(env, "slot_env"):
            raise TypeError(f"{type(self).__name__} acts on a WebShopChoiceVecEnv (got {type(env).__name__})")
        self.env = env

    def reset(self, env_indices: np.ndarray) -> None:
        pass

    def act(self, observations: np.ndarray) -> np.ndarray:
        return self.act_slots(observations, np.arange(len(observations)))

    def act_slots(self, observations: np.ndarray, slots: np.ndarray) -> np.ndarray:
        if self.env is None:
            raise RuntimeError(f"{type(self).__name__} needs attach(env) before act()")
        return np.array([self._act(int(i)) for i in slots], dtype=np.int64)

    def _act(self, slot: int) -> int:
        raise NotImplementedError


def _find(view, action: str) -> int | None:
    for k, c in enumerate(view.slots):
        if c is not None and c.action == action:
            return k
    return None


class ChoiceRule(_ChoicePolicy):
    """Search the instruction, open the first result, buy (Yao et al., 2022, rule baseline)."""

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed

    def _act(self, slot: int) -> int:
        view = self.env.views[slot]
        if view.page == "search":
            return SEARCH
        if view.page == "results":
            return FIRST_ITEM_SLOT if view.slots[FIRST_ITEM_SLOT] is not None else BACK
        if view.page == "item":
            return BUY
        return PREV


class ChoiceOracle(_ChoicePolicy):
    """Knows the goal; the best product among the instruction's hits (see the module docstring)."""

    def __init__(self, seed: int = 0, max_result_pages: int = 5) -> None:
        if max_result_pages < 1:
            raise ValueError("max_result_pages must be at least 1")
        self.seed = seed
        self.max_result_pages = max_result_pages
        self._targets: dict[int, tuple[int, int, str, dict[str, str]]] = {}  # slot -> (goal, rank, asin, options)
        self.stats = {"targets": 0, "goal_product_found": 0}

    def reset(self, env_indices: np.ndarray) -> None:
        for i in np.asarray(env_indices).reshape(-1):
            self._targets.pop(int(i), None)

    def _target(self, slot: int):
        env = self.env.slot_env(slot)
        goal_index = int(self.env.goals[slot])
        cached = self._targets.get(slot)
        if cached is not None and cached[0] == goal_index and env.results:
            return cached
        if not env.results:
            return None
        catalog, goal = env.catalog, env.goal
        hits = [catalog.products[i] for i in env.results[: self.max_result_pages * PRODUCTS_PER_PAGE]]
        own = [rank for rank, p in enumerate(hits) if p.asin == goal.asin]
        best = None
        if own:  # the goal's own product first, whatever a look-alike scores
            best = (2.0, own[0], goal.asin, choose_options(hits[own[0]], goal))
        else:
            for rank, product in enumerate(hits):
                options = choose_options(product, goal)
                score = compute_reward(product, goal, catalog.prices[product.asin], options, catalog.nouns).reward
                if best is None or score > best[0]:
                    best = (score, rank, product.asin, options)
        self.stats["targets"] += 1
        self.stats["goal_product_found"] += int(best[0] == 2.0)
        self._targets[slot] = (goal_index, best[1], best[2], best[3])
        return self._targets[slot]

    def _act(self, slot: int) -> int:
        view = self.env.views[slot]
        env = self.env.slot_env(slot)
        if view.page == "search":
            return SEARCH
        target = self._target(slot)
        if target is None:  # no hits: nothing to buy
            return BACK if view.page != "results" else SEARCH
        _, rank, asin, options = target
        if view.page == "results":
            page = rank // PRODUCTS_PER_PAGE + 1
            if view.result_page < page:
                return NEXT
            if view.result_page > page:
                return PREV
            k = _find(view, f"click[{asin.lower()}]")
            return k if k is not None else SEARCH
        if view.page == "item":
            if env.asin != asin:
                return PREV
            selected = env.selected_options
            for name, value in options.items():
                if selected.get(name) != value:
                    k = _find(view, f"click[{value}]")
                    if k is not None:
                        return k
            return BUY
        return PREV


class ValidRandom(_ChoicePolicy):
    """Uniformly random among the page's filled candidate slots."""

    def __init__(self, seed: int = 0) -> None:
        self.rng = np.random.default_rng(seed)

    def _act(self, slot: int) -> int:
        filled = [k for k, c in enumerate(self.env.views[slot].slots) if c is not None]
        return int(filled[self.rng.integers(len(filled))])


class CandidateEpsilon(_ChoicePolicy):
    """With probability `epsilon` per step, a random filled candidate instead of `inner`'s choice."""

    def __init__(self, inner, epsilon: float, seed: int = 0) -> None:
        if not 0.0 <= epsilon <= 1.0:
            raise ValueError(f"epsilon must lie in [0, 1], got {epsilon}")
        self.inner = inner
        self.epsilon = epsilon
        self.rng = np.random.default_rng(seed)
        self._random = ValidRandom(seed + 1)
        self.stats = {"random_steps": 0, "steps": 0}

    def attach(self, env) -> None:
        super().attach(env)
        self._random.attach(env)
        self.inner.attach(env)

    def reset(self, env_indices: np.ndarray) -> None:
        self.inner.reset(env_indices)

    def observe(self, rewards: np.ndarray) -> None:
        fn = getattr(self.inner, "observe", None)
        if fn is not None:
            fn(rewards)

    def act(self, observations: np.ndarray) -> np.ndarray:
        actions = np.asarray(self.inner.act(observations), dtype=np.int64).copy()
        explore = np.flatnonzero(self.rng.random(len(actions)) < self.epsilon)
        if len(explore):
            actions[explore] = self._random.act_slots(observations[explore], explore)
        self.stats["steps"] += len(actions)
        self.stats["random_steps"] += len(explore)
        return actions
