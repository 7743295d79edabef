"""The dataset card (README.md in every dataset folder) on a real collection: what it says, that
its loading instructions run as written, and that `verify` takes it in its stride."""

from __future__ import annotations

import re
import shutil
import sys

from rlgen.cli import main
from rlgen.data import reference_reader
from rlgen.data.card import CARD_NAME, dataset_card
from rlgen.data.dataset import load_dataset
from rlgen.data.manifest import manifest_sha256


def _code_blocks(card: str, language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", card, flags=re.S)


def test_collection_writes_a_card_that_says_what_the_data_is(collected):
    card = (collected.root / CARD_NAME).read_text()
    m = collected.manifest
    sha256 = manifest_sha256(collected.root)
    assert card == dataset_card(m, sha256)  # a function of the manifest: rewriting gives the same file
    assert card.startswith(f"# {collected.name}\n")
    skill = m.behaviour["skill"]
    assert f"1,500 transitions in {m.episodes:,} episodes of Procgen maze (easy mode), played by the `random` behaviour" in card
    assert f"mean return {skill['mean_return']:.3f} [95% CI {skill['mean_return_ci95'][0]:.3f}" in card
    for row in ("| train | [0, 5) | 5 |", "| validation | [1000000, 1000100) | 100 |", "| test | [2000000, 2000200) | 200 |"):
        assert row in card
    assert "This dataset: MIT" in card and "Procgen (OpenAI, MIT licence)" in card
    assert "@inproceedings{mediratta2024generalization" in card and "@inproceedings{cobbe2020leveraging" in card
    assert f"manifest sha256: `{sha256}`" in card and f"- seed: {m.seed}" in card
    assert m.provenance["git_revision"] in card and '"shard_transitions": 600' in card


def test_the_cards_loading_instructions_run_as_written(collected, monkeypatch, tmp_path):
    card = (collected.root / CARD_NAME).read_text()
    with_rlgen, data_alone = _code_blocks(card, "python")[:2]
    monkeypatch.setenv("RLGEN_DATA_DIR", str(collected.root.parent))  # the card loads it by name
    scope: dict = {}
    exec(with_rlgen, scope)
    from_api = scope["buffer"]
    assert from_api.transition_count > 0 and scope["test_env"].spec.kwargs["start_level"] == 2_000_000
    exec(data_alone, scope)
    assert scope["buffer"].transition_count == from_api.transition_count
    # the reference reader, as a file copied next to the user's code
    shutil.copy(reference_reader.__file__, tmp_path / "reference_reader.py")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "reference_reader", raising=False)
    exec(_code_blocks(card, "python")[2].replace("path/to/", f"{collected.root.parent}/"), scope)
    assert [record["name"] for record, _ in scope["shards"]] == [s.name for s in collected.manifest.shards]


def test_verify_keeps_a_card_and_writes_a_missing_one(collected, tmp_path, capsys):
    root = tmp_path / collected.name
    shutil.copytree(collected.root, root)
    card = (root / CARD_NAME).read_bytes()
    assert main(["datasets", "verify", str(root)]) == 0  # the extra file is no shard: verify ignores it
    assert "3 shards verified" in capsys.readouterr().out and (root / CARD_NAME).read_bytes() == card
    assert load_dataset(root).sha256 == collected.sha256
    (root / CARD_NAME).unlink()  # a dataset built before cards
    assert main(["datasets", "verify", str(root)]) == 0
    assert f"wrote the missing dataset card {root / CARD_NAME}" in capsys.readouterr().out
    assert (root / CARD_NAME).read_bytes() == card
