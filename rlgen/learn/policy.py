"""Trained d3rlpy algorithms as rlgen policies (`rlgen.policies.base`): batched `act` over n envs.

Both take what `rlgen_envs.ProcgenVecEnv` emits, (n, 64, 64, 3) uint8 channel-last frames, and
return (n,) int64 actions; d3rlpy's networks take channel-first frames, so `act` transposes.
Pixel scaling is the algorithm's own observation scaler (`PixelObservationScaler`, x / 255, the
same for every learner).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from d3rlpy.base import LearnableBase

__all__ = ["DecisionTransformerPolicy", "QLearningPolicy"]


def _to_channel_first(observations: np.ndarray) -> np.ndarray:
    """(n, 64, 64, 3) frames -> (n, 3, 64, 64); (n, D) vector observations pass through."""
    observations = np.asarray(observations)
    if observations.ndim == 2:
        return observations
    if observations.ndim != 4 or observations.shape[-1] != 3:
        raise ValueError(f"expected (n, 64, 64, 3) frames or (n, D) vectors, got shape {observations.shape}")
    return np.ascontiguousarray(observations.transpose(0, 3, 1, 2))


class QLearningPolicy:
    """A d3rlpy Q-learning-family algorithm (DiscreteBC, DiscreteCQL, ...) as a batched policy.

    Greedy by default: the arg-max action (the paper's public code sampled BC's actions at
    evaluation; rlgen does not unless asked). With `greedy=False`, a policy with a categorical
    imitator (BC) samples from pi(a|s) with its own seeded generator; for Q-learners it calls
    d3rlpy's `sample_action`, which for DQN-style algorithms such as discrete CQL is greedy too.
    """

    def __init__(self, algo: LearnableBase, greedy: bool = True, seed: int = 0) -> None:
        if algo.impl is None:
            raise ValueError("the algorithm has no networks yet (build or load it first)")
        self.algo = algo
        self.greedy = greedy
        self._generator = torch.Generator(device=algo.impl.device)
        self._generator.manual_seed(seed)

    def act(self, observations: np.ndarray) -> np.ndarray:
        x = _to_channel_first(observations)
        if self.greedy:
            return np.asarray(self.algo.predict(x), dtype=np.int64)
        imitator = getattr(self.algo.impl.modules, "imitator", None)  # type: ignore[union-attr]
        if imitator is None:
            return np.asarray(self.algo.sample_action(x), dtype=np.int64)
        impl = self.algo.impl
        assert impl is not None
        with torch.no_grad():
            impl.modules.set_eval()
            torch_x = torch.from_numpy(x).to(impl.device).float()
            scaler = self.algo.config.observation_scaler
            if scaler is not None:
                torch_x = scaler.transform(torch_x)
            probs = torch.softmax(imitator(torch_x).logits, dim=1)
            actions = torch.multinomial(probs, 1, generator=self._generator).view(-1)
        return actions.cpu().numpy().astype(np.int64)


class DecisionTransformerPolicy:
    """A d3rlpy discrete decision transformer as a batched, stateful, return-conditioned policy.

    It does for n envs at once what d3rlpy's `StatefulTransformerWrapper` does for one, with one
    batched forward per step through the algorithm's transformer module. Each env slot keeps the
    last `context_size` (frame, action, return-to-go, timestep); shorter histories are padded at
    the front with zeros and masked, as `TorchTransformerInput.from_numpy` pads them. Timesteps
    start at 1 and stop growing at `max_timestep`, as in the wrapper.

    Protocol per step: `act(frames)`, step the envs, `observe(rewards)` (subtracts each slot's
    reward from its return-to-go), then `reset(ended_slots)` (clears those slots; return-to-go
    back to the target). `observe` must come before `reset` in a step, otherwise the ended
    episode's last reward is charged to the new episode. `reset` of all slots is also called
    before the first step; a slot never reset starts clean as well.

    Memory: n x context_size embeddings (64 envs, context 20, 256 features: about 1.3 MB).
    """

    def __init__(
        self,
        transformer: torch.nn.Module,
        *,
        observation_scaler: Any,
        context_size: int,
        max_timestep: int,
        target_return: float,
        action_size: int,
        device: str,
        observation_shape: tuple[int, ...] = (3, 64, 64),
        greedy: bool = True,
        seed: int = 0,
    ) -> None:
        self.transformer = transformer
        self.observation_shape = tuple(int(s) for s in observation_shape)
        self.observation_scaler = observation_scaler
        self.context_size = int(context_size)
        self.max_timestep = int(max_timestep)
        self.target_return = float(target_return)
        self.action_size = int(action_size)
        self.device = torch.device(device)
        self.greedy = greedy
        self._generator = torch.Generator(device=self.device)
        self._generator.manual_seed(seed)
        self._n = 0
        self.last_logits: torch.Tensor | None = None
        """(n, action_size) logits behind the last `act`, for analysis and tests."""

    @classmethod
    def from_algo(
        cls, algo: LearnableBase, target_return: float, greedy: bool = True, seed: int = 0
    ) -> DecisionTransformerPolicy:
        impl = algo.impl
        if impl is None:
            raise ValueError("the algorithm has no networks yet (build or load it first)")
        return cls(
            impl.modules.transformer,  # type: ignore[attr-defined]
            observation_scaler=algo.config.observation_scaler,
            context_size=algo.config.context_size,  # type: ignore[attr-defined]
            max_timestep=algo.config.max_timestep,  # type: ignore[attr-defined]
            target_return=target_return,
            action_size=impl.action_size,
            device=impl.device,
            observation_shape=tuple(impl.observation_shape),  # type: ignore[arg-type]
            greedy=greedy,
            seed=seed,
        )

    # -- policy protocol --------------------------------------------------------------------------

    def reset(self, env_indices: np.ndarray) -> None:
        idx = np.asarray(env_indices, dtype=np.int64).reshape(-1)
        if self._n == 0:
            if len(idx) == 0:
                return
            self._allocate(int(idx.max()) + 1)
        t_idx = torch.as_tensor(idx, device=self.device)
        for buf in (self._embeddings, self._actions, self._returns_to_go, self._timesteps, self._masks):
            buf[t_idx] = 0
        self._return_rest[idx] = self.target_return
        self._timestep[idx] = 1

    def observe(self, rewards: np.ndarray) -> None:
        if self._n == 0:
            return
        self._return_rest -= np.asarray(rewards, dtype=np.float64).reshape(self._n)

    def act(self, observations: np.ndarray) -> np.ndarray:
        frames = torch.from_numpy(_to_channel_first(observations)).to(self.device)
        if self._n != len(frames):
            self._allocate(len(frames))
        # Slide every slot's window one step left and append this step's entry on the right.
        for buf in (self._embeddings, self._actions, self._returns_to_go, self._timesteps, self._masks):
            buf[:, :-1] = buf[:, 1:].clone()
        self._embeddings[:, -1] = self._embed(frames)
        self._actions[:, -1] = 0  # the pad action d3rlpy puts in the current step's action slot
        self._returns_to_go[:, -1, 0] = torch.from_numpy(self._return_rest.astype(np.float32)).to(self.device)
        self._timesteps[:, -1] = torch.from_numpy(self._timestep).to(self.device)
        self._masks[:, -1] = 1.0
        logits = self._logits()
        self.last_logits = logits
        if self.greedy:
            actions = logits.argmax(dim=1)
        else:
            actions = torch.multinomial(torch.softmax(logits, dim=1), 1, generator=self._generator).view(-1)
        self._actions[:, -1] = actions
        self._timestep = np.minimum(self._timestep + 1, self.max_timestep)
        return actions.cpu().numpy().astype(np.int64)

    # -- internals --------------------------------------------------------------------------------

    def _embed(self, frames: torch.Tensor) -> torch.Tensor:
        """(n, features) state embeddings of this step's frames, scaled as d3rlpy scales them.

        Each frame is encoded once and its embedding kept in the slot's window, instead of
        re-encoding the whole context every step as d3rlpy's wrapper does (context_size times
        less encoder work; the encoder dominates inference on CPU).
        """
        self.transformer.eval()
        with torch.no_grad():
            observations = frames.float()  # TorchTransformerInput.from_numpy: uint8 -> float, then scale
            if self.observation_scaler is not None:
                observations = self.observation_scaler.transform(observations)
            return self.transformer._encoder(observations)

    def _logits(self) -> torch.Tensor:
        """(n, action_size) logits of the last position, as d3rlpy's `inner_predict` takes them.

        The transformer's own forward runs on the cached embeddings: its encoder is swapped for
        the identity during the call. Padded positions hold zeros instead of the embedding of a
        zero frame; they are masked out of attention (-10000 on their logits), so the last
        position's output is the same.
        """
        encoder = self.transformer._encoder
        self.transformer._encoder = torch.nn.Identity()
        try:
            with torch.no_grad():
                _, logits = self.transformer(
                    self._embeddings,
                    self._actions.float(),
                    self._returns_to_go,
                    self._timesteps,
                    1 - self._masks,
                )
        finally:
            self.transformer._encoder = encoder
        return logits[:, -1]

    def _allocate(self, n: int) -> None:
        c, dev = self.context_size, self.device
        self._n = n
        features = self._embed(torch.zeros((1, *self.observation_shape), dtype=torch.uint8, device=dev)).shape[-1]
        self._embeddings = torch.zeros((n, c, features), dtype=torch.float32, device=dev)
        self._actions = torch.zeros((n, c), dtype=torch.long, device=dev)
        self._returns_to_go = torch.zeros((n, c, 1), dtype=torch.float32, device=dev)
        self._timesteps = torch.zeros((n, c), dtype=torch.long, device=dev)
        self._masks = torch.zeros((n, c), dtype=torch.float32, device=dev)
        self._return_rest = np.full(n, self.target_return, dtype=np.float64)
        self._timestep = np.ones(n, dtype=np.int64)
