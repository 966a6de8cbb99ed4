"""`fastdhcp bench`, the load generator, checked on its own.

1. Counting, against a tiny known server on loopback (unprivileged ports): a pure-Python responder
   (reference codec) that answers by a script (drop every k-th DISCOVER, NAK every m-th REQUEST,
   send junk and stray replies), so every counter the generator reports has an exact expected
   value.
2. The duplicate-address detector: the tiny server hands one address to every client.
3. Relay and broadcast modes end to end in network namespaces against the real server
   (`fastdhcp serve`), including the renew/release/decline/inform mix, the ACK log and the
   validations; and relay mode against kea-dhcp4 too.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time

import pytest

from fastdhcp import reference
from fastdhcp._lab import netlab
from fastdhcp.tools import bench
from fastdhcp.packet import MsgType

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OFFER, ACK, NAK = int(MsgType.DHCPOFFER), int(MsgType.DHCPACK), int(MsgType.DHCPNAK)
SERVER_ID = "127.0.0.1"


class TinyServer:
    """Answers the generator by a script. Addresses: client with MAC ending n -> 10.0.(n>>8).(n&255)
    (or one address for all with ``same_address``)."""

    def __init__(self, *, drop_discover_every=0, nak_request_every=0, junk_every=0,
                 same_address=False, lease_time=3600, offer_delay=0.0, answer_requests=True,
                 address="127.0.0.1", port=0):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((address, port))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.drop_discover_every, self.nak_request_every = drop_discover_every, nak_request_every
        self.junk_every, self.same_address, self.lease_time = junk_every, same_address, lease_time
        self.offer_delay, self.answer_requests = offer_delay, answer_requests
        self.discover_xid: dict[bytes, int] = {}
        self.request_xid_not_the_offers = 0      # RFC 2131 Table 5: a SELECTING REQUEST keeps it
        self.seen = {"discover": 0, "request": 0, "release": 0, "decline": 0, "inform": 0}
        self.sent = {"offer": 0, "ack": 0, "nak": 0, "junk": 0, "stray": 0, "dropped": 0}
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def address(self, chaddr: bytes) -> str:
        if self.same_address:
            return "10.0.9.9"
        n = int.from_bytes(chaddr[3:6], "big")
        return f"10.0.{(n >> 8) & 255}.{n & 255}"

    def serve(self):
        while not self.stop.is_set():
            try:
                data, peer = self.sock.recvfrom(4096)
            except TimeoutError:
                continue
            p = reference.decode(data, requests_only=True)
            kind = {1: "discover", 3: "request", 7: "release", 4: "decline", 8: "inform"}[p.msg_type]
            self.seen[kind] += 1
            lead = reference.tlv(54, reference.ip(SERVER_ID))
            if kind == "request" and p.option(54) is not None and \
                    self.discover_xid.get(p.chaddr) != p.xid:
                self.request_xid_not_the_offers += 1
            if kind == "discover":
                self.discover_xid[p.chaddr] = p.xid
                if self.drop_discover_every and self.seen[kind] % self.drop_discover_every == 0:
                    self.sent["dropped"] += 1
                    continue
                lead += reference.tlv(51, self.lease_time.to_bytes(4, "big"))
                reply = reference.build_reply(p, OFFER, self.address(p.chaddr), "0.0.0.0", lead, {})
                self.sent["offer"] += 1
                time.sleep(self.offer_delay)         # (one at a time: each later than the last)
            elif kind == "request" and not self.answer_requests:
                continue
            elif kind == "request":
                if self.nak_request_every and self.seen[kind] % self.nak_request_every == 0:
                    reply = reference.build_reply(p, NAK, "0.0.0.0", "0.0.0.0", lead, {})
                    self.sent["nak"] += 1
                else:
                    lead += reference.tlv(51, self.lease_time.to_bytes(4, "big"))
                    reply = reference.build_reply(p, ACK, self.address(p.chaddr), "0.0.0.0", lead, {})
                    self.sent["ack"] += 1
            elif kind == "inform":
                reply = reference.build_reply(p, ACK, "0.0.0.0", "0.0.0.0", lead, {})
                self.sent["ack"] += 1
            else:
                continue
            self.sock.sendto(reply, peer)
            if self.junk_every and (self.seen["discover"] + self.seen["request"]) % self.junk_every == 0:
                self.sock.sendto(b"\x02junk", peer)                  # malformed
                stray = bytearray(reply)
                stray[4:8] = (int.from_bytes(stray[4:8], "big") ^ 0x5A5A5A5A).to_bytes(4, "big")
                self.sock.sendto(bytes(stray), peer)                 # nobody's xid
                self.sent["junk"] += 1
                self.sent["stray"] += 1

    def close(self):
        self.stop.set()
        self.thread.join(2)
        self.sock.close()


@pytest.fixture
def tiny():
    servers = []

    def make(**kw):
        servers.append(TinyServer(**kw))
        return servers[-1]
    yield make
    for s in servers:
        s.close()


def loopback_run(server: TinyServer, **kw) -> dict:
    opts = bench.Options(server="127.0.0.1", giaddr="127.0.0.1", server_port=server.port,
                         local_port=0, progress=False, subnet="10.0.0.0/16",
                         server_id=SERVER_ID, **{"timeout": 0.5, "duration": 20.0, **kw})
    return bench.run(opts)


def test_counts_match_a_known_server_exactly(tiny):
    srv = tiny(drop_discover_every=10, nak_request_every=7, junk_every=25)
    rep = loopback_run(srv, window=16, count=1000, clients=300)
    dora = rep["exchanges"]["dora"]
    c = rep["counters"]
    assert dora["started"] == 1000 == srv.seen["discover"]
    # every exchange ends once: completed (an ACK) or lost (no OFFER, or a NAK)
    assert dora["completed"] == srv.sent["ack"]
    assert dora["lost"] == srv.sent["dropped"] + srv.sent["nak"]
    assert dora["completed"] + dora["lost"] == 1000
    assert c["offers"] == srv.sent["offer"] == srv.seen["request"]
    assert srv.request_xid_not_the_offers == 0
    assert c["acks"] == srv.sent["ack"] and c["nak"] == srv.sent["nak"]
    assert c["malformed"] == srv.sent["junk"] and c["unexpected"] == srv.sent["stray"]
    assert c["sent"] == srv.seen["discover"] + srv.seen["request"]
    assert c["received"] == srv.sent["offer"] + srv.sent["ack"] + srv.sent["nak"] + \
        srv.sent["junk"] + srv.sent["stray"]
    assert c["duplicates"] == c["wrong-subnet"] == c["wrong-server-id"] == c["wrong-type"] == 0
    assert rep["latency_ms"]["discover-offer"]["p50"] is not None
    assert rep["lost_percent"] == pytest.approx(100 * dora["lost"] / 1000)


def test_a_relay_with_two_helper_addresses_takes_the_first_answer(tiny):
    # every request goes to both servers (127.0.0.1 and .2, one port); the faster one's replies
    # answer the exchanges, the slower one's are counted as later answers, not as errors
    fast = tiny()
    slow = tiny(offer_delay=0.003, address="127.0.0.2", port=fast.port)
    rep = loopback_run(fast, servers=["127.0.0.2"], window=8, count=300, clients=100)
    dora, c = rep["exchanges"]["dora"], rep["counters"]
    assert dora["completed"] == 300 and dora["lost"] == 0
    assert fast.seen["discover"] == 300 and slow.seen["discover"] > 0     # both asked
    assert c["sent"] == 2 * (fast.seen["discover"] + fast.seen["request"])
    first = rep["first_answers_by_server"]
    assert set(first) == {"127.0.0.1", "127.0.0.2"}
    assert sum(first.values()) == c["offers"] + c["acks"]
    assert first["127.0.0.1"] > first["127.0.0.2"]
    assert c["later-answers"] > 0 and c["wrong-type"] == c["unexpected"] == c["duplicates"] == 0


def test_open_loop_rate_and_the_mix(tiny):
    srv = tiny()
    rep = loopback_run(srv, rate=400, duration=2.5, clients=200,
                       mix={"renew": 0.2, "release": 0.1, "decline": 0.05, "inform": 0.1})
    ex = rep["exchanges"]
    total = sum(e["started"] for e in ex.values())
    assert 800 <= total <= 1010                        # 400/s for 2.5 s, bounded by the schedule
    assert sum(e["lost"] for e in ex.values()) == 0
    assert srv.seen["release"] == ex["release"]["started"] > 0
    assert srv.seen["decline"] == ex["decline"]["started"] > 0
    assert srv.seen["inform"] == ex["inform"]["started"] > 0
    assert srv.seen["request"] == ex["dora"]["started"] + ex["renew"]["started"]
    assert ex["renew"]["completed"] == ex["renew"]["started"] > 0


def test_every_exchange_ends_completed_or_lost(tiny):
    # OFFERs that come after the timeout are lost (and out of the latencies), even when the
    # timeout scan has not run yet
    late = loopback_run(tiny(offer_delay=0.3), window=4, count=6, timeout=0.25)["exchanges"]["dora"]
    assert (late["started"], late["completed"], late["lost"]) == (6, 0, 6)
    # REQUESTs never answered, some sent during the final drain: lost all the same
    unanswered = loopback_run(tiny(answer_requests=False), window=4, count=10,
                              timeout=0.3)["exchanges"]["dora"]
    assert (unanswered["started"], unanswered["completed"], unanswered["lost"]) == (10, 0, 10)


def test_count_alone_bounds_the_run_and_do_stays_do(tiny):
    # --count without --duration (duration 0) runs until the count; --exchange do with a mix
    # falls back to DISCOVER/OFFER, not to full DORAs, while nobody holds a lease
    srv = tiny()
    rep = loopback_run(srv, window=8, count=50, duration=0, exchange="do",
                       mix={"renew": 0.3})
    assert rep["exchanges"]["do"]["completed"] == 50 and "dora" not in rep["exchanges"]
    assert srv.seen["request"] == 0


def test_open_loop_counts_the_starts_it_had_to_skip(tiny):
    # 4 clients, 400/s, nothing answered within the 0.5 s timeout: most due starts find every
    # client busy; they are counted as skipped (and not tried one by one)
    rep = loopback_run(tiny(drop_discover_every=1), rate=400, duration=1.0, clients=4,
                       timeout=0.5)
    dora = rep["exchanges"]["dora"]
    assert dora["completed"] == 0 and dora["lost"] == dora["started"]
    skipped = rep["counters"]["skipped"]
    assert skipped > 10 * dora["started"] and dora["started"] + skipped <= 410   # the schedule


def test_duplicate_detector_catches_an_address_given_twice(tiny):
    srv = tiny(same_address=True)
    rep = loopback_run(srv, window=1, count=3, clients=3)
    assert rep["counters"]["duplicates"] == 2
    addr, first, second = rep["duplicate_example"]
    assert addr == "10.0.9.9" and first != second
    assert "DUPLICATE ADDRESSES" in bench.format_report(rep)


def test_validation_counts_wrong_subnet_and_server_id(tiny):
    srv = tiny()
    opts = bench.Options(server="127.0.0.1", giaddr="127.0.0.1", server_port=srv.port,
                         local_port=0, progress=False, subnet="192.0.2.0/24",
                         server_id="127.0.0.2", timeout=0.5, window=4, count=20, clients=20)
    rep = bench.run(opts)
    assert rep["counters"]["wrong-server-id"] == 20       # every OFFER names 127.0.0.1
    assert rep["exchanges"]["dora"]["lost"] == 20
    opts.server_id = None
    rep = bench.run(opts)
    assert rep["counters"]["wrong-subnet"] == 20          # 10.0.x.y is not in 192.0.2.0/24


def test_bad_options_are_refused_with_a_reason():
    for kw, text in (({"rate": 0, "window": 0}, "exactly one of --rate"),
                     ({"rate": 10, "window": 5}, "exactly one of --rate"),
                     ({"window": 10, "clients": 5}, "cannot exceed --clients"),
                     ({"window": 1, "mix": {"renew": 0.5}, "interface": "lo",
                       "giaddr": None}, "needs relay mode"),
                     ({"window": 1, "mix": {"bogus": 0.1}}, "unknown exchange"),
                     ({"window": 1, "exchange": "dhcp"}, "must be dora or do")):
        with pytest.raises(bench.BenchError, match=text):
            bench.run(bench.Options(server="127.0.0.1", progress=False, **kw))


# =================================================================================================
# end to end: namespaces, the real server (and kea-dhcp4)
# =================================================================================================

lab = netlab.lab_fixture(scope="module")

SERVER_IP, GEN_IP, RELAY_IP = "198.18.0.1", "198.18.0.2", "198.19.0.1"


def server_config(lab, server_if, *, socket_type="udp", subnet="198.19.0.0/16",
                  pool="198.19.1.0 - 198.19.255.254", lease_time=3600):
    return {"Dhcp4": {
        "interfaces-config": {"interfaces": [server_if], "dhcp-socket-type": socket_type},
        "lease-database": {"type": "memfile", "persist": True, "lfc-interval": 0,
                           "name": lab.path(f"leases-{server_if}.csv")},
        "valid-lifetime": lease_time,
        "subnet4": [{"id": 1, "subnet": subnet, "pools": [{"pool": pool}],
                     "option-data": [{"name": "routers", "data": subnet.split("/")[0][:-1] + "1"}]}],
        "loggers": [{"name": "kea-dhcp4", "severity": "WARN",
                     "output_options": [{"output": lab.path(f"server-{server_if}.log")}]}],
    }}


def start(lab, ns, cfg, name, server="fastdhcp"):
    path = lab.path(f"{name}.json")
    with open(path, "w") as f:
        json.dump(cfg, f)
    return lab.start_server(ns, path, server=server, name=name)


def bench_cli(lab, ns, *args, timeout=60):
    """`fastdhcp bench` as a user runs it, inside namespace ns; returns (status, report)."""
    out = lab.path(f"bench-{abs(hash(args))}.json")
    r = subprocess.run(["ip", "netns", "exec", ns, sys.executable, "-m", "fastdhcp", "bench",
                        *args, "--json", out, "-q"], capture_output=True, text=True,
                       timeout=timeout, cwd=REPO, env=dict(os.environ, PYTHONPATH=REPO))
    assert r.returncode in (0, 1), r.stderr
    with open(out) as f:
        return r.returncode, json.load(f), r.stdout


@pytest.fixture(scope="module")
def relay_lab(lab):
    srv, gen = lab.netns("bsrv"), lab.netns("bgen")
    link = lab.link(srv, gen, f"{SERVER_IP}/30", f"{GEN_IP}/30")
    lab.addr(gen, link.if_b, f"{RELAY_IP}/16")
    lab.addr(gen, link.if_b, "198.19.0.2/16")             # a second generator process
    lab.ip(srv, "route", "add", "198.19.0.0/16", "via", GEN_IP)
    return srv, gen, link


# kea-dhcp4 answers a relayed INFORM at its ciaddr (RFC 2131 §4.3.5), an address the generator
# does not have; fastdhcp answers it through the relay (§4.1), so only its mix has informs.
MIX = {"fastdhcp": "renew=0.2,release=0.05,decline=0.02,inform=0.05",
       "kea": "renew=0.2,release=0.05,decline=0.02"}


@pytest.mark.parametrize("server", ["fastdhcp", "kea"])
def test_relay_mode_with_the_mix_against_a_real_server(lab, relay_lab, server):
    srv, gen, link = relay_lab
    proc = start(lab, srv, server_config(lab, link.if_a), f"relay-{server}", server)
    try:
        ack_log = lab.path(f"acks-{server}.csv")
        status, rep, text = bench_cli(
            lab, gen, SERVER_IP, "--giaddr", RELAY_IP, "--rate", "500", "--duration", "3",
            "--clients", "400", "--subnet", "198.19.0.0/16", "--server-id", SERVER_IP,
            "--mix", MIX[server], "--ack-log", ack_log)
    finally:
        lab.stop(proc)
    assert status == 0, text
    ex, c = rep["exchanges"], rep["counters"]
    assert all(e["lost"] == 0 for e in ex.values()), ex
    for kind in ("dora", "renew", "release", "decline") + (("inform",) if server == "fastdhcp" else ()):
        assert ex[kind]["completed"] > 0, kind
    assert c["duplicates"] == c["malformed"] == c["unexpected"] == c["wrong-subnet"] == 0
    assert c["wrong-server-id"] == c["nak"] == 0
    with open(ack_log) as f:
        rows = [line.split(",") for line in f.read().splitlines()]
    assert len(rows) == c["acks"] - ex.get("inform", {"completed": 0})["completed"]
    assert all(r[1].startswith("198.19.") and int(r[2]) == 3600 for r in rows)


def test_relay_mode_two_processes(lab, relay_lab):
    srv, gen, link = relay_lab
    proc = start(lab, srv, server_config(lab, link.if_a), "relay-procs")
    try:
        status, rep, _ = bench_cli(lab, gen, SERVER_IP, "--giaddr", RELAY_IP, "--procs", "2",
                                   "--window", "32", "--count", "4000", "--clients", "1000",
                                   "--subnet", "198.19.0.0/16")
    finally:
        lab.stop(proc)
    assert status == 0 and rep["processes"] == 2
    assert rep["exchanges"]["dora"]["completed"] == 4000
    assert rep["counters"]["duplicates"] == 0


def test_broadcast_mode_on_an_interface(lab):
    srv, cli = lab.netns("bcsrv"), lab.netns("bccli")
    link = lab.link(srv, cli, "192.0.2.1/24", None)
    proc = start(lab, srv, server_config(lab, link.if_a, socket_type="udp",
                                         subnet="192.0.2.0/24", pool="192.0.2.10 - 192.0.2.250"),
                 "broadcast")
    try:
        status, rep, _ = bench_cli(lab, cli, "192.0.2.1", "--interface", link.if_b, "--window",
                                   "8", "--count", "500", "--clients", "200",
                                   "--subnet", "192.0.2.0/24", "--server-id", "192.0.2.1")
    finally:
        lab.stop(proc)
    assert status == 0
    assert rep["mode"] == "broadcast"
    assert rep["exchanges"]["dora"]["completed"] == 500
    assert rep["counters"]["duplicates"] == 0 and rep["bound_clients"] == 200
