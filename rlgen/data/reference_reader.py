"""A reference reader of rlgen datasets (FORMAT.md), needing only numpy and zstandard.

It imports nothing of rlgen, so it can be copied out of the repository and used alone, or run
as a script: `python reference_reader.py DATASET_FOLDER` prints each shard's episode and
transition counts. It is the format written as code, not a fast path: it decodes a whole shard
at once (rlgen's `ShardReader` decodes chunk by chunk, for datasets larger than memory). A test
checks that it returns byte for byte the arrays `ShardReader` returns, on real shards.
"""

import hashlib
import json
import re
import sys
from pathlib import Path

import numpy as np
import zstandard


def read_shard(path, sha256=None):
    """Every array of one shard, frames decoded to `observations` (N, *frame_shape) uint8.

    With `sha256` (the manifest's), the file's hash is checked first (ValueError); each zstd
    chunk's own checksum is checked as it decodes (zstandard.ZstdError)."""
    data = Path(path).read_bytes()
    if sha256 is not None and hashlib.sha256(data).hexdigest() != sha256:
        raise ValueError(f"{path}: sha256 differs from the manifest's; the shard is corrupt")
    with np.load(path, allow_pickle=False) as npz:
        arrays = {name: npz[name] for name in npz.files}
    if arrays["format_version"].item() != 1:
        raise ValueError(f"{path}: shard format version {arrays['format_version'].item()}, this reader reads 1")
    shape, per_chunk, offsets = tuple(arrays["frame_shape"]), arrays["chunk_frames"].item(), arrays["chunk_offsets"]
    blob, n, dctx = arrays.pop("frames_zstd").tobytes(), len(arrays["actions"]), zstandard.ZstdDecompressor()
    frames = [
        dctx.decompress(blob[offsets[c] : offsets[c + 1]], max_output_size=min(per_chunk, n - c * per_chunk) * int(np.prod(shape)))
        for c in range(len(offsets) - 1)
    ]
    arrays["observations"] = np.frombuffer(b"".join(frames), dtype=np.uint8).reshape(n, *shape)
    return arrays


def read_dataset(folder):
    """(manifest, [(shard record, arrays), ...]) for a dataset folder, every shard's sha256 checked."""
    manifest = json.loads((Path(folder) / "manifest.json").read_text())
    for s in manifest["shards"]:  # a name read from a file never becomes a path outside shards/
        if not re.fullmatch(r"shard-[0-9]{5,9}\.npz", s["name"]):
            raise ValueError(f"{folder}: shard name {s['name']!r} is not shard-NNNNN.npz")
    return manifest, [(s, read_shard(Path(folder) / "shards" / s["name"], s["sha256"])) for s in manifest["shards"]]


if __name__ == "__main__":
    manifest, shards = read_dataset(sys.argv[1])
    for record, arrays in shards:
        print(f"{record['name']}: {len(arrays['level_seeds'])} episodes, {len(arrays['actions'])} transitions, frames {arrays['observations'].shape}")
    print(f"{manifest['name']}: {manifest['episodes']} episodes, {manifest['transitions']} transitions, sha256 checked")
