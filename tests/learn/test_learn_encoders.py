import json

import pytest
import torch
from d3rlpy.algos import DiscreteBCConfig, DiscreteCQLConfig
from d3rlpy.preprocessing import PixelObservationScaler

from rlgen.learn.encoders import ImpalaEncoderFactory


@pytest.mark.parametrize("batch", [1, 5])
def test_encoder_maps_frames_to_features(batch):
    encoder = ImpalaEncoderFactory().create((3, 64, 64))
    out = encoder(torch.rand(batch, 3, 64, 64))
    assert out.shape == (batch, 256)
    assert (out >= 0).all()  # ends in a ReLU


def test_encoder_fields_change_the_network():
    encoder = ImpalaEncoderFactory(channels=[8, 16], feature_size=64).create((3, 64, 64))
    assert encoder.trunk.output_size == 16 * 16 * 16  # two stages: 64 -> 32 -> 16
    assert encoder(torch.rand(2, 3, 64, 64)).shape == (2, 64)


def test_encoder_with_discrete_action():
    encoder = ImpalaEncoderFactory(feature_size=32).create_with_action((3, 64, 64), 15, discrete_action=True)
    out = encoder(torch.rand(4, 3, 64, 64), torch.tensor([0, 3, 14, 7]))
    assert out.shape == (4, 32)


def test_encoder_rejects_channel_last_frames():
    with pytest.raises(ValueError, match="channel-first"):
        ImpalaEncoderFactory().create((64, 64, 3))


@pytest.mark.parametrize("config_cls", [DiscreteBCConfig, DiscreteCQLConfig])
def test_encoder_round_trips_through_d3rlpy_config_json(config_cls):
    config = config_cls(
        encoder_factory=ImpalaEncoderFactory(channels=[4, 8, 8], feature_size=48),
        observation_scaler=PixelObservationScaler(),
    )
    text = config.serialize()
    assert json.loads(text)["encoder_factory"] == {"type": "impala", "params": {"channels": [4, 8, 8], "feature_size": 48}}
    rebuilt = config_cls.deserialize(text)
    assert rebuilt.encoder_factory == ImpalaEncoderFactory(channels=[4, 8, 8], feature_size=48)
