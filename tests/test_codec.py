"""Unit tests of the codec contract (fastdhcp/packet.py), run against both implementations through
the parametrised `codec` fixture: `C` is the codec under test; `ref` only crafts input."""

import subprocess
import sys

import pytest

from fastdhcp import reference as ref
from fastdhcp.packet import (MAGIC_COOKIE, MAX_DATAGRAM, MAX_RELAY_SUBOPTIONS, DropReason,
                             MalformedPacket, Packet, Quirk)

MAC = ref.mac("02:00:5e:00:00:01")
C = None   # the codec under test, set per test by the autouse fixture below


@pytest.fixture(autouse=True)
def _codec_under_test(codec):
    global C
    C = codec
    yield
    C = None
XID = 0x11223344


# --- helpers: datagrams assembled from a crafted header and raw option bytes ------------------

def header(**fields) -> bytes:
    """The 240-byte BOOTREQUEST header + cookie; ``sname``/``file`` are raw field bytes."""
    base = dict(op=1, htype=1, hlen=6, hops=0, xid=XID, secs=0, flags=0, ciaddr="0.0.0.0",
                yiaddr="0.0.0.0", siaddr="0.0.0.0", giaddr="0.0.0.0", chaddr=MAC, sname=b"",
                file=b"", msg_type=0, options=())
    base.update(fields)
    return ref.encode(Packet(**base))[:240]


def opt(code: int, value: bytes = b"") -> bytes:
    """One raw TLV (no splitting, so tests can write exactly what they mean)."""
    return bytes((code, len(value))) + value


MT = opt(53, b"\x01")                 # DHCPDISCOVER
END = b"\xff"


def dgram(*options: bytes, end: bool = True, **fields) -> bytes:
    return header(**fields) + b"".join(options) + (END if end else b"")


def reason(data: bytes, **kw) -> DropReason:
    with pytest.raises(MalformedPacket) as info:
        C.decode(data, **kw)
    return info.value.reason


# --- rules 1-3: frame -------------------------------------------------------------------------

def test_too_short_and_too_long():
    good = dgram(MT)
    assert reason(good[:239]) == DropReason.TOO_SHORT
    assert reason(b"") == DropReason.TOO_SHORT
    padded = good + bytes(MAX_DATAGRAM - len(good))
    assert C.decode(padded).msg_type == 1                       # exactly MAX_DATAGRAM is fine
    assert reason(padded + b"\0") == DropReason.TOO_LONG


def test_every_truncation_drops_or_decodes():
    data = ref.discover(MAC, XID, client_id=b"\x01" + MAC, hostname="pc")
    for n in range(len(data) + 1):
        try:
            C.decode(data[:n])
        except MalformedPacket as e:
            assert e.reason in (DropReason.TOO_SHORT, DropReason.OPTION_OVERRUN,
                                DropReason.NO_MESSAGE_TYPE)


def test_op():
    assert reason(dgram(MT, op=0)) == DropReason.BAD_OP
    assert reason(dgram(MT, op=3)) == DropReason.BAD_OP
    assert C.decode(dgram(MT, op=2)).op == 2
    assert reason(dgram(MT, op=2), requests_only=True) == DropReason.NOT_BOOTREQUEST
    assert reason(dgram(MT, op=3), requests_only=True) == DropReason.BAD_OP   # rule 2 order


def test_magic_cookie():
    data = dgram(MT)
    assert data[236:240] == MAGIC_COOKIE
    assert reason(data[:239] + b"\x64" + data[240:]) == DropReason.BAD_MAGIC_COOKIE
    # the cookie is checked before the options are read
    assert reason(data[:236] + bytes(4) + b"\x03") == DropReason.BAD_MAGIC_COOKIE


# --- rule 4: option TLVs ----------------------------------------------------------------------

def test_option_overrun():
    assert reason(dgram(MT, b"\x03", end=False)) == DropReason.OPTION_OVERRUN   # no length byte
    assert reason(dgram(MT, b"\x03\x04\x0a\x00\x00", end=False)) == DropReason.OPTION_OVERRUN
    # an overrun anywhere in 'options' wins over a bad 52 (rule 4 before rule 5)
    assert reason(dgram(opt(52, b"\x07"), MT, b"\x03\x09", end=False)) == \
        DropReason.OPTION_OVERRUN


def test_pad_is_one_byte_and_values_may_contain_255():
    p = C.decode(dgram(b"\0\0", MT, b"\0", opt(43, b"\xff\x00\xff")))
    assert p.options == ((53, b"\x01"), (43, b"\xff\x00\xff"))
    assert p.quirks == 0


def test_quirk_no_end():
    assert C.decode(dgram(MT, end=False)).quirks == Quirk.NO_END
    assert C.decode(dgram(MT, b"\0\0\0", end=False)).quirks == Quirk.NO_END
    # a bare 240-byte BOOTP frame has no END either
    p = C.decode(header(), allow_bootp=True)
    assert (p.msg_type, p.options, p.quirks) == (0, (), Quirk.NO_END)


def test_quirk_trailing_after_end():
    assert C.decode(dgram(MT) + b"\0\0\x01\0").quirks == Quirk.TRAILING_AFTER_END
    assert C.decode(dgram(MT) + bytes(60)).quirks == 0           # zero padding is normal
    # what follows END is not read as options, even if it would overrun
    assert C.decode(dgram(MT) + b"\x03\x09").quirks == Quirk.TRAILING_AFTER_END


# --- rule 5: option overload ------------------------------------------------------------------

@pytest.mark.parametrize("value", [b"", b"\x00", b"\x04", b"\x01\x01"])
def test_bad_overload_value(value):
    assert reason(dgram(MT, opt(52, value))) == DropReason.BAD_OVERLOAD


def test_overload_value_is_checked_after_concatenation():
    assert reason(dgram(MT, opt(52, b"\x01"), opt(52, b"\x01"))) == DropReason.BAD_OVERLOAD


def test_overload_file():
    p = C.decode(dgram(MT, opt(52, b"\x01"), file=opt(3, ref.ip("10.0.0.1")) + END,
                         sname=b"server"))
    assert p.overload == 1
    assert p.options == ((53, b"\x01"), (52, b"\x01"), (3, ref.ip("10.0.0.1")))
    assert (p.file, p.sname) == (b"", b"server")


def test_overload_sname():
    p = C.decode(dgram(MT, opt(52, b"\x02"), sname=opt(12, b"host") + END, file=b"boot.img"))
    assert p.overload == 2
    assert p.option(12) == b"host"
    assert (p.file, p.sname) == (b"boot.img", b"")


def test_overload_both_reads_file_before_sname():
    p = C.decode(dgram(MT, opt(52, b"\x03"), sname=opt(15, b"sn") + END,
                         file=opt(12, b"fi") + END))
    assert [c for c, _ in p.options] == [53, 52, 12, 15]
    assert (p.file, p.sname, p.overload) == (b"", b"", 3)


def test_field_options_are_ignored_without_overload():
    p = C.decode(dgram(MT, sname=b"srv\0" + opt(12, b"x"), file=b"pxelinux.0\0junk"))
    assert (p.sname, p.file, p.options) == (b"srv", b"pxelinux.0", ((53, b"\x01"),))


def test_overrun_inside_a_field():
    assert reason(dgram(MT, opt(52, b"\x01"), file=bytes(127) + b"\x0c")) == \
        DropReason.OPTION_OVERRUN                       # code without a length byte
    # an option may not run from 'file' on into the cookie: bounded by the 128-byte field
    assert reason(dgram(MT, opt(52, b"\x01"), file=bytes(126) + b"\x0c\x05")) == \
        DropReason.OPTION_OVERRUN
    assert reason(dgram(MT, opt(52, b"\x02"), sname=bytes(63) + b"\x0c")) == \
        DropReason.OPTION_OVERRUN


def test_overload_option_inside_a_field():
    assert reason(dgram(MT, opt(52, b"\x01"), file=opt(52, b"\x02") + END)) == \
        DropReason.BAD_OVERLOAD
    assert reason(dgram(MT, opt(52, b"\x02"), sname=opt(52, b"\x01") + END)) == \
        DropReason.BAD_OVERLOAD
    # per TLV, in reading order: a 52 in 'file' is met before an overrun in 'sname' ...
    assert reason(dgram(MT, opt(52, b"\x03"), file=opt(52, b"\x01"), sname=b"\x0c\x50")) == \
        DropReason.BAD_OVERLOAD
    # ... and an overrun earlier in the same field is met before a 52 later in it
    assert reason(dgram(MT, opt(52, b"\x01"), file=opt(12, b"ab") + b"\x0c\x7f" + opt(52, b"\x01")
                        )) == DropReason.OPTION_OVERRUN


def test_field_quirks():
    # Quirks describe the options field only: an overloaded sname/file is a fixed-size field that
    # may run to its end, and bytes after its END are not looked at.
    assert C.decode(dgram(MT, opt(52, b"\x02"), sname=opt(12, b"h" * 62))).quirks == 0
    assert C.decode(dgram(MT, opt(52, b"\x01"), file=END + b"junk")).quirks == 0


# --- rule 6: RFC 3396 concatenation -----------------------------------------------------------

def test_concatenation_across_options_file_and_sname():
    p = C.decode(dgram(opt(6, b"A" * 4), MT, opt(52, b"\x03"), opt(6, b"B" * 4),
                         file=opt(6, b"C" * 4) + opt(15, b"f") + END,
                         sname=opt(6, b"D" * 4) + opt(15, b"s") + opt(42, b"") + END))
    assert p.options == ((6, b"AAAABBBBCCCCDDDD"), (53, b"\x01"), (52, b"\x03"), (15, b"fs"),
                         (42, b""))


def test_concatenated_values_are_validated():
    # two 2-byte halves of option 50 make one valid 4-byte address (RFC 3396 §5)
    p = C.decode(dgram(MT, opt(50, b"\x0a\x00"), opt(50, b"\x00\x07")))
    assert p.option(50) == ref.ip("10.0.0.7")
    assert reason(dgram(opt(53, b"\x01"), opt(53, b"\x01"))) == DropReason.BAD_MESSAGE_TYPE


# --- rules 7-9: message type, lengths, relay information --------------------------------------

def test_message_type():
    assert reason(dgram(opt(12, b"h"))) == DropReason.NO_MESSAGE_TYPE
    assert C.decode(dgram(opt(12, b"h")), allow_bootp=True).msg_type == 0
    for bad in (b"", b"\x00", b"\x13", b"\x01\x01"):
        assert reason(dgram(opt(53, bad))) == DropReason.BAD_MESSAGE_TYPE
        assert reason(dgram(opt(53, bad)), allow_bootp=True) == DropReason.BAD_MESSAGE_TYPE
    assert C.decode(dgram(opt(53, b"\x12"))).msg_type_name == "DHCPTLS"


@pytest.mark.parametrize("code,good,bad", [
    (50, 4, (0, 3, 5)), (51, 4, (3, 5)), (54, 4, (3, 5)), (118, 4, (3, 5)), (57, 2, (1, 3))])
def test_bad_option_length(code, good, bad):
    assert C.decode(dgram(MT, opt(code, b"\x02" * good))).option(code) == b"\x02" * good
    for n in bad:
        assert reason(dgram(MT, opt(code, b"\x02" * n))) == DropReason.BAD_OPTION_LENGTH


def test_client_id_length():
    assert reason(dgram(MT, opt(61, b"\x01"))) == DropReason.BAD_OPTION_LENGTH
    assert C.decode(dgram(MT, opt(61, b"\x00x"))).option(61) == b"\x00x"


def test_rule_order_between_7_8_9():
    bad_len, bad_relay = opt(50, b"\x01"), opt(82, b"\x01\x05ab")
    assert reason(dgram(opt(53, b"\x00"), bad_len, bad_relay)) == DropReason.BAD_MESSAGE_TYPE
    assert reason(dgram(MT, bad_relay, bad_len)) == DropReason.BAD_OPTION_LENGTH
    assert reason(dgram(MT, bad_relay)) == DropReason.BAD_RELAY_INFO


def test_relay_info():
    value = opt(1, b"eth0/1") + opt(2, b"\xaa\xbb") + opt(11, ref.ip("10.1.0.1")) + opt(9, b"")
    p = C.decode(dgram(MT, opt(82, value)))
    assert p.relay_info == ((1, b"eth0/1"), (2, b"\xaa\xbb"), (11, ref.ip("10.1.0.1")), (9, b""))
    assert p.option(82) == value                 # 82 is also an ordinary entry
    assert C.decode(dgram(MT)).relay_info == ()
    assert C.decode(dgram(MT, opt(82))).relay_info == ()          # an empty run


def test_relay_info_split_by_rfc3396():
    value = opt(1, b"c" * 200) + opt(2, b"r" * 100)                 # 304 bytes: two pieces
    p = C.decode(ref.discover(MAC, XID, relay_info=[(1, b"c" * 200), (2, b"r" * 100)]))
    assert p.option(82) == value
    assert p.relay_info == ((1, b"c" * 200), (2, b"r" * 100))


@pytest.mark.parametrize("value", [b"\x01", b"\x01\x03ab", opt(1, b"x") + b"\x02"])
def test_bad_relay_info(value):
    assert reason(dgram(MT, opt(82, value))) == DropReason.BAD_RELAY_INFO


def test_relay_suboption_limit():
    ok = opt(1) * MAX_RELAY_SUBOPTIONS
    assert len(C.decode(dgram(MT, opt(82, ok))).relay_info) == MAX_RELAY_SUBOPTIONS
    assert reason(dgram(MT, opt(82, ok + opt(1)))) == DropReason.BAD_RELAY_INFO


# --- rule 10: header clamps and quirks --------------------------------------------------------

def test_hlen_clamped():
    p = C.decode(dgram(MT, hlen=20, chaddr=bytes(range(16))))
    assert (p.hlen, p.chaddr, p.quirks) == (16, bytes(range(16)), Quirk.HLEN_CLAMPED)
    p = C.decode(dgram(MT, hlen=0, chaddr=MAC))
    assert (p.hlen, p.chaddr, p.quirks) == (0, b"", 0)
    assert C.decode(dgram(MT, hlen=6, chaddr=MAC + b"\x99" * 10)).chaddr == MAC


def test_quirk_empty_hostname():
    assert C.decode(dgram(MT, opt(12))).quirks == Quirk.EMPTY_HOSTNAME
    assert C.decode(dgram(MT, opt(12))).option(12) == b""
    # judged on the concatenated value, like every rule after rule 6
    assert C.decode(dgram(MT, opt(12), opt(12, b"pc"))).quirks == 0


def test_quirk_small_max_size():
    assert C.decode(dgram(MT, opt(57, (575).to_bytes(2, "big")))).quirks == Quirk.SMALL_MAX_SIZE
    assert C.decode(dgram(MT, opt(57, (576).to_bytes(2, "big")))).quirks == 0


def test_quirks_combine():
    p = C.decode(dgram(MT, opt(12), end=False, hlen=17))
    assert p.quirks == Quirk.NO_END | Quirk.EMPTY_HOSTNAME | Quirk.HLEN_CLAMPED


def test_header_fields():
    p = C.decode(dgram(MT, op=2, htype=6, hops=3, xid=0xDEADBEEF, secs=65535, flags=0x8000,
                         ciaddr="1.2.3.4", yiaddr="5.6.7.8", siaddr="9.10.11.12",
                         giaddr="255.255.255.255"))
    assert (p.op, p.htype, p.hops, p.xid, p.secs, p.flags) == (2, 6, 3, 0xDEADBEEF, 65535, 0x8000)
    assert (p.ciaddr, p.yiaddr, p.siaddr, p.giaddr) == ("1.2.3.4", "5.6.7.8", "9.10.11.12",
                                                        "255.255.255.255")


# --- encode -----------------------------------------------------------------------------------

def test_round_trip_of_crafted_messages():
    for data in (ref.discover(MAC, XID, client_id=b"\x01" + MAC, hostname="pc", max_size=1400),
                 ref.request(MAC, XID, server_id="10.0.0.1", requested_ip="10.0.0.7"),
                 ref.release(MAC, XID, "10.0.0.7", "10.0.0.1"),
                 ref.decline(MAC, XID, "10.0.0.7", "10.0.0.1"),
                 ref.inform(MAC, XID, "10.0.0.7", giaddr="10.0.0.254", relay_info=[(1, b"p")])):
        assert len(data) == 300
        p = C.decode(data, requests_only=True)
        assert C.encode(p) == data
        assert C.decode(C.encode(p)) == p


def test_encode_splits_long_values_and_keeps_empty_ones():
    p = C.decode(dgram(MT))
    p2 = C.decode(C.encode(Packet(**{**_fields(p), "options": (
        (53, b"\x01"), (43, bytes(range(256)) * 2), (80, b""))})))
    assert p2.options == ((53, b"\x01"), (43, bytes(range(256)) * 2), (80, b""))
    raw = C.encode(Packet(**{**_fields(p), "options": ((43, b"x" * 600),)}))
    # 600 bytes -> pieces of 255, 255 and 90, then END
    assert (raw[240:242], raw[497:499], raw[754:756]) == (b"\x2b\xff", b"\x2b\xff", b"\x2b\x5a")
    assert raw[756 + 90] == 0xFF


def test_encode_never_overloads():
    p = C.decode(dgram(MT, opt(52, b"\x01"), file=opt(3, ref.ip("10.0.0.1")) + END))
    again = C.decode(C.encode(p))
    assert again.overload == 0 and again.option(52) is None
    assert again.option(3) == ref.ip("10.0.0.1") and again.file == b""


@pytest.mark.parametrize("change", [
    {"sname": b"s" * 65}, {"file": b"f" * 129}, {"chaddr": bytes(17)}, {"ciaddr": "10.1"},
    {"giaddr": "300.0.0.1"}, {"xid": 1 << 32}, {"op": 256}, {"options": ((0, b"x"),)},
    {"options": ((255, b""),)}, {"options": ((43, bytes(MAX_DATAGRAM)),)}])
def test_encode_rejects_what_does_not_fit(change):
    p = C.decode(dgram(MT))
    with pytest.raises(ValueError):
        C.encode(Packet(**{**_fields(p), **change}))


def _fields(p: Packet) -> dict:
    return {f: getattr(p, f) for f in p.__struct_fields__}


# --- crafting helpers -------------------------------------------------------------------------

def test_discover():
    p = C.decode(ref.discover(MAC, XID, client_id=b"\x01" + MAC, hostname="pc",
                                requested_ip="10.0.0.9", broadcast=True, max_size=1500,
                                extra_options=[(60, b"MSFT 5.0")]))
    assert (p.op, p.htype, p.hlen, p.chaddr, p.xid, p.flags, p.hops) == (1, 1, 6, MAC, XID,
                                                                         0x8000, 0)
    assert p.msg_type_name == "DHCPDISCOVER"
    assert [c for c, _ in p.options] == [53, 61, 50, 57, 12, 55, 60]
    assert p.option(55) == bytes(ref.DEFAULT_PRL)


def test_request_states():
    selecting = C.decode(ref.request(MAC, XID, server_id="10.0.0.1", requested_ip="10.0.0.7"))
    assert (selecting.option(54), selecting.option(50), selecting.ciaddr) == \
        (ref.ip("10.0.0.1"), ref.ip("10.0.0.7"), "0.0.0.0")
    reboot = C.decode(ref.request(MAC, XID, requested_ip="10.0.0.7"))
    assert (reboot.option(54), reboot.option(50)) == (None, ref.ip("10.0.0.7"))
    renew = C.decode(ref.request(MAC, XID, ciaddr="10.0.0.7"))
    assert (renew.option(54), renew.option(50), renew.ciaddr) == (None, None, "10.0.0.7")


def test_release_decline_inform():
    rel = C.decode(ref.release(MAC, XID, "10.0.0.7", "10.0.0.1"))
    assert (rel.msg_type, rel.ciaddr, rel.option(54), rel.option(50), rel.option(55)) == \
        (7, "10.0.0.7", ref.ip("10.0.0.1"), None, None)
    dec = C.decode(ref.decline(MAC, XID, "10.0.0.7", "10.0.0.1"))
    assert (dec.msg_type, dec.ciaddr, dec.option(50), dec.option(54)) == \
        (4, "0.0.0.0", ref.ip("10.0.0.7"), ref.ip("10.0.0.1"))
    inf = C.decode(ref.inform(MAC, XID, "10.0.0.7"))
    assert (inf.msg_type, inf.ciaddr, inf.option(50), inf.option(54)) == (8, "10.0.0.7", None,
                                                                           None)


def test_relayed_client_message():
    p = C.decode(ref.discover(MAC, XID, giaddr="10.9.0.1",
                                relay_info=[(1, b"ge-0/0/1"), (2, b"\x01\x02")],
                                extra_options=[(60, b"vendor")]))
    assert (p.giaddr, p.hops) == ("10.9.0.1", 1)
    assert p.options[-1][0] == 82                                   # appended by the relay
    assert p.relay_info == ((1, b"ge-0/0/1"), (2, b"\x01\x02"))


def test_small_helpers():
    assert ref.mac("aa-bb-cc-dd-ee-ff") == bytes.fromhex("aabbccddeeff")
    assert ref.ip_str(ref.ip("192.168.1.254")) == "192.168.1.254"
    assert ref.tlv(12, b"") == b"\x0c\x00"
    assert ref.tlv(43, b"x" * 256) == b"\x2b\xff" + b"x" * 255 + b"\x2b\x01x"


def test_reference_does_not_import_the_native_core():
    code = "import sys, fastdhcp.reference; assert 'fastdhcp._core' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


# --- build_reply ------------------------------------------------------------------------------

SERVER = "10.0.0.1"
LEAD = ref.tlv(54, ref.ip(SERVER)) + ref.tlv(51, (3600).to_bytes(4, "big"))
OPTION_SET = {1: ref.ip("255.255.255.0"), 3: ref.ip("10.0.0.1"), 6: ref.ip("10.0.0.2") * 2,
              15: b"example.net", 42: ref.ip("10.0.0.3"), 28: ref.ip("10.0.0.255")}


def reply(req: bytes, msg_type: int = 2, **kw) -> tuple[bytes, Packet]:
    args = dict(yiaddr="10.0.0.7", siaddr=SERVER, lead=LEAD, options=OPTION_SET)
    args.update(kw)
    data = C.build_reply(req, msg_type, **args)
    return data, C.decode(data)


def codes(p: Packet) -> list[int]:
    return [c for c, _ in p.options]


def test_reply_header():
    req = ref.request(MAC, XID, ciaddr="10.0.0.7", broadcast=True, giaddr="10.0.0.254")
    data, ack = reply(req, 5)
    assert (ack.op, ack.htype, ack.hlen, ack.chaddr, ack.xid, ack.flags) == (2, 1, 6, MAC, XID,
                                                                             0x8000)
    assert (ack.hops, ack.secs, ack.giaddr) == (1, 0, "10.0.0.254")
    assert (ack.ciaddr, ack.yiaddr, ack.siaddr) == ("10.0.0.7", "10.0.0.7", SERVER)
    assert data[44:236] == bytes(192)                                # sname and file zero
    assert len(data) == 300 and ack.quirks == 0
    _, nak = reply(req, 6, yiaddr="0.0.0.0", siaddr="0.0.0.0", lead=b"", options={})
    assert (nak.ciaddr, nak.msg_type, codes(nak)) == ("0.0.0.0", 6, [53])


def test_reply_option_order():
    req = ref.discover(MAC, XID, prl=(6, 3, 99, 6, 1, 54, 51, 82, 53, 61),
                       client_id=b"\x01" + MAC, relay_info=[(1, b"port")])
    _, offer = reply(req, always_send={42, 28, 3, 7})
    # 53, lead (54, 51), PRL order with duplicates, unknowns, lead codes and reserved codes
    # skipped, always-send ascending, then the 61 and 82 echoes
    assert codes(offer) == [53, 54, 51, 6, 3, 1, 28, 42, 61, 82]
    assert offer.option(61) == b"\x01" + MAC
    assert offer.relay_info == ((1, b"port"),)


def test_reply_echo_client_id_switch_and_absent_echoes():
    req = ref.discover(MAC, XID, prl=(1,), client_id=b"\x01" + MAC)
    assert codes(reply(req, echo_client_id=False)[1]) == [53, 54, 51, 1]
    assert codes(reply(ref.discover(MAC, XID, prl=(1,)))[1]) == [53, 54, 51, 1]
    assert codes(reply(ref.discover(MAC, XID, prl=()))[1]) == [53, 54, 51]


def test_reply_size_limit_boundary():
    req = ref.discover(MAC, XID, prl=(43, 1))
    # 240 header + 3 (53) + 304 (43 split 255 + 45) = 547, + END = 548: fits exactly
    data, p = reply(req, lead=b"", options={43: b"v" * 300, 1: ref.ip("255.255.255.0")})
    assert codes(p) == [53, 43] and len(data) == 548
    # one byte more and 43 is skipped; 1 is tried next and fits
    data, p = reply(req, lead=b"", options={43: b"v" * 301, 1: ref.ip("255.255.255.0")})
    assert codes(p) == [53, 1] and len(data) == 300


def test_reply_size_limit_keeps_room_for_echoes():
    req = ref.discover(MAC, XID, prl=(43,), client_id=b"\x01" + MAC)   # echo of 61: 9 bytes
    _, p = reply(req, lead=b"", options={43: b"v" * 300})
    assert codes(p) == [53, 61]
    _, p = reply(req, lead=b"", options={43: b"v" * 291})
    assert codes(p) == [53, 43, 61]


def filling(n: int) -> bytes:
    """A value whose TLVs (split every 255 bytes) take exactly n bytes."""
    value = next(b"v" * m for m in range(n, 0, -1) if m + 2 * -(-m // 255) == n)
    assert len(ref.tlv(43, value)) == n
    return value


@pytest.mark.parametrize("max_size,limit", [(None, 548), (500, 548), (576, 548), (1000, 972),
                                            (1500, 1472), (9000, 1472)])
def test_reply_limit_from_option_57(max_size, limit):
    req = ref.discover(MAC, XID, prl=(43,), max_size=max_size)
    value = filling(limit - 240 - 3 - 1)              # header, 53 and END around it
    data, p = reply(req, lead=b"", options={43: value})
    assert codes(p) == [53, 43] and len(data) == limit
    _, p = reply(req, lead=b"", options={43: value + b"v"})
    assert codes(p) == [53]


def test_reply_mandatory_parts_are_always_written():
    relay = [(1, b"c" * 250), (2, b"r" * 250)]                      # 504-byte 82 echo
    req = ref.discover(MAC, XID, prl=(1,), relay_info=relay)
    data, p = reply(req)
    assert codes(p) == [53, 54, 51, 82] and len(data) > 548
    assert p.relay_info == tuple(relay)


def test_reply_rejects_bad_arguments():
    p = ref.discover(MAC, XID)
    with pytest.raises(ValueError):
        C.build_reply(p, 256, "10.0.0.7", SERVER, b"", {})
    with pytest.raises(ValueError):
        C.build_reply(p, 2, "10.0.0", SERVER, b"", {})
    with pytest.raises(ValueError):
        C.build_reply(p, 2, "10.0.0.7", SERVER, b"\x36\x04\x0a", {})   # lead overruns
