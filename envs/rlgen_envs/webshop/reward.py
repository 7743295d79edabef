"""The WebShop reward (Yao et al., 2022), computed when Buy Now is clicked, quirks included.

    R = r_type * (matched attributes + matched options + [price <= price_upper])
                / (goal attributes + goal options + 1)

- Attributes: a goal attribute matches if its fuzzy token-set ratio with one of the product's
  hidden attributes is above 85 (purchased value first), or else if it is a raw substring of the
  lower-cased title, of the bullet points joined by spaces (so it can match across two bullet
  points and inside words), or of the lower-cased description. The three are separate tests, as
  in the original code.
- Options: each goal option matches if some selected option value scores above 85 with it after
  colour normalization; one selected value may satisfy several goal options. List-style (human)
  goals compare values; dictionary-style (synthetic) goals pass (name, value) pairs, so only
  exact colour names are normalized and the option name is part of the compared text
  (`x-large` vs goal size `large` scores 83 and misses).
- Price: a boolean added into the sum. Type: `type_reward` below.

Fuzzy matcher: the original ran thefuzz on difflib (no Levenshtein extension). rlgen uses
rapidfuzz's token-set ratio with thefuzz's processing (`str()` of the input, characters 128-255
removed, non-word characters to spaces, lower case), its empty-string rule (0) and its rounding to
an integer before the strict `> 85` test. rapidfuzz's indel similarity equals difflib's ratio
except on rare pairs where difflib's matching-block heuristic finds less than the longest common
subsequence (the reference notes one pack-size pair at 84 vs 89). Every reward's parts name the
matcher (`MATCHER`) and where title nouns came from.

Inputs that crash the original raise `ValueError` here: a price bound of 0 or less, a goal
without attributes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rapidfuzz import fuzz

from rlgen_envs.webshop.nouns import TitleNouns

MATCH_THRESHOLD = 85  # strictly above
MATCHER = "rapidfuzz.token_set_ratio (thefuzz processing, integer-rounded)"

# The original's colour list, in its order: normalization returns the first entry that occurs as a
# case-sensitive substring, which is why 'standard' becomes 'tan' and 'navy blue' becomes 'blue'.
COLOR_SET = (
    "alabaster", "apricot", "aqua", "ash", "asphalt", "azure", "banana", "beige", "black", "blue",
    "blush", "bordeaux", "bronze", "brown", "burgundy", "camel", "camo", "caramel", "champagne",
    "charcoal", "cheetah", "chestnut", "chocolate", "christmas", "coffee", "cognac", "copper", "coral",
    "cranberry", "cream", "crystal", "dark", "denim", "eggplant", "elephant", "espresso", "fuchsia",
    "gold", "granite", "grape", "graphite", "grass", "gray", "green", "grey", "heather", "indigo",
    "ivory", "ivy", "khaki", "lavender", "lemon", "leopard", "light", "lilac", "lime", "magenta",
    "maroon", "mauve", "merlot", "midnight", "mint", "mocha", "multicolor", "mushroom", "mustard",
    "natural", "navy", "nude", "olive", "orange", "peach", "pewter", "pink", "plum", "purple",
    "rainbow", "red", "rose", "royal", "rust", "sand", "sapphire", "seashell", "silver", "skull",
    "slate", "steel", "stone", "stonewash", "sunflower", "tan", "taupe", "teal", "tiger", "turquoise",
    "violet", "walnut", "wheat", "white", "wine", "yellow",
)  # fmt: skip

_HIGH_LATIN1 = {c: None for c in range(128, 256)}
_NON_WORD = re.compile(r"(?ui)\W")


def normalize_color(value: Any) -> Any:
    """First colour of COLOR_SET that occurs `in` the value, else the value unchanged.

    For a string this is a substring test; for a (name, value) pair (dictionary-style goals) it is
    tuple membership, so only an exact colour name is normalized.
    """
    for color in COLOR_SET:
        if color in value:
            return color
    return value


def _process(value: Any) -> str:
    return _NON_WORD.sub(" ", str(value).translate(_HIGH_LATIN1)).lower().strip()


def fuzzy_score(purchased: Any, goal: Any) -> int:
    """thefuzz-compatible `token_set_ratio(purchased, goal)`: an integer in [0, 100]."""
    a, b = _process(purchased), _process(goal)
    if not a or not b:
        return 0
    return int(round(fuzz.token_set_ratio(a, b, processor=None)))


def is_match(purchased: Any, goal: Any) -> bool:
    return fuzzy_score(purchased, goal) > MATCH_THRESHOLD


def type_reward(
    product_name: str, product_query: str, product_category: str, goal: Any, nouns: TitleNouns
) -> dict[str, Any]:
    """r_type and its inputs: query match, category-path match (>= 2 shared parts), title score."""
    query_match = product_query == goal.query
    purchased_parts = {x.strip() for x in product_category.split("›")}
    goal_parts = {x.strip() for x in goal.product_category.split("›")}
    category_match = len(purchased_parts & goal_parts) >= 2
    desired = nouns(goal.name)
    purchased = nouns(product_name)
    title_score = 0.2 if not desired else len(set(purchased) & set(desired)) / len(desired)
    r_type = 1.0
    if not (query_match or category_match or title_score > 0.2):
        r_type = 0.5
    if title_score < 0.1:
        r_type = 0.1
    if title_score == 0.0:
        r_type = 0.0
    return {
        "r_type": r_type,
        "query_match": query_match,
        "category_match": category_match,
        "title_score": title_score,
        "noun_source": nouns.source_of(goal.name, product_name),
    }


def attribute_matches(product: Any, goal_attributes: Sequence[str]) -> int:
    title = product.title.lower()
    bullets = " ".join(product.bullet_points).lower()
    description = product.description.lower()
    count = 0
    for g_attr in goal_attributes:
        if any(is_match(p_attr, g_attr) for p_attr in product.attributes):
            count += 1
        elif g_attr in title or g_attr in bullets or g_attr in description:
            count += 1
    return count


def option_matches(purchased_values: Sequence[str], goal_options: Sequence[Any] | Mapping[str, str]) -> int:
    goals = list(goal_options.items()) if isinstance(goal_options, Mapping) else list(goal_options)
    purchased = [normalize_color(v) for v in purchased_values]
    count = 0
    for g_option in (normalize_color(g) for g in goals):
        if any(is_match(p_option, g_option) for p_option in purchased):
            count += 1
    return count


@dataclass(frozen=True)
class RewardResult:
    """The reward and its parts (the original's verbose dictionary plus counts and provenance)."""

    reward: float
    parts: Mapping[str, Any]


def compute_reward(
    product: Any, goal: Any, price: float, options: Mapping[str, str], nouns: TitleNouns
) -> RewardResult:
    """Reward for buying `product` at `price` with `options` ({name: value} selected) for `goal`.

    `product` needs title, description, bullet_points, attributes, query, product_category;
    `goal` needs name, query, product_category, attributes, goal_options, price_upper.
    """
    if not goal.attributes:
        raise ValueError("goal has no attributes: the original divides by their count and skips such goals")
    if not goal.price_upper > 0:
        raise ValueError(f"price_upper must be > 0, got {goal.price_upper} (the original crashes on it)")
    type_parts = type_reward(product.title, product.query, product.product_category, goal, nouns)
    n_att = len(goal.attributes)
    n_opt = len(goal.goal_options)
    denominator = n_att + n_opt + 1
    att = attribute_matches(product, goal.attributes)
    opt = option_matches(list(options.values()), goal.goal_options)
    r_price = bool(price <= goal.price_upper)
    reward = (att + opt + r_price) / denominator * type_parts["r_type"]
    parts: dict[str, Any] = {
        **type_parts,
        "r_att": att / n_att,
        "w_att": n_att / denominator,
        "r_price": r_price,
        "w_price": 1 / denominator,
        "num_attr_matches": att,
        "num_option_matches": opt,
        "matcher": MATCHER,
    }
    if n_opt:
        parts["r_option"] = opt / n_opt
        parts["w_option"] = n_opt / denominator
    return RewardResult(reward=float(reward), parts=parts)
