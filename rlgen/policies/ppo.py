"""PPO behaviour policies, in four modules with one job each; this one re-exports their names.

- `rlgen.policies.ppo_settings`: `PPOSettings`, everything a run depends on (the
  generalization-gap paper's values as defaults);
- `rlgen.policies.ppo_checkpoints`: what a run leaves on disk (rlgen's own checkpoints, never
  RLlib's pickles) and the skill dial that picks one (`select_checkpoint`);
- `rlgen.policies.ppo_policy`: `PPONetwork` (the shared IMPALA ResNet of `rlgen.networks` with
  policy and value heads) and `PPOPolicy`, the `ppo` behaviour; no Ray, which is all that
  collection and evaluation import;
- `rlgen.policies.ppo_train`: training with RLlib (`train_ppo`, `rlgen policy train-ppo`), the
  only module that needs it.

Import from the module that does the job; the names here keep older imports working.
"""

from rlgen.policies.ppo_checkpoints import (
    CHECKPOINT_JSON,
    CHECKPOINTS_DIR,
    DEFAULT_SKILL_TOLERANCE,
    MODEL_FILE,
    RUN_JSON,
    STEP_PREFIX,
    CheckpointError,
    CheckpointInfo,
    Selection,
    check_ppo_options,
    default_run_dir,
    list_checkpoints,
    resolve_checkpoints,
    resolve_path,
    save_checkpoint,
    select_checkpoint,
    train_command,
)
from rlgen.policies.ppo_policy import PPONetwork, PPOPolicy, build_network, make_ppo_policy
from rlgen.policies.ppo_settings import PPOSettings
from rlgen.policies.ppo_train import random_returns, train_ppo

__all__ = [
    "CHECKPOINTS_DIR", "CHECKPOINT_JSON", "CheckpointError", "CheckpointInfo", "DEFAULT_SKILL_TOLERANCE", "MODEL_FILE",
    "PPONetwork", "PPOPolicy", "PPOSettings", "RUN_JSON", "STEP_PREFIX", "Selection", "build_network", "check_ppo_options",
    "default_run_dir", "list_checkpoints", "make_ppo_policy", "random_returns", "resolve_checkpoints", "resolve_path",
    "save_checkpoint", "select_checkpoint", "train_command", "train_ppo",
]
