"""The control channel's share of the loop while packets are waiting.

Commands run on the server's loop, between packet batches. At idle or moderate load that costs
the packets nothing they would notice, and a command runs at once. But a client paging through
a million leases at full speed, while clients keep the server as busy as one core allows, would
take its time from the packets: each page is a millisecond or two of the loop. So while
datagrams are waiting in the server's socket, control work gets at most ``share`` of the loop:
after a command (or a slice of a long one) that held the loop t seconds, the next control work
waits until the packets have had t × (1 - share) / share, or until no datagram waits. Nothing is
dropped or refused; the pager just goes slower while the packets come first. A long command
(lease4-get-all) pauses between its slices the same way (``pause``).
"""

from __future__ import annotations

import asyncio
import contextvars
import time
from collections.abc import Awaitable, Callable
from typing import Any

SHARE = 0.05            # of the loop's time, while datagrams wait
POLL = 0.002            # seconds between looks at the socket while control work waits

_slice_start: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "control_slice_start", default=None)


class Pacer:
    """``packets_waiting()`` says whether datagrams wait in the server's socket now."""

    def __init__(self, packets_waiting: Callable[[], bool], share: float = SHARE,
                 clock: Callable[[], float] = time.perf_counter):
        self.packets_waiting, self.share, self.clock = packets_waiting, share, clock
        self.ready_at = 0.0
        self.waited = 0.0               # seconds control work was held back (statistics)

    async def turn(self) -> None:
        """Wait for control work's turn: at once unless datagrams wait and the last control
        work has not been paid for yet."""
        while self.packets_waiting():
            wait = self.ready_at - self.clock()
            if wait <= 0:
                return
            wait = min(wait, POLL)
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
