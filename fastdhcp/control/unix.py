"""Kea's unix control socket: one command per connection, the answer written, the socket closed.

As Kea's CommandMgr: the command is read until it is one complete JSON value (Kea's JSONFeed),
a connection that has not sent one within ``RECEIVE_TIMEOUT`` seconds gets result 1 ("timed
out") and is closed, the socket file is made 0750 (not world-writable: every command can change
leases), and a stale file a killed server left is replaced at start. A command longer than
``MAX_COMMAND`` bytes is refused without being kept in memory.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import stat
from collections.abc import Awaitable, Callable
from typing import Any

from ..messages import kea_log
from .answers import ERROR, Streamed, answer
from .dispatch import COUNTS, dump_parts, write_streamed
from .jsonfeed import JsonFeed

log = logging.getLogger("fastdhcp.control")

RECEIVE_TIMEOUT = 10.0        # Kea's TIMEOUT_DHCP_SERVER_RECEIVE_COMMAND (10 s)
MAX_COMMAND = 64 << 20        # bytes
SOCKET_MODE = 0o750
READ_SIZE = 16 << 10          # per read: the feed's scan of one read holds the loop < ~4 ms

Answerer = Callable[[bytes], Awaitable[dict]]


def _remove_stale(path: str) -> None:
    """A socket file nobody listens on (a killed server's) is removed; a live one is not."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(st.st_mode):
        raise OSError(f"{path} exists and is not a socket")
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.connect(path)
    except OSError:
        os.unlink(path)                  # nobody answers: stale
        return
    finally:
        probe.close()
    raise OSError(f"{path} is in use by another process")


async def start(path: str, respond: Answerer, server: Any = None) -> asyncio.AbstractServer:
    """Listen on the unix socket ``path``; each connection's command goes to ``respond``. A
    streamed answer is written slice by slice, paced as ``server``'s control work is."""
    _remove_stale(path)

    async def connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            reply = await _one_command(reader, respond)
            if isinstance(reply, Streamed):
                await write_streamed(server, reply, writer)
            else:
                writer.writelines(dump_parts(reply))
            await writer.drain()
        except (ConnectionError, OSError):
            pass                         # the client went away: nothing to answer
        finally:
            writer.close()

    server = await asyncio.start_unix_server(connection, path, limit=1 << 16)
    os.chmod(path, SOCKET_MODE)
    kea_log("COMMAND_ACCEPTOR_START", path)
    return server


async def _one_command(reader: asyncio.StreamReader, respond: Answerer) -> dict:
    feed = JsonFeed(MAX_COMMAND)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + RECEIVE_TIMEOUT
    while not feed.done:
        left = deadline - loop.time()
        try:
            chunk = await asyncio.wait_for(reader.read(READ_SIZE), max(left, 0))
        except asyncio.TimeoutError:
            kea_log("COMMAND_SOCKET_CONNECTION_TIMEOUT", "unix")
            text = "Connection over control channel timed out"
            if feed.size:
                text += f", discarded partial command of {feed.size} bytes"
            return answer(ERROR, text)
        if not chunk:
            if feed.size == 0:
                raise ConnectionError("closed before a command")
            feed.end()
            break
        feed.feed(chunk)
    if feed.error:
        COUNTS["malformed"] += 1
        kea_log("COMMAND_PROCESS_ERROR1", feed.error)
        return answer(ERROR, feed.error)
    return await respond(feed.text())
