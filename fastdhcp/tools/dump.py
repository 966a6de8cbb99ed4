"""What ``fastdhcp dump`` shows of a capture: one record per DHCP datagram, and its text line.

A record is the decoded message, in a shape that ``tests/test_dump.py`` checks field by field
against tshark's view of the same capture, or ``{"frame": N, "error": REASON}`` for a datagram
that does not decode (a drop reason of the codec) or that its UDP/IP headers do not frame
(fastdhcp.tools.capture).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from ..packet import MalformedPacket, Packet
from .capture import Datagram


def _native_decode(data: bytes, **kwargs) -> Packet:
    # Resolved at call time: the extension is imported lazily by the package.
    import fastdhcp
    return fastdhcp.decode(data, **kwargs)


#: The codec ``dump`` decodes with. The native one by default; tests and tools may point it at
#: ``fastdhcp.reference.decode`` (same signature, same Packet, same MalformedPacket).
DUMP_DECODE: Callable[..., Packet] = _native_decode


def _options_table():
    from .. import options
    return options


def _option_name(table, code: int) -> str:
    try:
        definition = table.by_code(code)
    except LookupError:
        definition = None
    return definition.name if definition is not None else f"option-{code}"


def _text(field: bytes) -> str:
    # sname/file are NUL-terminated strings in fixed fields (RFC 2131 §2); shown byte for byte.
    return field.decode("latin-1").replace("\x00", "")


def dump_records(datagrams: Iterator[Datagram]) -> Iterator[dict]:
    """One JSON-ready dict per DHCP datagram (``capture.dhcp_records``): the decoded message, or
    ``frame`` and ``error`` (the capture's framing error, else the codec's drop reason)."""
    table = None
    for frame, data, framing_error in datagrams:
        if framing_error is not None:
            yield {"frame": frame, "error": framing_error}
            continue
        if table is None:           # loaded on the first datagram: errors in the file come first
            table = _options_table()
        try:
            # BOOTP (no option 53) is shown, not dropped: a dump shows what is on the wire.
            p = DUMP_DECODE(data, allow_bootp=True)
        except MalformedPacket as exc:
            yield {"frame": frame, "error": exc.reason.label}
            continue
        yield {
            "frame": frame,
            "op": p.op, "htype": p.htype, "hlen": p.hlen, "hops": p.hops,
            "xid": p.xid, "secs": p.secs, "flags": p.flags,
            "ciaddr": p.ciaddr, "yiaddr": p.yiaddr, "siaddr": p.siaddr, "giaddr": p.giaddr,
            "chaddr": p.chaddr.hex(":"),
            "sname": _text(p.sname), "file": _text(p.file),
            "msg_type": p.msg_type_name,
            "options": [{"code": code, "name": _option_name(table, code),
                         "value": table.decode_value(code, value), "hex": value.hex()}
                        for code, value in p.options],
        }


def dump_line(rec: dict) -> str:
    """The text form of a record (``fastdhcp dump`` without ``--json``)."""
    if "error" in rec:
        return f"frame {rec['frame']}: malformed ({rec['error']})"
    parts = [f"frame {rec['frame']}:", rec["msg_type"], f"xid=0x{rec['xid']:08x}",
             f"chaddr={rec['chaddr'] or '-'}"]
    parts += [f"{k}={rec[k]}" for k in ("ciaddr", "yiaddr", "giaddr") if rec[k] != "0.0.0.0"]
    parts += [f"{k}={rec[k]!r}" for k in ("sname", "file") if rec[k]]
    parts.append("options=[" + ", ".join(o["name"] for o in rec["options"]) + "]")
    return " ".join(parts)
