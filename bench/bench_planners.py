"""Saved-state planners per game: return and success on training levels, and what planning costs.

    .venv/bin/python bench/bench_planners.py                          # maze, heist, coinrun on 50 levels
    .venv/bin/python bench/bench_planners.py --games heist --levels 10

For each game, in one command: the planner (`SavedStatePlanner`) and the random policy play
training levels [0, --levels) once each (pinned slots, --envs at a time, one batched `act` per
step, through `rlgen.policies.skill.play_levels`). Reported: mean return and success against
the game's maximum (Cobbe et al.'s easy-mode constants), mean episode length and discounted
return (gamma 0.99), and the planning cost: searches, expansions (one restore + one step + one
save in a private env) per real step, and seconds per episode. The random policy is the
baseline in the same command. No Ray is started.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import Table, write_result


def measure(game: str, levels: int, envs: int, seed: int) -> dict:
    from rlgen.core.games import COBBE_RETURN_RANGES
    from rlgen.policies.base import RandomPolicy
    from rlgen.policies.planner import SavedStatePlanner
    from rlgen.policies.skill import play_levels

    planner = SavedStatePlanner(game, seed=seed)
    expert = play_levels(planner, game, range(levels), num_envs=envs, seed=seed)
    rand = play_levels(RandomPolicy(seed=seed), game, range(levels), num_envs=envs, seed=seed)
    steps = int(expert.lengths.sum())
    return {
        "game": game,
        "levels": levels,
        "max_return": COBBE_RETURN_RANGES[game]["easy"][1],
        "planner": expert.summary(),
        "random": rand.summary(),
        "stats": dict(planner.stats),
        "expansions_per_step": planner.stats["expansions"] / max(steps, 1),
        "seconds_per_episode": expert.seconds / levels,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--games", nargs="+", default=["maze", "heist", "coinrun"])
    parser.add_argument("--levels", type=int, default=50)
    parser.add_argument("--envs", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--results-dir", type=Path, default=None)
    args = parser.parse_args(argv)

    load_start = os.getloadavg()
    results = []
    table = Table(
        title=f"Planners on training levels [0, {args.levels}), one episode each (easy mode)",
        columns=[
            "game", "max return", "return", "success", "random return", "length",
            "discounted return", "searches", "expansions / step", "s / episode", "budget hit", "fallback moves",
        ],
    )  # fmt: skip
    for game in args.games:
        r = measure(game, args.levels, args.envs, args.seed)
        results.append(r)
        p, s = r["planner"], r["stats"]
        table.rows.append([
            game, r["max_return"], round(p["mean_return"], 2), round(p["success_rate"], 3), round(r["random"]["mean_return"], 2),
            round(p["mean_length"], 1), round(p["mean_discounted_return"], 2), s["plans"], round(r["expansions_per_step"], 1),
            round(r["seconds_per_episode"], 3), s["budget_exhausted"], s["fallback_actions"],
        ])  # fmt: skip
        print(f"{game}: return {p['mean_return']:.2f} / {r['max_return']}, success {p['success_rate']:.2f}, "
              f"{r['expansions_per_step']:.1f} expansions/step, {r['seconds_per_episode']:.3f} s/episode, stats {s}")  # fmt: skip
    path = write_result(
        "planners",
        "Saved-state planners (expert data without a GPU)",
        targets=[],
        tables=[table],
        figures={r["game"]: r for r in results},
        notes=[
            "Costs are wall time on a shared 2-core machine (other agents' work ran beside it); "
            "expansions are the load-independent measure.",
            "Each level has one planned trajectory (the game is deterministic); variety comes from more levels or mixtures.",
        ],
        load_start=load_start,
        results_dir=args.results_dir,
    )
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
