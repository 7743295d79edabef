"""Careless configs are refused when read, with the file and the fix, before any work or Ray.

Each used to give a Python traceback, or to fail only once Ray had started (or to start a 100k
collection with all defaults, for an empty file). Real files, read by the real command line.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from rlgen.cli import main
from rlgen.core.config import ConfigError, load_config

QUICKSTART = Path(__file__).resolve().parents[2] / "configs" / "quickstart.yaml"


def refused(capsys, *argv: str) -> str:
    """Run `rlgen ARGV`, which must fail with exit 2 and one error line before any work."""
    code = main(list(argv))
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.startswith("rlgen: error: ") and "Traceback" not in err
    data_dir = Path(os.environ["RLGEN_DATA_DIR"])
    assert not data_dir.exists() or not any(data_dir.iterdir()), "work started before the config was refused"
    return err


@pytest.mark.parametrize(
    "text, says",
    [
        ("- name: a\n- name: b\n", "holds a list, not a mapping"),
        ("just a string\n", "holds a str, not a mapping"),
        ("", "is empty"),
        ("# only a comment\n\n", "is empty"),
    ],
)
def test_a_config_that_is_no_mapping_is_refused_naming_the_file(tmp_path, capsys, text, says):
    path = tmp_path / "config.yaml"
    path.write_text(text)
    err = refused(capsys, "collect", str(path))
    assert f"config file {path} {says}" in err


def test_an_explicit_empty_mapping_is_all_defaults_on_purpose(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text("{}\n")
    assert load_config(path).collect.transitions == 100_000


@pytest.mark.parametrize(
    "override, says",
    [
        ("device=banana", "device: 'banana' is not a torch device"),
        ("device=cuda:x", "device: 'cuda:x' is not a torch device"),
        ("ray.num_cpus=-2", "ray.num_cpus must be at least 1"),
        ("ray.num_cpus=0", "ray.num_cpus must be at least 1"),
        ("evaluate.levels_per_split=0", "evaluate.levels_per_split must be at least 1"),
        ("evaluate.num_workers=0", "evaluate.num_workers must be at least 1"),
    ],
)
def test_bad_values_are_refused_when_the_config_is_read(capsys, override, says):
    err = refused(capsys, "collect", str(QUICKSTART), "--set", override)
    assert says in err


def test_bad_device_from_the_command_line_and_in_the_file(tmp_path, capsys):
    assert "device: 'banana'" in refused(capsys, "train", str(QUICKSTART), "--device", "banana")
    path = tmp_path / "config.yaml"
    path.write_text("device: banana\n")
    with pytest.raises(ConfigError, match=rf"{path}: device: 'banana' .*'cpu', 'cuda', 'cuda:N' or 'auto'"):
        load_config(path)


@pytest.mark.parametrize("device", ["cpu", "cuda", "cuda:1", "auto", "cpu:0"])
def test_valid_devices_pass(device):
    assert load_config(QUICKSTART, [f"device={device}"]).device == device


def test_a_folder_or_binary_file_as_config_is_refused(tmp_path, capsys):
    assert "is not a file" in refused(capsys, "collect", str(tmp_path))
    path = tmp_path / "config.yaml"
    path.write_bytes(b"\xff\xfe\x00bad")
    assert str(path) in refused(capsys, "collect", str(path))


@pytest.mark.parametrize(
    "override, says",
    [
        ("name=../../escaped", "experiment (`name:`) name '../../escaped' is not a safe name"),
        ("name=/tmp/escaped", "is not a safe name"),
        ("learners=[{algo: bc, label: ../x}]", "learner (`label:` or `algo:`) name '../x' is not a safe name"),
    ],
)
def test_names_that_become_folders_cannot_lead_out_of_the_output_dir(tmp_path, capsys, override, says):
    out = tmp_path / "runs"
    err = refused(capsys, "train", str(QUICKSTART), "--set", f"output_dir={out}", "--set", override)
    assert says in err
    assert not any(tmp_path.rglob("*")), "a folder was made before the name was refused"
