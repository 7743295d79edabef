"""Reference behaviour policies for WebShop: an oracle that knows the goal, and the rule baseline.

Both are plain env-level policies: `reset(info)` at the start of an episode, then
`act(observation, info) -> action string` each step, reading only the observation, the info the
env returns (page, valid actions, result asins, goal index) and, for the oracle, the catalog.
Neither draws random numbers; `seed` is kept so that every behaviour policy has the same
constructor shape and stays deterministic given it.

- `OraclePolicy`: searches the target product's title (then its query with the goal's
  attributes, then the instruction), pages through up to `max_result_pages` result pages looking
  for the target asin, opens it, selects for each goal option the product's option value that
  the reward's matcher scores highest (above the threshold; exact values first), and buys. Falls
  back to the first result when the target never shows up. Reaches reward 1 on nearly every
  generated goal (misses come from search, never from the reward).
- `RuleBaselinePolicy`: the original paper's rule baseline: search the instruction text, click
  the first result, buy now (Score 45.6, success 9.6% on the original test goals).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from rlgen_envs.webshop.catalog import Catalog, Goal, Product
from rlgen_envs.webshop.reward import MATCH_THRESHOLD, fuzzy_score, normalize_color

BUY, BACK, NEXT, PREV = "click[buy now]", "click[back to search]", "click[next >]", "click[< prev]"


class WebShopPolicy(Protocol):
    def reset(self, info: Mapping[str, Any]) -> None: ...

    def act(self, observation: str, info: Mapping[str, Any]) -> str: ...


def choose_options(product: Product, goal: Goal) -> dict[str, str]:
    """Option values of `product` that best satisfy the goal's options ({name: value}).

    Dictionary-style goals name the option: their value is taken when the product offers it.
    List-style goals are matched to the value the reward's matcher scores highest over all option
    names (colour-normalized, as the reward compares), exact values first; each option name is
    used once, and a goal option no value scores above the threshold for is left out.
    """
    chosen: dict[str, str] = {}
    if isinstance(goal.goal_options, Mapping):
        for name, value in goal.goal_options.items():
            if value in product.options.get(name, ()):
                chosen[name] = value
        return chosen
    for g in goal.goal_options:
        best: tuple[int, int, str, str] | None = None  # (exact, score, name, value)
        for name, values in product.options.items():
            if name in chosen:
                continue
            for v in values:
                exact = int(v == g.lower().strip())
                score = fuzzy_score(normalize_color(v), normalize_color(g))
                if best is None or (exact, score) > best[:2]:
                    best = (exact, score, name, v)
        if best is not None and (best[0] or best[1] > MATCH_THRESHOLD):
            chosen[best[2]] = best[3]
    return chosen


class OraclePolicy:
    """Knows the goal (through `info["goal_index"]` and the catalog); see the module docstring."""

    def __init__(self, catalog: Catalog, seed: int = 0, max_result_pages: int = 5) -> None:
        self.catalog = catalog
        self.seed = seed
        self.max_result_pages = max_result_pages
        self._goal: Goal | None = None

    def reset(self, info: Mapping[str, Any]) -> None:
        self._goal = self.catalog.goals[int(info["goal_index"])]
        g = self._goal
        self._queries = [g.name, " ".join([g.query, *g.attributes]), g.instruction_text]
        self._query_index = -1
        self._pages_seen = 0
        self._target = g.asin
        self._first_result: str | None = None
        self._fallback = False
        self._pending: list[str] = []
        self._opened: str | None = None

    def act(self, observation: str, info: Mapping[str, Any]) -> str:
        if self._goal is None or self.catalog.goals[int(info["goal_index"])] is not self._goal:
            self.reset(info)
        page = info["page"]
        valid = set(info["valid_actions"])
        if page == "search":
            return self._next_query()
        if page == "results":
            asins = list(info["result_asins"])
            if self._pages_seen == 0 and asins:
                self._first_result = asins[0]
            self._pages_seen += 1
            if self._target.lower() in asins:
                return f"click[{self._target.lower()}]"
            if asins and self._pages_seen < self.max_result_pages and NEXT in valid:
                return NEXT
            if self._query_index + 1 < len(self._queries):
                return self._next_query()
            if self._first_result is not None:  # give up on the target: the first hit of the last query
                self._fallback = True
                self._target = self._first_result.upper()
                return self._next_query(repeat=True)
            return BUY if BUY in valid else self._next_query(repeat=True)
        if page == "item":
            if self._opened is None:
                product = self.catalog.product(self._target)
                self._opened = self._target
                self._pending = [f"click[{v}]" for v in choose_options(product, self._goal).values()]
            while self._pending:
                action = self._pending.pop(0)
                if action in valid:
                    return action
            return BUY
        if page == "item_sub":
            return PREV
        return BACK

    def _next_query(self, repeat: bool = False) -> str:
        if not repeat:
            self._query_index = min(self._query_index + 1, len(self._queries) - 1)
        self._pages_seen = 0
        return f"search[{self._queries[self._query_index]}]"


class RuleBaselinePolicy:
    """Search the instruction, click the first result, buy (Yao et al., 2022, rule baseline)."""

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed

    def reset(self, info: Mapping[str, Any]) -> None:
        pass

    def act(self, observation: str, info: Mapping[str, Any]) -> str:
        page = info["page"]
        if page == "search":
            return f"search[{info['instruction']}]"
        if page == "results":
            asins: Sequence[str] = info["result_asins"]
            return f"click[{asins[0]}]" if asins else BACK
        if page == "item":
            return BUY
        return PREV if page == "item_sub" else BACK


def run_episode(env: Any, policy: WebShopPolicy, goal: int | None = None, seed: int | None = None) -> dict[str, Any]:
    """Play one episode; returns reward, steps, whether it bought, and the final info."""
    options = {"goal": goal} if goal is not None else None
    obs, info = env.reset(seed=seed, options=options)
    policy.reset(info)
    reward, terminated, truncated = 0.0, False, False
    while not (terminated or truncated):
        obs, reward, terminated, truncated, info = env.step(policy.act(obs, info))
    return {"reward": float(reward), "steps": info["steps"], "bought": bool(terminated), "info": info}
