"""The dataset card: a `README.md` in every dataset folder, for the person who finds the folder.

A dataset travels without the code that made it (a copy on a shared disk, a download), so its
folder says what it is, which levels it was built for, its licence, how to load it (with rlgen,
or with the reference reader that needs only numpy and zstandard) and how to cite it.

The card is a function of the manifest's bytes: everything on it is read from `manifest.json`
(and its sha256), nothing from the machine or the checkout that writes it, save rlgen's
repository address (`repository_url`, from the package's metadata), so rewriting it gives the
same file. It is written atomically right after the manifest wherever a
dataset is finished (`rlgen.data.writer.write_manifest`: collection, imports, derived variants)
and written again by `rlgen datasets verify` when it is missing (datasets built before cards).
`verify` never reads it: the manifest and the shards are the data; the card only describes them.
"""

from __future__ import annotations

import errno
import json
from importlib import metadata
from pathlib import Path

from rlgen.data.atomic import atomic_write_bytes
from rlgen.data.manifest import MANIFEST_NAME, DatasetManifest, describe_diversity, frame_diversity, manifest_sha256

CARD_NAME = "README.md"
DATA_LICENCE = "MIT"
"""The licence of the data rlgen writes: rlgen's own (pyproject's `license`)."""
REFERENCE_READER = "rlgen/data/reference_reader.py"

_PROCGEN = (
    "Procgen (Cobbe et al., 2020)",
    "Frames are rendered by Procgen (OpenAI, MIT licence); see Procgen's repository for the terms of its game art.",
)
_WORLDS = {  # kind -> (what the environment is, where it comes from and its licence)
    "procgen": _PROCGEN,
    "procgen_maze_stitch": (
        "the stitching track on Procgen maze levels (rlgen; Ghugare et al., 2024)",
        "Maze layouts come from Procgen (OpenAI, MIT licence); the stitching tasks are rlgen's (MIT).",
    ),
    "stitch_maze": (
        "rlgen's goal-conditioned stitching maze (Ghugare et al., 2024)",
        "The environment is rlgen's own (MIT).",
    ),
    "webshop": (
        "rlgen's WebShop-compatible shopping environment (Yao et al., 2022)",
        "The environment is rlgen's re-implementation (MIT); product data from the original WebShop files keeps its own terms.",
    ),
}
_PAPERS = {
    "mediratta2024": """@inproceedings{mediratta2024generalization,
  title     = {The Generalization Gap in Offline Reinforcement Learning},
  author    = {Mediratta, Ishita and You, Qingfei and Jiang, Minqi and Raileanu, Roberta},
  booktitle = {International Conference on Learning Representations (ICLR)},
  year      = {2024}
}""",
    "cobbe2020": """@inproceedings{cobbe2020leveraging,
  title     = {Leveraging Procedural Generation to Benchmark Reinforcement Learning},
  author    = {Cobbe, Karl and Hesse, Christopher and Hilton, Jacob and Schulman, John},
  booktitle = {International Conference on Machine Learning (ICML)},
  year      = {2020}
}""",
    "ghugare2024": """@inproceedings{ghugare2024closing,
  title     = {Closing the Gap between {TD} Learning and Supervised Learning -- A Generalisation Point of View},
  author    = {Ghugare, Raj and Geist, Matthieu and Berseth, Glen and Eysenbach, Benjamin},
  booktitle = {International Conference on Learning Representations (ICLR)},
  year      = {2024}
}""",
    "yao2022": """@inproceedings{yao2022webshop,
  title     = {{WebShop}: Towards Scalable Real-World Web Interaction with Grounded Language Agents},
  author    = {Yao, Shunyu and Chen, Howard and Yang, John and Narasimhan, Karthik},
  booktitle = {Advances in Neural Information Processing Systems (NeurIPS)},
  year      = {2022}
}""",
}
_CITED = {
    "procgen": ("mediratta2024", "cobbe2020"),
    "procgen_maze_stitch": ("ghugare2024", "cobbe2020"),
    "stitch_maze": ("ghugare2024",),
    "webshop": ("yao2022", "mediratta2024"),
}


def world_kind(manifest: DatasetManifest) -> str:
    """`procgen` for Procgen data (its env records a game), else the world's recorded kind."""
    return "procgen" if "game" in manifest.env else str(manifest.env.get("kind", "unknown"))


def repository_url() -> str | None:
    """The rlgen repository's address, from the installed package's metadata (pyproject's
    `[project.urls]`: Repository, Source or Homepage); None when it records none."""
    try:
        urls = metadata.metadata("rlgen").get_all("Project-URL") or []
    except metadata.PackageNotFoundError:
        return None
    found = dict(u.split(", ", 1) for u in urls if ", " in u)
    return next((found[k].rstrip("/") for k in ("Repository", "Source", "Homepage") if k in found), None)


def code_permalink(manifest: DatasetManifest) -> str:
    """The code that wrote the data: the repository at the git revision the manifest records
    (`-dirty`: that revision had uncommitted changes, so the link is only close)."""
    revision = str(manifest.provenance.get("git_revision", "unknown"))
    url = repository_url()
    if url is None:
        return f"rlgen git revision {revision} (no repository address in rlgen's package metadata)"
    return f"{url}/tree/{revision.removesuffix('-dirty')}" + (" (with uncommitted changes)" if revision.endswith("-dirty") else "")


def describe(manifest: DatasetManifest) -> str:
    """One paragraph: environment, behaviour and its measured skill, size, training levels."""
    m = manifest
    kind = world_kind(m)
    env = f"Procgen {m.game} ({m.mode} mode)" if kind == "procgen" else _WORLDS.get(kind, (kind, ""))[0]
    behaviour = m.behaviour.get("label", m.behaviour.get("name", "unknown"))
    skill = m.behaviour.get("skill", {})
    measured = (
        f", whose measured mean return on these training levels is {skill['mean_return']:.2f} "
        f"(95% CI [{skill['mean_return_ci95'][0]:.2f}, {skill['mean_return_ci95'][1]:.2f}], {skill['episodes']:,} full episodes"
        + (f"; normalized {skill['normalized_mean_return']:.3f}" if "normalized_mean_return" in skill else "")
        + ")"
        if skill.get("episodes")
        else ""
    )
    return (
        f"{m.transitions:,} transitions in {m.episodes:,} episodes of {env}, played by the `{behaviour}` "
        f"behaviour policy{measured}, on training levels {m.levels.train} ({m.levels.train.count:,} levels)."
    )


def dataset_card(manifest: DatasetManifest, sha256: str) -> str:
    """The card's Markdown for `manifest`, whose manifest.json has sha256 `sha256`."""
    m = manifest
    kind = world_kind(m)
    source = _WORLDS.get(kind, (kind, "See the environment's own terms."))[1]
    behaviour = {k: v for k, v in m.behaviour.items() if k != "skill"}
    skill = m.behaviour.get("skill", {})
    revision = m.provenance.get("git_revision", "unknown")
    rlgen_version = m.provenance.get("packages", {}).get("rlgen", "unknown")
    cite = [
        "@misc{rlgen,\n  title  = {rlgen: a benchmark for generalization in offline reinforcement learning},\n"
        f"  note   = {{dataset {m.name}, manifest sha256 {sha256}, rlgen {rlgen_version}, git revision {revision}}},\n"
        f"  howpublished = {{{code_permalink(m)}}}\n}}",
        *(_PAPERS[key] for key in _CITED.get(kind, ())),
    ]
    lines = [
        f"# {m.name}",
        "",
        "Written by rlgen from `manifest.json`; rewrite it with `rlgen datasets verify <this folder>` if it is deleted.",
        "",
        "## What it is",
        "",
        describe(m),
        "",
        "| | |",
        "|---|---|",
        f"| environment | `{json.dumps(m.env, sort_keys=True)}` |",
        f"| behaviour | `{json.dumps(behaviour, sort_keys=True)}` |",
        f"| skill (measured) | {_skill_text(skill)} |",
        f"| data variety | {describe_diversity(frame_diversity(m))} |",
        f"| transitions | {m.transitions:,} |",
        f"| episodes | {m.episodes:,} (their returns and lengths are listed per shard in `manifest.json`) |",
        f"| shards | {len(m.shards)} in `shards/` |",
        "",
        "## Level splits",
        "",
        "The data comes from the training levels only. The validation and test levels are the unseen",
        "blocks it was built to be evaluated on: never train on them, and select checkpoints on validation only.",
        "",
        "| split | levels | count |",
        "|---|---|---|",
        *(f"| {split} | {m.levels[split]} | {m.levels[split].count:,} |" for split in ("train", "validation", "test")),
        "",
        "## Licence",
        "",
        f"This dataset: {DATA_LICENCE}, the licence of rlgen, which generated it. {source}",
        "",
        "## How to load it",
        "",
        "With rlgen:",
        "",
        *(_procgen_load_lines(m) if kind == "procgen" else []),
        "```python",
        "from rlgen.data import load_dataset",
        f'dataset = load_dataset("{m.name}")  # by name under $RLGEN_DATA_DIR (default ./data), or this folder\'s path; checks every sha256',
        "buffer = dataset.to_d3rlpy()  # or dataset.episodes(), or dataset.sampler(seed) for data larger than memory",
        "```",
        "",
        f"Without rlgen (numpy and zstandard only): the reference reader `{REFERENCE_READER}` of the rlgen",
        "repository, one file to copy; the format is specified in its `FORMAT.md`.",
        "",
        "```python",
        "from reference_reader import read_dataset",
        f'manifest, shards = read_dataset("path/to/{m.name}")  # [(shard record, arrays)], every sha256 checked',
        "```",
        "",
        "## How to cite",
        "",
        "```bibtex",
        "\n\n".join(cite),
        "```",
        "",
        "## Provenance",
        "",
        f"- manifest sha256: `{sha256}` (results cite the dataset by it)",
        f"- format: shard format 1, manifest format {m.format_version} (`FORMAT.md`)",
        f"- code: rlgen {rlgen_version}; {code_permalink(m)}",
        f"- seed: {m.seed}",
        f"- packages: {', '.join(f'{k} {v}' for k, v in sorted(m.provenance.get('packages', {}).items()))}",
        "- config, as the manifest records it:",
        "",
        "```json",
        json.dumps(m.config, indent=1, sort_keys=True),
        "```",
        "",
    ]
    return "\n".join(lines)


def _procgen_load_lines(m: DatasetManifest) -> list[str]:
    """The dataset with envs on its exact splits (`rlgen.make_env_and_dataset`), and one such env by hand."""
    test = m.levels.test
    return [
        "```python",
        "import rlgen",
        f'buffer, train_env, validation_env, test_env = rlgen.make_env_and_dataset("{m.name}")',
        f'# one env by hand: gymnasium.make("rlgen/procgen-{m.game}-v0", mode="{m.mode}", start_level={test.start}, num_levels={test.count})',
        "```",
        "",
        "Or the data alone:",
        "",
    ]


def _skill_text(skill: dict) -> str:
    if not skill.get("episodes"):
        return "not measured (no full episode)"
    low, high = skill["mean_return_ci95"]
    normalized = f", normalized {skill['normalized_mean_return']:.3f}" if "normalized_mean_return" in skill else ""
    return (
        f"mean return {skill['mean_return']:.3f} [95% CI {low:.3f}, {high:.3f}]{normalized}, mean length "
        f"{skill['mean_length']:.1f}, over {skill['episodes']:,} full episodes on {skill.get('measured_on', 'the training levels')}"
    )


def write_card(folder: Path, manifest: DatasetManifest | None = None) -> Path:
    """Write `folder/README.md` atomically from the folder's manifest (read when not given)."""
    folder = Path(folder)
    manifest = manifest or DatasetManifest.read(folder)
    path = folder / CARD_NAME
    atomic_write_bytes(path, dataset_card(manifest, manifest_sha256(folder)).encode())
    return path


def ensure_card(folder: Path, manifest: DatasetManifest | None = None) -> Path | None:
    """Write the card if the dataset at `folder` has none (a dataset built before cards); the path
    written, or None when one was there. A folder that cannot be written (a read-only copy) is left
    as it is: the card describes the data, it is not part of it."""
    folder = Path(folder)
    if (folder / CARD_NAME).exists() or not (folder / MANIFEST_NAME).exists():
        return None
    try:
        return write_card(folder, manifest)
    except OSError as exc:
        if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
            return None
        raise
