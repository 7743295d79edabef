"""Datasets on disk: compressed, checksummed shards of whole episodes, and their manifest.

`load_dataset(name_or_path)` is the library entry point: episodes, the manifest, and a d3rlpy
replay buffer, without touching collection, learners or Ray.
"""

from rlgen.data.dataset import Dataset, load_dataset
from rlgen.data.errors import DatasetError
from rlgen.data.manifest import DatasetManifest, ShardRecord
from rlgen.data.shards import EpisodeData, ShardContents, read_shard, write_shard

__all__ = [
    "Dataset",
    "DatasetError",
    "DatasetManifest",
    "EpisodeData",
    "ShardContents",
    "ShardRecord",
    "load_dataset",
    "read_shard",
    "write_shard",
]
