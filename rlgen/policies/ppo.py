"""PPO behaviour policies: training with RLlib on Procgen training levels, checkpoints with
measured returns, and the `ppo` behaviour policy that plays a chosen checkpoint.

The generalization-gap paper's expert (../shared/reference/generalization-gap.md) is PPO trained
25M steps on levels [0, 200) in easy mode, 64 envs x 256 steps, 3 epochs, 8 minibatches,
lr 5e-4, gamma 0.999, lambda 0.95, clip 0.2, entropy 0.01, on an IMPALA ResNet; those are the
defaults of `PPOSettings`. Its skill dial picks the checkpoint whose training-level return is
nearest r x the expert's, and so does `select_checkpoint` here.

RLlib stack: the *new* API stack (RLModule + Learner + EnvRunner), with `ImpalaPPOModule`, a
custom `TorchRLModule` around `PPONetwork` (rlgen's IMPALA encoder from
`rlgen.learn.encoders` plus policy and value heads). The new stack is RLlib 2.48's default and
its old ModelV2 stack is deprecated; the custom module needs only `_forward` and
`compute_values`, and its weights come back from the learner group as plain arrays, which is
what rlgen's own checkpoints need.

Checkpoints are rlgen's own, never RLlib's pickles: `OUT/checkpoints/step_<env_steps>/` holds
`model.pt` (the `PPONetwork` state dict, loadable with `torch.load(..., weights_only=True)`) and
`checkpoint.json` (env steps, iteration, the settings, and the returns measured with
`play_levels`, the evaluator's pinned loop, on the first `eval_levels` training levels and the
first `eval_levels` validation levels, actions sampled as the behaviour policy samples them).
Checkpoints are written to a temporary folder and renamed, so an interrupt leaves every finished
checkpoint intact; a rerun with the same settings resumes from the latest one (network weights
restored; the optimizer's moments start afresh, which the run record notes).

Differences from the paper's PPO (OpenAI baselines' ppo2 as in Cobbe et al.): no reward
normalization and no value-function clipping by the old value (RLlib clips the value loss at
`vf_clip_param`, set high here so large returns keep their gradient); gradient norm clipped at
0.5 as in baselines.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from rlgen.core.games import NUM_ACTIONS
from rlgen.core.typed import ConfigError

CHECKPOINTS_DIR = "checkpoints"
CHECKPOINT_JSON = "checkpoint.json"
MODEL_FILE = "model.pt"
RUN_JSON = "ppo.json"
STEP_PREFIX = "step_"
VALUE_CHUNK = 256
"""Frames per forward pass when RLlib asks for values without gradients (bounds the learner's memory)."""
DEFAULT_SKILL_TOLERANCE = 0.1
"""How far (as a fraction of the expert's return) the nearest checkpoint may be from the target."""


class CheckpointError(ConfigError):
    """A missing or unreadable PPO checkpoint (raised before any work)."""


# -- settings -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PPOSettings:
    """Everything a PPO run depends on; defaults are the generalization-gap paper's.

    Batch per iteration = `num_envs` x `rollout_length` env steps (64 x 256 = 16,384), split into
    `minibatches` minibatches for each of `epochs` passes.
    """

    game: str = "bigfish"
    mode: str = "easy"
    train_levels: int = 200
    """Training levels [0, N)."""
    total_env_steps: int = 25_000_000
    num_envs: int = 64
    """Parallel environments in all (split evenly over the env runners)."""
    rollout_length: int = 256
    epochs: int = 3
    minibatches: int = 8
    lr: float = 5e-4
    gamma: float = 0.999
    lam: float = 0.95
    clip: float = 0.2
    entropy: float = 0.01
    vf_coef: float = 0.5
    vf_clip: float = 1e4
    """RLlib clips the squared value error at this (not the paper's clipping by the old value)."""
    grad_clip: float = 0.5
    channels: tuple[int, ...] = (16, 32, 32)
    feature_size: int = 256
    num_env_runners: int = 1
    """Ray actors stepping environments (CPU); 0 samples in the driver process."""
    num_learners: int = 0
    """0: the learner runs in the driver (on `device`); >= 1: remote learner actors (a cluster)."""
    checkpoint_every: int = 10
    """Iterations between checkpoints (the last iteration always writes one)."""
    eval_levels: int = 20
    """Training levels and validation levels played at each checkpoint (the first ones of each)."""
    eval_episodes_per_level: int = 1
    eval_envs: int = 8
    seed: int = 0

    def __post_init__(self) -> None:
        from rlgen.core.games import GAMES, MODES

        if self.game not in GAMES:
            raise ConfigError(f"unknown Procgen game {self.game!r}; valid games: {', '.join(GAMES)}")
        if self.mode not in MODES:
            raise ConfigError(f"unknown mode {self.mode!r}; valid: {', '.join(MODES)}")
        object.__setattr__(self, "channels", tuple(int(c) for c in self.channels))
        for name in ("train_levels", "total_env_steps", "num_envs", "rollout_length", "epochs", "minibatches",
                     "checkpoint_every", "eval_levels", "eval_episodes_per_level", "eval_envs", "feature_size"):  # fmt: skip
            if int(getattr(self, name)) < 1:
                raise ConfigError(f"ppo {name} must be at least 1, got {getattr(self, name)}")
        if self.num_env_runners < 0 or self.num_learners < 0:
            raise ConfigError("ppo num_env_runners and num_learners must be non-negative")
        runners = max(self.num_env_runners, 1)
        if self.num_envs % runners:
            raise ConfigError(f"ppo num_envs ({self.num_envs}) must be a multiple of num_env_runners ({self.num_env_runners})")
        if self.batch_size % self.minibatches:
            raise ConfigError(f"ppo batch ({self.batch_size} = num_envs x rollout_length) must split into {self.minibatches} minibatches")
        if not 0 < self.gamma <= 1 or not 0 <= self.lam <= 1:
            raise ConfigError("ppo gamma must lie in (0, 1] and lam in [0, 1]")

    @property
    def batch_size(self) -> int:
        return self.num_envs * self.rollout_length

    @property
    def minibatch_size(self) -> int:
        return self.batch_size // self.minibatches

    def to_dict(self) -> dict:
        out = dataclasses.asdict(self)
        out["channels"] = list(self.channels)
        return out

    @classmethod
    def from_dict(cls, data: dict) -> PPOSettings:
        unknown = sorted(set(data) - {f.name for f in dataclasses.fields(cls)})
        if unknown:
            raise ConfigError(f"ppo settings: unknown key(s) {unknown}; valid: {', '.join(f.name for f in dataclasses.fields(cls))}")
        return cls(**data)

    def with_overrides(self, overrides: Sequence[str]) -> PPOSettings:
        """`KEY=VALUE` strings (values parsed as YAML), as `--set` gives them."""
        import yaml

        values = {}
        names = {f.name for f in dataclasses.fields(self)}
        for item in overrides:
            key, sep, raw = item.partition("=")
            if not sep:
                raise ConfigError(f"--set expects KEY=VALUE, got {item!r}")
            if key not in names:
                raise ConfigError(f"--set: unknown PPO setting {key!r}; valid: {', '.join(sorted(names))}")
            values[key] = yaml.safe_load(raw)
        try:
            return dataclasses.replace(self, **values)
        except TypeError as exc:
            raise ConfigError(f"--set: {exc}") from exc


REPO_ROOT = Path(__file__).resolve().parents[2]


def default_run_dir(game: str, mode: str = "easy", train_levels: int = 200) -> Path:
    """Where the catalog's `ppo` cards look for a game's expert: `checkpoints/ppo/<game>-<mode>-L<N>`
    (relative: `resolve_path` tries the working directory, then the repository root)."""
    return Path("checkpoints") / "ppo" / f"{game}-{mode}-L{train_levels}"


def resolve_path(path: str | Path) -> Path:
    """An absolute path as is; a relative one under the working directory when it exists there,
    else under the repository root when it exists there, else as given (for the error message)."""
    p = Path(path)
    if p.is_absolute() or p.exists():
        return p
    return REPO_ROOT / p if (REPO_ROOT / p).exists() else p


def train_command(game: str, mode: str = "easy", train_levels: int = 200, out: str | Path | None = None) -> str:
    """The command that trains the expert at `out` (default: `default_run_dir(game, mode, train_levels)`)."""
    out = Path(out) if out is not None else default_run_dir(game, mode, train_levels)
    return f"rlgen policy train-ppo --game {game} --mode {mode} --train-levels {train_levels} --out {out.as_posix()}"


# -- the network ----------------------------------------------------------------------------------


def _torch():
    import torch

    return torch


def build_network(channels: Sequence[int] = (16, 32, 32), feature_size: int = 256, num_actions: int = NUM_ACTIONS):
    """`PPONetwork`: rlgen's IMPALA encoder, a policy head (logits) and a value head."""
    torch = _torch()
    from torch import nn

    from rlgen.learn.encoders import ImpalaEncoder

    class PPONetwork(nn.Module):
        """(B, 64, 64, 3) uint8 frames -> (B, actions) logits and (B,) values.

        Frames are scaled to [0, 1] and made channel-first inside, so env runners, the behaviour
        policy and the evaluator hand it frames as ProcgenVecEnv emits them.
        """

        def __init__(self) -> None:
            super().__init__()
            self.encoder = ImpalaEncoder((3, 64, 64), list(channels), feature_size)
            self.pi = nn.Linear(feature_size, num_actions)
            self.vf = nn.Linear(feature_size, 1)
            nn.init.orthogonal_(self.pi.weight, gain=0.01)
            nn.init.zeros_(self.pi.bias)
            nn.init.orthogonal_(self.vf.weight, gain=1.0)
            nn.init.zeros_(self.vf.bias)

        def features(self, frames: torch.Tensor) -> torch.Tensor:
            x = frames.permute(0, 3, 1, 2).float() / 255.0
            return self.encoder(x)

        def forward(self, frames: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            h = self.features(frames)
            return self.pi(h), self.vf(h).squeeze(-1)

    return PPONetwork()


def _module_class():
    """`ImpalaPPOModule`, defined lazily so importing this file does not import RLlib."""
    import torch
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


# -- the training env -----------------------------------------------------------------------------


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


# -- checkpoints ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CheckpointInfo:
    """One saved checkpoint: where, after how many env steps, and its measured returns."""

    path: Path
    env_steps: int
    iteration: int
    train_return: float
    validation_return: float
    record: dict = field(repr=False, compare=False, default_factory=dict)

    @classmethod
    def read(cls, path: Path) -> CheckpointInfo:
        path = Path(path)
        meta = path / CHECKPOINT_JSON
        if not meta.exists() or not (path / MODEL_FILE).exists():
            raise CheckpointError(f"{path}: not a PPO checkpoint (needs {CHECKPOINT_JSON} and {MODEL_FILE})")
        record = json.loads(meta.read_text())
        return cls(path, int(record["env_steps"]), int(record["iteration"]), float(record["train"]["mean_return"]),
                   float(record["validation"]["mean_return"]), record)  # fmt: skip

    @property
    def settings(self) -> PPOSettings:
        return PPOSettings.from_dict(self.record["settings"])


def list_checkpoints(run_dir: str | Path) -> list[CheckpointInfo]:
    """A run's finished checkpoints, by env steps (temporary folders of an interrupted write are skipped)."""
    root = Path(run_dir) / CHECKPOINTS_DIR
    if not root.is_dir():
        return []
    found = [CheckpointInfo.read(p) for p in root.iterdir() if p.is_dir() and p.name.startswith(STEP_PREFIX) and (p / CHECKPOINT_JSON).exists()]
    return sorted(found, key=lambda c: c.env_steps)


def resolve_checkpoints(path: str | Path) -> list[CheckpointInfo]:
    """A checkpoint folder (itself) or a run folder (all its checkpoints); an error when none."""
    p = resolve_path(path)
    if (p / CHECKPOINT_JSON).exists():
        return [CheckpointInfo.read(p)]
    if not p.exists():
        hint = ""
        parts = p.parts
        if len(parts) >= 2 and parts[-2] == "ppo":
            game, _, rest = parts[-1].partition("-")
            mode, _, levels = rest.partition("-L")
            if levels.isdigit():
                hint = f"; make it with: {train_command(game, mode, int(levels))}"
        raise CheckpointError(f"no PPO checkpoint at {p}{hint or ' (train one with `rlgen policy train-ppo`)'}")
    found = list_checkpoints(p)
    if not found:
        raise CheckpointError(f"{p}: no finished PPO checkpoints under {p / CHECKPOINTS_DIR} (train with `rlgen policy train-ppo --out {p}`)")
    return found


@dataclass(frozen=True)
class Selection:
    """The checkpoint a skill target picked, and what it achieves relative to the expert."""

    checkpoint: CheckpointInfo
    expert: CheckpointInfo
    target: float | None
    fraction: float
    fraction_ci95: tuple[float, float]

    def stats(self) -> dict:
        return {
            "ppo_checkpoint": str(self.checkpoint.path.resolve()),
            "ppo_env_steps": self.checkpoint.env_steps,
            "ppo_checkpoint_train_return": self.checkpoint.train_return,
            "ppo_expert_checkpoint": str(self.expert.path.resolve()),
            "ppo_expert_train_return": self.expert.train_return,
            "ppo_skill_target": self.target,
            "ppo_skill_fraction": self.fraction,
            "ppo_skill_fraction_ci95": list(self.fraction_ci95),
        }


def _episode_stats(record: dict):
    from rlgen.policies.skill import EpisodeStats

    n = len(record["returns"])
    return EpisodeStats(np.asarray(record["levels"], np.int64), np.asarray(record["returns"], np.float64),
                        np.zeros(n), np.zeros(n, np.int64), np.zeros(n, bool), 0.0)  # fmt: skip


def _fraction(checkpoint: CheckpointInfo, expert: CheckpointInfo) -> tuple[float, tuple[float, float]]:
    from rlgen.policies.skill import fraction_of_expert

    if checkpoint.path == expert.path:
        return 1.0, (1.0, 1.0)
    a, b = checkpoint.record["train"], expert.record["train"]
    if "returns" in a and "returns" in b and a.get("levels") == b.get("levels") and expert.train_return > 0:
        with np.errstate(invalid="ignore", divide="ignore"):  # a resample whose expert mean is 0 drops out as nan
            frac, ci = fraction_of_expert(_episode_stats(a), _episode_stats(b))
        return float(frac), (float(ci[0]), float(ci[1]))
    frac = checkpoint.train_return / expert.train_return if expert.train_return > 0 else float("nan")
    return frac, (float("nan"), float("nan"))


def select_checkpoint(path: str | Path, skill: float | None = None, tolerance: float = DEFAULT_SKILL_TOLERANCE) -> Selection:
    """The checkpoint a `ppo` behaviour plays.

    `path` is a checkpoint folder (played as is when `skill` is None) or a run folder. The expert
    is the run's checkpoint with the highest mean return on the training levels (the paper used
    the final one, which after 25M steps is also the best). With `skill` = r, the checkpoint whose
    recorded training return is nearest r x the expert's is chosen; when even that one is more
    than `tolerance` x the expert's return away, `SkillUnreachableError` names the closest
    achievable fraction (mix with random play, option `mix`, to go below the weakest checkpoint).
    Without `skill`, a run folder plays its final checkpoint.
    """
    from rlgen.policies.skill import SkillUnreachableError

    found = resolve_checkpoints(path)
    expert = max(found, key=lambda c: (c.train_return, c.env_steps))
    if skill is None:
        chosen = found[-1]
        frac, ci = _fraction(chosen, expert)
        return Selection(chosen, expert, None, frac, ci)
    skill = float(skill)
    if not 0.0 <= skill:
        raise ConfigError(f"ppo skill must be a non-negative fraction of the expert's return, got {skill}")
    if expert.train_return <= 0:
        raise SkillUnreachableError(
            f"{path}: the best checkpoint's training return is {expert.train_return:.3f}, so no fraction of it is defined; train longer"
        )
    fractions = [c.train_return / expert.train_return for c in found]
    best = int(np.argmin([abs(f - skill) for f in fractions]))
    if abs(fractions[best] - skill) > tolerance:
        raise SkillUnreachableError(
            f"{path}: skill {skill:g} x the expert's training return ({expert.train_return:.2f}) is out of reach: the closest "
            f"checkpoint ({found[best].path.name}) reaches {fractions[best]:.3f} (tolerance {tolerance:g}); achievable fractions: "
            + ", ".join(f"{f:.2f}" for f in sorted(set(round(f, 2) for f in fractions)))
        )
    frac, ci = _fraction(found[best], expert)
    return Selection(found[best], expert, skill, frac, ci)


# -- the behaviour policy -------------------------------------------------------------------------


class PPOPolicy:
    """A saved `PPONetwork` acting on (n, 64, 64, 3) uint8 frames, one batched forward per step.

    Actions are sampled from the policy's distribution (the paper collected with sampled actions),
    from a seeded torch generator; `greedy=True` takes the arg-max instead. `stats` describes the
    checkpoint (collection records it in each shard's stats).
    """

    def __init__(self, checkpoint: str | Path, seed: int = 0, greedy: bool = False, device: str = "cpu", stats: dict | None = None) -> None:
        torch = _torch()
        info = CheckpointInfo.read(Path(checkpoint))
        settings = info.settings
        self.device = torch.device(_resolve_device(device))
        self.net = build_network(settings.channels, settings.feature_size)
        state = torch.load(info.path / MODEL_FILE, map_location="cpu", weights_only=True)
        self.net.load_state_dict(state)
        self.net.to(self.device).eval()
        self.greedy = greedy
        self.generator = torch.Generator(device=self.device)
        self.generator.manual_seed(int(seed))
        self.checkpoint = info
        self.stats = dict(stats or {"ppo_checkpoint": str(info.path), "ppo_env_steps": info.env_steps})

    def act(self, observations: np.ndarray) -> np.ndarray:
        torch = _torch()
        with torch.inference_mode():
            frames = torch.from_numpy(np.ascontiguousarray(observations)).to(self.device)
            logits, _ = self.net(frames)
            if self.greedy:
                actions = logits.argmax(-1)
            else:
                actions = torch.multinomial(torch.softmax(logits.float(), -1), 1, generator=self.generator).squeeze(-1)
        return actions.cpu().numpy().astype(np.int64)


def _resolve_device(device: str) -> str:
    torch = _torch()
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


def make_ppo_policy(seed: int, checkpoint: str | None = None, skill: float | None = None, greedy: bool = False,
                    tolerance: float = DEFAULT_SKILL_TOLERANCE, device: str = "cpu", game: str | None = None) -> PPOPolicy:  # fmt: skip
    """The registry's `ppo` factory (options: `checkpoint`, `skill`, `greedy`, `tolerance`, `device`)."""
    if not checkpoint:
        raise ConfigError("behaviour ppo needs collect.policy.options.checkpoint (a checkpoint or run folder)")
    selection = select_checkpoint(checkpoint, skill, tolerance)
    played = selection.checkpoint.settings
    if game is not None and played.game != game:
        raise ConfigError(f"{checkpoint}: the PPO checkpoint plays {played.game}, not {game}")
    return PPOPolicy(selection.checkpoint.path, seed=seed, greedy=greedy, device=device, stats=selection.stats())


def check_ppo_options(options: dict, game: str) -> None:
    """Before any work: the checkpoint exists, plays `game`, and the skill target is reachable."""
    checkpoint = options.get("checkpoint")
    if not checkpoint:
        raise ConfigError("behaviour ppo needs collect.policy.options.checkpoint (a checkpoint or run folder)")
    unknown = sorted(set(options) - {"checkpoint", "skill", "greedy", "tolerance", "device", "mix"})
    if unknown:
        raise ConfigError(f"collect.policy.options for 'ppo': unknown option(s) {unknown}; valid: checkpoint, skill, greedy, tolerance, device, mix")
    selection = select_checkpoint(checkpoint, options.get("skill"), float(options.get("tolerance", DEFAULT_SKILL_TOLERANCE)))
    played = selection.checkpoint.settings
    if played.game != game:
        raise ConfigError(f"{checkpoint}: the PPO checkpoint plays {played.game}, not {game}")


# -- training -------------------------------------------------------------------------------------


def _evaluate_network(net, settings: PPOSettings, seed: int) -> dict:
    """Mean return of the network (sampled actions) on the first training and validation levels."""
    from rlgen.core.levels import DEFAULT_VALIDATION_START

    class _Wrapped(PPOPolicy):
        def __init__(self) -> None:  # the live network, no file round trip
            torch = _torch()
            self.net, self.greedy, self.device = net, False, torch.device("cpu")
            self.generator = torch.Generator().manual_seed(seed)

    out = {}
    n = settings.eval_levels
    torch = _torch()
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
    from rlgen.policies.skill import play_levels

    stats = play_levels(policy, settings.game, levels, mode=settings.mode, episodes_per_level=settings.eval_episodes_per_level,
                        num_envs=settings.eval_envs, seed=seed)  # fmt: skip
    return {**stats.summary(), "returns": stats.returns.tolist(), "levels": stats.levels.tolist(), "return_std": float(stats.returns.std())}


def random_returns(settings: PPOSettings, seed: int = 0) -> dict:
    """The random policy on the same evaluation levels (the floor beside each checkpoint)."""
    from rlgen.core.levels import DEFAULT_VALIDATION_START
    from rlgen.policies.base import RandomPolicy
    from rlgen.policies.skill import play_levels

    n = settings.eval_levels
    out = {}
    for split, levels in (("train", range(min(n, settings.train_levels))), ("validation", range(DEFAULT_VALIDATION_START, DEFAULT_VALIDATION_START + n))):
        stats = play_levels(RandomPolicy(seed), settings.game, list(levels), mode=settings.mode,
                            episodes_per_level=settings.eval_episodes_per_level, num_envs=settings.eval_envs, seed=seed)  # fmt: skip
        out[split] = {"mean_return": float(stats.returns.mean()), "episodes": int(len(stats.returns))}
    return out


def _atomic_json(path: Path, data: dict) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w") as f:
        json.dump(data, f, indent=1)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def save_checkpoint(out_dir: Path, state_dict: dict, record: dict) -> Path:
    """Write `step_<env_steps>/` atomically: into a temporary folder, fsynced, then renamed."""
    torch = _torch()
    root = Path(out_dir) / CHECKPOINTS_DIR
    root.mkdir(parents=True, exist_ok=True)
    final = root / f"{STEP_PREFIX}{int(record['env_steps'])}"
    tmp = root / f".tmp-{final.name}-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    with open(tmp / MODEL_FILE, "wb") as f:
        torch.save({k: v.detach().cpu().contiguous() for k, v in state_dict.items()}, f)
        f.flush()
        os.fsync(f.fileno())
    _atomic_json(tmp / CHECKPOINT_JSON, record)
    if final.exists():
        shutil.rmtree(final)
    os.replace(tmp, final)
    return final


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
    torch = _torch()
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
    from rlgen.core.config import RayConfig
    from rlgen.ray_session import ray_session

    out = Path(out_dir)
    run_json = out / RUN_JSON
    if device not in ("cpu", "auto") and not device.startswith("cuda"):
        raise ConfigError(f"--device must be cpu, cuda[:N] or auto, got {device!r}")
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
    torch = _torch()
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    random_ref = random_returns(settings, settings.seed)
    run_record = {"settings": settings.to_dict(), "random": random_ref, "device": device,
                  "resumed_from": [] if resume_from is None else [*json.loads(run_json.read_text()).get("resumed_from", []), resume_from.env_steps],
                  "note": "resuming restores network weights only; the optimizer's moments restart"}  # fmt: skip
    _atomic_json(run_json, run_record)
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
