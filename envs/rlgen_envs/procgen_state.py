"""Read the parts of a Procgen saved state (`get_state` bytes) that a planner needs as search keys.

Why parse instead of hashing the bytes or the frame: the raw state changes every step even when
nothing that matters does (the step counter, the random generator's position, each entity's
`life_time`), so hashing it merges nothing; the frame hides the velocity and, in scrolling
games, shows only part of the level, so equal frames may have different futures
(../shared/reference/procgen-planners.md). The same parse gives the stitching track its exact
waypoints in maze (`rlgen_envs.procgen_maze`). The layout mirrors the write order of procgen's C++
`Game::serialize`, `BasicAbstractGame::serialize` and `Entity::serialize` (procgen 0.10.x,
every game built on `BasicAbstractGame`, which is all 16): little-endian 4-byte ints and floats,
strings as a 4-byte length and the bytes. Parsing one state costs about 10-20 us.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass

import numpy as np

# Entity::serialize writes 31 four-byte fields; the indices of those a planner reads.
ENTITY_FIELDS = 31
X, Y, VX, VY, TYPE, IMAGE_THEME, WILL_ERASE, LIFE_TIME = 0, 1, 2, 3, 6, 8, 10, 18
PLAYER = 0  # the agent's entity type in every game

# Game::serialize, after the two random generators: reward, done, level_complete, action,
# timeout, current_level_seed, prev_level_seed, episodes_remaining, episode_done,
# last_reward_timer, last_reward, default_action, fixed_asset_seed, cur_time, is_waiting_for_step.
_STEP_FIELDS = 15
_LEVEL_SEED_FIELD = 5
_CUR_TIME_FIELD = 13
# BasicAbstractGame::serialize, after the entities and up to step_rand_int (the field masked):
# 18 fields, then step_rand_int, then asset_rand_gen, then 9 fields before the grid.
_FIELDS_BEFORE_STEP_RAND = 18
_FIELDS_BEFORE_GRID = 9
# Of those 18: last_move_action, move_action, special_action, action_vx, action_vy, action_vrot.
_LAST_ACTION_FIELDS = (5, 6, 7, 11, 12, 13)


def _skip_string(state: bytes, offset: int) -> int:
    (size,) = struct.unpack_from("<i", state, offset)
    return offset + 4 + size


def _skip_rand_gen(state: bytes, offset: int) -> int:
    return _skip_string(state, offset + 4)  # is_seeded, then the generator's text


@dataclass(frozen=True)
class ProcgenState:
    """One parsed saved state. `entities`: (n, 31) int32 fields, `floats` the same bytes as float32."""

    raw: bytes
    game: str
    level_seed: int
    cur_time: int
    entities: np.ndarray  # (n, 31) int32
    floats: np.ndarray  # (n, 31) float32 view of `entities`
    entities_start: int
    entities_end: int
    step_rand_offset: int
    grid_start: int

    @property
    def agent(self) -> np.ndarray:
        """The player's fields as float32 (x, y, vx, vy at indices 0-3)."""
        rows = np.flatnonzero(self.entities[:, TYPE] == PLAYER)
        return self.floats[rows[0]]

    def exact_key(self) -> bytes:
        """16-byte digest of everything that shapes the future except counters and the generator.

        Masked: the Game header (step counter, random generators, level seed, last reward),
        each entity's `life_time`, the per-step `step_rand_int`, and the last action's
        decoded form (`move_action`, `special_action`, `action_vx/vy/vrot`), which every step
        overwrites from its own action before reading, and `last_move_action`, which only picks
        the sprite's facing (without these masks the first state of an episode depends on the
        last action of the one before, and a replayed level is searched again). Two states with equal exact
        keys act alike in games whose steps draw no random numbers that matter (maze, heist,
        coinrun); in others a plan remembered under this key may go stale, which the planner
        notices (the next frame is not the expected one) and re-plans.
        """
        masked = self.entities.copy()
        masked[:, LIFE_TIME] = 0
        h = hashlib.blake2b(masked.tobytes(), digest_size=16)
        between = np.frombuffer(self.raw, dtype="<i4", count=_FIELDS_BEFORE_STEP_RAND, offset=self.entities_end).copy()
        between[list(_LAST_ACTION_FIELDS)] = 0
        h.update(between.tobytes())
        h.update(self.raw[self.step_rand_offset + 4 :])
        return h.digest()

    @property
    def geometry(self) -> tuple[float, float, float]:
        """(unit, x_off, y_off): block size in pixels and the drawing offsets of the 64 x 64 frame."""
        unit, _view_dim, x_off, y_off = struct.unpack_from("<fiff", self.raw, self.grid_start - 4 * 6)
        return unit, x_off, y_off

    @property
    def grid_offset(self) -> int:
        """Byte offset of grid cell 0 (index y * width + x, y pointing up)."""
        return self.grid_start + 4 * 3

    def grid(self) -> np.ndarray:
        """(height, width) int32 cells as stored: row 0 is the bottom of the world (y up)."""
        width, height, count = struct.unpack_from("<iii", self.raw, self.grid_start)
        if count != width * height or not (0 < width <= 1024 and 0 < height <= 1024):
            raise ValueError(f"unexpected grid {width} x {height} with {count} cells: state layout changed?")
        return np.frombuffer(self.raw, dtype="<i4", count=count, offset=self.grid_offset).reshape(height, width)

    def player_offset(self) -> int:
        """Byte offset of the player entity's x (y follows)."""
        rows = np.flatnonzero(self.entities[:, TYPE] == PLAYER)
        if not len(rows):
            raise ValueError("the state has no player entity")
        return self.entities_start + 4 * ENTITY_FIELDS * int(rows[0])

    def tail_digest(self) -> bytes:
        """Digest of the grid and the game's own fields (heist's keys held, coinrun's support)."""
        return hashlib.blake2b(self.raw[self.grid_start :], digest_size=8).digest()

    def others(self) -> tuple[tuple[int, int], ...]:
        """Sorted (type, theme) of the live non-player entities: which keys, doors, coins remain."""
        live = self.entities[(self.entities[:, TYPE] != PLAYER) & (self.entities[:, WILL_ERASE] == 0)]
        return tuple(sorted(zip(live[:, TYPE].tolist(), live[:, IMAGE_THEME].tolist())))


def parse_state(state: bytes) -> ProcgenState:
    """Parse the header, entity list and field offsets of a `get_state` byte string."""
    (version,) = struct.unpack_from("<i", state, 0)
    (name_size,) = struct.unpack_from("<i", state, 4)
    game = state[8 : 8 + name_size].decode("ascii", "replace")
    if version != 0:
        raise ValueError(f"not a Procgen state of serialize version 0 (got version {version}, game {game!r})")
    offset = _skip_string(state, 4)  # SERIALIZE_VERSION, game name
    offset += 4 * (12 + 5)  # options, grid_step, level seed range, game type, game_n
    offset = _skip_rand_gen(state, offset)  # level_seed_rand_gen
    offset = _skip_rand_gen(state, offset)  # rand_gen
    (cur_time,) = struct.unpack_from("<i", state, offset + 4 * _CUR_TIME_FIELD)
    (level_seed,) = struct.unpack_from("<i", state, offset + 4 * _LEVEL_SEED_FIELD)
    offset += 4 * _STEP_FIELDS
    offset += 4  # grid_size
    (count,) = struct.unpack_from("<i", state, offset)
    offset += 4
    if not 0 < count < 100_000:
        raise ValueError(f"not a Procgen BasicAbstractGame state (entity count {count})")
    entities = np.frombuffer(state, dtype="<i4", count=count * ENTITY_FIELDS, offset=offset).reshape(count, ENTITY_FIELDS)
    end = offset + 4 * count * ENTITY_FIELDS
    step_rand = end + 4 * _FIELDS_BEFORE_STEP_RAND
    grid_start = _skip_rand_gen(state, step_rand + 4) + 4 * _FIELDS_BEFORE_GRID
    return ProcgenState(
        raw=state,
        game=game,
        level_seed=int(level_seed),
        cur_time=int(cur_time),
        entities=entities,
        floats=entities.view("<f4"),
        entities_start=offset,
        entities_end=end,
        step_rand_offset=step_rand,
        grid_start=grid_start,
    )
