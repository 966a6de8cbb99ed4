"""The native lease JSON (Allocator.walk_json, for lease4-get-all and lease4-get-page) is byte for
byte what control/leases.py's lease_json gives through json.dumps, whatever the host name holds."""

from __future__ import annotations

import ipaddress

from fastdhcp import _core
from fastdhcp._enums import LeaseState
from fastdhcp.control.answers import to_json
from fastdhcp.control.leases import lease_json

NOW = 1_800_000_000
NAMES = ["", "plain.example", 'quo"te', "back\\slash", "tab\there", "nl\nx", "\x01\x1f\x7f",
         "caf\u00e9", "\u65e5\u672c", "emoji-\U0001f600"]


def ip(s):
    return int(ipaddress.IPv4Address(s))


def table():
    a = _core.Allocator()
    a.add_subnet(1, "10.0.0.0/24", [(ip("10.0.0.10"), ip("10.0.0.49")),
                                    (ip("10.0.0.50"), ip("10.0.0.99"))])
    a.add_subnet(7, "10.0.1.0/24", [(ip("10.0.1.10"), ip("10.0.1.200"))])
    rows = []
    for i, name in enumerate(NAMES * 3):
        sid, net = (1, "10.0.0") if i % 3 else (7, "10.0.1")
        state = LeaseState.DECLINED if i % 7 == 3 else LeaseState.BOUND
        rows.append((f"{net}.{10 + i * 3}", bytes([2, 0, 0, 0, i >> 8, i & 255]),
                     bytes([1, 2, i]) if i % 2 else b"", 600 + i, NOW + 600 + i, sid, state,
                     name))
    rows.append(("10.0.0.98", bytes(range(6)), b"", 600, NOW - 10, 1, LeaseState.BOUND,
                 "\xff\xfe"))
    a.load(rows, now=NOW)
    return a


def python_text(alloc, after, limit, subnets=None):
    leases, nxt = alloc.walk(after, limit)
    items = [lease_json(l) for l in leases if subnets is None or l.subnet_id in subnets]
    return to_json(items)[1:-1].encode(), len(items), nxt


def test_the_native_text_is_the_python_text():
    alloc = table()
    text, count, nxt = alloc.walk_json(-1, 1000)
    assert (text, count, nxt) == python_text(alloc, -1, 1000)
    assert count > 20


def test_slices_and_subnet_filters_agree():
    alloc = table()
    after, texts = -1, []
    while after is not None:
        text, count, after2 = alloc.walk_json(after, 4)
        assert (text, count, after2) == python_text(alloc, after, 4)
        texts.append(text)
        after = after2
    text, count, _ = alloc.walk_json(-1, 1000, {7})
    assert (text, count) == python_text(alloc, -1, 1000, {7})[:2] and count > 0
    assert alloc.walk_json(-1, 1000, {99})[:2] == (b"", 0)          # (no such subnet)
