"""Vector observations: (N, D) uint8 passes through the data layer unchanged and gets the MLP encoder."""

import d3rlpy
import numpy as np
from d3rlpy.dataset import Episode, InfiniteBuffer, ReplayBuffer, Signature
from d3rlpy.models import VectorEncoderFactory
from d3rlpy.preprocessing import MinMaxObservationScaler

from rlgen.data.shards import EpisodeData, ShardReader, ShardWriter, learner_layout, learner_shape
from rlgen.learn.bc import BCConfig
from rlgen.learn.base import for_observations
from rlgen.learn.encoders import ImpalaEncoderFactory
from rlgen.learn.registry import fit
from rlgen.stitch import Regions
from rlgen_envs.stitch_maze import VECTOR_MAXIMA, VECTOR_SIZE


def test_vector_observations_round_trip_and_train(collect_stitch, tmp_path):
    episodes = collect_stitch(Regions(2, 2), 20, obs_mode="vector")
    assert episodes[0]["observations"].dtype == np.uint8 and episodes[0]["observations"].shape[1:] == (VECTOR_SIZE,)
    assert (np.max([e["observations"].max(0) for e in episodes], axis=0) <= VECTOR_MAXIMA).all()
    writer = ShardWriter((VECTOR_SIZE,))
    for e in episodes:
        writer.add(EpisodeData(e["observations"], e["actions"].astype(np.uint8), e["rewards"].astype(np.float32),
                               e["level_seed"], e["terminated"], e["truncated"], e["terminated"]))
    writer.write(tmp_path / "shard.npz")
    frames = ShardReader(tmp_path / "shard.npz").contents().observations
    assert np.array_equal(frames, np.concatenate([e["observations"] for e in episodes]))
    assert learner_layout(frames) is frames and learner_shape((VECTOR_SIZE,)) == (VECTOR_SIZE,)
    assert learner_shape((64, 64, 3)) == (3, 64, 64)

    buffer = ReplayBuffer(
        InfiniteBuffer(),
        episodes=[Episode(e["observations"], e["actions"][:, None].astype(np.int64), e["rewards"][:, None].astype(np.float32),
                          e["terminated"]) for e in episodes],
        observation_signature=Signature(dtype=[np.dtype(np.uint8)], shape=[(VECTOR_SIZE,)]),
        action_signature=Signature(dtype=[np.dtype(np.int64)], shape=[(1,)]),
        reward_signature=Signature(dtype=[np.dtype(np.float32)], shape=[(1,)]),
        action_space=d3rlpy.ActionSpace.DISCRETE, action_size=5,
    )  # fmt: skip
    config = BCConfig(steps=3, batch_size=8, validate_every=0, feature_size=16)
    chosen = for_observations(config.to_d3rlpy(), config, (VECTOR_SIZE,), buffer)
    assert isinstance(chosen.encoder_factory, VectorEncoderFactory) and isinstance(chosen.observation_scaler, MinMaxObservationScaler)
    assert 1 < chosen.observation_scaler.maximum[0] <= 14 and chosen.observation_scaler.maximum.min() == 1  # the data's maxima
    assert isinstance(for_observations(config.to_d3rlpy(), config, (3, 64, 64), buffer).encoder_factory, ImpalaEncoderFactory)
    trained = fit(config, buffer, seed=0, device="cpu", out_dir=tmp_path / "bc", show_progress=False)
    actions = trained.policy.act(frames[:4])
    assert actions.shape == (4,) and ((0 <= actions) & (actions < 5)).all()
