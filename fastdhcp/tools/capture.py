"""Read DHCP datagrams out of pcap and pcapng capture files, with the standard library only.

``dhcp_records(source)`` yields a ``Datagram`` for every IPv4/UDP datagram to or from port 67 or
68: its payload, or the reason its IP and UDP headers do not frame it; ``dhcp_datagrams(source)``
yields ``(frame_number, udp_payload)`` for the well-framed ones. Frame numbers count every packet
record in the file from 1, as tshark numbers frames, so a line of ``fastdhcp dump`` can be matched
with tshark's view of the same capture.

Formats: pcap (magic a1b2c3d4 for microseconds, a1b23c4d for nanoseconds, either byte order) and
pcapng (sections in either byte order; interfaces with their own link types; Enhanced, Simple and
the obsolete Packet blocks; other blocks are skipped, but the record blocks tshark shows as frames
still take a number). Link types: Ethernet (1) with any number of 802.1Q / 802.1ad tags, Linux
cooked capture SLL (113) and SLL2 (276), raw IP (101, 228), BSD loopback (0, 108).

Lengths are read as tshark reads them: the IP datagram is what its total length says, cut to what
the frame holds (a frame shorter than its IP total length is truncated); the UDP payload ends where
the UDP length says when that fits the IP payload. A UDP length below 8 or past the IP payload is
a ``bad-udp-length`` record (tshark: "Bad length value", malformed), its payload the IP payload
after the UDP header (tshark dissects that); an IP datagram too short for a UDP header is a
``bad-ip-length`` record. Frames that are not IPv4/UDP on 67/68, IP fragments, and frames whose
capture stopped (snap length) before the end of the datagram are skipped without comment: a
capture holds all sorts, and the missing bytes are not there to show. A file that is not a
capture, or whose structure is broken, raises ``CaptureError`` (after the frames before the damage
have been yielded, as tshark shows them before it complains).
"""

from __future__ import annotations

import io
import os
import struct
from collections.abc import Iterator
from typing import BinaryIO, NamedTuple

__all__ = ["CaptureError", "Frame", "Datagram", "read_frames", "udp_datagram", "udp_payload",
           "dhcp_records", "dhcp_datagrams", "BAD_IP_LENGTH", "BAD_UDP_LENGTH",
           "LINKTYPE_NULL", "LINKTYPE_ETHERNET", "LINKTYPE_RAW", "LINKTYPE_LOOP",
           "LINKTYPE_LINUX_SLL", "LINKTYPE_IPV4", "LINKTYPE_LINUX_SLL2"]

LINKTYPE_NULL = 0
LINKTYPE_ETHERNET = 1
LINKTYPE_RAW = 101
LINKTYPE_LOOP = 108
LINKTYPE_LINUX_SLL = 113
LINKTYPE_IPV4 = 228
LINKTYPE_LINUX_SLL2 = 276

DHCP_PORTS = frozenset((67, 68))

#: ``Datagram.error``: the IP datagram cannot hold a UDP header (its total length says so, or the
#: frame ends first).
BAD_IP_LENGTH = "bad-ip-length"
#: ``Datagram.error``: the UDP length is below the 8-byte header or runs past the IP payload
#: (RFC 768; tshark: "Bad length value", a malformed packet).
BAD_UDP_LENGTH = "bad-udp-length"

# Sanity bound on one record or block, far above any real snap length (tshark's own limit for
# most link types is 256 KiB); a larger length means the file is corrupt, not that we should try.
MAX_RECORD = 16 * 1024 * 1024

_PCAP_MAGIC = {0xA1B2C3D4, 0xA1B23C4D}          # microsecond, nanosecond timestamps
_PCAPNG_SHB = 0x0A0D0D0A
_SHB_BYTES = struct.pack("<I", _PCAPNG_SHB)     # a palindrome: the same in either byte order
_PCAPNG_BYTE_ORDER_MAGIC = 0x1A2B3C4D

# pcapng block types (draft-ietf-opsawg-pcapng §4 and §10.1).
_IDB = 0x00000001
_PB = 0x00000002            # obsolete Packet Block
_SPB = 0x00000003
_EPB = 0x00000006
# Blocks that are not packets but that Wireshark reads as records, each with a frame number: the
# systemd Journal Export Block, Custom Blocks (copiable or not) and the Sysdig event blocks that
# tshark 4.0 reads (0x204 event, 0x216 event v2, 0x221 event v2 large; checked against it). They
# are never DHCP, but they must be counted for our frame numbers to stay equal to tshark's.
_OTHER_RECORDS = frozenset((0x00000009, 0x00000BAD, 0x40000BAD, 0x00000204, 0x00000216,
                            0x00000221))

_ETHERTYPE_IPV4 = 0x0800
_ETHERTYPE_VLAN = frozenset((0x8100, 0x88A8, 0x9100, 0x9200))   # 802.1Q, 802.1ad, old QinQ
_IPPROTO_UDP = 17
_BSD_AF_INET = 2


class CaptureError(Exception):
    """The file is not a pcap/pcapng capture, or its structure is damaged."""


class Frame(NamedTuple):
    """One packet record. ``data`` is what was captured (possibly less than ``orig_len``);
    ``linktype`` is None for a record that is not a packet (it only takes a frame number)."""

    number: int
    linktype: int | None
    data: bytes
    orig_len: int


class Datagram(NamedTuple):
    """A UDP datagram on a watched port. ``error`` is None when its headers frame it, else
    ``BAD_IP_LENGTH`` or ``BAD_UDP_LENGTH``; ``payload`` is what tshark dissects either way."""

    frame: int
    payload: bytes
    error: str | None


# --- files -------------------------------------------------------------------------------------

def read_frames(source: str | os.PathLike | bytes | BinaryIO) -> Iterator[Frame]:
    """Every record of a pcap or pcapng capture, numbered from 1.

    ``source`` is a path, the file's bytes, or a binary file object. Raises CaptureError for a
    file that is not a capture or is damaged (OSError passes through for a file that cannot be
    opened).
    """
    if isinstance(source, (bytes, bytearray, memoryview)):
        yield from _read_stream(io.BytesIO(bytes(source)))
    elif isinstance(source, (str, os.PathLike)):
        with open(source, "rb") as f:
            yield from _read_stream(f)
    else:
        yield from _read_stream(source)


def _read_stream(f: BinaryIO) -> Iterator[Frame]:
    head = f.read(4)
    if len(head) < 4:
        raise CaptureError("not a pcap or pcapng capture: file is empty or shorter than 4 bytes")
    if head == _SHB_BYTES:
        return _read_pcapng(f, head)
    for order in "<>":
        if struct.unpack(order + "I", head)[0] in _PCAP_MAGIC:
            return _read_pcap(f, order)
    raise CaptureError(f"not a pcap or pcapng capture: unknown magic number {head.hex()}")


def _read_exact(f: BinaryIO, n: int, what: str) -> bytes:
    data = f.read(n)
    if len(data) != n:
        raise CaptureError(f"capture is cut short in the middle of {what}")
    return data


def _read_pcap(f: BinaryIO, order: str) -> Iterator[Frame]:
    header = _read_exact(f, 20, "the pcap file header")
    _major, _minor, _zone, _sigfigs, _snaplen, network = struct.unpack(order + "HHiIII", header)
    # The upper bits of the link-type word carry FCS information (pcap spec §4); the type is
    # the low 16 bits.
    linktype = network & 0xFFFF
    number = 0
    while True:
        rec = f.read(16)
        if not rec:
            return
        if len(rec) < 16:
            raise CaptureError(f"capture is cut short in the header of record {number + 1}")
        _sec, _frac, caplen, orig_len = struct.unpack(order + "IIII", rec)
        if caplen > MAX_RECORD:
            raise CaptureError(f"record {number + 1} claims an impossible length ({caplen} bytes)"
                               "; the file is corrupt")
        data = _read_exact(f, caplen, f"record {number + 1}")
        number += 1
        yield Frame(number, linktype, data, orig_len)


def _read_pcapng(f: BinaryIO, first: bytes) -> Iterator[Frame]:
    order = "<"
    linktypes: list[tuple[int, int]] = []      # (link type, snap length) per interface
    number = 0
    raw_type = first                            # the Section Header Block's, read by the caller
    while raw_type:
        if len(raw_type) < 4:
            raise CaptureError("capture is cut short in a pcapng block header")
        if raw_type == _SHB_BYTES:
            # A Section Header Block sets the byte order of everything up to the next one, and
            # starts a new list of interfaces.
            order = _section_header(f)
            linktypes = []
            raw_type = f.read(4)
            continue
        block_type = struct.unpack(order + "I", raw_type)[0]
        total = struct.unpack(order + "I", _read_exact(f, 4, "a pcapng block header"))[0]
        body = _read_block_rest(f, order, total, 8, f"block of type {block_type:#x}")
        if block_type == _IDB:
            if len(body) < 8:
                raise CaptureError("pcapng interface description block is too short")
            linktype, _reserved, snaplen = struct.unpack(order + "HHI", body[:8])
            linktypes.append((linktype, snaplen))
        elif block_type in (_EPB, _PB):
            number += 1
            yield _packet_frame(body, order, linktypes, number, obsolete=block_type == _PB)
        elif block_type == _SPB:
            number += 1
            yield _simple_frame(body, order, linktypes, number)
        elif block_type in _OTHER_RECORDS:
            number += 1
            yield Frame(number, None, b"", 0)
        # Any other block (name resolution, interface statistics, secrets) is skipped.
        raw_type = f.read(4)


def _section_header(f: BinaryIO) -> str:
    """Read the rest of a Section Header Block; its byte order, as a struct prefix."""
    length_raw = _read_exact(f, 4, "a pcapng section header")
    bom = _read_exact(f, 4, "a pcapng section header")
    for order in "<>":
        if struct.unpack(order + "I", bom)[0] == _PCAPNG_BYTE_ORDER_MAGIC:
            total = struct.unpack(order + "I", length_raw)[0]
            _read_block_rest(f, order, total, 12, "section header")
            return order
    raise CaptureError(f"pcapng section header has a bad byte-order magic ({bom.hex()}); "
                       "the file is corrupt")


def _read_block_rest(f: BinaryIO, order: str, total: int, consumed: int, what: str) -> bytes:
    """The body of a block whose type and length (and ``consumed`` bytes in all) were read;
    checks the trailing copy of the length. Returns the body after the fixed 8-byte head."""
    if total % 4 or total < 12 or total > MAX_RECORD or total < consumed + 4:
        raise CaptureError(f"pcapng {what} has an impossible length ({total}); "
                           "the file is corrupt")
    rest = _read_exact(f, total - consumed, f"a pcapng {what}")
    if struct.unpack(order + "I", rest[-4:])[0] != total:
        raise CaptureError(f"pcapng {what} has mismatched length fields; the file is corrupt")
    return rest[consumed - 8:-4]


def _packet_frame(body: bytes, order: str, linktypes: list[tuple[int, int]], number: int,
                  obsolete: bool) -> Frame:
    # EPB: interface id (u32), timestamp (2 x u32), caplen, orig len, data (pcapng §4.3).
    # PB:  interface id (u16), drops (u16), timestamp (2 x u32), caplen, orig len, data (§A.1).
    if len(body) < 20:
        raise CaptureError(f"pcapng packet block (frame {number}) is too short")
    if obsolete:
        interface, _drops, _hi, _lo, caplen, orig_len = struct.unpack(order + "HHIIII", body[:20])
    else:
        interface, _hi, _lo, caplen, orig_len = struct.unpack(order + "IIIII", body[:20])
    if caplen > len(body) - 20:
        raise CaptureError(f"pcapng packet block (frame {number}) claims {caplen} captured "
                           "bytes, more than the block holds; the file is corrupt")
    if interface >= len(linktypes):
        raise CaptureError(f"pcapng packet block (frame {number}) names interface {interface}, "
                           "which its section does not describe")
    return Frame(number, linktypes[interface][0], body[20:20 + caplen], orig_len)


def _simple_frame(body: bytes, order: str, linktypes: list[tuple[int, int]],
                  number: int) -> Frame:
    # SPB: orig len, data; always from the section's first interface (pcapng §4.4).
    if len(body) < 4:
        raise CaptureError(f"pcapng simple packet block (frame {number}) is too short")
    if not linktypes:
        raise CaptureError(f"pcapng simple packet block (frame {number}) comes before any "
                           "interface description")
    linktype, snaplen = linktypes[0]
    orig_len = struct.unpack(order + "I", body[:4])[0]
    # The SPB has no captured length: it is the original length cut to the interface's snap
    # length, and the block holds it (plus padding).
    caplen = min(orig_len, len(body) - 4, snaplen or MAX_RECORD)
    return Frame(number, linktype, body[4:4 + caplen], orig_len)


# --- link, network and transport layers --------------------------------------------------------

def udp_datagram(linktype: int | None, data: bytes, orig_len: int | None = None,
                 ports: frozenset[int] = DHCP_PORTS, frame: int = 0) -> Datagram | None:
    """The unfragmented IPv4/UDP datagram in a frame, if either port is in ``ports``; None for
    anything else, and for a datagram whose bytes the capture did not keep. ``orig_len`` is the
    frame's length on the wire (default: ``len(data)``, a frame captured whole)."""
    ip = _ipv4_offset(linktype, data)
    if ip is None or len(data) < ip + 20:
        return None
    vihl, _tos, total, _ident, frag, _ttl, proto = struct.unpack_from("!BBHHHBB", data, ip)
    ihl = (vihl & 0x0F) * 4
    if vihl >> 4 != 4 or ihl < 20 or proto != _IPPROTO_UDP:
        return None
    if frag & 0x3FFF:           # MF set or a non-zero offset: a fragment (RFC 791 §3.1)
        return None
    udp = ip + ihl
    if total < ihl or len(data) < udp + 4:
        return None             # no UDP header behind the IP one (tshark: bogus IP length)
    sport, dport = struct.unpack_from("!HH", data, udp)
    if sport not in ports and dport not in ports:
        return None
    # The IP datagram is what its total length says, cut to the frame (tshark: "IPv4 total
    # length exceeds packet length"); a snap length cuts only what was captured, not the frame.
    wire = (len(data) if orig_len is None else max(orig_len, len(data))) - ip
    end = ip + min(total, wire)
    if end < udp + 8:
        error, stop = BAD_IP_LENGTH, end
    else:
        ulen = struct.unpack_from("!H", data, udp + 4)[0]
        if 8 <= ulen <= end - udp:
            error, stop = None, udp + ulen
        else:
            # Too long: tshark dissects the IP payload; below the header: nothing.
            error, stop = BAD_UDP_LENGTH, end if ulen >= 8 else udp + 8
    if len(data) < stop:
        return None             # the capture stopped inside the datagram
    return Datagram(frame, bytes(data[udp + 8:stop]), error)


def udp_payload(linktype: int | None, data: bytes,
                ports: frozenset[int] = DHCP_PORTS) -> bytes | None:
    """The payload of a whole, well-framed IPv4/UDP datagram in a frame, if either port is in
    ``ports``; None for anything else (see ``udp_datagram``)."""
    datagram = udp_datagram(linktype, data, ports=ports)
    return datagram.payload if datagram is not None and datagram.error is None else None


def _ipv4_offset(linktype: int | None, data: bytes) -> int | None:
    """Where the IPv4 header starts in a frame, or None if the frame does not carry IPv4."""
    if linktype == LINKTYPE_ETHERNET:
        return _follow_ethertype(data, 12, 14)
    if linktype == LINKTYPE_LINUX_SLL:
        return _follow_ethertype(data, 14, 16)    # protocol in the last 2 of 16 header bytes
    if linktype == LINKTYPE_LINUX_SLL2:
        return _follow_ethertype(data, 0, 20)     # protocol first, 20 header bytes
    if linktype in (LINKTYPE_RAW, LINKTYPE_IPV4):
        return 0
    if linktype in (LINKTYPE_NULL, LINKTYPE_LOOP) and len(data) >= 4:
        # NULL: the address family in the capturing host's byte order; LOOP: network order.
        families = struct.unpack("!I", data[:4])
        if linktype == LINKTYPE_NULL:
            families += struct.unpack("<I", data[:4])
        return 4 if _BSD_AF_INET in families else None
    return None


def _follow_ethertype(data: bytes, type_at: int, payload_at: int) -> int | None:
    """Follow the EtherType at ``type_at`` through any VLAN tags (each a 2-byte TCI and the
    next EtherType, IEEE 802.1Q §9); the offset of the IPv4 header, or None."""
    while len(data) >= payload_at:
        ethertype = struct.unpack_from("!H", data, type_at)[0]
        if ethertype == _ETHERTYPE_IPV4:
            return payload_at
        if ethertype not in _ETHERTYPE_VLAN:
            return None         # ARP, IPv6, an 802.3 length field with LLC ...
        type_at, payload_at = payload_at + 2, payload_at + 4
    return None


def dhcp_records(source: str | os.PathLike | bytes | BinaryIO) -> Iterator[Datagram]:
    """A ``Datagram`` for every IPv4/UDP datagram on port 67 or 68 in a capture, well framed or
    not. Raises CaptureError as ``read_frames`` does."""
    for frame in read_frames(source):
        datagram = udp_datagram(frame.linktype, frame.data, frame.orig_len, frame=frame.number)
        if datagram is not None:
            yield datagram


def dhcp_datagrams(source: str | os.PathLike | bytes | BinaryIO) -> Iterator[tuple[int, bytes]]:
    """``(frame_number, udp_payload)`` for every well-framed IPv4/UDP datagram on port 67 or 68
    in a capture. Raises CaptureError as ``read_frames`` does."""
    for datagram in dhcp_records(source):
        if datagram.error is None:
            yield datagram.frame, datagram.payload
