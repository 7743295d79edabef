"""WebShop reference policies: the oracle buys right nearly always; the rule baseline does not."""

from rlgen_envs.webshop import OraclePolicy, RuleBaselinePolicy, WebShopEnv, choose_options, default_catalog, run_episode

SAMPLE = 200


def play(policy, split="test", n=SAMPLE, obs_mode="text"):
    env = WebShopEnv(default_catalog(), split=split, obs_mode=obs_mode)
    goals = env.goal_indices[:n]
    return [run_episode(env, policy, goal=g) for g in goals]


def test_oracle_reaches_reward_one_on_nearly_every_generated_goal():
    catalog = default_catalog()
    results = play(OraclePolicy(catalog))
    success = sum(r["reward"] == 1.0 for r in results) / len(results)
    assert success >= 0.95, success
    assert all(r["bought"] for r in results)
    assert max(r["steps"] for r in results) < 20


def test_rule_baseline_scores_much_lower():
    oracle = play(OraclePolicy(default_catalog()), split="train", n=100)
    rule = play(RuleBaselinePolicy(), split="train", n=100)
    mean = lambda rs: sum(r["reward"] for r in rs) / len(rs)  # noqa: E731
    success = lambda rs: sum(r["reward"] == 1.0 for r in rs) / len(rs)  # noqa: E731
    assert mean(rule) < mean(oracle) - 0.2 and success(rule) < 0.3 < 0.95 <= success(oracle)
    assert all(r["steps"] == 3 for r in rule)  # search, click the first result, buy


def test_policies_are_deterministic_and_work_on_text_rich():
    catalog = default_catalog()
    env = WebShopEnv(catalog, split="validation", obs_mode="text_rich")
    for policy in (OraclePolicy(catalog, seed=3), RuleBaselinePolicy(seed=3)):
        actions = []
        for _ in range(2):
            obs, info = env.reset(options={"goal": env.goal_indices[7]})
            policy.reset(info)
            trace, done = [], False
            while not done:
                action = policy.act(obs, info)
                trace.append(action)
                obs, reward, terminated, truncated, info = env.step(action)
                done = terminated or truncated
            actions.append(trace)
        assert actions[0] == actions[1]


def test_choose_options_matches_the_reward():
    catalog = default_catalog()
    goal = next(g for g in catalog.goals if len(g.goal_options) == 2)
    chosen = choose_options(catalog.product(goal.asin), goal)
    assert sorted(chosen.values()) == sorted(goal.goal_options)
