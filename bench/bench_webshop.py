"""WebShop environment speed on the default (generated) catalog: the env alone, search alone, the choice layer.

    .venv/bin/python bench/bench_webshop.py                        # 300 episodes, 2,000 queries, 3 rounds
    .venv/bin/python bench/bench_webshop.py --episodes 20 --queries 50 --rounds 1

What is timed, in one command (no Ray, one process, no policy in the timed loops):

- env alone: `WebShopEnv.step` replaying recorded action strings, with the env's search cache
  warm (as in collection, where each training instruction is searched many times) and emptied. The choice oracle
  (`rlgen.webshop.policies.ChoiceOracle`, the sweep's behaviour) first plays `--episodes`
  training goals and its actions are recorded; the timed loop then resets each goal and replays
  its actions, so only the env (page logic, search, reward on Buy Now, text rendering) is on
  the clock. Replays of the rule baseline's actions are timed too
  (three steps an episode: a search, a click, a purchase).
- search alone: `ProductSearch.search` (BM25 over the 3,000 products, top 50) on `--queries`
  distinct instruction texts, uncached (a fresh index with its result cache off) and cached (the
  same queries again on the env's index, as an env that replays a goal sees them).
- the choice layer: `WebShopChoiceVecEnv` (16 slots) replaying the same episodes as candidate
  indices: candidates and the hashed n-gram featurizer on top of the env. Its ratio to the env
  alone is the price of the fixed action space.

Rounds alternate (A-B-B-A over the env and choice sides) and the median per side is reported.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import Table, write_result


def record_episodes(env, policy, goals) -> list[tuple[int, list[str]]]:
    """Each goal's action strings as `policy` plays it."""
    out = []
    for goal in goals:
        obs, info = env.reset(options={"goal": goal})
        policy.reset(info)
        actions, done = [], False
        while not done:
            action = policy.act(obs, info)
            actions.append(action)
            obs, _, terminated, truncated, info = env.step(action)
            done = terminated or truncated
        out.append((goal, actions))
    return out


def time_env(env, episodes, cold: bool = False) -> tuple[float, int]:
    """Seconds and steps to replay `episodes` on the text env (resets included); `cold` empties
    the search cache first, so each goal's first search is a new query."""
    if cold:
        env.catalog.search.clear_cache()
    steps = 0
    started = time.perf_counter()
    for goal, actions in episodes:
        env.reset(options={"goal": goal})
        for action in actions:
            env.step(action)
        steps += len(actions)
    return time.perf_counter() - started, steps


def record_choice_episodes(catalog, goals, num_candidates: int) -> list[tuple[int, list[int], list[str]]]:
    """Each goal as the choice oracle plays it: (goal, candidate indices, the same actions as strings)."""
    import numpy as np

    from rlgen.webshop.policies import ChoiceOracle
    from rlgen_envs.webshop.vec import GoalTask, WebShopChoiceVecEnv

    env = WebShopChoiceVecEnv.pinned(catalog, [GoalTask(0, goals[0])], num_candidates=num_candidates)
    oracle = ChoiceOracle()
    obs, _ = env.reset()
    oracle.attach(env)
    out = []
    for k, goal in enumerate(goals):
        if k:
            obs = env.repin(0, GoalTask(k, goal))[None]
        oracle.reset(np.array([0]))
        indices, actions, done = [], [], False
        while not done:
            a = int(oracle.act(obs)[0])
            indices.append(a)
            actions.append(env.views[0].slots[a].action)
            obs, _, terminated, truncated, _ = env.step(np.array([a]))
            done = bool(terminated[0] or truncated[0])
        out.append((goal, indices, actions))
    return out


def time_choice(catalog, episodes, num_envs: int, num_candidates: int) -> tuple[float, int]:
    """Seconds and steps to replay `episodes` through `WebShopChoiceVecEnv` (pinned slots, batched steps)."""
    import numpy as np

    from rlgen_envs.webshop.vec import GoalTask, WebShopChoiceVecEnv

    queue = list(episodes)
    first = queue[:num_envs]
    env = WebShopChoiceVecEnv.pinned(catalog, [GoalTask(i, g) for i, (g, _) in enumerate(first)], num_candidates=num_candidates)
    started = time.perf_counter()
    env.reset()
    plans = [list(a) for _, a in first]
    next_job, steps = len(first), 0
    active = np.ones(len(first), dtype=bool)
    while active.any():
        actions = np.array([p[0] if p else 0 for p in plans], dtype=np.int64)
        _, _, terminated, truncated, _ = env.step(actions)
        steps += int(active.sum())
        for i in range(len(plans)):
            if not active[i]:
                continue
            plans[i].pop(0)
            if terminated[i] or truncated[i] or not plans[i]:
                if next_job < len(queue):
                    goal, indices = queue[next_job]
                    env.repin(i, GoalTask(next_job, goal))
                    plans[i] = list(indices)
                    next_job += 1
                else:
                    active[i] = False
    return time.perf_counter() - started, steps


def time_search(search, queries) -> float:
    started = time.perf_counter()
    for q in queries:
        search.search(q)
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=300, help="oracle episodes replayed per round")
    parser.add_argument("--queries", type=int, default=2000, help="distinct instruction queries")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--envs", type=int, default=16, help="slots of the choice vector env")
    parser.add_argument("--results-dir", type=Path, default=None)
    args = parser.parse_args(argv)
    load_start = os.getloadavg()

    from rlgen_envs.webshop import RuleBaselinePolicy, WebShopEnv, default_catalog, make_splits
    from rlgen_envs.webshop.choice import DEFAULT_NUM_CANDIDATES
    from rlgen_envs.webshop.search import ProductSearch

    started = time.perf_counter()
    catalog = default_catalog()
    _ = catalog.search
    build_seconds = time.perf_counter() - started
    splits = make_splits(catalog.goals, "unseen")
    goals = list(splits.train[: args.episodes])
    env = WebShopEnv(catalog)
    recorded = record_choice_episodes(catalog, goals, DEFAULT_NUM_CANDIDATES)
    oracle = [(g, actions) for g, _, actions in recorded]
    oracle_choice = [(g, indices) for g, indices, _ in recorded]
    rule = record_episodes(env, RuleBaselinePolicy(), goals)

    env_rates, choice_rates, rule_rates, cold_rates = [], [], [], []
    for r in range(args.rounds):
        seconds, steps = time_env(env, oracle, cold=True)
        cold_rates.append(steps / seconds)
        sides = ("env", "choice") if r % 2 == 0 else ("choice", "env")
        for side in sides:
            if side == "env":
                seconds, steps = time_env(env, oracle)
                env_rates.append(steps / seconds)
            else:
                seconds, steps = time_choice(catalog, oracle_choice, args.envs, DEFAULT_NUM_CANDIDATES)
                choice_rates.append(steps / seconds)
        seconds, steps = time_env(env, rule)
        rule_rates.append(steps / seconds)

    texts = [catalog.goals[i].instruction_text for i in (list(splits.train) + list(splits.validation) + list(splits.test))]
    queries = list(dict.fromkeys(texts))[: args.queries]
    fresh = ProductSearch([p.search_text for p in catalog.products], cache_size=0)
    uncached = [len(queries) / time_search(fresh, queries) for _ in range(args.rounds)]
    warm = catalog.search
    time_search(warm, queries)  # fill its cache (4,096 entries)
    cached = [len(queries) / time_search(warm, queries) for _ in range(args.rounds)]

    env_rate = statistics.median(env_rates)
    choice_rate = statistics.median(choice_rates)
    search_rate = statistics.median(uncached)
    oracle_steps = sum(len(a) for _, a in oracle)
    searches_per_step = sum(a.startswith("search[") for _, acts in oracle for a in acts) / oracle_steps
    figures = {
        "catalog": {"products": len(catalog.products), "goals": len(catalog.goals), "build_and_index_seconds": round(build_seconds, 2)},
        "env_steps_per_second": round(env_rate, 1),
        "env_steps_per_second_cold_search": round(statistics.median(cold_rates), 1),
        "env_steps_per_second_rule_replay": round(statistics.median(rule_rates), 1),
        "choice_env_steps_per_second": round(choice_rate, 1),
        "choice_over_env": round(choice_rate / env_rate, 3),
        "search_queries_per_second_uncached": round(search_rate, 1),
        "search_queries_per_second_cached": round(statistics.median(cached), 1),
        "oracle_steps_per_episode": round(oracle_steps / len(oracle), 2),
        "oracle_searches_per_step": round(searches_per_step, 3),
        "rounds": {"env": env_rates, "env_cold_search": cold_rates, "choice": choice_rates, "rule": rule_rates, "search_uncached": uncached, "search_cached": cached},
    }
    tables = [
        Table(
            f"Default generated catalog ({len(catalog.products):,} products, {len(catalog.goals):,} instructions); "
            f"median of {args.rounds} rounds, one process",
            ["what", "rate", "how"],
            [
                ["env alone (WebShopEnv.step)", f"{env_rate:,.0f} steps/s",
                 f"replaying the oracle's recorded actions on {len(oracle)} training goals ({oracle_steps / len(oracle):.1f} steps an episode, resets included)"],
                ["env alone, search cache emptied first", f"{statistics.median(cold_rates):,.0f} steps/s",
                 "the same replay, every goal's first search a new BM25 query"],
                ["env alone, rule baseline's episodes", f"{statistics.median(rule_rates):,.0f} steps/s", "search, first result, buy: one search per 3 steps"],
                ["search alone (BM25 top 50), uncached", f"{search_rate:,.0f} queries/s", f"{len(queries):,} distinct instruction texts, a fresh index with its cache off"],
                ["search alone, cached", f"{statistics.median(cached):,.0f} queries/s", "the same queries again on the env's index (its result cache holds 4,096)"],
                ["choice env (candidates + hashed n-gram featurizer)", f"{choice_rate:,.0f} steps/s",
                 f"WebShopChoiceVecEnv, {args.envs} slots, K = {DEFAULT_NUM_CANDIDATES}, the same episodes as candidate indices: {choice_rate / env_rate:.2f}x the env alone"],
            ],
        )  # fmt: skip
    ]
    notes = [
        "No policy is on the clock: actions were recorded first and are replayed. Every episode searches its "
        "instruction, which the env's search cache (4,096 queries) has seen after the first round; the uncached "
        "search figure is the cost of a new query.",
        f"Catalog build and index: {build_seconds:.1f} s, once per process (`default_catalog` is cached).",
    ]
    print(f"env alone: {env_rate:,.0f} steps/s; choice env: {choice_rate:,.0f} steps/s; search: {search_rate:,.0f} queries/s uncached")
    path = write_result(
        "webshop", "WebShop environment speed (default generated catalog)", targets=[], tables=tables, figures=figures,
        notes=notes, load_start=load_start, results_dir=args.results_dir,
    )  # fmt: skip
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
