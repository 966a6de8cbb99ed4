"""A streamed answer (lease4-get-all over the unix socket: written slice by slice, never held
whole) is byte for byte the answer HTTP collects and sends whole, for a table with leases, a
subnet filter and an empty one (result 3), through a real socket pair."""

from __future__ import annotations

import asyncio
import json
import socket
import types

import pytest

from fastdhcp.control import dispatch
from fastdhcp.control.answers import Streamed
from test_lease_json import table


def server_with(alloc):
    return types.SimpleNamespace(engine=types.SimpleNamespace(alloc=alloc), pacer=None,
                                 config=None)


async def streamed_bytes(server, reply):
    a, b = socket.socketpair()
    _, writer = await asyncio.open_connection(sock=a)
    got = bytearray()

    async def read():
        loop = asyncio.get_running_loop()
        while chunk := await loop.sock_recv(b, 1 << 16):
            got.extend(chunk)
    b.setblocking(False)
    reader = asyncio.ensure_future(read())
    await dispatch.write_streamed(server, reply, writer)
    await writer.drain()
    writer.close()
    await reader
    b.close()
    return bytes(got)


@pytest.mark.parametrize("arguments", [None, {"subnets": [7]}, {"subnets": [99]}])
def test_the_stream_is_the_collected_answer(arguments):
    server = server_with(table())

    async def both():
        reply = await dispatch.process(server, {"command": "lease4-get-all",
                                                "arguments": arguments} if arguments else
                                       {"command": "lease4-get-all"})
        assert isinstance(reply, Streamed)
        streamed = await streamed_bytes(server, reply)
        whole = dispatch.dumps(await dispatch.collect(server, reply))
        return streamed, whole
    streamed, whole = asyncio.run(both())
    assert streamed == whole
    doc = json.loads(streamed)
    n = len(doc["arguments"]["leases"])
    assert doc["result"] == (0 if n else 3)
    assert doc["text"] == f"{n} IPv4 lease(s) found."
    if arguments == {"subnets": [99]}:
        assert n == 0
    else:
        assert n > 5
