"""rlgen: a benchmark for generalization in offline reinforcement learning.

Stages (collect, learn, evaluate, report) sit on top of `rlgen.data` (shards, manifests),
`rlgen.policies` and `rlgen.core` (configs, level splits, game constants); imports flow
one way, from the stages down to the core.

Importing rlgen registers the gymnasium ids of `rlgen_envs` (`rlgen/procgen-<game>-v0`,
`rlgen/StitchMaze-v0`, `rlgen/WebShop-v0`) where gymnasium is installed; a core install
(numpy, zstandard, pyyaml: the data format and loader) imports without it.
`rlgen.make_env_and_dataset(name)` gives a dataset with its train, validation and test envs.
"""

from importlib.util import find_spec

__version__ = "0.1.0"

if find_spec("gymnasium") is not None:
    import rlgen_envs  # noqa: F401  (registers the gymnasium ids)


def __getattr__(name: str):
    """`make_env_and_dataset` on first use, so `import rlgen` stays light (no torch, no d3rlpy)."""
    if name in ("make_env_and_dataset", "EnvAndDataset"):
        from rlgen import api

        return getattr(api, name)
    raise AttributeError(f"module 'rlgen' has no attribute {name!r}")


__all__ = ["EnvAndDataset", "__version__", "make_env_and_dataset"]
