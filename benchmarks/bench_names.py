"""What a client's name costs per packet: the native decision on option 12 and option 81
(_native/names.pyx: check, sanitise, lower-case, qualify, the reply's option), and the Python
rendering of one NameChangeRequest (fastdhcp/ddns: DHCID, JSON, length prefix), the part of
DNS updates the loop pays per new lease. Figures are printed, never asserted.

    taskset -c 1 python -m pytest benchmarks/bench_names.py -s
"""

from __future__ import annotations

import pytest

from fastdhcp import _core
from fastdhcp.ddns import to_wire
from fastdhcp.ddns.ncr import NameChange

CASES = {
    "no name": dict(),
    "12 plain": dict(host=b"laptop-42"),
    "12 qualified + sanitised": dict(host=b"My_Laptop 42", suffix="example.org"),
    "12 custom regex": dict(host=b"My_Laptop 42", char_set="[^a-z0-9-]|^-", suffix="example.org"),
    "81 wire, updates": dict(fqdn=b"\x05\x00\x00\x06laptop\x07example\x03org\x00", updates=True),
    "81 partial + suffix": dict(fqdn=b"\x05\x00\x00\x06laptop", suffix="example.org",
                                updates=True),
}


@pytest.mark.parametrize("name", list(CASES))
def test_native_name_decision(benchmark, name):
    kw = CASES[name]
    ns, *_ = benchmark(_core.time_client_name, n=100_000, **kw)
    runs = sorted(_core.time_client_name(n=200_000, **kw)[0] for _ in range(5))
    print(f"\n  {name:<26} {runs[2]:6.1f} ns per packet (median of 5 x 200,000)")


def test_name_change_request_rendering(benchmark):
    c = NameChange(0, "192.0.2.10", 1_700_000_000, 3600, "laptop-42.example.org.", True, True,
                   True, 0, b"\x01\x02\x00\x00\x00\x00\x07")
    data = benchmark(to_wire, c)
    assert data[2:3] == b"{"
    print(f"\n  NameChangeRequest rendered: {benchmark.stats['median'] * 1e6:.2f} us each")
