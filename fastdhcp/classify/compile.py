"""A class test's tree (``expression.parse``) compiled to the native engine's bytecode
(``_native/classes.pyx``): postfix instructions on a value stack, one 32-bit word each (the
operation in the low 8 bits, an operand in the high 24), constants apart.

The engine evaluates what this gives per packet with no Python and no allocation. What Kea
renders only through its option objects (``.text`` of an option that is not a string: Kea's
debug text such as ``type=054, len=004: 10.0.0.1 (ipv4-address)``) is not compiled yet:
``NotNative`` says so with the node's column, and the configuration is refused with that
reason rather than served with a different answer.
"""

from __future__ import annotations

from collections.abc import Callable

from .._enums import ClassLimit, ClassOp, Pkt4Field, PktField, VendorField
from . import tree as t
from .kea_options import DHCP4, kea22_definition

__all__ = ["NotNative", "Program", "compile_test"]

_PKT4 = {t.Pkt4FieldName.MAC: Pkt4Field.MAC, t.Pkt4FieldName.HLEN: Pkt4Field.HLEN,
         t.Pkt4FieldName.HTYPE: Pkt4Field.HTYPE, t.Pkt4FieldName.CIADDR: Pkt4Field.CIADDR,
         t.Pkt4FieldName.GIADDR: Pkt4Field.GIADDR, t.Pkt4FieldName.YIADDR: Pkt4Field.YIADDR,
         t.Pkt4FieldName.SIADDR: Pkt4Field.SIADDR, t.Pkt4FieldName.MSGTYPE: Pkt4Field.MSGTYPE,
         t.Pkt4FieldName.TRANSID: Pkt4Field.TRANSID}
_PKT = {t.PktField.IFACE: PktField.IFACE, t.PktField.SRC: PktField.SRC,
        t.PktField.DST: PktField.DST, t.PktField.LEN: PktField.LEN}
_INT32 = (-(1 << 31), (1 << 31) - 1)
# vendor[...] (125) and vendor-class[...] (124): the instruction and the field it pushes
_VENDOR = {t.VendorExists: (ClassOp.VENDOR, VendorField.EXISTS),
           t.VendorEnterprise: (ClassOp.VENDOR, VendorField.ENTERPRISE),
           t.VendorOption: (ClassOp.VENDOR, VendorField.OPTION),
           t.VendorOptionExists: (ClassOp.VENDOR, VendorField.OPTION_EXISTS),
           t.VendorClassExists: (ClassOp.VENDOR_CLASS, VendorField.EXISTS),
           t.VendorClassEnterprise: (ClassOp.VENDOR_CLASS, VendorField.ENTERPRISE),
           t.VendorClassData: (ClassOp.VENDOR_CLASS, VendorField.DATA)}


class NotNative(Exception):
    """A part of the expression the native evaluator does not have (yet)."""

    def __init__(self, column: int, reason: str):
        super().__init__(f"{column}: {reason}")
        self.column, self.reason = column, reason


class Program:
    """Instructions (``words``) and the constants they push (``constants``)."""

    __slots__ = ("words", "constants", "depth")

    def __init__(self) -> None:
        self.words: list[int] = []
        self.constants: list[bytes] = []
        self.depth = 0

    def op(self, op: ClassOp, operand: int = 0, *extra: int) -> None:
        self.words.append((operand << 8) | int(op))
        self.words.extend(e & 0xFFFFFFFF for e in extra)

    def const(self, value: bytes) -> None:
        self.op(ClassOp.CONST, len(self.constants))
        self.constants.append(value)


def _is_string_option(code: int, definitions: Callable) -> bool:
    d = definitions(DHCP4, code)
    return d is not None and getattr(d, "type", None) == "string" and not getattr(d, "array", False)


# Option types whose Kea class keeps no sub-options (kea_options: OptionString, the generic
# Option of binary data, the address and integer arrays, tuples, fqdn lists); a single integer
# or a record reads the bytes after its fields as sub-options, so those are not listed.
_FLAT_TYPES = ("string", "binary")
_FLAT_ARRAYS = ("ipv4-address", "uint8", "uint16", "uint32", "int8", "int16", "int32", "tuple",
                "fqdn")


def _has_no_sub_options(code: int, definitions: Callable) -> bool:
    """Whether Kea 2.2's option `code`, as a request carries it to classification, never holds
    a sub-option: no definition (a generic option of raw data), one deferred until after
    classification (43 and 224-254: LibDHCP::shouldDeferOptionUnpack), or a flat type."""
    if code == 43 or 224 <= code <= 254:
        return True
    d = definitions(DHCP4, code)
    if d is None:
        return True
    if getattr(d, "encapsulate", ""):
        return False
    kind, array = getattr(d, "type", ""), getattr(d, "array", False)
    return (kind in _FLAT_TYPES and not array) or (array and kind in _FLAT_ARRAYS) or \
        (kind == "empty")


def compile_test(tree: t.Node, class_number: Callable[[str], int],
                 definitions: Callable = kea22_definition) -> Program:
    """The program of a class test. ``class_number(name)``: the number of a class ``member()``
    names (the engine's bit for it), or a tree to evaluate in its place (a built-in class that
    is a test, as VENDOR_CLASS_<x> is); ``definitions(space, code)``: option definitions, as
    the reference evaluator takes them."""
    prog = Program()
    depth = _emit(tree, prog, class_number, definitions, 0)
    if depth > ClassLimit.STACK - 1:
        raise NotNative(tree.column, f"the expression needs {depth} values at once; the native "
                                     f"evaluator holds {ClassLimit.STACK - 1}")
    prog.depth = depth
    return prog


def _emit(n: t.Node, p: Program, member: Callable, defs: Callable, sp: int) -> int:
    """Emit n's code with sp values already on the stack; returns the deepest the stack gets."""
    E = _emit

    def kids(*nodes: t.Node) -> int:
        deepest = sp
        for k, child in enumerate(nodes):
            deepest = max(deepest, E(child, p, member, defs, sp + k))
        return deepest

    if isinstance(n, (t.String, t.HexString, t.IpAddress)):
        p.const(n.value)
        return sp + 1
    if isinstance(n, t.Integer):
        p.const(n.value.to_bytes(4, "big"))
        return sp + 1
    if isinstance(n, t.Option):
        string = _is_string_option(n.code, defs)
        if n.representation is t.Representation.TEXT and not string:
            raise NotNative(n.column, f"option[{n.code}].text of an option that is not a string "
                                      f"is Kea's debug text; use option[{n.code}].hex")
        p.op(ClassOp.OPTION_STRING if string else ClassOp.OPTION, n.code)
        return sp + 1
    if isinstance(n, t.OptionExists):
        p.op(ClassOp.OPTION_EXISTS, n.code | (0x100 if _is_string_option(n.code, defs) else 0))
        return sp + 1
    if isinstance(n, t.Relay4Option):
        if n.representation is t.Representation.TEXT:
            raise NotNative(n.column, f"relay4[{n.sub_code}].text is Kea's debug text (Kea 2.2 "
                                      f"has no definitions for option 82's sub-options); use "
                                      f"relay4[{n.sub_code}].hex")
        p.op(ClassOp.RELAY4, n.sub_code)
        return sp + 1
    if isinstance(n, t.Relay4OptionExists):
        p.op(ClassOp.RELAY4_EXISTS, n.sub_code)
        return sp + 1
    if isinstance(n, (t.SubOption, t.SubOptionExists)):
        if n.code == 82:
            if isinstance(n, t.SubOption) and n.representation is t.Representation.TEXT:
                raise NotNative(n.column, "option[82].option[N].text is Kea's debug text; use .hex")
            p.op(ClassOp.RELAY4 if isinstance(n, t.SubOption) else ClassOp.RELAY4_EXISTS,
                 n.sub_code)
            return sp + 1
        if _has_no_sub_options(n.code, defs):
            # Kea holds no sub-options in such an option: none is ever found
            p.const(b"" if isinstance(n, t.SubOption) else b"false")
            return sp + 1
        raise NotNative(n.column, f"option[{n.code}].option[{n.sub_code}]: sub-options of an "
                                  f"option that encapsulates a space (other than 82) are not "
                                  f"evaluated natively yet")
    if isinstance(n, t.VendorOption) and n.representation is t.Representation.TEXT:
        raise NotNative(n.column, f"vendor[...].option[{n.sub_code}].text is Kea's debug text "
                                  f"(Kea 2.2 has no string definitions of vendor sub-options); "
                                  f"use .hex")
    vendor = _VENDOR.get(type(n))
    if vendor is not None:
        op, field = vendor
        second = (n.sub_code if isinstance(n, (t.VendorOption, t.VendorOptionExists)) else
                  n.index if isinstance(n, t.VendorClassData) else 0)
        p.op(op, field, getattr(n, "enterprise", 0), second)
        return sp + 1
    if isinstance(n, t.PktMetadata):
        p.op(ClassOp.PKT, _PKT[n.field])
        return sp + 1
    if isinstance(n, t.Pkt4Field):
        p.op(ClassOp.PKT4, _PKT4[n.field])
        return sp + 1
    if isinstance(n, t.Substring):
        deepest = kids(n.operand)
        length = ClassLimit.ALL if n.length is None else n.length
        for v in (n.start, length):
            if not _INT32[0] <= v <= _INT32[1]:
                raise NotNative(n.column, f"substring: {v} is not a 32-bit integer (Kea fails "
                                          f"on every packet but one with an empty string)")
        if n.length == ClassLimit.ALL:
            length = ClassLimit.ALL - 1      # (ALL is the marker; the same result, capped)
        p.op(ClassOp.SUBSTRING, 0, n.start, length)
        return deepest
    if isinstance(n, t.Split):
        if not _INT32[0] <= n.field <= _INT32[1]:
            raise NotNative(n.column, f"split: {n.field} is not a 32-bit integer")
        deepest = kids(n.operand, n.delimiters)
        p.op(ClassOp.SPLIT, 0, n.field)
        return deepest
    if isinstance(n, t.Concat):
        deepest = kids(n.left, n.right)
        p.op(ClassOp.CONCAT)
        return deepest
    if isinstance(n, t.IfElse):
        deepest = kids(n.condition, n.if_true, n.if_false)
        p.op(ClassOp.IFELSE)
        return deepest
    if isinstance(n, t.ToHexString):
        deepest = kids(n.operand, n.separator)
        p.op(ClassOp.HEXSTRING)
        return deepest
    if isinstance(n, t.AddressToText):
        deepest = kids(n.operand)
        p.op(ClassOp.ADDRTOTEXT)
        return deepest
    if isinstance(n, t.IntegerToText):
        deepest = kids(n.operand)
        p.op(ClassOp.INTTOTEXT, n.bits | (0x100 if n.signed else 0))
        return deepest
    if isinstance(n, (t.LowerCase, t.UpperCase)):
        deepest = kids(n.operand)
        p.op(ClassOp.LCASE if isinstance(n, t.LowerCase) else ClassOp.UCASE)
        return deepest
    if isinstance(n, (t.Equal, t.And, t.Or)):
        deepest = kids(n.left, n.right)
        p.op(ClassOp.EQUAL if isinstance(n, t.Equal) else
             ClassOp.AND if isinstance(n, t.And) else ClassOp.OR)
        return deepest
    if isinstance(n, t.Not):
        deepest = kids(n.operand)
        p.op(ClassOp.NOT)
        return deepest
    if isinstance(n, t.Member):
        bit = member(n.name)
        if isinstance(bit, t.Node):          # a built-in class that is a test of its own
            return E(bit, p, member, defs, sp)
        p.op(ClassOp.MEMBER, bit)
        return sp + 1
    raise NotNative(n.column, f"{type(n).__name__} is not evaluated natively")
