"""The `ppo` behaviour policy: a saved PPO checkpoint acting on Procgen frames, without Ray.

`PPONetwork` is the shared IMPALA ResNet (`rlgen.networks`) with a policy head (logits) and a
value head; `PPOPolicy` loads a checkpoint's weights (`rlgen.policies.ppo_checkpoints`) and acts
with one batched forward per step. Collection and evaluation import this module only; RLlib
lives in `rlgen.policies.ppo_train`, which only training needs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from torch import nn

from rlgen.core.device import resolve_device
from rlgen.core.games import NUM_ACTIONS
from rlgen.core.typed import ConfigError
from rlgen.networks import ImpalaFeatures
from rlgen.policies.ppo_checkpoints import DEFAULT_SKILL_TOLERANCE, MODEL_FILE, CheckpointInfo, select_checkpoint

__all__ = ["PPONetwork", "PPOPolicy", "build_network", "make_ppo_policy"]


def build_network(channels: Sequence[int] = (16, 32, 32), feature_size: int = 256, num_actions: int = NUM_ACTIONS):
    """`PPONetwork`: rlgen's IMPALA encoder, a policy head (logits) and a value head."""
    return PPONetwork(channels, feature_size, num_actions)


class PPONetwork(nn.Module):
    """(B, 64, 64, 3) uint8 frames -> (B, actions) logits and (B,) values.

    Frames are scaled to [0, 1] and made channel-first inside, so env runners, the behaviour
    policy and the evaluator hand it frames as ProcgenVecEnv emits them.
    """

    def __init__(self, channels: Sequence[int] = (16, 32, 32), feature_size: int = 256, num_actions: int = NUM_ACTIONS) -> None:
        super().__init__()
        self.encoder = ImpalaFeatures((3, 64, 64), list(channels), feature_size)
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


class PPOPolicy:
    """A saved `PPONetwork` acting on (n, 64, 64, 3) uint8 frames, one batched forward per step.

    Actions are sampled from the policy's distribution (the paper collected with sampled actions),
    from a seeded torch generator; `greedy=True` takes the arg-max instead. `stats` describes the
    checkpoint (collection records it in each shard's stats).
    """

    def __init__(self, checkpoint: str | Path, seed: int = 0, greedy: bool = False, device: str = "cpu", stats: dict | None = None) -> None:
        info = CheckpointInfo.read(Path(checkpoint))
        settings = info.settings
        self.device = torch.device(resolve_device(device))
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
        with torch.inference_mode():
            frames = torch.from_numpy(np.ascontiguousarray(observations)).to(self.device)
            logits, _ = self.net(frames)
            if self.greedy:
                actions = logits.argmax(-1)
            else:
                actions = torch.multinomial(torch.softmax(logits.float(), -1), 1, generator=self.generator).squeeze(-1)
        return actions.cpu().numpy().astype(np.int64)


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
