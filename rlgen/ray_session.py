"""Starting or joining Ray: embedded on this machine by default, a cluster when given an address.

rlgen's embedded Ray binds to 127.0.0.1, has no dashboard and no usage statistics (set
RAY_USAGE_STATS_ENABLED=1 to turn them back on). A cluster is joined through `--address`, the
config's `ray.address`, or $RAY_ADDRESS, in that order.
"""

from __future__ import annotations

import os
import sys
from contextlib import contextmanager
from typing import Iterator

from rlgen.core.config import RayConfig


def gpus_for_device(device: str) -> float:
    """GPUs a Ray task or actor training or playing on `device` must ask for.

    Ray hides every GPU from a task that asked for none (it sets CUDA_VISIBLE_DEVICES to ""), so
    `cuda[:N]` asks for one, `auto` asks for one where the cluster has any (else it would fall
    back to the CPU silently even on a GPU node), and `cpu` asks for none. Ray must be running.
    """
    import ray

    if device.startswith("cuda"):
        return 1.0
    if device == "auto" and ray.cluster_resources().get("GPU", 0) > 0:
        return 1.0
    return 0.0


@contextmanager
def ray_session(config: RayConfig, address: str | None = None) -> Iterator[None]:
    """Use the running Ray if there is one; otherwise start (and at the end stop) one."""
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    import ray

    if ray.is_initialized():
        yield
        return
    address = address or config.address or os.environ.get("RAY_ADDRESS")
    if address:
        ray.init(address=address, log_to_driver=True, logging_level="WARNING")
    else:
        ray.init(
            num_cpus=config.num_cpus,
            include_dashboard=False,
            dashboard_host="127.0.0.1",
            _node_ip_address="127.0.0.1",
            log_to_driver=True,
            logging_level="WARNING",
            configure_logging=True,
        )
    try:
        yield
    finally:
        ray.shutdown()


def task_error_cause(exc: BaseException) -> BaseException:
    """The exception a Ray task or actor method raised, out of the `RayTaskError`(s) wrapping it;
    `exc` itself when it is no Ray task error. Ray's wrapper prints the remote traceback as its
    message; the command line says the cause in one line instead (a full disk, a locked folder,
    a corrupt file)."""
    ray_exceptions = sys.modules.get("ray.exceptions")
    if ray_exceptions is None:  # Ray never imported: no Ray error possible
        return exc
    while isinstance(exc, ray_exceptions.RayTaskError) and isinstance(exc.cause, BaseException):
        exc = exc.cause
    return exc
