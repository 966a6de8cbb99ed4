"""What client classification costs per packet: the native evaluation of typical class tests
(_native/classes.pyx, what the engine pays per class per packet) next to the reference
evaluator (pure Python, Kea's semantics). Target: a 3-term test on options 60, 93 and 82 in
<= 30 ns. Figures are printed, never asserted.

    taskset -c 1 python -m pytest benchmarks/bench_classes.py -s
"""

from __future__ import annotations

import pytest

from fastdhcp import _core, reference
from fastdhcp.classify.compile import compile_test
from fastdhcp.classify.evaluate import PacketView, evaluate
from fastdhcp.classify.expression import parse

MAC = bytes([2, 0, 0, 0, 0, 7])
TESTS = {
    "3-term (60, 93, 82)": "substring(option[60].hex, 0, 9) == 'PXEClient' and "
                           "option[93].hex == 0x0007 and relay4[1].hex == 'ge-0/0/1'",
    "vendor class (60)": "substring(option[60].hex, 0, 9) == 'PXEClient'",
    "circuit id (82)": "relay4[1].hex == 'ge-0/0/1'",
    "mac prefix": "substring(pkt4.mac, 0, 3) == 0x020000",
    "hexstring + concat": "concat(hexstring(pkt4.mac, ':'), '/') == '02:00:00:00:00:07/'",
    "vendor (125, 124)": "vendor[1027].option[7].hex == 'sip' and "
                         "vendor-class[1027].data == 'phone'",
}


def pxe_discover() -> bytes:
    return reference.discover(MAC, 0x1234, giaddr="10.1.0.1",
                              extra_options=[(60, b"PXEClient:Arch:00007:UNDI:003016"),
                                             (93, b"\x00\x07"),
                                             (124, b"\x00\x00\x04\x03\x05phone"),
                                             (125, b"\x00\x00\x04\x03\x05\x07\x03sip")],
                              relay_info=[(1, b"ge-0/0/1"), (2, b"sw1")])


@pytest.mark.parametrize("name", list(TESTS))
def test_native_evaluation(benchmark, name):
    tests = _core.ClassTests()
    prog = compile_test(parse(TESTS[name]), lambda n: 0)
    k = tests.add(prog.words, prog.constants)
    data = pxe_discover()
    assert tests.evaluate(k, data) is True
    # one call evaluates 100,000 times natively: the benchmark's unit is that call
    ns, hits = benchmark(tests.time_evaluation, k, data, 100_000)
    assert hits == 100_000
    ns_runs = sorted(tests.time_evaluation(k, data, 200_000)[0] for _ in range(5))
    print(f"\n  {name:<22} native {ns_runs[2]:6.1f} ns per evaluation (median of 5 x 200,000)")


@pytest.mark.parametrize("name", ["3-term (60, 93, 82)"])
def test_reference_evaluation(benchmark, name):
    tree = parse(TESTS[name])
    view = PacketView.from_datagram(pxe_discover(), iface="eth0", src="10.1.0.1",
                                    dst="10.0.0.1")
    assert benchmark(evaluate, tree, view, ()) == b"true"
