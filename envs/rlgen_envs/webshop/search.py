"""BM25 product search over the same per-product text as the original's index.

The original indexes, per product, title + description + first bullet point + option text,
lower-cased (`Product.search_text`), with Lucene (pyserini) BM25, k1 = 0.9, b = 0.4, and returns
the top 50. rlgen scores with bm25s (`method="lucene"`, the same k1 and b) and analyses text close
to Lucene's English analyzer:

- tokens: runs of word characters, keeping inner dots and apostrophes ("7.5", "men's"), with a
  trailing possessive "'s" removed (Lucene's EnglishPossessiveFilter);
- Lucene's 33 English stop words removed;
- stemming: Porter (PyStemmer) when installed, as Lucene's English analyzer does; otherwise
  Lucene's EnglishMinimalStemmer (plural "s" only), which `ProductSearch.stemmer` names.

Hits are the documents sharing at least one term with the query (as Lucene returns), ordered by
score and then by catalog position (Lucene breaks ties by document id), at most `k`.
"""

from __future__ import annotations

import importlib.util
import re
from collections import OrderedDict
from collections.abc import Callable, Sequence

import bm25s
import numpy as np

SEARCH_RETURN_N = 50
BM25_K1, BM25_B = 0.9, 0.4
LUCENE_STOP_WORDS = frozenset(
    "a an and are as at be but by for if in into is it no not of on or such that the their then "
    "there these they this to was will with".split()
)
_TOKEN = re.compile(r"\w+(?:[.']\w+)*")


def minimal_stem(word: str) -> str:
    """Lucene's EnglishMinimalStemmer: plural -s, -es and -ies forms only."""
    n = len(word)
    if n < 3 or word[-1] != "s" or word[-2] in "us":
        return word
    if word[-2] == "e":
        if n > 3 and word[-3] == "i" and word[-4] not in "ae":
            return word[:-3] + "y"
        if word[-3] in "iaoe":
            return word
    return word[:-1]


def _stemmer() -> tuple[Callable[[str], str], str]:
    if importlib.util.find_spec("Stemmer") is not None:
        try:
            import Stemmer  # type: ignore[import-not-found]

            porter = Stemmer.Stemmer("porter")
            return porter.stemWord, "porter (PyStemmer)"
        except Exception:  # noqa: BLE001
            pass
    return minimal_stem, "english-minimal (plural s)"


class ProductSearch:
    """BM25 index over documents (one text per product, catalog order); `search` gives indices."""

    def __init__(self, documents: Sequence[str], k1: float = BM25_K1, b: float = BM25_B, cache_size: int = 4096) -> None:
        self._stem, self.stemmer = _stemmer()
        self._stem_cache: dict[str, str] = {}
        self.num_documents = len(documents)
        self._bm25 = bm25s.BM25(k1=k1, b=b, method="lucene")
        if documents:
            self._bm25.index([self.analyze(d) for d in documents], show_progress=False)
        self._cache: OrderedDict[tuple[str, int], tuple[int, ...]] = OrderedDict()
        self._cache_size = cache_size
        self.k1, self.b = k1, b

    def analyze(self, text: str) -> list[str]:
        tokens = []
        for token in _TOKEN.findall(text.lower()):
            if token.endswith("'s"):
                token = token[:-2]
            if token in LUCENE_STOP_WORDS or not token:
                continue
            stem = self._stem_cache.get(token)
            if stem is None:
                stem = self._stem_cache[token] = self._stem(token)
            tokens.append(stem)
        return tokens

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every document, float32 (num_documents,)."""
        if not self.num_documents:
            return np.zeros(0, np.float32)
        tokens = self.analyze(query)
        if not tokens:
            return np.zeros(self.num_documents, np.float32)
        return self._bm25.get_scores(tokens)

    def search(self, query: str, k: int = SEARCH_RETURN_N) -> tuple[int, ...]:
        """Indices of the top-k documents for `query` (score desc, then index asc)."""
        key = (query, k)
        hit = self._cache.get(key)
        if hit is not None:
            self._cache.move_to_end(key)
            return hit
        result = self._search(query, k)
        self._cache[key] = result
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return result

    def clear_cache(self) -> None:
        """Forget cached results (benchmarks time cold queries with it)."""
        self._cache.clear()

    def _search(self, query: str, k: int) -> tuple[int, ...]:
        scores = self.scores(query)
        candidates = np.flatnonzero(scores > 0)
        if len(candidates) > k:
            # The k-th best score; keep every document at or above it, then order exactly.
            kth = np.partition(scores[candidates], len(candidates) - k)[len(candidates) - k]
            candidates = candidates[scores[candidates] >= kth]
        order = np.lexsort((candidates, -scores[candidates]))
        return tuple(int(i) for i in candidates[order][:k])
