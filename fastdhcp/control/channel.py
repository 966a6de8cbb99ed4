"""The control channel of a running server: the listeners its configuration asks for.

Kea 2.2's ``control-socket`` (one unix socket) and Kea 3's ``control-sockets`` (one unix socket
and any number of ``http``/``https`` ones) both come here as ``Config.control_sockets``. Every
listener is an asyncio server on the server's own (uvloop) loop: a command runs between packet
batches and never holds one up for longer than a slice of its work.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from . import dispatch, unix
from .registry import COMMANDS  # noqa: F401  (the command modules below register into it)
from . import classes, daemon, leases, reservations, stats  # noqa: F401

log = logging.getLogger("fastdhcp.control")


def socket_key(s: Any) -> tuple:
    """What identifies a listener: a reload that keeps it keeps it open."""
    return (s.socket_type, s.socket_name, s.socket_address, s.socket_port, s.trust_anchor,
            s.cert_file, s.key_file, s.cert_required, repr(s.authentication),
            repr(s.http_headers))


class ControlChannel:
    def __init__(self, server: Any):
        self.server = server
        self.listeners: dict[tuple, asyncio.AbstractServer] = {}

    async def answer_unix(self, data: bytes) -> dict:
        return await dispatch.process_text(self.server, data)

    async def apply(self, sockets) -> None:
        """Open the listeners ``sockets`` name and close the ones they no longer name."""
        wanted = {socket_key(s): s for s in sockets}
        for key in [k for k in self.listeners if k not in wanted]:
            self.listeners.pop(key).close()
        for key, s in wanted.items():
            if key in self.listeners:
                continue
            try:
                self.listeners[key] = await self._open(s)
            except OSError as e:
                log.error("control socket %s not opened: %s", s.socket_name or
                          f"{s.socket_address}:{s.socket_port}", e)

    async def _open(self, s) -> asyncio.AbstractServer:
        if s.socket_type == "unix":
            return await unix.start(s.socket_name, self.answer_unix, self.server)
        from . import http              # (only a configuration with an HTTP socket loads it)
        return await http.start(s, self.server)

    def close(self) -> None:
        for listener in self.listeners.values():
            listener.close()
        self.listeners.clear()
