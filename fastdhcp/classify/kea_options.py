"""A received DHCPv4 option as Kea 2.2 holds it, so that ``.hex`` and ``.text`` give Kea's bytes.

Kea does not evaluate the bytes on the wire: ``Pkt4::unpack`` turns each option into an object
of the class its definition selects (``OptionDefinition::optionFactory``), and the expression
tokens ask that object for ``toBinary()`` (``.hex``) or ``toString()`` (``.text``). So:

* ``.hex`` is the option *re-packed*: a string loses its trailing NULs, a fixed-size field its
  extra bytes, sub-options come out sorted by code (a multimap) with PADs and a truncated tail
  gone, and an fqdn is lower-cased or decompressed.
* ``.text`` is ``toString()``, which only ``OptionString`` overrides: every other option gives
  its debug text, ``"type=054, len=004: 192.0.2.1 (ipv4-address)"``; an option without a
  definition gives ``"type=043, len=002: 01:02"``.

Unpacking rules from libdhcp++.cc ``unpackOptions4`` and the classes in src/lib/dhcp: an empty
host-name (12) is skipped; 43 and 224-254 are deferred until after classification, so classes
see them raw; a string option of NULs only is skipped (SkipThisOptionError); a truncated
vendor option (125) stops unpacking but keeps the packet (SkipRemainingOptionsError); any other
failure drops the packet. Repeated codes are then fused (``fuseOptions4``, RFC 3396) into a
*generic* option with the concatenated ``data_`` of each instance, which is empty for most
typed classes (only generic, string, custom and fqdn options keep their bytes there).

Definitions come from a callable ``(space, code) -> OptionDef | None`` (fastdhcp.options'
``OptionDef``); ``kea22_definition`` is Kea 2.2's built-in table: fastdhcp's standard table
without the options Kea added later (43 is only a last-resort definition, and 2.2 has no
definitions for the sub-options of 82).
"""

from __future__ import annotations

import bisect
import socket
import struct
from collections.abc import Callable

from ..options import IP4, IP6, STANDARD_OPTIONS, VENDOR_SPACE, OptionDef
from . import kea_names

__all__ = [
    "DHCP4", "Definitions", "InvalidOption", "KEA22_ABSENT", "KeaError", "KeaOption",
    "SkipRemainingOptions", "SkipThisOption", "VendorClassOption", "VendorOption", "fuse",
    "insert_option", "kea22_definition", "kea22_definition_by_name", "unpack_options",
]

DHCP4 = "dhcp4"
Definitions = Callable[[str, int], "OptionDef | None"]

OPT_HOST_NAME, OPT_VENDOR_ENCAPSULATED, OPT_MSG_TYPE, OPT_AGENT = 12, 43, 53, 82
OPT_SLP_SCOPE, OPT_FQDN, OPT_VIVCO, OPT_VIVSO, OPT_END = 79, 81, 124, 125, 255

# Codes fastdhcp's table defines but Kea 2.2's std_option_defs.h does not (added in 2.3+, or
# site-specific): to Kea 2.2 they are plain binary options.
KEA22_ABSENT = frozenset({43, 121, 122, 143, 151, 152, 153, 154, 155, 156, 157, 162, 252})
_KEA22_DHCP4 = {d.code: d for d in STANDARD_OPTIONS if d.code not in KEA22_ABSENT}
# std_option_defs.h LAST_RESORT_V4_OPTION_DEFINITIONS: found by name, never used to unpack
# during classification (43 is deferred).
_LAST_RESORT_43 = OptionDef(43, "vendor-encapsulated-options", "empty", encapsulate=VENDOR_SPACE)
_KEA22_NAMES = {d.name: d for d in (*_KEA22_DHCP4.values(), _LAST_RESORT_43)}
# docsis3_option_defs.h: the only vendor space Kea 2.2 unpacks with definitions (CableLabs).
_KEA22_VENDOR = {4491: {1: OptionDef(1, "oro", "uint8", True),
                        2: OptionDef(2, "tftp-servers", IP4, True)}}


def kea22_definition(space: str, code: int) -> OptionDef | None:
    """Kea 2.2's built-in definition of ``code`` in ``space`` (dhcp4 only; the agent space of 82
    has none in 2.2)."""
    return _KEA22_DHCP4.get(code) if space == DHCP4 else None


def kea22_definition_by_name(name: str) -> OptionDef | None:
    """Kea 2.2's dhcp4 definition named ``name``, the last-resort space included."""
    return _KEA22_NAMES.get(name)


class KeaError(Exception):
    """A Kea exception met while unpacking or rendering an option."""


class SkipThisOption(KeaError):
    """SkipThisOptionError: the option is left out, unpacking goes on (libdhcp++.cc:602)."""


class SkipRemainingOptions(KeaError):
    """SkipRemainingOptionsError: unpacking stops here; the packet is still processed
    (dhcp4_srv.cc:1226), with the options read so far and without fusing."""


class InvalidOption(KeaError):
    """Any other unpacking failure: Kea drops the packet (dhcp4_srv.cc:1232)."""


# --- the option classes ---------------------------------------------------------------------------

def _pack_suboptions(subs: list[KeaOption]) -> bytes:
    """LibDHCP::packOptions4 with top=false: code order, but 53 is never written, every 82 goes
    after the rest and the last END (255) after that."""
    agent = [s for s in subs if s.code == OPT_AGENT]
    ends = [s for s in subs if s.code == OPT_END]
    rest = [s for s in subs if s.code not in (OPT_MSG_TYPE, OPT_AGENT, OPT_END)]
    return b"".join(s.packed() for s in (*rest, *agent, *ends[-1:]))


def _ip_text(raw: bytes) -> bytes:
    return socket.inet_ntop(socket.AF_INET if len(raw) == 4 else socket.AF_INET6, raw).encode()


class KeaOption:
    """Kea's generic ``Option`` (option.cc): raw ``data_`` plus sub-options; also the base of
    the typed classes below, which override what they print and pack."""

    header = 2                     # a V4 option header; Option6AddrLst is a V6 option (4)

    def __init__(self, code: int, data: bytes = b"", subs: list[KeaOption] | None = None):
        self.code, self.data, self.subs = code, data, subs if subs is not None else []

    def get_data(self) -> bytes:
        """Kea's ``getData()``: what fuseOptions4 concatenates."""
        return self.data

    def payload(self) -> bytes:
        """The option's own bytes in ``toBinary()``, before its packed sub-options."""
        return self.data

    def length(self) -> int:
        """Kea's ``len()``: header, payload and every sub-option (53 included, though packing
        leaves it out)."""
        return self.header + len(self.payload()) + sum(s.length() for s in self.subs)

    def binary(self) -> bytes:
        """``toBinary(false)``: what ``.hex`` yields."""
        return self.payload() + _pack_suboptions(self.subs)

    def packed(self) -> bytes:
        """The option with its header, as a parent packs it (the length byte wraps: pack is
        called with check=false)."""
        size = self.length() - self.header
        if self.header == 4:
            return struct.pack("!HH", self.code, size & 0xFFFF) + self.binary()
        return bytes((self.code, size & 0xFF)) + self.binary()

    def header_text(self, indent: int) -> bytes:
        """Option::headerToText: ``type=NNN, len=NNN`` (five digits for a V6 option)."""
        width = 3 if self.header == 2 else 5
        return b" " * indent + b"type=%0*d, len=%0*d" % (width, self.code, width,
                                                         self.length() - self.header)

    def subs_text(self, indent: int) -> bytes:
        """Option::suboptionsToText."""
        if not self.subs:
            return b""
        return b",\noptions:" + b"".join(b"\n" + s.text(indent) for s in self.subs)

    def text(self, indent: int = 0) -> bytes:
        """``toText(indent)``; the generic form is the data as colon-separated hex."""
        return (self.header_text(indent) + b": " + self.data.hex(":").encode()
                + self.subs_text(indent + 2))

    def to_string(self) -> bytes:
        """``toString()``: what ``.text`` yields (``toText(0)`` except for strings)."""
        return self.text(0)

    def find(self, code: int) -> KeaOption | None:
        """``getOption(code)``: the first sub-option with that code."""
        for s in self.subs:
            if s.code == code:
                return s
        return None


class StringOption(KeaOption):
    """OptionString: the value without trailing NULs; ``.text`` is the value itself."""

    def text(self, indent: int = 0) -> bytes:
        return self.header_text(indent) + b': "' + self.data + b'" (string)'

    def to_string(self) -> bytes:
        return self.data

    def length(self) -> int:
        return self.header + len(self.data)       # OptionString::len ignores sub-options


_INT_FORMATS = {"uint8": "!B", "int8": "!b", "uint16": "!H", "int16": "!h", "uint32": "!I",
                "int32": "!i"}


class IntOption(KeaOption):
    """OptionInt<T>: one integer; bytes after it are sub-options of the definition's space."""

    def __init__(self, code: int, type_name: str, value: int, subs: list[KeaOption]):
        super().__init__(code, b"", subs)
        self.type_name, self.value = type_name, value

    def payload(self) -> bytes:
        return struct.pack(_INT_FORMATS[self.type_name], self.value)

    def text(self, indent: int = 0) -> bytes:
        return (self.header_text(indent) + b": %d (%s)" % (self.value, self.type_name.encode())
                + self.subs_text(indent + 2))


class IntArrayOption(KeaOption):
    """OptionIntArray<T>. Kea 2.2 instantiates int16 and int32 arrays with the unsigned type
    (option_definition.cc optionFactory), so they print as uint16/uint32."""

    def __init__(self, code: int, type_name: str, values: list[int]):
        super().__init__(code)
        self.type_name, self.values = type_name, values

    def payload(self) -> bytes:
        fmt = _INT_FORMATS[self.type_name]
        return b"".join(struct.pack(fmt, v) for v in self.values)

    def length(self) -> int:
        return self.header + len(self.payload())

    def binary(self) -> bytes:
        return self.payload()

    def text(self, indent: int = 0) -> bytes:
        name = self.type_name.encode()
        return self.header_text(indent) + b":" + b"".join(b" %d(%s)" % (v, name)
                                                          for v in self.values)


class AddressListOption(KeaOption):
    """Option4AddrLst, or Option6AddrLst (a V6-universe option, 4-byte header) for an array of
    ipv6-address defined in a DHCPv4 space."""

    def __init__(self, code: int, addresses: list[bytes], v6: bool = False):
        super().__init__(code)
        self.addresses = addresses
        self.header = 4 if v6 else 2

    def payload(self) -> bytes:
        return b"".join(self.addresses)

    def length(self) -> int:
        return self.header + len(self.payload())

    def binary(self) -> bytes:
        return self.payload()

    def text(self, indent: int = 0) -> bytes:
        return self.header_text(indent) + b":" + b"".join(b" " + _ip_text(a)
                                                          for a in self.addresses)


class VendorOption(KeaOption):
    """OptionVendor (125, RFC 3925 §4): the first enterprise block only."""

    def __init__(self, vendor_id: int, subs: list[KeaOption]):
        super().__init__(OPT_VIVSO, b"", subs)
        self.vendor_id = vendor_id

    def length(self) -> int:
        return self.header + 5 + sum(s.length() for s in self.subs)

    def data_len(self) -> int:
        return (self.length() - self.header - 5) & 0xFF

    def payload(self) -> bytes:
        return struct.pack("!IB", self.vendor_id, self.data_len())

    def text(self, indent: int = 0) -> bytes:
        return (self.header_text(indent) + b": %d (uint32) %d (uint8)"
                % (self.vendor_id, self.data_len()) + self.subs_text(indent + 2))


class VendorClassOption(KeaOption):
    """OptionVendorClass (124, RFC 3925 §3). Kea 2.2 reads the enterprise id of the first block
    only and skips those of later blocks, so every data tuple belongs to the first vendor."""

    def __init__(self, vendor_id: int, tuples: list[bytes]):
        super().__init__(OPT_VIVCO)
        self.vendor_id, self.tuples = vendor_id, tuples

    def payload(self) -> bytes:
        vid = struct.pack("!I", self.vendor_id)
        return vid + b"".join((vid if i else b"") + bytes((len(d),)) + d
                              for i, d in enumerate(self.tuples))

    def length(self) -> int:
        return self.header + len(self.payload())

    def binary(self) -> bytes:
        return self.payload()

    def text(self, indent: int = 0) -> bytes:
        out = b" " * indent + b"type=%d, len=%d,  enterprise id=0x%x" % (
            self.code, self.length() - self.header, self.vendor_id)
        for i, d in enumerate(self.tuples):
            if i:
                out += b", enterprise id=0x%x" % self.vendor_id
            out += b", data-len%d=%d, vendor-class-data%d='%s'" % (i, len(d), i, d)
        return out


class TuplesOption(KeaOption):
    """OptionOpaqueDataTuples: an array of tuples (1-byte lengths in DHCPv4)."""

    def __init__(self, code: int, tuples: list[bytes]):
        super().__init__(code)
        self.tuples = tuples

    def payload(self) -> bytes:
        return b"".join(bytes((len(d),)) + d for d in self.tuples)

    def length(self) -> int:
        return self.header + len(self.payload())

    def binary(self) -> bytes:
        return self.payload()

    def text(self, indent: int = 0) -> bytes:
        out = b" " * indent + b"type=%d, len=%d" % (self.code, self.length() - self.header)
        for i, d in enumerate(self.tuples):
            out += b", data-len%d=%d, data%d='%s'" % (i, len(d), i, d)
        return out


class SlpScopeOption(KeaOption):
    """Option4SlpServiceScope (79, RFC 2610): mandatory flag and scope list."""

    def __init__(self, mandatory: bool, scopes: bytes):
        super().__init__(OPT_SLP_SCOPE)
        self.mandatory, self.scopes = mandatory, scopes

    def payload(self) -> bytes:
        return bytes((int(self.mandatory),)) + self.scopes

    def length(self) -> int:
        return self.header + len(self.payload())

    def binary(self) -> bytes:
        return self.payload()

    def text(self, indent: int = 0) -> bytes:
        return (self.header_text(indent) + b": mandatory:%d, scope-list:\"" % self.mandatory
                + self.scopes + b'"')


FLAG_S, FLAG_O, FLAG_E, FLAG_N = 0x01, 0x02, 0x04, 0x08       # RFC 4702 §2.1


class ClientFqdnOption(KeaOption):
    """Option4ClientFqdn (81, RFC 4702): flags, two rcodes and the name, lower-cased."""

    def __init__(self, raw: bytes, flags: int, rcode1: int, rcode2: int, name: bytes | None,
                 partial: bool):
        super().__init__(OPT_FQDN, raw)
        self.flags, self.rcodes, self.name, self.partial = flags, (rcode1, rcode2), name, partial

    def domain_name(self) -> bytes:
        if self.name is None:
            return b""
        return kea_names.to_text(self.name, omit_final_dot=self.partial)

    def payload(self) -> bytes:
        head = bytes((self.flags, *self.rcodes))
        if self.name is None:
            return head
        if self.flags & FLAG_E:
            return head + (self.name[:-1] if self.partial else self.name)
        return head + self.domain_name()

    def length(self) -> int:
        return self.header + len(self.payload())

    def binary(self) -> bytes:
        return self.payload()

    def text(self, indent: int = 0) -> bytes:
        bits = b", ".join(b"%s=%d" % (k, 1 if self.flags & f else 0)
                          for k, f in ((b"N", FLAG_N), (b"E", FLAG_E), (b"O", FLAG_O),
                                       (b"S", FLAG_S)))
        # Reading: with no name Kea leaves domain_name_type_ uninitialised; zeroed memory
        # reads as PARTIAL.
        kind = b"partial" if self.partial or self.name is None else b"full"
        return (b" " * indent + b"type=%d (CLIENT_FQDN), flags: (%s), domain-name='%s' (%s)"
                % (self.code, bits, self.domain_name(), kind))


# --- OptionCustom ---------------------------------------------------------------------------------

_FIXED_SIZES = {"boolean": 1, "int8": 1, "uint8": 1, "int16": 2, "uint16": 2, "int32": 4,
                "uint32": 4, IP4: 4, IP6: 16, "psid": 3}


def _read_fqdn_text(buf: bytes) -> bytes:
    """OptionDataTypeUtil::readFqdn: the first name of ``buf`` as text, trailing dot kept."""
    if not buf:
        raise KeaError("unable to read FQDN from a buffer. The buffer is empty.")
    try:
        ndata, _ = kea_names.read_wire(buf)
    except kea_names.BadName as exc:
        raise KeaError(str(exc)) from None
    return kea_names.to_text(ndata)


def _read_tuple(buf: bytes) -> bytes:
    if not buf or len(buf) < 1 + buf[0]:
        raise KeaError("unable to read data from the buffer as tuple")
    return buf[1:1 + buf[0]]


class CustomOption(KeaOption):
    """OptionCustom: the data cut into one buffer per field of the definition (records,
    single values and arrays without a dedicated class); what follows the fields is either
    sub-options (when the definition encapsulates a space) or silently dropped."""

    def __init__(self, definition: OptionDef, code: int, raw: bytes, buffers: list[bytes],
                 subs: list[KeaOption]):
        super().__init__(code, raw, subs)
        self.definition, self.buffers = definition, buffers

    def payload(self) -> bytes:
        return b"".join(self.buffers)

    def field_types(self) -> list[str]:
        d = self.definition
        if d.type != "record":
            return [d.type] * len(self.buffers)
        return list(d.fields) + [d.fields[-1]] * (len(self.buffers) - len(d.fields))

    def text(self, indent: int = 0) -> bytes:
        fields = b"".join(b" " + _field_text(kind, buf)
                          for kind, buf in zip(self.field_types(), self.buffers))
        return self.header_text(indent) + b":" + fields + self.subs_text(indent + 2)


def _field_text(kind: str, buf: bytes) -> bytes:
    """OptionCustom::dataFieldToText: the value, then its type in parentheses."""
    if kind == "binary":
        value = buf.hex().upper().encode()              # util::encode::encodeHex
    elif kind == "boolean":
        if not buf or buf[0] > 1:
            raise KeaError("unable to read the buffer as boolean value")
        value = b"true" if buf[0] else b"false"
    elif kind in _INT_FORMATS:
        value = b"%d" % struct.unpack(_INT_FORMATS[kind], buf)[0]
    elif kind in (IP4, IP6):
        if len(buf) not in (4, 16):
            raise KeaError("unable to read data from the buffer as IP address")
        value = _ip_text(buf)
    elif kind == "fqdn":
        value = b'"' + _read_fqdn_text(buf) + b'"'
    elif kind == "tuple":
        value = b'"' + _read_tuple(buf) + b'"'
    elif kind == "string":
        trimmed = buf.rstrip(b"\x00")
        if buf and not trimmed:
            raise KeaError("string value carried by the option contained only NULLs")
        value = b'"' + trimmed + b'"'
    elif kind == "psid":
        length, psid = buf[0], int.from_bytes(buf[1:3], "big")
        if length > 16 or psid & ((1 << (16 - length)) - 1 if length < 16 else 0):
            raise KeaError(f"invalid PSID value {psid} for a specified PSID length {length}")
        value = b"len=%d,psid=%d" % (length, psid >> (16 - length) if length else 0)
    else:                                   # ipv6-prefix and the rest print nothing
        value = b""
    return value + b" (" + kind.encode() + b")"


def _buffer_length(kind: str, in_array: bool, is_array_def: bool, rest: bytes) -> int:
    """OptionCustom::bufferLength: the size of the next field."""
    size = _FIXED_SIZES.get(kind, 0)
    if size:
        return size
    if kind == "fqdn":
        # Kea sizes the field from the *text* of the name plus one: right only when nothing
        # in it needs escaping (the root "." counts 2 for its 1 byte).
        return len(_read_fqdn_text(rest)) + 1
    if kind in ("binary", "string") and not is_array_def:
        return len(rest)
    if kind == "ipv6-prefix":
        if not rest and not in_array:
            return 0
        if not rest or rest[0] > 128 or len(rest) < 1 + (rest[0] + 7) // 8:
            raise KeaError("unable to read prefix")
        return 1 + (rest[0] + 7) // 8
    if kind == "tuple":
        return 1 + len(_read_tuple(rest))
    raise KeaError("option buffer truncated")


def _custom(definition: OptionDef, code: int, data: bytes, defs: Definitions,
            lenient: bool) -> CustomOption:
    """OptionCustom::createBuffers(data) (option_custom.cc)."""
    buffers: list[bytes] = []
    subs: list[KeaOption] = []
    pos, kind, array = 0, definition.type, definition.array

    def rest() -> bytes:
        return data[pos:]

    def take_array(field: str) -> None:
        nonlocal pos
        while pos < len(data):
            size = _buffer_length(field, True, array, rest())
            if size == 0:
                raise KeaError("zero-length array element")
            if len(data) - pos < size:
                break                                   # a partial last element is dropped
            buffers.append(data[pos:pos + size])
            pos += size

    def tail_suboptions() -> None:
        if pos < len(data) and definition.encapsulate:
            unpack_options(data[pos:], definition.encapsulate, defs, subs,
                           check=code == OPT_VENDOR_ENCAPSULATED, lenient=lenient)

    if kind == "record":
        for field in definition.fields:
            size = _buffer_length(field, False, array, rest())
            if len(data) - pos < size:
                raise KeaError("option buffer truncated")
            buffers.append(data[pos:pos + size])
            pos += size
        if array:
            take_array(definition.fields[-1])
        else:
            tail_suboptions()
    elif kind != "empty":
        if len(data) - pos < _FIXED_SIZES.get(kind, 0):
            raise KeaError("option buffer truncated")
        if array:
            take_array(kind)
        else:
            size = _buffer_length(kind, False, array, rest())
            if size == 0 or len(data) - pos < size:
                raise KeaError("option buffer truncated")
            buffers.append(data[pos:pos + size])
            pos += size
            tail_suboptions()
    else:
        tail_suboptions()
    return CustomOption(definition, code, data, buffers, subs)


# --- factories ------------------------------------------------------------------------------------

def _tuples(data: bytes, lenient: bool) -> list[bytes]:
    """OpaqueDataTuple::unpack in a loop (1-byte lengths); lenient-option-parsing takes a
    tuple that runs past the end as what is left (opaque_data_tuple.cc:133)."""
    out, pos = [], 0
    while pos < len(data):
        n = data[pos]
        if len(data) - pos - 1 < n:
            if not lenient:
                raise KeaError("unable to parse the opaque data tuple")
            n = len(data) - pos - 1
        out.append(data[pos + 1:pos + 1 + n])
        pos += 1 + n
    return out


def _vendor(data: bytes, defs: Definitions, lenient: bool) -> VendorOption:
    """OptionVendor::unpack + LibDHCP::unpackVendorOptions4 (libdhcp++.cc:782)."""
    if len(data) < 4:
        raise SkipRemainingOptions(f"Truncated vendor-specific information option, "
                                   f"length={len(data)}")
    vendor_id = int.from_bytes(data[:4], "big")
    buf, subs = data[4:], []
    table = _KEA22_VENDOR.get(vendor_id, {})
    if buf:
        data_len, offset = buf[0], 1
        if offset + data_len > len(buf):
            raise SkipRemainingOptions("Attempt to parse truncated vendor option")
        # Kea keeps the end offset in a uint8_t (1 + data_len wraps at 255); unreachable from
        # the wire, where one instance holds at most 250 bytes of block.
        end = (offset + data_len) & 0xFF
        while offset < end:
            code = buf[offset]
            offset += 1
            if offset + 1 > end:
                raise SkipRemainingOptions(f"Attempt to parse truncated vendor option {code}")
            n = buf[offset]
            offset += 1
            if offset + n > end:
                raise SkipRemainingOptions("Option parse failed.")
            definition = table.get(code)
            value = buf[offset:offset + n]
            opt = (_build(definition, code, value, f"vendor-{vendor_id}", defs, lenient)
                   if definition else KeaOption(code, value))
            _insert_sorted(subs, opt)
            offset += n
    return VendorOption(vendor_id, subs)


def _vendor_class(data: bytes, lenient: bool) -> VendorClassOption:
    """OptionVendorClass::unpack (option_vendor_class.cc)."""
    if len(data) < 4:
        raise KeaError(f"parsed Vendor Class option data truncated to size {len(data)}")
    vendor_id, rest, tuples, pos = int.from_bytes(data[:4], "big"), data[4:], [], 0
    while pos < len(rest):
        n = rest[pos]
        if len(rest) - pos - 1 < n:
            if not lenient:
                raise KeaError("unable to parse the opaque data tuple")
            n = len(rest) - pos - 1
        tuples.append(rest[pos + 1:pos + 1 + n])
        pos += 1 + n
        if pos != len(rest):
            pos += 4                                  # the next block's enterprise id, unread
            if pos + 1 >= len(rest):
                raise KeaError("truncated DHCPv4 V-I Vendor Class option")
    return VendorClassOption(vendor_id, tuples)


def _client_fqdn(data: bytes) -> ClientFqdnOption:
    """Option4ClientFqdn(first, last) (option4_client_fqdn.cc parseWireData)."""
    if len(data) < 3:
        raise KeaError("DHCPv4 Client FQDN Option (81) is truncated")
    flags, rcode1, rcode2, rest = data[0], data[1], data[2], data[3:]
    name, partial = None, False
    try:
        if rest and flags & FLAG_E:
            partial = rest[-1] != 0
            name, _ = kea_names.read_wire(rest + b"\x00" if partial else rest, downcase=True)
        elif rest:
            name = kea_names.from_text(rest, downcase=True)
            partial = not rest.endswith(b".")
    except kea_names.BadName as exc:
        raise KeaError(f"failed to parse the domain-name in DHCPv4 Client FQDN Option: {exc}"
                       ) from None
    if flags & (FLAG_N | FLAG_S) == FLAG_N | FLAG_S:
        raise KeaError("both N and S flag of the DHCPv4 Client FQDN Option are set.")
    return ClientFqdnOption(data, flags, rcode1, rcode2, name, partial)


def _fqdn_list(definition: OptionDef, code: int, data: bytes, defs: Definitions,
               lenient: bool) -> CustomOption:
    """OptionDefinition::factoryFqdnList: the names decompressed (RFC 1035 §4.1.4 pointers
    within the option), then cut as an fqdn array."""
    if not data:
        raise KeaError("FQDN list option has invalid length of 0")
    out, pos = bytearray(), 0
    while pos < len(data):
        try:
            ndata, pos = kea_names.read_wire(data, pos)
        except kea_names.BadName as exc:
            raise KeaError(str(exc)) from None
        out += ndata
    return _custom(definition, code, bytes(out), defs, lenient)


def _build(definition: OptionDef, code: int, data: bytes, space: str, defs: Definitions,
           lenient: bool) -> KeaOption:
    """OptionDefinition::optionFactory: the class Kea 2.2 picks for this definition."""
    try:
        kind, array = definition.type, definition.array
        if space == DHCP4 and code in (OPT_SLP_SCOPE, OPT_FQDN, OPT_VIVCO, OPT_VIVSO):
            if code == OPT_SLP_SCOPE:
                if not data:
                    raise KeaError("SLP Service Scope option (79) truncated")
                if data[0] > 1:
                    raise KeaError("unable to read the buffer as boolean value")
                return SlpScopeOption(bool(data[0]), data[1:])
            if code == OPT_FQDN:
                return _client_fqdn(data)
            if code == OPT_VIVCO:
                return _vendor_class(data, lenient)
            return _vendor(data, defs, lenient)
        if kind == "fqdn" and array:
            return _fqdn_list(definition, code, data, defs, lenient)
        if kind == "empty":
            if not definition.encapsulate:
                return KeaOption(code)              # factoryEmpty: the data is dropped
            return _custom(definition, code, data, defs, lenient)
        if kind in ("binary", "internal"):
            return KeaOption(code, data)            # factoryGeneric: no sub-options parsed
        if kind in _INT_FORMATS:
            size = _FIXED_SIZES[kind]
            if array:
                if not data or len(data) % size:
                    raise KeaError(f"OptionIntArray {code} empty or truncated")
                if kind in ("int16", "int32"):
                    kind = "u" + kind               # factoryIntegerArray<uint16_t/uint32_t>
                fmt = _INT_FORMATS[kind]
                return IntArrayOption(code, kind, [struct.unpack_from(fmt, data, i)[0]
                                                   for i in range(0, len(data), size)])
            if len(data) < size:
                raise KeaError(f"OptionInt {code} truncated")
            subs: list[KeaOption] = []
            unpack_options(data[size:], definition.encapsulate, defs, subs,
                           check=code == OPT_VENDOR_ENCAPSULATED, lenient=lenient)
            return IntOption(code, kind, struct.unpack_from(_INT_FORMATS[kind], data)[0], subs)
        if kind in (IP4, IP6) and array:
            size = 4 if kind == IP4 else 16
            if len(data) % size:
                raise KeaError(f"Option {code} has invalid length={len(data)}")
            return AddressListOption(code, [data[i:i + size] for i in range(0, len(data), size)],
                                     v6=kind == IP6)
        if kind == "string":
            value = data.rstrip(b"\x00")
            if not value:
                raise SkipThisOption(f"failed to parse an option '{code}' holding string value "
                                     "was empty or contained only nuls")
            return StringOption(code, value)
        if kind == "tuple" and array:
            if len(data) < 2:
                raise KeaError(f"parsed data tuples option data truncated to size {len(data)}")
            return TuplesOption(code, _tuples(data, lenient))
        return _custom(definition, code, data, defs, lenient)
    except (SkipThisOption, SkipRemainingOptions, InvalidOption):
        raise
    except (KeaError, struct.error) as exc:
        raise InvalidOption(str(exc)) from None


def _insert_sorted(options: list[KeaOption], opt: KeaOption) -> None:
    """OptionCollection is a multimap by code: equal codes keep their insertion order."""
    codes = [o.code for o in options]
    options.insert(bisect.bisect_right(codes, opt.code), opt)


def insert_option(code: int, value: bytes, space: str, defs: Definitions,
                  options: list[KeaOption], *, lenient: bool = False) -> None:
    """One TLV of unpackOptions4 (libdhcp++.cc:539-610): defer, build, insert."""
    definition = defs(space, code)
    if space == DHCP4 and (code == OPT_VENDOR_ENCAPSULATED or 224 <= code <= 254):
        definition = None       # shouldDeferOptionUnpack: unpacked after classification
    if definition is None:
        opt = KeaOption(code, value)
    else:
        try:
            opt = _build(definition, code, value, space, defs, lenient)
        except SkipThisOption:
            return
    _insert_sorted(options, opt)


def unpack_options(buf: bytes, space: str, defs: Definitions, options: list[KeaOption], *,
                   check: bool = False, lenient: bool = False) -> None:
    """LibDHCP::unpackOptions4 into ``options``. PAD and END are special in the dhcp4 space, or
    with ``check`` (a parent of code 43) when no definition claims them; a truncated option
    ends the scan silently; an empty host-name is skipped."""
    is_dhcp4 = space == DHCP4
    flex_pad = check and defs(space, 0) is None
    flex_end = check and defs(space, OPT_END) is None
    offset = 0
    while offset < len(buf):
        code = buf[offset]
        offset += 1
        if code == OPT_END and (is_dhcp4 or flex_end):
            return
        if code == 0 and (is_dhcp4 or flex_pad):
            continue
        if offset + 1 > len(buf):
            return
        n = buf[offset]
        offset += 1
        if offset + n > len(buf):
            return
        if is_dhcp4 and n == 0 and code == OPT_HOST_NAME:
            continue
        insert_option(code, buf[offset:offset + n], space, defs, options, lenient=lenient)
        offset += n


def fuse(options: list[KeaOption]) -> list[KeaOption]:
    """LibDHCP::fuseOptions4 (RFC 3396), recursively. Its final state: a code seen once keeps
    its object (with fused sub-options); a repeated code becomes one generic option holding the
    instances' ``getData()`` joined and all their sub-options, fused in turn."""
    out: list[KeaOption] = []
    for code in dict.fromkeys(o.code for o in options):
        group = [o for o in options if o.code == code]
        if len(group) == 1:
            group[0].subs = fuse(group[0].subs)
            out.append(group[0])
            continue
        subs: list[KeaOption] = []
        for o in group:
            for s in o.subs:
                _insert_sorted(subs, s)
        fused = KeaOption(code, b"".join(o.get_data() for o in group), fuse(subs))
        fused.header = group[0].header          # the fused option keeps the universe
        out.append(fused)
    return out
