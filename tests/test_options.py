"""The option table and its codec: Kea names, every type both ways, the special options, errors."""

import random

import msgspec
import pytest

from fastdhcp import options
from fastdhcp.options import (AGENT_SUBOPTIONS, STANDARD_OPTIONS, OptionDef, OptionValueError,
                              by_code, by_name, decode_value, encode_value)

# --- the table ----------------------------------------------------------------------------------

# Names checked against Kea's std_option_defs.h and the ARM's standard option tables.
KEA_NAMES = {
    1: "subnet-mask", 3: "routers", 6: "domain-name-servers", 12: "host-name",
    15: "domain-name", 28: "broadcast-address", 42: "ntp-servers",
    43: "vendor-encapsulated-options", 50: "dhcp-requested-address", 51: "dhcp-lease-time",
    52: "dhcp-option-overload", 53: "dhcp-message-type", 54: "dhcp-server-identifier",
    55: "dhcp-parameter-request-list", 57: "dhcp-max-message-size", 58: "dhcp-renewal-time",
    59: "dhcp-rebinding-time", 60: "vendor-class-identifier", 61: "dhcp-client-identifier",
    66: "tftp-server-name", 67: "boot-file-name", 76: "streettalk-directory-assistance-server",
    77: "user-class", 81: "fqdn", 82: "dhcp-agent-options", 93: "client-system",
    94: "client-ndi", 97: "uuid-guid", 116: "auto-config", 118: "subnet-selection",
    119: "domain-search", 121: "classless-static-route", 124: "vivco-suboptions",
    125: "vivso-suboptions", 252: "wpad-proxy-url",
}

REQUIRED = set(range(1, 77)) | {77, 81, 82, 93, 94, 97, 116, 118, 119, 121, 125, 252}
# The brief's "if cheap" list, less 95, 120, 150, 160, 161: Kea defines none of those.
KEA_EXTRAS = {60, 66, 67, 78, 79, 88, 89, 91, 92, 98, 99, 100, 101, 112, 113, 114, 117, 124,
              136, 137, 138, 141, 143, 159, 212, 213}


def test_codes_and_names_are_unique():
    assert len({d.code for d in STANDARD_OPTIONS}) == len(STANDARD_OPTIONS)
    assert len({d.name for d in STANDARD_OPTIONS}) == len(STANDARD_OPTIONS)
    assert [d.code for d in STANDARD_OPTIONS] == sorted(d.code for d in STANDARD_OPTIONS)


def test_every_required_code_is_defined():
    defined = {d.code for d in STANDARD_OPTIONS}
    assert REQUIRED | KEA_EXTRAS <= defined


@pytest.mark.parametrize("code,name", sorted(KEA_NAMES.items()))
def test_kea_names(code, name):
    assert by_code(code).name == name
    assert by_name(name).code == code


def test_types_follow_kea():
    assert (by_code(3).type, by_code(3).array) == ("ipv4-address", True)
    assert (by_code(1).type, by_code(1).array) == ("ipv4-address", False)
    assert by_code(2).type == "int32"
    assert by_code(15).type == "string"     # Kea's source, not the ARM's "fqdn"
    assert by_code(53).type == "uint8"
    assert (by_code(55).type, by_code(55).array) == ("uint8", True)
    assert by_code(61).type == "binary"
    assert by_code(81).fields == ("uint8", "uint8", "uint8", "fqdn")
    assert (by_code(82).type, by_code(82).encapsulate) == ("empty", "dhcp-agent-options-space")
    assert (by_code(119).type, by_code(119).array) == ("fqdn", True)
    assert by_code(121).type == "internal"
    assert by_code(124).fields == ("uint32", "binary")
    assert by_code(125).type == "uint32"


def test_only_252_is_not_kea():
    assert [d.code for d in STANDARD_OPTIONS if not d.kea] == [252]


def test_every_type_is_known():
    known = set(options._FIELDS) | {"empty", "record"}
    for d in STANDARD_OPTIONS + AGENT_SUBOPTIONS:
        assert d.type in known, d
        assert all(f in options._FIELDS for f in d.fields), d
        assert bool(d.fields) == (d.type == "record"), d


def test_unknown_code():
    d = by_code(200)
    assert (d.code, d.name, d.type, d.array, d.kea) == (200, "option-200", "binary", False, False)
    assert decode_value(200, b"\x01\xff") == "01:ff"
    assert encode_value(200, "01:ff") == b"\x01\xff"
    assert by_name("option-200") is None
    assert by_name("no-such-option") is None
    with pytest.raises(OptionValueError):
        by_code(256)


def test_optiondef_is_frozen_and_hashable():
    d = by_code(3)
    with pytest.raises(AttributeError):
        d.code = 4
    assert {d: 1}[OptionDef(3, "routers", "ipv4-address", True)] == 1


# --- every option: csv text -> bytes -> value -> bytes ------------------------------------------

FIELD_SAMPLES = {
    "int8": "-5", "int16": "-300", "int32": "-3600", "uint8": "7", "uint16": "1500",
    "uint32": "86400", "boolean": "true", "ipv4-address": "192.0.2.1",
    "ipv6-address": "2001:db8::1",
    "string": "some text", "binary": "01:02:0a", "internal": "01:02:0a", "fqdn": "example.org",
    "tuple": "https://example.org/", "psid": "3/4",
}
SPECIAL_SAMPLES = {
    43: "", 77: "01:02:0a", 81: "5, 0, 0, host.example.org", 82: "",
    121: "10.0.0.0/8 - 10.1.1.1, 0.0.0.0/0 - 10.0.0.1", 122: "",
    125: "4491", 143: "https://a.example/, https://b.example/",
}


def sample_text(d: OptionDef) -> str:
    if d.code in SPECIAL_SAMPLES:
        return SPECIAL_SAMPLES[d.code]
    if d.type == "record":
        parts = [FIELD_SAMPLES[f] for f in d.fields]
        return ", ".join(parts + parts[-1:] if d.array else parts)
    one = FIELD_SAMPLES[d.type]
    return f"{one}, {one}" if d.array else one


@pytest.mark.parametrize("d", STANDARD_OPTIONS, ids=lambda d: f"{d.code}-{d.name}")
def test_round_trip_every_option(d):
    raw = encode_value(d, sample_text(d))
    value = decode_value(d.code, raw)
    msgspec.json.encode(value)                       # JSON-ready
    assert encode_value(d, value if value is not None else "") == raw
    assert decode_value(d, encode_value(d, value if value is not None else "")) == value


# --- scalar types -------------------------------------------------------------------------------

@pytest.mark.parametrize("code,text,raw,value", [
    (23, "64", b"\x40", 64),                            # uint8
    (23, "0x40", b"\x40", 64),                          # Kea reads hex when decimal fails
    (23, "ff", b"\xff", 255),
    (26, "1500", b"\x05\xdc", 1500),                    # uint16
    (51, "4294967295", b"\xff\xff\xff\xff", 4294967295),  # uint32
    (2, "-18000", b"\xff\xff\xb9\xb0", -18000),        # int32
    (2, "2147483647", b"\x7f\xff\xff\xff", 2147483647),
])
def test_integers(code, text, raw, value):
    assert encode_value(code, text) == raw
    assert decode_value(code, raw) == value
    assert encode_value(code, value) == raw


def test_signed_small_integers():
    for kind, text, raw in (("int8", "-128", b"\x80"), ("int16", "-2", b"\xff\xfe")):
        d = OptionDef(240, "custom", kind)
        assert encode_value(d, text) == raw
        assert decode_value(d, raw) == int(text)
    with pytest.raises(OptionValueError, match=r"-128\.\.127"):
        encode_value(OptionDef(240, "custom", "int8"), "128")


@pytest.mark.parametrize("code,text", [
    (23, "256"), (23, "-1"), (26, "65536"), (51, "4294967296"), (2, "2147483648"),
    (23, "ten"), (23, "1.5"), (23, ""), (23, "1, 2"), (23, True),
])
def test_integer_errors(code, text):
    with pytest.raises(OptionValueError, match=by_code(code).name):
        encode_value(code, text)


def test_integer_wrong_length_falls_back_to_hex():
    assert decode_value(51, b"\x00\x01") == "00:01"
    assert decode_value(23, b"") == ""
    assert decode_value(26, b"\x05\xdc\x00") == "05:dc:00"


@pytest.mark.parametrize("text,raw", [("true", b"\x01"), ("FALSE", b"\x00"), ("1", b"\x01"),
                                      ("0", b"\x00"), (True, b"\x01"), (False, b"\x00")])
def test_boolean(text, raw):
    assert encode_value(19, text) == raw
    assert decode_value(19, raw) is (raw == b"\x01")


def test_boolean_errors():
    for bad in ("yes", "2", "", 5):
        with pytest.raises(OptionValueError, match="ip-forwarding"):
            encode_value(19, bad)
    assert decode_value(19, b"\x02") == "02"
    assert decode_value(19, b"\x01\x00") == "01:00"


def test_ipv4_scalar_and_array():
    assert encode_value(1, "255.255.255.0") == b"\xff\xff\xff\x00"
    assert decode_value(1, b"\xff\xff\xff\x00") == "255.255.255.0"
    raw = encode_value(6, "192.0.2.1, 192.0.2.2")
    assert raw == bytes([192, 0, 2, 1, 192, 0, 2, 2])
    assert decode_value(6, raw) == ["192.0.2.1", "192.0.2.2"]
    assert encode_value(6, ["192.0.2.1", "192.0.2.2"]) == raw
    assert encode_value(6, "192.0.2.1,,192.0.2.2") == raw      # Kea drops empty values
    assert encode_value(6, "") == b""
    assert decode_value(6, b"") == []
    import ipaddress
    assert encode_value(54, ipaddress.IPv4Address("10.0.0.1")) == b"\x0a\x00\x00\x01"


def test_ipv4_errors():
    for code, bad in ((3, "192.0.2.300"), (3, "192.0.2.1, nope"), (54, "2001:db8::1"),
                      (54, "192.0.2.1, 192.0.2.2"), (54, "")):
        with pytest.raises(OptionValueError):
            encode_value(code, bad)
    assert decode_value(3, b"\x0a\x00\x00\x01\x0a") == "0a:00:00:01:0a"
    assert decode_value(54, b"\x0a\x00\x00") == "0a:00:00"


def test_string():
    assert encode_value(15, "example.org") == b"example.org"
    assert encode_value(67, "  pxelinux.0  ") == b"pxelinux.0"
    assert encode_value(67, "foo\\,bar") == b"foo,bar"           # "foo\\,bar" in the JSON
    assert decode_value(12, b"myhost\x00\x00") == "myhost"       # RFC 2132 §2: trailing NULs
    assert decode_value(12, b"") == ""
    assert decode_value(12, b"\xff\xfe") == "ff:fe"              # not UTF-8: hex
    assert encode_value(252, "http://wpad.example/wpad.dat") == b"http://wpad.example/wpad.dat"


def test_string_errors():
    with pytest.raises(OptionValueError, match=r"2 comma-separated values"):
        encode_value(56, "Welcome, user")
    with pytest.raises(OptionValueError, match="no value"):
        encode_value(12, "")
    with pytest.raises(OptionValueError, match="empty"):
        encode_value(12, [""])
    with pytest.raises(OptionValueError, match="takes one string value, got 2"):
        encode_value(12, ["a", "b"])


def test_native_single_value_is_not_split():
    assert encode_value(56, ["Welcome, user"]) == b"Welcome, user"
    assert decode_value(56, b"Welcome, user") == "Welcome, user"
    assert encode_value(23, [64]) == b"\x40"


@pytest.mark.parametrize("text", ["01 0a ff", "01:0a:ff", "0x010aff", "010aff", "1:a:ff",
                                  "0X010AFF", "10aff"])
def test_hex_formats(text):
    assert encode_value(61, text, csv=False) == b"\x01\x0a\xff"
    assert encode_value(61, text) == b"\x01\x0a\xff"            # binary in csv is hex too


@pytest.mark.parametrize("text", ["01:0a ff", "0x", "zz", "01::02", "012:03", "0x0g"])
def test_hex_errors(text):
    with pytest.raises(OptionValueError, match="dhcp-client-identifier"):
        encode_value(61, text, csv=False)


def test_quoted_text_and_bytes():
    assert encode_value(61, "'abc'", csv=False) == b"abc"
    assert encode_value(60, "'PXEClient'", csv=False) == b"PXEClient"
    assert encode_value(61, b"\x01\x02") == b"\x01\x02"
    assert encode_value(61, "", csv=False) == b""
    assert decode_value(61, b"\x01\x00\x11\x22") == "01:00:11:22"


def test_hex_is_checked_against_the_type():
    raw = encode_value(6, "C0 00 03 01 C0 00 03 02", csv=False)
    assert raw == bytes.fromhex("c0000301c0000302")
    with pytest.raises(OptionValueError, match="does not fit type ipv4-address"):
        encode_value(6, "C0 00 03", csv=False)
    with pytest.raises(OptionValueError, match="does not fit"):
        encode_value(19, "02", csv=False)
    with pytest.raises(OptionValueError, match="does not fit"):
        encode_value(6, b"\x01\x02\x03")


# --- fqdn and domain lists ----------------------------------------------------------------------

def wire(*labels):
    return b"".join(bytes([len(x)]) + x.encode() for x in labels) + b"\x00"


def test_fqdn_single():
    raw = wire("lost", "example", "org")
    assert encode_value(137, "lost.example.org") == raw
    assert encode_value(137, "lost.example.org.") == raw
    assert decode_value(137, raw) == "lost.example.org."
    assert encode_value(137, ".") == b"\x00"
    assert decode_value(137, b"\x00") == "."
    with pytest.raises(OptionValueError, match="empty domain name"):
        encode_value(137, [""])
    assert decode_value(137, raw + b"\x00") == to_hex(raw + b"\x00")   # trailing bytes


def to_hex(b):
    return b.hex(":")


def test_domain_search_encodes_uncompressed():
    raw = encode_value(119, "example.org, eng.example.org")
    assert raw == wire("example", "org") + wire("eng", "example", "org")
    assert decode_value(119, raw) == ["example.org.", "eng.example.org."]


def test_domain_search_compression():
    # RFC 3397 §2 example shape: the second name points back into the first.
    raw = wire("eng", "apple", "com") + b"\x09marketing\xc0\x04"
    assert decode_value(119, raw) == ["eng.apple.com.", "marketing.apple.com."]
    chained = raw + b"\x02hr\xc0\x0f"          # points at "marketing" which points further back
    assert decode_value(119, chained)[-1] == "hr.marketing.apple.com."
    assert encode_value(119, decode_value(119, chained)) == (
        wire("eng", "apple", "com") + wire("marketing", "apple", "com")
        + wire("hr", "marketing", "apple", "com"))


@pytest.mark.parametrize("raw", [
    b"\xc0\x00",                                  # points at itself
    wire("a") + b"\xc0\x03",                      # points forward (at itself)
    b"\x01a\xc0\x00",                             # loop back into its own name
    b"\x07example",                               # no root label
    b"\x40abc\x00",                               # extended label type
    b"\x03a.b\x00",                               # a dot inside a label
    b"\xc0",                                      # truncated pointer
])
def test_bad_domain_lists_fall_back(raw):
    assert decode_value(119, raw) == to_hex(raw)


def test_long_name_rejected():
    long_name = ".".join(["a" * 63] * 4)          # 4*64 + 1 = 257 bytes in wire format
    with pytest.raises(OptionValueError, match="255"):
        encode_value(119, long_name)
    with pytest.raises(OptionValueError, match="label"):
        encode_value(119, "a" * 64 + ".org")
    with pytest.raises(OptionValueError, match="punycode"):
        encode_value(119, "bücher.example")
    with pytest.raises(OptionValueError):
        encode_value(119, "has space.example")


# --- records, tuples, psid ----------------------------------------------------------------------

def test_record_fixed():
    assert encode_value(94, "1, 2, 1") == b"\x01\x02\x01"
    assert decode_value(94, b"\x01\x02\x01") == [1, 2, 1]
    with pytest.raises(OptionValueError, match="takes 3 values, got 2"):
        encode_value(94, "1, 2")
    with pytest.raises(OptionValueError, match="takes 3 values, got 4"):
        encode_value(94, "1, 2, 1, 0")
    assert decode_value(94, b"\x01\x02") == "01:02"


def test_record_with_binary_tail():
    raw = encode_value(97, "0, 0011223344556677")
    assert raw == bytes.fromhex("000011223344556677")
    assert decode_value(97, raw) == [0, "00:11:22:33:44:55:66:77"]
    assert encode_value(97, [0, b"\x00\x11"]) == b"\x00\x00\x11"


def test_record_with_string_tail():
    assert encode_value(79, "true, scope1") == b"\x01scope1"
    assert decode_value(79, b"\x01scope1") == [True, "scope1"]
    assert decode_value(79, b"\x00") == [False, ""]           # the scope list is optional


def test_record_array():
    raw = encode_value(78, "true, 10.0.0.1, 10.0.0.2")
    assert raw == b"\x01\x0a\x00\x00\x01\x0a\x00\x00\x02"
    assert decode_value(78, raw) == [True, "10.0.0.1", "10.0.0.2"]
    with pytest.raises(OptionValueError, match="at least 2"):
        encode_value(78, "true")
    assert decode_value(78, raw[:-1]) == to_hex(raw[:-1])


def test_record_with_fqdn_array():
    raw = encode_value(146, "1, 192.0.2.1, 192.0.2.2, example.org, example.com")
    assert decode_value(146, raw) == [1, "192.0.2.1", "192.0.2.2", "example.org.", "example.com."]


def test_option_6rd_ipv6():
    raw = encode_value(212, "16, 32, 2001:db8::, 192.0.2.1")
    assert raw == b"\x10\x20" + bytes.fromhex("20010db8" + "00" * 12) + b"\xc0\x00\x02\x01"
    assert decode_value(212, raw) == [16, 32, "2001:db8::", "192.0.2.1"]
    with pytest.raises(OptionValueError, match="ipv6-address"):
        encode_value(212, "16, 32, 192.0.2.9, 192.0.2.1")


def test_tuple16_sztp_redirect():
    raw = encode_value(143, "https://a.example/")
    assert raw == b"\x00\x12https://a.example/"
    assert decode_value(143, raw) == ["https://a.example/"]
    assert decode_value(143, b"\x00\x05abc") == "00:05:61:62:63"


def test_tuple8():
    d = OptionDef(241, "custom", "tuple")
    assert encode_value(d, "abc") == b"\x03abc"
    assert decode_value(d, b"\x03abc") == "abc"
    with pytest.raises(OptionValueError, match="too long"):
        encode_value(d, "x" * 256)


@pytest.mark.parametrize("text,raw", [("0, 3/4", b"\x00\x04\x30\x00"),
                                      ("6, 0/0", b"\x06\x00\x00\x00"),
                                      ("0, 65535/16", b"\x00\x10\xff\xff")])
def test_psid(text, raw):
    assert encode_value(159, text) == raw
    psid = text.split(", ")[1]
    assert decode_value(159, raw) == [int(text.split(",")[0]), psid]


def test_psid_errors():
    for bad in ("0, 16/4", "0, 3/17", "0, 3"):
        with pytest.raises(OptionValueError):
            encode_value(159, bad)
    assert decode_value(159, b"\x00\x04\x30\x01") == "00:04:30:01"   # padding bits set
    assert decode_value(159, b"\x00\x11\x00\x00") == "00:11:00:00"   # length 17


def test_empty_type():
    d = OptionDef(242, "flag", "empty")
    assert encode_value(d, "") == b""
    assert encode_value(d, None) == b""
    assert decode_value(d, b"") is None
    assert decode_value(d, b"\x01") == "01"
    with pytest.raises(OptionValueError, match="no value"):
        encode_value(d, "x")


def test_internal_without_codec_is_binary():
    assert encode_value(162, "00:01") == b"\x00\x01"
    assert decode_value(162, b"\x00\x01") == "00:01"


def test_unsupported_custom_type():
    d = OptionDef(243, "prefix", "ipv6-prefix")
    with pytest.raises(OptionValueError, match="not supported"):
        encode_value(d, "2001:db8::/32")
    assert decode_value(d, b"\x20") == "20"


# --- 121 classless static routes ----------------------------------------------------------------

def test_classless_static_routes():
    text = "10.0.0.0/8 - 10.1.1.1, 192.168.0.0/16 - 10.1.1.2, 10.229.0.128/25 - 10.229.0.1"
    raw = encode_value(121, text)
    assert raw == bytes([8, 10, 10, 1, 1, 1,
                         16, 192, 168, 10, 1, 1, 2,
                         25, 10, 229, 0, 128, 10, 229, 0, 1])
    assert decode_value(121, raw) == ["10.0.0.0/8 - 10.1.1.1", "192.168.0.0/16 - 10.1.1.2",
                                      "10.229.0.128/25 - 10.229.0.1"]
    assert encode_value(121, decode_value(121, raw)) == raw


def test_classless_default_and_host_routes():
    raw = encode_value(121, "0.0.0.0/0 - 192.0.2.1, 198.51.100.7/32 - 192.0.2.2")
    assert raw == bytes([0, 192, 0, 2, 1, 32, 198, 51, 100, 7, 192, 0, 2, 2])
    assert decode_value(121, raw) == ["0.0.0.0/0 - 192.0.2.1", "198.51.100.7/32 - 192.0.2.2"]


def test_classless_hex_and_fallbacks():
    assert encode_value(121, "08 0a 0a 01 01 01", csv=False) == bytes([8, 10, 10, 1, 1, 1])
    with pytest.raises(OptionValueError, match="does not fit"):
        encode_value(121, "21 0a 0a 01 01 01", csv=False)         # width 33
    assert decode_value(121, bytes([33, 10, 10, 1, 1, 1])) == "21:0a:0a:01:01:01"
    assert decode_value(121, bytes([24, 10, 0, 0, 10, 1, 1])) == "18:0a:00:00:0a:01:01"


@pytest.mark.parametrize("bad", ["10.0.0.0/8", "10.0.0.0 - 10.1.1.1", "10.0.0.0/33 - 10.1.1.1",
                                 "10.0.0.0/8 - 10.1.1", "10.0.0.300/8 - 10.1.1.1", "",
                                 "10.0.0.0/x - 10.1.1.1", "10.0.0.0/8 - 10.1.1.1 - 10.1.1.2"])
def test_classless_errors(bad):
    with pytest.raises(OptionValueError, match="classless-static-route"):
        encode_value(121, bad)


# --- 81 client FQDN -----------------------------------------------------------------------------

def test_client_fqdn_wire_format():
    raw = encode_value(81, "5, 0, 0, host.example.org")        # flags S|E
    assert raw == b"\x05\x00\x00" + wire("host", "example", "org")
    assert decode_value(81, raw) == [5, 0, 0, "host.example.org."]


def test_client_fqdn_partial_and_empty():
    assert decode_value(81, b"\x04\x00\x00\x04host") == [4, 0, 0, "host"]   # RFC 4702 §2.3.1
    assert decode_value(81, b"\x04\x00\x00") == [4, 0, 0, ""]
    assert encode_value(81, [4, 0, 0, ""]) == b"\x04\x00\x00"


def test_client_fqdn_ascii():
    raw = b"\x01\xff\xff" + b"host.example.org"
    assert decode_value(81, raw) == [1, 255, 255, "host.example.org"]
    assert encode_value(81, decode_value(81, raw)) == raw
    assert decode_value(81, b"\x00\x00\x00h\xffst") == "00:00:00:68:ff:73:74"


def test_client_fqdn_errors():
    assert decode_value(81, b"\x05\x00") == "05:00"
    with pytest.raises(OptionValueError, match="flags, rcode1, rcode2, name"):
        encode_value(81, "5, 0")
    with pytest.raises(OptionValueError):
        encode_value(81, "300, 0, 0, host")


# --- 82 relay agent information and other sub-option containers ---------------------------------

RELAY = bytes.fromhex("0106000000010203" "0208aabbccddeeff0011" "0504c0000201" "0b04c0000202"
                      "1302ffff" "0604" "7375626a")


def test_relay_agent_information():
    assert decode_value(82, RELAY) == [
        {"code": 1, "name": "circuit-id", "value": "00:00:00:01:02:03"},
        {"code": 2, "name": "remote-id", "value": "aa:bb:cc:dd:ee:ff:00:11"},
        {"code": 5, "name": "link-selection", "value": "192.0.2.1"},
        {"code": 11, "name": "server-id-override", "value": "192.0.2.2"},
        {"code": 19, "name": "relay-port", "value": 65535},
        {"code": 6, "name": "subscriber-id", "value": "subj"},
    ]
    assert encode_value(82, decode_value(82, RELAY)) == RELAY
    assert encode_value(82, RELAY.hex(), csv=False) == RELAY


def test_relay_agent_information_edge_cases():
    assert decode_value(82, b"") == []
    assert decode_value(82, b"\x01\x05ab") == "01:05:61:62"            # runs past the value
    assert decode_value(82, b"\x05\x03\x01\x02\x03") == [
        {"code": 5, "name": "link-selection", "value": "01:02:03"}]   # bad sub-option: its hex
    assert decode_value(82, b"\xc8\x01\x07") == [{"code": 200, "name": "option-200",
                                                  "value": "07"}]
    with pytest.raises(OptionValueError, match="sub-options"):
        encode_value(82, "01:02")
    with pytest.raises(OptionValueError, match="does not fit"):
        encode_value(82, "01 05 61 62", csv=False)
    with pytest.raises(OptionValueError, match="link-selection"):
        encode_value(82, [{"code": 5, "value": "not-an-address"}])
    with pytest.raises(OptionValueError, match="code"):
        encode_value(82, [{"value": "01"}])
    with pytest.raises(OptionValueError, match="255"):
        encode_value(82, [{"code": 1, "value": b"x" * 256}])


def test_vendor_encapsulated_options_may_be_opaque():
    tlvs = b"\x01\x04\xc0\x00\x02\x01"
    assert decode_value(43, tlvs) == [{"code": 1, "name": "option-1", "value": "c0:00:02:01"}]
    assert decode_value(43, b"\x01\x09ab") == "01:09:61:62"
    assert encode_value(43, "01 09 61 62", csv=False) == b"\x01\x09ab"   # opaque is fine for 43
    assert encode_value(43, "") == b""


# --- 77 user class, 124/125 vendor-identifying --------------------------------------------------

def test_user_class():
    raw = b"\x04iPXE\x02\x00\x01"
    assert decode_value(77, raw) == ["'iPXE'", "00:01"]
    assert encode_value(77, ["'iPXE'", "00:01"]) == raw
    assert encode_value(77, "'iPXE'") == b"iPXE"                    # Kea: binary, unwrapped
    assert decode_value(77, b"iPXE") == "69:50:58:45"               # not RFC 3004: hex
    assert encode_value(77, "69:50:58:45", csv=False) == b"iPXE"     # any binary is accepted
    assert decode_value(77, b"\x00") == "00"
    with pytest.raises(OptionValueError, match="1..255"):
        encode_value(77, [""])


def test_vivso_suboptions():
    raw = bytes.fromhex("0000118b" "06" "0104c0000201" "00000009" "00")
    assert decode_value(125, raw) == [
        {"enterprise-id": 4491,
         "suboptions": [{"code": 1, "name": "option-1", "value": "c0:00:02:01"}]},
        {"enterprise-id": 9, "suboptions": []}]
    assert encode_value(125, decode_value(125, raw)) == raw
    assert encode_value(125, "4491") == b"\x00\x00\x11\x8b\x00"
    assert encode_value(125, 4491) == b"\x00\x00\x11\x8b\x00"
    assert decode_value(125, b"\x00\x00\x11\x8b\x09\x01") == "00:00:11:8b:09:01"
    with pytest.raises(OptionValueError, match="enterprise"):
        encode_value(125, "4491, 1")
    with pytest.raises(OptionValueError, match="enterprise"):
        encode_value(125, [{"suboptions": []}])


def test_vivco_record():
    raw = encode_value(124, "4491, 05046162636465")
    assert raw == bytes.fromhex("0000118b05046162636465")
    assert decode_value(124, raw) == [4491, "05:04:61:62:63:64:65"]


# --- decoding never raises ----------------------------------------------------------------------

def test_decode_never_raises_on_random_bytes():
    rng = random.Random(2132)
    defs = STANDARD_OPTIONS + AGENT_SUBOPTIONS + (by_code(199),)
    for _ in range(40):
        for d in defs:
            raw = bytes(rng.randrange(256) for _ in range(rng.randrange(12)))
            value = decode_value(d, raw)
            msgspec.json.encode(value)
    assert decode_value(999, b"\x01") == "01"                        # even an impossible code


def test_error_names_option_and_is_a_valueerror():
    with pytest.raises(ValueError) as info:
        encode_value(3, "192.0.2.999")
    assert isinstance(info.value, OptionValueError)
    assert str(info.value).startswith("routers (code 3): ")
