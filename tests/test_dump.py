"""``fastdhcp dump`` and the capture reader, checked against tshark.

The heart of this file is ``test_dump_agrees_with_tshark``: for every capture in
``tests/data/corpus/`` and for synthetic captures written here (every supported file format and
link type, and DHCP datagrams chosen to hit RFC 3396 concatenation, option overload, PAD/END
framing, odd hardware address lengths and every drop reason), it runs ``tshark -T json -x`` and
``fastdhcp dump --json`` and demands agreement on every header field and every option, frame by
frame. tshark must be installed: without it the test fails, it never skips.

tshark's JSON (-x adds ``<field>_raw: [hex, offset, length, bitmask, type]`` beside each field):
  header   dhcp.type_raw (op), dhcp.hw.type_raw, dhcp.hw.len_raw, dhcp.hops_raw, dhcp.id_raw,
           dhcp.secs_raw, dhcp.flags_raw, dhcp.ip.{client,your,server,relay}_raw,
           dhcp.hw.mac_addr_raw (hlen 6) or dhcp.hw.addr_raw (all 16 bytes, other hlen; none
           for hlen 0 or above 16), dhcp.server_raw / dhcp.file_raw (absent when overloaded),
           dhcp.cookie_raw.
  options  each occurrence is one ``dhcp.option.type_raw`` holding the whole TLV (code, length,
           value), in wire order and not concatenated; END and PAD appear as one-byte TLVs
           ``ff`` / ``00`` and are framing. Options carried in overloaded fields sit inside the
           ``dhcp.option.type_tree`` of option 52, under "Boot file name option overload" and
           "Server host name option overload" (tshark shows sname's first; RFC 3396 §6
           concatenates options, then file, then sname, as fastdhcp does).
The expected Packet.options is built from that: codes in order of first appearance over
options, file, sname, the values of repeated codes joined.

Captures are written with a small writer below, never as hand-typed byte arrays.
"""

from __future__ import annotations

import io
import ipaddress
import json
import os
import random
import struct
import subprocess
import sys
from pathlib import Path

import msgspec
import pytest

import fastdhcp
from fastdhcp import cli
from fastdhcp.tools import capture, dump
from fastdhcp.tools.capture import CaptureError, dhcp_datagrams, read_frames
from fastdhcp.packet import MAGIC_COOKIE, DropReason

TSHARK = "/usr/bin/tshark"
TSHARK_TIMEOUT = 120
CORPUS = Path(__file__).parent / "data" / "corpus"
MAC = bytes.fromhex("0200c0a80a01")

# --- a small capture writer ------------------------------------------------------------------

def tlv(code: int, value: bytes) -> bytes:
    """One option; values over 255 bytes split into consecutive pieces (RFC 3396 §5)."""
    pieces = [value[i:i + 255] for i in range(0, len(value), 255)] or [b""]
    return b"".join(bytes((code, len(p))) + p for p in pieces)


def bootp(options: bytes = tlv(53, b"\x01"), *, op=1, htype=1, hlen=6, hops=0, xid=0x3903F326,
          secs=0, flags=0, ciaddr="0.0.0.0", yiaddr="0.0.0.0", siaddr="0.0.0.0",
          giaddr="0.0.0.0", chaddr=MAC, sname=b"", file=b"", cookie=MAGIC_COOKIE, end=True,
          pad_to=0) -> bytes:
    """A BOOTP/DHCP datagram; ``options`` are raw TLV bytes, END appended unless ``end=False``."""
    addrs = [ipaddress.IPv4Address(a).packed for a in (ciaddr, yiaddr, siaddr, giaddr)]
    head = struct.pack("!BBBBIHH4s4s4s4s16s64s128s", op, htype, hlen, hops, xid, secs, flags,
                       *addrs, chaddr, sname, file)
    body = head + cookie + options + (b"\xff" if end else b"")
    return body + bytes(max(0, pad_to - len(body)))


def ipv4_udp(payload: bytes, *, src="0.0.0.0", dst="255.255.255.255", sport=68, dport=67,
             frag=0, proto=17) -> bytes:
    udp = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    head = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0x1234, frag, 64, proto, 0,
                       ipaddress.IPv4Address(src).packed, ipaddress.IPv4Address(dst).packed)
    return head + udp


def ether(l3: bytes, *, vlans=(), ethertype=0x0800, src=MAC) -> bytes:
    tags = b"".join(struct.pack("!HH", tpid, vid) for tpid, vid in vlans)
    return b"\xff" * 6 + src + tags + struct.pack("!H", ethertype) + l3


def sll(l3: bytes, proto=0x0800) -> bytes:
    return struct.pack("!HHH8sH", 0, 1, 6, MAC, proto) + l3


def sll2(l3: bytes, proto=0x0800) -> bytes:
    return struct.pack("!HHIHBB8s", proto, 0, 2, 1, 0, 6, MAC) + l3


def bsd_null(l3: bytes) -> bytes:
    return struct.pack("<I", 2) + l3          # AF_INET in the (little-endian) host's order


def pcap_file(frames, linktype=1, *, order="<", nano=False, snaplen=65535) -> bytes:
    """frames: bytes, or (captured bytes, original length) for a frame cut short."""
    magic = 0xA1B23C4D if nano else 0xA1B2C3D4
    out = [struct.pack(order + "IHHiIII", magic, 2, 4, 0, 0, snaplen, linktype)]
    for i, f in enumerate(frames):
        data, orig = f if isinstance(f, tuple) else (f, len(f))
        out.append(struct.pack(order + "IIII", 1700000000 + i, i, len(data), orig) + data)
    return b"".join(out)


def ng_block(block_type: int, body: bytes, order="<") -> bytes:
    body += bytes(-len(body) % 4)
    return struct.pack(order + "II", block_type, len(body) + 12) + body \
        + struct.pack(order + "I", len(body) + 12)


def ng_shb(order="<") -> bytes:
    return ng_block(0x0A0D0D0A, struct.pack(order + "IHHq", 0x1A2B3C4D, 1, 0, -1), order)


def ng_idb(linktype: int, order="<", snaplen=0) -> bytes:
    return ng_block(1, struct.pack(order + "HHI", linktype, 0, snaplen), order)


def ng_epb(data: bytes, iface=0, order="<", orig_len=None) -> bytes:
    hdr = struct.pack(order + "IIIII", iface, 0, 7, len(data), orig_len or len(data))
    return ng_block(6, hdr + data, order)


def ng_pb(data: bytes, iface=0, order="<") -> bytes:
    return ng_block(2, struct.pack(order + "HHIIII", iface, 0, 0, 7, len(data), len(data)) + data,
                    order)


def ng_spb(data: bytes, order="<") -> bytes:
    return ng_block(3, struct.pack(order + "I", len(data)) + data, order)


# --- synthetic traffic -------------------------------------------------------------------------

def dhcp_messages() -> list[bytes]:
    """DHCP datagrams that exercise the decoder's structure rules, each a request or reply."""
    cid = tlv(61, b"\x01" + MAC)
    prl = tlv(55, bytes((1, 3, 6, 15, 28, 42, 51, 54, 58, 59, 119, 121)))
    relay = tlv(82, tlv(1, b"eth0/1/2") + tlv(2, b"remote-7") + tlv(5, bytes((10, 9, 0, 0))))
    server = ipaddress.IPv4Address("10.9.0.1").packed
    offer_opts = (tlv(53, b"\x02") + tlv(54, server) + tlv(51, struct.pack("!I", 3600))
                  + tlv(1, bytes((255, 255, 255, 0))) + tlv(3, server)
                  + tlv(6, server + bytes((8, 8, 8, 8))) + tlv(15, b"example.org"))
    return [
        # DORA, with a relay in the middle
        bootp(tlv(53, b"\x01") + cid + prl + tlv(57, b"\x05\xdc") + tlv(12, b"host-1")
              + tlv(60, b"MSFT 5.0"), flags=0x8000),
        bootp(offer_opts, op=2, yiaddr="10.9.0.50", siaddr="10.9.0.1", pad_to=300),
        bootp(tlv(53, b"\x03") + cid + tlv(50, bytes((10, 9, 0, 50))) + tlv(54, server) + relay,
              hops=1, giaddr="10.9.0.254", secs=4),
        bootp(offer_opts.replace(b"\x35\x01\x02", b"\x35\x01\x05") + relay, op=2, hops=1,
              yiaddr="10.9.0.50", giaddr="10.9.0.254", sname=b"tftp-1", file=b"pxelinux.0"),
        # renew, release, decline, inform, nak
        bootp(tlv(53, b"\x03") + cid, ciaddr="10.9.0.50"),
        bootp(tlv(53, b"\x07") + tlv(54, server), ciaddr="10.9.0.50"),
        bootp(tlv(53, b"\x04") + tlv(50, bytes((10, 9, 0, 51))) + tlv(54, server)),
        bootp(tlv(53, b"\x08") + prl, ciaddr="10.9.0.77"),
        bootp(tlv(53, b"\x06") + tlv(54, server) + tlv(56, b"wrong network"), op=2),
        # RFC 3396: a long value split in pieces, and a code repeated apart from itself
        bootp(tlv(53, b"\x01") + tlv(77, bytes(range(256)) + b"tail") + tlv(12, b"split-")
              + cid + tlv(12, b"name")),
        # option overload (RFC 2132 §9.3): file, sname, both; PAD inside the fields
        bootp(tlv(53, b"\x01") + tlv(52, b"\x01"), file=tlv(12, b"in-file") + b"\0\0\xff",
              sname=b"plain-sname"),
        bootp(tlv(53, b"\x02") + tlv(52, b"\x02") + tlv(15, b"a"), op=2,
              sname=tlv(15, b"-sname") + b"\xff", file=b"plain/file"),
        bootp(tlv(53, b"\x05") + tlv(12, b"opt") + tlv(52, b"\x03"), op=2,
              file=tlv(12, b"-file") + tlv(66, b"tftp") + b"\xff",
              sname=b"\0" + tlv(12, b"-sname") + b"\xff"),
        # framing quirks: PAD runs, no END, bytes after END, empty host name
        bootp(b"\0\0" + tlv(53, b"\x01") + b"\0" + tlv(12, b"") + b"\0", pad_to=300),
        bootp(tlv(53, b"\x01") + tlv(12, b"no-end"), end=False),
        bootp(tlv(53, b"\x01") + b"\xff" + b"trailing junk", end=False),
        # hardware address lengths: none, IPoIB-style, 8, 16, more than 16 (clamped)
        bootp(tlv(53, b"\x01") + cid, htype=32, hlen=0, chaddr=b""),
        bootp(tlv(53, b"\x01"), hlen=8, chaddr=bytes(range(1, 17))),
        bootp(tlv(53, b"\x01"), htype=6, hlen=16, chaddr=bytes(range(1, 17))),
        bootp(tlv(53, b"\x01"), hlen=20, chaddr=bytes(range(1, 17)), pad_to=300),
        # BOOTP (no option 53) and an empty options field
        bootp(tlv(1, bytes((255, 255, 0, 0))), op=2, yiaddr="10.9.0.9"),
        bootp(b"", end=False),
        # and every way to be dropped
        bootp()[:200],                                            # too-short
        bootp(tlv(53, b"\x01") + tlv(43, bytes(255)) * 16),       # too-long
        bootp(op=3),                                              # bad-op
        bootp(cookie=b"\x63\x82\x53\x64"),                        # bad-magic-cookie
        bootp(tlv(53, b"\x01") + b"\x0c\x10short", end=False),    # option-overrun
        bootp(tlv(53, b"\x01") + b"\x0c", end=False),             # option-overrun (no length)
        bootp(tlv(53, b"\x01") + tlv(52, b"\x01"), file=b"\x0c\x90abc"),   # overrun in file
        bootp(tlv(53, b"\x01") + tlv(52, b"\x04")),               # bad-overload
        bootp(tlv(53, b"\x01") + tlv(52, b"\x01"), file=tlv(52, b"\x02") + b"\xff"),
        bootp(tlv(53, b"\x01\x01")),                              # bad-message-type
        bootp(tlv(53, b"\x20")),                                  # bad-message-type
        bootp(tlv(53, b"\x03") + tlv(50, b"\x0a\x09\x00")),       # bad-option-length
        bootp(tlv(53, b"\x03") + tlv(61, b"\x01")),               # bad-option-length
        bootp(tlv(53, b"\x01") + tlv(82, b"\x01\x09abc")),        # bad-relay-info
        bootp(tlv(53, b"\x01") + tlv(81, b"\x09\x00\x00")),      # bad-client-fqdn (N and S)
        bootp(tlv(53, b"\x01") + tlv(124, b"\x00\x00\x04")),      # bad-vendor-option (short)
    ]


def other_frames() -> list:
    """Frames a DHCP dump must pass over: not IPv4/UDP on 67/68, fragments, cut short."""
    dgram = ipv4_udp(bootp(tlv(53, b"\x01") + tlv(12, b"x" * 60)))
    return [
        ether(bytes(28), ethertype=0x0806),                                    # ARP
        ether(bytes(40), ethertype=0x86DD),                                    # IPv6
        ether(ipv4_udp(b"\x12\x34" + bytes(10), sport=5353, dport=53)),        # DNS
        ether(ipv4_udp(bootp(), proto=6)),                                     # TCP to 67
        ether(dgram[:6] + b"\x20\x00" + dgram[8:]),                            # first fragment
        ether(dgram[:6] + b"\x00\x10" + dgram[8:]),                            # later fragment
        (ether(dgram)[:150], len(ether(dgram))),                               # cut short
    ]


def write_synthetic(directory: Path) -> list[Path]:
    """The DHCP messages in every supported format and link type, with other frames between."""
    msgs = dhcp_messages()
    out = []

    def wr(name: str, data: bytes) -> None:
        (directory / name).write_bytes(data)
        out.append(directory / name)

    # pcap, little-endian, microseconds, Ethernet (with one 802.1Q and one QinQ frame).
    frames = []
    for i, m in enumerate(msgs):
        l3 = ipv4_udp(m, sport=67 if m[0] == 2 else 68, dport=68 if m[0] == 2 else 67)
        vlans = [(), ((0x8100, 100),), ((0x88A8, 10), (0x8100, 20))][i % 3]
        frames.append(ether(l3, vlans=vlans))
        frames.extend(other_frames()[i % 7:i % 7 + 1])
    wr("synthetic-ether.pcap", pcap_file(frames))
    # pcap, big-endian, nanoseconds, Linux cooked (SLL) and SLL2; raw IPv4 (228) and BSD null.
    wr("synthetic-sll.pcap", pcap_file([sll(ipv4_udp(m)) for m in msgs], 113, order=">",
                                       nano=True))
    wr("synthetic-sll2.pcap", pcap_file([sll2(ipv4_udp(m)) for m in msgs], 276))
    wr("synthetic-raw.pcap", pcap_file([ipv4_udp(m) for m in msgs[:12]], 228, order=">"))
    wr("synthetic-null.pcap", pcap_file([bsd_null(ipv4_udp(m)) for m in msgs[:12]], 0))
    # pcapng: a big-endian section (Ethernet and raw-IP interfaces, EPB/PB/SPB, other blocks that
    # tshark numbers as frames or skips) then a little-endian one (SLL2 and Ethernet).
    be, le = ">", "<"
    blocks = [ng_shb(be), ng_idb(1, be), ng_idb(101, be), ng_idb(113, be)]
    for i, m in enumerate(msgs):
        l3 = ipv4_udp(m)
        blocks.append([ng_epb(ether(l3), 0, be), ng_pb(ether(l3), 0, be),
                       ng_spb(ether(l3), be), ng_epb(l3, 1, be), ng_epb(sll(l3), 2, be)][i % 5])
        if i % 4 == 0:
            blocks.append(ng_block(4, struct.pack(be + "HH", 0, 0), be))          # NRB: skipped
            blocks.append(ng_block(9, b"__REALTIME_TIMESTAMP=1700000000000000\nMESSAGE=hi\n", be))
            blocks.append(ng_block(0xBAD, struct.pack(be + "I", 32473) + b"x", be))  # a frame
    blocks += [ng_shb(le), ng_idb(276, le), ng_idb(1, le)]
    for i, m in enumerate(msgs):
        l3 = ipv4_udp(m, sport=67, dport=68)
        blocks.append(ng_epb(sll2(l3), 0, le) if i % 2 else ng_epb(ether(l3), 1, le))
        blocks.append(ng_block(5, struct.pack(le + "III", 1, 0, 0), le))           # ISB: skipped
    wr("synthetic-mixed.pcapng", b"".join(blocks))
    return out


# --- fixtures -----------------------------------------------------------------------------------

@pytest.fixture
def dump_codec(codec, monkeypatch):
    """``dump`` run with each codec in turn (conftest's ``codec``: native, then reference);
    both must agree with tshark. The native one is fastdhcp.tools.dump's default."""
    monkeypatch.setattr(dump, "DUMP_DECODE", codec.decode)
    return codec.name


@pytest.fixture(scope="session")
def synthetic(tmp_path_factory) -> list[Path]:
    return write_synthetic(tmp_path_factory.mktemp("captures"))


def run_dump(capsys, *args) -> tuple[int, list, str]:
    status = cli.main(["dump", *map(str, args)])
    out, err = capsys.readouterr()
    lines = out.splitlines()
    if "--json" in args:
        lines = [msgspec.json.decode(line) for line in lines]
    return status, lines, err


# --- tshark -------------------------------------------------------------------------------------

def run_tshark(path: Path, config_dir: Path) -> dict[int, dict]:
    """tshark's view of each frame: {frame: {"layers": pairs, "frame": {...}}}."""
    assert os.access(TSHARK, os.X_OK), f"tshark is required at {TSHARK} and is missing"
    env = dict(os.environ, WIRESHARK_CONFIG_DIR=str(config_dir))   # no personal preferences
    proc = subprocess.run(
        # -n: no name lookups; IP reassembly off so that a fragment stays in its own frame.
        [TSHARK, "-n", "-o", "ip.defragment:FALSE", "-r", str(path), "-T", "json", "-x"],
        capture_output=True, timeout=TSHARK_TIMEOUT, env=env, check=False)
    assert proc.returncode == 0, f"tshark failed on {path}: {proc.stderr.decode(errors='replace')}"
    frames = {}
    # object_pairs_hook=list keeps repeated keys: tshark repeats one per option occurrence.
    for pkt in json.loads(proc.stdout or b"[]", object_pairs_hook=list):
        layers = _get(_get(pkt, "_source"), "layers")
        frame = dict(_get(layers, "frame"))
        frames[int(frame["frame.number"])] = {"layers": layers, "frame": frame}
    return frames


def _get(pairs, key, default=None):
    for k, v in pairs:
        if k == key:
            return v
    return default


def _raw(pairs, key) -> bytes | None:
    """The bytes of a field from its ``_raw`` companion, None if absent or not hex."""
    val = _get(pairs, key + "_raw")
    if not isinstance(val, list) or not val or not isinstance(val[0], str):
        return None
    try:
        return bytes.fromhex(val[0])
    except ValueError:
        return None           # e.g. "field length invalid!" on a truncated option


_REGIONS = {"Boot file name option overload": "file", "Server host name option overload": "sname"}


def tshark_options(dhcp) -> list[tuple[int, bytes]]:
    """Options as tshark shows them, concatenated as RFC 3396 §6 says: options, file, sname."""
    regions = {"options": [], "file": [], "sname": []}

    def collect(pairs, region):
        code = None
        for key, val in pairs:
            if key == "dhcp.option.type_raw":
                tlv_ = bytes.fromhex(val[0])      # the whole TLV
                code = tlv_[0]
                if code not in (0, 255):                  # PAD and END are framing
                    assert tlv_[1] == len(tlv_) - 2, f"tshark cut option {code}: {val}"
                    regions[region].append((code, tlv_[2:]))
            elif key == "dhcp.option.type_tree" and code == 52:
                for label, sub in val:
                    if label in _REGIONS:
                        collect(sub, _REGIONS[label])

    collect(dhcp, "options")
    joined: dict[int, bytes] = {}
    for region in ("options", "file", "sname"):
        for code, value in regions[region]:
            joined[code] = joined.get(code, b"") + value
    return list(joined.items())


def _dotted(b: bytes) -> str:
    return str(ipaddress.IPv4Address(b))


def tshark_expect(dhcp, dhcp_bytes: bytes) -> dict:
    """The header and options of a dump record, as tshark's fields give them."""
    ints = {"op": "dhcp.type", "htype": "dhcp.hw.type", "hlen": "dhcp.hw.len",
            "hops": "dhcp.hops", "xid": "dhcp.id", "secs": "dhcp.secs", "flags": "dhcp.flags"}
    addrs = {"ciaddr": "dhcp.ip.client", "yiaddr": "dhcp.ip.your", "siaddr": "dhcp.ip.server",
             "giaddr": "dhcp.ip.relay"}
    exp = {k: int.from_bytes(_raw(dhcp, f), "big") for k, f in ints.items()}
    exp.update({k: _dotted(_raw(dhcp, f)) for k, f in addrs.items()})
    hlen = exp["hlen"]
    addr = _raw(dhcp, "dhcp.hw.mac_addr") or _raw(dhcp, "dhcp.hw.addr")
    if hlen == 0:
        chaddr = b""                          # tshark: "Client address not given"
    elif hlen <= 16:
        assert addr is not None, "tshark shows no client hardware address"
        chaddr = addr[:hlen]
    else:
        # tshark shows no address for hlen > 16; fastdhcp clamps hlen to 16 (packet.py rule
        # 10). Compare with the 16 bytes at the chaddr offset of tshark's own layer bytes.
        assert addr is None
        chaddr = dhcp_bytes[28:44]
        exp["hlen"] = 16                      # Packet.hlen carries the clamped value too
    exp["chaddr"] = chaddr.hex(":")
    for field, key in (("sname", "dhcp.server"), ("file", "dhcp.file")):
        raw = _raw(dhcp, key)                 # absent when the field carries options (52)
        exp[field] = raw.split(b"\0", 1)[0].decode("latin-1") if raw else ""
    exp["options"] = tshark_options(dhcp)
    return exp


_HEADER = ("op", "htype", "hlen", "hops", "xid", "secs", "flags", "ciaddr", "yiaddr", "siaddr",
           "giaddr", "chaddr", "sname", "file")


def _relay_ok(value: bytes) -> bool:
    pos, count = 0, 0
    while pos < len(value):
        if pos + 2 > len(value) or pos + 2 + value[pos + 1] > len(value):
            return False
        pos, count = pos + 2 + value[pos + 1], count + 1
    return count <= 32


def _vendor_class_ok(value: bytes) -> bool:
    """Option 124 as Kea 2.2 reads it: an enterprise id, then a tuple, and for each later block
    its enterprise id and a tuple."""
    if len(value) < 4:
        return False
    rest, pos = value[4:], 0
    while pos < len(rest):
        if rest[pos] > len(rest) - pos - 1:
            return False
        pos += 1 + rest[pos]
        if pos != len(rest):
            pos += 4
            if pos + 1 >= len(rest):
                return False
    return True


def tshark_supports_drop(reason: str, view: dict) -> bool:
    """Whether tshark's view of a frame shows the fault that fastdhcp dropped it for."""
    layers = view["layers"]
    dhcp = _get(layers, "dhcp") or []
    payload = _raw(layers, "dhcp") or b""
    malformed = _get(layers, "_ws.malformed") is not None
    opts = dict(tshark_options(dhcp)) if not malformed else {}
    lengths = {50: 4, 51: 4, 54: 4, 118: 4, 57: 2}
    return {
        "too-short": len(payload) < 240,
        "too-long": len(payload) > fastdhcp.MAX_DATAGRAM,
        "bad-op": _raw(dhcp, "dhcp.type") not in (b"\x01", b"\x02"),
        "bad-magic-cookie": _raw(dhcp, "dhcp.cookie") != MAGIC_COOKIE,
        "option-overrun": malformed,
        "bad-overload": malformed or (52 in opts and opts[52] not in (b"\x01", b"\x02", b"\x03")),
        "bad-message-type": 53 in opts and (len(opts[53]) != 1 or not 1 <= opts[53][0] <= 18),
        "bad-option-length": any(c in opts and len(opts[c]) != n for c, n in lengths.items())
        or (61 in opts and len(opts[61]) < 2),
        "bad-relay-info": 82 in opts and not _relay_ok(opts[82]),
        # (tshark shows option 81's flags but checks none of RFC 4702's rules: read them from
        # the option's bytes: too short for flags and RCODEs, or N and S both set, §2.1)
        "bad-client-fqdn": 81 in opts and (len(opts[81]) < 3 or opts[81][0] & 9 == 9),
        # (nor RFC 3925's layout of 124, which Kea 2.2 reads as one tuple per block)
        "bad-vendor-option": 124 in opts and not _vendor_class_ok(opts[124]),
    }.get(reason, False)


def tshark_dhcp_frames(views: dict[int, dict]) -> dict[int, str]:
    """Frames tshark dissects as DHCP, with why fastdhcp must skip some: {frame: why or ''}."""
    out = {}
    for number, view in views.items():
        protocols = view["frame"]["frame.protocols"].split(":")
        if "udp" not in protocols or protocols[protocols.index("udp") + 1:][:1] != ["dhcp"] \
                or "icmp" in protocols:
            continue
        ip = _get(view["layers"], "ip") or []
        flags = _get(_get(ip, "ip.flags_tree") or [], "ip.flags.mf")
        if flags == "1" or _get(ip, "ip.frag_offset", "0") != "0":
            out[number] = "fragment"
        elif int(view["frame"]["frame.cap_len"]) < int(view["frame"]["frame.len"]):
            out[number] = "cut short"
        else:
            out[number] = ""
    return out


def _captures() -> list:
    corpus = sorted(p for p in CORPUS.glob("*") if p.suffix in (".pcap", ".pcapng"))
    return ["synthetic"] + [pytest.param(p, id=p.name) for p in corpus]


@pytest.mark.parametrize("source", _captures())
def test_dump_agrees_with_tshark(source, dump_codec, synthetic, capsys, tmp_path):
    paths = synthetic if source == "synthetic" else [source]
    for path in paths:
        views = run_tshark(path, tmp_path)
        status, records, err = run_dump(capsys, "--json", path)
        assert status == 0, err
        ours = {r["frame"]: r for r in records}
        theirs = tshark_dhcp_frames(views)
        assert ours, f"{path.name}: no DHCP frames"
        skipped = {n: why for n, why in theirs.items() if n not in ours}
        assert all(skipped.values()), f"{path.name}: frames tshark decodes as DHCP and dump " \
            f"does not: {[n for n, why in skipped.items() if not why]}"
        assert set(ours) <= set(theirs), f"{path.name}: frames dump shows and tshark does not " \
            f"dissect as DHCP: {sorted(set(ours) - set(theirs))}"
        for number, rec in ours.items():
            where = f"{path.name} frame {number}"
            view = views[number]
            dhcp = _get(view["layers"], "dhcp")
            if "error" in rec:
                assert tshark_supports_drop(rec["error"], view), \
                    f"{where}: dump says {rec['error']}, tshark shows no such fault"
                continue
            if dhcp is None:
                # tshark reads hlen bytes of chaddr for its summary line and throws when 28 + hlen
                # runs past the datagram; fastdhcp clamps hlen to 16 (packet.py rule 10).
                udp_len = int(_get(_get(view["layers"], "udp"), "udp.length"))
                assert rec["hlen"] > 16 and 28 + rec["hlen"] > udp_len - 8, \
                    f"{where}: tshark cannot dissect a message dump accepts"
                continue
            assert _get(view["layers"], "_ws.malformed") is None, \
                f"{where}: tshark calls malformed a message dump accepts"
            exp = tshark_expect(dhcp, _raw(view["layers"], "dhcp"))
            got = {k: rec[k] for k in _HEADER}
            assert got == {k: exp[k] for k in _HEADER}, where
            assert [(o["code"], bytes.fromhex(o["hex"])) for o in rec["options"]] \
                == exp["options"], where
            assert all(isinstance(o["name"], str) and o["name"] for o in rec["options"]), where
            mt = dict(exp["options"]).get(53)
            assert rec["msg_type"] == (fastdhcp.MsgType(mt[0]).name if mt else "BOOTP"), where


def test_corpus_is_compared():
    # The real-client captures must be there: without them the comparison above would quietly
    # cover only the synthetic files.
    assert [p for p in _captures() if p != "synthetic"], f"no captures under {CORPUS}"


def test_synthetic_traffic_covers_every_drop_reason(synthetic, dump_codec, capsys):
    status, records, _ = run_dump(capsys, "--json", synthetic[0])
    seen = {r["error"] for r in records if "error" in r}
    expected = {r.label for r in DropReason} - {"ok", "not-bootrequest", "no-message-type"}
    assert seen == expected


# --- readers ------------------------------------------------------------------------------------

def _sample_frames() -> list[bytes]:
    return [ether(ipv4_udp(m)) for m in dhcp_messages()[:6]] + [f for f in other_frames()
                                                                 if isinstance(f, bytes)]


@pytest.mark.parametrize("order", "<>")
def test_pcap_and_pcapng_read_the_same_frames(order):
    frames = _sample_frames()
    pcap_us = pcap_file(frames, order=order)
    pcap_ns = pcap_file(frames, order=order, nano=True)
    packets = [[ng_epb(f, 0, order), ng_pb(f, 0, order), ng_spb(f, order)][i % 3]
               for i, f in enumerate(frames)]
    ng = ng_shb(order) + ng_idb(1, order) + b"".join(packets)
    views = [[(f.number, f.linktype, f.data) for f in read_frames(src)]
             for src in (pcap_us, pcap_ns, ng)]
    assert views[0] == views[1] == views[2]
    assert [d for _, _, d in views[0]] == frames
    assert list(dhcp_datagrams(pcap_us)) == list(dhcp_datagrams(ng)) \
        == [(i + 1, m) for i, m in enumerate(dhcp_messages()[:6])]


def test_reader_accepts_paths_bytes_and_files(tmp_path):
    data = pcap_file(_sample_frames())
    (tmp_path / "x.pcap").write_bytes(data)
    expected = list(dhcp_datagrams(data))
    assert list(dhcp_datagrams(tmp_path / "x.pcap")) == expected
    assert list(dhcp_datagrams(str(tmp_path / "x.pcap"))) == expected
    assert list(dhcp_datagrams(io.BytesIO(data))) == expected


def test_link_types_and_vlan_tags():
    msg = dhcp_messages()[0]
    l3 = ipv4_udp(msg)
    cases = [
        (1, ether(l3)),
        (1, ether(l3, vlans=((0x8100, 42),))),
        (1, ether(l3, vlans=((0x88A8, 5), (0x8100, 42)))),
        (113, sll(l3)),
        (113, sll(struct.pack("!HH", 42, 0x0800) + l3, proto=0x8100)),
        (276, sll2(l3)),
        (101, l3), (228, l3), (0, bsd_null(l3)),
        (108, struct.pack("!I", 2) + l3),
    ]
    for linktype, frame in cases:
        assert capture.udp_payload(linktype, frame) == msg, (linktype, frame[:24].hex())
    not_dhcp = [
        (1, ether(ipv4_udp(msg, sport=1000, dport=2000))),
        (1, ether(l3, ethertype=0x86DD)),
        (1, ether(l3)[:-1]),                          # one byte short of the UDP length
        (113, sll(l3, proto=0x86DD)),
        (147, l3),                                    # a link type we do not read
        (101, b"\x60" + l3[1:]),                      # IPv6 on raw IP
    ]
    for linktype, frame in not_dhcp:
        assert capture.udp_payload(linktype, frame) is None, linktype


def test_frame_numbers_count_every_record_like_tshark():
    f = ether(ipv4_udp(bootp()))
    data = (ng_shb() + ng_idb(1) + ng_epb(f) + ng_block(4, bytes(4)) + ng_block(9, b"M=1\n")
            + ng_epb(ether(bytes(28), ethertype=0x0806)) + ng_block(0xBAD, bytes(8))
            + ng_block(0xA, bytes(8)) + ng_epb(f) + ng_shb(">") + ng_idb(113, ">")
            + ng_epb(sll(ipv4_udp(bootp())), 0, ">"))
    assert [n for n, _ in dhcp_datagrams(data)] == [1, 5, 6]
    assert [f.number for f in read_frames(data)] == [1, 2, 3, 4, 5, 6]


@pytest.mark.parametrize("data, message", [
    (b"", "shorter than 4 bytes"),
    (b"GIF89a" + bytes(100), "unknown magic number"),
    (pcap_file([])[:10], "cut short"),
    (pcap_file([bytes(100)])[:-5], "cut short"),
    (pcap_file([]) + struct.pack("<IIII", 0, 0, 1 << 30, 1 << 30), "impossible length"),
    (ng_shb()[:-4] + b"\0\0\0\0", "mismatched length"),
    (ng_shb() + ng_epb(bytes(60)), "interface 0"),
    (ng_shb() + ng_idb(1) + struct.pack("<II", 6, 13) + bytes(8), "impossible length"),
    (ng_shb().replace(struct.pack("<I", 0x1A2B3C4D), b"abcd"), "byte-order magic"),
])
def test_corrupt_captures_raise_capture_error(data, message):
    with pytest.raises(CaptureError, match=message):
        list(read_frames(data))


def test_reader_never_crashes_on_fuzzed_input():
    rng = random.Random(1996)
    l3 = [ipv4_udp(m) for m in dhcp_messages()[:4]]
    seeds = [pcap_file(_sample_frames()), pcap_file(_sample_frames(), order=">", nano=True),
             ng_shb() + ng_idb(1) + b"".join(ng_epb(f) for f in _sample_frames())
             + ng_spb(_sample_frames()[0]) + ng_pb(_sample_frames()[1]),
             ng_shb(">") + ng_idb(113, ">") + ng_idb(276, ">") + ng_idb(101, ">")
             + b"".join(ng_epb(sll(p), 0, ">") + ng_epb(sll2(p), 1, ">") + ng_epb(p, 2, ">")
                        for p in l3),
             pcap_file([bsd_null(p) for p in l3], 0)]
    inputs = [bytes(rng.randrange(256) for _ in range(rng.randrange(64))) for _ in range(300)]
    for seed in seeds:
        inputs += [seed[:cut] for cut in range(0, len(seed), 7)]
        for _ in range(300):
            mutated = bytearray(seed)
            for _ in range(rng.randrange(1, 8)):
                mutated[rng.randrange(len(mutated))] = rng.randrange(256)
            inputs.append(bytes(mutated))
    for data in inputs:
        try:
            for _ in dhcp_datagrams(data):
                pass
        except CaptureError:
            pass


# --- the command --------------------------------------------------------------------------------

def test_dump_text_lines(tmp_path, dump_codec, capsys):
    msgs = dhcp_messages()
    path = tmp_path / "t.pcap"
    path.write_bytes(pcap_file([ether(ipv4_udp(msgs[2])), ether(bytes(28), ethertype=0x0806),
                                ether(ipv4_udp(bootp(op=3)))]))
    status, lines, _ = run_dump(capsys, path)
    assert status == 0
    assert lines[0].startswith("frame 1: DHCPREQUEST xid=0x3903f326 chaddr=02:00:c0:a8:0a:01 "
                               "giaddr=10.9.0.254 options=[dhcp-message-type, ")
    assert lines[1] == "frame 3: malformed (bad-op)"


def test_dump_json_shape_and_malformed_record(tmp_path, dump_codec, capsys):
    path = tmp_path / "m.pcap"
    path.write_bytes(pcap_file([ether(ipv4_udp(bootp(tlv(53, b"\x01") + tlv(12, b"h1"),
                                                     sname=b"srv", file=b"boot\xe9"))),
                                ether(ipv4_udp(bootp(cookie=b"ABCD")))]))
    status, (good, bad), _ = run_dump(capsys, "--json", path)
    assert status == 0
    assert list(good) == ["frame", "op", "htype", "hlen", "hops", "xid", "secs", "flags",
                          "ciaddr", "yiaddr", "siaddr", "giaddr", "chaddr", "sname", "file",
                          "msg_type", "options"]
    assert good["sname"] == "srv" and good["file"] == "boot\xe9"
    assert good["msg_type"] == "DHCPDISCOVER"
    assert [list(o) for o in good["options"]] == [["code", "name", "value", "hex"]] * 2
    assert good["options"][1]["code"] == 12 and good["options"][1]["hex"] == "6831"
    assert good["options"][1]["name"] == "host-name"
    assert bad == {"frame": 2, "error": "bad-magic-cookie"}


@pytest.mark.parametrize("data", [b"not a capture at all", pcap_file([bytes(80)])[:-3]])
def test_unreadable_capture_exits_2_with_one_line(tmp_path, capsys, data):
    path = tmp_path / "bad.pcap"
    path.write_bytes(data)
    status, _, err = run_dump(capsys, "--json", path)
    assert status == 2
    assert err.count("\n") == 1 and err.startswith(f"fastdhcp dump: {path}: ")
    status, _, err = run_dump(capsys, tmp_path / "missing.pcap")
    assert status == 2 and err == f"fastdhcp dump: {tmp_path / 'missing.pcap'}: " \
        "No such file or directory\n"


def test_python_dash_m_reports_a_corrupt_file(tmp_path):
    path = tmp_path / "corrupt.pcapng"
    path.write_bytes(ng_shb()[:-4] + b"\xff\xff\xff\xff")
    proc = subprocess.run([sys.executable, "-m", "fastdhcp", "dump", str(path)],
                          capture_output=True, text=True, timeout=60,
                          cwd=Path(__file__).parent.parent)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr == f"fastdhcp dump: {path}: pcapng section header has mismatched " \
        "length fields; the file is corrupt\n"


def _bad_lengths() -> list:
    """DHCP-port frames whose IP and UDP lengths disagree (tshark: "Bad length value", or an IPv4
    total length past the frame), and one whose capture stopped early (snap length)."""
    msg = bootp(tlv(53, b"\x01") + tlv(12, b"host"))

    def frame(udp_len=None, ip_len=None, cut=0, **kw):
        l3 = bytearray(ipv4_udp(msg, **kw))
        if udp_len is not None:
            struct.pack_into("!H", l3, 24, udp_len)
        if ip_len is not None:
            struct.pack_into("!H", l3, 2, ip_len)
        return ether(bytes(l3[:len(l3) - cut]))

    whole = 8 + len(msg)
    return [
        frame(),                                        # well framed
        frame(udp_len=whole + 20),                      # UDP length past the IP payload
        frame(udp_len=whole + 20, sport=67, dport=68),  # ... a reply
        frame(udp_len=whole - 20),                      # shorter: the rest is not the message
        frame(udp_len=108),                             # far shorter
        frame(udp_len=4), frame(udp_len=0),             # below the UDP header
        frame(ip_len=20 + whole + 30),                  # IP total length past the frame
        frame(cut=10),                                  # a frame truncated on the wire
        frame(cut=len(msg) + 4),                        # ... inside the UDP header
        frame(ip_len=24),                               # an IP datagram too short for UDP
        (frame()[:150], len(frame())),                  # snap length: the bytes are not there
    ]


def test_every_dhcp_port_frame_tshark_lists_gets_a_line(tmp_path, dump_codec, capsys):
    path = tmp_path / "lengths.pcap"
    path.write_bytes(pcap_file(_bad_lengths()))
    env = dict(os.environ, WIRESHARK_CONFIG_DIR=str(tmp_path))
    fields = ("frame.number", "udp.srcport", "udp.dstport", "frame.cap_len", "frame.len",
              "_ws.malformed", "_ws.expert.message")
    proc = subprocess.run([TSHARK, "-n", "-r", str(path), "-T", "fields", "-E", "occurrence=f",
                           *[a for f in fields for a in ("-e", f)]],
                          capture_output=True, text=True, timeout=TSHARK_TIMEOUT, env=env,
                          check=True)
    theirs = {}
    for row in proc.stdout.splitlines():
        number, sport, dport, cap_len, length, malformed, expert = row.split("\t")
        if {sport, dport} & {"67", "68"} and cap_len == length:   # whole frames on DHCP ports
            theirs[int(number)] = bool(malformed) or "length" in expert
    status, records, err = run_dump(capsys, "--json", path)
    assert status == 0, err
    ours = {r["frame"]: r for r in records}
    assert len(theirs) == 11 and set(ours) == set(theirs), (sorted(theirs), sorted(ours))
    for number, flagged in theirs.items():
        if ours[number].get("error") in ("bad-udp-length", "bad-ip-length"):
            assert flagged, f"frame {number}: dump says {ours[number]['error']}, tshark nothing"
    assert [n for n, r in sorted(ours.items()) if r.get("error") == "bad-udp-length"] \
        == [2, 3, 6, 7, 9]
    assert [n for n, r in sorted(ours.items()) if r.get("error") == "bad-ip-length"] == [10, 11]
    assert "error" not in ours[1] and "error" not in ours[8]     # tshark decodes both too
    assert ours[1] == dict(ours[8], frame=1)
    status, lines, _ = run_dump(capsys, path)
    assert lines[1] == "frame 2: malformed (bad-udp-length)"
    assert len(lines) == len(ours)
