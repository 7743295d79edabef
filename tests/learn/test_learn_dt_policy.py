"""The batched decision-transformer policy acts exactly as d3rlpy's own stateful wrapper."""

import numpy as np
import pytest
import torch
from d3rlpy.algos import GreedyTransformerActionSampler

import rlgen.learn as learn
from rlgen.learn.base import load_algo
from rlgen_envs import ProcgenVecEnv


class _Recording(GreedyTransformerActionSampler):
    """d3rlpy's greedy sampler, keeping the logits it was given."""

    def __init__(self) -> None:
        self.logits: list[np.ndarray] = []

    def __call__(self, transformer_output):
        self.logits.append(np.array(transformer_output))
        return super().__call__(transformer_output)


@pytest.mark.parametrize("target_return", [None, 3.0])
def test_batched_policy_matches_d3rlpy_stateful_wrapper(tiny, procgen_buffer, tmp_path, target_return):
    params = {**tiny["dt"], "steps": 20, "batch_size": 8, "warmup_tokens": 0, "target_return": target_return}
    trained = learn.fit(learn.learner_config("dt", params), procgen_buffer, seed=0, device="cpu", out_dir=tmp_path, show_progress=False)
    assert learn.load_policy(tmp_path).target_return == trained.target_return
    d3_algo, _ = load_algo(tmp_path, "cpu")
    # A few gradient steps leave the arg-max nearly constant; noise on the weights makes every
    # input (frames, actions, returns-to-go, timesteps) move the chosen action.
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for p in d3_algo.impl.modules.transformer.parameters():
            p.add_(0.3 * torch.randn(p.shape, generator=generator))
    policy = learn.DecisionTransformerPolicy.from_algo(d3_algo, trained.target_return)
    n = 3
    samplers = [_Recording() for _ in range(n)]
    wrappers = [d3_algo.as_stateful_wrapper(trained.target_return, action_sampler=s) for s in samplers]
    env = ProcgenVecEnv("chaser", num_envs=n, start_level=100, num_levels=3, seed=2)
    obs, _ = env.reset()
    policy.reset(np.arange(n))
    last_rewards = np.zeros(n, np.float32)
    rewarded = 0
    chosen = set()
    for step in range(11):  # more steps than the context (4), so the window slides
        if step == 6:  # slot 1's episode "ends": both sides start it afresh
            policy.reset(np.array([1]))
            wrappers[1].reset()
            last_rewards[1] = 0.0
        actions = policy.act(obs)
        expected = [wrappers[i].predict(obs[i].transpose(2, 0, 1), float(last_rewards[i])) for i in range(n)]
        np.testing.assert_array_equal(actions, expected)
        chosen.update(actions.tolist())
        torch.testing.assert_close(policy.last_logits, torch.from_numpy(np.stack([s.logits[-1] for s in samplers])), rtol=1e-4, atol=1e-5)
        obs, last_rewards, terminated, truncated, _ = env.step(actions)
        assert not (terminated | truncated).any()
        rewarded += int((last_rewards != 0).sum())
        policy.observe(last_rewards)
    env.close()
    assert rewarded > 0  # chaser's orbs: returns-to-go really moved
    assert len(chosen) > 2


def test_policy_adapts_to_the_number_of_envs(tiny, procgen_buffer, tmp_path):
    learn.fit(learn.learner_config("dt", tiny["dt"]), procgen_buffer, seed=0, device="cpu", out_dir=tmp_path, show_progress=False)
    policy = learn.load_policy(tmp_path)
    frames = np.zeros((5, 64, 64, 3), np.uint8)
    assert policy.act(frames).shape == (5,)  # no reset: slots start clean
    policy.observe(np.ones(5, np.float32))
    policy.reset(np.arange(2))
    assert policy.act(frames[:2]).shape == (2,)
