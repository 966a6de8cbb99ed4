"""The standard DHCPv4 option table and the typed codec for option values.

One table (``STANDARD_OPTIONS``) names every option fastdhcp knows: code, Kea's kebab-case name,
Kea's data type, the array flag and, for records, the field types. It follows Kea's
``std_option_defs.h`` where Kea's source and its ARM disagree (15 domain-name is a ``string``,
53 dhcp-message-type a ``uint8``). Options Kea does not define are marked ``kea=False``: a Kea
configuration may define those codes itself with ``option-def``, and its definition wins.

Two directions, both used by more than one component:

* ``encode_value(code_or_def, value, csv=True)`` -> bytes, from what a Kea ``option-data`` entry's
  ``data`` holds: with ``csv=True`` Kea's comma-separated text (``"192.0.2.1, 192.0.2.2"``; a
  literal comma is ``\\\\,`` in the JSON file), with ``csv=False`` hex (``"0A 0B"``, ``"0x0a0b"``,
  ``"0a:0b"``) or ``'quoted text'``, checked against the option's type as Kea checks it.
  Non-``str`` values (int, bool, list, dict, bytes) are native: lists are not re-split on commas
  (``["a,b"]`` is the literal string of a single-valued option), ``bytes`` are the wire value.
  Failures raise ``OptionValueError`` (a ``ValueError``) whose message names the option and the
  reason; the config layer adds the JSON path.
* ``decode_value(code_or_def, raw)`` -> a JSON-ready value. It never raises: bytes that do not fit
  the option's type come back as the hex string of the raw bytes.

Decoded values are accepted back by ``encode_value`` and give the same bytes, except where the
wire has two spellings of one value (trailing NULs of a string, a partial name in 81). A bare
``str`` is csv text, so a single-valued string holding a comma goes back as ``[value]``; the hex
fallback goes back with ``csv=False``.

Decoded representations:

=========================  ========================================================================
integers, boolean          ``int``, ``bool``
ipv4/ipv6-address          ``"192.0.2.1"``, ``"2001:db8::1"``
string, tuple              ``str`` (UTF-8; trailing NULs dropped, RFC 2132 §2)
binary, internal           lowercase colon hex, ``"01:0a:ff"`` (``""`` when empty)
fqdn                       absolute name with its trailing dot, ``"example.org."``; RFC 1035 §4.1.4
                           compression pointers are followed in name lists (119, RFC 3397 §2)
psid                       ``"psid/length"`` as Kea writes it, ``"3/4"``
empty                      ``None``
array                      a list of the above
record                     a flat list in field order, array tail appended: the order of Kea's
                           csv ``data`` (78 ``[true, "10.0.0.1", "10.0.0.2"]``)
=========================  ========================================================================

Special cases:

* 121 classless-static-route (RFC 3442): ``["10.0.0.0/8 - 10.1.1.1", ...]``, Kea's notation.
  Encoding writes the significant octets of the prefix as given, as Kea does.
* 81 fqdn (RFC 4702): ``[flags, rcode1, rcode2, name]``; the name is DNS wire format when flag E
  (0x04) is set, else ASCII. A partial name (no root label, §2.3.1) decodes without trailing dot;
  encoding always writes a full name, as Kea does.
* 77 user-class (RFC 3004): a list of instances, each ``'text'`` when printable ASCII, else hex;
  a client sending bare bytes (iPXE does) gets the hex fallback. Kea types 77 as ``binary``, so a
  ``str`` encodes as binary (hex or ``'text'``, unwrapped); a list encodes as RFC 3004 instances.
* 82 dhcp-agent-options, 43 vendor-encapsulated-options, 122 cablelabs-client-conf (Kea's ``empty``
  containers): a list of ``{"code", "name", "value"}`` sub-options (RFC 3046 §2.0: no PAD/END),
  values typed by ``AGENT_SUBOPTIONS`` for 82 and hex otherwise. 43 may be opaque vendor data
  (RFC 2132 §8.4): if it is not a run of TLVs it decodes to hex and any hex is accepted.
* 125 vivso-suboptions (RFC 3925 §4): ``[{"enterprise-id": n, "suboptions": [...]}, ...]``; the csv
  form is Kea's single ``uint32`` enterprise id (written with an empty data block).
* 124 vivco-suboptions: Kea's record ``(uint32, binary)``, i.e. ``[enterprise-id, "hex"]``.
* 143 v4-sztp-redirect (RFC 8572 §8.3): tuples with a 2-byte length, as Kea special-cases.
"""

from __future__ import annotations

import functools
import ipaddress
import re
import struct
from typing import Any, Callable, NamedTuple

import msgspec

__all__ = ["AGENT_SUBOPTIONS", "STANDARD_OPTIONS", "OptionDef", "OptionValueError", "by_code",
           "by_name", "decode_value", "encode_value", "to_hex"]


class OptionValueError(ValueError):
    """An option value that cannot be encoded for its definition; the message says why."""


class OptionDef(msgspec.Struct, frozen=True):
    """One option's format, in Kea's vocabulary.

    ``type`` is Kea's type name; ``fields`` holds the field types of a ``record``; ``encapsulate``
    names the sub-option space of an ``empty`` container; ``special`` selects a whole-option codec
    where Kea uses a dedicated class; ``kea`` is False for options Kea does not define.
    """

    code: int
    name: str
    type: str
    array: bool = False
    fields: tuple[str, ...] = ()
    encapsulate: str = ""
    special: str = ""
    kea: bool = True


IP4, IP6 = "ipv4-address", "ipv6-address"
AGENT_SPACE = "dhcp-agent-options-space"
VENDOR_SPACE = "vendor-encapsulated-options-space"

# Kea's std_option_defs.h, in code order. 1..76 are RFC 2132 (62/63 RFC 2242).
STANDARD_OPTIONS: tuple[OptionDef, ...] = (
    OptionDef(1, "subnet-mask", IP4),
    OptionDef(2, "time-offset", "int32"),
    OptionDef(3, "routers", IP4, True),
    OptionDef(4, "time-servers", IP4, True),
    OptionDef(5, "name-servers", IP4, True),
    OptionDef(6, "domain-name-servers", IP4, True),
    OptionDef(7, "log-servers", IP4, True),
    OptionDef(8, "cookie-servers", IP4, True),
    OptionDef(9, "lpr-servers", IP4, True),
    OptionDef(10, "impress-servers", IP4, True),
    OptionDef(11, "resource-location-servers", IP4, True),
    OptionDef(12, "host-name", "string"),
    OptionDef(13, "boot-size", "uint16"),
    OptionDef(14, "merit-dump", "string"),
    OptionDef(15, "domain-name", "string"),
    OptionDef(16, "swap-server", IP4),
    OptionDef(17, "root-path", "string"),
    OptionDef(18, "extensions-path", "string"),
    OptionDef(19, "ip-forwarding", "boolean"),
    OptionDef(20, "non-local-source-routing", "boolean"),
    OptionDef(21, "policy-filter", IP4, True),
    OptionDef(22, "max-dgram-reassembly", "uint16"),
    OptionDef(23, "default-ip-ttl", "uint8"),
    OptionDef(24, "path-mtu-aging-timeout", "uint32"),
    OptionDef(25, "path-mtu-plateau-table", "uint16", True),
    OptionDef(26, "interface-mtu", "uint16"),
    OptionDef(27, "all-subnets-local", "boolean"),
    OptionDef(28, "broadcast-address", IP4),
    OptionDef(29, "perform-mask-discovery", "boolean"),
    OptionDef(30, "mask-supplier", "boolean"),
    OptionDef(31, "router-discovery", "boolean"),
    OptionDef(32, "router-solicitation-address", IP4),
    OptionDef(33, "static-routes", IP4, True),
    OptionDef(34, "trailer-encapsulation", "boolean"),
    OptionDef(35, "arp-cache-timeout", "uint32"),
    OptionDef(36, "ieee802-3-encapsulation", "boolean"),
    OptionDef(37, "default-tcp-ttl", "uint8"),
    OptionDef(38, "tcp-keepalive-interval", "uint32"),
    OptionDef(39, "tcp-keepalive-garbage", "boolean"),
    OptionDef(40, "nis-domain", "string"),
    OptionDef(41, "nis-servers", IP4, True),
    OptionDef(42, "ntp-servers", IP4, True),
    OptionDef(43, "vendor-encapsulated-options", "empty", encapsulate=VENDOR_SPACE),
    OptionDef(44, "netbios-name-servers", IP4, True),
    OptionDef(45, "netbios-dd-server", IP4, True),
    OptionDef(46, "netbios-node-type", "uint8"),
    OptionDef(47, "netbios-scope", "string"),
    OptionDef(48, "font-servers", IP4, True),
    OptionDef(49, "x-display-manager", IP4, True),
    OptionDef(50, "dhcp-requested-address", IP4),
    OptionDef(51, "dhcp-lease-time", "uint32"),
    OptionDef(52, "dhcp-option-overload", "uint8"),
    OptionDef(53, "dhcp-message-type", "uint8"),
    OptionDef(54, "dhcp-server-identifier", IP4),
    OptionDef(55, "dhcp-parameter-request-list", "uint8", True),
    OptionDef(56, "dhcp-message", "string"),
    OptionDef(57, "dhcp-max-message-size", "uint16"),
    OptionDef(58, "dhcp-renewal-time", "uint32"),
    OptionDef(59, "dhcp-rebinding-time", "uint32"),
    OptionDef(60, "vendor-class-identifier", "string"),
    OptionDef(61, "dhcp-client-identifier", "binary"),
    OptionDef(62, "nwip-domain-name", "string"),
    OptionDef(63, "nwip-suboptions", "binary"),
    OptionDef(64, "nisplus-domain-name", "string"),
    OptionDef(65, "nisplus-servers", IP4, True),
    OptionDef(66, "tftp-server-name", "string"),
    OptionDef(67, "boot-file-name", "string"),
    OptionDef(68, "mobile-ip-home-agent", IP4, True),
    OptionDef(69, "smtp-server", IP4, True),
    OptionDef(70, "pop-server", IP4, True),
    OptionDef(71, "nntp-server", IP4, True),
    OptionDef(72, "www-server", IP4, True),
    OptionDef(73, "finger-server", IP4, True),
    OptionDef(74, "irc-server", IP4, True),
    OptionDef(75, "streettalk-server", IP4, True),
    OptionDef(76, "streettalk-directory-assistance-server", IP4, True),
    OptionDef(77, "user-class", "binary", special="user-class"),
    OptionDef(78, "slp-directory-agent", "record", True, ("boolean", IP4)),
    OptionDef(79, "slp-service-scope", "record", False, ("boolean", "string")),
    OptionDef(81, "fqdn", "record", False, ("uint8", "uint8", "uint8", "fqdn"),
              special="client-fqdn"),
    OptionDef(82, "dhcp-agent-options", "empty", encapsulate=AGENT_SPACE),
    OptionDef(85, "nds-servers", IP4, True),
    OptionDef(86, "nds-tree-name", "string"),
    OptionDef(87, "nds-context", "string"),
    OptionDef(88, "bcms-controller-names", "fqdn", True),
    OptionDef(89, "bcms-controller-address", IP4, True),
    OptionDef(90, "authenticate", "binary"),
    OptionDef(91, "client-last-transaction-time", "uint32"),
    OptionDef(92, "associated-ip", IP4, True),
    OptionDef(93, "client-system", "uint16", True),
    OptionDef(94, "client-ndi", "record", False, ("uint8", "uint8", "uint8")),
    OptionDef(97, "uuid-guid", "record", False, ("uint8", "binary")),
    OptionDef(98, "uap-servers", "string"),
    OptionDef(99, "geoconf-civic", "binary"),
    OptionDef(100, "pcode", "string"),
    OptionDef(101, "tcode", "string"),
    OptionDef(108, "v6-only-preferred", "uint32"),
    OptionDef(112, "netinfo-server-address", IP4, True),
    OptionDef(113, "netinfo-server-tag", "string"),
    OptionDef(114, "v4-captive-portal", "string"),
    OptionDef(116, "auto-config", "uint8"),
    OptionDef(117, "name-service-search", "uint16", True),
    OptionDef(118, "subnet-selection", IP4),
    OptionDef(119, "domain-search", "fqdn", True),
    OptionDef(121, "classless-static-route", "internal", special="classless-static-route"),
    OptionDef(122, "cablelabs-client-conf", "empty", encapsulate="cablelabs-client-conf"),
    OptionDef(124, "vivco-suboptions", "record", False, ("uint32", "binary")),
    OptionDef(125, "vivso-suboptions", "uint32", special="vendor-identifying"),
    OptionDef(136, "pana-agent", IP4, True),
    OptionDef(137, "v4-lost", "fqdn"),
    OptionDef(138, "capwap-ac-v4", IP4, True),
    OptionDef(141, "sip-ua-cs-domains", "fqdn", True),
    OptionDef(143, "v4-sztp-redirect", "tuple", True, special="sztp-redirect"),
    OptionDef(146, "rdnss-selection", "record", True, ("uint8", IP4, IP4, "fqdn")),
    OptionDef(151, "status-code", "record", False, ("uint8", "string")),
    OptionDef(152, "base-time", "uint32"),
    OptionDef(153, "start-time-of-state", "uint32"),
    OptionDef(154, "query-start-time", "uint32"),
    OptionDef(155, "query-end-time", "uint32"),
    OptionDef(156, "dhcp-state", "uint8"),
    OptionDef(157, "data-source", "uint8"),
    OptionDef(159, "v4-portparams", "record", False, ("uint8", "psid")),
    OptionDef(162, "v4-dnr", "internal"),   # Kea's DNR text syntax is not parsed: give hex
    OptionDef(212, "option-6rd", "record", True, ("uint8", "uint8", IP6, IP4)),
    OptionDef(213, "v4-access-domain", "fqdn"),
    # Not a Kea standard option: the de-facto WPAD code (site-specific range, RFC 2132 §2).
    OptionDef(252, "wpad-proxy-url", "string", kea=False),
)

# Kea's dhcp-agent-options-space: RFC 3046 sub-options of 82 and their later additions.
AGENT_SUBOPTIONS: tuple[OptionDef, ...] = (
    OptionDef(1, "circuit-id", "binary"),
    OptionDef(2, "remote-id", "binary"),
    OptionDef(4, "docsis-device-class", "uint32"),
    OptionDef(5, "link-selection", IP4),             # RFC 3527
    OptionDef(6, "subscriber-id", "string"),         # RFC 3993
    OptionDef(7, "radius", "binary"),
    OptionDef(8, "auth", "binary"),
    OptionDef(9, "vendor-specific-info", "binary"),
    OptionDef(10, "relay-flags", "uint8"),
    OptionDef(11, "server-id-override", IP4),        # RFC 5107
    OptionDef(12, "relay-id", "binary"),
    OptionDef(13, "access-techno-type", "uint16"),
    OptionDef(14, "access-network-name", "string"),
    OptionDef(15, "access-point-name", "string"),
    OptionDef(16, "access-point-bssid", "binary"),
    OptionDef(17, "operator-id", "uint32"),
    OptionDef(18, "operator-realm", "string"),
    OptionDef(19, "relay-port", "uint16"),           # RFC 8357
    OptionDef(151, "virtual-subnet-select", "binary"),
    OptionDef(152, "virtual-subnet-select-ctrl", "empty"),
)

_BY_CODE = {d.code: d for d in STANDARD_OPTIONS}
_BY_NAME = {d.name: d for d in STANDARD_OPTIONS}
_SPACES = {AGENT_SPACE: {d.code: d for d in AGENT_SUBOPTIONS}}


def by_code(code: int) -> OptionDef:
    """The definition of ``code``; an unknown code gets ``option-N`` of type binary."""
    if not 0 <= code <= 255:
        raise OptionValueError(f"option code {code} is outside 0..255")
    return _BY_CODE.get(code) or _unknown(code)


def by_name(name: str) -> OptionDef | None:
    """The definition named ``name`` (Kea's kebab-case name), or None."""
    return _BY_NAME.get(name)


def _unknown(code: int) -> OptionDef:
    return OptionDef(code, f"option-{code}", "binary", kea=False)


def to_hex(raw: bytes) -> str:
    """Bytes as lowercase colon-separated hex: the form of binary values and of the fallback."""
    return raw.hex(":")


# --- text helpers -------------------------------------------------------------------------------

def _csv_tokens(text: str) -> list[str]:
    """Kea's csv split: commas separate values, ``\\,`` is a literal comma, ``\\\\`` a backslash;
    each value is trimmed and empty values are dropped."""
    tokens, cur, i = [], [], 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text) and text[i + 1] in ",\\":
            cur.append(text[i + 1])
            i += 2
            continue
        if ch == ",":
            tokens.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
        i += 1
    tokens.append("".join(cur))
    return [t.strip() for t in tokens if t.strip()]


_HEX_OCTET = re.compile(r"[0-9a-fA-F]{1,2}")
_HEX_RUN = re.compile(r"[0-9a-fA-F]*")


def _parse_hex(text: str) -> bytes:
    """Kea's formatted hex: octets split by ':' or spaces (one or two digits each), or one run of
    digits with an optional 0x prefix (an odd run gets a leading 0); or ``'text'`` for its bytes."""
    s = text.strip()
    if len(s) >= 2 and s[0] == s[-1] == "'":
        return s[1:-1].encode()
    if ":" in s or " " in s:
        parts = s.split(":") if ":" in s else s.split()
        if not all(_HEX_OCTET.fullmatch(p) for p in parts):
            raise OptionValueError(f"{text!r} is not hex octets separated by one kind of "
                                   f"separator (':' or ' ')")
        return bytes(int(p, 16) for p in parts)
    digits = s[2:] if s[:2].lower() == "0x" else s
    if not _HEX_RUN.fullmatch(digits) or (s[:2].lower() == "0x" and not digits):
        raise OptionValueError(f"{text!r} is not hex")
    return bytes.fromhex(("0" if len(digits) % 2 else "") + digits)


def _bytes_in(value: Any) -> bytes:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    if isinstance(value, str):
        return _parse_hex(value)
    raise OptionValueError(f"expected hex text or bytes, got {type(value).__name__}")


def _as_list(value: Any) -> list:
    if isinstance(value, (list, tuple)):
        return list(value)
    return [value]


# --- fields: one reader and one writer per Kea data type ----------------------------------------
# read(buf, pos) -> (value, new_pos) raises _Bad; write(value) -> bytes raises OptionValueError.
# A ``str`` given to write is one csv value (already split and trimmed).

class _Bad(Exception):
    """Bytes that do not fit the type; decode_value turns it into the hex fallback."""


class _Field(NamedTuple):
    read: Callable[[bytes, int], tuple[Any, int]]
    write: Callable[[Any], bytes]


def _take(buf: bytes, pos: int, n: int, what: str) -> bytes:
    if pos + n > len(buf):
        raise _Bad(f"{what} needs {n} bytes, {len(buf) - pos} left")
    return buf[pos:pos + n]


_DECIMAL = re.compile(r"[+-]?[0-9]+")
_HEXNUM = re.compile(r"(0[xX])?[0-9a-fA-F]+")


def _to_int(value: Any, what: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str):
        s = value.strip()
        if _DECIMAL.fullmatch(s):
            return int(s)
        if _HEXNUM.fullmatch(s):      # Kea falls back to reading hex when decimal fails
            return int(s, 16)
    raise OptionValueError(f"{value!r} is not a valid {what}")


def _int_field(kind: str) -> _Field:
    signed, bits = kind.startswith("int"), int(kind.lstrip("uint"))
    fmt = {8: "b", 16: "h", 32: "i"}[bits]
    fmt = "!" + (fmt if signed else fmt.upper())
    lo, hi = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)

    def read(buf, pos):
        return struct.unpack(fmt, _take(buf, pos, bits // 8, kind))[0], pos + bits // 8

    def write(value):
        n = _to_int(value, kind)
        if not lo <= n <= hi:
            raise OptionValueError(f"{value!r} is out of range for {kind} ({lo}..{hi})")
        return struct.pack(fmt, n)
    return _Field(read, write)


def _read_bool(buf, pos):
    b = _take(buf, pos, 1, "boolean")[0]
    if b > 1:
        raise _Bad(f"boolean byte is {b}, not 0 or 1")
    return bool(b), pos + 1


def _write_bool(value):
    if isinstance(value, str):
        s = value.strip().lower()
        value = {"true": True, "false": False}.get(s, s)
        if isinstance(value, str) and _DECIMAL.fullmatch(value):
            value = int(value)
    if isinstance(value, int) and value in (0, 1):     # bool is an int
        return bytes([int(value)])
    raise OptionValueError(f"{value!r} is not a boolean (true, false, 1 or 0)")


def _addr_field(cls: type, size: int, kind: str) -> _Field:
    def read(buf, pos):
        return str(cls(_take(buf, pos, size, kind))), pos + size

    def write(value):
        try:
            return cls(value.strip() if isinstance(value, str) else value).packed
        except (ValueError, TypeError):
            raise OptionValueError(f"{value!r} is not a valid {kind}") from None
    return _Field(read, write)


def _read_string(buf, pos):
    # RFC 2132 §2: a receiver must accept (and drop) trailing NULs.
    try:
        return buf[pos:].rstrip(b"\x00").decode(), len(buf)
    except UnicodeDecodeError:
        raise _Bad("string is not UTF-8") from None


def _write_string(value):
    if not isinstance(value, str):
        raise OptionValueError(f"expected a string, got {type(value).__name__}")
    return value.encode()


def _read_binary(buf, pos):
    return to_hex(buf[pos:]), len(buf)


def _label_ok(label: bytes) -> bool:
    # Printable ASCII without '.', '\' and space: what the text form can show unescaped.
    return all(0x21 <= b <= 0x7E and b not in b".\\" for b in label)


def _read_name(buf: bytes, pos: int, partial: bool = False) -> tuple[str, int]:
    """One RFC 1035 §3.1 name at ``pos``, following §4.1.4 pointers (only backwards, so a loop is
    impossible). With ``partial``, running out of bytes ends a name without its root label."""
    labels, end, limit, size = [], None, pos, 1
    while True:
        if pos >= len(buf):
            if partial and end is None:
                return ".".join(labels), pos
            raise _Bad("domain name runs past the option")
        n = buf[pos]
        if n & 0xC0 == 0xC0:
            target = int.from_bytes(_take(buf, pos, 2, "name pointer"), "big") & 0x3FFF
            if target >= limit:
                raise _Bad("name pointer does not point backwards")
            end = pos + 2 if end is None else end
            pos = limit = target
            continue
        if n & 0xC0:
            raise _Bad(f"unsupported label type 0x{n:02x}")
        if n == 0:
            return (".".join(labels) + "." if labels else "."), (pos + 1 if end is None else end)
        label = _take(buf, pos + 1, n, "label")
        size += n + 1
        if size > 255 or not _label_ok(label):
            raise _Bad("domain name too long or has a label that is not printable ASCII")
        labels.append(label.decode("ascii"))
        pos += n + 1


def _name_wire(value: Any, empty_ok: bool = False) -> bytes:
    """A name in RFC 1035 §3.1 wire format, always absolute (Kea writes no partial names)."""
    if not isinstance(value, str):
        raise OptionValueError(f"expected a domain name, got {type(value).__name__}")
    name = value.strip()
    if not name:
        if empty_ok:
            return b""
        raise OptionValueError("empty domain name (the root is '.')")
    if name == ".":
        return b"\x00"
    labels = (name[:-1] if name.endswith(".") else name).split(".")
    out = bytearray()
    for label in labels:
        raw = label.encode("ascii", "replace")
        if not label.isascii() or not 1 <= len(raw) <= 63 or not _label_ok(raw):
            raise OptionValueError(f"{value!r} is not a valid domain name (label {label!r}: "
                                   f"1..63 printable ASCII characters, no spaces; use punycode)")
        out += bytes([len(raw)]) + raw
    out += b"\x00"
    if len(out) > 255:
        raise OptionValueError(f"{value!r} is longer than 255 bytes in wire format")
    return bytes(out)


def _tuple_field(width: int) -> _Field:
    def read(buf, pos):
        n = int.from_bytes(_take(buf, pos, width, "tuple length"), "big")
        try:
            return _take(buf, pos + width, n, "tuple").decode(), pos + width + n
        except UnicodeDecodeError:
            raise _Bad("tuple is not UTF-8") from None

    def write(value):
        raw = _write_string(value)
        if len(raw) >= 1 << (8 * width):
            raise OptionValueError(f"{value!r} is too long for a {width}-byte length")
        return len(raw).to_bytes(width, "big") + raw
    return _Field(read, write)


def _read_psid(buf, pos):
    # RFC 7618 §4: PSID-Len, then the PSID left-aligned in 16 bits, the rest zero.
    length, word = struct.unpack("!BH", _take(buf, pos, 3, "psid"))
    if length > 16 or (word << length) & 0xFFFF:
        raise _Bad(f"psid length {length} or padding bits are invalid")
    return f"{word >> (16 - length) if length else 0}/{length}", pos + 3


def _write_psid(value):
    psid_text, sep, len_text = str(value).replace(" ", "").partition("/")
    if not sep:
        raise OptionValueError(f"{value!r} is not a psid (write psid/length, e.g. 3/4)")
    psid, length = _to_int(psid_text, "psid"), _to_int(len_text, "psid length")
    if not 0 <= length <= 16 or not 0 <= psid < 1 << length:
        raise OptionValueError(f"{value!r}: psid must fit in its length, length 0..16")
    return struct.pack("!BH", length, psid << (16 - length) if length else 0)


_FIELDS: dict[str, _Field] = {
    **{k: _int_field(k) for k in ("int8", "int16", "int32", "uint8", "uint16", "uint32")},
    "boolean": _Field(_read_bool, _write_bool),
    IP4: _addr_field(ipaddress.IPv4Address, 4, IP4),
    IP6: _addr_field(ipaddress.IPv6Address, 16, IP6),
    "string": _Field(_read_string, _write_string),
    "binary": _Field(_read_binary, _bytes_in),
    "internal": _Field(_read_binary, _bytes_in),   # Kea: an internal type without codec is binary
    "fqdn": _Field(_read_name, _name_wire),
    "tuple": _tuple_field(1),
    "psid": _Field(_read_psid, _write_psid),
}


# --- codecs: a whole option value ---------------------------------------------------------------

class _Codec(NamedTuple):
    decode: Callable[[bytes], Any]    # raises _Bad
    encode: Callable[[Any], bytes]    # a str is Kea csv text; raises OptionValueError


def _expect_end(raw: bytes, pos: int) -> None:
    if pos != len(raw):
        raise _Bad(f"{len(raw) - pos} bytes left over")


def _scalar_codec(field: _Field, kind: str) -> _Codec:
    def decode(raw):
        value, pos = field.read(raw, 0)
        _expect_end(raw, pos)
        return value

    def encode(value):
        if isinstance(value, str):
            tokens = _csv_tokens(value)
            if kind == "binary" and not tokens:
                return b""
            if len(tokens) != 1:
                raise OptionValueError(
                    "no value given" if not tokens else
                    f"takes one {kind} value, got {len(tokens)} comma-separated values "
                    f"(escape a literal comma as \\\\, in the JSON; Kea would keep only the first)")
            value = tokens[0]
        elif isinstance(value, (list, tuple)):     # native [value]: a str in it is not split
            if len(value) != 1:
                raise OptionValueError(f"takes one {kind} value, got {len(value)}")
            value = value[0]
        out = field.write(value)
        if kind == "string" and not out:
            raise OptionValueError("a string option cannot be empty")
        return out
    return _Codec(decode, encode)


def _array_codec(field: _Field) -> _Codec:
    def decode(raw):
        out, pos = [], 0
        while pos < len(raw):
            value, pos = field.read(raw, pos)
            out.append(value)
        return out

    def encode(value):
        items = _csv_tokens(value) if isinstance(value, str) else _as_list(value)
        return b"".join(field.write(v) for v in items)
    return _Codec(decode, encode)


def _record_codec(kinds: tuple[str, ...], array: bool) -> _Codec:
    fields = [_FIELDS[k] for k in kinds]

    def decode(raw):
        out, pos = [], 0
        for field in fields:
            value, pos = field.read(raw, pos)
            out.append(value)
        while array and pos < len(raw):
            value, pos = fields[-1].read(raw, pos)
            out.append(value)
        _expect_end(raw, pos)
        return out

    def encode(value):
        items = _csv_tokens(value) if isinstance(value, str) else _as_list(value)
        if len(items) < len(fields) or (not array and len(items) > len(fields)):
            want = f"at least {len(fields)}" if array else f"{len(fields)}"
            raise OptionValueError(f"record ({', '.join(kinds)}) takes {want} values, "
                                   f"got {len(items)}")
        writers = fields + fields[-1:] * (len(items) - len(fields))
        return b"".join(w.write(v) for w, v in zip(writers, items))
    return _Codec(decode, encode)


def _empty_decode(raw):
    if raw:
        raise _Bad("empty option carries data")


def _empty_encode(value):
    if value in (None, "", [], ()):
        return b""
    raise OptionValueError("an empty option carries no value")


def _suboption_codec(space: str) -> _Codec:
    defs = _SPACES.get(space, {})
    opaque_ok = space == VENDOR_SPACE    # RFC 2132 §8.4: 43 may be opaque vendor data

    def sub_def(code):
        return defs.get(code) or _unknown(code)

    def decode(raw):
        out, pos = [], 0
        try:
            while pos < len(raw):
                code, n = struct.unpack("!BB", _take(raw, pos, 2, "sub-option header"))
                value = _take(raw, pos + 2, n, f"sub-option {code}")
                out.append({"code": code, "name": sub_def(code).name,
                            "value": decode_value(sub_def(code), value)})
                pos += 2 + n
        except _Bad:
            if opaque_ok:
                return to_hex(raw)
            raise
        return out

    def encode(value):
        if isinstance(value, str):
            if not _csv_tokens(value):
                return b""
            raise OptionValueError("this option holds sub-options: give them as hex with "
                                   "csv-format false, or configure the sub-options")
        out = bytearray()
        for item in _as_list(value):
            code = item.get("code") if isinstance(item, dict) else None
            if not isinstance(code, int) or not 0 <= code <= 255:
                raise OptionValueError(f"sub-option {item!r} is not a {{code, value}} object "
                                       f"with a code in 0..255")
            sub = encode_value(sub_def(code), item.get("value"))
            if len(sub) > 255:
                raise OptionValueError(f"sub-option {code} is longer than 255 bytes")
            out += bytes([code, len(sub)]) + sub
        return bytes(out)
    return _Codec(decode, encode)


def _route_text(route: str) -> bytes:
    prefix, sep, router = (p.strip() for p in route.partition("-"))
    addr, slash, width = prefix.partition("/")
    if not sep or not slash or "-" in router:
        raise OptionValueError(f"{route!r} is not a route (write prefix/len - router, e.g. "
                               f"10.229.0.128/25 - 10.229.0.1)")
    width_n = _to_int(width, "prefix length") if width.isdigit() else -1
    if not 0 <= width_n <= 32:
        raise OptionValueError(f"{route!r}: prefix length must be 0..32")
    subnet, gateway = _FIELDS[IP4].write(addr), _FIELDS[IP4].write(router)
    # RFC 3442 §3: the width, then only the significant octets of the destination.
    return bytes([width_n]) + subnet[:(width_n + 7) // 8] + gateway


def _routes_decode(raw):
    out, pos = [], 0
    while pos < len(raw):
        width = raw[pos]
        if width > 32:
            raise _Bad(f"route prefix length {width} is over 32")
        n = (width + 7) // 8
        octets = _take(raw, pos + 1, n + 4, "route")
        subnet = ipaddress.IPv4Address(octets[:n] + bytes(4 - n))
        out.append(f"{subnet}/{width} - {ipaddress.IPv4Address(octets[n:])}")
        pos += 1 + n + 4
    return out


def _routes_encode(value):
    routes = _csv_tokens(value) if isinstance(value, str) else _as_list(value)
    if not routes:
        raise OptionValueError("no route given")
    return b"".join(_route_text(str(r)) for r in routes)


def _client_fqdn_decode(raw):
    flags, rcode1, rcode2 = struct.unpack("!BBB", _take(raw, 0, 3, "fqdn header"))
    if flags & 0x04:     # RFC 4702 §2.1 flag E: canonical wire format, maybe partial (§2.3.1)
        name, pos = _read_name(raw, 3, partial=True) if len(raw) > 3 else ("", 3)
        _expect_end(raw, pos)
    else:                # deprecated ASCII encoding
        name = raw[3:].decode("ascii", "strict") if raw[3:].isascii() else None
        if name is None:
            raise _Bad("ASCII-encoded name is not ASCII")
    return [flags, rcode1, rcode2, name]


def _client_fqdn_encode(value):
    items = _csv_tokens(value) if isinstance(value, str) else _as_list(value)
    if len(items) == 3:
        items.append("")     # RFC 4702 §2.3: the name may be empty
    if len(items) != 4:
        raise OptionValueError(f"fqdn takes flags, rcode1, rcode2, name; got {len(items)} values")
    u8 = _FIELDS["uint8"].write
    head = u8(items[0]) + u8(items[1]) + u8(items[2])
    if head[0] & 0x04:
        return head + _name_wire(items[3], empty_ok=True)
    return head + str(items[3]).encode("ascii", "strict")


def _instance_text(raw: bytes) -> str:
    printable = raw and all(0x20 <= b <= 0x7E for b in raw)
    return f"'{raw.decode('ascii')}'" if printable else to_hex(raw)


def _user_class_decode(raw):
    # RFC 3004 §4: one or more instances, each a length (at least 1) and that many bytes.
    out, pos = [], 0
    while pos < len(raw):
        n = raw[pos]
        if n == 0:
            raise _Bad("user class instance of length 0")
        out.append(_instance_text(_take(raw, pos + 1, n, "user class instance")))
        pos += 1 + n
    if not out:
        raise _Bad("no user class instance")
    return out


def _user_class_encode(value):
    if isinstance(value, (str, bytes, bytearray, memoryview)):
        return _bytes_in(value)     # Kea types 77 as binary
    out = bytearray()
    for item in _as_list(value):
        raw = _bytes_in(item)
        if not 1 <= len(raw) <= 255:
            raise OptionValueError(f"user class instance {item!r} must be 1..255 bytes")
        out += bytes([len(raw)]) + raw
    return bytes(out)


def _vendor_decode(raw):
    # RFC 3925 §4: per vendor, enterprise number (4), data length (1), sub-option TLVs.
    out, pos, subs = [], 0, _suboption_codec("")
    while pos < len(raw):
        enterprise, n = struct.unpack("!IB", _take(raw, pos, 5, "vendor header"))
        out.append({"enterprise-id": enterprise,
                    "suboptions": subs.decode(_take(raw, pos + 5, n, "vendor data"))})
        pos += 5 + n
    return out


def _vendor_encode(value):
    u32 = _FIELDS["uint32"].write
    if isinstance(value, str):      # Kea's csv form: the enterprise id alone
        tokens = _csv_tokens(value)
        if len(tokens) != 1:
            raise OptionValueError("takes one enterprise id (uint32)")
        return u32(tokens[0]) + b"\x00"
    if isinstance(value, int):
        return u32(value) + b"\x00"
    out, subs = bytearray(), _suboption_codec("")
    for block in _as_list(value):
        if not isinstance(block, dict) or "enterprise-id" not in block:
            raise OptionValueError(f"{block!r} is not an {{enterprise-id, suboptions}} object")
        data = subs.encode(block.get("suboptions") or [])
        if len(data) > 255:
            raise OptionValueError("vendor data is longer than 255 bytes")
        out += u32(block["enterprise-id"]) + bytes([len(data)]) + data
    return bytes(out)


_SPECIAL: dict[str, _Codec] = {
    "classless-static-route": _Codec(_routes_decode, _routes_encode),
    "client-fqdn": _Codec(_client_fqdn_decode, _client_fqdn_encode),
    "user-class": _Codec(_user_class_decode, _user_class_encode),
    "vendor-identifying": _Codec(_vendor_decode, _vendor_encode),
    "sztp-redirect": _array_codec(_tuple_field(2)),
}


@functools.lru_cache(maxsize=None)
def _codec(d: OptionDef) -> _Codec:
    if d.special:
        return _SPECIAL[d.special]
    if d.type == "empty":
        return _suboption_codec(d.encapsulate) if d.encapsulate else _Codec(_empty_decode,
                                                                              _empty_encode)
    if d.type == "record":
        return _record_codec(d.fields, d.array)
    if d.type not in _FIELDS:
        raise OptionValueError(f"option type {d.type!r} is not supported")
    return _array_codec(_FIELDS[d.type]) if d.array else _scalar_codec(_FIELDS[d.type], d.type)


def _resolve(code_or_def: int | OptionDef) -> OptionDef:
    return code_or_def if isinstance(code_or_def, OptionDef) else by_code(code_or_def)


# --- the two entry points -----------------------------------------------------------------------

def decode_value(code_or_def: int | OptionDef, raw: bytes) -> Any:
    """Option bytes -> a JSON-ready typed value; the hex of ``raw`` if they do not fit. Never
    raises."""
    raw = bytes(raw)
    try:
        return _codec(_resolve(code_or_def)).decode(raw)
    except (_Bad, ValueError, struct.error):
        return to_hex(raw)


def encode_value(code_or_def: int | OptionDef, value: Any, *, csv: bool = True) -> bytes:
    """A Kea ``option-data`` value -> the option's bytes.

    ``value`` is Kea csv text when ``csv`` is true, hex (or ``'text'``) when false; anything not a
    ``str`` is a native value (``bytes`` being the wire value, checked like hex). Raises
    ``OptionValueError`` naming the option and the reason.
    """
    d = _resolve(code_or_def)
    try:
        codec = _codec(d)
        if isinstance(value, str) and csv or not isinstance(value, (str, bytes, bytearray,
                                                                     memoryview)):
            return codec.encode(value)
        raw = _bytes_in(value)
        if d.type != "binary":      # Kea unpacks hex data with the option's definition too
            try:
                codec.decode(raw)
            except (_Bad, ValueError, struct.error) as exc:
                raise OptionValueError(f"data does not fit type {d.type}: {exc}") from None
        return raw
    except OptionValueError as exc:
        raise OptionValueError(f"{d.name} (code {d.code}): {exc}") from None
