"""A learner of one's own, in one file named in a config's `imports:`: behaviour cloning by
table, the action the data took most often at each observation (a random one where the data
never went). For worlds of few, small observations, such as `tests/corridor_world.py`.

This is README's "Bring your own learner" example, verbatim, and `tests/test_plugins.py` trains
and evaluates it with `rlgen run` beside the built-in BC, with no edit to rlgen.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rlgen.learn import TrainedLearner, register_learner


@dataclass(frozen=True)
class TableConfig:
    num_actions: int = 2
    label: str | None = None


class TablePolicy:
    def __init__(self, table: dict[str, int], num_actions: int, seed: int = 0) -> None:
        self.table, self.num_actions, self.rng = table, num_actions, np.random.default_rng(seed)

    def act(self, observations: np.ndarray) -> np.ndarray:
        unseen = self.rng.integers(0, self.num_actions, len(observations))
        return np.array([self.table.get(obs.tobytes().hex(), a) for obs, a in zip(observations, unseen)], dtype=np.int64)


def fit_table(config, buffer, *, seed, device, out_dir, validate=None, show_progress=True) -> TrainedLearner:
    counts: dict[str, Counter] = {}
    for episode in buffer.episodes:  # a d3rlpy ReplayBuffer of the dataset
        for obs, action in zip(episode.observations, episode.actions[:, 0]):
            counts.setdefault(np.asarray(obs, np.uint8).tobytes().hex(), Counter())[int(action)] += 1
    table = {key: actions.most_common(1)[0][0] for key, actions in counts.items()}
    meta = {"algo": "table", "num_actions": config.num_actions, "table": table}
    (Path(out_dir) / "learner.json").write_text(json.dumps(meta))  # learner.json's `algo` names who loads it
    return TrainedLearner("table", config, TablePolicy(table, config.num_actions, seed), Path(out_dir), steps=1)


def load_table(out_dir, device, *, greedy=True) -> TablePolicy:
    meta = json.loads((Path(out_dir) / "learner.json").read_text())
    return TablePolicy(meta["table"], meta["num_actions"])


register_learner("table", TableConfig, fit_table, load_fn=load_table)
