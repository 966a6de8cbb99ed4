"""One control command from its JSON to its answer, as Kea's CommandMgr processes it.

``process(server, command)`` checks the command's shape as Kea's parseCommand does (a map with a
string ``command``, an optional ``arguments``, ``service`` and ``remote-address``, nothing else),
logs COMMAND_RECEIVED, and calls the registered handler. Every failure becomes an answer with a
result code: nothing a client sends raises out of here.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any

from ..messages import kea_log
from . import answers, pacing
from .answers import CommandError, Serialised, Streamed, answer, to_json
from .registry import COMMANDS

log = logging.getLogger("fastdhcp.control")

_KEYS = ("command", "arguments", "service", "remote-address")

# what the server counts about the channel (status page, metrics)
COUNTS = {"commands": 0, "command-errors": 0, "malformed": 0}


def parse_command(document: Any) -> tuple[str, Any]:
    """Kea's parseCommand: ``(name, arguments)`` or CommandError with Kea's text."""
    if not isinstance(document, dict):
        raise CommandError("Invalid command Element specified, expected map")
    if "command" not in document:
        raise CommandError("Invalid answer specified, does not contain mandatory 'command'")
    for key in document:
        if key not in _KEYS:
            raise CommandError(f"Received command contains unsupported parameter '{key}'")
    name = document["command"]
    if not isinstance(name, str):
        raise CommandError("'command' element in command message is not a string")
    return name, document.get("arguments")


def check_service(document: Any) -> None:
    """``service`` names the daemons a command is for (kea-ctrl-agent's forwarding): this
    server is the DHCPv4 one, so only ``["dhcp4"]`` (or none) is answered here."""
    service = document.get("service") if isinstance(document, dict) else None
    if service is None or service == [] or service == ["dhcp4"]:
        return
    if not isinstance(service, list) or not all(isinstance(s, str) for s in service):
        raise CommandError("service value must be a list of strings")
    others = [s for s in service if s != "dhcp4"]
    raise CommandError(f"this server is Kea's dhcp4 service (fastdhcp): no forwarding to "
                       f"{', '.join(repr(s) for s in others)}")


async def process(server: Any, document: Any, *, http: bool = False) -> dict:
    """The answer to one parsed command document."""
    COUNTS["commands"] += 1
    try:
        name, args = parse_command(document)
        if http:
            check_service(document)
    except CommandError as e:
        COUNTS["malformed"] += 1
        kea_log("COMMAND_PROCESS_ERROR2", e.text)
        return answer(answers.ERROR, f"Error during command processing: {e.text}")
    kea_log("COMMAND_RECEIVED", name)
    cmd = COMMANDS.get(name)
    if cmd is None:
        COUNTS["command-errors"] += 1
        return answer(answers.UNSUPPORTED, f"'{name}' command not supported.")
    pacer = getattr(server, "pacer", None)
    try:
        if pacer is None:
            out = await cmd.handler(server, args)
        else:                  # while packets saturate the loop, they come first (pacing.py)
            out = await pacer.run(lambda: cmd.handler(server, args))
    except CommandError as e:
        COUNTS["command-errors"] += 1
        return answer(e.result, e.text, e.arguments)
    except Exception as e:  # noqa: BLE001 - a handler's bug is an answer, never a dead channel
        COUNTS["command-errors"] += 1
        log.exception("command %s failed", name)
        return answer(answers.ERROR, f"Error during command processing: {e}")
    if isinstance(out, dict) and out.get("result") not in (answers.SUCCESS, answers.EMPTY):
        COUNTS["command-errors"] += 1
    return out


async def process_text(server: Any, data: bytes, *, http: bool = False) -> dict:
    """The answer to one command as the bytes a client sent (JSON text)."""
    try:
        document = json.loads(data)
    except (ValueError, UnicodeDecodeError) as e:
        COUNTS["malformed"] += 1
        kea_log("COMMAND_PROCESS_ERROR1", str(e))
        return answer(answers.ERROR, f"invalid JSON: {e}")
    return await process(server, document, http=http)


_HOLE = "\x00serialised\x00"          # where a Serialised list goes (no real answer has it)


def dump_parts(document: Any) -> list[bytes]:
    """An answer as the byte strings sent back, in order; a Serialised list in its arguments
    (at most one) is passed through as its parts."""
    found: list[Serialised] = []

    def hole(x: Any, depth: int = 0) -> Any:
        if isinstance(x, Serialised):
            found.append(x)
            return _HOLE
        if depth < 3 and isinstance(x, dict):
            return {k: hole(v, depth + 1) for k, v in x.items()}
        if depth < 3 and isinstance(x, list):
            return [hole(v, depth + 1) for v in x]
        return x

    text = to_json(hole(document)).encode()
    if not found:
        return [text]
    before, after = text.split(to_json(_HOLE).encode(), 1)
    return [before, b"[", *found[0].parts, b"]", after]


async def collect(server: Any, reply: Any) -> Any:
    """A Streamed answer made whole (for HTTP, which sends the length first); others as they
    are. The slices are paced as a long command's are."""
    if not isinstance(reply, Streamed):
        return reply
    parts: list[bytes] = []
    count, state = 0, reply.start
    while state is not None:
        text, n, state = reply.step(state)
        if n:
            if parts:
                parts.append(b", ")
            parts.append(text)
            count += n
        if state is not None:
            await pacing.pause(server)
    return reply.finish(count, Serialised(parts, count))


async def write_streamed(server: Any, reply: Streamed, writer: Any) -> None:
    """A Streamed answer onto a stream, slice by slice: each slice is written, then the client
    is waited for (so at most a socket buffer or two is ever held), then it is control work's
    turn again (pacing.py: charged for the slice, not for the wait)."""
    pacer = getattr(server, "pacer", None)
    empty = Serialised([], 0)
    head = dump_parts(reply.finish(0, empty))[0]
    writer.write(head + b"[")
    count, state = 0, reply.start
    while state is not None:
        t0 = time.perf_counter()
        text, n, state = reply.step(state)
        if n:
            writer.write(b", " + text if count else text)
            count += n
        if pacer is not None:
            pacer.charge(time.perf_counter() - t0)
        await writer.drain()
        if pacer is not None:
            await pacer.turn()
        else:
            await asyncio.sleep(0)
    parts = dump_parts(reply.finish(count, empty))
    if parts[0] != head:                 # (a text before the list that changed: not streamable)
        raise RuntimeError("a streamed answer's text before its list depends on the list")
    writer.write(b"]" + parts[-1])


def dumps(document: Any) -> bytes:
    """An answer as the bytes sent back."""
    return b"".join(dump_parts(document))
