"""The lookup indexes (leaseindex.pyx, Allocator.lookup) give what a walk of the whole table
gives, through any sequence of binds, renewals with new host names, releases, declines,
reclaims, removals and table growth: built early (then kept by every change) or late (built
from the table as it is)."""

from __future__ import annotations

import ipaddress
import random

import pytest

from fastdhcp import _core
from fastdhcp._enums import LeaseState

NOW = 1_800_000_000
KEA_STATE = {LeaseState.BOUND: 0, LeaseState.DECLINED: 1, LeaseState.EXPIRED: 2}
NAMES = ["", "web-1", "WEB-1", "db.example", "Db.Example", "printer", "x" * 255]


def ip(s):
    return int(ipaddress.IPv4Address(s))


def table():
    a = _core.Allocator()
    a.add_subnet(1, "10.0.0.0/20", [(ip("10.0.0.10"), ip("10.0.15.200"))])
    a.add_subnet(2, "10.1.0.0/24", [(ip("10.1.0.10"), ip("10.1.0.250"))])
    return a


def everything(a):
    out, after = [], -1
    while after is not None:
        chunk, after = a.walk(after, 1000)
        out += chunk
    return out


def expected(listed, kind, value, subnet_id=None):
    def holds(l):
        if kind == "hostname":
            return l.hostname.lower() == value.lower() and l.hostname != ""
        if kind == "hw-address":
            return l.hwaddr == value
        if kind == "client-id":
            return l.client_id == value and value != b""
        return KEA_STATE[l.state] == value
    return [l.address for l in listed
            if holds(l) and (subnet_id is None or l.subnet_id == subnet_id)]


def looked_up(a, kind, value, subnet_id=None):
    return [l.address for l in a.lookup(kind, value, subnet_id)]


def check(a, rng, clients):
    listed = everything(a)
    for name in NAMES[1:]:
        assert looked_up(a, "hostname", name) == expected(listed, "hostname", name), name
    for hw, cid in rng.sample(clients, 20):
        assert looked_up(a, "hw-address", hw) == expected(listed, "hw-address", hw)
        if cid:
            assert looked_up(a, "client-id", cid) == expected(listed, "client-id", cid)
        assert looked_up(a, "hw-address", hw, 2) == expected(listed, "hw-address", hw, 2)
    for state in (0, 1, 2):
        assert looked_up(a, "state", state) == expected(listed, "state", state)
        assert looked_up(a, "state", state, 1) == expected(listed, "state", state, 1)


@pytest.mark.parametrize("build_early", [True, False])
def test_lookups_agree_with_a_walk_through_random_changes(build_early):
    rng = random.Random(1234 + build_early)
    a = table()
    clients = [(bytes([2, 0, rng.randrange(256), i >> 16 & 255, i >> 8 & 255, i & 255]),
                bytes([1, 7, i & 255, i >> 8]) if i % 3 == 0 else None) for i in range(3000)]
    if build_early:
        assert a.lookup("state", 0) == []
    now = NOW
    held: dict[int, str] = {}
    for step in range(9000):
        i = rng.randrange(len(clients))
        hw, cid = clients[i]
        sid = 2 if i % 10 == 0 else 1
        op = rng.random()
        if op < 0.6 or i not in held:
            addr = a.offer(sid, hw, client_id=cid, now=now)
            if addr and a.request(sid, hw, addr, client_id=cid, lifetime=rng.choice([30, 3600]),
                                  now=now, hostname=rng.choice(NAMES)) == "ack":
                held[i] = addr
        elif op < 0.75:
            a.release(sid, hw, held.pop(i), client_id=cid, now=now)
        elif op < 0.85:
            a.decline(sid, hw, held.pop(i), client_id=cid, now=now)
        elif op < 0.9:
            a.remove(held.pop(i), now)
        else:
            now += rng.choice([1, 40, 4000])
            a.reclaim(now)
        if step % 1500 == 1499:
            a.drain_journal()
            check(a, rng, clients)
    a.drain_journal()
    assert a.lease_count > 1024          # the table grew past its first capacity on the way
    check(a, rng, clients)
    listed = everything(a)               # (and every kind of lookup had something to find)
    assert all(expected(listed, "state", s) for s in (0, 1, 2))
    assert len(expected(listed, "hostname", "web-1")) > 10


def test_unknown_values_and_bad_states_find_nothing():
    a = table()
    assert a.lookup("hostname", "nobody") == []
    assert a.lookup("hostname", "") == []
    assert a.lookup("hw-address", b"\x01\x02") == []
    assert a.lookup("state", 3) == []
    assert a.lookup("state", 0, 99) == []


def test_a_build_in_steps_follows_the_changes_made_between_them():
    rng = random.Random(99)
    a = table()
    clients = [(bytes([2, 1, 0, 0, i >> 8, i & 255]), None) for i in range(2500)]
    for hw, cid in clients[:2000]:       # a table to build over
        addr = a.offer(1, hw, now=NOW)
        a.request(1, hw, addr, lifetime=3600, now=NOW, hostname=rng.choice(NAMES))
    steps = 0
    while not a.prepare_lookups(100):    # changes between the steps, before and after the
        steps += 1                       # build's position
        hw, _ = rng.choice(clients)
        lease = a.lease_of(1, hw)
        if lease is not None and rng.random() < 0.5:
            a.release(1, hw, lease.address, now=NOW)
        else:
            addr = a.offer(1, hw, now=NOW)
            if addr:
                a.request(1, hw, addr, lifetime=3600, now=NOW, hostname=rng.choice(NAMES))
    assert steps >= 19
    a.drain_journal()
    check(a, rng, clients)
