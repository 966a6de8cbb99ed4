"""The control channel's pacing (fastdhcp.control.pacing): commands run at once unless datagrams
wait in the server's socket; then control work gets at most its share of the loop's time, a long
command's slices included. The clock is a counter the test moves (the pacer's own waits move it
too: the packets have the loop meanwhile), so the arithmetic is exact."""

from __future__ import annotations

import asyncio

import pytest

from fastdhcp.control import pacing


class Loop:
    def __init__(self, waiting):
        self.now, self.waiting = 100.0, waiting

    def clock(self):
        return self.now


@pytest.fixture
def loop(monkeypatch):
    """asyncio.sleep(t) moves the test's clock by t (0 just yields)."""
    real = asyncio.sleep
    state = Loop(waiting=True)

    async def sleeping(seconds, *a):
        state.now += seconds
        await real(0)
    monkeypatch.setattr(asyncio, "sleep", sleeping)
    return state


def commands(loop, pacer, n, seconds):
    async def all_of_them():
        for _ in range(n):
            async def work():
                loop.now += seconds
            await pacer.run(work)
    asyncio.run(all_of_them())


def test_with_no_datagram_waiting_every_command_runs_at_once(loop):
    loop.waiting = False
    p = pacing.Pacer(lambda: loop.waiting, clock=loop.clock)
    start = loop.now
    commands(loop, p, 10, 0.002)
    assert abs((loop.now - start) - 0.02) < 1e-9 and p.waited == 0


def test_while_datagrams_wait_control_gets_its_share(loop):
    p = pacing.Pacer(lambda: loop.waiting, share=0.05, clock=loop.clock)
    start = loop.now
    commands(loop, p, 20, 0.002)
    took = loop.now - start
    # each command but the first waits 19 times its 2 ms (the last one's debt is paid later)
    assert abs(took - (20 * 0.002 + 19 * 0.038)) < 1e-9
    assert abs(0.04 / took - 0.05) < 0.003


def test_a_long_commands_slices_are_paced_as_commands_are(loop):
    p = pacing.Pacer(lambda: loop.waiting, share=0.1, clock=loop.clock)

    async def work():
        for _ in range(5):
            loop.now += 0.001              # a slice of lease4-get-all
            await p.pause()
    start = loop.now
    asyncio.run(p.run(work))
    assert abs((loop.now - start) - (5 * 0.001 + 5 * 0.009)) < 1e-9


def test_pause_without_a_pacer_just_yields():
    class NoPacer:
        pass
    asyncio.run(pacing.pause(NoPacer()))
