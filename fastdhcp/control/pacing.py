"""The control channel's share of the loop while the packet path is saturated.

Commands run on the server's loop, between packet batches. At idle or moderate load that costs
the packets nothing they would notice, and a command runs at once. But a client paging through
a million leases, at full speed, while the server answers as many packets as one core allows,
would take its time from the packets: each page is a millisecond or two of the loop. So while
the loop is saturated (packet batches take most of the recent wall time), control work gets
at most ``share`` of the loop: after a command (or a slice of a long one) that took t seconds,
the next control work waits until the packets have had t × (1 - share) / share. Nothing is
dropped or refused; the pager just goes slower while the packets come first. A long command
(lease4-get-all) pauses between its slices the same way (``pause``).
"""

from __future__ import annotations

import asyncio
import contextvars
import time
from collections.abc import Awaitable, Callable
from typing import Any

SHARE = 0.05            # of the loop's time, while packets keep it busy
SATURATED = 0.5         # packets took more than this part of the last WINDOW: saturated
WINDOW = 0.05           # seconds over which the packet path's load is judged

_slice_start: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "control_slice_start", default=None)


class Pacer:
    """``packet_seconds()`` is the loop's total time in packet batches so far (the server
    adds to it per wake-up)."""

    def __init__(self, packet_seconds: Callable[[], float], share: float = SHARE,
                 clock: Callable[[], float] = time.perf_counter):
        self.packet_seconds, self.share, self.clock = packet_seconds, share, clock
        self.ready_at = 0.0
        self.load = 0.0
        self.seen_at, self.seen_packets = clock(), packet_seconds()
        self.waited = 0.0               # seconds control work was held back (statistics)

    def saturated(self) -> bool:
        now = self.clock()
        span = now - self.seen_at
        if span >= WINDOW:
            total = self.packet_seconds()
            self.load = (total - self.seen_packets) / span
            self.seen_at, self.seen_packets = now, total
        return self.load > SATURATED

    async def turn(self) -> None:
        """Wait for control work's turn: at once unless the loop is saturated and the last
        control work has not been paid for yet."""
        while self.saturated():
            wait = self.ready_at - self.clock()
            if wait <= 0:
                return
            self.waited += wait
            await asyncio.sleep(wait)

    def charge(self, seconds: float) -> None:
        now = self.clock()
        self.ready_at = max(self.ready_at, now) + seconds * (1.0 / self.share - 1.0)

    async def run(self, work: Callable[[], Awaitable[Any]]) -> Any:
        """One command: its turn, then the work, charged for the time it held the loop."""
        await self.turn()
        token = _slice_start.set(self.clock())
        try:
            return await work()
        finally:
            self.charge(self.clock() - (_slice_start.get() or self.clock()))
            _slice_start.reset(token)

    async def pause(self) -> None:
        """Between two slices of a long command: packet batches run, then its next turn."""
        start = _slice_start.get()
        if start is not None:
            self.charge(self.clock() - start)
        await asyncio.sleep(0)
        if start is not None:
            await self.turn()
            _slice_start.set(self.clock())


async def pause(server: Any) -> None:
    """A long command's slices call this between them (the server's pacer, if it has one)."""
    pacer = getattr(server, "pacer", None)
    if pacer is None:
        await asyncio.sleep(0)
    else:
        await pacer.pause()
