"""The WebShop reward on hand-made product/goal pairs: each component and the original's quirks."""

import pytest

from rlgen_envs.webshop.catalog import Goal, Product
from rlgen_envs.webshop.nouns import TitleNouns, heuristic_nouns
from rlgen_envs.webshop.reward import MATCHER, compute_reward, fuzzy_score, normalize_color

GOAL_TITLE = "Acme Cotton T-Shirt for Men"
NOUNS = TitleNouns(
    {
        GOAL_TITLE: ["acme", "cotton", "t", "shirt", "men"],
        "Zeta Cotton Hoodie for Women": ["zeta", "cotton", "hoodie", "women"],  # 1 of 5 goal nouns: 0.2
        "Zeta Polyester Hoodie": ["zeta", "polyester", "hoodie"],  # 0 of 5
        "Ten Nouns": ["men"],  # used with a goal of 11 nouns below
    },
    tagger="heuristic",
)


def product(title=GOAL_TITLE, **kw):
    fields = dict(
        asin="B000000001",
        title=title,
        description="A soft tee. Made of organic cotton.",
        bullet_points=("Machine wash cold", "Slim fit"),
        pricing=(20.0,),
        price_tag="$20.0",
        options={"color": ("black", "navy blue"), "size": ("large", "x-large")},
        attributes=("machine wash", "short sleeve"),
        category="fashion",
        query="men's t-shirt",
        product_category="Clothing, Shoes & Jewelry › Men › Clothing › Shirts › T-Shirts",
    )
    fields.update(kw)
    return Product(**fields)


def goal(**kw):
    fields = dict(
        asin="B000000001",
        instruction_text="i need a t-shirt, and price lower than 30.00 dollars",
        attributes=("machine wash", "short sleeve"),
        goal_options=("black", "large"),
        price_upper=30.0,
        category="fashion",
        query="men's t-shirt",
        name=GOAL_TITLE,
        product_category="Clothing, Shoes & Jewelry › Men › Clothing › Shirts › T-Shirts",
    )
    fields.update(kw)
    return Goal(**fields)


def reward(p=None, g=None, price=20.0, options=None):
    options = {"color": "black", "size": "large"} if options is None else options
    return compute_reward(p or product(), g or goal(), price, options, NOUNS)


def test_everything_matching_scores_one_with_parts():
    r = reward()
    assert r.reward == 1.0
    parts = r.parts
    assert parts["r_type"] == 1.0 and parts["r_att"] == 1.0 and parts["r_option"] == 1.0 and parts["r_price"] is True
    assert parts["w_att"] == pytest.approx(2 / 5) and parts["w_option"] == pytest.approx(2 / 5) and parts["w_price"] == pytest.approx(1 / 5)
    assert parts["matcher"] == MATCHER and parts["noun_source"] == "recorded"
    assert parts["query_match"] and parts["category_match"] and parts["title_score"] == 1.0


def test_attributes_fuzzy_then_substring_fallback():
    # 'slim fit' is not a hidden attribute but is in a bullet point; 'wrinkle free' is nowhere.
    r = reward(g=goal(attributes=("machine wash", "slim fit", "wrinkle free")))
    assert r.parts["num_attr_matches"] == 2 and r.parts["r_att"] == pytest.approx(2 / 3)
    assert r.reward == pytest.approx((2 + 2 + 1) / (3 + 2 + 1))
    # fuzzy token-set: word subsets match ('wash' is in 'machine wash')
    assert reward(g=goal(attributes=("wash",))).parts["num_attr_matches"] == 1
    # the raw substring test misses hyphenated forms and matches across bullet points
    p = product(attributes=("DUMMY_ATTR",), bullet_points=("Paraben-free formula", "cold", "slim"), description="")
    assert reward(p, goal(attributes=("paraben free",))).parts["num_attr_matches"] == 0
    assert reward(p, goal(attributes=("cold slim",))).parts["num_attr_matches"] == 1


def test_price_over_the_bound_loses_the_price_term():
    r = reward(price=35.0)
    assert r.parts["r_price"] is False
    assert r.reward == pytest.approx(4 / 5)


def test_option_that_does_not_match():
    r = reward(options={"color": "navy blue", "size": "large"})
    assert r.parts["num_option_matches"] == 1 and r.parts["r_option"] == 0.5
    assert r.reward == pytest.approx(4 / 5)
    assert reward(options={}).reward == pytest.approx(3 / 5)  # buying without choosing options


def test_colour_normalization_quirks():
    assert [normalize_color(c) for c in ("standard", "rectangular", "titanium", "multi-colored")] == ["tan", "tan", "tan", "red"]
    assert normalize_color("dark grey") == normalize_color("dark green") == "dark"
    assert normalize_color("light navy") == normalize_color("light pink") == "light"
    assert normalize_color("navy blue") == "blue"
    # so 'navy blue' fails a goal of 'navy', and 'light pink' satisfies 'light navy'
    assert reward(g=goal(goal_options=("navy",)), options={"color": "navy blue"}).parts["num_option_matches"] == 0
    assert reward(g=goal(goal_options=("light navy",)), options={"color": "light pink"}).parts["num_option_matches"] == 1
    # exact colour words normalize on both sides: 'jet black' buys goal 'black'
    assert reward(g=goal(goal_options=("black",)), options={"color": "jet black"}).parts["num_option_matches"] == 1


def test_token_set_threshold_and_dictionary_goals():
    assert fuzzy_score("x-large", "large") == 100 and fuzzy_score("7.5", "7") == 100
    # dictionary-style goals pass (name, value) pairs: the name enters the comparison
    assert fuzzy_score("x-large", ("size", "large")) == 83
    list_goal = goal(goal_options=("large",))
    dict_goal = goal(goal_options={"size": "large"})
    assert reward(g=list_goal, options={"size": "x-large"}).parts["num_option_matches"] == 1
    assert reward(g=dict_goal, options={"size": "x-large"}).parts["num_option_matches"] == 0
    assert reward(g=dict_goal, options={"size": "large"}).parts["num_option_matches"] == 1  # a subset: 100
    assert reward(g=goal(goal_options={"color": "black"}), options={"color": "black"}).parts["num_option_matches"] == 1
    # one purchased value can satisfy several goal options
    assert reward(g=goal(goal_options=("large", "x-large")), options={"size": "x-large"}).parts["num_option_matches"] == 2


@pytest.mark.parametrize(
    ("title", "query", "path", "expected", "title_score"),
    [
        # nothing shared but one noun in five (0.2 is not above 0.2): 0.5
        ("Zeta Cotton Hoodie for Women", "women's hoodie", "Clothing › Women", 0.5, 0.2),
        # same query keeps 1.0 at the same title score
        ("Zeta Cotton Hoodie for Women", "men's t-shirt", "Clothing › Women", 1.0, 0.2),
        # no noun in common: 0, whatever the query and category say
        ("Zeta Polyester Hoodie", "men's t-shirt", "Clothing, Shoes & Jewelry › Men › Clothing", 0.0, 0.0),
    ],
)
def test_type_factor(title, query, path, expected, title_score):
    r = reward(product(title=title, query=query, product_category=path))
    assert r.parts["r_type"] == expected and r.parts["title_score"] == pytest.approx(title_score)
    assert r.reward == pytest.approx(expected * 1.0)


def test_type_factor_below_a_tenth_is_0_1_even_when_the_query_matches():
    nouns = TitleNouns({"Big Goal": ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "men"], "Ten Nouns": ["men"]}, tagger="heuristic")
    g = goal(name="Big Goal")
    r = compute_reward(product(title="Ten Nouns"), g, 20.0, {"color": "black", "size": "large"}, nouns)
    assert r.parts["title_score"] == pytest.approx(1 / 11) and r.parts["query_match"]
    assert r.parts["r_type"] == 0.1 and r.reward == pytest.approx(0.1)


def test_title_score_counts_duplicate_goal_nouns():
    nouns = TitleNouns({"Dup": ["shoe", "shoe", "shoe", "box", "lace"], "Other": ["shoe"]}, tagger="heuristic")
    r = compute_reward(product(title="Other"), goal(name="Dup"), 20.0, {}, nouns)
    assert r.parts["title_score"] == pytest.approx(1 / 5)


def test_unrecorded_titles_use_the_documented_fallback():
    assert heuristic_nouns("Acme Men's Slim-Fit Cotton T-Shirt, Black, 2 Pack") == ("acme", "men", "fit", "cotton", "shirt")
    nouns = TitleNouns({}, tagger="heuristic")
    r = compute_reward(product(), goal(), 20.0, {}, nouns)
    assert r.parts["noun_source"] == "heuristic" and r.parts["title_score"] == 1.0


def test_inputs_that_crash_the_original_raise_clear_errors():
    with pytest.raises(ValueError, match="price_upper"):
        reward(g=goal(price_upper=0.0))
    with pytest.raises(ValueError, match="no attributes"):
        reward(g=goal(attributes=()))


def test_the_tagger_is_chosen_gracefully():
    import importlib.util

    auto = TitleNouns({}, tagger="auto")
    if importlib.util.find_spec("spacy") is None:
        assert auto.tagger_source == "heuristic"
        with pytest.raises(RuntimeError, match="spaCy"):
            TitleNouns({}, tagger="spacy")("Acme Shirt")
    else:
        assert auto.tagger_source.startswith(("spacy:", "heuristic"))
    with pytest.raises(ValueError, match="tagger"):
        TitleNouns({}, tagger="nltk")
