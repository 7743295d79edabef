"""The report stage on synthetic evaluation records whose numbers can be checked by hand.

Fixture: bigfish hard (Cobbe range 0..40, so normalized = return / 40). Every run plays every
level twice; per-level offsets and per-episode offsets sum to zero, so a run's mean normalized
score on a split is exactly its base value below.

- bc (learner, seeds 0-3): train [0.5, 0.6, 0.7, 0.9], validation = train - 0.1, test = train - 0.25
- cql (learner, seeds 0-2): train 0.8 each, validation 0.6 each, test [0.3, 0.5, 0.1]
- random (reference, eval seed 0): 0.1 on every split
"""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rlgen import report
from rlgen.core.games import normalize_returns

DATASET = "procgen/bigfish-hard-L4-random-v0"
SHA = "0f" * 32
LEVELS = {"train": [0, 1, 2, 3], "validation": [1_000_000, 1_000_001], "test": [2_000_000, 2_000_001, 2_000_002, 2_000_003]}
LEVEL_OFFSETS = {"train": [-0.1, 0.1, -0.05, 0.05], "validation": [-0.05, 0.05], "test": [-0.1, 0.1, -0.05, 0.05]}
EPISODE_OFFSETS = [-0.02, 0.02]
BASES = {
    ("bc", "learner"): {
        "train": [0.5, 0.6, 0.7, 0.9],
        "validation": [0.4, 0.5, 0.6, 0.8],
        "test": [0.25, 0.35, 0.45, 0.65],
    },
    ("cql", "learner"): {"train": [0.8, 0.8, 0.8], "validation": [0.6, 0.6, 0.6], "test": [0.3, 0.5, 0.1]},
    ("random", "reference"): {"train": [0.1], "validation": [0.1], "test": [0.1]},
}
PROVENANCE = {
    "git_revision": "abc123-dirty",
    "configs": {"bc": "configs/bc.yaml", "cql": "configs/cql.yaml"},
    "datasets": {DATASET: SHA},
    "packages": {"numpy": "1.26.4", "d3rlpy": "2.8.1"},
    "seeds": [0, 1, 2, 3],
}


def episode(policy, kind, seed, split, level, ep, normalized, game="bigfish", mode="hard", dataset=DATASET, sha=SHA):
    low, high = {"bigfish": (0.0, 40.0), "coinrun": (5.0, 10.0)}[game]
    ret = low + normalized * (high - low)
    return {
        "policy": policy, "kind": kind, "seed": seed, "dataset": dataset, "dataset_sha256": sha,
        "game": game, "mode": mode, "split": split, "level_seed": level, "episode": ep,
        "return": ret, "normalized_return": float(normalize_returns(ret, game, mode)),
        "length": 500, "success": bool(normalized > 0.5),
    }


def make_records(bases=BASES):
    records = []
    for (policy, kind), splits in bases.items():
        for split, per_run in splits.items():
            for seed, base in enumerate(per_run):
                for level, level_offset in zip(LEVELS[split], LEVEL_OFFSETS[split]):
                    for ep, ep_offset in enumerate(EPISODE_OFFSETS):
                        records.append(episode(policy, kind, seed, split, level, ep, base + level_offset + ep_offset))
    return records


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    markdown = report.build_report(make_records(), out, provenance=PROVENANCE, bootstrap_seed=0, n_resamples=1000)
    table = pd.read_csv(out / "report.csv")
    return out, markdown, table


def row(table, policy, split):
    rows = table[(table["policy"] == policy) & (table["split"] == split)]
    assert len(rows) == 1, (policy, split)
    return rows.iloc[0]


# --- numbers ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "policy, split, mean, iqm, n_runs, n_levels",
    [
        ("bc", "train", 0.675, 0.65, 4, 4),  # 4 runs: IQM drops the lowest and highest run
        ("bc", "validation", 0.575, 0.55, 4, 2),
        ("bc", "test", 0.425, 0.40, 4, 4),
        ("cql", "train", 0.8, 0.8, 3, 4),
        ("cql", "test", 0.3, 0.3, 3, 4),  # 3 runs: nothing trimmed
        ("random", "test", 0.1, 0.1, 1, 4),
    ],
)
def test_split_rows_match_hand_computed_values(built, policy, split, mean, iqm, n_runs, n_levels):
    _, _, table = built
    r = row(table, policy, split)
    assert r["mean_normalized"] == pytest.approx(mean)
    assert r["mean_return"] == pytest.approx(40 * mean)
    assert r["iqm_normalized"] == pytest.approx(iqm)
    assert (r["n_runs"], r["n_tasks"], r["n_levels"], r["n_episodes"]) == (n_runs, 1, n_levels, n_runs * n_levels * 2)
    assert r["iqm_ci_low"] <= r["iqm_normalized"] + 1e-12 and r["iqm_normalized"] - 1e-12 <= r["iqm_ci_high"]
    assert r["mean_ci_low"] <= r["mean_normalized"] <= r["mean_ci_high"]
    assert r["mean_ci_over"] == "levels"
    assert r["dataset"] == DATASET and r["dataset_sha256"] == SHA


def test_success_rate_matches_episode_counts(built):
    _, _, table = built
    records = pd.DataFrame(make_records())
    for (policy, split), group in records.groupby(["policy", "split"]):
        # Every run has the same number of episodes, so the per-run average equals the pooled rate.
        assert row(table, policy, split)["success_rate"] == pytest.approx(group["success"].mean())


def test_intervals_over_runs_and_over_levels(built):
    _, _, table = built
    bc_test = row(table, "bc", "test")
    assert 0.25 <= bc_test["iqm_ci_low"] < bc_test["iqm_ci_high"] <= 0.65  # within the runs' range
    # One evaluation seed: no interval over runs, but the levels still vary.
    random_test = row(table, "random", "test")
    assert random_test["iqm_ci_low"] == random_test["iqm_ci_high"] == pytest.approx(0.1)
    assert random_test["mean_ci_low"] < 0.1 < random_test["mean_ci_high"]


def test_gap_rows_are_paired_train_minus_test(built):
    _, _, table = built
    bc = row(table, "bc", report.GAP_SPLIT)
    # Every bc run loses exactly 0.25: the paired interval has no width.
    assert bc["iqm_normalized"] == pytest.approx(0.25)
    assert bc["mean_normalized"] == pytest.approx(0.25)
    assert bc["mean_return"] == pytest.approx(10.0)
    for column in ("iqm_ci_low", "iqm_ci_high", "mean_ci_low", "mean_ci_high"):
        assert bc[column] == pytest.approx(0.25)
    assert bc["mean_ci_over"] == "runs (paired)"
    assert bc["n_runs"] == 4 and pd.isna(bc["n_levels"]) and pd.isna(bc["n_episodes"])

    cql = row(table, "cql", report.GAP_SPLIT)
    assert cql["iqm_normalized"] == pytest.approx(0.5)  # per-run gaps 0.5, 0.3, 0.7
    assert 0.3 - 1e-9 <= cql["iqm_ci_low"] < 0.5 < cql["iqm_ci_high"] <= 0.7 + 1e-9
    assert row(table, "random", report.GAP_SPLIT)["iqm_normalized"] == pytest.approx(0.0, abs=1e-12)


def test_row_order_learners_first_then_references(built):
    _, _, table = built
    assert list(table.columns) == list(report.REPORT_COLUMNS)
    assert list(dict.fromkeys(table["policy"])) == ["bc", "cql", "random"]
    assert list(table[table["policy"] == "bc"]["split"]) == ["train", "validation", "test", report.GAP_SPLIT]


def test_multi_task_scores_are_pooled_per_run_and_task(tmp_path):
    # 4 runs x 2 tasks; one episode per (run, task, split, level) at a constant value.
    bigfish = [0.1, 0.2, 0.3, 0.4]
    coinrun = [0.0, 0.9, 1.0, 0.95]
    records = []
    for seed in range(4):
        for split in ("train", "test"):
            shift = 0.0 if split == "train" else 0.1
            for level in range(4):
                records.append(episode("bc", "learner", seed, split, level, 0, bigfish[seed] - shift, game="bigfish", mode="hard"))
            for level in range(2):
                records.append(episode("bc", "learner", seed, split, level, 0, coinrun[seed] - shift, game="coinrun", mode="easy"))
    table = report.compute_report_table(records, n_resamples=300)
    train = row(table, "bc", "train")
    # pooled 8 scores 0, .1, .2, .3, .4, .9, .95, 1 -> drop two each end -> mean(.2, .3, .4, .9)
    assert train["iqm_normalized"] == pytest.approx(0.45)
    assert train["mean_normalized"] == pytest.approx((sum(bigfish) + sum(coinrun)) / 8)
    assert (train["n_runs"], train["n_tasks"], train["n_levels"]) == (4, 2, 6)
    # Every level of a task scores the same (averaged over runs): no spread over levels.
    assert train["mean_ci_low"] == pytest.approx(train["mean_normalized"])
    assert train["mean_ci_high"] == pytest.approx(train["mean_normalized"])
    assert row(table, "bc", report.GAP_SPLIT)["iqm_normalized"] == pytest.approx(0.1)

    # The level interval weighs both tasks equally although bigfish has twice coinrun's levels.
    constant = [episode("bc", "learner", 0, "test", lvl, 0, 0.2) for lvl in range(4)]
    constant += [episode("bc", "learner", 0, "test", lvl, 0, 0.8, game="coinrun", mode="easy") for lvl in range(2)]
    test = row(report.compute_report_table(constant, n_resamples=200), "bc", "test")
    assert test["mean_normalized"] == pytest.approx(0.5)
    assert test["mean_ci_low"] == pytest.approx(0.5) and test["mean_ci_high"] == pytest.approx(0.5)


def test_a_run_missing_a_task_is_refused():
    records = [episode("bc", "learner", seed, "test", 0, 0, 0.5) for seed in range(2)]
    records.append(episode("bc", "learner", 0, "test", 0, 0, 0.5, game="coinrun", mode="easy"))
    with pytest.raises(ValueError, match="seed 1 has no episodes on task coinrun/easy"):
        report.compute_report_table(records, n_resamples=10)


# --- determinism -------------------------------------------------------------------------------


def test_same_records_give_byte_identical_tables(built, tmp_path):
    out, markdown, _ = built
    shuffled = make_records()
    random.Random(0).shuffle(shuffled)
    again = report.build_report(shuffled, tmp_path, provenance=PROVENANCE, bootstrap_seed=0, n_resamples=1000)
    assert again == markdown
    folder = Path(report.SCORES_DIR) / DATASET.replace("/", "_")
    for name in ("report.csv", "report.md", "episodes.csv", "improvement.csv", "profiles.csv",
                 folder / "test.npz", folder / "scores.json"):
        assert (tmp_path / name).read_bytes() == (out / name).read_bytes()


def test_bootstrap_seed_changes_intervals_not_points():
    records = make_records()
    a = report.compute_report_table(records, bootstrap_seed=0, n_resamples=300)
    b = report.compute_report_table(records, bootstrap_seed=1, n_resamples=300)
    for column in ("iqm_normalized", "mean_normalized", "success_rate"):
        assert a[column].equals(b[column])
    intervals = ["iqm_ci_low", "iqm_ci_high", "mean_ci_low", "mean_ci_high"]
    assert not a[intervals].equals(b[intervals])


def test_adding_a_policy_leaves_other_rows_unchanged():
    base = report.compute_report_table(make_records(), n_resamples=300)
    extra = dict(BASES)
    extra[("dt", "learner")] = {"train": [0.6, 0.7], "test": [0.2, 0.4]}
    more = report.compute_report_table(make_records(extra), n_resamples=300)
    kept = more[more["policy"] != "dt"].reset_index(drop=True)
    pd.testing.assert_frame_equal(kept, base)


# --- files -------------------------------------------------------------------------------------


def test_markdown_layout_legend_and_provenance(built):
    out, markdown, _ = built
    assert (out / "report.md").read_text(encoding="utf-8") == markdown
    lines = markdown.splitlines()
    table_rows = [line for line in lines if line.startswith("| ")]
    iqm_rows = table_rows[1:4]
    assert [r.split(" | ")[0] for r in iqm_rows] == ["| bc", "| cql", "| random *(reference)*"]
    assert iqm_rows[0] == "| bc | 4 | " + " | ".join(
        f"{p:.3f} [{lo:.3f}, {hi:.3f}]"
        for p, lo, hi in [(row(built[2], "bc", s)["iqm_normalized"], row(built[2], "bc", s)["iqm_ci_low"],
                           row(built[2], "bc", s)["iqm_ci_high"]) for s in ("train", "validation", "test", report.GAP_SPLIT)]
    ) + " |"
    assert "| bc | 4 | 0.650 [" in markdown and "0.250 [0.250, 0.250] |" in markdown
    assert "How to read these numbers" in markdown and "stratified-bootstrap" in markdown
    assert SHA in markdown
    assert "  - bc (training seeds): 0, 1, 2, 3" in markdown
    assert "  - random (evaluation seeds): 0" in markdown
    assert "- **git_revision**: `abc123-dirty`" in lines
    assert "- **packages**:" in lines and "  - **numpy**: `1.26.4`" in lines
    assert "- **seeds**: `0`, `1`, `2`, `3`" in lines
    assert "Bootstrap: 1000 resamples, seed 0" in markdown


def test_render_mapping_nested():
    lines = report.render_mapping({"a": {"b": {"c": 1}}, "runs": [{"seed": 0}, {"seed": 1}], "empty": {}})
    assert lines == [
        "- **a**:", "  - **b**:", "    - **c**: `1`",
        "- **runs**:", "  - item 1:", "    - **seed**: `0`", "  - item 2:", "    - **seed**: `1`",
        "- **empty**: (empty)",
    ]


@pytest.mark.parametrize("name", ["train_vs_test.png", "gap.png", "performance_profiles.png", "improvement.png"])
def test_plots_are_valid_pngs(built, name):
    from matplotlib import image

    out, _, _ = built
    data = (out / name).read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5_000
    pixels = image.imread(out / name)
    assert pixels.ndim == 3 and pixels.shape[0] > 100 and pixels.shape[1] > 100
    assert pixels[..., :3].std() > 0  # not a blank canvas


# --- loading and checking records ------------------------------------------------------------


def write_per_policy(records, folder: Path) -> list[Path]:
    frame = pd.DataFrame(records)
    paths = []
    for policy, group in frame.groupby("policy"):
        path = folder / f"{policy}.csv"
        group.to_csv(path, index=False)
        paths.append(path)
    return paths


def test_load_records_round_trip_gives_the_same_report(tmp_path):
    records = make_records()
    loaded = report.load_records(write_per_policy(records, tmp_path))
    assert len(loaded) == len(records) and loaded["success"].dtype == bool
    from_csv = report.compute_report_table(loaded, n_resamples=200)
    from_memory = report.compute_report_table(records, n_resamples=200)
    pd.testing.assert_frame_equal(from_csv, from_memory)


def test_missing_column_names_the_file_and_column(tmp_path):
    paths = write_per_policy(make_records(), tmp_path)
    broken = pd.read_csv(paths[1]).drop(columns=["success"])
    broken.to_csv(paths[1], index=False)
    with pytest.raises(ValueError, match=rf"{paths[1].name}: missing required column 'success'"):
        report.load_records(paths)
    records = [{k: v for k, v in r.items() if k != "level_seed"} for r in make_records()]
    with pytest.raises(ValueError, match="missing required column 'level_seed'"):
        report.build_report(records, tmp_path / "out", provenance={})


def test_unreadable_file_is_named(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(ValueError, match="empty.csv"):
        report.load_records([empty])


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda r: r.update(normalized_return=r["normalized_return"] + 0.1), "Cobbe"),
        (lambda r: r.update(split="holdout"), "unknown split"),
        (lambda r: r.update(kind="baseline"), "unknown kind"),
        (lambda r: r.update(kind="reference"), "both a learner and a reference"),
        (lambda r: r.update(dataset_sha256="ff" * 32), "more than one manifest sha256"),
        (lambda r: r.update(mode="extreme"), "unknown mode"),
        (lambda r: r.update(success="maybe"), "booleans"),
    ],
)
def test_inconsistent_records_are_refused(change, message):
    records = make_records()
    change(records[0])
    with pytest.raises(ValueError, match=message):
        report.compute_report_table(records, n_resamples=10)


def test_duplicate_episodes_are_refused():
    records = make_records()
    with pytest.raises(ValueError, match="duplicate episode record"):
        report.compute_report_table(records + records[:1], n_resamples=10)


def test_empty_records_are_refused():
    with pytest.raises(ValueError, match="no evaluation records"):
        report.compute_report_table(pd.DataFrame(columns=list(report.REQUIRED_COLUMNS)))


def test_non_procgen_games_skip_cobbe_check():
    records = [episode("bc", "learner", 0, "test", lvl, 0, 0.3) for lvl in range(2)]
    for r in records:
        r.update(game="webshop", mode="default", normalized_return=0.3)
    table = report.compute_report_table(records, n_resamples=10)
    assert row(table, "bc", "test")["mean_normalized"] == pytest.approx(0.3)


def test_every_policy_is_read_against_random_play_on_the_same_levels():
    table = report.compute_report_table(make_records(), n_resamples=500)
    rows = {(r.policy, r.split): r for r in table.itertuples()}
    # bc minus random on the test levels: the level offsets cancel, leaving the run means' mean
    bc_test = rows[("bc", "test")]
    assert bc_test.vs_random == pytest.approx(np.mean([0.25, 0.35, 0.45, 0.65]) - 0.1)
    assert bc_test.vs_random_ci_low > 0 and bc_test.vs_random_verdict == "above"
    # cql's test runs straddle random's 0.1 (0.3, 0.5, 0.1): resampling runs can give 0.1 alone
    assert rows[("cql", "test")].vs_random_ci_low == pytest.approx(0.0) and rows[("cql", "train")].vs_random_verdict == "above"
    assert rows[("cql", "test")].vs_random_verdict == "not distinguishable"
    assert pd.isna(rows[("random", "test")].vs_random) and pd.isna(rows[("bc", report.GAP_SPLIT)].vs_random)


def test_a_policy_worse_than_random_is_said_to_be_below_it():
    bases = {**BASES, ("random", "reference"): {"train": [0.95], "validation": [0.95], "test": [0.95]}}
    table = report.compute_report_table(make_records(bases), n_resamples=500)
    verdicts = table.set_index(["policy", "split"])["vs_random_verdict"]
    assert verdicts[("bc", "test")] == "below" and verdicts[("cql", "train")] == "below"
    markdown = report.render_markdown(table, provenance={}, diversity={DATASET: "352 distinct frames (17.6 per level)"})
    assert "Against random play" in markdown and "below" in markdown and "Data: 352 distinct frames" in markdown


def test_without_a_random_reference_there_is_no_verdict():
    bases = {k: v for k, v in BASES.items() if k[0] != "random"}
    table = report.compute_report_table(make_records(bases), n_resamples=200)
    assert table["vs_random"].isna().all()
    assert "minus random's on the same levels [" not in report.render_markdown(table, provenance={})


# --- results to build on: episodes, score arrays, comparisons, learning curves ---------------


def test_episodes_csv_reads_back_as_the_records_the_report_used(built):
    out, _, table = built
    loaded = report.load_records(out / report.EPISODES_FILE)
    pd.testing.assert_frame_equal(loaded, report.check_records(make_records()))
    again = report.compute_report_table(loaded, n_resamples=1000)
    assert np.allclose(again["iqm_normalized"], table["iqm_normalized"])


def test_score_arrays_hold_each_runs_mean_per_task_in_rliable_layout(built):
    out, _, _ = built
    folder = out / report.SCORES_DIR / DATASET.replace("/", "_")
    scores, meta = report.load_score_arrays(folder, "test")
    assert list(scores) == ["bc", "cql", "random"]
    np.testing.assert_allclose(scores["bc"], [[0.25], [0.35], [0.45], [0.65]])
    np.testing.assert_allclose(scores["cql"], [[0.3], [0.5], [0.1]])
    np.testing.assert_allclose(scores["random"], [[0.1]])
    assert meta["tasks"] == ["bigfish/hard"] and meta["dropped_tasks"] == []
    assert meta["policies"]["bc"] == {"kind": "learner", "runs": [0, 1, 2, 3], "episodes": [[8], [8], [8], [8]]}
    assert meta["policies"]["random"]["kind"] == "reference"
    with np.load(folder / "train.npz", allow_pickle=False) as data:  # plain arrays, no pickle needed
        assert data["cql"].dtype == np.float64 and data["cql"].shape == (3, 1)
    index = __import__("json").loads((folder / "scores.json").read_text())
    assert index["dataset_sha256"] == SHA and index["provenance"]["git_revision"] == "abc123-dirty"
    assert set(index["splits"]) == {"train", "validation", "test"}


def test_score_arrays_keep_tasks_as_columns(tmp_path):
    records = [episode("bc", "learner", s, "test", lv, 0, v, game=g, mode="easy" if g == "coinrun" else "hard")
               for s, (a, b) in enumerate([(0.2, 0.9), (0.4, 0.7)]) for lv in (5, 6) for g, v in (("bigfish", a), ("coinrun", b))]
    (collected,) = report.collect_scores(report.check_records(records))
    assert collected.tasks == ("bigfish/hard", "coinrun/easy")
    np.testing.assert_allclose(collected.scores["bc"], [[0.2, 0.9], [0.4, 0.7]])


def test_probability_of_improvement_rows_by_hand(built):
    out, markdown, _ = built
    improvement = pd.read_csv(out / "improvement.csv")

    def cell(x, y, split):
        rows = improvement[(improvement["policy_x"] == x) & (improvement["policy_y"] == y) & (improvement["split"] == split)]
        assert len(rows) == 1
        return rows.iloc[0]

    # test: bc {.25, .35, .45, .65} against cql {.3, .5, .1}: 1 + 2 + 2 + 3 wins of 12 pairs
    assert cell("bc", "cql", "test")["probability"] == pytest.approx(8 / 12)
    # train: bc {.5, .6, .7, .9} against cql .8 three times: only .9 wins
    assert cell("bc", "cql", "train")["probability"] == pytest.approx(0.25)
    assert cell("bc", "random", "test")["probability"] == 1.0
    assert cell("bc", "random", "test")["ci_low"] == 1.0  # every bc run is above random's
    assert set(zip(improvement["policy_x"], improvement["policy_y"])) == {("bc", "cql"), ("bc", "random"), ("cql", "random")}
    test_row = cell("bc", "cql", "test")
    assert f"| bc > cql | 0.250 [" in markdown
    assert f"{test_row['probability']:.3f} [{test_row['ci_low']:.3f}, {test_row['ci_high']:.3f}] |" in markdown


def test_performance_profile_rows_by_hand(built):
    out, markdown, _ = built
    profiles = pd.read_csv(out / "profiles.csv")

    def fraction(policy, split, tau):
        rows = profiles[(profiles["policy"] == policy) & (profiles["split"] == split) & np.isclose(profiles["tau"], tau)]
        assert len(rows) == 1
        return rows.iloc[0]

    assert fraction("bc", "test", 0.5)["fraction"] == 0.25  # only .65
    assert fraction("cql", "test", 0.25)["fraction"] == pytest.approx(2 / 3)  # .3 and .5
    assert fraction("random", "train", 0.0)["fraction"] == 1.0
    assert fraction("random", "train", 0.5)["ci_high"] == 0.0  # one run: the band is the profile
    taus = profiles.groupby(["policy", "split"])["tau"].apply(tuple)
    assert taus.nunique() == 1  # one grid for every curve of a dataset
    assert min(taus.iloc[0]) <= 0.0 and max(taus.iloc[0]) >= 1.0
    assert "| bc | 1.000 [1.000, 1.000] | 0.750 [" in markdown  # tau 0 and 0.25 on test


def test_learning_curves_one_figure_per_learner_with_every_seed(tmp_path):
    import json

    runs = []
    for algo, seed in (("bc", 0), ("bc", 1), ("cql", 0)):
        folder = tmp_path / "train" / f"{algo}-seed{seed}"
        folder.mkdir(parents=True)
        identity = {"learner": {"algo": algo, "params": {}}, "seed": seed, "dataset": DATASET}
        (folder / "run.json").write_text(json.dumps({"identity": identity}))
        (folder / "train_log.csv").write_text("step,loss,regularization_loss,validation\n100,1.5,0,\n200,1.0,0,0.25\n")
        runs.append(folder)
    unfinished = tmp_path / "train" / "dt-seed0"
    unfinished.mkdir()
    (unfinished / "train_log.csv").write_text("step,loss,validation\n100,2.0,\n")
    curves = report.collect_curves([*runs, unfinished])
    assert [(c.policy, sorted(c.logs)) for c in curves] == [("bc", [0, 1]), ("cql", [0])]
    out = tmp_path / "report"
    report.build_report(make_records(), out, provenance=PROVENANCE, n_resamples=100, train_runs=[*runs, unfinished])
    figures = sorted(p.name for p in (out / report.CURVES_DIR).iterdir())
    name = DATASET.replace("/", "_")
    assert figures == [f"bc--{name}.png", f"cql--{name}.png"]
    assert f"`{report.CURVES_DIR}/" in (out / "report.md").read_text(encoding="utf-8")


def test_files_section_lists_what_the_folder_holds(built):
    out, markdown, _ = built  # built without trained runs: no learning curves
    files = markdown.split("## Files in this folder")[1].split("## Provenance")[0]
    for name in ("episodes.csv", "scores/<dataset>/<split>.npz", "profiles.csv", "improvement.png"):
        assert f"`{name}" in files
    assert report.CURVES_DIR not in files and not (out / report.CURVES_DIR).exists()
