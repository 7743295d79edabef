"""`WebShopEnv`: the WebShop text environment (Yao et al., 2022) as a gymnasium Env.

Page flow, action grammar and visible strings follow the original text environment:

- Actions are strings `search[<keywords>]` and `click[<element>]`, parsed as the original does
  (`(.+)\\[(.+)\\]` from the start of the string; the argument lower-cased). `search` works from any
  page with a non-empty argument and shows results page 1 (top 50 BM25 hits, 10 a page). `click`
  works only on an element the current page shows (`info["valid_actions"]`); `click[search]` is
  refused as in the original. Anything else changes nothing: same page, reward 0, not done, with
  `info["invalid_action"] = True`.
- Navigation: `Back to Search` starts the session over (search page; selected options and
  visited products forgotten); `Next >` / `< Prev` page through results (`Next >` is always shown,
  past the last hit the page is empty); on an item page `< Prev` returns to the results (options
  cleared, as every results page clears them) and on a sub-page to the item; clicking an option
  value selects it (one per option name); `Buy Now` ends the episode with the reward, whose parts
  are in `info["reward_parts"]`.
- Step limit (`step_limit`, default 100, which the original's baselines used): at the limit an
  episode that has not bought is truncated with reward 0.

Observations are `text` (strings joined by " [SEP] ") or `text_rich` (see pages.py). Goals:
`reset(options={"goal": i})` plays goal `i` of `catalog.goals` (which must belong to the env's
split, if it has one); otherwise a goal of the split is drawn with the env's seeded generator.

info (every step): `goal_index`, `split`, `instruction`, `page` (search / results / item /
item_sub / done), `valid_actions` (the `click[...]` actions the page accepts; `search[...]` is
always accepted), `has_search_bar`, `result_asins` (asins shown on a results page), `steps`,
`invalid_action`. On Buy Now also `reward_parts`, `purchased_asin`, `purchased_options`,
`goal_asin`.
"""

from __future__ import annotations

import re
import string
from typing import Any

import gymnasium
from gymnasium import spaces

from rlgen_envs.webshop import pages
from rlgen_envs.webshop.catalog import Catalog, Goal, Product
from rlgen_envs.webshop.reward import compute_reward
from rlgen_envs.webshop.search import SEARCH_RETURN_N
from rlgen_envs.webshop.splits import SPLIT_KINDS, SPLIT_NAMES, GoalSplits, make_splits

OBS_MODES = ("text", "text_rich")
MAX_OBSERVATION_CHARS = 200_000
MAX_ACTION_CHARS = 1_000
DEFAULT_STEP_LIMIT = 100
_ACTION = re.compile(r"(.+)\[(.+)\]")
SEARCH, RESULTS, ITEM, ITEM_SUB, DONE = "search", "results", "item", "item_sub", "done"


class AnyText(spaces.Text):
    """A `gymnasium.spaces.Text` that contains any string up to `max_length` characters.

    Product text holds characters of every script, beyond any fixed charset; `sample` still draws
    from the printable ASCII charset given.
    """

    def contains(self, x: Any) -> bool:
        return isinstance(x, str) and self.min_length <= len(x) <= self.max_length


def parse_action(action: str) -> tuple[str, str | None]:
    """(name, argument or None), as the original: `(.+)\\[(.+)\\]` matched from the start."""
    m = _ACTION.match(action)
    if m is None:
        return action, None
    return m.group(1), m.group(2)


class WebShopEnv(gymnasium.Env):
    """WebShop text environment; see the module docstring for actions, pages and info."""

    metadata = {"render_modes": ["ansi"], "render_fps": 4}

    def __init__(
        self,
        catalog: Catalog | None = None,
        obs_mode: str = "text",
        split: str | None = None,
        split_kind: str = "unseen",
        splits: GoalSplits | None = None,
        step_limit: int = DEFAULT_STEP_LIMIT,
        render_mode: str | None = None,
    ) -> None:
        if obs_mode not in OBS_MODES:
            raise ValueError(f"obs_mode must be one of {OBS_MODES}, got {obs_mode!r}")
        if split is not None and split not in SPLIT_NAMES:
            raise ValueError(f"split must be None or one of {SPLIT_NAMES}, got {split!r}")
        if split_kind not in SPLIT_KINDS:
            raise ValueError(f"split_kind must be one of {SPLIT_KINDS}, got {split_kind!r}")
        if step_limit < 1:
            raise ValueError("step_limit must be >= 1")
        if render_mode not in (None, "ansi"):
            raise ValueError(f"render_mode must be None or 'ansi', got {render_mode!r}")
        if catalog is None:
            from rlgen_envs.webshop.generator import default_catalog

            catalog = default_catalog()
        if not catalog.goals:
            raise ValueError("the catalog has no goals")
        self.catalog = catalog
        self.obs_mode = obs_mode
        self.split = split
        self.step_limit = step_limit
        self.render_mode = render_mode
        if split is not None:
            self.splits = splits if splits is not None else make_splits(catalog.goals, split_kind)
            self.goal_indices: tuple[int, ...] = self.splits.indices(split)
            if not self.goal_indices:
                raise ValueError(f"split {split!r} ({self.splits.kind}) has no goals")
        else:
            self.splits = splits
            self.goal_indices = tuple(range(len(catalog.goals)))
        self._allowed = frozenset(self.goal_indices) if split is not None else None
        charset = string.ascii_letters + string.digits + string.punctuation + " "
        self.observation_space = AnyText(MAX_OBSERVATION_CHARS, min_length=0, charset=charset)
        self.action_space = AnyText(MAX_ACTION_CHARS, min_length=1, charset=charset)
        _ = catalog.search  # build the index now, not inside the first step
        self._reset_session(0)

    # -- gymnasium API ---------------------------------------------------------------------------

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[str, dict]:
        super().reset(seed=seed)
        options = dict(options or {})
        unknown = set(options) - {"goal"}
        if unknown:
            raise ValueError(f"unknown reset options {sorted(unknown)}; valid: goal")
        goal = options.get("goal")
        if goal is None:
            index = self.goal_indices[int(self.np_random.integers(len(self.goal_indices)))]
        else:
            index = int(goal)
            if not 0 <= index < len(self.catalog.goals):
                raise ValueError(f"goal {index} is outside [0, {len(self.catalog.goals)})")
            if self._allowed is not None and index not in self._allowed:
                raise ValueError(f"goal {index} is not in the {self.split!r} split ({self.splits.kind})")
        self._reset_session(index)
        return self._observation(), self._info()

    def step(self, action: str) -> tuple[str, float, bool, bool, dict]:
        if self._page == DONE:
            raise RuntimeError("the episode has ended (Buy Now was clicked); call reset()")
        if self._steps >= self.step_limit:
            raise RuntimeError("the episode was truncated at the step limit; call reset()")
        if not isinstance(action, str):
            raise TypeError(f"actions are strings such as 'search[red shoes]' or 'click[buy now]', got {type(action).__name__}")
        self._steps += 1
        name, arg = parse_action(action)
        if arg is not None:
            arg = arg.lower()
        reward, terminated, valid = 0.0, False, True
        extra: dict[str, Any] = {}
        if name == "search" and arg:
            self._search(arg)
        elif name == "click" and arg is not None and arg != "search" and arg in self._clickables:
            reward, terminated, extra = self._click(arg)
        else:
            valid = False
        truncated = not terminated and self._steps >= self.step_limit
        info = self._info()
        info["invalid_action"] = not valid
        info.update(extra)
        return self._observation(), reward, terminated, truncated, info

    def render(self) -> str | None:
        return self._observation() if self.render_mode == "ansi" else None

    # -- properties for policies and tests ---------------------------------------------------------

    @property
    def goal(self) -> Goal:
        return self.catalog.goals[self._goal_index]

    @property
    def page(self) -> str:
        return self._page

    @property
    def selected_options(self) -> dict[str, str]:
        return dict(self._options)

    @property
    def elements(self) -> tuple[pages.Element, ...]:
        """The current page's visible elements, in page order (what the observation renders)."""
        return tuple(self._elements)

    @property
    def results(self) -> tuple[int, ...]:
        """Catalog indices of the last search's hits, best first (empty before any search)."""
        return self._results

    @property
    def result_page(self) -> int:
        """The results page shown last (1-based); kept while an item page is open."""
        return self._result_page

    @property
    def asin(self) -> str | None:
        """The asin of the open item page (or sub-page), else None."""
        return self._asin if self._page in (ITEM, ITEM_SUB) else None

    @property
    def steps(self) -> int:
        return self._steps

    # -- session state ----------------------------------------------------------------------------

    def _reset_session(self, goal_index: int) -> None:
        self._goal_index = goal_index
        self._steps = 0
        self._back_to_search()

    def _back_to_search(self) -> None:
        self._page = SEARCH
        self._keywords = ""
        self._results: tuple[int, ...] = ()
        self._result_page = 1
        self._asin: str | None = None
        self._options: dict[str, str] = {}
        self._visited: set[str] = set()
        self._sub_page = ""
        self._done_elements: list[pages.Element] = []
        self._refresh()

    def _search(self, keywords: str) -> None:
        self._keywords = keywords
        self._results = self.catalog.search.search(keywords, SEARCH_RETURN_N)
        self._show_results(1)

    def _show_results(self, page: int) -> None:
        self._page = RESULTS
        self._result_page = page
        self._asin = None
        self._options = {}
        self._refresh()

    def _click(self, key: str) -> tuple[float, bool, dict]:
        element = self._clickables[key]
        page = self._page
        if key == pages.END_BUTTON.lower():
            return self._buy()
        if key == pages.BACK_TO_SEARCH.lower():
            self._back_to_search()
        elif key == pages.NEXT_PAGE.lower() and page == RESULTS:
            self._show_results(self._result_page + 1)
        elif key == pages.PREV_PAGE.lower() and page == RESULTS:
            self._show_results(self._result_page - 1)
        elif key == pages.PREV_PAGE.lower() and page == ITEM_SUB:
            self._page = ITEM
            self._refresh()
        elif key == pages.PREV_PAGE.lower() and page == ITEM:
            self._show_results(self._result_page)
        elif key in _SUB_PAGE_KEYS:
            self._page = ITEM_SUB
            self._sub_page = _SUB_PAGE_KEYS[key]
            self._refresh()
        elif element.kind == pages.PRODUCT:
            self._asin = element.text.upper()
            self._visited.add(self._asin)
            self._page = ITEM
            self._refresh()
        elif element.kind == pages.OPTION:
            self._options[element.group] = element.text
            self._page = ITEM
            self._refresh()
        return 0.0, False, {}

    def _buy(self) -> tuple[float, bool, dict]:
        assert self._asin is not None
        product = self.catalog.product(self._asin)
        result = compute_reward(product, self.goal, self.catalog.prices[self._asin], self._options, self.catalog.nouns)
        self._page = DONE
        self._done_elements = pages.visible(pages.done_page(self._asin, self._options, result.reward))
        self._refresh()
        extra = {
            "reward_parts": dict(result.parts),
            "purchased_asin": self._asin,
            "purchased_options": dict(self._options),
            "goal_asin": self.goal.asin,
        }
        return result.reward, True, extra

    # -- pages, observations, info ----------------------------------------------------------------

    def _product(self) -> Product:
        assert self._asin is not None
        return self.catalog.product(self._asin)

    def _refresh(self) -> None:
        instruction = self.goal.instruction_text
        if self._page == SEARCH:
            elements = pages.search_page(instruction)
        elif self._page == RESULTS:
            start = (self._result_page - 1) * pages.PRODUCT_WINDOW
            shown = [self.catalog.products[i] for i in self._results[start : start + pages.PRODUCT_WINDOW]]
            elements = pages.results_page(instruction, self._result_page, len(self._results), shown)
        elif self._page == ITEM:
            elements = pages.item_page(instruction, self._product())
        elif self._page == ITEM_SUB:
            elements = pages.sub_page(instruction, self._product(), self._sub_page)
        else:
            elements = self._done_elements
        self._elements = pages.visible(elements)
        clickables: dict[str, pages.Element] = {}
        for e in self._elements:
            key = e.click_key
            if key is not None:
                clickables[key] = e  # a later element with the same text wins, as in the original
        self._clickables = clickables

    def _observation(self) -> str:
        if self.obs_mode == "text":
            return pages.render_text(self._elements)
        return pages.render_text_rich(self._elements, set(self._options.values()), self._visited)

    def _info(self) -> dict[str, Any]:
        return {
            "goal_index": self._goal_index,
            "split": self.split,
            "instruction": self.goal.instruction_text,
            "page": self._page,
            "valid_actions": [f"click[{k}]" for k in self._clickables if k != "search"],
            "has_search_bar": self._page == SEARCH,
            "result_asins": [e.text.lower() for e in self._elements if e.kind == pages.PRODUCT],
            "steps": self._steps,
            "invalid_action": False,
        }


_SUB_PAGE_KEYS = {s.lower(): s for s in pages.SUB_PAGES}
