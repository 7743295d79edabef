"""The one loop that plays a fixed list of episodes with a policy on a pinned vector env.

Why here: evaluation (`rlgen.evaluate`) and the skill dial (`rlgen.policies.skill`) both play
"these jobs, each once" with slots that move to the next job as their episode ends, and both
must drive a policy exactly as collection does (`attach`, `reset`, `observe`), so stateful
policies and planners behave the same everywhere. It sits with the policies, below the stages
in the import order (../shared/DESIGN.md), so both can use it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np

from rlgen.policies.base import Policy, call_if_present


@dataclass(frozen=True)
class Outcome:
    """One finished job: its return, discounted return, length, success and the level it was played on."""

    episode_return: float
    discounted_return: float
    length: int
    success: bool
    level_seed: int


def play_pinned(
    policy: Policy,
    env,
    jobs: Sequence[Any],
    seeds: Sequence[int],
    repin: Callable[[Any, int, Any, int], np.ndarray],
    gamma: float = 0.99,
) -> list[Outcome]:
    """Play every job once; outcomes in job order.

    `env` is a pinned vector env (`ProcgenVecEnv.pinned` contract) already holding the first
    `env.num_envs` jobs, seeded `seeds[:num_envs]`; `repin(env, slot, job, seed)` moves a slot to
    another job and returns its first observation. The policy acts on all slots in one batched
    call per step; a slot whose episode ends takes the next job, or idles when none is left.
    """
    slots = env.num_envs
    obs, _ = env.reset()
    call_if_present(policy, "attach", env)
    call_if_present(policy, "reset", np.arange(slots))
    slot_job = list(range(slots))
    next_job = slots
    active = np.ones(slots, dtype=bool)
    returns = np.zeros(slots)
    discounted = np.zeros(slots)
    factor = np.ones(slots)
    outcomes: dict[int, Outcome] = {}
    while active.any():
        obs, rewards, terminated, truncated, info = env.step(np.asarray(policy.act(obs)))
        call_if_present(policy, "observe", rewards)
        returns += rewards
        discounted += factor * rewards
        factor *= gamma
        ended = np.flatnonzero((terminated | truncated) & active)
        for i in ended:
            outcomes[slot_job[i]] = Outcome(
                float(returns[i]), float(discounted[i]), int(info["episode_length"][i]),
                bool(info["level_complete"][i]), int(info["episode_level_seed"][i]),
            )  # fmt: skip
            returns[i], discounted[i], factor[i] = 0.0, 0.0, 1.0
            if next_job < len(jobs):
                obs[i] = repin(env, i, jobs[next_job], int(seeds[next_job]))
                slot_job[i] = next_job
                next_job += 1
            else:
                active[i] = False
        if len(ended):
            call_if_present(policy, "reset", ended)
    return [outcomes[k] for k in range(len(jobs))]
