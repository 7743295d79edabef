"""Moved to `rlgen.report.stitch_results` (`rlgen stitch results`): exporting a run's report reads
the pipeline's runs, which the stitching track's algorithms here do not. This file only keeps the
command `python -m rlgen.stitch.results RUN_DIR OUT_DIR COMMAND [MORE_RUN_DIRS...]`, as
results/stitch/ records it, working."""

if __name__ == "__main__":
    import runpy

    runpy.run_module("rlgen.report.stitch_results", run_name="__main__", alter_sys=True)
