"""rlgen: a benchmark for generalization in offline reinforcement learning.

Stages (collect, learn, evaluate, report) sit on top of `rlgen.data` (shards, manifests),
`rlgen.policies` and `rlgen.core` (configs, level splits, game constants); imports flow
one way, from the stages down to the core.
"""

__version__ = "0.1.0"
