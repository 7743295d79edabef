"""The pages of the shop as lists of visible strings, and their `text` / `text_rich` renderings.

Each page is what the original's HTML templates show, read the way its text mode reads them:
every visible string, stripped, in document order. Empty and whitespace-only strings are dropped
(the original's templates render none on the pages an agent acts on). Pages:

- search:   WebShop, Instruction:, <instruction>, Search (button)
- results:  Instruction:, <instruction>, Back to Search, Page P (Total results: N), [< Prev if
            P > 1], Next > (always), then per product: <ASIN> (link), <title>, <price>
- item:     Instruction:, <instruction>, Back to Search, < Prev, per option name: <name>, its
            values (radio buttons), <title>, Price: <price>, Rating: <rating>, Description,
            Features, Reviews, Buy Now
- sub-pages (Description / Features / Reviews): Instruction:, <instruction>, Back to Search,
            < Prev, then the description; or each bullet point; or per review "<title>" (quoted),
            <score>, <body>
- done:     Thank you for shopping with us!, Purchased, asin, <ASIN>, options, <JSON of options>,
            Your score (min 0.0, max 1.0), <reward>. The original's done page also prints an
            MTurk code and the target goal in a hidden block; rlgen shows neither (the episode has
            ended, and the goal must not leak into stored final observations).

`text` joins the strings with " [SEP] ". `text_rich` puts each on its own line and marks
clickables as the original's text_rich mode does: buttons `[button] X [button_]`; option values
indented two spaces, `[clicked button] X [clicked button_]` when selected (and a leading line
"You have clicked X." per selected value); product links on their own paragraph, as clicked
buttons once visited in this session.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

BACK_TO_SEARCH, NEXT_PAGE, PREV_PAGE, END_BUTTON = "Back to Search", "Next >", "< Prev", "Buy Now"
SUB_PAGES = ("Description", "Features", "Reviews")
PRODUCT_WINDOW = 10
SEP = " [SEP] "

# Element kinds: plain text, a button, a product link (its text is the asin), an option value.
TEXT, BUTTON, PRODUCT, OPTION = "text", "button", "product", "option"


@dataclass(frozen=True)
class Element:
    text: str
    kind: str = TEXT
    group: str = ""  # the option name, for OPTION elements

    @property
    def click_key(self) -> str | None:
        """The lower-cased argument of `click[...]` that selects this element, if clickable."""
        if self.kind == TEXT:
            return None
        return self.text if self.kind == OPTION else self.text.lower()


def _instruction(instruction: str) -> list[Element]:
    return [Element("Instruction:"), Element(instruction)]


def search_page(instruction: str) -> list[Element]:
    return [Element("WebShop"), *_instruction(instruction), Element("Search", BUTTON)]


def results_page(instruction: str, page: int, total: int, products: Sequence) -> list[Element]:
    """`products`: the page's products (objects with asin, title, price_tag)."""
    out = [*_instruction(instruction), Element(BACK_TO_SEARCH, BUTTON), Element(f"Page {page} (Total results: {total})")]
    if page > 1:
        out.append(Element(PREV_PAGE, BUTTON))
    out.append(Element(NEXT_PAGE, BUTTON))
    for p in products:
        out += [Element(p.asin, PRODUCT), Element(p.title), Element(p.price_tag)]
    return out


def item_page(instruction: str, product) -> list[Element]:
    out = [*_instruction(instruction), Element(BACK_TO_SEARCH, BUTTON), Element(PREV_PAGE, BUTTON)]
    for name, values in product.options.items():
        out.append(Element(name))
        out += [Element(v, OPTION, name) for v in values]
    out += [
        Element(product.title),
        Element(f"Price: {product.price_tag}"),
        Element(f"Rating: {product.rating}"),
        *(Element(s, BUTTON) for s in SUB_PAGES),
        Element(END_BUTTON, BUTTON),
    ]
    return out


def sub_page(instruction: str, product, which: str) -> list[Element]:
    out = [*_instruction(instruction), Element(BACK_TO_SEARCH, BUTTON), Element(PREV_PAGE, BUTTON)]
    if which == "Description":
        out.append(Element(product.description))
    elif which == "Features":
        out += [Element(b) for b in product.bullet_points]
    elif which == "Reviews":
        for r in product.reviews:
            out += [Element(f'"{r.title}"'), Element(str(r.score)), Element(r.body)]
    else:
        raise ValueError(f"unknown sub-page {which!r}; valid: {SUB_PAGES}")
    return out


def done_page(asin: str, options: Mapping[str, str], reward: float) -> list[Element]:
    return [
        Element("Thank you for shopping with us!"),
        Element("Purchased"),
        Element("asin"),
        Element(asin),
        Element("options"),
        Element(json.dumps(dict(options))),
        Element("Your score (min 0.0, max 1.0)"),
        Element(str(reward)),
    ]


def visible(elements: Sequence[Element]) -> list[Element]:
    """Elements with their text stripped; empty ones dropped."""
    out = []
    for e in elements:
        text = e.text.strip()
        if text:
            out.append(e if text == e.text else Element(text, e.kind, e.group))
    return out


def render_text(elements: Sequence[Element]) -> str:
    return SEP.join(e.text for e in elements)


def render_text_rich(elements: Sequence[Element], selected: Collection[str] = (), visited: Collection[str] = ()) -> str:
    """`selected`: selected option values; `visited`: asins opened in this session."""
    head: list[str] = []
    lines: list[str] = []
    for e in elements:
        if e.kind == BUTTON:
            lines.append(f"[button] {e.text} [button_]")
        elif e.kind == OPTION:
            if e.text in selected:
                lines.append(f"  [clicked button] {e.text} [clicked button_]")
                head.insert(0, f"You have clicked {e.text}.")
            else:
                lines.append(f"  [button] {e.text} [button_]")
        elif e.kind == PRODUCT:
            mark = "clicked button" if e.text in visited else "button"
            lines.append(f"\n[{mark}] {e.text} [{mark}_]")
        else:
            lines.append(e.text)
    return "".join(line + "\n" for line in head + lines)
