"""The small values of a configuration, parsed as Kea parses them: IPv4 addresses, reservation
identifiers, host names, relay address lists and pool ranges."""

from __future__ import annotations

import ipaddress
import re
import socket

from .decode import _Diag
from .schema import PoolConfig, RelayConfig

_MAX_IDENTIFIER = 128


def _ip_text(addr: int) -> str:
    return str(ipaddress.IPv4Address(addr))


def _parse_ip(text: str) -> int | None:
    """Dotted-quad IPv4 -> int, or None. inet_pton is strict like Kea's parser (no leading
    zeros, exactly four octets) and much faster than ipaddress for 100k reservations."""
    try:
        return int.from_bytes(socket.inet_pton(socket.AF_INET, text.strip()), "big")
    except (OSError, AttributeError, ValueError):
        return None


_HEX_PAIRS = re.compile(r"[0-9A-Fa-f]{1,2}")
_COLON_HEX = re.compile(r"[0-9A-Fa-f]{2}(?::[0-9A-Fa-f]{2}){0,127}")


def _identifier_bytes(kind: str, text: str) -> bytes | str:
    """A reservation identifier -> bytes, or the reason it is not one. Kea's forms, for every
    kind: hex octets separated by ':' or ' ' (one or two digits each), a run of hex digits
    (optionally 0x), or a 'quoted string' (its bytes). Kea rejects '-' and '.' separators."""
    s = text.strip()
    if _COLON_HEX.fullmatch(s):                     # the usual "aa:bb:cc:dd:ee:ff"
        raw = bytes.fromhex(s.replace(":", ""))
    elif len(s) >= 2 and s[0] == s[-1] == "'":
        raw = s[1:-1].encode()
    elif ":" in s or " " in s:
        parts = s.split(":") if ":" in s else s.split()
        if not all(_HEX_PAIRS.fullmatch(p) for p in parts):
            return f"{text!r} is not hex octets separated by ':' or ' '"
        raw = bytes(int(p, 16) for p in parts)
    else:
        digits = s[2:] if s[:2].lower() == "0x" else s
        if not re.fullmatch(r"[0-9A-Fa-f]+", digits):
            return (f"{text!r} is not an identifier (hex octets separated by ':' or ' ', a run of "
                    f"hex digits, or a 'quoted string')")
        raw = bytes.fromhex(("0" if len(digits) % 2 else "") + digits)
    limit = 20 if kind == "hw-address" else _MAX_IDENTIFIER
    if not 1 <= len(raw) <= limit:
        return f"{text!r} is {len(raw)} bytes; a {kind} has 1..{limit}"
    return raw


_HOST_LABEL = re.compile(r"(?!-)[A-Za-z0-9_-]{1,63}(?<!-)")


def _hostname_ok(name: str) -> bool:
    body = name.removesuffix(".")
    if not body or len(body) > 253:
        return False
    return all(_HOST_LABEL.fullmatch(label) for label in body.split("."))


def relay_addresses(diag: _Diag, relay: RelayConfig | None, path: str | None) -> tuple[int, ...]:
    """Relay addresses; with ``path``, problems are reported."""
    if relay is None:
        return ()
    texts = list(relay.ip_addresses)
    if relay.ip_address is not None:
        if relay.ip_addresses and path:
            diag.error(path, "give either ip-address or ip-addresses, not both")
        texts.append(relay.ip_address)
    out = []
    for i, t in enumerate(texts):
        a = _parse_ip(t)
        if a is None:
            if path:
                key = ("ip-address" if relay.ip_address is not None
                       and i == len(texts) - 1 else f"ip-addresses[{i}]")
                diag.error(f"{path}.{key}", f"{t!r} is not an IPv4 address")
            continue
        if a not in out:
            out.append(a)
    return tuple(out)


def pool_range(diag: _Diag, p: PoolConfig, path: str, net: ipaddress.IPv4Network
               ) -> tuple[int, int] | None:
    """A pool, 'first - last' or 'prefix/length', as (first, last) inside ``net``; or None."""
    text = p.pool.strip()
    m = re.fullmatch(r"([0-9.]+)\s*-\s*([0-9.]+)", text)
    if m:
        first, last = _parse_ip(m.group(1)), _parse_ip(m.group(2))
        if first is None or last is None:
            bad = m.group(1) if first is None else m.group(2)
            diag.error(f"{path}.pool", f"{bad!r} is not an IPv4 address")
            return None
        if first > last:
            diag.error(f"{path}.pool", f"pool {p.pool}: the first address is after the last")
            return None
    elif "/" in text:
        try:
            pn = ipaddress.IPv4Network(text, strict=False)
        except ValueError as exc:
            diag.error(f"{path}.pool", f"{p.pool!r} is not an IPv4 prefix: {exc}")
            return None
        first, last = int(pn.network_address), int(pn.broadcast_address)
        written = _parse_ip(text.split("/")[0].strip())
        if written is not None and written != first:
            # Kea's pool starts at the address written, not at the prefix's network
            diag.warn(f"{path}.pool", f"{p.pool} has host bits set: the pool is "
                                      f"{_ip_text(written)} - {_ip_text(last)}")
            first = written
    else:
        diag.error(f"{path}.pool", f"{p.pool!r} is not a pool (write 'first - last' or "
                                   f"'prefix/length')")
        return None
    lo, hi = int(net.network_address), int(net.broadcast_address)
    if first < lo or last > hi:
        where = "is outside" if last < lo or first > hi else "extends outside"
        diag.error(path, f"pool {_ip_text(first)} - {_ip_text(last)} {where} subnet {net}")
        return None
    return first, last
