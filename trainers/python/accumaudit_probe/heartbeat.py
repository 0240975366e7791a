"""Each rank's last sign of progress (a forward pass or an optimizer step), in memory the worker
shares with the ranks it forks, so that ranks that all stopped making progress count as hung
without waiting for the case's timeout.
"""

from __future__ import annotations

import mmap
import struct
import time

_SLOT = struct.Struct("d")

#: The board the next forked ranks inherit (set by the worker before it forks them).
_board: mmap.mmap | None = None
#: This rank's slot on the board (set in the rank after the fork).
_slot: int | None = None


def open_board(world_size: int) -> mmap.mmap:
    """A board of ``world_size`` slots, each stamped now, that forked ranks inherit and write."""
    global _board
    board = mmap.mmap(-1, _SLOT.size * world_size)
    now = time.monotonic()
    for rank in range(world_size):
        _SLOT.pack_into(board, _SLOT.size * rank, now)
    _board = board
    return board


def close_board(board: mmap.mmap) -> None:
    global _board
    if _board is board:
        _board = None
    board.close()


def attach(rank: int) -> None:
    """In a forked rank: from now on :func:`beat` stamps this rank's slot."""
    global _slot
    _slot = rank if _board is not None else None


def beat() -> None:
    """Notes progress of this rank; does nothing outside a forked rank."""
    if _board is not None and _slot is not None:
        _SLOT.pack_into(_board, _SLOT.size * _slot, time.monotonic())


def latest(board: mmap.mmap, world_size: int) -> float:
    """When any rank last made progress (time.monotonic, shared by every process of the machine)."""
    return max(_SLOT.unpack_from(board, _SLOT.size * rank)[0] for rank in range(world_size))
