"""Title nouns for the type factor of the reward: recorded, from spaCy, or from a fallback.

The original tags the purchased and the goal product titles with spaCy and keeps tokens tagged
NOUN or PROPN (its list also names 'PNOUN', which spaCy never emits). rlgen takes nouns from, in
order:

1. `recorded`: the generated catalog writes each title's nouns into its product records (key
   `title_nouns`), so rewards on generated data need no tagger and never drift with one.
2. `spacy:<model>`: spaCy with `en_core_web_lg` (the paper-era model) or `en_core_web_sm` (the
   original since 2024), when spaCy and a model are installed. Not installable here; checked
   gracefully, never downloaded.
3. `heuristic`: lower-cased alphabetic tokens of two or more letters (split at spaces, hyphens and
   apostrophes, as spaCy splits 't-shirt' and "men's"), less function words and a list of common
   title adjectives. An approximation of spaCy's tags: r_type on real data can differ from the
   original's where the two disagree (as it already differs between the original's two models).

`TitleNouns.source` says which was used; the env puts it in every reward's parts and the catalog
in its metadata.
"""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Mapping, Sequence

SPACY_MODELS = ("en_core_web_lg", "en_core_web_sm")
NOUN_TAGS = ("PNOUN", "NOUN", "PROPN")

_FUNCTION_WORDS = frozenset(
    """a an the and or nor but for with without within of in on at to from by as into onto over under
    up down out off per plus via vs than then so if is are was were be been being am do does did has
    have had will can may might must should would could this that these those it its it's your yours
    our ours my mine his her hers their theirs you we i he she they them us me him who whom which what
    when where why how all any both each every few more most other some such no not only own same too
    very just also s t ll d re ve m st nd rd th pcs pc pack set count oz fl lb lbs inch inches ft cm mm
    ml kg g""".split()
)
_COMMON_ADJECTIVES = frozenset(
    """new best good great high low premium professional portable adjustable lightweight heavy durable
    small large big mini little long short wide narrow thick thin soft hard extra super ultra full
    natural organic original classic modern vintage cute casual comfortable comfy warm cool hot cold
    fresh clean easy quick fast slow strong waterproof breathable reusable rechargeable wireless
    electric digital automatic manual compact foldable flexible elastic stretchy slim loose tight
    black white red blue green yellow pink purple orange brown grey gray beige gold silver navy
    multicolor assorted various double single triple mens womens unisex kids""".split()
)
_TOKEN = re.compile(r"[^\W\d_]+")


def heuristic_nouns(title: str) -> tuple[str, ...]:
    """The documented fallback: content words of a title (see the module docstring)."""
    words = _TOKEN.findall(title.lower())
    return tuple(w for w in words if len(w) >= 2 and w not in _FUNCTION_WORDS and w not in _COMMON_ADJECTIVES)


def _load_spacy(models: Sequence[str]):
    """(nlp, model name) for the first installed spaCy model, or (None, None)."""
    if importlib.util.find_spec("spacy") is None:
        return None, None
    try:
        import spacy  # type: ignore[import-not-found]
    except Exception:  # noqa: BLE001  (a broken install counts as absent)
        return None, None
    for name in models:
        try:
            return spacy.load(name, disable=["parser", "ner", "lemmatizer"]), name
        except Exception:  # noqa: BLE001  (OSError when the model is not installed)
            continue
    return None, None


class TitleNouns:
    """Callable title -> tuple of lower-cased nouns (duplicates kept), cached.

    `tagger`: "auto" (spaCy if installed, else the heuristic), "spacy" (error if absent) or
    "heuristic". `recorded` maps exact titles to their nouns and wins over any tagger.
    """

    def __init__(self, recorded: Mapping[str, Sequence[str]] | None = None, tagger: str = "auto") -> None:
        if tagger not in ("auto", "spacy", "heuristic"):
            raise ValueError(f"tagger must be 'auto', 'spacy' or 'heuristic', got {tagger!r}")
        self._cache: dict[str, tuple[str, ...]] = {t: tuple(n) for t, n in (recorded or {}).items()}
        self._recorded = frozenset(self._cache)
        self._tagger = tagger
        self._nlp = None
        self._model: str | None = None
        self._resolved = False

    def _resolve(self) -> None:
        if self._resolved:
            return
        self._resolved = True
        if self._tagger in ("auto", "spacy"):
            self._nlp, self._model = _load_spacy(SPACY_MODELS)
            if self._nlp is None and self._tagger == "spacy":
                raise RuntimeError(f"tagger='spacy' but neither spaCy nor a model among {SPACY_MODELS} is installed")

    @property
    def tagger_source(self) -> str:
        """What tags titles that were not recorded: 'spacy:<model>' or 'heuristic'."""
        self._resolve()
        return f"spacy:{self._model}" if self._nlp is not None else "heuristic"

    def source_of(self, *titles: str) -> str:
        """'recorded' when every title was recorded, else the tagger that tagged the others."""
        return "recorded" if all(t in self._recorded for t in titles) else self.tagger_source

    def __call__(self, title: str) -> tuple[str, ...]:
        nouns = self._cache.get(title)
        if nouns is None:
            self._resolve()
            if self._nlp is not None:
                nouns = tuple(t.text.lower() for t in self._nlp(title) if t.pos_ in NOUN_TAGS)
            else:
                nouns = heuristic_nouns(title)
            self._cache[title] = nouns
        return nouns
