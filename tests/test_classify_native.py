"""The native class tests (classify/compile.py to _native/classes.pyx) give what the reference
evaluator (classify/evaluate.py, Kea 2.2's semantics) gives: on hand-written tests of every
instruction, and on thousands of random well-typed expressions over random packets (a seeded
fuzz: the same seeds every run). A Kea error (EvalError) is "not in the class" for both."""

from __future__ import annotations

import random

import pytest

from fastdhcp import _core, reference
from fastdhcp.classify.compile import NotNative, compile_test
from fastdhcp.classify.evaluate import EvalError, PacketView, evaluate
from fastdhcp.classify.expression import parse

IFACE, SRC, DST = "eth7", "0.0.0.0", "255.255.255.255"
CLASSES = ["ALL", "pxe", "phones"]             # member() names; numbered by position


def packet(rng: random.Random) -> bytes:
    """A DISCOVER or REQUEST with a random pick of the options class tests look at."""
    mac = bytes([2, rng.randrange(256), 0, 0, rng.randrange(4), rng.randrange(256)])
    opts = bytearray([53, 1, rng.choice([1, 3])])
    if rng.random() < 0.6:
        v = rng.choice([b"PXEClient:Arch:00007:UNDI:003016", b"MSFT 5.0", b"udhcp 1.36.1",
                        b"PXEClient", b"Cisco Systems, Inc. IP Phone", b"x\x00\x00"])
        opts += bytes([60, len(v)]) + v
    if rng.random() < 0.5:
        opts += bytes([93, 2, 0, rng.choice([0, 6, 7, 9, 11])])
    if rng.random() < 0.4:
        v = rng.choice([b"web-1", b"Printer", b"a.b.c", b"\x00"])
        opts += bytes([12, len(v)]) + v
    if rng.random() < 0.4:
        opts += bytes([61, 7, 1]) + mac
    if rng.random() < 0.3:
        opts += bytes([50, 4, 10, 0, rng.randrange(3), rng.randrange(256)])
    if rng.random() < 0.4:
        circuit = rng.choice([b"port1", b"ge-0/0/1.100", b"\x00\x01\x02"])
        remote = rng.choice([b"sw1", b"\xaa\xbb\xcc\xdd\xee\xff"])
        rai = bytes([1, len(circuit)]) + circuit + bytes([2, len(remote)]) + remote
        opts += bytes([82, len(rai)]) + rai
    # vendor options last: a 125 Kea cannot unpack stops its unpacking there
    # (SkipRemainingOptionsError), which no later option may depend on
    if rng.random() < 0.35:
        opts += vendor_class(rng)
    if rng.random() < 0.45:
        opts += vivso(rng)
    opts += b"\xff"
    hdr = bytearray(reference.discover(mac, rng.randrange(1 << 32))[:240])
    if rng.random() < 0.3:                        # relayed
        hdr[24:28] = bytes([10, 1, rng.randrange(4), 1])
    if rng.random() < 0.2:
        hdr[12:16] = bytes([10, 0, 0, rng.randrange(1, 9)])
    return bytes(hdr) + bytes(opts)


def vivso(rng: random.Random) -> bytes:
    """Option 125: well formed for one of three vendors (DOCSIS's typed oro and tftp-servers
    among them), with repeated sub-options, or broken in one of the ways Kea treats apart."""
    enterprise = rng.choice([4491, 1027, 9])
    subs = b""
    for _ in range(rng.randrange(4)):
        code = rng.choice([1, 2, 7, 7])
        value = rng.choice([b"", b"\x02", b"\x02\x05", b"\x0a\x00\x00\x01", b"abc", b"port1"])
        subs += bytes([code, len(value)]) + value
    block = enterprise.to_bytes(4, "big") + bytes([len(subs)]) + subs
    k = rng.randrange(8)
    if k == 0:
        block = block[:rng.randrange(4)]                     # shorter than an enterprise id
    elif k == 1:
        block = enterprise.to_bytes(4, "big")                # no block
    elif k == 2 and subs:
        block = block[:-1]                                   # data-len past the end
    elif k == 3:
        block += (3).to_bytes(4, "big") + b"\x00"            # a second enterprise, unread
    out = bytes([125, len(block)]) + block
    if rng.random() < 0.1:
        out += out                                           # repeated: fused, no longer 125
    return out


def vendor_class(rng: random.Random) -> bytes:
    """Option 124: one or two vendor blocks, or broken."""
    enterprise = rng.choice([1027, 3561])
    data = enterprise.to_bytes(4, "big")
    for i in range(rng.randrange(3)):
        if i:
            data += enterprise.to_bytes(4, "big")
        tup = rng.choice([b"", b"phone", b"AP-1"])
        data += bytes([len(tup)]) + tup
    if rng.random() < 0.15:
        data = data[:rng.randrange(len(data))]
    return bytes([124, len(data)]) + data


STRINGS = ["option[60].hex", "option[60].text", "option[12].text", "option[61].hex",
           "option[93].hex", "option[50].hex", "relay4[1].hex", "relay4[2].hex",
           "option[82].option[1].hex", "pkt4.mac", "pkt4.hlen", "pkt4.htype", "pkt4.ciaddr",
           "pkt4.giaddr", "pkt4.yiaddr", "pkt4.siaddr", "pkt4.msgtype", "pkt4.transid",
           "pkt.iface", "pkt.src", "pkt.dst", "pkt.len", "'PXEClient'", "'port1'", "'7'",
           "0x0007", "0x00", "'MSFT 5.0'", "10.0.0.1", "1", "7", "''", "':'", "','",
           "vendor[4491].option[1].hex", "vendor[*].option[2].hex", "vendor[9].option[7].hex",
           "vendor[*].option[7].hex", "vendor.enterprise", "vendor-class[*].data",
           "vendor-class[1027].data[1]", "vendor-class.enterprise", "'port1abc'", "0x0000040b",
           "option[60].option[80].hex", "option[61].option[1].hex"]
BOOLS = ["option[60].exists", "option[12].exists", "option[93].exists", "relay4[1].exists",
         "relay4[9].exists", "option[82].option[2].exists", "member('ALL')",
         "member('pxe')", "member('phones')", "vendor[4491].exists", "vendor[*].exists",
         "vendor[1027].option[7].exists", "vendor[*].option[1].exists",
         "vendor-class[1027].exists", "vendor-class[*].exists"]


def string_expr(rng: random.Random, depth: int) -> str:
    if depth <= 0 or rng.random() < 0.35:
        return rng.choice(STRINGS)
    s = lambda: string_expr(rng, depth - 1)          # noqa: E731
    k = rng.randrange(10)
    if k == 0:
        return (f"substring({s()}, {rng.randint(-12, 12)}, "
                f"{rng.choice(['all', str(rng.randint(-12, 12))])})")
    if k == 1:
        return f"concat({s()}, {s()})" if rng.random() < 0.5 else f"{s()} + {s()}"
    if k == 2:
        return f"ifelse({bool_expr(rng, depth - 1)}, {s()}, {s()})"
    if k == 3:
        return f"hexstring({s()}, {rng.choice([repr(':'), repr(''), repr('-'), s()])})"
    if k == 4:
        return f"split({s()}, {rng.choice([repr(','), repr('.'), repr(':'), s()])}, " \
               f"{rng.randint(-1, 4)})"
    if k == 5:
        return f"addrtotext({s()})"
    if k == 6:
        return f"{rng.choice(['int8', 'int16', 'int32', 'uint8', 'uint16', 'uint32'])}" \
               f"totext({s()})"
    if k == 7:
        return f"{rng.choice(['lcase', 'ucase'])}({s()})"
    return s()


def bool_expr(rng: random.Random, depth: int) -> str:
    if depth <= 0 or rng.random() < 0.3:
        return rng.choice(BOOLS) if rng.random() < 0.5 else \
            f"{string_expr(rng, 0)} == {string_expr(rng, 0)}"
    b = lambda: bool_expr(rng, depth - 1)            # noqa: E731
    k = rng.randrange(5)
    if k == 0:
        return f"{string_expr(rng, depth - 1)} == {string_expr(rng, depth - 1)}"
    if k == 1:
        return f"not {b()}"
    if k == 2:
        return f"({b()} and {b()})"
    if k == 3:
        return f"({b()} or {b()})"
    return f"({b()})"


def reference_result(tree, data: bytes, joined: tuple[int, ...]):
    view = PacketView.from_datagram(data, iface=IFACE, src=SRC, dst=DST)
    try:
        return evaluate(tree, view, {CLASSES[c] for c in joined}) == b"true"
    except EvalError:
        return None


def native_result(tests: _core.ClassTests, k: int, data: bytes, joined: tuple[int, ...]):
    """The engine's answer; a datagram its parser drops as Kea drops it (a vendor option Kea
    cannot unpack: packet.py rule 9c) is in no class."""
    try:
        return tests.evaluate(k, data, IFACE, SRC, DST, joined)
    except _core.MalformedPacket:
        return None


def native(tests: _core.ClassTests, tree):
    prog = compile_test(tree, CLASSES.index)
    return tests.add(prog.words, prog.constants)


@pytest.mark.parametrize("text", [
    "option[60].text == 'PXEClient'",
    "substring(option[60].hex, 0, 9) == 'PXEClient'",
    "substring(option[60].hex, -5, all) == 'U:003016'",
    "option[93].hex == 0x0007 or option[93].hex == 0x0009",
    "relay4[1].hex == 'port1' and relay4[2].exists",
    "option[82].option[1].hex == 'port1'",
    "pkt4.mac == 0x020000000001",
    "not option[12].exists",
    "hexstring(pkt4.mac, ':') == '02:00:00:00:00:01'",
    "addrtotext(pkt4.giaddr) == '10.1.0.1'",
    "uint8totext(substring(option[93].hex, 1, 1)) == '7'",
    "int8totext(0xff) == '-1' and int16totext(0xfffe) == '-2' and uint32totext(1) == '1'",
    "split('a,b,,c', ',', 4) == 'c' and split('a,b', ',', 3) == ''",
    "ifelse(option[93].exists, 'x', 'y') == 'x'",
    "pkt.iface == 'eth7' and pkt.src == 0.0.0.0 and pkt.dst == 255.255.255.255",
    "lcase('ABC') == 'abc' and ucase('abc') == 'ABC'",
    "concat('a', 'b') + 'c' == 'abc'",
    "pkt4.msgtype == 1 and pkt4.htype == 1 and pkt4.hlen == 6",
    "member('pxe') and not member('phones')",
    "addrtotext(0x01) == ''",                       # an error in Kea: not in the class
    "uint16totext(option[60].hex) == ''",
    "vendor[4491].option[2].hex == 0x0a000001",
    "option[60].option[1].hex == '' and not option[61].option[1].exists",
    "option[43].option[1].hex == '' and not option[93].option[0].exists",
    "vendor[*].exists and vendor.enterprise == 0x0000118b",
    "vendor[1027].option[7].exists or vendor[9].option[7].hex == 'abc'",
    "vendor-class[1027].data == 'phone' or vendor-class[*].data[1] == 'AP-1'",
    "vendor-class[3561].exists and vendor-class.enterprise == 0x00000de9",
])
def test_each_instruction_as_the_reference_evaluates_it(text):
    rng = random.Random(text)
    tests = _core.ClassTests()
    tree = parse(text)
    k = native(tests, tree)
    for _ in range(40):
        data = packet(rng)
        joined = tuple(c for c in range(len(CLASSES)) if rng.random() < 0.5)
        assert native_result(tests, k, data, joined) == \
            reference_result(tree, data, joined), (text, data.hex())


def test_random_expressions_on_random_packets_agree_with_the_reference():
    rng = random.Random(20261207)
    tests = _core.ClassTests()
    checked = errors = trues = 0
    for n in range(3000):
        text = bool_expr(rng, rng.randint(1, 5))
        tree = parse(text)
        if len(tests) == 250:                # (a configuration holds at most 255)
            tests = _core.ClassTests()
        try:
            k = native(tests, tree)
        except NotNative:
            continue
        for _ in range(4):
            data = packet(rng)
            joined = tuple(c for c in range(len(CLASSES)) if rng.random() < 0.5)
            want = reference_result(tree, data, joined)
            got = native_result(tests, k, data, joined)
            assert got == want, (text, data.hex(), joined)
            checked += 1
            errors += want is None
            trues += want is True
    assert checked > 8000 and errors > 50 and trues > 500, (checked, errors, trues)


def test_what_the_native_path_does_not_evaluate_is_said_with_its_column():
    for text, col in (("option[54].text == '10.0.0.1'", 1),
                      ("vendor[4491].option[1].text == 'x'", 1),
                      ("'x' == relay4[1].text", 8)):
        with pytest.raises(NotNative) as e:
            compile_test(parse(text), CLASSES.index)
        assert e.value.column == col, text
