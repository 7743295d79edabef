"""Same config, same machine, same numbers: the torch settings every process that trains or plays
a learned policy applies first.

A Ray task or actor is a fresh process, and torch's defaults there are neither single-threaded nor
deterministic: a CPU matmul split over a different number of threads sums in a different order,
which is enough to flip an arg-max action now and then and, over a 500-step maze episode, the
outcome. So every training task and every evaluation actor calls `deterministic_torch` before
its first torch operation (`rlgen.train.train_one`, `rlgen.evaluate.PolicyEvaluator`).

What still varies across machines (documented in README, "Determinism"): a different CPU
instruction set (AVX2 against AVX-512) or torch build changes float rounding, and GPU kernels
differ between GPU models; the report is byte-identical only on the same machine and versions.
"""

from __future__ import annotations

import os

__all__ = ["deterministic_torch"]


def deterministic_torch(threads: int = 1) -> None:
    """Fix torch's thread count and ask for deterministic kernels.

    `warn_only=True`: an operation without a deterministic implementation (a few CUDA kernels)
    warns instead of failing a run; on CPU every operation the learners use has one. cuBLAS needs
    `CUBLAS_WORKSPACE_CONFIG` set before its first call to be deterministic; it is set here when
    the caller has not.
    """
    import torch

    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(True, warn_only=True)
