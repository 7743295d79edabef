"""The WebShop env: page strings, navigation, invalid actions, step limit, gymnasium checks."""

import gymnasium
import pytest
from gymnasium.utils.env_checker import check_env

import rlgen_envs  # noqa: F401  (registers rlgen/WebShop-v0)
from rlgen_envs.webshop import WebShopEnv, build_catalog, parse_action

SHIRT, SOCKS = "B000000001", "B000000002"


def tiny_catalog():
    products = [
        {
            "asin": SHIRT,
            "name": "Acme Cotton T-Shirt for Men",
            "full_description": "A soft cotton tee.",
            "small_description": ["Machine wash", "Short sleeve"],
            "pricing": "$20.00",
            "product_category": "Clothing › Men › Shirts",
            "customization_options": {
                "Color": [{"value": "Black", "image": None}, {"value": "Navy/Blue", "image": None}],
                "Size": [{"value": "Large"}, {"value": "X-Large"}],
            },
            "category": "fashion",
            "query": "Men's T-Shirt ",
            "images": ["x.jpg"],
        },
        {
            "asin": SOCKS,
            "name": "Brio Wool Socks",
            "full_description": "Warm socks.",
            "small_description": "Crew length",
            "pricing": "$5.00 - $9.00",
            "product_category": "Clothing › Men › Socks",
            "customization_options": None,
            "category": "fashion",
            "query": "socks",
        },
    ]
    for i in range(14):
        products.append(
            {
                "asin": f"B0000001{i:02d}",
                "name": f"Zed Lamp {i}",
                "full_description": "",
                "small_description": ["Bulb included"],
                "pricing": "$30.00",
                "product_category": "Home › Lighting",
                "customization_options": {},
                "category": "furniture",
                "query": "table lamp",
            }
        )
    attributes = {SHIRT: {"attributes": ["machine wash", "short sleeve"]}, SOCKS: {"attributes": ["crew length"]}}
    human = {
        SHIRT: [{"instruction": "i need a black cotton t-shirt in large.", "instruction_attributes": ["machine wash"], "instruction_options": ["black", "large"]}],
        SOCKS: [{"instruction": "wool socks please", "instruction_attributes": ["crew length"], "instruction_options": []}],
    }
    reviews = {SHIRT: {"asin": SHIRT, "reviews": [{"title": "Great", "stars": 5, "review": "Fits well"}], "average_rating": 4.5}}
    return build_catalog(products, attributes, human, reviews, noun_tagger="heuristic")


CATALOG = tiny_catalog()
SHIRT_GOAL = next(i for i, g in enumerate(CATALOG.goals) if g.asin == SHIRT)


def make_env(**kw):
    env = WebShopEnv(CATALOG, **kw)
    obs, info = env.reset(options={"goal": SHIRT_GOAL})
    return env, obs, info


def test_parse_action_follows_the_original_regex():
    assert parse_action("search[red shoes]") == ("search", "red shoes")
    assert parse_action("click[< Prev]") == ("click", "< Prev")
    assert parse_action("search[]") == ("search[]", None)
    assert parse_action("buy") == ("buy", None)
    assert parse_action("click[a]x") == ("click", "a")  # matched from the start, not anchored at the end


def test_page_strings_through_a_whole_episode():
    env, obs, info = make_env()
    instr = env.goal.instruction_text
    assert instr.startswith("i need a black cotton t-shirt in large, and price lower than ") and instr.endswith(" dollars")
    assert obs == f"WebShop [SEP] Instruction: [SEP] {instr} [SEP] Search"
    assert info["page"] == "search" and info["has_search_bar"] and info["valid_actions"] == []

    obs, *_, info = env.step("search[Acme]")
    head = f"Instruction: [SEP] {instr} [SEP] Back to Search [SEP] "
    assert obs == head + "Page 1 (Total results: 1) [SEP] Next > [SEP] B000000001 [SEP] Acme Cotton T-Shirt for Men [SEP] $20.0"
    assert info["valid_actions"] == ["click[back to search]", "click[next >]", "click[b000000001]"]
    assert info["result_asins"] == ["b000000001"]

    obs, *_, info = env.step("click[B000000001]")  # arguments are lower-cased
    item = (
        head + "< Prev [SEP] color [SEP] black [SEP] navy | blue [SEP] size [SEP] large [SEP] x-large [SEP] "
        "Acme Cotton T-Shirt for Men [SEP] Price: $20.0 [SEP] Rating: 4.5 [SEP] Description [SEP] Features [SEP] Reviews [SEP] Buy Now"
    )
    assert obs == item and info["page"] == "item"
    assert set(info["valid_actions"]) == {
        "click[back to search]", "click[< prev]", "click[black]", "click[navy | blue]", "click[large]",
        "click[x-large]", "click[description]", "click[features]", "click[reviews]", "click[buy now]",
    }  # fmt: skip

    assert env.step("click[description]")[0] == head + "< Prev [SEP] A soft cotton tee."
    assert env.step("click[< prev]")[0] == item
    assert env.step("click[features]")[0] == head + "< Prev [SEP] Machine wash [SEP] Short sleeve"
    env.step("click[< prev]")
    assert env.step("click[reviews]")[0] == head + '< Prev [SEP] "Great" [SEP] 5 [SEP] Fits well'
    env.step("click[< prev]")

    env.step("click[black]")
    env.step("click[large]")
    assert env.selected_options == {"color": "black", "size": "large"}
    obs, reward, terminated, truncated, info = env.step("click[buy now]")
    assert terminated and not truncated and reward == 1.0
    assert obs == (
        'Thank you for shopping with us! [SEP] Purchased [SEP] asin [SEP] B000000001 [SEP] options [SEP] '
        '{"color": "black", "size": "large"} [SEP] Your score (min 0.0, max 1.0) [SEP] 1.0'
    )
    assert info["page"] == "done" and info["purchased_asin"] == SHIRT and info["goal_asin"] == SHIRT
    assert info["reward_parts"]["r_option"] == 1.0 and info["reward_parts"]["noun_source"] == "heuristic"
    with pytest.raises(RuntimeError, match="reset"):
        env.step("search[more]")


def test_results_pages_ten_at_a_time_with_prev_and_next():
    env, *_ = make_env()
    obs, *_, info = env.step("search[lamp]")
    assert "Page 1 (Total results: 14) [SEP] Next > [SEP] B000000100 [SEP] Zed Lamp 0 [SEP] $30.0" in obs
    assert len(info["result_asins"]) == 10 and "click[< prev]" not in info["valid_actions"]
    obs, *_, info = env.step("click[next >]")
    assert "Page 2 (Total results: 14) [SEP] < Prev [SEP] Next > [SEP] B000000110" in obs
    assert info["result_asins"] == [f"b0000001{i}" for i in range(10, 14)]
    obs, *_, info = env.step("click[next >]")  # past the last hit: an empty page, Next > still shown
    assert obs.endswith("Page 3 (Total results: 14) [SEP] < Prev [SEP] Next >") and info["result_asins"] == []
    env.step("click[< prev]")
    obs, *_, info = env.step("click[< prev]")
    assert "Page 1 (Total results: 14)" in obs and "click[< prev]" not in info["valid_actions"]


def test_navigation_clears_options_like_the_original():
    env, *_ = make_env()
    env.step("search[acme]")
    env.step("click[b000000001]")
    env.step("click[black]")
    obs, *_, info = env.step("click[< prev]")  # item -> results: options cleared
    assert info["page"] == "results" and env.selected_options == {}
    env.step("click[b000000001]")
    env.step("click[black]")
    obs, *_, info = env.step("search[socks]")  # search works from any page
    assert info["page"] == "results" and info["result_asins"][0] == "b000000002" and env.selected_options == {}
    env.step("click[b000000002]")
    obs, *_, info = env.step("click[back to search]")
    assert info["page"] == "search" and obs.startswith("WebShop [SEP] Instruction:")


def test_a_range_price_shows_as_a_range():
    env, *_ = make_env()
    obs, *_ = env.step("search[brio socks]")
    assert "B000000002 [SEP] Brio Wool Socks [SEP] $5.0 to $9.0" in obs


@pytest.mark.parametrize(
    "action",
    ["click[nothing here]", "click[search]", "search[]", "jump[acme]", "buy now", "click[buy now]", "click[< prev]", "click[Back to Search]x"],
)
def test_invalid_actions_change_nothing(action):
    env, obs, info = make_env()
    obs2, reward, terminated, truncated, info2 = env.step(action)
    assert obs2 == obs and reward == 0.0 and not terminated and not truncated
    assert info2["invalid_action"] and info2["page"] == "search" and info2["steps"] == 1


def test_invalid_click_on_a_results_page_keeps_the_page():
    env, *_ = make_env()
    obs, *_ = env.step("search[acme]")
    obs2, reward, terminated, _, info = env.step("click[b000000002]")  # not shown on this page
    assert obs2 == obs and reward == 0.0 and not terminated and info["invalid_action"]


def test_step_limit_truncates_with_reward_zero():
    env, *_ = make_env(step_limit=3)
    results = [env.step("click[nothing]") for _ in range(3)]
    assert [r[2:4] for r in results] == [(False, False), (False, False), (False, True)]
    assert all(r[1] == 0.0 for r in results)
    with pytest.raises(RuntimeError, match="step limit"):
        env.step("search[acme]")
    env, *_ = make_env(step_limit=3)  # buying on the last step terminates, not truncates
    env.step("search[acme]")
    env.step("click[b000000001]")
    _, reward, terminated, truncated, _ = env.step("click[buy now]")
    assert terminated and not truncated and reward > 0


def test_text_rich_marks_buttons_and_clicked_options():
    env, obs, _ = make_env(obs_mode="text_rich")
    assert obs == f"WebShop\nInstruction:\n{env.goal.instruction_text}\n[button] Search [button_]\n"
    env.step("search[acme]")
    env.step("click[b000000001]")
    obs, *_ = env.step("click[navy | blue]")
    assert obs.startswith("You have clicked navy | blue.\nInstruction:\n")
    assert "  [clicked button] navy | blue [clicked button_]\n" in obs and "  [button] black [button_]\n" in obs
    assert "[button] Back to Search [button_]\n" in obs and "[button] Buy Now [button_]\n" in obs
    obs, *_ = env.step("click[< prev]")
    assert "\n\n[clicked button] B000000001 [clicked button_]\n" in obs


def test_goals_are_chosen_by_index_or_drawn_from_the_split():
    env = WebShopEnv(CATALOG)
    _, info = env.reset(options={"goal": 1})
    assert info["goal_index"] == 1 and info["instruction"] == CATALOG.goals[1].instruction_text
    with pytest.raises(ValueError, match="outside"):
        env.reset(options={"goal": 99})
    with pytest.raises(ValueError, match="valid: goal"):
        env.reset(options={"level": 0})
    a, b = WebShopEnv(CATALOG), WebShopEnv(CATALOG)
    assert [a.reset(seed=s)[1]["goal_index"] for s in range(5)] == [b.reset(seed=s)[1]["goal_index"] for s in range(5)]


def test_split_envs_refuse_goals_of_other_splits():
    env = gymnasium.make("rlgen/WebShop-v0", split="test").unwrapped
    test_goal = env.splits.test[0]
    assert env.reset(options={"goal": test_goal})[1]["goal_index"] == test_goal
    with pytest.raises(ValueError, match="not in the 'test' split"):
        env.reset(options={"goal": env.splits.train[0]})
    drawn = {env.reset(seed=s)[1]["goal_index"] for s in range(20)}
    assert drawn <= set(env.splits.test)


@pytest.mark.parametrize("obs_mode", ["text", "text_rich"])
def test_gymnasium_checker(obs_mode):
    check_env(WebShopEnv(CATALOG, obs_mode=obs_mode), skip_render_check=True)
    env = gymnasium.make("rlgen/WebShop-v0", obs_mode=obs_mode, split="train", render_mode="ansi")
    obs, _ = env.reset(seed=0)
    assert env.observation_space.contains(obs) and env.render() == obs
    assert env.action_space.contains("search[anything at all, even ünïcödé]")


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="obs_mode"):
        WebShopEnv(CATALOG, obs_mode="html")
    with pytest.raises(ValueError, match="split"):
        WebShopEnv(CATALOG, split="dev")
    with pytest.raises(ValueError, match="positional split needs"):
        WebShopEnv(CATALOG, split="train")  # a tiny catalog has no test/validation blocks
