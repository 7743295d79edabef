"""The data directory's one precedence rule (`rlgen.core.data_dir`), as configs, commands and
`load_dataset` apply it: explicit > $RLGEN_DATA_DIR > the config's data_dir > ./data."""

from pathlib import Path

from rlgen.core.config import ExperimentConfig
from rlgen.core.data_dir import resolve_data_dir
from rlgen.data.dataset import resolve_dataset_path


def test_explicit_beats_the_variable_which_beats_the_config(tmp_path, monkeypatch):
    monkeypatch.setenv("RLGEN_DATA_DIR", str(tmp_path / "from-env"))
    assert resolve_data_dir(tmp_path / "flag", configured="cfg") == tmp_path / "flag"
    assert resolve_data_dir(None, configured="cfg") == tmp_path / "from-env"
    config = ExperimentConfig(data_dir=str(tmp_path / "cfg"))
    assert config.dataset_dir() == tmp_path / "from-env" / config.dataset_name
    assert resolve_dataset_path("some-name", tmp_path / "flag") == tmp_path / "flag" / "some-name"
    assert resolve_dataset_path("some-name") == tmp_path / "from-env" / "some-name"


def test_without_the_variable_the_config_then_dot_data(tmp_path, monkeypatch):
    monkeypatch.delenv("RLGEN_DATA_DIR", raising=False)
    config = ExperimentConfig(data_dir=str(tmp_path / "cfg"))
    assert config.dataset_dir() == tmp_path / "cfg" / config.dataset_name
    assert resolve_data_dir() == Path("data")
    monkeypatch.setenv("RLGEN_DATA_DIR", "")  # set but empty: as if unset
    assert resolve_data_dir(configured="cfg") == Path("cfg")
