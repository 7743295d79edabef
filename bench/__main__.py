"""`python -m bench`: run every benchmark script, then rewrite BENCHMARKS.md from their rows.

    ../shared/bin/offline .venv/bin/python -m bench                 # everything, about 8 minutes
    ../shared/bin/offline .venv/bin/python -m bench --only collect evaluate
    .venv/bin/python -m bench --report-only                          # tables from bench/results only

Each script runs in its own process (its own Ray session, its own memory) with its default
sizes, and writes `bench/results/<name>.json`; a failing script is reported and the others still
run. The sampler's script (`bench/bench_sampler.py`, target 3) is run when it exists.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

from bench.common import REPO
from bench.report import write_benchmarks

SCRIPTS = {
    "collect": "bench/bench_collect.py",
    "storage": "bench/bench_storage.py",
    "sampler": "bench/bench_sampler.py",
    "training": "bench/bench_training.py",
    "evaluate": "bench/bench_evaluate.py",
    "webshop": "bench/bench_webshop.py",
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", choices=sorted(SCRIPTS), help="run these scripts only")
    parser.add_argument("--report-only", action="store_true", help="rewrite BENCHMARKS.md from the rows already written")
    parser.add_argument("--results-dir", type=Path, default=None, help="where rows go and are read (default bench/results)")
    parser.add_argument("--output", type=Path, default=None, help="the Markdown file (default BENCHMARKS.md)")
    args = parser.parse_args(argv)
    failed = []
    if not args.report_only:
        for name in args.only or list(SCRIPTS):
            script = REPO / SCRIPTS[name]
            if not script.exists():
                print(f"-- {name}: {SCRIPTS[name]} does not exist, skipped", flush=True)
                continue
            command = [sys.executable, SCRIPTS[name]]
            if args.results_dir is not None and name != "sampler":
                command += ["--results-dir", str(args.results_dir)]
            print(f"-- {name}: {' '.join(command)}", flush=True)
            started = time.perf_counter()
            code = subprocess.run(command, cwd=REPO).returncode
            print(f"-- {name}: exit {code} after {time.perf_counter() - started:.0f} s", flush=True)
            if code != 0:
                failed.append(name)
    path = write_benchmarks(args.results_dir, args.output)
    print(f"wrote {path}")
    if failed:
        print(f"failed: {', '.join(failed)} (their previous rows, if any, are still in the tables)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
