"""The control channel's pacing (fastdhcp.control.pacing): commands run at once unless packet
batches saturate the loop; then control work gets at most its share of the loop's time, a long
command's slices included. The clock is a counter the test moves (the pacer's own waits move it
too), so the arithmetic is exact."""

from __future__ import annotations

import asyncio

from fastdhcp.control import pacing


class Loop:
    """Wall time and the loop's packet time, both advanced by the test."""

    def __init__(self):
        self.now, self.packets = 100.0, 0.0

    def clock(self):
        return self.now

    def run_packets(self, seconds, load):
        self.now += seconds
        self.packets += seconds * load


def pacer_on(loop, share=0.05):
    return pacing.Pacer(lambda: loop.packets, share=share, clock=loop.clock)


def run(coro, loop):
    """asyncio.run with asyncio.sleep(t) moving the test's clock: the packets have the loop
    (at full load) while control work waits."""
    real = asyncio.sleep

    async def sleeping(seconds, *a):
        if seconds:
            loop.run_packets(seconds, 1.0)
        await real(0)
    asyncio.sleep = sleeping
    try:
        return asyncio.run(coro)
    finally:
        asyncio.sleep = real


def test_at_idle_every_command_runs_at_once():
    loop = Loop()
    p = pacer_on(loop)

    async def commands():
        for _ in range(10):
            async def work():
                loop.now += 0.002          # 2 ms of control work
            await p.run(work)
    loop.run_packets(1.0, 0.0)
    start = loop.now
    run(commands(), loop)
    assert abs((loop.now - start) - 0.002 * 10) < 1e-9 and p.waited == 0


def test_while_packets_saturate_the_loop_control_gets_its_share():
    loop = Loop()
    p = pacer_on(loop, share=0.05)

    async def commands():
        for _ in range(20):
            async def work():
                loop.now += 0.002
            await p.run(work)
    loop.run_packets(1.0, 1.0)             # saturated: packets took all of the last second
    start, packets = loop.now, loop.packets
    run(commands(), loop)
    control = 20 * 0.002
    took = loop.now - start
    # 19 waits of 2 ms x 19 (the last command's debt is paid after the run)
    assert abs(took - (control + 19 * 0.038)) < 1e-9
    assert abs(control / took - 0.05) < 0.003
    assert loop.packets - packets > 0.7    # the packets had the loop in between


def test_a_long_commands_slices_are_paced_as_commands_are():
    loop = Loop()
    p = pacer_on(loop, share=0.1)

    async def work():
        for _ in range(5):
            loop.now += 0.001              # a slice of lease4-get-all
            await p.pause()
    loop.run_packets(1.0, 1.0)
    start = loop.now
    run(p.run(work), loop)
    assert abs((loop.now - start) - (5 * 0.001 + 5 * 0.009)) < 1e-9


def test_pause_without_a_pacer_just_yields():
    class NoPacer:
        pass
    asyncio.run(pacing.pause(NoPacer()))
