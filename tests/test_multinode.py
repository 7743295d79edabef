"""A real two-node Ray cluster on this machine: collection spans both nodes and survives losing one.

The head and the worker are separate `ray start --block` processes, each the leader of its own
process group, so tearing a node down is killing its group, and losing a node is SIGKILL to
the worker's raylet (its workers exit with it). Loopback addresses stay loopback only inside a
loopback-only network namespace (run the tests under ../shared/bin/offline). The head is
127.0.0.1 and the worker 127.0.0.2 (both on `lo`): a driver joins the raylet whose IP matches
this host's, and with one IP for both nodes Ray picks either, so a driver could sit on the node
the test kills. The head checks raylets every 200 ms and gives up after 3 failed checks of
500 ms, so a dead node is noticed in about a second instead of Ray's default of about 15.

The collecting driver is a child process (`rlgen collect --address ...`): this test process
may already hold the suite's embedded Ray (the `ray_local` fixture), and a process joins one
Ray cluster at a time.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

from rlgen.core.config import load_config
from rlgen.data.shards import DIGEST_SUFFIX

RAY = str(Path(sys.executable).with_name("ray"))
HEAD_PORT = 26379  # GCS; node ports below, all under the ephemeral range and above Ray's default worker ports
HEALTH_CHECK_ENV = {
    "RAY_health_check_initial_delay_ms": "0",
    "RAY_health_check_period_ms": "200",
    "RAY_health_check_timeout_ms": "500",
    "RAY_health_check_failure_threshold": "3",
}
OVERRIDES = [
    "levels.train=5",
    "collect.policy={name: random}",
    "collect.transitions=80000",
    "collect.shard_transitions=10000",
    "collect.envs_per_worker=8",
    "collect.num_workers=2",
]


def _node_ports(base: int) -> list[str]:
    """Distinct ports per node: two raylets on one IP must not ask for the same ones."""
    return [
        "--node-manager-port", str(base), "--object-manager-port", str(base + 1),
        "--dashboard-agent-listen-port", str(base + 2), "--dashboard-agent-grpc-port", str(base + 3),
        "--metrics-export-port", str(base + 4), "--runtime-env-agent-port", str(base + 5),
        "--min-worker-port", str(base + 100), "--max-worker-port", str(base + 199),
    ]  # fmt: skip


class TwoNodeCluster:
    """A head and a worker node, each `num_cpus` CPUs, started with `ray start` on 127.0.0.1."""

    def __init__(self, num_cpus: int = 1, nodes: int = 2) -> None:
        self.num_cpus = num_cpus
        self.nodes = nodes
        self.address = f"127.0.0.1:{HEAD_PORT}"
        self.temp_dir = tempfile.mkdtemp(prefix="rlgen-mn-", dir="/tmp")  # short: socket paths are limited
        self.env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", **HEALTH_CHECK_ENV}
        self.groups: list[subprocess.Popen] = []

    def _start(self, args: list[str], log: str, base_port: int, ip: str = "127.0.0.1") -> subprocess.Popen:
        common = ["--node-ip-address", ip, "--num-cpus", str(self.num_cpus),
                  "--object-store-memory", "100000000", "--disable-usage-stats", "--block"]  # fmt: skip
        proc = subprocess.Popen(
            [RAY, "start", *args, *common, *_node_ports(base_port)], env=self.env, start_new_session=True,
            stdout=open(Path(self.temp_dir) / log, "w"), stderr=subprocess.STDOUT,
        )  # fmt: skip
        self.groups.append(proc)
        return proc

    def alive_nodes(self) -> list[str]:
        from ray._raylet import GcsClient

        infos = GcsClient(address=self.address).get_all_node_info(timeout=5)
        return [node_id.hex() for node_id, info in infos.items() if info.state == 0]  # 0: ALIVE

    def wait_for_nodes(self, count: int, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for proc in self.groups:
                if proc.poll() is not None:
                    raise RuntimeError(f"`ray start` exited: {self.logs()}")
            try:
                if len(self.alive_nodes()) == count:
                    return
            except Exception:  # the GCS is not up yet
                pass
            time.sleep(0.3)
        raise TimeoutError(f"{count} nodes never came up: {self.logs()}")

    def logs(self) -> str:
        return "\n".join(p.read_text()[-2000:] for p in Path(self.temp_dir).glob("*.log"))

    def __enter__(self) -> TwoNodeCluster:
        try:
            self._start(["--head", "--port", str(HEAD_PORT), "--temp-dir", self.temp_dir, "--include-dashboard", "false"], "head.log", 27000)
            self.wait_for_nodes(1)
            self.head_node = self.alive_nodes()[0]
            for k in range(1, self.nodes):
                self._start(["--address", self.address], f"worker{k}.log", 27000 + 1000 * k, ip=f"127.0.0.{1 + k}")
            self.wait_for_nodes(self.nodes)
            # A driver joins the raylet whose IP this host's session records; the last `ray start`
            # wrote its own. Record the head's again, so drivers never run on a node that dies.
            from ray._private.services import write_node_ip_address

            write_node_ip_address(str(Path(self.temp_dir) / "session_latest"), "127.0.0.1")
        except BaseException:
            self.__exit__()
            raise
        return self

    def kill_worker_raylet(self) -> int:
        """SIGKILL the raylet of the (first) worker node: the node is lost, as when a machine dies."""
        worker = self.groups[1]
        out = subprocess.run(["ps", "-o", "pid=,comm=", "-g", str(worker.pid)], capture_output=True, text=True).stdout
        pids = [int(line.split()[0]) for line in out.splitlines() if line.split()[1:] == ["raylet"]]
        assert len(pids) == 1, out
        os.kill(pids[0], signal.SIGKILL)
        return pids[0]

    def __exit__(self, *exc) -> None:
        for proc in reversed(self.groups):
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait()
        shutil.rmtree(self.temp_dir, ignore_errors=True)


def collect_command(address: str, overrides: list[str]) -> list[str]:
    args = [sys.executable, "-m", "rlgen.cli", "collect", "configs/quickstart.yaml", "--quiet", "--address", address]
    for override in overrides:
        args += ["--set", override]
    return args


@pytest.mark.slow
def test_collection_spans_two_nodes_and_survives_losing_one(tmp_path):
    from rlgen.collect import collect_shard
    from rlgen.data import load_dataset

    config = load_config("configs/quickstart.yaml", OVERRIDES)
    shards = config.dataset_dir() / "shards"
    with TwoNodeCluster(num_cpus=1) as cluster:
        driver = subprocess.Popen(
            collect_command(cluster.address, OVERRIDES), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env={**os.environ, "PYTHONFAULTHANDLER": "1"},  # SIGABRT on a hang prints every thread's stack
        )  # fmt: skip
        lost: dict = {}

        def lose_the_worker_node() -> None:
            """Once the first shard has landed (both collectors are mid-shard), kill the worker's raylet."""
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and driver.poll() is None and not list(shards.glob("shard-*.npz")):
                time.sleep(0.05)
            if driver.poll() is None:
                lost["raylet"] = cluster.kill_worker_raylet()
                lost["at"] = time.monotonic()

        killer = threading.Thread(target=lose_the_worker_node)
        killer.start()
        try:
            _, err = driver.communicate(timeout=150)
        except subprocess.TimeoutExpired:
            driver.send_signal(signal.SIGABRT)
            pytest.fail(f"collection hung after the node loss {lost}:\n{driver.communicate()[1][-6000:]}")
        killer.join()
        assert driver.returncode == 0, err
        assert lost, "collection finished before the worker node could be lost"
        assert len(cluster.alive_nodes()) == 1  # the head noticed the loss
    # A shard was in flight on the dead node (so collection did run on both) and was redone.
    assert "collecting it again" in err, err

    dataset = load_dataset(config.dataset_dir())  # verifies every checksum
    manifest = dataset.manifest
    assert manifest.transitions == config.collect.transitions
    assert [s.name for s in manifest.shards] == [f"shard-{i:05d}.npz" for i in range(config.collect.num_shards)]
    # No strays, no extras: each shard and the digest its writer kept beside it (DIGEST_SUFFIX).
    expected = sorted(n for s in manifest.shards for n in (s.name, s.name + DIGEST_SUFFIX))
    assert sorted(p.name for p in shards.iterdir()) == expected
    # Shards are deterministic: the two-node dataset is byte for byte a single-process collection.
    (tmp_path / "single").mkdir()
    for index, shard in enumerate(manifest.shards):
        assert collect_shard(config, index, tmp_path / "single").sha256 == shard.sha256
        assert (tmp_path / "single" / shard.name).read_bytes() == (shards / shard.name).read_bytes()


def measure(reps: int = 3, shards: int = 16) -> dict:
    """README's cluster figures: collection on 1 node vs 2 (1 CPU each), and with the worker lost.

    Each run is a fresh cluster and a fresh dataset; the loss run kills the worker's raylet once
    3 shards have landed. Run: `../shared/bin/offline .venv/bin/python tests/test_multinode.py`.
    """
    import json

    base = [*OVERRIDES[:2], f"collect.transitions={10000 * shards}", "collect.shard_transitions=10000", "collect.envs_per_worker=8"]
    results: dict[str, list] = {"one_node_s": [], "two_nodes_s": [], "two_nodes_loss_s": [], "detect_s": []}
    for rep in range(reps):
        for key, nodes, kill in (("one_node_s", 1, False), ("two_nodes_s", 2, False), ("two_nodes_loss_s", 2, True)):
            data = tempfile.mkdtemp(prefix="rlgen-measure-")
            os.environ["RLGEN_DATA_DIR"] = data
            overrides = [*base, f"collect.num_workers={nodes}"]
            shard_dir = load_config("configs/quickstart.yaml", overrides).dataset_dir() / "shards"
            with TwoNodeCluster(num_cpus=1, nodes=nodes) as cluster:
                started = time.monotonic()
                driver = subprocess.Popen(collect_command(cluster.address, overrides), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
                killed = detected = None
                while driver.poll() is None:
                    if kill and killed is None and shard_dir.exists() and len(list(shard_dir.glob("shard-*.npz"))) >= 3:
                        cluster.kill_worker_raylet()
                        killed = time.monotonic()
                    if killed and detected is None and len(cluster.alive_nodes()) == 1:
                        detected = time.monotonic()
                    time.sleep(0.05)
                assert driver.returncode == 0, driver.stderr.read()[-2000:]
                results[key].append(round(time.monotonic() - started, 1))
                if detected:
                    results["detect_s"].append(round(detected - killed, 2))
            shutil.rmtree(data, ignore_errors=True)
            print(key, results[key][-1], flush=True)
    ratios = sorted(a / b for a, b in zip(results["one_node_s"], results["two_nodes_s"]))
    costs = sorted(a - b for a, b in zip(results["two_nodes_loss_s"], results["two_nodes_s"]))
    summary = {**results, "speedup_2_over_1_median": round(ratios[len(ratios) // 2], 2),
               "node_loss_cost_s_median": round(costs[len(costs) // 2], 1)}  # fmt: skip
    print(json.dumps(summary, indent=1))
    return summary


if __name__ == "__main__":
    measure(reps=int(sys.argv[1]) if len(sys.argv) > 1 else 3, shards=int(sys.argv[2]) if len(sys.argv) > 2 else 16)
