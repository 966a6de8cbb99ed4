"""Kea 2.2 client-class expressions: parser, tree and reference evaluator.

Expected values come from Kea-2.2.0's own unit tests where they exist (src/lib/eval/tests/
token_unittest.cc, context_unittest.cc, evaluate_unittest.cc) and from the classes of
src/lib/dhcp for what ``.hex``/``.text`` of a received option are.
"""

from __future__ import annotations

import pytest

from fastdhcp import reference
from fastdhcp.classify import (BOOL, LATER_THAN_2_2, STRING, EvalError, EvalTypeError,
                               ExpressionError, PacketDropped, PacketView, evaluate, matches,
                               parse, referenced_classes, unparse)
from fastdhcp.classify import tree as t
from fastdhcp.classify.kea_options import kea22_definition
from fastdhcp.options import OptionDef

MAC = bytes.fromhex("010203040506")


def view(*options: tuple[int, bytes], **kwargs) -> PacketView:
    """A DHCPDISCOVER (53 first, as Pkt4's constructor adds it) with ``options``."""
    kwargs.setdefault("hwaddr", MAC)
    kwargs.setdefault("xid", 12345)
    return PacketView(options=((53, b"\x01"), *options), **kwargs)


def value(text: str, v: PacketView | None = None, classes=()) -> bytes:
    """Evaluate a string expression."""
    return evaluate(parse(text, mode=STRING), v if v is not None else view(), classes)


def holds(text: str, v: PacketView | None = None, classes=()) -> bool:
    return matches(parse(text), v if v is not None else view(), classes)


def error(text: str, **kwargs) -> ExpressionError:
    with pytest.raises(ExpressionError) as info:
        parse(text, **kwargs)
    return info.value


# --- the tree: one node family per token ----------------------------------------------------------

@pytest.mark.parametrize("text, node", [
    ("'foo'", t.String(value=b"foo", column=1)),
    ("0x5a7d", t.HexString(value=b"Z}", column=1)),
    ("0x123", t.HexString(value=b"\x01\x23", column=1)),            # odd count: leading 0
    ("10.0.0.1", t.IpAddress(value=b"\x0a\x00\x00\x01", column=1)),
    ("2001:db8::1", t.IpAddress(value=bytes.fromhex("20010db8" + "00" * 11 + "01"), column=1)),
    ("123", t.Integer(value=123, column=1)),
    ("option[60].hex", t.Option(code=60, representation=t.Representation.HEX, column=1)),
    ("option[host-name].text", t.Option(code=12, representation=t.Representation.TEXT)),
    ("option[12].option[3].hex", t.SubOption(code=12, sub_code=3,
                                             representation=t.Representation.HEX)),
    ("relay4[1].hex", t.Relay4Option(sub_code=1, representation=t.Representation.HEX)),
    ("vendor.enterprise", t.VendorEnterprise()),
    ("vendor[4491].option[1].text", t.VendorOption(enterprise=4491, sub_code=1,
                                                   representation=t.Representation.TEXT)),
    ("vendor-class.enterprise", t.VendorClassEnterprise()),
    ("vendor-class[*].data", t.VendorClassData(enterprise=0)),
    ("vendor-class[4491].data[3]", t.VendorClassData(enterprise=4491, index=3,
                                                     explicit_index=True)),
    ("pkt.iface", t.PktMetadata(field=t.PktField.IFACE)),
    ("pkt4.mac", t.Pkt4Field(field=t.Pkt4FieldName.MAC)),
    ("pkt4.transid", t.Pkt4Field(field=t.Pkt4FieldName.TRANSID)),
    ("substring('ab',-1,all)", t.Substring(operand=t.String(value=b"ab", column=11), start=-1,
                                           length=None)),
    ("uint16totext('ab')", t.IntegerToText(operand=t.String(value=b"ab", column=14), bits=16,
                                           signed=False)),
    ("lcase('A')", t.LowerCase(operand=t.String(value=b"A", column=7))),
])
def test_string_nodes(text, node):
    got = parse(text, mode=STRING)
    assert got.kind is STRING
    assert type(got) is type(node)
    for field in node.__struct_fields__:
        if field != "column" or node.column:
            assert getattr(got, field) == getattr(node, field), field


@pytest.mark.parametrize("text, cls", [
    ("option[60].exists", t.OptionExists), ("option[1].option[2].exists", t.SubOptionExists),
    ("relay4[1].exists", t.Relay4OptionExists), ("vendor[*].exists", t.VendorExists),
    ("vendor[4491].option[2].exists", t.VendorOptionExists),
    ("vendor-class[4491].exists", t.VendorClassExists), ("member('foo')", t.Member),
    ("'a' == 'b'", t.Equal), ("not 'a' == 'b'", t.Not), ("'a' == 'b' or 'c' == 'd'", t.Or),
    ("'a' == 'b' and 'c' == 'd'", t.And), ("('a' == 'b')", t.Equal),
])
def test_bool_nodes(text, cls):
    node = parse(text)
    assert type(node) is cls and node.kind is BOOL


def test_columns_point_at_tokens():
    node = parse("'a' == 'b' and  not option[12].exists")
    assert node.column == 12                       # the 'and'
    assert node.left.column == 5                   # the '=='
    assert node.left.right.column == 8
    assert node.right.column == 17 and node.right.operand.column == 21


def test_precedence_not_and_or_plus():
    # parser.yy: %left PLUS, %left OR, %left AND, %precedence NOT
    node = parse("not member('a') and member('b') or member('c')")
    assert isinstance(node, t.Or) and isinstance(node.left, t.And)
    assert isinstance(node.left.left, t.Not)
    node = parse("member('a') or member('b') and member('c')")
    assert isinstance(node, t.Or) and isinstance(node.right, t.And)
    node = parse("'a' + 'b' + 'c' == 'a' + 'bc'")
    assert isinstance(node.left, t.Concat) and isinstance(node.left.left, t.Concat)
    assert node.left.infix and isinstance(node.right, t.Concat)


def test_parentheses_hold_strings_or_booleans():
    assert isinstance(parse("('a') == 'a'"), t.Equal)
    assert isinstance(parse("(('a') + 'b') == 'ab'"), t.Equal)
    assert isinstance(parse("((member('x')))"), t.Member)
    assert isinstance(parse("not ('a') == 'b'"), t.Not)


def test_referenced_classes_in_source_order():
    tree = parse("member('b') or (member('a') and not member('b'))")
    assert referenced_classes(tree) == ("b", "a")


def test_member_checked_against_defined_classes():
    defined = {"ALL", "foo"}.__contains__
    assert parse("member('foo')", class_defined=defined).name == "foo"
    e = error("member('bar')", class_defined=defined)
    assert (e.location, e.reason) == ("1.8-12", "Not defined client class 'bar'")


@pytest.mark.parametrize("text", [
    "substring(option[61].hex,0,3) == 'foo'", "option[93].hex == 0x0007 and pkt4.htype == 1",
    "vendor[*].exists or vendor-class[4491].data[2] == 'x' + 'y'",
    "not (member('A') or member('B')) and relay4[1].exists",
    "ifelse(option[12].exists,option[12].text,'none') == split('a.b','.',2)",
    "hexstring(pkt4.mac,':') == lcase(ucase('x')) and addrtotext(pkt.src) == '10.0.0.1'",
    "int8totext(0x80) + uint32totext(pkt.len) == concat('x',0x00)",
])
def test_unparse_round_trips(text):
    tree = parse(text)
    again = parse(unparse(tree))
    assert unparse(again) == unparse(tree)
    assert [type(n) for n in t.walk(again)] == [type(n) for n in t.walk(tree)]


def test_later_than_2_2_is_recorded():
    assert LATER_THAN_2_2 == {"lcase": "2.5.2", "ucase": "2.5.2"}


# --- parse errors: Kea's own expectations (context_unittest.cc) -----------------------------------
# (expression, Kea's location, Kea's message). Where bison lists no expected token (more than
# four), ours adds what kind of expression was expected, so we compare the prefix.

KEA_ERRORS = [
    ("'", "1.1", "Invalid character: '"),
    ("'''", "1.3", "Invalid character: '"),
    ("'\n'", "1.1", "Invalid character: '"),
    ("0x123h", "1.6", "Invalid character: h"),
    (":1", "1.1", "Invalid character: :"),
    ("subtring", "1.1", "Invalid character: s"),
    (" bar", "1.2", "Invalid character: b"),
    ("relay[12].hex == 'foo'", "1.1", "Invalid character: r"),
    ("pkt4.ziaddr", "1.6", "Invalid character: z"),
    ("members('foo'", "1.7", "Invalid character: s"),
    ("", "1.1", "syntax error, unexpected end of file"),
    (" ", "1.2", "syntax error, unexpected end of file"),
    ("0x", "1.2", "Invalid character: x"),
    ("0abc", "1.2", "Invalid character: a"),
    ("10.0.1", "1.3", "syntax error, unexpected ., expecting == or +"),
    ("10.256.0.1", "1.1-10", "Failed to convert 10.256.0.1 to an IP address."),
    (":::", "1.1-3", "Failed to convert ::: to an IP address."),
    ("===", "1.1-2", "syntax error, unexpected =="),
    ("option[-1].text", "1.8-9", "Option code has invalid value in -1. Allowed range: 0..255"),
    ("option[256].text", "1.8-10", "Option code has invalid value in 256. Allowed range: 0..255"),
    ("option[12345678901234567890].text", "1.8-27",
     "Failed to convert 12345678901234567890 to an integer."),
    ("option[123]", "1.12", "syntax error, unexpected end of file, expecting ."),
    ("option[123].text < 'foo'", "1.18", "Invalid character: <"),
    ("option[-ab].text", "1.8", "Invalid character: -"),
    ("option[0ab].text", "1.9-10", "syntax error, unexpected option name, expecting ]"),
    ("option[ab_].hex", "1.8", "Invalid character: a"),
    ("option[\nhost-name\n].hex =\n= 'foo'", "3.7", "Invalid character: ="),
    ("substring('foo',12345678901234567890,1)", "1.17-36",
     "Failed to convert 12345678901234567890 to an integer."),
    ("'foo''bar'", "1.6-10", "syntax error, unexpected constant string, expecting == or +"),
    ("'foo' (", "1.7", "syntax error, unexpected (, expecting == or +"),
    ("'foo' ==", "1.9", "syntax error, unexpected end of file"),
    ("('foo' == 'bar'", "1.16", "syntax error, unexpected end of file, expecting ) or and or or"),
    ("('foo' == 'bar') ''", "1.18-19",
     "syntax error, unexpected constant string, expecting end of file"),
    ("not 'foo'", "1.10", "syntax error, unexpected end of file, expecting == or +"),
    ("not()", "1.5", "syntax error, unexpected )"),
    ("(not('foo' 'bar')", "1.12-16",
     "syntax error, unexpected constant string, expecting ) or == or +"),
    ("and", "1.1-3", "syntax error, unexpected and"),
    ("'foo' and", "1.7-9", "syntax error, unexpected and, expecting == or +"),
    ("'foo' == 'bar' and ''", "1.22", "syntax error, unexpected end of file, expecting == or +"),
    ("option 'ab'", "1.8-11", "syntax error, unexpected constant string, expecting ["),
    ("option(10) == 'ab'", "1.7", "syntax error, unexpected (, expecting ["),
    ("option['ab'].text == 'foo'", "1.8-11",
     "syntax error, unexpected constant string, expecting integer or option name"),
    ("option[ab].text == 'foo'", "1.8-9", "option 'ab' is not defined"),
    ("option[0xa].text == 'ab'", "1.8-10",
     "syntax error, unexpected constant hexstring, expecting integer or option name"),
    ("option[10].bin", "1.12", "Invalid character: b"),
    ("option[boot-size].bin", "1.19", "Invalid character: b"),
    ("option[10].exists == 'foo'", "1.19-20",
     "syntax error, unexpected ==, expecting end of file"),
    ("substring('foobar') == 'f'", "1.19", 'syntax error, unexpected ), expecting "," or +'),
    ("substring('foobar',3) == 'bar'", "1.21", 'syntax error, unexpected ), expecting ","'),
    ("substring('foobar','3',3) == 'bar'", "1.20-22",
     "syntax error, unexpected constant string, expecting integer"),
    ("substring('foobar',1,a) == 'foo'", "1.22", "Invalid character: a"),
    ("concat('foo','bar','') == 'foobar'", "1.19",
     'syntax error, unexpected ",", expecting ) or +'),
    ("ifelse('foo'=='bar','foo')", "1.26", 'syntax error, unexpected ), expecting "," or +'),
    ("+ 'a' = 'a'", "1.1", "syntax error, unexpected +"),
    ("'a' + == 'a'", "1.7-8", "syntax error, unexpected =="),
    ("'a' ++ 'b' == 'ab'", "1.6", "syntax error, unexpected +"),
    ("addrtotext(10.0.0.1, 10.0.0.2)", "1.20", 'syntax error, unexpected ",", expecting ) or +'),
    ("uint32totext('01')", "1.19", "syntax error, unexpected end of file, expecting == or +"),
    ("substring('foobar',all,1) == 'foo'", "1.20-22",
     "syntax error, unexpected all, expecting integer"),
    ("('foo' == 'bar') == 'false'", "1.18-19",
     "syntax error, unexpected ==, expecting end of file"),
    ("'true' or 'false'", "1.8-9", "syntax error, unexpected or, expecting == or +"),
    ("ifelse('foobar','foo','bar')", "1.16", 'syntax error, unexpected ",", expecting == or +'),
    ("ifelse('foo'=='bar','foo'=='foo','bar')", "1.26-27",
     'syntax error, unexpected ==, expecting "," or +'),
    ("ifelse('foo'=='bar','foo','bar'=='bar')", "1.32-33",
     "syntax error, unexpected ==, expecting ) or +"),
    ("member(foo)", "1.8", "Invalid character: f"),
    ("option[123].option[host-name].exists", "1.20-28",
     "syntax error, unexpected option name, expecting integer"),
    ("relay6[0].option[123].text == 'foo'", "1.8", "Nest level invalid for DHCPv4 packets"),
    ("relay6[0].linkaddr == ::", "1.8", "Nest level invalid for DHCPv4 packets"),
    ("4294967296 == 0", "1.1-10", "Invalid value in 4294967296. Allowed range: 0..4294967295"),
    ("4294967295 == -1", "1.15-16", "Invalid value in -1. Allowed range: 0..4294967295"),
    ("pkt6.msgtype == 1", "1.1-4", "pkt6 can only be used in DHCPv6."),
]


@pytest.mark.parametrize("text, location, reason", KEA_ERRORS)
def test_parse_errors_as_kea_reports_them(text, location, reason):
    e = error(text)
    assert e.location == location
    assert e.reason.startswith(reason)
    assert str(e) == f"{e.column}: {e.reason}"


def test_errors_name_what_was_expected_where_bison_does_not():
    assert error("'foo' ==").reason == ("syntax error, unexpected end of file, expecting a "
                                        "string expression")
    assert error("and").reason.endswith("expecting a boolean expression")
    assert error("option[1].").reason.endswith("expecting option or text or hex or exists")
    assert error("'a' == option[1].").reason.endswith("expecting option or text or hex")
    assert error("vendor[1].").reason.endswith("expecting option or exists")
    assert error("vendor-class[1].").reason.endswith("expecting exists or data")


def test_a_syntax_error_comes_before_a_lexical_error_further_right():
    # bison pulls tokens one at a time: '+' fails before the lexer sees '='.
    assert error("+ 'a' = 'a'").column == 1


def test_long_input_column():
    text = "substring('foobar',1,65535) == " + "0" * (1 << 16) + "'"
    assert error(text).location == "1.65568"


def test_option_names_from_a_resolver():
    custom = {"my-opt": 200}.get
    assert parse("option[my-opt].exists", option_code=custom).code == 200
    e = error("option[host-name].exists", option_code=custom)
    assert (e.column, e.end_column, e.reason) == (8, 16, "option 'host-name' is not defined")
    # Kea 2.2's default: standard names and the last-resort 43; not names added after 2.2
    assert parse("option[vendor-encapsulated-options].exists").code == 43
    assert error("option[classless-static-route].exists").column == 8


def test_string_mode():
    assert parse("option[100].hex", mode=STRING).kind is STRING
    assert error("pkt4.msgtype == 1", mode=STRING).reason == (
        "syntax error, unexpected ==, expecting end of file")
    assert error("member('a')", mode=STRING).reason.endswith("expecting a string expression")


def test_not_in_kea_2_2():
    assert error("known").reason == "Invalid character: k"          # ARM lists it; 2.2 lacks it
    assert error("'a' == 'b' sand 'c' == 'd'").column == 12          # sand: Kea 2.7.2


# --- evaluation of literals and functions (token_unittest.cc) -------------------------------------

@pytest.mark.parametrize("start, length, result", [
    ("0", "6", b"foobar"), ("0", "all", b"foobar"), ("0", "123456", b"foobar"),
    ("-6", "all", b"foobar"), ("3", "3", b"bar"), ("3", "all", b"bar"), ("-3", "all", b"bar"),
    ("-3", "123", b"bar"), ("1", "4", b"ooba"), ("-5", "4", b"ooba"), ("-1", "-4", b"ooba"),
    ("5", "-4", b"ooba"), ("5", "all", b"r"), ("5", "1", b"r"), ("5", "5", b"r"),
    ("-1", "all", b"r"), ("-1", "1", b"r"), ("-1", "5", b"r"), ("0", "-4", b""),
    ("1", "-4", b"f"), ("2", "-4", b"fo"), ("3", "-4", b"foo"), ("3", "4", b"bar"),
    ("4", "4", b"ar"), ("5", "4", b"r"), ("6", "4", b""), ("-7", "1", b""), ("-7", "-11", b""),
    ("-7", "all", b""), ("6", "1", b""), ("6", "-11", b""), ("6", "all", b""), ("0", "0", b""),
    ("-1", "-3", b"oba"), ("4", "-2", b"ob"), ("10", "2", b""),          # the last three: ARM
])
def test_substring(start, length, result):
    assert value(f"substring('foobar',{start},{length})") == result


def test_substring_of_empty_and_out_of_int_range():
    assert value("substring('',0,all)") == b""
    # Kea keeps start/length as text and converts them at evaluation: an int64 that is not an
    # int parses, then throws - unless the string is empty, which is checked first.
    with pytest.raises(EvalTypeError):
        value("substring('foobar',4294967296,1)")
    assert value("substring('',4294967296,1)") == b""


@pytest.mark.parametrize("text, delims, field, result", [
    ("", ".", 1, b""), (".two.three..five.", "", 1, b".two.three..five."),
    (".two.three..five.", ".", 0, b""), (".two.three..five.", ".", 1, b""),
    (".two.three..five.", ".", 2, b"two"), (".two.three..five.", ".", 3, b"three"),
    (".two.three..five.", ".", 4, b""), (".two.three..five.", ".", 5, b"five"),
    (".two.three..five.", ".", 6, b""), (".two.three..five.", ".", 7, b""),
    ("just_one", ".", 1, b"just_one"), (".two:three.:five.", ".:", 2, b"two"),
    (".two:three.:five.", ".:", 3, b"three"), (".two:three.:five.", ".:", 4, b""),
    (".two:three.:five.", ".:", 5, b"five"), ("one.two..four", ".", 4, b"four"),
])
def test_split(text, delims, field, result):
    assert value(f"split('{text}','{delims}',{field})") == result


@pytest.mark.parametrize("expr, result", [
    ("hexstring(0x1234,':')", b"12:34"), ("hexstring(0x56789a,'-')", b"56-78-9a"),
    ("hexstring(0xbcde,'')", b"bcde"), ("hexstring(0xf01234,'..')", b"f0..12..34"),
    ("hexstring('foo','-')", b"66-6f-6f"), ("concat('foo','bar')", b"foobar"),
    ("'abc' + 'def' + 'ghi'", b"abcdefghi"), ("ifelse('a'=='a','foo','bar')", b"foo"),
    ("ifelse('a'=='b','foo','bar')", b"bar"), ("0", b"\x00\x00\x00\x00"),
    ("1410", b"\x00\x00\x05\x82"), ("4294967295", b"\xff\xff\xff\xff"),
    ("addrtotext(10.0.0.1)", b"10.0.0.1"), ("addrtotext(2001:db8::1)", b"2001:db8::1"),
    ("addrtotext('')", b""), ("int8totext(0xff)", b"-1"), ("int16totext(0xffff)", b"-1"),
    ("int32totext(0xffffffff)", b"-1"), ("uint8totext(0xff)", b"255"),
    ("uint16totext(0xffff)", b"65535"), ("uint32totext(0xffffffff)", b"4294967295"),
    ("uint16totext(0x0102)", b"258"), ("int16totext('')", b""), ("uint32totext(1410)", b"1410"),
    ("lcase('AbC-9\xc9')", "abc-9\xc9".encode()), ("ucase('aBc')", b"ABC"),
])
def test_functions(expr, result):
    assert value(expr) == result


@pytest.mark.parametrize("expr", ["addrtotext('10.0.0.1')", "int8totext('0123456789')",
                                  "int16totext('012')", "int32totext('01')",
                                  "uint8totext('01')", "uint16totext('0')",
                                  "uint32totext(0x0102)"])
def test_conversions_of_the_wrong_size_throw(expr):
    with pytest.raises(EvalTypeError):
        value(expr)


@pytest.mark.parametrize("expr, result", [
    ("'foo' == 'bar'", False), ("'foo' == 'foo'", True), ("not ('foo' == 'bar')", True),
    ("'a' == 'a' and 'b' == 'c'", False), ("'a' == 'a' or 'b' == 'c'", True),
    ("'a' + 'b' == 'ab'", True), ("4294967295 == 0", False), ("0x00000001 == 1", True),
    ("10.0.0.1 == 0x0a000001", True), ("'Z}' == 0x5a7d", True),
])
def test_boolean_expressions(expr, result):
    assert holds(expr) is result
    assert evaluate(parse(expr), view()) == (b"true" if result else b"false")


def test_no_short_circuit_in_2_2():
    # Kea 2.2 evaluates both operands (token.cc:977/1004): an error on either side is an error.
    failing = "addrtotext(0x010203) == ''"
    for expr in (f"'a' == 'a' or {failing}", f"not ('a' == 'b' and {failing})",
                 f"ifelse('a' == 'a', 'x', addrtotext(0x01)) == 'x'"):
        with pytest.raises(EvalTypeError):
            evaluate(parse(expr), view())
        assert holds(expr) is False          # 2.7.2 would say True (short circuit)
    assert holds(f"'a' == 'b' and {failing}") is False


def test_string_result_must_be_exactly_true_or_false():
    # evaluateBool on a string expression (evaluate_unittest.cc bad4/true4/false4)
    assert matches(parse("'true'", mode=STRING), view()) is True
    assert matches(parse("'false'", mode=STRING), view()) is False
    assert matches(parse("'bad'", mode=STRING), view()) is False
    assert matches(parse("'TRUE'", mode=STRING), view()) is False


# --- packet fields and metadata -------------------------------------------------------------------

def test_pkt4_fields():
    # token_unittest.cc pkt4Fields
    v = PacketView(hwaddr=bytes.fromhex("01020304050607"), htype=123, xid=12345,
                   giaddr="192.0.2.1", ciaddr="192.0.2.2", yiaddr="192.0.2.3",
                   siaddr="192.0.2.4", options=[(53, b"\x01")])
    assert value("pkt4.mac", v) == bytes.fromhex("01020304050607")
    assert value("pkt4.hlen", v) == b"\x00\x00\x00\x07"
    assert value("pkt4.htype", v) == b"\x00\x00\x00\x7b"
    assert value("pkt4.giaddr", v) == bytes([192, 0, 2, 1])
    assert value("pkt4.ciaddr", v) == bytes([192, 0, 2, 2])
    assert value("pkt4.yiaddr", v) == bytes([192, 0, 2, 3])
    assert value("pkt4.siaddr", v) == bytes([192, 0, 2, 4])
    assert value("pkt4.msgtype", v) == b"\x00\x00\x00\x01"
    assert value("pkt4.transid", v) == (12345).to_bytes(4, "big")
    assert holds("pkt4.msgtype == 1 and pkt4.transid == 12345 and pkt4.htype == 123", v)


def test_pkt_metadata_and_kea_length():
    # token_unittest.cc pkt4MetaData: 53 (OptionInt) and 100 "hundred4" (a string): len 0xF9
    v = view((100, b"hundred4"), iface="eth0", dst="10.0.0.1", src="10.0.0.2")
    assert value("pkt.iface", v) == b"eth0"
    assert value("pkt.src", v) == bytes([10, 0, 0, 2])
    assert value("pkt.dst", v) == bytes([10, 0, 0, 1])
    assert value("pkt.len", v) == b"\x00\x00\x00\xf9"


def test_pkt_len_is_not_the_datagram_size():
    raw = reference.discover(MAC, 1)
    v = PacketView.from_datagram(raw)
    assert len(raw) == 300 and v.length() == 236 + 3 + 10           # 53 and the PRL (55)
    assert holds("pkt.len == 249", v)


def test_msgtype_without_option_53_is_zero():
    assert value("pkt4.msgtype", PacketView(hwaddr=MAC)) == b"\x00\x00\x00\x00"


# --- options: .hex, .text, .exists as Kea 2.2 unpacks them ----------------------------------------

def test_option_hex_text_exists_of_a_string_option():
    # evaluate_unittest.cc: option 100 holds "hundred4" (2.2 defines 100 as pcode, a string)
    v = view((100, b"hundred4"))
    assert holds("option[100].text == 'hundred4'", v)
    assert holds("option[100].hex == 'hundred4'", v)
    assert holds("option[100].exists and not option[101].exists", v)
    assert value("option[101].hex", v) == b"" and value("option[101].text", v) == b""
    assert holds("substring(option[100].hex,0,7) == 'hundred'", v)


def test_trailing_nuls_of_a_string_option_are_gone():
    v = view((60, b"PXEClient\x00\x00"))
    assert value("option[60].hex", v) == b"PXEClient"


def test_string_options_of_only_nuls_and_empty_host_names_are_absent():
    v = view((60, b"\x00\x00"), (12, b""), (15, b"x"))
    assert not holds("option[60].exists", v)          # SkipThisOptionError
    assert not holds("option[12].exists", v)          # libdhcp++.cc:535
    assert holds("option[15].exists", v)


@pytest.mark.parametrize("option, text", [
    ((93, b"\x00\x07"), b"type=093, len=002: 7(uint16)"),
    ((55, b"\x01\x03"), b"type=055, len=002: 1(uint8) 3(uint8)"),
    ((51, b"\x00\x00\x0e\x10"), b"type=051, len=004: 3600 (uint32)"),
    ((2, b"\xff\xff\xff\xff"), b"type=002, len=004: -1 (int32)"),
    ((23, b"\x40"), b"type=023, len=001: 64 (uint8)"),
    ((3, b"\x0a\x00\x00\x01\x0a\x00\x00\x02"), b"type=003, len=008: 10.0.0.1 10.0.0.2"),
    ((54, b"\x0a\x00\x00\x01"), b"type=054, len=004: 10.0.0.1 (ipv4-address)"),
    ((19, b"\x01"), b"type=019, len=001: true (boolean)"),
    ((61, b"\x01\xaa\xbb"), b"type=061, len=003: 01:aa:bb"),
    ((77, b"\x04iPXE"), b"type=077, len=005: 04:69:50:58:45"),
    ((97, b"\x00\xab\xcd"), b"type=097, len=003: 0 (uint8) ABCD (binary)"),
    ((78, b"\x01\x0a\x00\x00\x01\x0a\x00\x00\x02"),
     b"type=078, len=009: true (boolean) 10.0.0.1 (ipv4-address) 10.0.0.2 (ipv4-address)"),
    ((79, b"\x01scope"), b'type=079, len=006: mandatory:1, scope-list:"scope"'),
    ((159, b"\x04\x03\x00\x00"), b"type=159, len=004: 4 (uint8) len=3,psid=0 (psid)"),
    ((117, b"\x00\x06"), b"type=117, len=002: 6(uint16)"),
    ((121, b"\x18\x0a\x01\x01\x0a\x00\x00\x01"),              # not defined in 2.2: generic
     b"type=121, len=008: 18:0a:01:01:0a:00:00:01"),
    ((43, b"\x01\x02ab"), b"type=043, len=004: 01:02:61:62"),     # deferred: raw
    ((230, b"\xca\xfe"), b"type=230, len=002: ca:fe"),           # private: deferred
    ((124, b"\x00\x00\x11\x8b\x05ab\x00cd"),
     b"type=124, len=10,  enterprise id=0x118b, data-len0=5, vendor-class-data0='ab\x00cd'"),
    ((125, b"\x00\x00\x11\x8b\x04\x03\x02\x0a\x01"),
     b"type=125, len=009: 4491 (uint32) 4 (uint8),\noptions:\n  type=003, len=002: 0a:01"),
    ((81, b"\x04\x00\x00\x03Foo\x07Example\x03COM\x00"),
     b"type=81 (CLIENT_FQDN), flags: (N=0, E=1, O=0, S=0), domain-name='foo.example.com.'"
     b" (full)"),
    ((81, b"\x01\x00\x00myhost"),
     b"type=81 (CLIENT_FQDN), flags: (N=0, E=0, O=0, S=1), domain-name='myhost' (partial)"),
    ((119, b"\x03foo\x00\x03bar\xc0\x00"),
     b'type=119, len=014: "foo." (fqdn) "bar.foo." (fqdn)'),
])
def test_text_is_kea_to_string(option, text):
    assert value(f"option[{option[0]}].text", view(option)) == text


def test_text_of_relay_suboptions_is_generic_in_2_2():
    # Kea 2.2 has no definitions for dhcp-agent-options-space: every sub-option is generic.
    v = view((82, b"\x02\x02ab\x01\x03one"))
    assert value("relay4[1].text", v) == b"type=001, len=003: 6f:6e:65"
    assert value("relay4[1].hex", v) == b"one"
    assert value("option[82].text", v) == (b"type=082, len=009:,\noptions:\n"
                                           b"  type=001, len=003: 6f:6e:65\n"
                                           b"  type=002, len=002: 61:62")
    # ...unless the configuration defines them (a runtime option-def)
    defs = {("dhcp-agent-options-space", 1): OptionDef(1, "circuit-id", "string")}

    def definitions(space, code):
        return defs.get((space, code)) or kea22_definition(space, code)
    assert value("relay4[1].text", view((82, b"\x01\x03one"), definitions=definitions)) == b"one"


def test_hex_is_the_option_repacked():
    # sub-options come out sorted by code and a truncated tail is dropped (packOptions4)
    v = view((82, b"\x02\x02ab\x01\x03one\x09"))
    assert value("option[82].hex", v) == b"\x01\x03one\x02\x02ab"
    # in 82, 0 is a sub-option, not a PAD (only a parent 43 gets PAD/END handling)
    assert value("option[82].hex", view((82, b"\x02\x01a\x00\x01b"))) == b"\x00\x01b\x02\x01a"
    # code 53 inside a container is never packed (packOptions4 writes 53 only at the top)
    v = view((82, b"\x35\x01x\x01\x01y"))
    assert value("option[82].hex", v) == b"\x01\x01y"
    assert value("option[82].text", v).startswith(b"type=082, len=006:")
    # a fixed-size field loses what follows it (OptionCustom: ipv4-address)
    assert value("option[54].hex", view((54, b"\x0a\x00\x00\x01\xff"))) == b"\x0a\x00\x00\x01"
    # an fqdn is lower-cased (Option4ClientFqdn), a name list decompressed (factoryFqdnList)
    assert value("option[81].hex", view((81, b"\x04\x00\x00\x01A\x00"))) == b"\x04\x00\x00\x01a\x00"
    assert value("option[119].hex", view((119, b"\x01a\x00\x01b\xc0\x00"))) == \
        b"\x01a\x00\x01b\x01a\x00"


def test_sub_options_need_an_encapsulating_definition():
    v = view((82, b"\x01\x03one"), (61, b"\x01\x03one"))
    assert holds("option[82].option[1].hex == 'one'", v)
    assert holds("option[82].option[1].exists and not option[82].option[2].exists", v)
    assert not holds("option[61].option[1].exists", v)          # binary: no sub-options
    assert not holds("option[99].option[1].exists", v)          # parent absent


def test_relay4():
    # token_unittest.cc relay4Option / relay4RAIOnly
    v = view((13, b"THIRTEEN"), (70, b"\x0a\x00\x00\x01"), (82, b"\x01\x03one\x0d\x08thirteen"))
    assert value("relay4[13].hex", v) == b"thirteen"
    assert value("relay4[1].hex", v) == b"one"
    assert value("relay4[70].hex", v) == b"" and value("relay4[15].hex", v) == b""
    assert holds("relay4[1].exists and not relay4[70].exists", v)
    assert value("relay4[13].hex", view()) == b""                # no RAI at all


def test_repeated_options_are_fused_into_a_generic_option():
    # fuseOptions4: two string instances keep their data; the fused option is generic
    raw = reference.discover(MAC, 1, extra_options=[(60, b"PXE"), (60, b"Client")])
    v = PacketView.from_datagram(raw)
    assert value("option[60].hex", v) == b"PXEClient"
    assert value("option[60].text", v) == b"type=060, len=009: 50:58:45:43:6c:69:65:6e:74"
    # typed classes keep nothing in data_: a fused uint16 array is empty
    raw = reference.discover(MAC, 1, extra_options=[(93, b"\x00\x07"), (93, b"\x00\x09")])
    assert value("option[93].hex", PacketView.from_datagram(raw)) == b""
    # from_packet sees one joined value of 4 bytes
    assert value("option[93].hex", PacketView.from_packet(reference.decode(raw))) == \
        b"\x00\x07\x00\x09"


def test_packets_kea_would_drop():
    v = view((3, b"\x0a\x00\x00"))                  # Option4AddrLst: not a multiple of 4
    assert v.drop_reason is not None
    with pytest.raises(PacketDropped):
        evaluate(parse("option[60].exists"), v)
    assert not holds("not option[60].exists", v)
    raw = bytearray(reference.discover(MAC, 1))
    raw[2] = 21                                      # hlen over HWAddr::MAX_HWADDR_LEN
    assert PacketView.from_datagram(bytes(raw)).drop_reason is not None


def test_truncated_vendor_option_stops_unpacking_but_keeps_the_packet():
    v = view((60, b"a"), (125, b"\x00\x00"), (12, b"host"))
    assert v.drop_reason is None and v.skipped_reason is not None
    assert holds("option[60].exists and not option[125].exists and not option[12].exists", v)


# --- vendor options (token_unittest.cc vendor4*, vendorClass4*) -----------------------------------

def vivso(enterprise: int, *subs: tuple[int, bytes]) -> tuple[int, bytes]:
    data = b"".join(bytes((c, len(v))) + v for c, v in subs)
    return 125, enterprise.to_bytes(4, "big") + bytes((len(data),)) + data


def vivco(enterprise: int, *chunks: bytes) -> tuple[int, bytes]:
    return 124, enterprise.to_bytes(4, "big") + b"".join(
        (enterprise.to_bytes(4, "big") if i else b"") + bytes((len(c),)) + c
        for i, c in enumerate(chunks))


@pytest.mark.parametrize("token, option, result", [
    ("vendor[4491].exists", None, False), ("vendor[4491].exists", 1234, False),
    ("vendor[4491].exists", 4491, True), ("vendor[*].exists", None, False),
    ("vendor[*].exists", 1234, True), ("vendor[0].exists", 4491, True),
    ("vendor-class[4491].exists", None, False), ("vendor-class[4491].exists", 1234, False),
    ("vendor-class[4491].exists", 4491, True), ("vendor-class[*].exists", 1234, True),
])
def test_vendor_exists(token, option, result):
    options = []
    if option is not None:
        options = [vivso(option) if token.startswith("vendor[") else vivco(option, b"x")]
    assert holds(token, view(*options)) is result


def test_vendor_enterprise_and_suboptions():
    assert value("vendor.enterprise", view()) == b""
    assert value("vendor.enterprise", view(vivso(1234))) == (1234).to_bytes(4, "big")
    assert value("vendor.enterprise", view(vivso(4294967295))) == b"\xff" * 4
    v = view(vivso(4491, (1, b"\x01\x02"), (2, b"\x0a\x00\x00\x01")))
    assert holds("vendor[4491].option[1].exists and not vendor[4491].option[3].exists", v)
    assert not holds("vendor[1234].option[1].exists", v)
    assert value("vendor[4491].option[1].hex", v) == b"\x01\x02"
    assert value("vendor[1234].option[1].hex", v) == b""
    assert value("vendor[4491].option[2].text", v) == b"type=002, len=004: 10.0.0.1"
    assert value("vendor[*].option[1].text", v) == b"type=001, len=002: 1(uint8) 2(uint8)"


def test_vendor_option_over_255_bytes_stops_unpacking():
    # RFC 3396 splits it; Kea 2.2 unpacks each instance alone, so the first is truncated
    # (SkipRemainingOptionsError): 125 and every later option are lost, nothing is fused.
    v = view(vivso(9, (1, b"x" * 251), (2, b"")), (60, b"after"))
    assert v.skipped_reason is not None
    assert not holds("vendor[*].exists or option[60].exists", v)
    assert holds("option[53].exists", v)


def test_vendor_suboption_that_does_not_fit_its_definition_drops_the_packet():
    # vendor-4491 option 2 is tftp-servers, an address list: 2 bytes cannot be one
    assert view(vivso(4491, (2, b"\x0a\x01"))).drop_reason is not None


def test_vendor_class_data():
    v = view(vivco(4491, b"docsis3.0", b"second"))
    assert value("vendor-class.enterprise", v) == (4491).to_bytes(4, "big")
    assert value("vendor-class[4491].data", v) == b"docsis3.0"
    assert value("vendor-class[*].data[1]", v) == b"second"
    assert value("vendor-class[4491].data[2]", v) == b""
    assert value("vendor-class[1234].data", v) == b""
    # Kea 2.2 never reads the enterprise id of a second block: its data counts as the first's
    two = (124, (4491).to_bytes(4, "big") + b"\x01a" + (9).to_bytes(4, "big") + b"\x01b")
    assert value("vendor-class[4491].data[1]", view(two)) == b"b"


# --- whole class tests like those in the ARM ------------------------------------------------------

def discover(**kwargs) -> PacketView:
    return PacketView.from_datagram(reference.discover(MAC, 7, **kwargs), iface="eth0",
                                    src="192.0.2.1", dst="192.0.2.254")


def test_pxe_by_client_system_93():
    efi = discover(extra_options=[(93, b"\x00\x07")])
    bios = discover(extra_options=[(93, b"\x00\x00")])
    assert holds("option[93].hex == 0x0007", efi) and not holds("option[93].hex == 0x0007", bios)
    assert holds("option[client-system].hex == 0x0000", bios)
    assert not holds("option[93].hex == 0x0007", discover())


def test_vendor_class_identifier_prefix():
    rule = "substring(option[60].hex,0,9) == 'PXEClient'"
    assert holds(rule, discover(extra_options=[(60, b"PXEClient:Arch:00007:UNDI:003016")]))
    assert not holds(rule, discover(extra_options=[(60, b"MSFT 5.0")]))
    assert not holds(rule, discover())                       # '' == 'PXEClient'


def test_circuit_id():
    relayed = discover(giaddr="192.0.2.1", relay_info=[(1, b"\x00\x04\x00\x01"), (2, b"r")])
    assert holds("relay4[1].hex == 0x00040001", relayed)
    assert holds("relay4[1].exists and relay4[2].hex == 'r'", relayed)
    assert not holds("relay4[1].exists", discover())


def test_member_sees_only_classes_joined_so_far():
    rule = parse("member('ALL') and not member('foo')")
    v = discover()
    assert matches(rule, v, {"ALL"})
    assert not matches(rule, v, {"ALL", "foo"})
    assert not matches(rule, v, ())


def test_client_id_and_mac_classes():
    v = discover(client_id=b"\x01" + MAC)
    assert holds("substring(option[61].hex,0,3) == 0x010102", v)
    assert holds("hexstring(pkt4.mac, ':') == '01:02:03:04:05:06'", v)
    assert holds("pkt4.mac == 0x010203040506 and pkt4.hlen == 6", v)


def test_from_packet_and_from_datagram_agree_on_ordinary_packets():
    raw = reference.discover(MAC, 9, hostname="h", client_id=b"\x01" + MAC,
                             relay_info=[(1, b"c")], giaddr="10.0.0.1",
                             extra_options=[(60, b"MSFT 5.0"), (93, b"\x00\x07")])
    a, b = PacketView.from_datagram(raw), PacketView.from_packet(reference.decode(raw))
    for expr in ("option[12].text", "option[60].hex", "option[82].text", "option[55].text",
                 "pkt.len", "pkt4.mac", "pkt4.giaddr", "relay4[1].hex", "option[93].text"):
        assert value(expr, a) == value(expr, b), expr


def test_eval_error_is_an_exception_type():
    assert issubclass(EvalTypeError, EvalError) and issubclass(PacketDropped, EvalError)
