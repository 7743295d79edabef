"""The dataset catalog: one card per dataset of the paper's grid, generated, validated and built.

A card says what a dataset is (environment, game, mode, training levels, behaviour policy and
skill, size, seed, version) and is enough to build it: `DatasetCard.experiment_config()` is the
config `rlgen.collect.collect_dataset` collects from, and the card's `name` must equal the name
that config derives (`ExperimentConfig.dataset_name`), so a card, the folder it builds and every
report citing it agree on one name. Cards are written by `generate_grid` (never by hand) into
`datasets/procgen.yaml`:

    python -m rlgen.catalog generate            # rewrite datasets/procgen.yaml (and README.md's summary table)
    python -m rlgen.catalog generate --check    # exit 1 when either committed file is stale

The grid (Mediratta et al., 2024, ../shared/reference/generalization-gap.md), per game, easy mode:
`headline` 1M expert and 1M mixed transitions on 200 levels; `diversity` 1M expert transitions
from 1, 10, 40, 200 and 1000 levels; `size` 100k, 1M and 10M expert transitions from 200 levels;
`single-level` 100k expert and 100k mixed transitions from one level. A dataset in several parts
(1M expert on 200 levels) is one card listing them all. Training levels are always [0, N), so the
single-level sets play level 0 (the paper used level 1 or 40).

Behaviour comes from what the behaviour registry (`rlgen.policies.registry`) offers when the
catalog is generated: of the `EXPERT_PREFERENCE` names that play the game (the saved-state
`planner` plays maze, heist and coinrun; the generic saved-state `search` expert plays all 16),
the one with the highest mean return that `bench/bench_experts.py` measured, or the first when
none was measured. That is the planner for maze and heist, and search for coinrun (10.0 against
9.0, and about 30 times faster). Both sample their actions by default (stochastic, like the
paper's PPO), so more transitions from the same levels hold new frames. A game neither plays is an error, never a card that cannot be built. PPO stays
the online reference (`rlgen policy train-ppo`, a GPU's job), not the catalog's data source.
Regenerate the catalog when the registry or the measured returns change (a test fails while the
file is stale). "Mixed" is the paper's 75% of the expert's return, reached with an episode
mixture (`options.mix`: each episode is the expert's with probability p, else random; the dial
that works where the expert recovers from step noise, as the planner does in maze).
p = (0.75 E - R) / (E - R) from expert and random returns E, R (`reference_returns`: measured by
`bench/bench_experts.py` where its results hold the game, else the published PPO expert and
random returns); the dataset's manifest then records the skill *measured* on its own episodes.

`scale` shrinks the grid's sizes by a factor (levels and everything else stay), so the same grid
builds in seconds in tests and in full on a cluster; a scaled card gets the name its smaller
config derives (`...-1M-...` at scale 0.001 is `...-1k-...`) and remembers its full-size card.
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

import yaml

from rlgen.core.config import BehaviourConfig, CollectConfig, EnvConfig, ExperimentConfig, LevelsConfig, read_yaml
from rlgen.core.games import GAMES, check_game
from rlgen.core.typed import ConfigError, from_dict, to_dict
from rlgen.resources import shipped_dir

CATALOG_FORMAT = 1
DEFAULT_CATALOG_DIR = shipped_dir("datasets")
"""The repository's `datasets/` folder, shipped in the wheel (`rlgen.resources`); cards live beside
the code, never beside the data."""
CATALOG_FILE = "procgen.yaml"

GRID_PARTS = ("headline", "diversity", "size", "single-level")
SKILLS = {"expert": 1.0, "mixed": 0.75}
"""Named skills of the grid as target fractions of the expert's return on the training levels."""
DIVERSITY_LEVELS = (1, 10, 40, 200, 1000)
SIZES = (100_000, 1_000_000, 10_000_000)
BASE_LEVELS = 200
BASE_SIZE = 1_000_000
SINGLE_LEVEL_SIZE = 100_000
SHARD_TRANSITIONS = 25_000

EXPERT_PREFERENCE = ("planner", "search")
"""Registry names that can be a game's expert, in order of preference: measured returns decide
between those that play a game (`expert_for`); the order breaks ties and decides unmeasured games."""

EXPERTS_BENCH = Path(__file__).resolve().parents[1] / "bench" / "results" / "experts.json"
"""`bench/bench_experts.py`'s committed results: each game's expert and random returns, measured."""

PUBLISHED_RETURNS: dict[str, tuple[float, float]] = {
    # game: (PPO expert mean return, uniform random mean return), easy mode
    "bigfish": (36.3, 0.87), "bossfight": (11.6, 0.05), "caveflyer": (9.18, 2.60), "chaser": (9.96, 0.66),
    "climber": (10.2, 2.22), "coinrun": (9.93, 2.70), "dodgeball": (13.5, 0.61), "fruitbot": (29.9, -2.53),
    "heist": (9.69, 3.08), "jumper": (8.46, 3.41), "leaper": (7.41, 2.51), "maze": (9.97, 4.27),
    "miner": (11.9, 1.25), "ninja": (9.47, 2.56), "plunder": (11.5, 4.32), "starpilot": (67.0, 1.53),
}  # fmt: skip
PUBLISHED_SOURCE = "published PPO expert and random returns, ../shared/reference/generalization-gap.md; not yet measured here"


@dataclass(frozen=True)
class EnvCard:
    """The environment: a Procgen game and difficulty."""

    game: str
    mode: str = "easy"

    def __post_init__(self) -> None:
        check_game(self.game, self.mode)


@dataclass(frozen=True)
class BehaviourCard:
    """Who collects the data, and the skill it stands for.

    `policy`, `epsilon` and `options` are `collect.policy` of the config that builds the dataset.
    `skill` is the grid's name for it (`expert`, `mixed`) and `target_fraction` its target share of
    the expert's return on the training levels; the achieved skill is measured at build time and
    recorded in the manifest, never read from here.
    """

    policy: str
    skill: str
    target_fraction: float
    epsilon: float = 0.0
    options: dict = field(default_factory=dict)
    calibration: str | None = None
    """How the mixing parameter was chosen (mixed cards)."""

    def __post_init__(self) -> None:
        if self.skill not in SKILLS:
            raise ConfigError(f"behaviour.skill: unknown skill {self.skill!r}; valid: {', '.join(SKILLS)}")


@dataclass(frozen=True)
class DatasetCard:
    """One dataset of the catalog; see the module docstring. Invalid cards raise `ConfigError`."""

    name: str
    env: EnvCard
    train_levels: int
    behaviour: BehaviourCard
    transitions: int
    shard_transitions: int
    seed: int
    version: int
    grid: tuple[str, ...]
    scale: float = 1.0
    full_name: str | None = None
    """The full-size card's name, on a scaled card."""

    def __post_init__(self) -> None:
        unknown = sorted(set(self.grid) - set(GRID_PARTS))
        if unknown or not self.grid:
            raise ConfigError(f"{self.name}: grid parts {unknown or '[]'} are not valid; valid: {', '.join(GRID_PARTS)}")
        if self.scale <= 0:
            raise ConfigError(f"{self.name}: scale must be positive, got {self.scale}")
        derived = card_config(self).dataset_name
        if derived != self.name:
            raise ConfigError(
                f"card {self.name!r}: its config derives the name {derived!r}; a card's name must be the one rlgen "
                "derives (regenerate the catalog: python -m rlgen.catalog generate)"
            )

    def experiment_config(self, data_dir: str | None = None, num_workers: int | None = None) -> ExperimentConfig:
        """The config that collects this dataset (`rlgen.collect.collect_dataset`)."""
        return card_config(self, data_dir=data_dir, num_workers=num_workers)

    def scaled(self, scale: float) -> DatasetCard:
        """This card with its size (and shard size) times `scale`, named by what it then is."""
        if scale <= 0:
            raise ConfigError(f"--scale must be positive, got {scale}")
        if scale == 1.0:
            return self
        if self.scale != 1.0:
            raise ConfigError(f"{self.name} is already scaled (x{self.scale:g}); scale its full-size card {self.full_name}")
        sizes = CollectConfig(transitions=self.transitions, shard_transitions=self.shard_transitions).scaled(scale)
        fields = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        fields.update(transitions=sizes.transitions, shard_transitions=sizes.shard_transitions)
        return DatasetCard(**{**fields, "name": card_config(fields).dataset_name, "scale": scale, "full_name": self.name})

    def require_buildable(self) -> None:
        """Refuse, before any work, a card whose behaviour the registry lacks or that cannot play its game."""
        from rlgen.policies.registry import check_behaviour

        b = self.behaviour
        check_behaviour(BehaviourConfig(name=b.policy, epsilon=b.epsilon, options=dict(b.options)), self.env.game)

    def to_dict(self) -> dict:
        data = to_dict(self)
        if self.scale == 1.0:
            data.pop("scale")
            data.pop("full_name")
        return data


def card_config(card: DatasetCard | dict, data_dir: str | None = None, num_workers: int | None = None) -> ExperimentConfig:
    """The experiment config a card (or a card's fields, before the card exists) collects with."""
    f = card if isinstance(card, dict) else {k.name: getattr(card, k.name) for k in dataclasses.fields(card)}
    b = f["behaviour"]
    collect = CollectConfig(
        policy=BehaviourConfig(name=b.policy, epsilon=b.epsilon, options=dict(b.options)),
        transitions=f["transitions"],
        shard_transitions=min(f["shard_transitions"], f["transitions"]),
        seed=f["seed"],
        version=f["version"],
        **({"num_workers": num_workers} if num_workers else {}),
    )
    return ExperimentConfig(
        name=f.get("name") or "catalog-card",
        env=EnvConfig(game=f["env"].game, mode=f["env"].mode),
        levels=LevelsConfig(train=f["train_levels"]),
        collect=collect,
        **({"data_dir": data_dir} if data_dir else {}),
    )


# --------------------------------------------------------------------------------------------
# Generating the grid


def expert_for(game: str, results: Path = EXPERTS_BENCH) -> str:
    """The registry name of `game`'s expert: of the `EXPERT_PREFERENCE` names that play it, the one
    with the highest mean return in `bench/bench_experts.py`'s committed `results` (ties, and
    games measured for none of them: the first)."""
    from rlgen.policies.registry import behaviour_names

    candidates = [name for name in EXPERT_PREFERENCE if name in behaviour_names(game)]
    if not candidates:
        raise ConfigError(
            f"no expert plays {game}: none of {', '.join(EXPERT_PREFERENCE)} in the behaviour registry plays it "
            f"(registered for {game}: {', '.join(behaviour_names(game))}); register one, or generate the catalog "
            "for other games (--games)"
        )
    return best_expert(candidates, _measured(results).get(game, {}).get("experts", {}))


def best_expert(candidates: list[str], returns: dict[str, float]) -> str:
    """Of `candidates` (in order of preference), the one with the highest measured mean return in
    `returns` (policy -> return); ties and unmeasured candidates go by the order. `bench/
    bench_experts.py` names its measured expert by this same rule."""
    measured = [name for name in candidates if name in returns]
    if not measured:
        return candidates[0]
    return max(measured, key=lambda name: (returns[name], -candidates.index(name)))


def reference_returns(game: str, results: Path = EXPERTS_BENCH) -> tuple[float, float, str]:
    """(expert mean return E, random mean return R, where they come from) for `game`, easy mode:
    measured by `bench/bench_experts.py` when its committed `results` hold the game's expert
    (`expert_for`) and random play, else the published PPO expert and random returns
    (`PUBLISHED_RETURNS`)."""
    measured = _measured(results).get(game, {})
    expert_return = measured.get("experts", {}).get(expert_for(game, results))
    if expert_return is not None and "random" in measured:
        return expert_return, measured["random"], measured["source"]
    expert_return, random_return = PUBLISHED_RETURNS[game]
    return expert_return, random_return, PUBLISHED_SOURCE


def _measured(results: Path) -> dict[str, dict]:
    """Per game, from `bench/bench_experts.py`'s results: `experts` (policy -> mean return, every
    expert it measured), `random` (random play's mean return) and `source` (where and when)."""
    if not results.exists():
        return {}
    import json

    data = json.loads(results.read_text())
    name = results.relative_to(results.parents[2]).as_posix()
    measured = {}
    for game, figures in data.get("figures", {}).items():
        if not isinstance(figures, dict):
            continue
        experts: dict[str, float] = {}
        for played in (figures.get("expert"), *figures.get("alternatives", {}).values()):
            if isinstance(played, dict) and "mean_return" in played and "policy" in played:
                experts.setdefault(str(played["policy"]), round(float(played["mean_return"]), 2))
        entry: dict = {"experts": experts, "source": f"{name}, training levels [0, {figures.get('levels', '?')}), {data.get('date', 'undated')[:10]}"}
        random = figures.get("random")
        if isinstance(random, dict) and "mean_return" in random:
            entry["random"] = round(float(random["mean_return"]), 2)
        measured[game] = entry
    return measured


def mixture_for(game: str, expert: str, target: float, results: Path = EXPERTS_BENCH) -> tuple[float, str]:
    """Episode-mixture probability p whose expected return is `target` of the expert's, and how p was found.

    Where random play alone already scores `target` of the expert's return (an expert that plays
    the game barely better than chance), no mixture reaches the target: p is then `target`
    itself, a mixed card stays a mixture of the expert and random play, and the text says so."""
    expert_return, random_return, source = reference_returns(game, results)
    returns = f"E = {expert_return:g}, R = {random_return:g} (mean returns of {expert} and of random play: {source})"
    p = round((target * expert_return - random_return) / (expert_return - random_return), 2) if expert_return > random_return else 0.0
    if not 0.0 < p < 1.0:
        return target, (
            f"p = {target:g}: no mixture reaches {target:g} E, since random play already scores R >= {target:g} E with "
            f"{returns}; the measured skill will be near the expert's"
        )
    return p, f"p = ({target:g} E - R) / (E - R) = {p:g} with {returns}"


def _card(game: str, mode: str, levels: int, skill: str, size: int, parts: Iterable[str], seed: int, version: int) -> DatasetCard:
    expert = expert_for(game)
    options: dict = {}
    calibration = None
    if skill != "expert":
        p, calibration = mixture_for(game, expert, SKILLS[skill])
        options["mix"] = p
    behaviour = BehaviourCard(policy=expert, skill=skill, target_fraction=SKILLS[skill], options=options, calibration=calibration)
    fields = dict(
        env=EnvCard(game, mode), train_levels=levels, behaviour=behaviour, transitions=size,
        shard_transitions=min(SHARD_TRANSITIONS, size), seed=seed, version=version, grid=tuple(parts),
    )  # fmt: skip
    return DatasetCard(name=card_config(fields).dataset_name, **fields)


def generate_grid(games: Iterable[str] = GAMES, mode: str = "easy", seed: int = 0, version: int | None = None) -> list[DatasetCard]:
    """Every card of the paper's grid for `games`, in a fixed order (game, then grid position)."""
    version = CollectConfig().version if version is None else version
    cards: list[DatasetCard] = []
    for game in games:
        points: dict[tuple[int, str, int], list[str]] = {}  # (levels, skill, size) -> grid parts, in order

        def add(levels: int, skill: str, size: int, part: str) -> None:
            points.setdefault((levels, skill, size), []).append(part)

        add(BASE_LEVELS, "expert", BASE_SIZE, "headline")
        add(BASE_LEVELS, "mixed", BASE_SIZE, "headline")
        for levels in DIVERSITY_LEVELS:
            add(levels, "expert", BASE_SIZE, "diversity")
        for size in SIZES:
            add(BASE_LEVELS, "expert", size, "size")
        for skill in SKILLS:
            add(1, skill, SINGLE_LEVEL_SIZE, "single-level")
        for (levels, skill, size), parts in points.items():
            cards.append(_card(game, mode, levels, skill, size, parts, seed, version))
    _check_unique(cards)
    return cards


def _check_unique(cards: list[DatasetCard]) -> None:
    seen: dict[str, DatasetCard] = {}
    for card in cards:
        if card.name in seen:
            raise ConfigError(f"two cards share the name {card.name!r} ({seen[card.name].full_name or seen[card.name].name} and {card.full_name or card.name})")
        seen[card.name] = card


# --------------------------------------------------------------------------------------------
# Reading and writing


HEADER = """\
# The dataset catalog: one card per dataset of the generalization-gap paper's grid, 16 Procgen games.
# GENERATED by `python -m rlgen.catalog generate` from the behaviour registry: do not edit by hand;
# regenerate when a behaviour policy is added. Fields: see datasets/README.md and rlgen/catalog.py.
# Build one: rlgen datasets build NAME [--scale F]; see which are built: rlgen datasets list.
"""


def render_catalog(cards: list[DatasetCard]) -> str:
    body = {"format": CATALOG_FORMAT, "cards": [card.to_dict() for card in cards]}
    return HEADER + yaml.safe_dump(body, sort_keys=False, default_flow_style=None, width=200)


README_FILE = "README.md"
SUMMARY_BEGIN = "<!-- BEGIN catalog summary: generated by `python -m rlgen.catalog generate`, do not edit -->"
SUMMARY_END = "<!-- END catalog summary -->"


def render_summary(cards: list[DatasetCard]) -> str:
    """The per-game table `datasets/README.md` shows between its summary markers: each game's
    expert, card count, and the returns its mixed cards are calibrated from."""
    lines = [
        SUMMARY_BEGIN,
        "| game | expert | cards | E (expert) | R (random) | mix p (75%) | E and R from |",
        "|---|---|---|---|---|---|---|",
    ]
    games = list(dict.fromkeys(card.env.game for card in cards))
    for game in games:
        own = [c for c in cards if c.env.game == game]
        experts = ", ".join(sorted({f"`{c.behaviour.policy}`" for c in own}))
        mixes = sorted({c.behaviour.options["mix"] for c in own if "mix" in c.behaviour.options})
        expert_return, random_return, source = reference_returns(game)
        lines.append(
            f"| {game} | {experts} | {len(own)} | {expert_return:g} | {random_return:g} | {', '.join(f'{m:g}' for m in mixes) or '-'} | {source} |"
        )
    return "\n".join([*lines, SUMMARY_END])


def with_summary(readme: str, summary: str, where: Path) -> str:
    """`readme` with the text between its summary markers replaced by `summary`."""
    begin, end = readme.find(SUMMARY_BEGIN), readme.find(SUMMARY_END)
    if begin < 0 or end < begin:
        raise ConfigError(f"{where}: no catalog summary markers ({SUMMARY_BEGIN} ... {SUMMARY_END}); put them back where the table goes")
    return readme[:begin] + summary + readme[end + len(SUMMARY_END):]


class Catalog:
    """Cards by name, read from every `*.yaml` in a catalog folder (or one file)."""

    def __init__(self, cards: list[DatasetCard], source: str = "") -> None:
        _check_unique(cards)
        self.cards = list(cards)
        self.source = source
        self._by_name = {card.name: card for card in cards}

    def __len__(self) -> int:
        return len(self.cards)

    def scaled(self, scale: float) -> Catalog:
        if scale == 1.0:
            return self
        return Catalog([card.scaled(scale) for card in self.cards], f"{self.source} x{scale:g}")

    def find(self, name: str, scale: float = 1.0) -> DatasetCard:
        """The card `name` at `scale`; `name` may be the full-size name or the scaled one."""
        if name in self._by_name:
            return self._by_name[name].scaled(scale)
        scaled = self.scaled(scale)
        if name in scaled._by_name:
            return scaled._by_name[name]
        close = [c.name for c in self.cards if c.env.game in name][:5]
        hint = f"; cards for that game include: {', '.join(close)}" if close else ""
        raise ConfigError(f"no card named {name!r} in the catalog {self.source} (at scale {scale:g}){hint}; list them with `rlgen datasets list`")


def load_catalog(path: str | Path | None = None) -> Catalog:
    """Read and validate the cards in `path` (a folder of `*.yaml` or one file; default: the repo's `datasets/`).

    Every card is checked as it is read (unknown keys, games, skills, and that its name is the
    one its config derives); a card claiming a behaviour the registry lacks is an error too.
    """
    path = Path(path) if path is not None else DEFAULT_CATALOG_DIR
    files = sorted(path.glob("*.yaml")) if path.is_dir() else [path]
    if not files or not files[0].exists():
        raise ConfigError(f"no dataset catalog at {path} (generate it: python -m rlgen.catalog generate --out {path})")
    cards: list[DatasetCard] = []
    for file in files:
        data = read_yaml(file, "dataset catalog")
        if not isinstance(data, dict) or data.get("format") != CATALOG_FORMAT or not isinstance(data.get("cards"), list):
            raise ConfigError(f"{file}: not a dataset catalog (expected `format: {CATALOG_FORMAT}` and a list `cards`)")
        for i, entry in enumerate(data["cards"]):
            try:
                cards.append(from_dict(DatasetCard, entry, f"cards[{i}]"))
            except ConfigError as exc:
                raise ConfigError(f"{file}: {exc}") from exc
    _check_registry(cards)
    return Catalog(cards, str(path))


def _check_registry(cards: list[DatasetCard]) -> None:
    from rlgen.policies.registry import behaviour_names

    for card in cards:
        if card.behaviour.policy not in behaviour_names():
            raise ConfigError(
                f"card {card.name}: behaviour {card.behaviour.policy!r} is not in the behaviour registry "
                f"(valid: {', '.join(behaviour_names())}); regenerate the catalog"
            )


# --------------------------------------------------------------------------------------------
# Building


def build_card(
    card: DatasetCard,
    *,
    address: str | None = None,
    progress: bool = True,
    num_workers: int | None = None,
    rebuild: bool = False,
):
    """Collect `card`'s dataset with Ray (`rlgen.collect.collect_dataset`); returns the `Dataset`.

    Refuses a behaviour the registry lacks before any work. A finished dataset is verified and kept,
    unless `rebuild`: the old folder is then moved aside, and restored if the new build fails, so
    no half-built dataset ever stands under the final name (an interrupted plain build leaves a
    folder without a manifest, which loading refuses and rerunning resumes).
    """
    from rlgen.collect import collect_dataset
    from rlgen.data.manifest import MANIFEST_NAME

    card.require_buildable()
    config = card.experiment_config(num_workers=num_workers)
    root = config.dataset_dir()
    if not rebuild or not root.exists():
        dataset = collect_dataset(config, address=address, progress=progress)
    else:
        if not (root / MANIFEST_NAME).exists():
            shutil.rmtree(root)  # an unfinished build: nothing worth keeping
            return build_card(card, address=address, progress=progress, num_workers=num_workers)
        aside = root.with_name(f".rebuild-{root.name}")
        shutil.rmtree(aside, ignore_errors=True)
        root.rename(aside)
        try:
            dataset = collect_dataset(config, address=address, progress=progress)
        except BaseException:
            shutil.rmtree(root, ignore_errors=True)
            aside.rename(root)
            raise
        shutil.rmtree(aside)
    if dataset.name != card.name:  # the card's name is the config's derived name; a mismatch is a bug
        raise RuntimeError(f"card {card.name} built a dataset named {dataset.name}")
    return dataset


# --------------------------------------------------------------------------------------------
# python -m rlgen.catalog


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rlgen.catalog", description="Generate the dataset catalog (datasets/procgen.yaml).")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("generate", help="write the grid's cards from the behaviour registry")
    p.add_argument("--scale", type=float, default=1.0, help="size factor (the committed catalog is scale 1; cards are scaled again at build time)")
    p.add_argument("--out", default=None, help=f"output file, or - for stdout (default: {DEFAULT_CATALOG_DIR / CATALOG_FILE}; required with --scale)")
    p.add_argument("--games", nargs="+", default=list(GAMES), help="games (default: all 16)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--check", action="store_true", help="do not write; exit 1 if the file differs from what would be written")
    args = parser.parse_args(argv)

    try:
        cards = generate_grid(args.games, seed=args.seed)
        if args.scale != 1.0:
            if args.out is None:
                raise ConfigError("--scale needs --out: the committed catalog stays full size (builds scale it with `rlgen datasets build --scale`)")
            cards = Catalog(cards).scaled(args.scale).cards
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    text = render_catalog(cards)
    if args.out == "-":
        sys.stdout.write(text)
        return 0
    out = Path(args.out) if args.out is not None else DEFAULT_CATALOG_DIR / CATALOG_FILE
    files = {out: text}
    if args.out is None:  # the committed catalog: its README's summary table goes with it
        readme = DEFAULT_CATALOG_DIR / README_FILE
        try:
            files[readme] = with_summary(readme.read_text(), render_summary(cards), readme)
        except ConfigError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    if args.check:
        stale = [path for path, content in files.items() if (path.read_text() if path.exists() else "") != content]
        if stale:
            print(f"{', '.join(map(str, stale))} stale: regenerate with `python -m rlgen.catalog generate`", file=sys.stderr)
            return 1
        print(f"{out} is up to date ({len(cards)} cards)")
        return 0
    from rlgen.data.atomic import atomic_write_bytes

    out.parent.mkdir(parents=True, exist_ok=True)
    for path, content in files.items():
        atomic_write_bytes(path, content.encode())
    policies = collections.Counter(c.behaviour.policy for c in cards)
    print(f"wrote {len(cards)} cards to {out} ({', '.join(f'{n} {name}' for name, n in sorted(policies.items()))})")
    return 0

if __name__ == "__main__":
    sys.exit(main())
