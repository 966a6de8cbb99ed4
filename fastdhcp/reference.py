"""Pure-Python DHCPv4 codec, written from the RFCs and the contract in ``fastdhcp.packet``.

This is the twin of the native codec: never cythonised, never importing ``fastdhcp._core``. For
every datagram both must return an equal ``Packet`` or the same ``DropReason``, and the same reply
bytes, so the rules below follow the numbered rules of the ``fastdhcp.packet`` docstring in order.
Where that contract leaves a choice open, the choice is written beside the code ("Reading:").

It also crafts client messages (``discover``, ``request``, ``release``, ``decline``, ``inform``)
for tests and tools, so no test hand-writes a 300-byte array.
"""

from __future__ import annotations

import socket
import struct
from collections.abc import Iterable

from .packet import (BOOTP_MIN_SIZE, MAGIC_COOKIE, MAX_DATAGRAM, MAX_RELAY_SUBOPTIONS,
                     MIN_MESSAGE, DropReason, MalformedPacket, MsgType, Packet, Quirk)

__all__ = ["decode", "encode", "build_reply", "tlv", "discover", "request", "release", "decline",
           "inform", "mac", "ip", "ip_str", "DEFAULT_PRL"]

# RFC 2131 §2, Figure 1: op htype hlen hops xid secs flags ciaddr yiaddr siaddr giaddr chaddr
# sname file, 236 bytes, network byte order; the magic cookie (RFC 2131 §3) follows.
_HEADER = struct.Struct("!BBBBIHH4s4s4s4s16s64s128s")
_SNAME = (44, 108)          # byte ranges of the fields that option overload (52) can reuse
_FILE = (108, 236)
_OPTIONS = MIN_MESSAGE      # the options field starts after the cookie

PAD, END = 0, 255
OPT_HOSTNAME, OPT_REQUESTED_IP, OPT_LEASE_TIME, OPT_OVERLOAD = 12, 50, 51, 52
OPT_MSG_TYPE, OPT_SERVER_ID, OPT_PRL, OPT_MAX_SIZE, OPT_CLIENT_ID = 53, 54, 55, 57, 61
OPT_RELAY_INFO, OPT_SUBNET_SELECTION, OPT_CLIENT_FQDN = 82, 118, 81

BOOTREQUEST, BOOTREPLY = 1, 2
BROADCAST_FLAG = 0x8000     # RFC 2131 §2, Figure 2
MIN_MAX_SIZE = 576          # RFC 2132 §9.10: smallest legal maximum DHCP message size
MAX_REPLY_SIZE = 1500       # the builder never goes past one Ethernet MTU
IP_UDP_HEADERS = 28         # 20-byte IPv4 header + 8-byte UDP header

# Rule 8: the options the server consumes, in the order their lengths are checked.
_EXACT_LENGTHS = ((OPT_REQUESTED_IP, 4), (OPT_LEASE_TIME, 4), (OPT_SERVER_ID, 4),
                  (OPT_SUBNET_SELECTION, 4), (OPT_MAX_SIZE, 2))
_MIN_CLIENT_ID = 2          # RFC 2132 §9.14: type octet + at least one octet of identifier

# Quirk flags as plain ints: IntFlag arithmetic costs a microsecond per operation.
_NO_END, _TRAILING = int(Quirk.NO_END), int(Quirk.TRAILING_AFTER_END)
_EMPTY_HOSTNAME, _SMALL_MAX_SIZE = int(Quirk.EMPTY_HOSTNAME), int(Quirk.SMALL_MAX_SIZE)
_HLEN_CLAMPED = int(Quirk.HLEN_CLAMPED)

_LAST_MSG_TYPE = int(max(MsgType))   # 18, DHCPTLS (RFC 7724)

DEFAULT_PRL = (1, 3, 6, 15, 51, 54, 58, 59)


# --- small helpers ----------------------------------------------------------------------------

def mac(s: str) -> bytes:
    """'aa:bb:cc:dd:ee:ff' (or with '-', or bare hex) -> 6 bytes."""
    return bytes.fromhex(s.replace(":", "").replace("-", ""))


def ip(s: str) -> bytes:
    """Dotted quad -> 4 bytes. Strict: inet_pton refuses the '10.1' shorthands inet_aton takes."""
    try:
        return socket.inet_pton(socket.AF_INET, s)
    except (OSError, TypeError) as e:
        raise ValueError(f"not a dotted-quad IPv4 address: {s!r}") from e


def ip_str(b: bytes) -> str:
    """4 bytes -> dotted quad."""
    return socket.inet_ntoa(b)


def tlv(code: int, value: bytes) -> bytes:
    """One option as wire TLVs: over 255 bytes split into consecutive 255-byte pieces (RFC 3396
    §7); an empty value is one zero-length option."""
    if not 0 < code < END:
        raise ValueError(f"option code {code} is PAD, END or out of range")
    value = bytes(value)
    if len(value) <= 255:
        return bytes((code, len(value))) + value
    return b"".join(bytes((code, len(value[i:i + 255]))) + value[i:i + 255]
                    for i in range(0, len(value), 255))


# --- decoding ---------------------------------------------------------------------------------

def decode(data: bytes, *, requests_only: bool = False, allow_bootp: bool = False) -> Packet:
    """Parse one datagram; raise ``MalformedPacket(reason)`` on the first rule that fails."""
    data = bytes(data)
    _check_frame(data, requests_only)                     # rules 1-3
    values, overload, quirks, instances = _read_options(data)    # rules 4-6
    msg_type = _message_type(values, allow_bootp)         # rule 7
    _check_lengths(values)                                # rule 8
    relay_info = _relay_info(values.get(OPT_RELAY_INFO))  # rule 9
    _check_client_fqdn(values.get(OPT_CLIENT_FQDN))      # rule 9b
    _check_vendor_options(instances)                      # rule 9c
    return _packet(data, values, msg_type, relay_info, overload, quirks)   # rule 10


def _check_frame(data: bytes, requests_only: bool) -> None:
    """Rules 1-3: size, op, magic cookie."""
    if len(data) < MIN_MESSAGE:
        raise MalformedPacket(DropReason.TOO_SHORT)
    if len(data) > MAX_DATAGRAM:
        raise MalformedPacket(DropReason.TOO_LONG)
    op = data[0]
    if op != BOOTREQUEST and op != BOOTREPLY:
        raise MalformedPacket(DropReason.BAD_OP)
    if requests_only and op != BOOTREQUEST:
        raise MalformedPacket(DropReason.NOT_BOOTREQUEST)
    if data[_FILE[1]:_OPTIONS] != MAGIC_COOKIE:          # RFC 2131 §3: 99.130.83.99
        raise MalformedPacket(DropReason.BAD_MAGIC_COOKIE)


def _scan(data: bytes, start: int, end: int, parts: dict[int, list[bytes]],
          in_overloaded_field: bool) -> int:
    """Rule 4: read [start, end) as option TLVs (RFC 2132 §2) into ``parts`` (code -> pieces in
    order of appearance); return the quirks seen.

    The quirks returned only count for the options field (rule 5): an overloaded sname/file may
    simply run to the end of its fixed-size field.
    Reading: each TLV is bounds-checked first (OPTION_OVERRUN), then rejected if it is 52 inside
    sname/file (BAD_OVERLOAD); the first offending TLV in reading order names the reason.
    """
    i = start
    while i < end:
        code = data[i]
        if code == PAD:                                   # RFC 2132 §3.1: one byte, no length
            i += 1
            continue
        if code == END:                                   # RFC 2132 §3.2
            return _TRAILING if data[i + 1:end].strip(b"\0") else 0
        if i + 1 >= end:
            raise MalformedPacket(DropReason.OPTION_OVERRUN)      # no length byte
        stop = i + 2 + data[i + 1]
        if stop > end:
            raise MalformedPacket(DropReason.OPTION_OVERRUN)
        if in_overloaded_field and code == OPT_OVERLOAD:  # RFC 2131 §4.1: 52 only in 'options'
            raise MalformedPacket(DropReason.BAD_OVERLOAD)
        value = data[i + 2:stop]
        if code in parts:
            parts[code].append(value)
        else:
            parts[code] = [value]
        i = stop
    return _NO_END


def _overload(parts: dict[int, list[bytes]]) -> int:
    """Rule 5: the value of 52 after concatenation must be a single byte 1, 2 or 3 (RFC 2132
    §9.3); 0 when absent."""
    pieces = parts.get(OPT_OVERLOAD)
    if pieces is None:
        return 0
    value = b"".join(pieces)
    if len(value) != 1 or not 1 <= value[0] <= 3:
        raise MalformedPacket(DropReason.BAD_OVERLOAD)
    return value[0]


def _read_options(data: bytes) -> tuple[dict[int, bytes], int, int, dict[int, list[bytes]]]:
    """Rules 4-6: options field, then 'file' (overload 1|3), then 'sname' (overload 2|3), with
    repeated codes joined in that order (RFC 3396 §6). Returns (values, overload, quirks, and
    each code's instances apart)."""
    parts: dict[int, list[bytes]] = {}
    quirks = _scan(data, _OPTIONS, len(data), parts, False)
    overload = _overload(parts)
    if overload & 1:                                      # RFC 2132 §9.3: 1 = file, 2 = sname
        _scan(data, _FILE[0], _FILE[1], parts, True)
    if overload & 2:
        _scan(data, _SNAME[0], _SNAME[1], parts, True)
    # dicts keep insertion order, so each code sits at its first appearance (rule 6)
    values = {code: p[0] if len(p) == 1 else b"".join(p) for code, p in parts.items()}
    return values, overload, quirks, parts


def _message_type(values: dict[int, bytes], allow_bootp: bool) -> int:
    """Rule 7: option 53 (RFC 2132 §9.6). Plain BOOTP (RFC 951) has none: msg_type 0."""
    value = values.get(OPT_MSG_TYPE)
    if value is None:
        if allow_bootp:
            return 0
        raise MalformedPacket(DropReason.NO_MESSAGE_TYPE)
    if len(value) != 1 or not 1 <= value[0] <= _LAST_MSG_TYPE:
        raise MalformedPacket(DropReason.BAD_MESSAGE_TYPE)
    return value[0]


def _check_lengths(values: dict[int, bytes]) -> None:
    """Rule 8: the options the server reads have the only lengths that make sense."""
    for code, size in _EXACT_LENGTHS:
        value = values.get(code)
        if value is not None and len(value) != size:
            raise MalformedPacket(DropReason.BAD_OPTION_LENGTH)
    value = values.get(OPT_CLIENT_ID)
    if value is not None and len(value) < _MIN_CLIENT_ID:
        raise MalformedPacket(DropReason.BAD_OPTION_LENGTH)


def _relay_info(value: bytes | None) -> tuple[tuple[int, bytes], ...]:
    """Rule 9: option 82 is SubOpt/Len/Value tuples with no PAD or END (RFC 3046 §2.0).

    Reading: an empty 82 is a run of zero sub-options (accepted, relay_info ()); zero-length
    sub-options are accepted.
    """
    if not value:
        return ()
    subs = []
    i, end = 0, len(value)
    while i < end:
        if len(subs) == MAX_RELAY_SUBOPTIONS:
            raise MalformedPacket(DropReason.BAD_RELAY_INFO)
        if i + 1 >= end:                                  # sub-code without a length byte
            raise MalformedPacket(DropReason.BAD_RELAY_INFO)
        stop = i + 2 + value[i + 1]
        if stop > end:
            raise MalformedPacket(DropReason.BAD_RELAY_INFO)
        subs.append((value[i], value[i + 2:stop]))
        i = stop
    return tuple(subs)


def text_name_ok(text: bytes) -> bool:
    """A DNS name in text form as Kea's isc::dns::Name accepts it: "." alone, or labels of 1 to
    63 bytes joined by dots (\\X and \\DDD escapes count as one byte), at most 255 bytes in
    wire form."""
    if text == b".":
        return True
    labels, label, i = [], 0, 0
    while i < len(text):
        c = text[i]
        if c == 0x2E:                                     # a dot ends a label
            if label == 0:
                return False
            labels.append(label)
            label, i = 0, i + 1
            continue
        if c == 0x5C:                                     # backslash
            rest = text[i + 1:i + 4]
            if not rest:
                return False
            if rest[:1].isdigit():
                if len(rest) < 3 or not rest.isdigit() or int(rest) > 255:
                    return False
                i += 4
            else:
                i += 2
        else:
            i += 1
        label += 1
        if label > 63:
            return False
    if label:
        labels.append(label)
    elif not labels:
        return False
    return sum(n + 1 for n in labels) + 1 <= 255


_VENDOR_DOCSIS = 4491


def _check_vendor_options(instances: dict[int, list[bytes]]) -> None:
    """Rule 9c: each instance of 124 as Kea 2.2's OptionVendorClass unpacks it (an enterprise
    id, tuples that fit, each later block's enterprise id skipped and a tuple after it), and of
    a DOCSIS 125 as OptionVendor types its sub-options in order (oro: at least a byte;
    tftp-servers: whole IPv4 addresses) until one does not fit the block, where Kea stops
    unpacking (SkipRemainingOptionsError: not a reason)."""
    bad = MalformedPacket(DropReason.BAD_VENDOR_OPTION)
    for vivco in instances.get(124, ()):
        if len(vivco) < 4:
            raise bad
        rest, pos = vivco[4:], 0
        while pos < len(rest):
            if len(rest) - pos - 1 < rest[pos]:
                raise bad
            pos += 1 + rest[pos]
            if pos != len(rest):
                pos += 4
                if pos + 1 >= len(rest):
                    raise bad
    for vivso in instances.get(125, ()):
        if len(vivso) < 5 or int.from_bytes(vivso[:4], "big") != _VENDOR_DOCSIS \
                or 5 + vivso[4] > len(vivso):
            continue
        block, pos = vivso[5:5 + vivso[4]], 0
        while pos + 2 <= len(block) and pos + 2 + block[pos + 1] <= len(block):
            code, n = block[pos], block[pos + 1]
            if (code == 1 and n == 0) or (code == 2 and n % 4):
                raise bad
            pos += 2 + n


def _check_client_fqdn(value: bytes | None) -> None:
    """Rule 9b: option 81 (RFC 4702 §2) as Kea's Option4ClientFqdn unpacks it: flags and two
    RCODEs, not N and S together (§2.1), a name in wire form (E set: labels, the final zero
    only at the end, none past 63 bytes) or in ASCII."""
    if value is None:
        return
    bad = MalformedPacket(DropReason.BAD_CLIENT_FQDN)
    if len(value) < 3 or (value[0] & 0x08 and value[0] & 0x01):
        raise bad
    name = value[3:]
    if not value[0] & 0x04:
        if name and not text_name_ok(name):
            raise bad
        return
    i = 0
    while i < len(name):
        if name[i] == 0:
            if i != len(name) - 1:
                raise bad
            return
        if name[i] > 63:
            raise bad
        i += 1 + name[i]
        if i > 254:
            raise bad
    if i != len(name):
        raise bad


def _packet(data: bytes, values: dict[int, bytes], msg_type: int,
            relay_info: tuple[tuple[int, bytes], ...], overload: int, quirks: int) -> Packet:
    """Rule 10 and the header fields: nothing here drops, it only clamps and notes quirks."""
    (op, htype, hlen, hops, xid, secs, flags, ciaddr, yiaddr, siaddr, giaddr, chaddr, sname,
     file) = _HEADER.unpack_from(data)
    if hlen > 16:                        # RFC 2131 §2: chaddr holds 16 bytes at most
        hlen = 16                        # Reading: Packet.hlen carries the clamped value
        quirks |= _HLEN_CLAMPED
    hostname = values.get(OPT_HOSTNAME)
    if hostname is not None and not hostname:    # RFC 2132 §3.14 says >= 1; Windows sends 0
        quirks |= _EMPTY_HOSTNAME
    max_size = values.get(OPT_MAX_SIZE)
    if max_size is not None and int.from_bytes(max_size, "big") < MIN_MAX_SIZE:
        quirks |= _SMALL_MAX_SIZE
    return Packet(
        op=op, htype=htype, hlen=hlen, hops=hops, xid=xid, secs=secs, flags=flags,
        ciaddr=ip_str(ciaddr), yiaddr=ip_str(yiaddr), siaddr=ip_str(siaddr),
        giaddr=ip_str(giaddr), chaddr=chaddr[:hlen],
        # an overloaded field holds options, not a name (RFC 2132 §9.3)
        sname=b"" if overload & 2 else sname.partition(b"\0")[0],
        file=b"" if overload & 1 else file.partition(b"\0")[0],
        msg_type=msg_type, options=tuple(values.items()), relay_info=relay_info,
        overload=overload, quirks=quirks)


# --- encoding ---------------------------------------------------------------------------------

def _header(op: int, htype: int, hlen: int, hops: int, xid: int, secs: int, flags: int,
            ciaddr: str, yiaddr: str, siaddr: str, giaddr: str, chaddr: bytes, sname: bytes,
            file: bytes) -> bytes:
    """The 236-byte BOOTP header plus the cookie; chaddr/sname/file are zero-padded."""
    for name, value, size in (("chaddr", chaddr, 16), ("sname", sname, 64), ("file", file, 128)):
        if len(value) > size:
            raise ValueError(f"{name} is {len(value)} bytes, the field holds {size}")
    try:
        head = _HEADER.pack(op, htype, hlen, hops, xid, secs, flags, ip(ciaddr), ip(yiaddr),
                            ip(siaddr), ip(giaddr), chaddr, sname, file)
    except struct.error as e:
        raise ValueError(f"header field out of range: {e}") from e
    return head + MAGIC_COOKIE


def _finish(message: bytes) -> bytes:
    """END, then zero padding to the BOOTP minimum of 300 bytes (RFC 951, RFC 2131 §2)."""
    message += bytes((END,))
    if len(message) < BOOTP_MIN_SIZE:
        message += bytes(BOOTP_MIN_SIZE - len(message))
    if len(message) > MAX_DATAGRAM:
        raise ValueError(f"message is {len(message)} bytes, over {MAX_DATAGRAM}")
    return message


def encode(packet: Packet) -> bytes:
    """Packet -> datagram: header, cookie, ``packet.options`` in order except 52 (never
    overloads), END, padding. ``msg_type``, ``relay_info``, ``overload`` and ``quirks`` are not
    read: options 53 and 82 are written from ``packet.options`` like any other."""
    p = packet
    head = _header(p.op, p.htype, p.hlen, p.hops, p.xid, p.secs, p.flags, p.ciaddr, p.yiaddr,
                   p.siaddr, p.giaddr, p.chaddr, p.sname, p.file)
    body = b"".join(tlv(code, value) for code, value in p.options if code != OPT_OVERLOAD)
    return _finish(head + body)


# --- replies ----------------------------------------------------------------------------------

def _reply_limit(request: Packet) -> int:
    """Largest reply the client takes: min(max(57, 576), 1500) less IP and UDP headers
    (RFC 2131 §2: the 576 minimum counts them; RFC 2132 §9.10)."""
    value = request.option(OPT_MAX_SIZE)
    size = int.from_bytes(value, "big") if value is not None and len(value) == 2 else MIN_MAX_SIZE
    return min(max(size, MIN_MAX_SIZE), MAX_REPLY_SIZE) - IP_UDP_HEADERS


def _lead_codes(lead: bytes) -> set[int]:
    """The option codes in the caller's pre-encoded ``lead`` TLVs."""
    codes, i = set(), 0
    while i < len(lead):
        if lead[i] == PAD:
            i += 1
            continue
        if i + 1 >= len(lead) or i + 2 + lead[i + 1] > len(lead):
            raise ValueError("lead is not a run of option TLVs")
        codes.add(lead[i])
        i += 2 + lead[i + 1]
    return codes


def _prl(request: Packet) -> bytes:
    return request.option(OPT_PRL) or b""


def build_reply(request: Packet, msg_type: int, yiaddr: str, siaddr: str, lead: bytes,
                options: dict[int, bytes], always_send: frozenset[int] | set = frozenset(),
                echo_client_id: bool = True) -> bytes:
    """A server reply to ``request`` (RFC 2131 §4.3, Table 3).

    Option order: 53, ``lead`` verbatim, the option set in the order of the request's parameter
    request list (55), the always-send codes ascending, 61 echoed (RFC 6842 §3), 82 echoed last
    (RFC 3046 §2.2), END. Optional options that do not fit the client's size are skipped.

    Reading: every code appears once in the whole reply. The PRL and always-send passes skip
    codes already written (53, the codes in ``lead``, earlier PRL/always-send codes) and the
    echoed codes 61 and 82 (the builder alone writes those, and 82 must stay last).
    """
    if not 0 < msg_type < 256:
        raise ValueError(f"message type {msg_type} does not fit one byte")
    # Table 3 says ciaddr only in DHCPACK; hops is copied as the contract says (Table 3 has 0)
    ciaddr = request.ciaddr if msg_type == MsgType.DHCPACK else "0.0.0.0"
    head = _header(BOOTREPLY, request.htype, request.hlen, request.hops, request.xid, 0,
                   request.flags, ciaddr, yiaddr, siaddr, request.giaddr, request.chaddr, b"", b"")
    lead = bytes(lead)
    out = [head, bytes((OPT_MSG_TYPE, 1, msg_type)), lead]

    echoes = b""
    client_id = request.option(OPT_CLIENT_ID)
    if echo_client_id and client_id is not None:
        echoes += tlv(OPT_CLIENT_ID, client_id)
    relay = request.option(OPT_RELAY_INFO)
    if relay is not None:
        echoes += tlv(OPT_RELAY_INFO, relay)

    size = len(head) + 3 + len(lead)
    room = _reply_limit(request) - len(echoes) - 1        # keep space for the echoes and END
    done = {OPT_MSG_TYPE, OPT_CLIENT_ID, OPT_RELAY_INFO} | _lead_codes(lead)
    for code in (*_prl(request), *sorted(always_send)):
        if code in done or code not in options:
            continue
        done.add(code)
        option = tlv(code, options[code])
        if size + len(option) <= room:                    # else skip it and try the next one
            out.append(option)
            size += len(option)
    out.append(echoes)
    return _finish(b"".join(out))


# --- crafting client messages (RFC 2131 §4.4, Table 5) ----------------------------------------

def _client_options(msg_type: int, *, client_id: bytes | None = None,
                    requested_ip: str | None = None, server_id: str | None = None,
                    max_size: int | None = None, hostname: bytes | str | None = None,
                    prl: Iterable[int] = (), relay_info: Iterable[tuple[int, bytes]] | None = None,
                    extra_options: Iterable[tuple[int, bytes]] = ()) -> list[tuple[int, bytes]]:
    """The option list in the order typical clients send it; 82 last, as a relay appends it
    (RFC 3046 §2.1)."""
    opts = [(OPT_MSG_TYPE, bytes((msg_type,)))]
    if client_id is not None:
        opts.append((OPT_CLIENT_ID, bytes(client_id)))
    if requested_ip is not None:
        opts.append((OPT_REQUESTED_IP, ip(requested_ip)))
    if server_id is not None:
        opts.append((OPT_SERVER_ID, ip(server_id)))
    if max_size is not None:
        opts.append((OPT_MAX_SIZE, max_size.to_bytes(2, "big")))
    if hostname is not None:
        opts.append((OPT_HOSTNAME, hostname.encode() if isinstance(hostname, str) else hostname))
    prl = bytes(prl)
    if prl:
        opts.append((OPT_PRL, prl))
    opts.extend((code, bytes(value)) for code, value in extra_options)
    if relay_info is not None:
        opts.append((OPT_RELAY_INFO, b"".join(bytes((sub, len(v))) + v for sub, v in relay_info)))
    return opts


def _client_message(msg_type: int, chaddr: bytes, xid: int, *, ciaddr: str = "0.0.0.0",
                    giaddr: str = "0.0.0.0", broadcast: bool = False, **options) -> bytes:
    """One BOOTREQUEST; a relayed one (giaddr set) has hops 1, as the relay counted itself."""
    relayed = giaddr != "0.0.0.0"
    return encode(Packet(
        op=BOOTREQUEST, htype=1, hlen=len(chaddr), hops=1 if relayed else 0, xid=xid, secs=0,
        flags=BROADCAST_FLAG if broadcast else 0, ciaddr=ciaddr, yiaddr="0.0.0.0",
        siaddr="0.0.0.0", giaddr=giaddr, chaddr=bytes(chaddr), sname=b"", file=b"",
        msg_type=msg_type, options=tuple(_client_options(msg_type, **options))))


# Common keyword arguments of the crafters below: client_id, hostname, giaddr, broadcast,
# relay_info (list of (subcode, bytes) -> option 82), max_size (57), extra_options.

def discover(chaddr: bytes, xid: int, *, prl: Iterable[int] = DEFAULT_PRL,
             requested_ip: str | None = None, **common) -> bytes:
    """DHCPDISCOVER (RFC 2131 §4.4.1), optionally asking for ``requested_ip``."""
    return _client_message(MsgType.DHCPDISCOVER, chaddr, xid, prl=prl, requested_ip=requested_ip,
                           **common)


def request(chaddr: bytes, xid: int, *, server_id: str | None = None,
            requested_ip: str | None = None, ciaddr: str = "0.0.0.0",
            prl: Iterable[int] = DEFAULT_PRL, **common) -> bytes:
    """DHCPREQUEST (RFC 2131 §4.3.2): SELECTING = server_id + requested_ip; INIT-REBOOT =
    requested_ip only; RENEWING/REBINDING = ciaddr only (they differ only in IP destination)."""
    return _client_message(MsgType.DHCPREQUEST, chaddr, xid, ciaddr=ciaddr, server_id=server_id,
                           requested_ip=requested_ip, prl=prl, **common)


def release(chaddr: bytes, xid: int, ciaddr: str, server_id: str, **common) -> bytes:
    """DHCPRELEASE (RFC 2131 §4.4.6): ciaddr and 54, no 50 and no PRL (Table 5)."""
    return _client_message(MsgType.DHCPRELEASE, chaddr, xid, ciaddr=ciaddr, server_id=server_id,
                           **common)


def decline(chaddr: bytes, xid: int, requested_ip: str, server_id: str, **common) -> bytes:
    """DHCPDECLINE (RFC 2131 §4.4.1): ciaddr 0, 50 and 54, no PRL (Table 5)."""
    return _client_message(MsgType.DHCPDECLINE, chaddr, xid, requested_ip=requested_ip,
                           server_id=server_id, **common)


def inform(chaddr: bytes, xid: int, ciaddr: str, *, prl: Iterable[int] = DEFAULT_PRL,
           **common) -> bytes:
    """DHCPINFORM (RFC 2131 §4.4.3): ciaddr set, no 50 or 54 (Table 5)."""
    return _client_message(MsgType.DHCPINFORM, chaddr, xid, ciaddr=ciaddr, prl=prl, **common)
