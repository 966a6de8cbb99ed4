"""Batched I/O on loopback (no privileges, high ports): recvmmsg into the batch's slots with
IP_PKTINFO, parse, build replies in place, sendmmsg them back to each sender."""

import select
import socket

import pytest

import fastdhcp
from fastdhcp import reference as ref

IP_PKTINFO = getattr(socket, "IP_PKTINFO", 8)
LEAD = ref.tlv(54, ref.ip("127.0.0.1")) + ref.tlv(51, (600).to_bytes(4, "big"))


@pytest.fixture
def server():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.IPPROTO_IP, IP_PKTINFO, 1)
    s.bind(("127.0.0.1", 0))
    s.setblocking(False)
    yield s
    s.close()


@pytest.fixture
def clients():
    socks = []
    for _ in range(5):
        c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        c.bind(("127.0.0.1", 0))
        c.settimeout(2)
        socks.append(c)
    yield socks
    for c in socks:
        c.close()


def wait_readable(sock, timeout=2.0):
    assert select.select([sock], [], [], timeout)[0], "nothing arrived"


def test_receive_parse_build_send_round_trip(server, clients):
    port = server.getsockname()[1]
    for i, c in enumerate(clients):
        c.sendto(ref.discover(bytes((2, 0, 0, 0, 0, i)), 0x1000 + i, prl=(1, 3)), ("127.0.0.1", port))
    server.sendto(b"garbage", ("127.0.0.1", port))          # counted and dropped, not fatal
    wait_readable(server)
    batch = fastdhcp.PacketBatch(16)
    # loopback queues a datagram during sendto, so all six wait: one recvmmsg takes them all
    assert batch.receive(server.fileno()) == 6
    assert batch.parse() == 5
    assert batch.counters()["drops"] == {"too-short": 1}
    addr, sport = batch.source(0)
    ifindex, local, dst = batch.arrival(0)
    assert addr == "127.0.0.1" and sport == clients[0].getsockname()[1]
    assert ifindex > 0 and dst == "127.0.0.1" and local == "127.0.0.1"
    opts = fastdhcp.OptionSet({1: ref.ip("255.0.0.0"), 3: ref.ip("127.0.0.1")})
    assert batch.build_replies(2, "127.0.0.77", "0.0.0.0", LEAD, opts) == 5
    for i in range(batch.count):
        batch.reply_to(i, *batch.source(i))
    assert batch.send(server.fileno()) == 5                  # the garbage slot has no reply
    for i, c in enumerate(clients):
        reply = fastdhcp.decode(c.recv(4096))
        assert (reply.msg_type, reply.xid, reply.yiaddr) == (2, 0x1000 + i, "127.0.0.77")
        assert [code for code, _ in reply.options] == [53, 54, 51, 1, 3]


def test_receive_without_data_returns_zero(server):
    assert fastdhcp.PacketBatch(4).receive(server.fileno()) == 0


def test_oversized_datagram_drops_as_too_long(server, clients):
    port = server.getsockname()[1]
    clients[0].sendto(ref.discover(b"\2" * 6, 1) + bytes(5000), ("127.0.0.1", port))
    wait_readable(server)
    batch = fastdhcp.PacketBatch(4)
    assert batch.receive(server.fileno()) == 1
    assert batch.parse() == 0
    assert batch.status_of(0) == fastdhcp.DropReason.TOO_LONG


def test_send_failure_is_counted_and_the_rest_still_go(server, clients):
    port = server.getsockname()[1]
    for i in range(2):
        clients[i].sendto(ref.discover(bytes((2, 0, 0, 0, 1, i)), i), ("127.0.0.1", port))
    wait_readable(server)
    batch = fastdhcp.PacketBatch(4)
    assert batch.receive(server.fileno()) == 2
    batch.parse()
    batch.build_replies(2, "127.0.0.9", "0.0.0.0", LEAD, fastdhcp.OptionSet({}))
    batch.reply_to(0, "0.0.0.0", 0)                          # refused by the kernel
    batch.reply_to(1, *batch.source(1))
    assert batch.send(server.fileno()) == 1
    assert batch.counters()["send-failed"] == 1
    assert fastdhcp.decode(clients[1].recv(4096)).xid == 1
