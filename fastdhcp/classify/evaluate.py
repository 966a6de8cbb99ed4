"""The reference evaluator: Kea 2.2's result for a parsed expression and a received packet.

``evaluate(tree, view, classes)`` gives the value Kea's stack machine leaves (a byte string;
``b"true"``/``b"false"`` for a boolean) or raises ``EvalError`` where Kea throws;
``matches(tree, view, classes)`` is the class test as Kea's server runs it: an exception means
"not in the class" (dhcp4_srv.cc Dhcpv4Exchange::evaluateClasses logs it and moves on).

Semantics follow src/lib/eval/token.cc (line numbers are Kea-2.2.0's):

* Every operand is evaluated, ``and``/``or``/``ifelse`` included (token.cc:887, 977, 1004): no
  short circuit in 2.2 (Kea 2.7.2 added it to ``and``, ``or`` and ``ifelse`` and kept the old
  ones as ``sand``/``sor``/``sifelse``). The two only disagree when 2.2 throws: ``true or X``
  and ``not (false and X)`` where X fails (say ``addrtotext`` of 3 bytes) are an error, so no
  match, in 2.2 but true in 2.7.2; ``false and X`` is no match in both.
* A missing option is ``''`` (``'false'`` for ``.exists``); so is a missing sub-option or data
  tuple, a vendor option of another enterprise, ``substring`` out of range, ``split`` field out
  of range, and ``addrtotext``/``intNtotext`` of ``''``.
* ``.hex``/``.text`` are Kea's toBinary()/toString() of the unpacked option (see
  ``kea_options``): ``.text`` is the debug text for anything but a string option.
* ``member()`` reads the classes the packet already has: pass those joined so far (Kea adds
  ``ALL`` first, then ``VENDOR_CLASS_<60>``, then each matching class in config order).
"""

from __future__ import annotations

import socket
import struct
from collections.abc import Callable, Collection, Iterable

from ..packet import Packet
from . import tree as t
from .kea_options import (DHCP4, Definitions, IntOption, InvalidOption, KeaError, KeaOption,
                          SkipRemainingOptions, VendorClassOption, VendorOption, fuse,
                          insert_option, kea22_definition, unpack_options)
from .tree import Pkt4FieldName as F
from .tree import PktField, Representation

__all__ = ["EvalError", "EvalTypeError", "PacketDropped", "PacketView", "evaluate", "matches"]

TRUE, FALSE = b"true", b"false"
OPT_MSG_TYPE, OPT_AGENT, OPT_VIVCO, OPT_VIVSO = 53, 82, 124, 125
HEADER_LEN = 236           # Pkt4::DHCPV4_PKT_HDR_LEN: the BOOTP header without the cookie
MAX_HWADDR_LEN = 20        # HWAddr::MAX_HWADDR_LEN
CHADDR_LEN = 16            # RFC 2131 §2
_COOKIE = b"\x63\x82\x53\x63"
_INT32 = (-(1 << 31), (1 << 31) - 1)


class EvalError(Exception):
    """Kea throws while evaluating: the packet does not join the class."""


class EvalTypeError(EvalError):
    """Kea's EvalTypeError: an operand of the wrong shape (e.g. addrtotext of 5 bytes)."""


class PacketDropped(EvalError):
    """Kea 2.2 would have dropped this packet while unpacking it, before classification."""


def _address(value: str | bytes) -> bytes:
    if isinstance(value, bytes):
        return value
    for family in (socket.AF_INET, socket.AF_INET6):
        try:
            return socket.inet_pton(family, value)
        except OSError:
            pass
    raise ValueError(f"not an IP address: {value!r}")


class PacketView:
    """A received DHCPv4 packet as Kea 2.2's tokens see it.

    ``options`` are the option instances in wire order, ``(code, value)``; each is unpacked as
    Kea does (typed by ``definitions``: ``(space, code) -> OptionDef | None``, Kea 2.2's
    built-in table by default; pass one that adds the configuration's option-def entries) and
    repeated codes are then fused. A value over 255 bytes is taken as consecutive 255-byte
    instances, as it must have arrived (RFC 3396 §7). Receive metadata: ``iface`` (name),
    ``src`` (remote address), ``dst`` (local address).

    ``drop_reason`` is set when Kea 2.2 would have dropped the packet while unpacking it (an
    option that does not fit its definition, hlen over 20...); evaluating then raises
    ``PacketDropped``. ``skipped_reason`` is set when Kea stopped unpacking at a truncated
    vendor option (125) and carried on with the options before it, unfused.
    """

    def __init__(self, *, hwaddr: bytes = b"", htype: int = 1, xid: int = 0,
                 ciaddr: str | bytes = "0.0.0.0", yiaddr: str | bytes = "0.0.0.0",
                 siaddr: str | bytes = "0.0.0.0", giaddr: str | bytes = "0.0.0.0",
                 options: Iterable[tuple[int, bytes]] = (), iface: str = "",
                 src: str | bytes = "0.0.0.0", dst: str | bytes = "0.0.0.0",
                 definitions: Definitions = kea22_definition,
                 lenient_option_parsing: bool = False, _options_field: bytes | None = None,
                 _drop_reason: str | None = None):
        self.hwaddr, self.htype, self.xid = bytes(hwaddr), htype, xid
        self.ciaddr, self.yiaddr = _address(ciaddr), _address(yiaddr)
        self.siaddr, self.giaddr = _address(siaddr), _address(giaddr)
        self.iface, self.src, self.dst = iface, _address(src), _address(dst)
        self.definitions = definitions
        self.drop_reason: str | None = _drop_reason
        self.skipped_reason: str | None = None
        self.options: list[KeaOption] = []
        if _drop_reason is None:
            self._unpack(options, _options_field, lenient_option_parsing)

    def _unpack(self, instances: Iterable[tuple[int, bytes]], field: bytes | None,
                lenient: bool) -> None:
        """Pkt4::unpack (pkt4.cc:148): options, then fuseOptions4 unless unpacking stopped."""
        found: list[KeaOption] = []
        try:
            if field is not None:
                unpack_options(field, DHCP4, self.definitions, found, lenient=lenient)
            else:
                for code, value in instances:
                    value = bytes(value)
                    pieces = [value[i:i + 255] for i in range(0, len(value), 255)] or [b""]
                    for piece in pieces:
                        if code == 12 and not piece:
                            continue        # libdhcp++.cc:535: an empty host-name is dropped
                        insert_option(code, piece, DHCP4, self.definitions, found,
                                      lenient=lenient)
        except SkipRemainingOptions as exc:
            self.skipped_reason = str(exc)
            self.options = found
            return
        except InvalidOption as exc:
            self.drop_reason = str(exc)
            return
        self.options = fuse(found)

    @classmethod
    def from_packet(cls, packet: Packet, *, iface: str = "", src: str = "0.0.0.0",
                    dst: str = "0.0.0.0", **kwargs) -> PacketView:
        """From a decoded ``Packet``. Its options are already joined (RFC 3396) and include
        any from an overloaded sname/file, which Kea 2.2 never reads; a code sent twice in short
        pieces looks like one instance here, where Kea fuses it into a generic option. Use
        ``from_datagram`` where those cases matter."""
        return cls(hwaddr=packet.chaddr, htype=packet.htype, xid=packet.xid,
                   ciaddr=packet.ciaddr, yiaddr=packet.yiaddr, siaddr=packet.siaddr,
                   giaddr=packet.giaddr, options=packet.options, iface=iface, src=src, dst=dst,
                   **kwargs)

    @classmethod
    def from_datagram(cls, data: bytes, *, iface: str = "", src: str = "0.0.0.0",
                      dst: str = "0.0.0.0", **kwargs) -> PacketView:
        """From the raw datagram, exactly as Pkt4::unpack reads it: the options field only,
        each TLV an instance, chaddr cut or zero-padded to hlen."""
        data = bytes(data)
        common = dict(iface=iface, src=src, dst=dst, **kwargs)
        if len(data) < HEADER_LEN:
            return cls(_drop_reason=f"Received truncated DHCPv4 packet (len={len(data)})",
                       **common)
        (htype, hlen, xid, ciaddr, yiaddr, siaddr, giaddr,
         chaddr) = struct.unpack_from("!xBBxI4x4s4s4s4s16s", data)
        hwaddr = chaddr[:hlen] + bytes(max(0, hlen - CHADDR_LEN))
        header = dict(hwaddr=hwaddr[:MAX_HWADDR_LEN], htype=htype, xid=xid, ciaddr=ciaddr,
                      yiaddr=yiaddr, siaddr=siaddr, giaddr=giaddr, **common)
        if hlen > MAX_HWADDR_LEN:
            reason = "address vector size exceeds MAX_HWADDR_LEN"
        elif len(data) == HEADER_LEN:
            reason = "Received BOOTP packet without vendor information extensions."
        elif len(data) < HEADER_LEN + 4:
            reason = "Truncated or no DHCP packet."
        elif data[HEADER_LEN:HEADER_LEN + 4] != _COOKIE:
            reason = "Invalid or missing DHCP magic cookie"
        else:
            return cls(_options_field=data[HEADER_LEN + 4:], **header)
        return cls(_drop_reason=reason, **header)

    def option(self, code: int) -> KeaOption | None:
        """Pkt::getOption: the first option with ``code``."""
        for opt in self.options:
            if opt.code == code:
                return opt
        return None

    def length(self) -> int:
        """Pkt4::len(): 236 plus the length of every option as Kea would re-pack it (no cookie,
        no END, no padding), not the size of the datagram received."""
        return HEADER_LEN + sum(o.length() for o in self.options)

    def message_type(self) -> int:
        """Pkt4::getType: option 53, 0 without it."""
        opt = self.option(OPT_MSG_TYPE)
        if opt is None:
            return 0
        if isinstance(opt, IntOption) and opt.type_name == "uint8":
            return opt.value
        if not opt.data:        # Option::getUint8 on an empty option (e.g. a fused 53)
            raise EvalError(f"Attempt to read uint8 from option {OPT_MSG_TYPE} that has size 0")
        return opt.data[0]


# --- evaluation -----------------------------------------------------------------------------------

def _u32(n: int) -> bytes:
    return struct.pack("!I", n & 0xFFFFFFFF)


def _to_bool(value: bytes) -> bool:
    """Token::toBool (token.h:90)."""
    if value == TRUE:
        return True
    if value == FALSE:
        return False
    raise EvalTypeError(f'Incorrect boolean. Expected exactly "false" or "true", got '
                        f'"{value.decode("latin-1")}"')


def _int32(n: int, what: str) -> int:
    """boost::lexical_cast<int> of the literal Kea kept as text."""
    if not _INT32[0] <= n <= _INT32[1]:
        raise EvalTypeError(f"the parameter '{n}' for {what} couldn't be converted to an "
                            "integer.")
    return n


def _render(opt: KeaOption | None, rep: Representation | None) -> bytes:
    """TokenOption::evaluate (token.cc:333); ``rep`` None is ``.exists``."""
    if rep is None:
        return FALSE if opt is None else TRUE
    if opt is None:
        return b""
    try:
        return opt.to_string() if rep is Representation.TEXT else opt.binary()
    except KeaError as exc:
        raise EvalError(f"option {opt.code}: {exc}") from None


class _Evaluator:
    def __init__(self, view: PacketView, classes: Collection[str]):
        self.view, self.classes = view, classes

    def __call__(self, node: t.Node) -> bytes:
        return _HANDLERS[type(node)](self, node)

    # options
    def option(self, n: t.Option) -> bytes:
        return _render(self.view.option(n.code), n.representation)

    def option_exists(self, n: t.OptionExists) -> bytes:
        return _render(self.view.option(n.code), None)

    def _sub(self, code: int, sub_code: int) -> KeaOption | None:
        parent = self.view.option(code)
        return None if parent is None else parent.find(sub_code)

    def sub_option(self, n: t.SubOption) -> bytes:
        return _render(self._sub(n.code, n.sub_code), n.representation)

    def sub_option_exists(self, n: t.SubOptionExists) -> bytes:
        return _render(self._sub(n.code, n.sub_code), None)

    def relay4(self, n: t.Relay4Option) -> bytes:
        return _render(self._sub(OPT_AGENT, n.sub_code), n.representation)

    def relay4_exists(self, n: t.Relay4OptionExists) -> bytes:
        return _render(self._sub(OPT_AGENT, n.sub_code), None)

    # vendor options: TokenVendor::evaluate (token.cc:1066), TokenVendorClass (1171)
    def _vendor(self, cls: type, code: int, enterprise: int) -> KeaOption | None:
        opt = self.view.option(code)
        if not isinstance(opt, cls):            # absent, or fused into a generic option
            return None
        if enterprise and enterprise != opt.vendor_id:
            return None
        return opt

    def vendor_exists(self, n: t.VendorExists) -> bytes:
        return TRUE if self._vendor(VendorOption, OPT_VIVSO, n.enterprise) else FALSE

    def vendor_enterprise(self, n: t.VendorEnterprise) -> bytes:
        opt = self._vendor(VendorOption, OPT_VIVSO, 0)
        return b"" if opt is None else _u32(opt.vendor_id)

    def vendor_option(self, n: t.VendorOption) -> bytes:
        if self._vendor(VendorOption, OPT_VIVSO, n.enterprise) is None:
            return b""
        return _render(self._sub(OPT_VIVSO, n.sub_code), n.representation)

    def vendor_option_exists(self, n: t.VendorOptionExists) -> bytes:
        if self._vendor(VendorOption, OPT_VIVSO, n.enterprise) is None:
            return FALSE
        return _render(self._sub(OPT_VIVSO, n.sub_code), None)

    def vendor_class_exists(self, n: t.VendorClassExists) -> bytes:
        return TRUE if self._vendor(VendorClassOption, OPT_VIVCO, n.enterprise) else FALSE

    def vendor_class_enterprise(self, n: t.VendorClassEnterprise) -> bytes:
        opt = self._vendor(VendorClassOption, OPT_VIVCO, 0)
        return b"" if opt is None else _u32(opt.vendor_id)

    def vendor_class_data(self, n: t.VendorClassData) -> bytes:
        opt = self._vendor(VendorClassOption, OPT_VIVCO, n.enterprise)
        if opt is None or n.index >= len(opt.tuples):
            return b""
        return opt.tuples[n.index]

    # packet
    def pkt(self, n: t.PktMetadata) -> bytes:
        v = self.view
        if n.field is PktField.IFACE:
            return v.iface.encode()
        if n.field is PktField.SRC:
            return v.src
        if n.field is PktField.DST:
            return v.dst
        return _u32(v.length())

    def pkt4(self, n: t.Pkt4Field) -> bytes:
        v, f = self.view, n.field
        if f is F.MAC:
            return v.hwaddr
        if f is F.HLEN:
            return _u32(min(len(v.hwaddr), CHADDR_LEN))       # Pkt4::getHlen
        if f is F.HTYPE:
            return _u32(v.htype)
        if f is F.MSGTYPE:
            return _u32(v.message_type())
        if f is F.TRANSID:
            return _u32(v.xid)
        return {F.CIADDR: v.ciaddr, F.GIADDR: v.giaddr, F.YIADDR: v.yiaddr,
                F.SIADDR: v.siaddr}[f]

    # functions
    def substring(self, n: t.Substring) -> bytes:
        """TokenSubstring::evaluate (token.cc:688)."""
        s = self(n.operand)
        if not s:
            return b""
        start = _int32(n.start, "the starting position of the substring")
        length = len(s) if n.length is None else _int32(n.length, "the length of the substring")
        size = len(s)
        if start < -size or start >= size:
            return b""
        if start < 0:
            start += size
        if length < 0:
            length = -length
            if length <= start:
                start -= length
            else:
                length, start = start, 0
        return s[start:start + length]

    def split(self, n: t.Split) -> bytes:
        """TokenSplit::evaluate (token.cc:783): boost::split on any delimiter, empty fields
        kept; 1-based field."""
        s, delims = self(n.operand), self(n.delimiters)
        if not s:
            return b""
        field = _int32(n.field, "the field field for split")
        if not delims:
            return s
        fields, current = [], bytearray()
        for c in s:
            if c in delims:
                fields.append(bytes(current))
                current.clear()
            else:
                current.append(c)
        fields.append(bytes(current))
        return fields[field - 1] if 1 <= field <= len(fields) else b""

    def concat(self, n: t.Concat) -> bytes:
        return self(n.left) + self(n.right)

    def if_else(self, n: t.IfElse) -> bytes:
        cond, if_true, if_false = self(n.condition), self(n.if_true), self(n.if_false)
        return if_true if _to_bool(cond) else if_false

    def to_hex_string(self, n: t.ToHexString) -> bytes:
        binary, sep = self(n.operand), self(n.separator)
        return sep.join(b"%02x" % c for c in binary)

    def address_to_text(self, n: t.AddressToText) -> bytes:
        """TokenIpAddressToText (token.cc:112)."""
        raw = self(n.operand)
        if not raw:
            return b""
        if len(raw) not in (4, 16):
            raise EvalTypeError("Can not convert to valid address.")
        family = socket.AF_INET if len(raw) == 4 else socket.AF_INET6
        return socket.inet_ntop(family, raw).encode()

    def integer_to_text(self, n: t.IntegerToText) -> bytes:
        """TokenInt8ToText .. TokenUInt32ToText (token.cc:146-325): network byte order."""
        raw = self(n.operand)
        if not raw:
            return b""
        if len(raw) != n.bits // 8:
            raise EvalTypeError(f"Can not convert to valid {'' if n.signed else 'u'}int{n.bits}.")
        return b"%d" % int.from_bytes(raw, "big", signed=n.signed)

    def lower_case(self, n: t.LowerCase) -> bytes:
        return self(n.operand).lower()          # bytes.lower: ASCII only, as the C locale

    def upper_case(self, n: t.UpperCase) -> bytes:
        return self(n.operand).upper()

    # logic
    def equal(self, n: t.Equal) -> bytes:
        return TRUE if self(n.left) == self(n.right) else FALSE

    def not_(self, n: t.Not) -> bytes:
        return FALSE if _to_bool(self(n.operand)) else TRUE

    def and_(self, n: t.And) -> bytes:
        left, right = self(n.left), self(n.right)        # both, always (token.cc:977)
        return TRUE if _to_bool(right) & _to_bool(left) else FALSE

    def or_(self, n: t.Or) -> bytes:
        left, right = self(n.left), self(n.right)        # both, always (token.cc:1004)
        return TRUE if _to_bool(right) | _to_bool(left) else FALSE

    def member(self, n: t.Member) -> bytes:
        return TRUE if n.name in self.classes else FALSE


def _literal(value: Callable[[t.Node], bytes]) -> Callable[[_Evaluator, t.Node], bytes]:
    return lambda _ev, node: value(node)


_E = _Evaluator
_HANDLERS: dict[type, Callable[[_Evaluator, t.Node], bytes]] = {
    t.String: _literal(lambda n: n.value),
    t.HexString: _literal(lambda n: n.value),
    t.IpAddress: _literal(lambda n: n.value),
    t.Integer: _literal(lambda n: _u32(n.value)),
    t.Option: _E.option, t.OptionExists: _E.option_exists, t.SubOption: _E.sub_option,
    t.SubOptionExists: _E.sub_option_exists, t.Relay4Option: _E.relay4,
    t.Relay4OptionExists: _E.relay4_exists, t.VendorExists: _E.vendor_exists,
    t.VendorEnterprise: _E.vendor_enterprise, t.VendorOption: _E.vendor_option,
    t.VendorOptionExists: _E.vendor_option_exists, t.VendorClassExists: _E.vendor_class_exists,
    t.VendorClassEnterprise: _E.vendor_class_enterprise,
    t.VendorClassData: _E.vendor_class_data, t.PktMetadata: _E.pkt, t.Pkt4Field: _E.pkt4,
    t.Substring: _E.substring, t.Split: _E.split, t.Concat: _E.concat, t.IfElse: _E.if_else,
    t.ToHexString: _E.to_hex_string, t.AddressToText: _E.address_to_text,
    t.IntegerToText: _E.integer_to_text, t.LowerCase: _E.lower_case,
    t.UpperCase: _E.upper_case, t.Equal: _E.equal, t.Not: _E.not_, t.And: _E.and_,
    t.Or: _E.or_, t.Member: _E.member,
}


def evaluate(tree: t.Node, view: PacketView, classes: Collection[str] = ()) -> bytes:
    """The value Kea 2.2 computes for ``tree`` on ``view``: bytes (``b"true"``/``b"false"``
    for a boolean). Raises ``EvalError`` where Kea throws, ``PacketDropped`` when Kea would
    not have unpacked the packet at all."""
    if view.drop_reason is not None:
        raise PacketDropped(view.drop_reason)
    return _Evaluator(view, classes)(tree)


def matches(tree: t.Node, view: PacketView, classes: Collection[str] = ()) -> bool:
    """Kea 2.2's class test (evaluate.cc evaluateBool): the value must be exactly 'true' or
    'false'; any evaluation error means no match."""
    try:
        return _to_bool(evaluate(tree, view, classes))
    except EvalError:
        return False
