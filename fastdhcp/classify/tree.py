"""The typed tree of a Kea 2.2 client-class expression (the ``test`` of a client class).

Every node is a frozen ``msgspec.Struct`` with the 1-based ``column`` of the token that starts it
in the source text (the operator for ``==``, ``and``, ``or`` and infix ``+``), and a class-level
``kind``: ``STRING`` (the node yields a byte string) or ``BOOL`` (it yields ``b"true"`` or
``b"false"``). Kea's grammar (``src/lib/eval/parser.yy``) is typed the same way, so a tree that
parsed never mixes them up: a ``BOOL`` child sits only where parser.yy has ``bool_expr``.

Kea evaluates the postfix form of this tree on a value stack; a compiler walks children in field
order (left to right) and then the node, which is that postfix order. Kea 2.2 evaluates every
child, ``and``/``or``/``ifelse`` included (no short circuit, token.cc:887, 977, 1004).

Node families (STRING unless marked BOOL):

==========================  ====================================================================
literals                    String, HexString, IpAddress, Integer (4 bytes, big-endian)
options                     Option, OptionExists (BOOL), SubOption, SubOptionExists (BOOL),
                            Relay4Option, Relay4OptionExists (BOOL)
vendor (125) / class (124)  VendorExists (BOOL), VendorEnterprise, VendorOption,
                            VendorOptionExists (BOOL), VendorClassExists (BOOL),
                            VendorClassEnterprise, VendorClassData
packet                      PktMetadata (pkt.*), Pkt4Field (pkt4.*)
functions                   Substring, Split, Concat, IfElse, ToHexString, AddressToText,
                            IntegerToText, LowerCase, UpperCase
logic (all BOOL)            Equal, Not, And, Or, Member
==========================  ====================================================================

An ``enterprise`` of 0 means "any vendor": Kea writes ``*`` as 0 (parser.yy ``enterprise_id``), so
``vendor[0].exists`` and ``vendor[*].exists`` are the same test.
"""

from __future__ import annotations

import enum
import socket
from collections.abc import Iterator
from typing import ClassVar

import msgspec

__all__ = [
    "BOOL", "LATER_THAN_2_2", "STRING", "AddressToText", "And", "Concat", "Equal", "HexString",
    "IfElse", "Integer", "IntegerToText", "IpAddress", "Kind", "LowerCase", "Member", "Node", "Not",
    "Option", "OptionExists", "Or", "Pkt4Field", "Pkt4FieldName", "PktField", "PktMetadata",
    "Relay4Option",
    "Relay4OptionExists", "Representation", "Split", "String", "SubOption", "SubOptionExists",
    "Substring", "ToHexString", "UpperCase", "VendorClassData", "VendorClassEnterprise",
    "VendorClassExists", "VendorEnterprise", "VendorExists", "VendorOption",
    "VendorOptionExists", "children", "referenced_classes", "unparse", "walk",
]


class Kind(enum.Enum):
    """What a node yields."""

    STRING = "string"
    BOOL = "bool"


STRING, BOOL = Kind.STRING, Kind.BOOL


class Representation(enum.Enum):
    """``.hex`` (the option's bytes, Kea's toBinary) or ``.text`` (Kea's toString)."""

    HEX = "hex"
    TEXT = "text"


class PktField(enum.Enum):
    """``pkt.<field>``: receive metadata (token.cc TokenPkt::evaluate)."""

    IFACE = "iface"
    SRC = "src"
    DST = "dst"
    LEN = "len"


class Pkt4FieldName(enum.Enum):
    """``pkt4.<field>``: BOOTP header fields (token.cc TokenPkt4::evaluate)."""

    MAC = "mac"
    HLEN = "hlen"
    HTYPE = "htype"
    CIADDR = "ciaddr"
    GIADDR = "giaddr"
    YIADDR = "yiaddr"
    SIADDR = "siaddr"
    MSGTYPE = "msgtype"
    TRANSID = "transid"


#: Accepted syntax that Kea 2.2 does not have, with the Kea version that introduced it.
LATER_THAN_2_2: dict[str, str] = {
    "lcase": "2.5.2",      # Kea #3048, TokenLowerCase
    "ucase": "2.5.2",      # Kea #3048, TokenUpperCase
}


class Node(msgspec.Struct, frozen=True, kw_only=True):
    """The base of every node: ``kind`` (class-level) and ``column`` (1-based, 0 if unknown)."""

    kind: ClassVar[Kind]
    column: int = 0


# --- literals -----------------------------------------------------------------------------------

class String(Node, frozen=True):
    """``'text'``: the bytes between the quotes, no escapes (lexer.ll: ``\\'[^\\'\\n]*\\'``)."""

    kind: ClassVar[Kind] = STRING
    value: bytes


class HexString(Node, frozen=True):
    """``0x...``: the digits as bytes, a leading 0 added to an odd count (token.cc:48)."""

    kind: ClassVar[Kind] = STRING
    value: bytes


class IpAddress(Node, frozen=True):
    """An IPv4 (4 bytes) or IPv6 (16 bytes) literal (token.cc:86)."""

    kind: ClassVar[Kind] = STRING
    value: bytes


class Integer(Node, frozen=True):
    """A decimal literal where a string is expected: 0..2**32-1, yields 4 bytes big-endian
    (token.cc:1263, EvalContext::fromUint32)."""

    kind: ClassVar[Kind] = STRING
    value: int


# --- options ------------------------------------------------------------------------------------

class Option(Node, frozen=True):
    """``option[code].hex|text``; '' when absent (token.cc:333)."""

    kind: ClassVar[Kind] = STRING
    code: int
    representation: Representation


class OptionExists(Node, frozen=True):
    """``option[code].exists``."""

    kind: ClassVar[Kind] = BOOL
    code: int


class SubOption(Node, frozen=True):
    """``option[code].option[sub_code].hex|text`` (token.cc:1276)."""

    kind: ClassVar[Kind] = STRING
    code: int
    sub_code: int
    representation: Representation


class SubOptionExists(Node, frozen=True):
    """``option[code].option[sub_code].exists``."""

    kind: ClassVar[Kind] = BOOL
    code: int
    sub_code: int


class Relay4Option(Node, frozen=True):
    """``relay4[sub_code].hex|text``: a sub-option of relay agent information 82 (token.cc:385)."""

    kind: ClassVar[Kind] = STRING
    sub_code: int
    representation: Representation


class Relay4OptionExists(Node, frozen=True):
    """``relay4[sub_code].exists``."""

    kind: ClassVar[Kind] = BOOL
    sub_code: int


# --- vendor options (RFC 3925: 125 vivso, 124 vivco) --------------------------------------------

class VendorExists(Node, frozen=True):
    """``vendor[enterprise].exists``; enterprise 0 is ``*`` (token.cc:1066)."""

    kind: ClassVar[Kind] = BOOL
    enterprise: int


class VendorEnterprise(Node, frozen=True):
    """``vendor.enterprise``: the enterprise id of option 125, 4 bytes; '' when absent."""

    kind: ClassVar[Kind] = STRING


class VendorOption(Node, frozen=True):
    """``vendor[enterprise].option[sub_code].hex|text``."""

    kind: ClassVar[Kind] = STRING
    enterprise: int
    sub_code: int
    representation: Representation


class VendorOptionExists(Node, frozen=True):
    """``vendor[enterprise].option[sub_code].exists``."""

    kind: ClassVar[Kind] = BOOL
    enterprise: int
    sub_code: int


class VendorClassExists(Node, frozen=True):
    """``vendor-class[enterprise].exists`` (token.cc:1171)."""

    kind: ClassVar[Kind] = BOOL
    enterprise: int


class VendorClassEnterprise(Node, frozen=True):
    """``vendor-class.enterprise``: the enterprise id of option 124, 4 bytes."""

    kind: ClassVar[Kind] = STRING


class VendorClassData(Node, frozen=True):
    """``vendor-class[enterprise].data`` (index 0) or ``.data[index]`` (0..255)."""

    kind: ClassVar[Kind] = STRING
    enterprise: int
    index: int = 0
    explicit_index: bool = False      # written as data[i]; only for unparse


# --- packet -------------------------------------------------------------------------------------

class PktMetadata(Node, frozen=True):
    """``pkt.iface|src|dst|len`` (token.cc:432)."""

    kind: ClassVar[Kind] = STRING
    field: PktField


class Pkt4Field(Node, frozen=True):
    """``pkt4.mac|hlen|htype|ciaddr|giaddr|yiaddr|siaddr|msgtype|transid`` (token.cc:483)."""

    kind: ClassVar[Kind] = STRING
    field: Pkt4FieldName


# --- functions (all STRING) ---------------------------------------------------------------------

class Substring(Node, frozen=True):
    """``substring(operand, start, length|all)``; ``length`` None is ``all``. Kea keeps start and
    length as text and converts them to a C ``int`` at each evaluation (token.cc:721), so values
    outside -2**31..2**31-1 parse but always fail to evaluate."""

    kind: ClassVar[Kind] = STRING
    operand: Node
    start: int
    length: int | None


class Split(Node, frozen=True):
    """``split(operand, delimiters, field)``: field is 1-based, also converted per evaluation."""

    kind: ClassVar[Kind] = STRING
    operand: Node
    delimiters: Node
    field: int


class Concat(Node, frozen=True):
    """``concat(left, right)`` or ``left + right`` (same token in Kea, parser.yy)."""

    kind: ClassVar[Kind] = STRING
    left: Node
    right: Node
    infix: bool = False               # written with '+'; only for unparse


class IfElse(Node, frozen=True):
    """``ifelse(condition, if_true, if_false)``; all three are evaluated (token.cc:887)."""

    kind: ClassVar[Kind] = STRING
    condition: Node
    if_true: Node
    if_false: Node


class ToHexString(Node, frozen=True):
    """``hexstring(operand, separator)``: lowercase hex pairs joined by separator."""

    kind: ClassVar[Kind] = STRING
    operand: Node
    separator: Node


class AddressToText(Node, frozen=True):
    """``addrtotext(operand)``: 4 or 16 bytes to text; '' stays ''."""

    kind: ClassVar[Kind] = STRING
    operand: Node


class IntegerToText(Node, frozen=True):
    """``int8totext`` .. ``uint32totext``: ``bits`` 8/16/32 bytes big-endian to decimal."""

    kind: ClassVar[Kind] = STRING
    operand: Node
    bits: int
    signed: bool


class LowerCase(Node, frozen=True):
    """``lcase(operand)``: ASCII A-Z to a-z (Kea 2.5.2, boost to_lower_copy in the C locale)."""

    kind: ClassVar[Kind] = STRING
    operand: Node


class UpperCase(Node, frozen=True):
    """``ucase(operand)``: ASCII a-z to A-Z (Kea 2.5.2)."""

    kind: ClassVar[Kind] = STRING
    operand: Node


# --- logic (all BOOL) ---------------------------------------------------------------------------

class Equal(Node, frozen=True):
    """``left == right``: byte-wise equality of two strings."""

    kind: ClassVar[Kind] = BOOL
    left: Node
    right: Node


class Not(Node, frozen=True):
    kind: ClassVar[Kind] = BOOL
    operand: Node


class And(Node, frozen=True):
    """Both sides are always evaluated in Kea 2.2 (short circuit came in 2.7.2)."""

    kind: ClassVar[Kind] = BOOL
    left: Node
    right: Node


class Or(Node, frozen=True):
    """Both sides are always evaluated in Kea 2.2 (short circuit came in 2.7.2)."""

    kind: ClassVar[Kind] = BOOL
    left: Node
    right: Node


class Member(Node, frozen=True):
    """``member('name')``: true when the packet already belongs to class ``name``."""

    kind: ClassVar[Kind] = BOOL
    name: str


# --- walking the tree ---------------------------------------------------------------------------

def children(node: Node) -> tuple[Node, ...]:
    """The sub-expressions of ``node`` in evaluation order."""
    return tuple(v for v in (getattr(node, f) for f in node.__struct_fields__)
                 if isinstance(v, Node))


def walk(node: Node) -> Iterator[Node]:
    """Every node, children before their parent: Kea's postfix token order."""
    for child in children(node):
        yield from walk(child)
    yield node


def referenced_classes(tree: Node) -> tuple[str, ...]:
    """The class names ``member()`` refers to, each once, in source order. The caller checks
    that each is defined before the class that uses it (Kea parses member() against the classes
    already defined, parser.yy ``MEMBER``), which also rules out cycles."""
    seen: dict[str, None] = {}
    for node in walk(tree):
        if isinstance(node, Member):
            seen.setdefault(node.name)
    return tuple(seen)


# --- back to text -------------------------------------------------------------------------------

def _quote(value: bytes) -> str:
    text = value.decode("utf-8", "surrogateescape")
    if "'" in text or "\n" in text:     # a Kea string literal cannot hold these: write hex
        return "0x" + value.hex()
    return f"'{text}'"


def _enterprise(n: int) -> str:
    return "*" if n == 0 else str(n)


def _int_to_text_name(node: IntegerToText) -> str:
    return f"{'' if node.signed else 'u'}int{node.bits}totext"


def unparse(node: Node) -> str:
    """Canonical source text of ``node``: parsing it gives a tree of the same value (columns
    aside; a string holding a quote comes back as a hex literal)."""
    u = unparse
    match node:
        case String(value=v):
            return _quote(v) if v else "''"
        case HexString(value=v):
            return "0x" + v.hex()
        case IpAddress(value=v):
            return socket.inet_ntop(socket.AF_INET if len(v) == 4 else socket.AF_INET6, v)
        case Integer(value=v):
            return str(v)
        case Option(code=c, representation=r):
            return f"option[{c}].{r.value}"
        case OptionExists(code=c):
            return f"option[{c}].exists"
        case SubOption(code=c, sub_code=s, representation=r):
            return f"option[{c}].option[{s}].{r.value}"
        case SubOptionExists(code=c, sub_code=s):
            return f"option[{c}].option[{s}].exists"
        case Relay4Option(sub_code=s, representation=r):
            return f"relay4[{s}].{r.value}"
        case Relay4OptionExists(sub_code=s):
            return f"relay4[{s}].exists"
        case VendorExists(enterprise=e):
            return f"vendor[{_enterprise(e)}].exists"
        case VendorEnterprise():
            return "vendor.enterprise"
        case VendorOption(enterprise=e, sub_code=s, representation=r):
            return f"vendor[{_enterprise(e)}].option[{s}].{r.value}"
        case VendorOptionExists(enterprise=e, sub_code=s):
            return f"vendor[{_enterprise(e)}].option[{s}].exists"
        case VendorClassExists(enterprise=e):
            return f"vendor-class[{_enterprise(e)}].exists"
        case VendorClassEnterprise():
            return "vendor-class.enterprise"
        case VendorClassData(enterprise=e, index=i, explicit_index=x):
            return f"vendor-class[{_enterprise(e)}].data" + (f"[{i}]" if x or i else "")
        case PktMetadata(field=f):
            return f"pkt.{f.value}"
        case Pkt4Field(field=f):
            return f"pkt4.{f.value}"
        case Substring(operand=o, start=s, length=n):
            return f"substring({u(o)},{s},{'all' if n is None else n})"
        case Split(operand=o, delimiters=d, field=f):
            return f"split({u(o)},{u(d)},{f})"
        case Concat(left=a, right=b, infix=True):
            right = u(b) if not isinstance(b, Concat) or not b.infix else f"({u(b)})"
            return f"{u(a)} + {right}"
        case Concat(left=a, right=b):
            return f"concat({u(a)},{u(b)})"
        case IfElse(condition=c, if_true=t, if_false=f):
            return f"ifelse({u(c)},{u(t)},{u(f)})"
        case ToHexString(operand=o, separator=s):
            return f"hexstring({u(o)},{u(s)})"
        case AddressToText(operand=o):
            return f"addrtotext({u(o)})"
        case IntegerToText(operand=o):
            return f"{_int_to_text_name(node)}({u(o)})"
        case LowerCase(operand=o):
            return f"lcase({u(o)})"
        case UpperCase(operand=o):
            return f"ucase({u(o)})"
        case Equal(left=a, right=b):
            return f"{u(a)} == {u(b)}"
        case Not(operand=o):
            return f"not {_wrap(o, Not)}"
        case And(left=a, right=b):
            return f"{_wrap(a, And)} and {_wrap(b, And, right=True)}"
        case Or(left=a, right=b):
            return f"{_wrap(a, Or)} or {_wrap(b, Or, right=True)}"
        case Member(name=n):
            return f"member('{n}')"
    raise TypeError(f"not an expression node: {node!r}")


_BINDING = {Or: 1, And: 2, Not: 3}


def _wrap(child: Node, parent: type, right: bool = False) -> str:
    """Parenthesise a boolean operand that binds looser than its parent (or equally, on the
    right: and/or are left-associative)."""
    mine, theirs = _BINDING.get(type(child), 4), _BINDING[parent]
    text = unparse(child)
    return f"({text})" if mine < theirs or (right and mine == theirs) else text
