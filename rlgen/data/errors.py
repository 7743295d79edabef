"""The one error type for unusable data; messages name the file, what is wrong, and what to do."""


class DatasetError(RuntimeError):
    """A dataset, shard or manifest that cannot be used as it is."""
