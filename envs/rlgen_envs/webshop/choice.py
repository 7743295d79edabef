"""WebShop as a fixed discrete choice: K candidate actions per page, and a featurizer to uint8 vectors.

Why: WebShop's actions are strings whose set changes from page to page, while offline RL
learners (d3rlpy's discrete BC, CQL, DT) need one fixed action space and fixed-size
observations. The choice formulation (as in Yao et al., 2022, whose IL agent scores each
available action) gives both: the observation encodes the page *and* up to K candidate actions;
the action is the index of a candidate.

Candidates (`candidates(env)`), in fixed slots so that a slot means the same thing on every page:

    slot 0   search[<instruction>]   (accepted on every page: search with the instruction)
    slot 1   click[back to search]   slot 2  click[< prev]       slot 3  click[next >]
    slot 4   click[buy now]          slot 5  click[description]  slot 6  click[features]
    slot 7   click[reviews]
    slot 8.. the page's products (results page, rank order) or option values (item page, page order)

A slot whose element the page does not show is empty. Pages with more products or option values
than K - 8 drop the rest (the generated catalog has at most 12 option values a product, so the
default K = 20 drops nothing there; raise K for the original data). Search with other keywords is
not a candidate: an agent that chooses can only search the instruction, as the rule baseline does.

Featurizer (`HashedNgramFeaturizer`, the default): deterministic (crc32 of each n-gram, never
Python's salted `hash`), numpy only, cached per text. The (D,) uint8 vector is, in order:

- page one-hot (search, results, item, item_sub), results page number (capped at 255), steps taken;
- instruction: presence of its word unigrams and bigrams, hashed into `instruction_buckets`;
- page text: the page's non-clickable strings other than the instruction (titles, prices, item
  title, rating, sub-page text), hashed into `page_buckets`;
- per candidate slot (`slot_features` + `candidate_buckets` entries): present; selected (an option
  value already chosen); price within the instruction's bound (products; 1 when unknown);
  instruction words it covers (count, capped); the fraction of its words found in the instruction
  (x 255); then its own unigrams and bigrams hashed into `candidate_buckets`.

Candidate text: a product is its title and price as the results page shows them (its asin says
nothing); an option value is "<option name> <value>"; a button is its label.

Plugging in a sentence encoder: anything with `size` (D) and `encode(view: PageView) -> (D,)
uint8` can replace the featurizer (`featurizer=` of `WebShopChoiceVecEnv`, or the world option
`featurizer: "module:factory"` in an rlgen config). Quantize embeddings to uint8, e.g.
`np.clip(np.round(e * 127.5 + 127.5), 0, 255)` for unit-norm vectors, and lay them out as
instruction, page, then one block per slot, so the learners' MLP sees a fixed layout:

```python
class SentenceEncoderFeaturizer:
    def __init__(self, model="all-MiniLM-L6-v2", num_candidates=20):
        from sentence_transformers import SentenceTransformer
        self.model, self.k = SentenceTransformer(model), num_candidates
        self.dim = self.model.get_sentence_embedding_dimension()
        self.size = (2 + num_candidates) * (self.dim + 1)
    def encode(self, view):
        texts = [view.instruction, view.page_text] + [c.text if c else "" for c in view.slots]
        e = self.model.encode(texts, normalize_embeddings=True)             # (2 + K, dim)
        q = np.clip(np.round(e * 127.5 + 127.5), 0, 255).astype(np.uint8)
        present = np.array([1, 1] + [c is not None for c in view.slots], np.uint8)[:, None]
        return np.concatenate([present, q], axis=1).reshape(-1)
```
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol

import numpy as np

from rlgen_envs.webshop import pages

FIXED_SLOTS: tuple[tuple[str, str], ...] = (
    ("search", "search"),
    ("button", pages.BACK_TO_SEARCH.lower()),
    ("button", pages.PREV_PAGE.lower()),
    ("button", pages.NEXT_PAGE.lower()),
    ("button", pages.END_BUTTON.lower()),
    *(("button", s.lower()) for s in pages.SUB_PAGES),
)
"""(kind, click key) of slots 0-7; slot 0 is search[<instruction>]."""
FIRST_ITEM_SLOT = len(FIXED_SLOTS)
DEFAULT_NUM_CANDIDATES = 20
PAGE_KINDS = ("search", "results", "item", "item_sub")
_FIXED_INDEX = {key: i for i, (_, key) in enumerate(FIXED_SLOTS) if i > 0}
_WORD = re.compile(r"[a-z0-9]+(?:[.'][a-z0-9]+)*")
_PRICE_BOUND = re.compile(r"price lower than\s+([\d.,]+)\s+dollars", re.IGNORECASE)
_PRICE = re.compile(r"\$([\d,]+(?:\.\d+)?)")


@dataclass(frozen=True)
class Candidate:
    """One candidate action: the env's action string, its kind, and the text that describes it."""

    action: str
    kind: str  # search, button, product, option
    text: str
    selected: bool = False
    price: float | None = None  # products: the lowest shown price


@dataclass(frozen=True)
class PageView:
    """What the featurizer sees of one page: the instruction, the page, and the K slots."""

    instruction: str
    page: str  # search, results, item, item_sub
    result_page: int
    steps: int
    page_text: str
    slots: tuple[Candidate | None, ...]  # (K,), None where empty


class Featurizer(Protocol):
    size: int

    def encode(self, view: PageView) -> np.ndarray: ...


def _price(tag: str) -> float | None:
    found = _PRICE.findall(tag)
    return float(found[0].replace(",", "")) if found else None


def page_view(env, num_candidates: int = DEFAULT_NUM_CANDIDATES) -> PageView:
    """The current page of a `WebShopEnv` as a `PageView` with `num_candidates` slots."""
    if num_candidates <= FIRST_ITEM_SLOT:
        raise ValueError(f"num_candidates must exceed the {FIRST_ITEM_SLOT} fixed slots, got {num_candidates}")
    instruction = env.goal.instruction_text
    slots: list[Candidate | None] = [None] * num_candidates
    slots[0] = Candidate(f"search[{instruction}]", "search", "search")
    selected = set(env.selected_options.values())
    elements = env.elements
    text: list[str] = []
    extra = FIRST_ITEM_SLOT
    heading = next((k for k, e in enumerate(elements) if e.text == "Instruction:"), -2)
    for k, e in enumerate(elements):
        key = e.click_key
        if key is None or key == "search":
            if k not in (heading, heading + 1) and key is None:
                text.append(e.text)
            continue
        if key in _FIXED_INDEX:
            slots[_FIXED_INDEX[key]] = Candidate(f"click[{key}]", "button", e.text.lower())
        elif extra < num_candidates:
            if e.kind == pages.PRODUCT:
                title = elements[k + 1].text if k + 1 < len(elements) else ""
                tag = elements[k + 2].text if k + 2 < len(elements) else ""
                slots[extra] = Candidate(f"click[{key}]", "product", f"{title} {tag}".lower(), price=_price(tag))
            else:
                slots[extra] = Candidate(f"click[{key}]", "option", f"{e.group} {e.text}".lower(), selected=e.text in selected)
            extra += 1
    return PageView(instruction, env.page, env.result_page, env.steps, " ".join(text), tuple(slots))


def candidates(env, num_candidates: int = DEFAULT_NUM_CANDIDATES) -> tuple[Candidate | None, ...]:
    """The K candidate actions of the env's current page (None where a slot is empty)."""
    return page_view(env, num_candidates).slots


@lru_cache(maxsize=1 << 16)
def _words(text: str) -> tuple[str, ...]:
    return tuple(_WORD.findall(text.lower()))


@lru_cache(maxsize=1 << 16)
def _hashed(text: str, buckets: int, salt: str) -> np.ndarray:
    """Bucket indices of `text`'s word unigrams and bigrams (crc32, salted per field)."""
    words = _words(text)
    grams = [*words, *(f"{a} {b}" for a, b in zip(words, words[1:]))]
    index = np.fromiter((zlib.crc32(f"{salt}\x1f{g}".encode()) % buckets for g in grams), dtype=np.int64, count=len(grams))
    index.flags.writeable = False
    return index


class HashedNgramFeaturizer:
    """The default featurizer (see the module docstring for the layout); deterministic, numpy only."""

    slot_features = 5

    def __init__(
        self,
        num_candidates: int = DEFAULT_NUM_CANDIDATES,
        instruction_buckets: int = 512,
        page_buckets: int = 256,
        candidate_buckets: int = 64,
    ) -> None:
        if min(instruction_buckets, page_buckets, candidate_buckets) < 1:
            raise ValueError("bucket counts must be at least 1")
        self.num_candidates = num_candidates
        self.instruction_buckets = instruction_buckets
        self.page_buckets = page_buckets
        self.candidate_buckets = candidate_buckets
        self.header = len(PAGE_KINDS) + 2
        self.slot_size = self.slot_features + candidate_buckets
        self.size = self.header + instruction_buckets + page_buckets + num_candidates * self.slot_size

    @property
    def options(self) -> dict:
        return {
            "instruction_buckets": self.instruction_buckets, "page_buckets": self.page_buckets,
            "candidate_buckets": self.candidate_buckets,
        }

    def encode(self, view: PageView) -> np.ndarray:
        if len(view.slots) != self.num_candidates:
            raise ValueError(f"the view has {len(view.slots)} slots; this featurizer takes {self.num_candidates}")
        out = np.zeros(self.size, dtype=np.uint8)
        if view.page in PAGE_KINDS:
            out[PAGE_KINDS.index(view.page)] = 1
        out[len(PAGE_KINDS)] = min(view.result_page, 255)
        out[len(PAGE_KINDS) + 1] = min(view.steps, 255)
        wanted, upper, instruction = _instruction(view.instruction, self.instruction_buckets)
        at = self.header + self.instruction_buckets + self.page_buckets
        ones = [self.header + instruction, self.header + self.instruction_buckets + _hashed(view.page_text, self.page_buckets, "p")]
        for k, c in enumerate(view.slots):
            if c is None:
                continue
            base = at + k * self.slot_size
            words, grams = _candidate(c.text, self.candidate_buckets)
            covered = len(words & wanted) if c.kind != "search" else 0
            fraction = int(round(255 * covered / len(words))) if words else 0
            price_ok = c.price is None or upper is None or c.price <= upper
            out[base : base + self.slot_features] = (1, c.selected, price_ok, min(covered, 255), fraction)
            ones.append(base + self.slot_features + grams)
        out[np.concatenate(ones)] = 1
        return out


@lru_cache(maxsize=1 << 14)
def _instruction(text: str, buckets: int) -> tuple[frozenset[str], float | None, np.ndarray]:
    """(its words, its price bound or None, its hashed n-grams)."""
    bound = _PRICE_BOUND.search(text)
    upper = float(bound.group(1).replace(",", "")) if bound else None
    return frozenset(_words(text)), upper, _hashed(text, buckets, "i")


@lru_cache(maxsize=1 << 16)
def _candidate(text: str, buckets: int) -> tuple[frozenset[str], np.ndarray]:
    return frozenset(_words(text)), _hashed(text, buckets, "c")
