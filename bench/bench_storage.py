"""Target 2, storage: bytes per transition of rlgen shards against raw frames and the paper's format.

    .venv/bin/python bench/bench_storage.py                 # about 2 minutes
    .venv/bin/python bench/bench_storage.py --transitions 2000 --games bigfish

For each game, in one command: collect one rlgen shard of `--transitions` transitions on levels
[0, `--levels`) with `collect_shard` (maze and coinrun: the saved-state planners, experts; bigfish:
the random policy, since rlgen has no expert for it yet), then write the same episodes in the
generalization-gap paper's format (one `np.savez_compressed` file per episode: observations
(T+1, 3, 64, 64) float32, actions, rewards, dones; level seed and return in the file name) and
compare bytes on disk per transition, and decoding speed (frames/s) of each:

- rlgen: `ShardReader(path).contents()`, every zstd chunk of the shard decoded to uint8 frames;
- paper: `np.load` of every episode file and its float32 observations inflated.

Raw uint8 frames are 64 x 64 x 3 = 12,288 bytes per transition. Procgen loses an episode's true
final frame (it resets at once), so the paper-format files repeat the last frame as frame T+1;
that frame is there to give the format its real shape, and it is counted in the paper's bytes.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

from bench.common import Table, Target, at_most, fmt_rate, print_targets, round_sig, write_result

RAW_FRAME_BYTES = 64 * 64 * 3
TARGET_RAW = 1 / 15
TARGET_PAPER = 1 / 3
POLICIES = {"maze": "maze_planner", "coinrun": "planner"}  # games with an expert in rlgen; the rest use the random policy


def collect_one_shard(game: str, policy: str, transitions: int, levels: int, envs: int, out_dir: Path) -> tuple[Path, float]:
    from rlgen.collect import collect_shard, shard_name
    from rlgen.core.config import ExperimentConfig

    overrides = {
        "env.game": game,
        "levels.train": levels,
        "collect.transitions": transitions,
        "collect.shard_transitions": transitions,
        "collect.envs_per_worker": envs,
        "collect.policy": f"{{name: {policy}}}",
    }
    config = ExperimentConfig().with_overrides([f"{k}={v}" for k, v in overrides.items()])
    out_dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    collect_shard(config, 0, out_dir)
    return out_dir / shard_name(0), time.perf_counter() - started


def write_paper_format(shard: Path, out_dir: Path) -> tuple[int, float]:
    """The shard's episodes as the paper stored them; returns (bytes on disk, seconds to write)."""
    from rlgen.data.shards import read_shard

    out_dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    total = 0
    for i, ep in enumerate(read_shard(shard).episodes()):
        frames = np.concatenate([ep.observations, ep.observations[-1:]])  # T+1: the true last frame is lost
        dones = np.zeros(ep.length, dtype=bool)
        dones[-1] = True
        path = out_dir / f"{i:05d}_{ep.level_seed}_{ep.episode_return:.1f}.npz"
        np.savez_compressed(
            path,
            observations=frames.transpose(0, 3, 1, 2).astype(np.float32),  # (T+1, 3, 64, 64), values 0-255
            actions=ep.actions.astype(np.int64),
            rewards=ep.rewards.astype(np.float32),
            dones=dones,
        )
        total += path.stat().st_size
    return total, time.perf_counter() - started


def decode_rlgen(shard: Path) -> tuple[int, float]:
    from rlgen.data.shards import ShardReader

    started = time.perf_counter()
    frames = ShardReader(shard).contents().observations
    return len(frames), time.perf_counter() - started


def decode_paper(folder: Path) -> tuple[int, float]:
    started = time.perf_counter()
    count = 0
    for path in sorted(folder.glob("*.npz")):
        with np.load(path, allow_pickle=False) as npz:
            count += len(npz["observations"])
    return count, time.perf_counter() - started


def measure(game: str, transitions: int, levels: int, envs: int, tmp: Path) -> dict:
    policy = POLICIES.get(game, "random")
    shard, collect_seconds = collect_one_shard(game, policy, transitions, levels, envs, tmp / game / "rlgen")
    with np.load(shard, allow_pickle=False) as npz:  # a shard is a plain .npz (see rlgen.data.shards)
        episodes = len(npz["level_seeds"])
    rlgen_bytes = shard.stat().st_size
    paper_bytes, paper_write_seconds = write_paper_format(shard, tmp / game / "paper")
    rlgen_frames, rlgen_decode = decode_rlgen(shard)
    paper_frames, paper_decode = decode_paper(tmp / game / "paper")
    return {
        "policy": policy,
        "data": f"expert data ({policy})" if policy != "random" else "random-policy data: no expert in rlgen yet",
        "transitions": transitions,
        "episodes": episodes,
        "levels": levels,
        "collect_seconds": collect_seconds,
        "rlgen_bytes_per_transition": rlgen_bytes / transitions,
        "paper_bytes_per_transition": paper_bytes / transitions,
        "paper_write_seconds": paper_write_seconds,
        "rlgen_decode_frames_per_second": rlgen_frames / rlgen_decode,
        "paper_decode_frames_per_second": paper_frames / paper_decode,
        "ratio_raw": rlgen_bytes / transitions / RAW_FRAME_BYTES,
        "ratio_paper": rlgen_bytes / paper_bytes,
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--games", nargs="+", default=["maze", "coinrun", "bigfish"])
    parser.add_argument("--transitions", type=int, default=10_000, help="per game")
    parser.add_argument("--levels", type=int, default=200, help="training levels [0, N), as the paper's 0-199")
    parser.add_argument("--envs", type=int, default=16)
    parser.add_argument("--results-dir", type=Path, default=None)
    args = parser.parse_args(argv)
    load_start = os.getloadavg()

    figures: dict = {"games": {}}
    targets, rows = [], []
    with tempfile.TemporaryDirectory(prefix="rlgen-bench-storage-") as tmp:
        for game in args.games:
            m = measure(game, args.transitions, args.levels, args.envs, Path(tmp))
            figures["games"][game] = m
            print(
                f"{game} ({m['data']}): rlgen {m['rlgen_bytes_per_transition']:.0f} B/transition, paper format "
                f"{m['paper_bytes_per_transition']:.0f}; decode {m['rlgen_decode_frames_per_second']:.0f} vs "
                f"{m['paper_decode_frames_per_second']:.0f} frames/s",
                flush=True,
            )
            rows.append([
                game, m["data"], f"{m['transitions']:,} / {m['episodes']}",
                f"{m['rlgen_bytes_per_transition']:,.0f}", f"1/{1 / m['ratio_raw']:.0f}",
                f"{m['paper_bytes_per_transition']:,.0f}", f"1/{1 / m['ratio_paper']:.1f}",
                f"{fmt_rate(m['rlgen_decode_frames_per_second'])}", f"{fmt_rate(m['paper_decode_frames_per_second'])}",
            ])  # fmt: skip
            b = m["rlgen_bytes_per_transition"]
            met_raw = at_most(m["ratio_raw"], TARGET_RAW)
            targets.append(
                Target(
                    what=f"storage vs raw uint8, {game}, {m['data']}",
                    figure=f"{b:,.0f} B/transition vs 12,288",
                    ratio=round_sig(m["ratio_raw"]),
                    target="<= 1/15 (0.0667)",
                    met=met_raw,
                    reason="" if met_raw else (
                        f"{game}'s frames change a lot from step to step (the view scrolls over textured backgrounds; an "
                        "expert runs right and scrolls more than random play): zstd level 1 over 64-frame chunks finds "
                        "little to reuse. Measured on coinrun random-play frames (2026-11-29): level 3 saves only 5%, "
                        "128-frame chunks 2%, and channel-planar layouts or frame differences before zstd cost 40-140% more bytes"
                    ),
                    close="" if met_raw else (
                        "a slower codec for this game (zstd level 6 over 256-frame chunks: about 730 B/frame at 4x the "
                        "compression time, which target 1 cannot afford on saturated cores), or scroll-compensated "
                        "frame deltas; both are a shard-format change, so the target stays open"
                    ),
                )
            )
            met_paper = at_most(m["ratio_paper"], TARGET_PAPER)
            targets.append(
                Target(
                    what=f"storage vs the paper's .npz, {game}, {m['data']}",
                    figure=f"{b:,.0f} vs {m['paper_bytes_per_transition']:,.0f} B/transition",
                    ratio=round_sig(m["ratio_paper"]),
                    target="<= 1/3 (0.333)",
                    met=met_paper,
                    reason="" if met_paper else (
                        "deflate over the paper's float32 frames (3 zero bytes of every 4 compress to almost nothing) "
                        "does relatively well on this game's frames, where zstd over uint8 finds few repeats"
                    ),
                    close="" if met_paper else "the same codec change as the raw-frames target above",
                )
            )
    table = Table(
        f"Bytes per transition on disk and decoding speed (levels [0, {args.levels}), easy)",
        ["game", "data", "transitions / episodes", "rlgen B/transition", "vs raw 12,288", "paper .npz B/transition",
         "rlgen vs paper", "rlgen decode frames/s", "paper decode frames/s"],
        rows,
    )  # fmt: skip
    notes = [
        "bigfish has no expert in rlgen yet (no planner for reward-collecting games; PPO is a later issue's): its rows are "
        "random-policy data, which is the hard case for compression (expert play repeats more). coinrun's expert is the "
        "saved-state planner (return 9.0 of 10 on levels 0-9, rlgen/policies/README.md).",
        "Paper format: one np.savez_compressed file per episode, observations (T+1, 3, 64, 64) float32 (the last frame "
        "repeated: Procgen loses the true final one), actions int64, rewards float32, dones bool; level seed and return "
        "in the file name. Written here from the same episodes as the rlgen shard.",
        "Decoding: rlgen decodes every zstd chunk of the shard to uint8 frames; the paper format inflates each episode's "
        "float32 observations with np.load. Both from the page cache (files just written).",
        "For scale (an earlier measurement on random frames): the paper's format ~6,950 / 2,950 / 10,300 B/transition on "
        "maze / coinrun / bigfish; zstd over uint8 frame stacks ~28 / 780 / 390.",
    ]
    print_targets(targets)
    path = write_result("storage", "Storage (target 2)", targets=targets, tables=[table], figures=figures, notes=notes,
                        load_start=load_start, results_dir=args.results_dir)  # fmt: skip
    print(f"wrote {path}")
    return figures


if __name__ == "__main__":
    main()
