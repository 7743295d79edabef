"""WebShop catalogs: the streaming reader, the loader on original-layout files, the generator."""

import json
import random

import pytest

from rlgen_envs.webshop import default_catalog, generate_records, iter_json_array, iter_json_object, load_catalog, load_catalog_folder
from rlgen_envs.webshop.catalog import NO_PRICE_BOUND, PRICE_RANGE
from rlgen_envs.webshop.generator import PRODUCT_TYPES

ITEMS = [
    {"a": 1, "s": "brackets ] [ } { and \"quotes\" and \\ backslash", "u": "ünïcödé › 価格"},
    [1, 2.5, -3e2, True, None, {"nested": [[], {}]}],
    "a string",
    12345678901234567890,
    {},
    [],
    0.125,
]


@pytest.mark.parametrize("chunk", [1, 3, 7, 64, 1 << 20])
def test_streaming_readers_agree_with_json_load(tmp_path, chunk):
    path = tmp_path / "array.json"
    path.write_text(json.dumps(ITEMS, indent=1, ensure_ascii=False), encoding="utf-8")
    assert list(iter_json_array(path, chunk_chars=chunk)) == ITEMS
    obj = {f"k{i}": item for i, item in enumerate(ITEMS)}
    path = tmp_path / "object.json"
    path.write_text(json.dumps(obj, ensure_ascii=False), encoding="utf-8")
    assert dict(iter_json_object(path, chunk_chars=chunk)) == obj
    (tmp_path / "empty.json").write_text(" [ ] ")
    assert list(iter_json_array(tmp_path / "empty.json", chunk_chars=chunk)) == []


def test_streaming_yields_records_before_reading_the_whole_file(tmp_path):
    # 2000 records, then a broken tail: json.load fails at once, the stream yields first.
    path = tmp_path / "big.json"
    body = ",".join(json.dumps({"asin": f"B{i:09d}", "pad": "x" * 200}) for i in range(2000))
    path.write_text("[" + body + ", {broken", encoding="utf-8")
    with pytest.raises(json.JSONDecodeError):
        json.loads(path.read_text())
    stream = iter_json_array(path, chunk_chars=4096)
    first = [next(stream) for _ in range(1999)]
    assert first[0]["asin"] == "B000000000" and first[-1]["asin"] == "B000001998"
    assert next(stream)["asin"] == "B000001999"
    with pytest.raises(ValueError, match="invalid JSON at character"):
        next(stream)


def test_streaming_refuses_malformed_files(tmp_path):
    for text, match in (('{"a": 1}', "expected one of '\\['"), ("[1, 2] x", "trailing data"), ("[1 2]", "expected one of")):
        path = tmp_path / "bad.json"
        path.write_text(text)
        with pytest.raises(ValueError, match=match):
            list(iter_json_array(path, chunk_chars=2))


def product(asin, name="Thing", pricing="$20.00", **kw):
    record = {
        "asin": asin,
        "name": name,
        "full_description": f"The {name.lower()}.",
        "small_description": ["First point", "Second point"],
        "pricing": pricing,
        "product_category": "Home › Kitchen › Tools",
        "customization_options": {"Color": [{"value": "Red/Blue ", "image": "r.jpg"}, {"value": "Green"}], "Size": None},
        "category": "furniture",
        "query": " Kitchen Tools ",
        "images": ["i.jpg"],
        "brand": "dropped by the loader",
    }
    record.update(kw)
    return record


def write_original_layout(folder):
    products = [
        product("B000000001", "Steel Whisk"),
        "not an object",
        product("nan"),
        product("B0000000001X"),  # longer than 10 characters
        product("B000000001", "Duplicate"),
        {k: v for k, v in product("B000000002").items() if k != "name"},
        product("B000000003", pricing="$ n/a"),
        product("B000000004", "Oak Spoon", pricing=""),  # no price: $100.0
        product("B000000005", "Pan", pricing="$995.00", small_description="One point", customization_options=None),
        product("B000000006", "Ladle", pricing="$10.00 - $30.00"),
    ]
    attributes = {
        "B000000001": {"attributes": ["stainless steel", "dishwasher safe"], "instruction": "i need a steel whisk", "instruction_attributes": ["stainless steel"], "extra": 1},
        "B000000004": {"instruction": "no attributes key"},
        "B000000005": {"attributes": ["non stick"], "instruction": "i want a pan", "instruction_attributes": ["non stick"]},
    }
    human = {
        "B000000001": [
            {"asin": "B000000001", "instruction": "i need a red steel whisk.", "instruction_attributes": ["stainless steel"], "instruction_options": ["red"]},
            {"asin": "B000000001", "instruction": "a whisk", "instruction_attributes": [], "instruction_options": []},
            {"asin": "B000000001", "instruction": 7},
        ],
        "B000000004": [{"instruction": "a wooden spoon", "instruction_attributes": ["oak"], "instruction_options": []}],
        "B000000005": [{"instruction": "a pan", "instruction_attributes": ["non stick"], "instruction_options": []}],
        "B000000006": [{"instruction": "a ladle", "instruction_attributes": ["ladle"], "instruction_options": ["green"]}],
        "B999999999": [{"instruction": "not in the products", "instruction_attributes": ["x"], "instruction_options": []}],
    }
    reviews = [{"asin": "B000000001", "reviews": [{"title": "Nice", "stars": 4, "review": "Works"}], "average_rating": 4.0}, "junk"]
    for name, data in (("items_shuffle.json", products), ("items_ins_v2.json", attributes), ("items_human_ins.json", human), ("reviews.json", reviews)):
        (folder / name).write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")


def test_loader_reads_the_original_layout_and_counts_what_it_skips(tmp_path):
    write_original_layout(tmp_path)
    catalog = load_catalog(
        tmp_path / "items_shuffle.json", tmp_path / "items_ins_v2.json", tmp_path / "items_human_ins.json", tmp_path / "reviews.json", chunk_chars=16
    )
    assert [p.asin for p in catalog.products] == ["B000000001", "B000000004", "B000000005", "B000000006"]
    assert catalog.metadata["skipped"] == {
        "instruction:invalid": 1,
        "instruction:no_attributes": 1,
        "product:bad_asin": 2,
        "product:bad_pricing": 1,
        "product:duplicate_asin": 1,
        "product:missing_or_bad_name": 1,
        "product:not_an_object": 1,
        "review:invalid": 1,
    }
    whisk, spoon, pan, ladle = catalog.products
    assert whisk.options == {"color": ("red | blue", "green")} and whisk.query == "kitchen tools"
    assert whisk.attributes == ("stainless steel", "dishwasher safe") and whisk.rating == "4.0"
    assert whisk.reviews[0].score == 4 and whisk.reviews[0].body == "Works"
    assert spoon.attributes == ("DUMMY_ATTR",) and spoon.price_tag == "$100.0" and catalog.prices["B000000004"] == 100.0
    assert pan.bullet_points == ("One point",) and pan.options == {}
    assert ladle.price_tag == "$10.0 to $30.0" and 10.0 <= catalog.prices["B000000006"] <= 30.0
    assert whisk.search_text == "steel whisk the steel whisk. first point color: red | blue, green"
    assert catalog.metadata["noun_source"] == "heuristic" or catalog.metadata["noun_source"].startswith("spacy:")

    # Goals: built in catalog order, then shuffled with random.Random(233) as the original does.
    in_order = ["i need a red steel whisk", "a wooden spoon", "a pan", "a ladle"]
    expected = list(in_order)
    random.Random(233).shuffle(expected)
    texts = [g.instruction_text.split(", and price")[0] for g in catalog.goals]
    assert texts == expected
    by_asin = {g.asin: g for g in catalog.goals}
    g = by_asin["B000000001"]
    assert g.goal_options == ("red",) and g.attributes == ("stainless steel",) and g.name == "Steel Whisk"
    assert g.price_upper in PRICE_RANGE[2:6] and g.instruction_text.endswith(f", and price lower than {g.price_upper:.2f} dollars")
    assert by_asin["B000000005"].price_upper == NO_PRICE_BOUND and by_asin["B000000005"].instruction_text == "a pan"


def test_loader_builds_synthetic_goals_from_the_attribute_file(tmp_path):
    write_original_layout(tmp_path)
    catalog = load_catalog(tmp_path / "items_shuffle.json", tmp_path / "items_ins_v2.json", goal_source="synthetic")
    # the whisk has two colour values -> two goals; the pan has no options -> one
    assert sorted(g.asin for g in catalog.goals) == ["B000000001", "B000000001", "B000000005"]
    whisk_goals = sorted((g for g in catalog.goals if g.asin == "B000000001"), key=lambda g: g.instruction_text)
    assert [g.goal_options for g in whisk_goals] == [{"color": "green"}, {"color": "red | blue"}]
    assert whisk_goals[0].instruction_text.startswith("i need a steel whisk with color: green, and price lower than")
    assert whisk_goals[0].weight == pytest.approx(0.5)


def test_generator_is_deterministic_and_round_trips_through_the_loader(tmp_path):
    a, b, c = generate_records(seed=1, num_products=150), generate_records(seed=1, num_products=150), generate_records(seed=2, num_products=150)
    assert json.dumps(a.products) == json.dumps(b.products) and a.human_instructions == b.human_instructions and a.attributes == b.attributes
    assert json.dumps(a.products) != json.dumps(c.products)
    a.write(tmp_path)
    loaded, built = load_catalog_folder(tmp_path, chunk_chars=1000), a.build()
    assert [g.instruction_text for g in loaded.goals] == [g.instruction_text for g in built.goals]
    assert [p.asin for p in loaded.products] == [p.asin for p in built.products] and loaded.prices == built.prices
    assert loaded.metadata["noun_source"] == built.metadata["noun_source"] == "recorded"


def test_default_catalog_is_large_varied_and_consistent():
    catalog = default_catalog()
    assert catalog is default_catalog()  # generated once per process
    assert len(catalog.products) == 3000 and len(catalog.goals) > 4000 and catalog.metadata["skipped"] == {}
    assert len({p.query for p in catalog.products}) == len(PRODUCT_TYPES) == 41
    assert {p.category for p in catalog.products} == {"beauty", "electronics", "fashion", "food", "furniture"}
    assert len({p.title for p in catalog.products}) == len(catalog.products)
    with_options = 0
    for g in catalog.goals[:1000]:
        p = catalog.product(g.asin)
        values = {v for vs in p.options.values() for v in vs}
        assert set(g.goal_options) <= values and set(g.attributes) <= set(p.attributes)
        assert 1 <= len(g.attributes) <= 3 and g.price_upper > catalog.prices[g.asin]
        with_options += bool(g.goal_options)
    assert with_options > 800
