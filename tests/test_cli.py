"""The command line: clear errors for bad input, and the datasets subcommands."""

import pytest

from rlgen.cli import main


def run(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_unknown_key_is_an_error_naming_it(tmp_path, capsys):
    config = tmp_path / "c.yaml"
    config.write_text("collect:\n  transitons: 10\n")
    code, _, err = run(capsys, "collect", str(config))
    assert code == 2 and "collect.transitons" in err


def test_unknown_game_lists_games(capsys):
    code, _, err = run(capsys, "collect", "configs/quickstart.yaml", "--set", "env.game=pong")
    assert code == 2 and "bigfish" in err


def test_overlapping_levels_refused_before_work(capsys, tmp_path):
    code, _, err = run(
        capsys, "run", "configs/quickstart.yaml", "--set", "levels.train=2000010", "--set", f"output_dir={tmp_path}"
    )
    assert code == 2 and "overlap" in err
    assert not any(tmp_path.iterdir())


def test_unknown_algorithm_lists_algorithms(capsys, tmp_path):
    code, _, err = run(capsys, "train", "configs/quickstart.yaml", "--set", "learners=[{algo: iql}]", "--set", f"output_dir={tmp_path}")
    assert code == 2 and "bc" in err and "cql" in err and "dt" in err


def test_missing_config_file(capsys):
    code, _, err = run(capsys, "run", "no/such.yaml")
    assert code == 2 and "no/such.yaml" in err


def test_datasets_list_and_verify_missing(capsys, tmp_path):
    code, out, _ = run(capsys, "datasets", "list", "--data-dir", str(tmp_path))
    assert code == 0 and "no datasets" in out
    code, _, err = run(capsys, "datasets", "verify", "nothing-here", "--data-dir", str(tmp_path))
    assert code == 2 and "nothing-here" in err


def test_help_lists_subcommands(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    for sub in ("run", "collect", "train", "evaluate", "report", "datasets"):
        assert sub in out


def test_stages_out_of_order_say_what_to_run_first(capsys, tmp_path, ray_local):
    from rlgen.collect import collect_dataset
    from rlgen.core.config import load_config

    overrides = [f"output_dir={tmp_path}", "collect.transitions=600", "collect.shard_transitions=600", "levels.train=3"]
    code, _, err = run(capsys, "train", "configs/quickstart.yaml", *[a for o in overrides for a in ("--set", o)])
    assert code == 2 and "rlgen collect" in err and not any(tmp_path.iterdir())
    collect_dataset(load_config("configs/quickstart.yaml", overrides), progress=False)
    code, _, err = run(capsys, "evaluate", "configs/quickstart.yaml", *[a for o in overrides for a in ("--set", o)])
    assert code == 2 and "rlgen train" in err
    code, _, err = run(capsys, "report", "configs/quickstart.yaml", *[a for o in overrides for a in ("--set", o)])
    assert code == 2 and "rlgen evaluate" in err


def test_stitch_results_and_policy_skill_are_subcommands():
    """`python -m` scripts became `rlgen` subcommands (issue 12): their arguments parse as before."""
    from rlgen.cli import build_parser, cmd_policy_skill, cmd_stitch_results

    args = build_parser().parse_args(["stitch", "results", "runs/stitch", "results/stitch/grid_maze", "rlgen run x", "runs/hindsight"])
    assert args.fn is cmd_stitch_results and args.more_runs == ["runs/hindsight"] and args.command == "rlgen run x"
    args = build_parser().parse_args(["policy", "skill", "--games", "maze", "--levels", "3"])
    assert args.fn is cmd_policy_skill and args.games == ["maze"] and args.levels == 3 and args.target == 0.75
