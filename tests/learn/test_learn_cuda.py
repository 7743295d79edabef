"""GPU paths: training on CUDA, reloading on CUDA and on the CPU. Skipped where torch sees no GPU.

Synthetic frames, so the checks also run on GPU machines without Procgen.
"""

import warnings

import numpy as np
import pytest
import torch
from d3rlpy.algos import GreedyTransformerActionSampler

import rlgen.learn as learn
from rlgen.learn.base import load_algo
from rlgen.learn.registry import SELECTED_DIR

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


def test_auto_device_picks_the_gpu_without_a_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert learn.resolve_device("auto") == "cuda:0"


@pytest.mark.parametrize("algo", ["bc", "cql", "dt"])
def test_fit_on_gpu_reload_anywhere(algo, tiny, synthetic_buffer, tmp_path):
    values = iter(np.full(20, v) for v in [2.0, 1.0, 0.0, 0.5])  # 20 episodes each: step 1 beats the final clearly
    params = {**tiny[algo], "validate_every": 1}
    trained = learn.fit(
        learn.learner_config(algo, params), synthetic_buffer, seed=0, device="cuda:0", out_dir=tmp_path,
        validate=lambda policy: next(values), show_progress=False,
    )
    assert trained.selection["kept"] == "best" and trained.selection["selected_step"] == 1
    tmp_path = tmp_path / SELECTED_DIR  # the selected weights, which `trained.policy` plays
    frames = np.random.default_rng(1).integers(0, 256, (6, 64, 64, 3), dtype=np.uint8)
    results = []
    for policy in (trained.policy, learn.load_policy(tmp_path, "cuda:0"), learn.load_policy(tmp_path, "cpu")):
        if hasattr(policy, "reset"):
            policy.reset(np.arange(6))
        results.append(policy.act(frames))
    np.testing.assert_array_equal(results[0], results[1])
    np.testing.assert_array_equal(results[0], results[2])


def test_dt_batched_matches_wrapper_on_gpu(tiny, synthetic_buffer, tmp_path):
    learn.fit(learn.learner_config("dt", tiny["dt"]), synthetic_buffer, seed=0, device="cuda:0", out_dir=tmp_path, show_progress=False)
    algo, meta = load_algo(tmp_path, "cuda:0")
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for p in algo.impl.modules.transformer.parameters():
            p.add_(0.3 * torch.randn(p.shape, generator=generator).to(p.device))
    policy = learn.DecisionTransformerPolicy.from_algo(algo, meta["target_return"])
    wrappers = [algo.as_stateful_wrapper(meta["target_return"], GreedyTransformerActionSampler()) for _ in range(2)]
    rng = np.random.default_rng(2)
    policy.reset(np.arange(2))
    rewards = np.zeros(2, np.float32)
    for _ in range(7):
        frames = rng.integers(0, 256, (2, 64, 64, 3), dtype=np.uint8)
        actions = policy.act(frames)
        expected = [w.predict(frames[i].transpose(2, 0, 1), float(rewards[i])) for i, w in enumerate(wrappers)]
        np.testing.assert_array_equal(actions, expected)
        rewards = rng.random(2).astype(np.float32)
        policy.observe(rewards)
