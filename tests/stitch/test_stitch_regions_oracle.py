"""Regions and hops confine the oracle; the oracle takes shortest paths and reaches its goals."""

import numpy as np
import pytest

from rlgen.stitch import Hops, Regions, StitchOracle, graph_distances
from rlgen_envs import StitchMazeVecEnv, StitchTask
from rlgen_envs.stitch_maze import free_positions, shortest_path


@pytest.mark.parametrize("level", [0, 5, 2_000_001])
def test_regions_cover_the_level_are_connected_and_overlap(level):
    regions = Regions(4, overlap=1)
    masks = regions.masks(level)
    free = set(free_positions(level, "block"))  # regions are sets of blocks, whatever the move
    assert {tuple(map(int, p)) for p in np.argwhere(masks.any(0))} == free
    for mask in masks:
        cells = [tuple(map(int, p)) for p in np.argwhere(mask)]
        dist = graph_distances(level, cells[0], mask)
        assert all(dist[c] >= 0 for c in cells)  # connected within the region
    assert (masks.sum(0) > 1).any() and (regions.exclusive(level) >= 0).sum() > 0
    assert Regions(4, 0).masks(level).sum(0).max() == 1  # without overlap: a partition


def test_oracle_without_noise_takes_shortest_paths():
    tasks = [StitchTask(2, (1, 1), (13, 13)), StitchTask(9, (7, 7), (1, 13))]
    env = StitchMazeVecEnv.pinned(tasks, obs_mode="vector")
    policy = StitchOracle(epsilon=0.0, seed=0)
    obs, _ = env.reset()
    policy.attach(env)
    lengths = {}
    for _ in range(60):
        obs, _, terminated, _, info = env.step(policy.act(obs))
        for i in np.flatnonzero(terminated):
            lengths.setdefault(i, int(info["episode_length"][i]))
    assert lengths == {i: len(shortest_path(t.level, t.start, t.goal)) for i, t in enumerate(tasks)}


@pytest.mark.parametrize("structure", [Regions(4, 1), Hops(6)])
def test_noisy_oracle_stays_confined_and_succeeds(structure, collect_stitch):
    episodes = collect_stitch(structure, 120, epsilon=0.5, seed=3)
    assert all(ep["terminated"] for ep in episodes)
    for ep in episodes:
        allowed = structure.allowed(ep["task"])
        rows, cols = ep["waypoints"][:, 1], ep["waypoints"][:, 2]
        assert allowed[rows, cols].all()
        assert (ep["waypoints"][0, 1:] == ep["task"].start).all() and (ep["goals"] == ep["task"].goal).all()


def test_registry_factory_rebuilds_the_structure_from_its_params():
    from rlgen.stitch import structure_from_params
    from rlgen.worlds.stitch_maze import stitch_oracle

    for structure in (Regions(3, 2), Hops(5, 1)):
        assert structure_from_params(structure.params()) == structure
    oracle = stitch_oracle(0, None, {"kind": "regions", "num_regions": 3, "overlap": 2}, epsilon=0.1)  # None: the grid maze's own layout
    assert oracle.structure == Regions(3, 2) and oracle.epsilon == 0.1
    with pytest.raises(ValueError, match="valid: regions, hops"):
        structure_from_params({"kind": "rings"})
