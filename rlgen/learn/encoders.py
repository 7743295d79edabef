"""The IMPALA ResNet encoder, registered with d3rlpy as encoder type ``"impala"``.

The generalization-gap paper (../shared/reference/generalization-gap.md) trains every offline
learner on Procgen with the encoder of IMPALA (Espeholt et al., 2018, "IMPALA: Scalable
Distributed Deep-RL with Importance Weighted Actor-Learner Architectures", Fig. 3): three
stages of conv3x3 -> maxpool(3, stride 2) -> two residual blocks, 16/32/32 channels, then a
linear layer to 256 features. d3rlpy's default pixel encoder is the Nature-DQN network, so
rlgen registers this one and every built-in learner uses it.

The network itself is `rlgen.networks` (shared with the PPO policies); this module makes it
d3rlpy's. Being a d3rlpy `EncoderFactory` dataclass, it serializes into an algorithm's JSON config as
``{"type": "impala", "params": {"channels": [16, 32, 32], "feature_size": 256}}`` and is rebuilt
from it (importing this module registers the type).
"""

from __future__ import annotations

import dataclasses
from typing import Sequence

import torch
import torch.nn.functional as F
from d3rlpy.models.encoders import EncoderFactory, VectorEncoderFactory, register_encoder_factory
from d3rlpy.models.torch import Encoder, EncoderWithAction
from d3rlpy.serializable_config import CONFIG_STORAGE
from torch import nn

from rlgen.networks import ImpalaFeatures, ImpalaTrunk

__all__ = ["ImpalaEncoder", "ImpalaEncoderFactory", "ImpalaEncoderWithAction", "ImpalaTrunk", "encoder_factory_for"]


class ImpalaEncoder(ImpalaFeatures, Encoder):
    """(B, 3, 64, 64) float in [0, 1] (d3rlpy's PixelObservationScaler) -> (B, feature_size):
    `rlgen.networks.ImpalaFeatures` as a d3rlpy encoder."""


class ImpalaEncoderWithAction(EncoderWithAction):
    """(B, 3, 64, 64) frames and actions -> (B, feature_size): trunk features concatenated with
    the action (one-hot when discrete) before the linear layer, as d3rlpy's own pixel encoder does.

    None of rlgen's built-in discrete learners needs it (DiscreteBC, DiscreteCQL and the discrete
    decision transformer only call `create`); it is here so that d3rlpy algorithms with
    state-action encoders can use the IMPALA encoder too.
    """

    def __init__(
        self,
        observation_shape: Sequence[int],
        action_size: int,
        channels: Sequence[int],
        feature_size: int,
        discrete_action: bool,
    ) -> None:
        super().__init__()
        self.trunk = ImpalaTrunk(observation_shape, channels)
        self.fc = nn.Linear(self.trunk.output_size + action_size, feature_size)
        self.action_size = action_size
        self.discrete_action = discrete_action

    def forward(self, x: torch.Tensor, action: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        if self.discrete_action:
            action = F.one_hot(action.view(-1).long(), num_classes=self.action_size).float()
        return F.relu(self.fc(torch.cat([self.trunk(x), action], dim=1)))


@dataclasses.dataclass()
class ImpalaEncoderFactory(EncoderFactory):
    """d3rlpy encoder factory for the IMPALA ResNet.

    Args:
        channels: output channels of the three conv stages (IMPALA: 16, 32, 32). Each stage
            halves the resolution, so 64x64 frames leave the trunk as channels[-1] x 8 x 8.
        feature_size: width of the final linear layer (IMPALA and the paper: 256). For the
            decision transformer this is also the transformer's width.
    """

    channels: list[int] = dataclasses.field(default_factory=lambda: [16, 32, 32])
    feature_size: int = 256

    def create(self, observation_shape: Sequence[int]) -> ImpalaEncoder:  # type: ignore[override]
        _check_pixel_shape(observation_shape)
        return ImpalaEncoder(observation_shape, self.channels, self.feature_size)

    def create_with_action(  # type: ignore[override]
        self, observation_shape: Sequence[int], action_size: int, discrete_action: bool = False
    ) -> ImpalaEncoderWithAction:
        _check_pixel_shape(observation_shape)
        return ImpalaEncoderWithAction(
            observation_shape, action_size, self.channels, self.feature_size, discrete_action
        )

    @staticmethod
    def get_type() -> str:
        return "impala"


def _check_pixel_shape(observation_shape: Sequence[int]) -> None:
    shape = tuple(observation_shape)
    if len(shape) != 3:
        raise ValueError(f"the IMPALA encoder takes (channels, height, width) frames, got shape {shape}")
    if shape[-1] in (1, 3, 4) and shape[0] not in (1, 3, 4):
        raise ValueError(
            f"the IMPALA encoder takes channel-first frames (3, 64, 64), got {shape}: "
            "transpose observations to channel-first before building the d3rlpy buffer"
        )


# Registered once per process: d3rlpy asserts on a second registration (e.g. a module reload).
if ImpalaEncoderFactory.get_type() not in CONFIG_STORAGE[EncoderFactory].config_list:
    register_encoder_factory(ImpalaEncoderFactory)


def encoder_factory_for(observation_shape: Sequence[int], channels: Sequence[int], feature_size: int) -> EncoderFactory:
    """The encoder for an observation's rank: (C, H, W) frames -> the IMPALA ResNet above;
    (D,) vectors (the stitching maze's compact observation) -> d3rlpy's `VectorEncoderFactory`,
    an MLP of two `feature_size` ReLU layers (`channels` unused), so its output is as wide as
    IMPALA's and the decision transformer's width stays `feature_size`."""
    shape = tuple(observation_shape)
    if len(shape) == 3:
        return ImpalaEncoderFactory(channels=list(channels), feature_size=feature_size)
    if len(shape) == 1:
        return VectorEncoderFactory(hidden_units=[feature_size, feature_size])
    raise ValueError(f"observations must be (C, H, W) frames or (D,) vectors, got shape {shape}")
