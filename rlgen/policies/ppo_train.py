"""Training PPO experts with RLlib on Procgen training levels; the only module that needs RLlib.

RLlib stack: the *new* API stack (RLModule + Learner + EnvRunner), with `ImpalaPPOModule`, a
custom `TorchRLModule` around `PPONetwork` (`rlgen.policies.ppo_policy`: the shared IMPALA
ResNet plus policy and value heads). The new stack is RLlib 2.48's default and its old ModelV2
stack is deprecated; the custom module needs only `_forward` and `compute_values`, and its
weights come back from the learner group as plain arrays, which is what rlgen's own checkpoints
need (`rlgen.policies.ppo_checkpoints`). Every checkpoint records its returns measured with
`play_levels`, the evaluator's pinned loop, on the first `eval_levels` training levels and the
first `eval_levels` validation levels, actions sampled as the behaviour policy samples them. A
rerun with the same settings resumes from the latest checkpoint (network weights restored; the
optimizer's moments start afresh, which the run record notes). RLlib itself is imported inside
the functions that build the algorithm, so importing this module costs no Ray.

Differences from the paper's PPO (OpenAI baselines' ppo2 as in Cobbe et al.): no reward
normalization and no value-function clipping by the old value (RLlib clips the value loss at
`vf_clip_param`, set high here so large returns keep their gradient); gradient norm clipped at
0.5 as in baselines.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from rlgen.core.config import RayConfig
from rlgen.core.device import check_device, resolve_device
from rlgen.core.games import NUM_ACTIONS
from rlgen.core.levels import DEFAULT_VALIDATION_START
from rlgen.core.typed import ConfigError
from rlgen.data.atomic import atomic_write_bytes
from rlgen.policies.base import RandomPolicy
from rlgen.policies.ppo_checkpoints import (
    CHECKPOINTS_DIR,
    MODEL_FILE,
    RUN_JSON,
    CheckpointInfo,
    list_checkpoints,
    save_checkpoint,
)
from rlgen.policies.ppo_policy import PPOPolicy, build_network
from rlgen.policies.ppo_settings import PPOSettings
from rlgen.policies.skill import play_levels

__all__ = ["random_returns", "train_ppo"]

VALUE_CHUNK = 256
"""Frames per forward pass when RLlib asks for values without gradients (bounds the learner's memory)."""


def _module_class():
    """`ImpalaPPOModule`, defined lazily so that importing this file does not import RLlib."""
    from ray.rllib.core.columns import Columns
    from ray.rllib.core.rl_module.apis import ValueFunctionAPI
    from ray.rllib.core.rl_module.torch import TorchRLModule
    from ray.rllib.models.torch.torch_distributions import TorchCategorical

    class ImpalaPPOModule(TorchRLModule, ValueFunctionAPI):
        """RLlib's view of `PPONetwork`; `model_config`: channels, feature_size."""

        def setup(self) -> None:
            cfg = self.model_config or {}
            self.net = build_network(cfg.get("channels", (16, 32, 32)), cfg.get("feature_size", 256), self.action_space.n)
            self.action_dist_cls = TorchCategorical

        def _forward(self, batch: dict, **kwargs: Any) -> dict:
            h = self.net.features(batch[Columns.OBS])
            return {Columns.ACTION_DIST_INPUTS: self.net.pi(h), Columns.EMBEDDINGS: h}

        def compute_values(self, batch: dict, embeddings: Any = None):
            if embeddings is not None:
                return self.net.vf(embeddings).squeeze(-1)
            obs = batch[Columns.OBS]
            if torch.is_grad_enabled() or len(obs) <= VALUE_CHUNK:
                return self.net.vf(self.net.features(obs)).squeeze(-1)
            # The learner's advantage estimation asks for the values of the whole train batch at
            # once (16,384 frames): in one pass the IMPALA activations alone took over 10 GB of RAM.
            return torch.cat([self.net.vf(self.net.features(obs[i : i + VALUE_CHUNK])).squeeze(-1)
                              for i in range(0, len(obs), VALUE_CHUNK)])  # fmt: skip

    return ImpalaPPOModule


def _make_env_class():
    import gymnasium
    from gymnasium import spaces

    class ProcgenSingleEnv(gymnasium.Env):
        """One Procgen game on levels [start, start + count) for RLlib's env runners.

        A one-slot `rlgen_envs.ProcgenVecEnv` (Procgen resets itself: the frame that comes with
        an episode's last reward is already the next episode's first, so `reset` hands it out
        instead of rebuilding the game). Seeded by the first `reset(seed=...)`.
        """

        metadata = {"render_modes": []}

        def __init__(self, config: dict) -> None:
            self.config = dict(config)
            self.observation_space = spaces.Box(0, 255, (64, 64, 3), np.uint8)
            self.action_space = spaces.Discrete(NUM_ACTIONS)
            self._env = None
            self._next_obs: np.ndarray | None = None

        def reset(self, *, seed: int | None = None, options: dict | None = None):
            from rlgen_envs import ProcgenVecEnv

            if self._env is None or seed is not None:
                if self._env is not None:
                    self._env.close()
                c = self.config
                self._env = ProcgenVecEnv(c["game"], 1, c["start_level"], c["num_levels"], c["mode"],
                                          seed=int(seed if seed is not None else c.get("seed", 0)))  # fmt: skip
                obs, _ = self._env.reset()
                self._next_obs = obs[0]
            obs, self._next_obs = self._next_obs, None
            if obs is None:  # reset without a finished episode: start a fresh game on the same seed stream
                obs = self._env.reset()[0][0]
            return obs, {}

        def step(self, action):
            obs, reward, terminated, truncated, _ = self._env.step(np.array([int(action)]))
            done = bool(terminated[0] or truncated[0])
            if done:
                self._next_obs = obs[0]
            return obs[0], float(reward[0]), bool(terminated[0]), bool(truncated[0]), {}

        def close(self) -> None:
            if self._env is not None:
                self._env.close()
                self._env = None

    return ProcgenSingleEnv


def _evaluate_network(net, settings: PPOSettings, seed: int) -> dict:
    """Mean return of the network (sampled actions) on the first training and validation levels."""
    class _Wrapped(PPOPolicy):
        def __init__(self) -> None:  # the live network, no file round trip
            self.net, self.greedy, self.device = net, False, torch.device("cpu")
            self.generator = torch.Generator().manual_seed(seed)

    out = {}
    n = settings.eval_levels
    threads = torch.get_num_threads()
    # One thread: small batches gain nothing from more, and on a loaded machine spinning
    # OpenMP threads made this loop 20x slower (measured on the shared 2-core box).
    torch.set_num_threads(1)
    try:
        for split, levels in (("train", range(min(n, settings.train_levels))), ("validation", range(DEFAULT_VALIDATION_START, DEFAULT_VALIDATION_START + n))):
            out[split] = _play_split(_Wrapped(), settings, list(levels), seed)
    finally:
        torch.set_num_threads(threads)
    return out


def _play_split(policy, settings: PPOSettings, levels: list, seed: int) -> dict:
    stats = play_levels(policy, settings.game, levels, mode=settings.mode, episodes_per_level=settings.eval_episodes_per_level,
                        num_envs=settings.eval_envs, seed=seed)  # fmt: skip
    return {**stats.summary(), "returns": stats.returns.tolist(), "levels": stats.levels.tolist(), "return_std": float(stats.returns.std())}


def random_returns(settings: PPOSettings, seed: int = 0) -> dict:
    """The random policy on the same evaluation levels (the floor beside each checkpoint)."""
    n = settings.eval_levels
    out = {}
    for split, levels in (("train", range(min(n, settings.train_levels))), ("validation", range(DEFAULT_VALIDATION_START, DEFAULT_VALIDATION_START + n))):
        stats = play_levels(RandomPolicy(seed), settings.game, list(levels), mode=settings.mode,
                            episodes_per_level=settings.eval_episodes_per_level, num_envs=settings.eval_envs, seed=seed)  # fmt: skip
        out[split] = {"mean_return": float(stats.returns.mean()), "episodes": int(len(stats.returns))}
    return out


def _algo_config(settings: PPOSettings, device: str, seed_offset: int = 0):
    """RLlib's PPOConfig for `settings`; `seed_offset` (the iteration a resumed run starts from)
    keeps a resumed run from replaying the environment seeds it began with."""
    from ray.rllib.algorithms.ppo import PPOConfig
    from ray.rllib.core.rl_module.rl_module import RLModuleSpec
    from ray.tune.registry import register_env

    env_class = _make_env_class()
    register_env("rlgen_procgen", lambda ctx: env_class(dict(ctx)))
    runners = settings.num_env_runners
    gpus = 1 if device.startswith("cuda") else 0
    config = (
        PPOConfig()
        .environment("rlgen_procgen", env_config={"game": settings.game, "mode": settings.mode, "start_level": 0,
                                                 "num_levels": settings.train_levels, "seed": settings.seed})  # fmt: skip
        .framework("torch")
        .env_runners(
            num_env_runners=runners,
            num_envs_per_env_runner=settings.num_envs // max(runners, 1),
            num_cpus_per_env_runner=1,
            rollout_fragment_length="auto",
            # RLlib's default (60 s) drops a whole iteration's samples when an env runner is slower
            # than that (it was, on a loaded 2-core machine): wait longer, but not forever (a
            # runner killed by Ray's memory monitor would otherwise hang the driver).
            sample_timeout_s=900.0,
        )
        .learners(num_learners=settings.num_learners, num_gpus_per_learner=gpus)
        .rl_module(rl_module_spec=RLModuleSpec(module_class=_module_class(),
                                               model_config={"channels": list(settings.channels), "feature_size": settings.feature_size}))  # fmt: skip
        .training(
            train_batch_size_per_learner=settings.batch_size,
            minibatch_size=settings.minibatch_size,
            num_epochs=settings.epochs,
            lr=settings.lr,
            gamma=settings.gamma,
            lambda_=settings.lam,
            clip_param=settings.clip,
            entropy_coeff=settings.entropy,
            vf_loss_coeff=settings.vf_coef,
            vf_clip_param=settings.vf_clip,
            grad_clip=settings.grad_clip,
            grad_clip_by="global_norm",
            use_kl_loss=False,
        )
        .fault_tolerance(restart_failed_env_runners=False)
        .debugging(seed=settings.seed + 7919 * seed_offset, log_level="ERROR")
        .reporting(metrics_num_episodes_for_smoothing=100)
    )
    return config


def _learner_state_dict(algo) -> dict:
    """The learner's module weights as torch tensors, keys as in `PPONetwork` (no `net.` prefix)."""
    from ray.rllib.core import DEFAULT_MODULE_ID

    weights = algo.learner_group.get_weights(module_ids=[DEFAULT_MODULE_ID])[DEFAULT_MODULE_ID]
    return {k.removeprefix("net."): torch.as_tensor(np.asarray(v)) for k, v in weights.items()}


def _load_into_algo(algo, state_dict: dict) -> None:
    from ray.rllib.core import DEFAULT_MODULE_ID

    weights = {f"net.{k}": v.numpy() for k, v in state_dict.items()}
    algo.learner_group.set_weights({DEFAULT_MODULE_ID: weights})
    algo.env_runner_group.sync_weights(from_worker_or_learner_group=algo.learner_group, inference_only=True)


def _run_identity(settings: PPOSettings) -> dict:
    """What must match for a rerun to resume a run (everything but the step budget and bookkeeping)."""
    d = settings.to_dict()
    for key in ("total_env_steps", "checkpoint_every", "num_env_runners", "num_learners"):
        d.pop(key)
    return d


def train_ppo(settings: PPOSettings, out_dir: str | Path, *, device: str = "cpu", address: str | None = None,
              num_cpus: int | None = None, progress: bool = True, log=print) -> list[CheckpointInfo]:  # fmt: skip
    """Train PPO on levels [0, train_levels) and write checkpoints under `out_dir/checkpoints/`.

    A rerun into the same `out_dir` resumes from its latest checkpoint when the settings match
    (a larger `total_env_steps` extends the run); different settings are refused. Returns the
    run's checkpoints.
    """
    from rlgen.ray_session import ray_session  # deferred: Ray

    out = Path(out_dir)
    run_json = out / RUN_JSON
    check_device(device)
    resume_from: CheckpointInfo | None = None
    if run_json.exists():
        previous = json.loads(run_json.read_text())
        if _run_identity(PPOSettings.from_dict(previous["settings"])) != _run_identity(settings):
            changed = sorted(k for k, v in _run_identity(settings).items() if _run_identity(PPOSettings.from_dict(previous["settings"]))[k] != v)
            raise ConfigError(f"{out} holds a PPO run with different settings ({', '.join(changed)}); choose another --out to start a new run")
        done = list_checkpoints(out)
        if done:
            resume_from = done[-1]
            if resume_from.env_steps >= settings.total_env_steps:
                log(f"{out}: already trained to {resume_from.env_steps} env steps (>= {settings.total_env_steps}); nothing to do")
                return done
    out.mkdir(parents=True, exist_ok=True)
    for stale in (out / CHECKPOINTS_DIR).glob(".tmp-*") if (out / CHECKPOINTS_DIR).is_dir() else ():
        shutil.rmtree(stale, ignore_errors=True)
    if device == "auto" or settings.num_learners == 0:  # remote learners (a cluster) may see GPUs this process does not
        device = resolve_device(device)
    random_ref = random_returns(settings, settings.seed)
    run_record = {"settings": settings.to_dict(), "random": random_ref, "device": device,
                  "resumed_from": [] if resume_from is None else [*json.loads(run_json.read_text()).get("resumed_from", []), resume_from.env_steps],
                  "note": "resuming restores network weights only; the optimizer's moments restart"}  # fmt: skip
    atomic_write_bytes(run_json, json.dumps(run_record, indent=1).encode())
    log(f"PPO {settings.game} ({settings.mode}), levels [0, {settings.train_levels}), {settings.total_env_steps} env steps, "
        f"batch {settings.batch_size} ({settings.num_envs} envs x {settings.rollout_length}), device {device}; "
        f"random policy: train {random_ref['train']['mean_return']:.2f}, validation {random_ref['validation']['mean_return']:.2f}")  # fmt: skip

    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    ray_config = RayConfig(address=address, num_cpus=num_cpus)
    if device == "cpu" and address is None and "OMP_NUM_THREADS" not in os.environ:
        # The learner runs in this process beside `num_env_runners` sampling actors on the same
        # cores: give it the rest, not all (oversubscribed OpenMP threads were 20x slower here).
        # An explicit OMP_NUM_THREADS wins (on a machine shared with other jobs, 1 is best).
        cores = num_cpus or os.cpu_count() or 1
        torch.set_num_threads(max(1, cores - settings.num_env_runners))
    with ray_session(ray_config, address):
        from ray.tune.logger import NoopLogger

        logs = out / "rllib"  # RLlib's own result loggers write nothing (rlgen logs each iteration itself)
        algo = _algo_config(settings, device, 0 if resume_from is None else resume_from.iteration).build_algo(logger_creator=lambda cfg: NoopLogger(cfg, str(logs)))
        try:
            base_steps, base_iter = 0, 0
            if resume_from is not None:
                _load_into_algo(algo, torch.load(resume_from.path / MODEL_FILE, map_location="cpu", weights_only=True))
                base_steps, base_iter = resume_from.env_steps, resume_from.iteration
                log(f"resuming from {resume_from.path} ({base_steps} env steps)")
            started = time.perf_counter()
            iteration, steps = base_iter, base_steps
            last_saved = base_iter
            while steps < settings.total_env_steps:
                result = algo.train()
                iteration += 1
                runners = result.get("env_runners", {})
                previous, steps = steps, base_steps + int(runners.get("num_env_steps_sampled_lifetime", 0))
                if steps <= previous:
                    log(f"iter {iteration:4d}  no new samples this iteration (an env runner failed or timed out)")
                elapsed = time.perf_counter() - started
                ret = runners.get("episode_return_mean", float("nan"))
                if progress:
                    log(f"iter {iteration:4d}  env steps {steps:>10d}/{settings.total_env_steps}  "
                        f"{(steps - base_steps) / max(elapsed, 1e-9):7.0f} steps/s  episode return (train levels, sampling) {ret:7.2f}")  # fmt: skip
                final = steps >= settings.total_env_steps
                if final or (iteration - base_iter) % settings.checkpoint_every == 0:
                    _checkpoint(algo, settings, out, steps, iteration, elapsed, ret, log)
                    last_saved = iteration
            del last_saved
        finally:
            algo.stop()
    return list_checkpoints(out)


def _checkpoint(algo, settings: PPOSettings, out: Path, steps: int, iteration: int, elapsed: float, sampled_return: float, log) -> Path:
    state = _learner_state_dict(algo)
    net = build_network(settings.channels, settings.feature_size)
    net.load_state_dict(state)
    net.eval()
    t0 = time.perf_counter()
    measured = _evaluate_network(net, settings, seed=settings.seed + 12345)
    record = {
        "env_steps": steps, "iteration": iteration, "wall_seconds": round(elapsed, 1),
        "sampling_episode_return_mean": None if sampled_return is None or not math.isfinite(sampled_return) else float(sampled_return),
        "train": measured["train"], "validation": measured["validation"], "settings": settings.to_dict(),
        "eval_seconds": round(time.perf_counter() - t0, 1),
    }  # fmt: skip
    path = save_checkpoint(out, state, record)
    log(f"checkpoint {path}: mean return train {measured['train']['mean_return']:.2f}, validation "
        f"{measured['validation']['mean_return']:.2f} ({settings.eval_levels} levels each)")  # fmt: skip
    return path
