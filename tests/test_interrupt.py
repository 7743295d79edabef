"""A real Ctrl-C during `rlgen collect`: nothing partial is left, and rerunning completes exactly."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rlgen.core.config import load_config

OVERRIDES = [
    "levels.train=5",
    "collect.policy={name: random}",
    "collect.transitions=200000",
    "collect.shard_transitions=5000",
    "collect.envs_per_worker=8",
    "collect.num_workers=2",
]


def _collect_command(data_dir: Path) -> list[str]:
    args = [sys.executable, "-m", "rlgen.cli", "collect", "configs/quickstart.yaml", "--quiet"]
    for override in [*OVERRIDES, f"data_dir={data_dir}"]:
        args += ["--set", override]
    return args


@pytest.mark.slow
def test_ctrl_c_then_rerun_completes_the_same_dataset(tmp_path, monkeypatch):
    monkeypatch.delenv("RLGEN_DATA_DIR")
    config = load_config("configs/quickstart.yaml", [*OVERRIDES, f"data_dir={tmp_path}"])
    shards = tmp_path / config.dataset_name / "shards"
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}
    env.pop("RLGEN_DATA_DIR", None)
    # A shell's background job starts with SIGINT ignored, and Python then keeps ignoring it:
    # give the child the default disposition, as a terminal's foreground job has.
    proc = subprocess.Popen(
        _collect_command(tmp_path), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(list(shards.glob("shard-*.npz"))) < 2:
        time.sleep(0.2)
    assert len(list(shards.glob("shard-*.npz"))) >= 2, "collection never wrote a shard"
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "rerun the same command to resume" in err
    written = sorted(shards.glob("shard-*.npz"))
    assert len(written) < config.collect.num_shards
    assert not (tmp_path / config.dataset_name / "manifest.json").exists()

    done = subprocess.run(_collect_command(tmp_path), env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    from rlgen.data import load_dataset

    dataset = load_dataset(tmp_path / config.dataset_name)  # verifies every checksum
    assert dataset.manifest.transitions == 200000 and len(dataset.manifest.shards) == 40
    assert not list(shards.glob(".tmp-*"))
    # the resumed dataset is the uninterrupted one: shard i depends only on (config, i)
    from rlgen.collect import collect_shard

    (tmp_path / "check").mkdir()
    last = config.collect.num_shards - 1
    assert collect_shard(config, last, tmp_path / "check").sha256 == dataset.manifest.shards[last].sha256


@pytest.mark.slow
def test_killed_actor_is_replaced_and_the_dataset_is_exact(ray_local, tmp_path):
    """SIGKILL one collecting actor mid-run: Ray restarts it, its shard is collected again."""
    import threading

    from rlgen.collect import collect_dataset, collect_shard

    config = load_config("configs/quickstart.yaml", [*OVERRIDES, "collect.transitions=100000"])
    shards = config.dataset_dir() / "shards"
    killed = []

    def kill_one_actor() -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not list(shards.glob("shard-*.npz")):
            time.sleep(0.1)
        pids = subprocess.run(["pgrep", "-f", "ray::ShardCollector"], capture_output=True, text=True).stdout.split()
        if pids:
            os.kill(int(pids[0]), signal.SIGKILL)
            killed.append(int(pids[0]))

    killer = threading.Thread(target=kill_one_actor)
    killer.start()
    dataset = collect_dataset(config, progress=False)
    killer.join()
    assert killed, "no collecting actor was found to kill"
    assert dataset.manifest.transitions == 100000 and len(dataset.manifest.shards) == 20
    assert not list(shards.glob(".tmp-*"))
    (tmp_path / "check").mkdir()
    for index in (0, 19):
        assert collect_shard(config, index, tmp_path / "check").sha256 == dataset.manifest.shards[index].sha256
