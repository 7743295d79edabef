"""Products, hidden attributes and goals: one schema and one build path for both catalogs.

Both the generated catalog (`generator.py`) and the original files go through `build_catalog`,
which takes records in the original JSON layout:

- products (`items_shuffle.json`, a top-level array): `asin`, `name`, `full_description`,
  `small_description` (a string or a list of bullet points), `pricing` (`"$x"`, `"$x - $y"`, or
  empty), `product_category` (`"A › B › C"`), `customization_options` ({name: [{"value": ...,
  "image": ...}]} or null), `category`, `query`; optional `images`, `average_rating`, and
  rlgen's `title_nouns` (generated catalogs only; see nouns.py);
- hidden attributes (`items_ins_v2.json`, an object keyed by asin): {"attributes": [...]}, plus
  `instruction` and `instruction_attributes` for synthetic goals;
- human instructions (`items_human_ins.json`, an object keyed by asin): lists of
  {"instruction", "instruction_attributes", "instruction_options"};
- reviews (optional; a top-level array): {"asin", "reviews": [{"title", "score"|"stars",
  "body"|"review"}], "average_rating"}.

What the build does, as the original's `load_products` / `get_goals` / `SimServer` do:
products whose asin is 'nan' or longer than 10 characters and repeated asins are skipped; option
names and values are lower-cased and '/' in values becomes ' | '; a missing price becomes $100.0;
the price a goal is scored at is the listed price or, for a range, a uniform draw in it; a goal's
bound is the larger of two draws from the first four multiples of $10 above that price (no bound,
1e6, and no price text when fewer than two exist); human instructions without attributes are
skipped; synthetic goals are one per combination of option values; all goals, in catalog order,
are shuffled with `random.Random(233)` (the original seeds the global generator with 233 before
its shuffle, so a catalog built from the original files gets the original's goal order and thus its
test/validation/train blocks).

Deviations: price draws and bounds come from a `random.Random` seeded by `price_seed` (the
original draws them from the unseeded global generator, so its bounds change from run to run);
records that would crash the original (a missing key, a bad price string, no bullet point) or
have the wrong types are skipped and counted in `metadata["skipped"]` instead.
"""

from __future__ import annotations

import itertools
import os
import random
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import cached_property
from typing import Any

from rlgen_envs.webshop.nouns import TitleNouns
from rlgen_envs.webshop.reward import MATCHER
from rlgen_envs.webshop.streaming import iter_json_array, iter_json_object

PRICE_RANGE = tuple(10.0 * i for i in range(1, 100))
NO_PRICE_BOUND = 1_000_000.0
GOAL_SHUFFLE_SEED = 233
GOAL_SOURCES = ("human", "synthetic")
PRODUCT_FILE, ATTRIBUTE_FILE, HUMAN_INSTRUCTION_FILE = "items_shuffle.json", "items_ins_v2.json", "items_human_ins.json"
_STRING_KEYS = ("asin", "name", "full_description", "product_category", "category", "query")


@dataclass(frozen=True)
class Review:
    title: str
    score: Any
    body: str


@dataclass(frozen=True, eq=False)
class Product:
    """A product as the environment shows and scores it (the original's processed record)."""

    asin: str
    title: str
    description: str
    bullet_points: tuple[str, ...]
    pricing: tuple[float, ...]  # one price, or (low, high)
    price_tag: str  # "$x" or "$x to $y", as shown
    options: Mapping[str, tuple[str, ...]]  # option name -> values, page order
    attributes: tuple[str, ...]  # hidden; ("DUMMY_ATTR",) when the attribute file has none
    category: str
    query: str
    product_category: str
    rating: str = "N.A."
    reviews: tuple[Review, ...] = ()
    title_nouns: tuple[str, ...] | None = None

    @property
    def search_text(self) -> str:
        """The indexed text: title, description, first bullet point and option text, lower-cased."""
        option_text = ", and ".join(f"{name}: {', '.join(values)}" for name, values in self.options.items())
        first_bullet = self.bullet_points[0] if self.bullet_points else ""
        return " ".join([self.title, self.description, first_bullet, option_text]).lower()


@dataclass(frozen=True, eq=False)
class Goal:
    """One instruction: the target product's fields, the attributes, options and price bound."""

    asin: str
    instruction_text: str
    attributes: tuple[str, ...]
    goal_options: tuple[str, ...] | Mapping[str, str]  # list-style (human) or {name: value} (synthetic)
    price_upper: float
    category: str
    query: str
    name: str
    product_category: str
    weight: float = 1.0


@dataclass(frozen=True, eq=False)
class Catalog:
    """Products, goals (already shuffled), the prices goals are scored at, and provenance."""

    products: tuple[Product, ...]
    goals: tuple[Goal, ...]
    prices: Mapping[str, float]
    metadata: Mapping[str, Any]
    noun_tagger: str = "auto"

    @cached_property
    def by_asin(self) -> dict[str, Product]:
        return {p.asin: p for p in self.products}

    def product(self, asin: str) -> Product:
        return self.by_asin[asin]

    @cached_property
    def search(self):  # -> ProductSearch (imported lazily: building the index costs time)
        from rlgen_envs.webshop.search import ProductSearch

        return ProductSearch([p.search_text for p in self.products])

    @cached_property
    def nouns(self) -> TitleNouns:
        recorded = {p.title: p.title_nouns for p in self.products if p.title_nouns is not None}
        return TitleNouns(recorded, tagger=self.noun_tagger)

    @property
    def noun_source(self) -> str:
        """'recorded' when every product records its title nouns, else the tagger used for the rest."""
        if all(p.title_nouns is not None for p in self.products):
            return "recorded"
        return self.nouns.tagger_source


@dataclass
class SkipCounter:
    """Counts of records skipped, by reason; ends up in `Catalog.metadata['skipped']`."""

    counts: Counter = field(default_factory=Counter)

    def add(self, reason: str) -> None:
        self.counts[reason] += 1

    def as_dict(self) -> dict[str, int]:
        return dict(sorted(self.counts.items()))


def parse_pricing(pricing: Any) -> tuple[tuple[float, ...], str]:
    """The original's price parsing: every '$'-separated amount, digits and dots kept."""
    if not pricing:
        return (100.0,), "$100.0"
    if not isinstance(pricing, str):
        raise ValueError(f"pricing must be a string, got {type(pricing).__name__}")
    try:
        prices = tuple(float(Decimal(re.sub(r"[^\d.]", "", part))) for part in pricing.split("$")[1:])
    except InvalidOperation:
        raise ValueError(f"unparsable pricing {pricing!r}") from None
    if not prices:
        raise ValueError(f"pricing {pricing!r} has no '$' amount")
    if len(prices) == 1:
        return prices, f"${prices[0]}"
    return prices[:2], f"${prices[0]} to ${prices[1]}"


def _reviews(record: Any) -> tuple[Review, ...]:
    out = []
    for r in record or ():
        if isinstance(r, dict):
            score = r.get("score", r.get("stars", ""))
            out.append(Review(str(r.get("title", "")), score, str(r.get("body", r.get("review", "")) or "")))
    return tuple(out)


def product_from_record(
    record: Any, attributes: Mapping[str, Any], reviews: Mapping[str, Any] | None = None
) -> Product:
    """A `Product` from one original-layout record; ValueError (with the reason) if unusable."""
    if not isinstance(record, dict):
        raise ValueError("not_an_object")
    for key in _STRING_KEYS:
        if not isinstance(record.get(key), str):
            raise ValueError(f"missing_or_bad_{key}")
    asin = record["asin"]
    if asin == "nan" or len(asin) > 10:
        raise ValueError("bad_asin")
    bullets = record.get("small_description")
    if isinstance(bullets, str):
        bullets = [bullets]
    if not isinstance(bullets, list) or not bullets or not all(isinstance(b, str) for b in bullets):
        raise ValueError("missing_or_bad_small_description")
    if "customization_options" not in record:
        raise ValueError("missing_customization_options")
    try:
        pricing, price_tag = parse_pricing(record.get("pricing"))
    except ValueError:
        raise ValueError("bad_pricing") from None
    options: dict[str, tuple[str, ...]] = {}
    raw_options = record["customization_options"] or {}
    if not isinstance(raw_options, dict):
        raise ValueError("bad_customization_options")
    for name, contents in raw_options.items():
        if contents is None:
            continue
        if not isinstance(contents, list) or not all(isinstance(c, dict) and isinstance(c.get("value"), str) for c in contents):
            raise ValueError("bad_customization_options")
        options[name.lower()] = tuple(c["value"].strip().replace("/", " | ").lower() for c in contents)
    hidden = attributes.get(asin)
    hidden_list = hidden.get("attributes") if isinstance(hidden, dict) else None
    if not isinstance(hidden_list, list):
        hidden_list = ["DUMMY_ATTR"]
    review = (reviews or {}).get(asin) or {}
    nouns = record.get("title_nouns")
    return Product(
        asin=asin,
        title=record["name"],
        description=record["full_description"],
        bullet_points=tuple(bullets),
        pricing=pricing,
        price_tag=price_tag,
        options=options,
        attributes=tuple(str(a) for a in hidden_list),
        category=record["category"],
        query=record["query"].lower().strip(),
        product_category=record["product_category"],
        rating=str(review.get("average_rating", "N.A.")) if review else "N.A.",
        reviews=_reviews(review.get("reviews")) if review else (),
        title_nouns=tuple(nouns) if isinstance(nouns, list) and all(isinstance(n, str) for n in nouns) else None,
    )


def _price_bound(price: float, rng: random.Random) -> tuple[float, str]:
    candidates = [p for p in PRICE_RANGE if p > price][:4]
    if len(candidates) < 2:
        return NO_PRICE_BOUND, ""
    _, upper = sorted(rng.sample(candidates, 2))
    return upper, f", and price lower than {upper:.2f} dollars"


def _is_str_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def build_catalog(
    products: Iterable[Any],
    attributes: Mapping[str, Any],
    human_instructions: Mapping[str, Any] | None = None,
    reviews: Mapping[str, Any] | None = None,
    goal_source: str = "human",
    price_seed: int = 0,
    max_products: int | None = None,
    noun_tagger: str = "auto",
    metadata: Mapping[str, Any] | None = None,
    skipped: SkipCounter | None = None,
) -> Catalog:
    """Build products and goals from original-layout records (see the module docstring).

    `reviews` maps asin -> review record. `max_products` keeps the first N records (the original's
    `num_products`). `metadata` is merged into the catalog's; `skipped` carries counts from
    earlier reading (the loader's).
    """
    if goal_source not in GOAL_SOURCES:
        raise ValueError(f"goal_source must be one of {GOAL_SOURCES}, got {goal_source!r}")
    if goal_source == "human" and human_instructions is None:
        raise ValueError("goal_source='human' needs the human instructions")
    skipped = skipped if skipped is not None else SkipCounter()
    kept: list[Product] = []
    seen: set[str] = set()
    for i, record in enumerate(products):
        if max_products is not None and i >= max_products:
            break
        try:
            product = product_from_record(record, attributes, reviews)
        except ValueError as err:
            skipped.add(f"product:{err}")
            continue
        if product.asin in seen:
            skipped.add("product:duplicate_asin")
            continue
        seen.add(product.asin)
        kept.append(product)

    rng = random.Random(f"{price_seed}:webshop-prices")
    prices: dict[str, float] = {}
    for p in kept:
        prices[p.asin] = p.pricing[0] if len(p.pricing) == 1 else rng.uniform(*p.pricing[:2])

    goals: list[Goal] = []
    if goal_source == "human":
        for p in kept:
            entries = human_instructions.get(p.asin) if human_instructions is not None else None
            if entries is None:
                continue
            if not isinstance(entries, list):
                skipped.add("instruction:not_a_list")
                continue
            for entry in entries:
                if not (
                    isinstance(entry, dict)
                    and isinstance(entry.get("instruction"), str)
                    and _is_str_list(entry.get("instruction_attributes"))
                    and _is_str_list(entry.get("instruction_options"))
                ):
                    skipped.add("instruction:invalid")
                    continue
                if not entry["instruction_attributes"]:
                    skipped.add("instruction:no_attributes")
                    continue
                upper, price_text = _price_bound(prices[p.asin], rng)
                goals.append(
                    Goal(
                        asin=p.asin,
                        instruction_text=entry["instruction"].strip(".") + price_text,
                        attributes=tuple(entry["instruction_attributes"]),
                        goal_options=tuple(entry["instruction_options"]),
                        price_upper=upper,
                        category=p.category,
                        query=p.query,
                        name=p.title,
                        product_category=p.product_category,
                    )
                )
    else:
        attribute_counts: Counter = Counter()
        synthetic: list[Goal] = []
        for p in kept:
            hidden = attributes.get(p.asin)
            if not isinstance(hidden, dict) or not isinstance(hidden.get("instruction"), str):
                continue
            goal_attributes = hidden.get("instruction_attributes")
            if not _is_str_list(goal_attributes) or not goal_attributes:
                skipped.add("instruction:invalid")
                continue
            upper, price_text = _price_bound(prices[p.asin], rng)
            names = sorted(p.options)
            for combination in itertools.product(*(p.options[n] for n in names)):
                goal_options = dict(zip(names, combination))
                option_text = ", and ".join(f"{k}: {v}" for k, v in goal_options.items())
                option_text = f" with {option_text}" if option_text else ""
                synthetic.append(
                    Goal(
                        asin=p.asin,
                        instruction_text=f"{hidden['instruction']}{option_text}{price_text}",
                        attributes=tuple(goal_attributes),
                        goal_options=goal_options,
                        price_upper=upper,
                        category=p.category,
                        query=p.query,
                        name=p.title,
                        product_category=p.product_category,
                    )
                )
                attribute_counts.update(goal_attributes)
        goals = [
            Goal(**{**g.__dict__, "weight": sum(1.0 / attribute_counts[a] for a in g.attributes) / len(g.attributes)})
            for g in synthetic
        ]
    random.Random(GOAL_SHUFFLE_SEED).shuffle(goals)
    meta = {
        "source": "records",
        "goal_source": goal_source,
        "num_products": len(kept),
        "num_goals": len(goals),
        "skipped": skipped.as_dict(),
        "price_seed": price_seed,
        "goal_shuffle_seed": GOAL_SHUFFLE_SEED,
        **dict(metadata or {}),
    }
    catalog = Catalog(products=tuple(kept), goals=tuple(goals), prices=prices, metadata=meta, noun_tagger=noun_tagger)
    meta["noun_source"] = catalog.noun_source
    meta["matcher"] = MATCHER
    return catalog


def _slim_attributes(value: Any) -> Any:
    """Keep only the fields the build reads (the attribute file carries more)."""
    if not isinstance(value, dict):
        return value
    return {k: value[k] for k in ("attributes", "instruction", "instruction_attributes") if k in value}


def load_catalog(
    products_path: str | os.PathLike,
    attributes_path: str | os.PathLike,
    human_instructions_path: str | os.PathLike | None = None,
    reviews_path: str | os.PathLike | None = None,
    goal_source: str = "human",
    price_seed: int = 0,
    max_products: int | None = None,
    noun_tagger: str = "auto",
    chunk_chars: int = 1 << 20,
) -> Catalog:
    """Load the original files, streaming each (see streaming.py), and build the catalog.

    The attribute, instruction and review files are read into dictionaries first (they are keyed
    by product, and the build looks them up per product); the product file is streamed through the
    build one record at a time.
    """
    attributes = {k: _slim_attributes(v) for k, v in iter_json_object(attributes_path, chunk_chars)}
    human = None
    if human_instructions_path is not None:
        human = dict(iter_json_object(human_instructions_path, chunk_chars))
    reviews = None
    skipped = SkipCounter()
    if reviews_path is not None:
        reviews = {}
        for r in iter_json_array(reviews_path, chunk_chars):
            if isinstance(r, dict) and isinstance(r.get("asin"), str):
                reviews[r["asin"]] = r
            else:
                skipped.add("review:invalid")
    return build_catalog(
        iter_json_array(products_path, chunk_chars),
        attributes,
        human,
        reviews,
        goal_source=goal_source,
        price_seed=price_seed,
        max_products=max_products,
        noun_tagger=noun_tagger,
        metadata={"source": "original_files", "products_path": os.fspath(products_path)},
        skipped=skipped,
    )


def load_catalog_folder(folder: str | os.PathLike, **kwargs: Any) -> Catalog:
    """`load_catalog` on a folder holding the original file names (as `CatalogRecords.write` makes)."""
    folder = os.fspath(folder)
    human = os.path.join(folder, HUMAN_INSTRUCTION_FILE)
    return load_catalog(
        os.path.join(folder, PRODUCT_FILE),
        os.path.join(folder, ATTRIBUTE_FILE),
        human if os.path.exists(human) else None,
        **kwargs,
    )

