"""What a PPO run leaves on disk, and which checkpoint a `ppo` behaviour plays.

Checkpoints are rlgen's own, never RLlib's pickles: `OUT/checkpoints/step_<env_steps>/` holds
`model.pt` (the `PPONetwork` state dict, loadable with `torch.load(..., weights_only=True)`) and
`checkpoint.json` (env steps, iteration, the settings, and the returns measured on the first
`eval_levels` training and validation levels). They are written to a temporary folder and
renamed (`save_checkpoint`), so an interrupt leaves every finished checkpoint intact. The skill
dial (`select_checkpoint`) picks the checkpoint whose training-level return is nearest r x the
expert's, as the generalization-gap paper did. Nothing here imports torch at import time nor Ray.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from rlgen.core.typed import ConfigError
from rlgen.data.atomic import atomic_folder, atomic_write_bytes, atomic_writer
from rlgen.policies.ppo_settings import PPOSettings
from rlgen.policies.skill import EpisodeStats, SkillUnreachableError, fraction_of_expert

__all__ = [
    "CHECKPOINTS_DIR", "CHECKPOINT_JSON", "CheckpointError", "CheckpointInfo", "DEFAULT_SKILL_TOLERANCE", "MODEL_FILE",
    "RUN_JSON", "STEP_PREFIX", "Selection", "check_ppo_options", "default_run_dir", "list_checkpoints", "resolve_checkpoints", "resolve_path",
    "save_checkpoint", "select_checkpoint", "train_command",
]

CHECKPOINTS_DIR = "checkpoints"
CHECKPOINT_JSON = "checkpoint.json"
MODEL_FILE = "model.pt"
RUN_JSON = "ppo.json"
STEP_PREFIX = "step_"
DEFAULT_SKILL_TOLERANCE = 0.1
"""How far (as a fraction of the expert's return) the nearest checkpoint may be from the target."""


class CheckpointError(ConfigError):
    """A missing or unreadable PPO checkpoint (raised before any work)."""


REPO_ROOT = Path(__file__).resolve().parents[2]


def default_run_dir(game: str, mode: str = "easy", train_levels: int = 200) -> Path:
    """Where the catalog's `ppo` cards look for a game's expert: `checkpoints/ppo/<game>-<mode>-L<N>`
    (relative: `resolve_path` tries the working directory, then the repository root)."""
    return Path("checkpoints") / "ppo" / f"{game}-{mode}-L{train_levels}"


def resolve_path(path: str | Path) -> Path:
    """An absolute path as is; a relative one under the working directory when it exists there,
    else under the repository root when it exists there, else as given (for the error message)."""
    p = Path(path)
    if p.is_absolute() or p.exists():
        return p
    return REPO_ROOT / p if (REPO_ROOT / p).exists() else p


def train_command(game: str, mode: str = "easy", train_levels: int = 200, out: str | Path | None = None) -> str:
    """The command that trains the expert at `out` (default: `default_run_dir(game, mode, train_levels)`)."""
    out = Path(out) if out is not None else default_run_dir(game, mode, train_levels)
    return f"rlgen policy train-ppo --game {game} --mode {mode} --train-levels {train_levels} --out {out.as_posix()}"


@dataclass(frozen=True)
class CheckpointInfo:
    """One saved checkpoint: where, after how many env steps, and its measured returns."""

    path: Path
    env_steps: int
    iteration: int
    train_return: float
    validation_return: float
    record: dict = field(repr=False, compare=False, default_factory=dict)

    @classmethod
    def read(cls, path: Path) -> CheckpointInfo:
        path = Path(path)
        meta = path / CHECKPOINT_JSON
        if not meta.exists() or not (path / MODEL_FILE).exists():
            raise CheckpointError(f"{path}: not a PPO checkpoint (needs {CHECKPOINT_JSON} and {MODEL_FILE})")
        record = json.loads(meta.read_text())
        return cls(path, int(record["env_steps"]), int(record["iteration"]), float(record["train"]["mean_return"]),
                   float(record["validation"]["mean_return"]), record)  # fmt: skip

    @property
    def settings(self) -> PPOSettings:
        return PPOSettings.from_dict(self.record["settings"])


def list_checkpoints(run_dir: str | Path) -> list[CheckpointInfo]:
    """A run's finished checkpoints, by env steps (temporary folders of an interrupted write are skipped)."""
    root = Path(run_dir) / CHECKPOINTS_DIR
    if not root.is_dir():
        return []
    found = [CheckpointInfo.read(p) for p in root.iterdir() if p.is_dir() and p.name.startswith(STEP_PREFIX) and (p / CHECKPOINT_JSON).exists()]
    return sorted(found, key=lambda c: c.env_steps)


def resolve_checkpoints(path: str | Path) -> list[CheckpointInfo]:
    """A checkpoint folder (itself) or a run folder (all its checkpoints); an error when none."""
    p = resolve_path(path)
    if (p / CHECKPOINT_JSON).exists():
        return [CheckpointInfo.read(p)]
    if not p.exists():
        hint = ""
        parts = p.parts
        if len(parts) >= 2 and parts[-2] == "ppo":
            game, _, rest = parts[-1].partition("-")
            mode, _, levels = rest.partition("-L")
            if levels.isdigit():
                hint = f"; make it with: {train_command(game, mode, int(levels))}"
        raise CheckpointError(f"no PPO checkpoint at {p}{hint or ' (train one with `rlgen policy train-ppo`)'}")
    found = list_checkpoints(p)
    if not found:
        raise CheckpointError(f"{p}: no finished PPO checkpoints under {p / CHECKPOINTS_DIR} (train with `rlgen policy train-ppo --out {p}`)")
    return found


@dataclass(frozen=True)
class Selection:
    """The checkpoint a skill target picked, and what it achieves relative to the expert."""

    checkpoint: CheckpointInfo
    expert: CheckpointInfo
    target: float | None
    fraction: float
    fraction_ci95: tuple[float, float]

    def stats(self) -> dict:
        return {
            "ppo_checkpoint": str(self.checkpoint.path.resolve()),
            "ppo_env_steps": self.checkpoint.env_steps,
            "ppo_checkpoint_train_return": self.checkpoint.train_return,
            "ppo_expert_checkpoint": str(self.expert.path.resolve()),
            "ppo_expert_train_return": self.expert.train_return,
            "ppo_skill_target": self.target,
            "ppo_skill_fraction": self.fraction,
            "ppo_skill_fraction_ci95": list(self.fraction_ci95),
        }


def _episode_stats(record: dict) -> EpisodeStats:
    n = len(record["returns"])
    return EpisodeStats(np.asarray(record["levels"], np.int64), np.asarray(record["returns"], np.float64),
                        np.zeros(n), np.zeros(n, np.int64), np.zeros(n, bool), 0.0)  # fmt: skip


def _fraction(checkpoint: CheckpointInfo, expert: CheckpointInfo) -> tuple[float, tuple[float, float]]:
    if checkpoint.path == expert.path:
        return 1.0, (1.0, 1.0)
    a, b = checkpoint.record["train"], expert.record["train"]
    if "returns" in a and "returns" in b and a.get("levels") == b.get("levels") and expert.train_return > 0:
        with np.errstate(invalid="ignore", divide="ignore"):  # a resample whose expert mean is 0 drops out as nan
            frac, ci = fraction_of_expert(_episode_stats(a), _episode_stats(b))
        return float(frac), (float(ci[0]), float(ci[1]))
    frac = checkpoint.train_return / expert.train_return if expert.train_return > 0 else float("nan")
    return frac, (float("nan"), float("nan"))


def select_checkpoint(path: str | Path, skill: float | None = None, tolerance: float = DEFAULT_SKILL_TOLERANCE) -> Selection:
    """The checkpoint a `ppo` behaviour plays.

    `path` is a checkpoint folder (played as is when `skill` is None) or a run folder. The expert
    is the run's checkpoint with the highest mean return on the training levels (the paper used
    the final one, which after 25M steps is also the best). With `skill` = r, the checkpoint whose
    recorded training return is nearest r x the expert's is chosen; when even that one is more
    than `tolerance` x the expert's return away, `SkillUnreachableError` names the closest
    achievable fraction (mix with random play, option `mix`, to go below the weakest checkpoint).
    Without `skill`, a run folder plays its final checkpoint.
    """
    found = resolve_checkpoints(path)
    expert = max(found, key=lambda c: (c.train_return, c.env_steps))
    if skill is None:
        chosen = found[-1]
        frac, ci = _fraction(chosen, expert)
        return Selection(chosen, expert, None, frac, ci)
    skill = float(skill)
    if not 0.0 <= skill:
        raise ConfigError(f"ppo skill must be a non-negative fraction of the expert's return, got {skill}")
    if expert.train_return <= 0:
        raise SkillUnreachableError(
            f"{path}: the best checkpoint's training return is {expert.train_return:.3f}, so no fraction of it is defined; train longer"
        )
    fractions = [c.train_return / expert.train_return for c in found]
    best = int(np.argmin([abs(f - skill) for f in fractions]))
    if abs(fractions[best] - skill) > tolerance:
        raise SkillUnreachableError(
            f"{path}: skill {skill:g} x the expert's training return ({expert.train_return:.2f}) is out of reach: the closest "
            f"checkpoint ({found[best].path.name}) reaches {fractions[best]:.3f} (tolerance {tolerance:g}); achievable fractions: "
            + ", ".join(f"{f:.2f}" for f in sorted(set(round(f, 2) for f in fractions)))
        )
    frac, ci = _fraction(found[best], expert)
    return Selection(found[best], expert, skill, frac, ci)


def save_checkpoint(out_dir: Path, state_dict: dict, record: dict) -> Path:
    """Write `step_<env_steps>/` atomically (`rlgen.data.atomic.atomic_folder`)."""
    import torch  # deferred: only writers need it

    root = Path(out_dir) / CHECKPOINTS_DIR
    root.mkdir(parents=True, exist_ok=True)
    final = root / f"{STEP_PREFIX}{int(record['env_steps'])}"
    with atomic_folder(final) as tmp:
        with atomic_writer(tmp / MODEL_FILE) as f:
            torch.save({k: v.detach().cpu().contiguous() for k, v in state_dict.items()}, f)
        atomic_write_bytes(tmp / CHECKPOINT_JSON, json.dumps(record, indent=1).encode())
    return final


def check_ppo_options(options: dict, game: str) -> None:
    """Before any work: the checkpoint exists, plays `game`, and the skill target is reachable."""
    checkpoint = options.get("checkpoint")
    if not checkpoint:
        raise ConfigError("behaviour ppo needs collect.policy.options.checkpoint (a checkpoint or run folder)")
    unknown = sorted(set(options) - {"checkpoint", "skill", "greedy", "tolerance", "device", "mix"})
    if unknown:
        raise ConfigError(f"collect.policy.options for 'ppo': unknown option(s) {unknown}; valid: checkpoint, skill, greedy, tolerance, device, mix")
    selection = select_checkpoint(checkpoint, options.get("skill"), float(options.get("tolerance", DEFAULT_SKILL_TOLERANCE)))
    played = selection.checkpoint.settings
    if played.game != game:
        raise ConfigError(f"{checkpoint}: the PPO checkpoint plays {played.game}, not {game}")
