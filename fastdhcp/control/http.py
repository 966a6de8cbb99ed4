"""The HTTP/HTTPS control socket, as kea-ctrl-agent and Kea 3's direct HTTP socket answer it.

``POST /`` with a JSON command: the answer is a one-element JSON list (kea-ctrl-agent's shape,
which kea-shell and Stork read). ``service`` must be absent, empty or ``["dhcp4"]``. ``GET /``
is the status page (fastdhcp's; Kea has none) and ``GET /metrics`` the Prometheus exposition,
both behind the same authentication.

Configured by a ``control-sockets`` entry of type ``http`` or ``https`` (Kea 3's keys):
``socket-address``, ``socket-port`` (default 8000), ``authentication`` of type ``basic`` with a
``realm`` and ``clients`` (``user``/``password``, or ``user-file``/``password-file`` read from
``directory``), ``trust-anchor`` / ``cert-file`` / ``key-file`` / ``cert-required`` for TLS, and
``http-headers`` (``[{"name": ..., "value": ...}]``) added to every answer.

A small, strict HTTP/1.1 server on the server's own loop (asyncio streams) rather than a
framework: it needs one route and Kea's behaviour, and every limit is visible here. Limits: a
request head of at most 64 KiB, a body of at most ``MAX_BODY`` (64 MiB, refused with 413 before
it is read), ``IDLE_TIMEOUT`` seconds for each read, keep-alive as HTTP/1.1 has it.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
import logging
import os
import ssl
from typing import Any

from . import dispatch, status_page
from .answers import answer

log = logging.getLogger("fastdhcp.control")

MAX_HEAD = 64 << 10
MAX_BODY = 64 << 20
IDLE_TIMEOUT = 10.0
DEFAULT_PORT = 8000
_REASONS = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found",
            405: "Method Not Allowed", 408: "Request Timeout", 411: "Length Required",
            413: "Payload Too Large", 415: "Unsupported Media Type", 500: "Internal Server Error",
            505: "HTTP Version Not Supported"}


class HttpConfigError(ValueError):
    pass


def _read_secret(directory: str, name: str) -> str:
    path = name if os.path.isabs(name) else os.path.join(directory, name)
    with open(path, encoding="utf-8") as f:
        return f.readline().rstrip("\r\n")


def credentials(auth: dict | None) -> tuple[str, set[bytes]] | None:
    """(realm, the accepted ``Basic`` tokens) of an ``authentication`` map, or None."""
    if not auth:
        return None
    if auth.get("type", "basic") != "basic":
        raise HttpConfigError(f"unsupported authentication type {auth.get('type')!r} (basic)")
    realm = auth.get("realm", "kea-control-agent")
    directory = auth.get("directory", "")
    tokens = set()
    for i, c in enumerate(auth.get("clients", [])):
        try:
            user = c["user"] if "user" in c else _read_secret(directory, c["user-file"])
            password = (c["password"] if "password" in c
                        else _read_secret(directory, c["password-file"]) if "password-file" in c
                        else "")
        except (KeyError, OSError) as e:
            raise HttpConfigError(f"authentication.clients[{i}]: {e}") from None
        if ":" in user:
            raise HttpConfigError(f"authentication.clients[{i}].user: a user name must not "
                                  f"contain ':'")
        tokens.add(base64.b64encode(f"{user}:{password}".encode()))
    return realm, tokens


def tls_context(s: Any) -> ssl.SSLContext | None:
    if s.socket_type != "https" and not (s.cert_file or s.key_file):
        return None
    if not (s.cert_file and s.key_file):
        raise HttpConfigError("an https socket needs cert-file and key-file")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(s.cert_file, s.key_file)
    if s.trust_anchor:
        if os.path.isdir(s.trust_anchor):
            ctx.load_verify_locations(capath=s.trust_anchor)
        else:
            ctx.load_verify_locations(cafile=s.trust_anchor)
        ctx.verify_mode = ssl.CERT_REQUIRED if s.cert_required else ssl.CERT_OPTIONAL
    elif s.cert_required and s.socket_type == "https":
        raise HttpConfigError("cert-required needs a trust-anchor to check client certificates")
    return ctx


class HttpControl:
    """One HTTP listener's requests. ``metrics_only``: the ``--metrics`` listener, which answers
    ``GET /metrics`` and nothing else (no commands, no page, no authentication)."""

    def __init__(self, s: Any, server: Any, *, metrics_only: bool = False):
        self.server = server
        self.metrics_only = metrics_only
        self.auth = credentials(s.authentication) if s is not None else None
        self.headers = [(h["name"], h["value"]) for h in (s.http_headers or [])
                        if isinstance(h, dict) and "name" in h and "value" in h] if s else []
        self.connections = 0

    async def connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.connections += 1
        try:
            while await self.one_request(reader, writer):
                pass
        except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError, OSError):
            pass
        finally:
            self.connections -= 1
            writer.close()

    async def one_request(self, reader, writer) -> bool:
        """One request and its answer; False when the connection is to be closed."""
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), IDLE_TIMEOUT)
        except asyncio.TimeoutError:
            return False                 # idle keep-alive connection, or a stalled client
        except asyncio.LimitOverrunError:
            await self.respond(writer, 400, b"request head too large", close=True)
            return False
        except asyncio.IncompleteReadError:
            return False
        lines = head.decode("latin-1").split("\r\n")
        try:
            method, target, version = lines[0].split(" ")
        except ValueError:
            await self.respond(writer, 400, b"malformed request line", close=True)
            return False
        if version not in ("HTTP/1.1", "HTTP/1.0"):
            await self.respond(writer, 505, b"HTTP/1.1 only", close=True)
            return False
        headers = {}
        for line in lines[1:]:
            if line:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
        close = version == "HTTP/1.0" or headers.get("connection", "").lower() == "close"
        body = b""
        if "transfer-encoding" in headers:
            await self.respond(writer, 411, b"chunked bodies are not accepted: send "
                                            b"Content-Length", close=True)
            return False
        if "content-length" in headers:
            try:
                size = int(headers["content-length"])
            except ValueError:
                await self.respond(writer, 400, b"bad Content-Length", close=True)
                return False
            if size > MAX_BODY or size < 0:
                await self.respond(writer, 413, f"a command is at most {MAX_BODY} bytes"
                                   .encode(), close=True)
                return False
            try:
                body = await asyncio.wait_for(reader.readexactly(size), IDLE_TIMEOUT + size / 1e6)
            except asyncio.TimeoutError:
                await self.respond(writer, 408, b"the body did not arrive in time", close=True)
                return False
        if not self.authorised(headers):
            realm = self.auth[0] if self.auth else ""
            await self.respond(writer, 401, dispatch.dumps(answer(401, "Unauthorized")),
                               ctype="application/json", close=close,
                               extra=[("WWW-Authenticate", f'Basic realm="{realm}"')])
            return not close
        path = target.split("?", 1)[0]
        if self.metrics_only and path != "/metrics":
            await self.respond(writer, 404, b"GET /metrics", close=close)
        elif method == "GET" and path == "/":
            await self.respond(writer, 200, status_page.page(), ctype="text/html; charset=utf-8",
                               close=close)
        elif method == "GET" and path == "/metrics":
            from . import metrics
            await self.respond(writer, 200, metrics.exposition(self.server),
                               ctype=metrics.CONTENT_TYPE, close=close)
        elif method == "POST" and path == "/":
            reply = await dispatch.collect(
                self.server, await dispatch.process_text(self.server, body, http=True))
            await self.respond(writer, 200, dispatch.dump_parts([reply]),
                               ctype="application/json", close=close)
        elif path in ("/", "/metrics"):
            await self.respond(writer, 405, b"POST / for commands, GET / or /metrics",
                               close=close, extra=[("Allow", "GET, POST")])
        else:
            await self.respond(writer, 404, b"not found", close=close)
        return not close

    def authorised(self, headers: dict) -> bool:
        if self.auth is None:
            return True
        kind, _, token = headers.get("authorization", "").partition(" ")
        if kind.lower() != "basic":
            return False
        try:
            base64.b64decode(token, validate=True)
        except (binascii.Error, ValueError):
            return False
        given = token.strip().encode()
        # (each compared in constant time: a timing must not tell a password's prefix)
        return any(hmac.compare_digest(given, t) for t in self.auth[1])

    async def respond(self, writer, status: int, body: bytes | list[bytes], *,
                      ctype: str = "text/plain", close: bool = False, extra=()) -> None:
        parts = body if isinstance(body, list) else [body]
        head = [f"HTTP/1.1 {status} {_REASONS.get(status, '')}", f"Content-Type: {ctype}",
                f"Content-Length: {sum(map(len, parts))}", "Server: fastdhcp"]
        head += [f"{k}: {v}" for k, v in (*extra, *self.headers)]
        if close:
            head.append("Connection: close")
        writer.writelines([("\r\n".join(head) + "\r\n\r\n").encode("latin-1"), *parts])
        await writer.drain()


async def start(s: Any, server: Any) -> asyncio.AbstractServer:
    """Listen as the ``control-sockets`` entry ``s`` says."""
    try:
        handler = HttpControl(s, server)
        ctx = tls_context(s)
    except (HttpConfigError, ssl.SSLError, OSError) as e:
        raise OSError(f"{s.socket_type} control socket: {e}") from None
    host = s.socket_address or "127.0.0.1"
    port = s.socket_port if s.socket_port is not None else DEFAULT_PORT
    listener = await asyncio.start_server(handler.connection, host, port, ssl=ctx,
                                          limit=MAX_HEAD, backlog=1024)
    log.info("%s control socket listening on %s:%d%s", s.socket_type, host, port,
             " (basic authentication)" if handler.auth else "")
    return listener
