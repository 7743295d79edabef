"""A second featurizer (the page kind only), to show and test the featurizer seam."""

import numpy as np

from rlgen_envs.webshop.choice import PAGE_KINDS


class PageOnly:
    def __init__(self, num_candidates: int) -> None:
        self.size = len(PAGE_KINDS)

    def encode(self, view) -> np.ndarray:
        out = np.zeros(self.size, dtype=np.uint8)
        out[PAGE_KINDS.index(view.page)] = 1
        return out
