"""The stitching track's standalone pieces: regions, the oracle, test pairs, the audit, augmentation.

Ghugare et al. (ICLR 2024; ../shared/reference/stitching.md): can a learner trained on A -> B
and B -> C go from A to C? `regions` confines behaviour so some pairs are never seen together,
`policy` is the confined oracle, `tasks` builds the evaluation pairs, `audit` proves from the
data that test pairs never co-occur, `augment` is temporal data augmentation over episodes, and
`variant` applies the audit and the augmentation to datasets on disk (the pipeline's stitching
stage; `rlgen.worlds.stitch_maze` is the environment side, `rlgen stitch audit` the command).
The worlds themselves live in `rlgen.worlds` (`stitch_maze`, and `procgen_maze_stitch`, Procgen
maze with tasks placed in its saved states); exporting a run's results for results/stitch/ is `rlgen stitch results`
(`rlgen.report.stitch_results`).
"""

from rlgen.stitch.audit import AuditReport, StitchingLeakError, audit_cooccurrence, goal_pair_counts
from rlgen.stitch.augment import hindsight_episodes, join_episodes, join_reachable, match_waypoints, relabel_goals, splice_episodes, spliced_windows, stitch_maze_goal_renderer
from rlgen.stitch.policy import StitchOracle
from rlgen.stitch.regions import Hops, Regions, graph_distances, structure_from_params
from rlgen.stitch.tasks import EvalPair, make_eval_pairs, ordinary_pairs, stitch_pairs

__all__ = [
    "AuditReport", "EvalPair", "Hops", "Regions", "StitchOracle", "StitchingLeakError", "audit_cooccurrence",
    "goal_pair_counts", "graph_distances", "hindsight_episodes", "join_episodes", "join_reachable", "make_eval_pairs", "match_waypoints", "ordinary_pairs", "relabel_goals",
    "splice_episodes", "spliced_windows", "stitch_maze_goal_renderer", "stitch_pairs", "structure_from_params",
]
