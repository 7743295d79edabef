"""Gradient steps per second of each built-in learner, against a bare torch loop on the same network.

    python -m rlgen.learn.bench --steps 40 --device cpu
    python -m rlgen.learn.bench --steps 200 --device cuda:0 --sizes paper --synthetic

The data is a small buffer of random-play Procgen frames, or with `--synthetic` random frames
(for machines without Procgen; the speed of a step does not depend on what is in the frames). Each learner is timed through `rlgen.learn.fit` (sampling from the d3rlpy
buffer plus `update`, validation off); the baseline is the IMPALA encoder plus a linear head
trained with cross-entropy on one fixed batch already on the device, i.e. the floor of what
a BC step can cost. `--sizes small` (for CPUs): BC and CQL at batch 32; DT at batch 16 with
2 layers, 4 heads, context 8 (its frames per step are batch x context = 128). `--sizes paper`:
each learner's defaults (BC and CQL batch 256; DT batch 128, 6 layers, 8 heads, context 20).
"""

from __future__ import annotations

import argparse
import tempfile
import time

import d3rlpy
import numpy as np
import torch
from d3rlpy.dataset import Episode, InfiniteBuffer, ReplayBuffer

from rlgen.learn import fit, learner_config, resolve_device
from rlgen.learn.encoders import ImpalaEncoderFactory

SIZES = {
    "small": {
        "bc": {"batch_size": 32},
        "cql": {"batch_size": 32},
        "dt": {"batch_size": 16, "num_layers": 2, "num_heads": 4, "context_size": 8},
    },
    "paper": {"bc": {}, "cql": {}, "dt": {}},
}


def random_play_buffer(game: str = "chaser", num_envs: int = 8, steps: int = 250, seed: int = 0) -> ReplayBuffer:
    """Random-play episodes, cut at `steps` (unfinished ones end as timeouts)."""
    from rlgen_envs import ProcgenVecEnv

    env = ProcgenVecEnv(game, num_envs=num_envs, start_level=0, num_levels=10, seed=seed)
    obs, _ = env.reset()
    rng = np.random.default_rng(seed)
    frames, actions, rewards = [], [], []
    starts = [0] * num_envs
    episodes = []
    for t in range(steps):
        act = rng.integers(0, 15, num_envs)
        frames.append(obs)
        actions.append(act)
        obs, rew, term, trunc, _ = env.step(act)
        rewards.append(rew)
        for i in np.flatnonzero(term | trunc):
            episodes.append((i, starts[i], t + 1, bool(term[i])))
            starts[i] = t + 1
    episodes += [(i, starts[i], steps, False) for i in range(num_envs) if steps - starts[i] > 1]
    env.close()
    f, a, r = np.stack(frames), np.stack(actions), np.stack(rewards)
    return ReplayBuffer(
        InfiniteBuffer(),
        episodes=[
            Episode(
                np.ascontiguousarray(f[s:e, i].transpose(0, 3, 1, 2)),
                a[s:e, i].astype(np.int64)[:, None],
                r[s:e, i].astype(np.float32)[:, None],
                terminated=term,
            )
            for i, s, e, term in episodes
        ],
        action_space=d3rlpy.ActionSpace.DISCRETE,
        action_size=15,
    )


def synthetic_buffer(num_episodes: int = 8, length: int = 250, seed: int = 0) -> ReplayBuffer:
    rng = np.random.default_rng(seed)
    return ReplayBuffer(
        InfiniteBuffer(),
        episodes=[
            Episode(
                rng.integers(0, 256, (length, 3, 64, 64), dtype=np.uint8),
                rng.integers(0, 15, (length, 1)),
                rng.random((length, 1), dtype=np.float32),
                terminated=False,
            )
            for _ in range(num_episodes)
        ],
        action_space=d3rlpy.ActionSpace.DISCRETE,
        action_size=15,
    )


def bare_torch_steps_per_second(device: str, batch_size: int = 32, steps: int = 40) -> float:
    torch.manual_seed(0)
    encoder = ImpalaEncoderFactory().create((3, 64, 64))
    net = torch.nn.Sequential(encoder, torch.nn.Linear(256, 15)).to(device)
    optim = torch.optim.Adam(net.parameters(), lr=5e-4)
    x = torch.randint(0, 256, (batch_size, 3, 64, 64), dtype=torch.uint8, device=device)
    y = torch.randint(0, 15, (batch_size,), device=device)

    def step() -> None:
        optim.zero_grad()
        torch.nn.functional.cross_entropy(net(x.float() / 255.0), y).backward()
        optim.step()

    for _ in range(3):
        step()
    _sync(device)
    start = time.perf_counter()
    for _ in range(steps):
        step()
    _sync(device)
    return steps / (time.perf_counter() - start)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=40, help="timed gradient steps per learner")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--learners", nargs="*", default=["bc", "cql", "dt"])
    parser.add_argument("--sizes", choices=sorted(SIZES), default="small")
    parser.add_argument("--synthetic", action="store_true", help="random frames instead of Procgen")
    args = parser.parse_args(argv)
    device = resolve_device(args.device)
    settings = SIZES[args.sizes]
    buffer = synthetic_buffer() if args.synthetic else random_play_buffer()
    print(f"device {device}, torch threads {torch.get_num_threads()}, buffer {buffer.transition_count} transitions")
    base_batch = 32 if args.sizes == "small" else 256
    base = bare_torch_steps_per_second(device, batch_size=base_batch, steps=args.steps)
    print(f"{f'bare torch (IMPALA + linear, CE, batch {base_batch})':62s} {base:8.2f} steps/s")
    with tempfile.TemporaryDirectory() as tmp:
        for algo in args.learners:
            params = {**settings[algo], "steps": 3, "validate_every": 0}
            for name in ("warm-up", "timed"):
                config = learner_config(algo, params)
                trained = fit(config, buffer, seed=0, device=device, out_dir=f"{tmp}/{algo}-{name}", show_progress=False)
                params["steps"] = args.steps
            rate = trained.steps / trained.train_seconds
            label = f"{algo} ({', '.join(f'{k} {v}' for k, v in settings[algo].items()) or 'defaults'})"
            print(f"{label:62s} {rate:8.2f} steps/s  ({rate / base:.2f}x bare torch)")


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


if __name__ == "__main__":
    main()
