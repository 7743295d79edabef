"""Torch device names: the one rule for which names rlgen accepts and what `auto` means.

A config's `device`, `--device`, a behaviour's `device` option and PPO training all take
`cpu`, `cuda`, `cuda:N` or `auto` (the first GPU when torch sees one, else the CPU).
`check_device` refuses anything else when a config is read, without importing torch (the GPU
may be on another node); `resolve_device` turns a name into the device torch is given, where
the work runs, and refuses a GPU that this process cannot see.
"""

from __future__ import annotations

import warnings

from rlgen.core.typed import ConfigError

__all__ = ["DEVICE_HELP", "check_device", "resolve_device"]

DEVICE_HELP = "'cpu', 'cuda', 'cuda:N' or 'auto' (the first GPU when there is one, else the CPU)"


def check_device(device: str) -> None:
    """Refuse a device name that `resolve_device` would refuse for its spelling, without torch."""
    kind, sep, index = str(device).partition(":")
    if device == "auto" or (kind in ("cpu", "cuda") and (not sep or index.isdigit())):
        return
    raise ConfigError(f"device: {device!r} is not a torch device rlgen uses; give {DEVICE_HELP}")


def resolve_device(device: str) -> str:
    """"auto" -> "cuda:0" when torch sees a GPU, else "cpu"; "cuda" -> "cuda:0"; "cpu:N" -> "cpu".
    A GPU torch cannot see here is a `ConfigError`."""
    import torch  # deferred: core stays importable without torch

    check_device(device)
    if device == "auto":
        if torch.cuda.is_available():
            return "cuda:0"
        # Said aloud: a run meant for a GPU would otherwise train for hours on the CPU in silence.
        warnings.warn(
            f"device 'auto': torch {torch.__version__} sees no GPU, so rlgen runs on the CPU; for a GPU install a CUDA "
            "build of torch (README, Install), or set device: cpu to silence this",
            RuntimeWarning,
            stacklevel=2,
        )
        return "cpu"
    kind, _, index = device.partition(":")
    if kind == "cuda":
        if not torch.cuda.is_available():
            raise ConfigError(f"device {device!r} was asked for but torch sees no GPU; use 'cpu' or 'auto'")
        if int(index or 0) >= torch.cuda.device_count():
            raise ConfigError(f"device {device!r}: torch sees only {torch.cuda.device_count()} GPU(s)")
        return f"cuda:{index or 0}"
    return "cpu"
