"""Target 4, training overhead: a d3rlpy BC gradient step against a bare torch step, same network, same batch.

    .venv/bin/python bench/bench_training.py                       # CPU, about 1 minute
    .venv/bin/python bench/bench_training.py --device cuda:0 --sizes paper --synthetic --steps 200

The target (in one command, interleaved so that the machine's load falls on both sides alike):

- d3rlpy: `DiscreteBC.update(batch)` with rlgen's IMPALA encoder (16/32/32, 256 features),
  `PixelObservationScaler` and beta 0, exactly as `rlgen train` builds it (`BCConfig`), on one
  minibatch sampled once from the buffer: d3rlpy's numpy-to-torch conversion, scaling, forward,
  loss, backward and Adam step.
- bare torch: the same encoder (`ImpalaEncoderFactory`) and a linear head to 15 logits, on the
  same minibatch's numpy arrays each step: uint8 to float / 255, log-softmax, NLL, backward,
  Adam (same learning rate).

Overhead = bare steps/s / d3rlpy steps/s. Beside it, for context (not the target): the cost
of sampling a minibatch from the d3rlpy buffer, and the whole training loop of each built-in
learner (`rlgen.learn.fit`: sampling plus update, validation off) against the bare step. The
buffer holds random-play Procgen frames, or with `--synthetic` random frames (machines without
Procgen; a step's cost does not depend on the pixels). `--sizes small` (CPU): BC and CQL at
batch 32, DT at batch 16 with 2 layers, 4 heads, context 8. `--sizes paper`: each learner's
defaults (BC and CQL batch 256; DT batch 128, 6 layers, 8 heads, context 20). `--sizes quickstart`:
the learners and encoder of configs/quickstart.yaml. Samples/s = steps/s x batch (x context for DT).
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

from bench.common import Table, Target, at_most, print_targets, round_sig, write_result

TARGET = 1.25
SIZES = {
    "small": {
        "bc": {"batch_size": 32},
        "cql": {"batch_size": 32},
        "dt": {"batch_size": 16, "num_layers": 2, "num_heads": 4, "context_size": 8},
    },
    "paper": {"bc": {}, "cql": {}, "dt": {}},
}
QUICKSTART = Path(__file__).resolve().parents[1] / "configs" / "quickstart.yaml"


def quickstart_sizes() -> tuple[dict, list[int]]:
    """Each quickstart learner's settings except `steps` (read from configs/quickstart.yaml, so
    the figures follow the config), and its encoder channels."""
    from rlgen.core.config import load_config

    config = load_config(QUICKSTART)
    sizes = {spec.algo: {k: v for k, v in spec.params.items() if k not in ("steps", "encoder_channels")} for spec in config.learners}
    channels = {tuple(spec.params.get("encoder_channels", (16, 32, 32))) for spec in config.learners}
    return sizes, list(channels.pop()) if len(channels) == 1 else [16, 32, 32]


def samples_per_step(params: dict) -> int:
    """Transitions one gradient step consumes: the batch, times the context for a sequence model."""
    return int(params.get("batch_size", 256)) * int(params.get("context_size", 1))


def random_play_buffer(game: str = "chaser", num_envs: int = 8, steps: int = 250, seed: int = 0):
    """A d3rlpy buffer of random-play episodes, cut at `steps` (unfinished ones end as timeouts)."""
    import d3rlpy
    from d3rlpy.dataset import Episode, InfiniteBuffer, ReplayBuffer

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


def synthetic_buffer(num_episodes: int = 8, length: int = 250, seed: int = 0):
    import d3rlpy
    from d3rlpy.dataset import Episode, InfiniteBuffer, ReplayBuffer

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


class BareStep:
    """IMPALA encoder + linear head, cross-entropy, Adam: the floor of what a BC step can cost."""

    def __init__(self, device: str, channels: list[int], learning_rate: float, seed: int = 0) -> None:
        import torch

        from rlgen.learn.encoders import ImpalaEncoderFactory

        torch.manual_seed(seed)
        encoder = ImpalaEncoderFactory(channels=channels).create((3, 64, 64))
        self.net = torch.nn.Sequential(encoder, torch.nn.Linear(encoder.fc.out_features, 15)).to(device)
        self.optim = torch.optim.Adam(self.net.parameters(), lr=learning_rate)
        self.device = device

    def __call__(self, observations: np.ndarray, actions: np.ndarray) -> float:
        import torch
        import torch.nn.functional as F

        x = torch.from_numpy(observations).to(self.device).float() / 255.0
        y = torch.from_numpy(actions).to(self.device).long().view(-1)
        self.optim.zero_grad()
        loss = F.nll_loss(F.log_softmax(self.net(x), dim=1), y)
        loss.backward()
        self.optim.step()
        return float(loss.item())


def update_overhead(buffer, device: str, batch_size: int, steps: int, rounds: int, channels: list[int]) -> dict:
    """Interleaved rounds of d3rlpy `update` and the bare step on one fixed minibatch."""
    import d3rlpy
    import torch

    from rlgen.learn.base import FRAME_SHAPE
    from rlgen.learn.bc import BCConfig

    config = BCConfig(batch_size=batch_size, encoder_channels=tuple(channels), validate_every=0)
    d3rlpy.seed(0)
    algo = config.to_d3rlpy().create(device=device)
    algo.create_impl(FRAME_SHAPE, 15)
    bare = BareStep(device, channels, config.learning_rate)
    batch = buffer.sample_transition_batch(batch_size)
    observations = np.asarray(batch.observations)
    actions = np.asarray(batch.actions)

    def timed(fn, n: int) -> tuple[float, float]:
        """(wall seconds, CPU seconds of this process) of `n` calls."""
        _sync(device)
        wall, cpu = time.perf_counter(), time.process_time()
        for _ in range(n):
            fn()
        _sync(device)
        return time.perf_counter() - wall, time.process_time() - cpu

    d3_step = lambda: algo.update(batch)  # noqa: E731
    bare_step = lambda: bare(observations, actions)  # noqa: E731
    timed(d3_step, 2), timed(bare_step, 2)  # warm-up
    per_round = max(1, steps // rounds)
    d3 = np.zeros(2)
    base = np.zeros(2)
    for r in range(rounds):
        if r % 2 == 0:
            d3 += timed(d3_step, per_round)
            base += timed(bare_step, per_round)
        else:
            base += timed(bare_step, per_round)
            d3 += timed(d3_step, per_round)
    n = per_round * rounds
    sample_seconds, _ = timed(lambda: buffer.sample_transition_batch(batch_size), n)
    return {
        "batch_size": batch_size,
        "steps_each": n,
        "d3rlpy_steps_per_second": n / d3[0],
        "bare_steps_per_second": n / base[0],
        "overhead": d3[0] / base[0],
        "overhead_cpu_time": d3[1] / base[1],  # the same, in this process's CPU time: less sensitive to other load
        "sample_ms_per_batch": 1e3 * sample_seconds / n,
        "torch_threads": torch.get_num_threads(),
    }


def learner_rates(buffer, device: str, sizes: dict, learners: list[str], steps: int, channels: list[int]) -> dict:
    """Gradient steps/s of each learner's whole training loop (`rlgen.learn.fit`), validation off."""
    from rlgen.learn import fit, learner_config

    rates = {}
    with tempfile.TemporaryDirectory() as tmp:
        for algo in learners:
            params = {**sizes[algo], "encoder_channels": channels, "steps": 3, "validate_every": 0}
            for name in ("warm-up", "timed"):
                config = learner_config(algo, params)
                trained = fit(config, buffer, seed=0, device=device, out_dir=f"{tmp}/{algo}-{name}", show_progress=False)
                params["steps"] = steps
            rates[algo] = trained.steps / trained.train_seconds
    return rates


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=40, help="timed steps per side (target) and per learner")
    parser.add_argument("--rounds", type=int, default=8, help="alternations of the two sides")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (a training task gets one CPU)")
    parser.add_argument("--learners", nargs="*", default=["bc", "cql", "dt"], help="whole-loop figures; none to skip")
    parser.add_argument("--learner-steps", type=int, default=20)
    parser.add_argument("--sizes", choices=[*sorted(SIZES), "quickstart"], default="small",
                        help="quickstart: configs/quickstart.yaml's learners and encoder (overrides --channels)")
    parser.add_argument("--channels", type=int, nargs=3, default=[16, 32, 32])
    parser.add_argument("--synthetic", action="store_true", help="random frames instead of Procgen")
    parser.add_argument("--results-dir", type=Path, default=None)
    args = parser.parse_args(argv)
    import torch

    from rlgen.learn import resolve_device

    load_start = os.getloadavg()
    torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    buffer = synthetic_buffer() if args.synthetic else random_play_buffer()
    sizes = SIZES.get(args.sizes)
    if args.sizes == "quickstart":
        sizes, args.channels = quickstart_sizes()
        args.learners = [a for a in args.learners if a in sizes]
    batch = 256 if args.sizes == "paper" else 32
    result = update_overhead(buffer, device, batch, args.steps, args.rounds, args.channels)
    print(
        f"BC update, batch {batch}: d3rlpy {result['d3rlpy_steps_per_second']:.2f} steps/s, bare torch "
        f"{result['bare_steps_per_second']:.2f}; overhead {result['overhead']:.3f}x", flush=True
    )
    rates = learner_rates(buffer, device, sizes, args.learners, args.learner_steps, args.channels)
    base = result["bare_steps_per_second"]
    rows = [[f"bare torch (IMPALA + linear, CE, Adam), batch {batch}", f"{base:.2f}", f"{base * batch:.0f}", "1.00"],
            [f"d3rlpy DiscreteBC update, same batch", f"{result['d3rlpy_steps_per_second']:.2f}",
             f"{result['d3rlpy_steps_per_second'] * batch:.0f}", f"{result['d3rlpy_steps_per_second'] / base:.2f}"]]  # fmt: skip
    samples = {}
    for algo, rate in rates.items():
        label = ", ".join(f"{k} {v}" for k, v in sizes[algo].items() if k in ("batch_size", "context_size", "num_layers", "num_heads")) or "defaults"
        samples[algo] = rate * samples_per_step(sizes[algo])
        rows.append([f"{algo} training loop ({label}), sampling included", f"{rate:.2f}", f"{samples[algo]:.0f}", f"{rate / base:.2f}"])
        print(f"{algo} ({label}): {rate:.2f} steps/s, {samples[algo]:.0f} samples/s ({rate / base:.2f}x bare torch steps)", flush=True)
    met = at_most(result["overhead"], TARGET)
    target = Target(
        what=f"training overhead, d3rlpy BC step vs bare torch ({device}, batch {batch})",
        figure=f"{result['d3rlpy_steps_per_second']:.2f} vs {base:.2f} steps/s",
        ratio=round_sig(result["overhead"]),
        target=f"<= {TARGET}x",
        met=met,
        reason="" if met else "d3rlpy's update does more than the bare step (see the whole-loop rows)",
        close="" if met else "profile d3rlpy's update: batch conversion, loss bookkeeping",
    )
    figures = {"update": result, "learner_steps_per_second": rates, "learner_samples_per_second": samples, "device": device, "sizes": args.sizes,
               "frames": "synthetic" if args.synthetic else "random-play Procgen (chaser, 10 levels)"}  # fmt: skip
    tables = [Table(f"Gradient steps/s ({device}, {result['torch_threads']} torch thread(s), IMPALA {'/'.join(map(str, args.channels))})",
                    ["what", "steps/s", "samples/s", "x bare torch (steps)"], rows)]  # fmt: skip
    notes = [
        f"Target: `DiscreteBC.update` on one fixed minibatch against the bare step on the same arrays, {result['steps_each']} "
        f"steps each in {args.rounds} alternating rounds; in CPU time of the process the overhead is "
        f"{result['overhead_cpu_time']:.3f}x (wall: {result['overhead']:.3f}x). Sampling a batch of {batch} from the d3rlpy buffer costs "
        f"{result['sample_ms_per_batch']:.1f} ms on the CPU (outside the target; inside the training-loop rows).",
    ]
    print_targets([target])
    path = write_result("training", "Training overhead (target 4)", targets=[target], tables=tables, figures=figures,
                        notes=notes, load_start=load_start, results_dir=args.results_dir)  # fmt: skip
    print(f"wrote {path}")
    return figures


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        import torch

        torch.cuda.synchronize()


if __name__ == "__main__":
    main()
