"""Replies on a directly attached link as kea-dhcp4 2.2 sends them with ``dhcp-socket-type: raw``:
every unicast reply (to yiaddr, and to ciaddr: RENEWING, REBINDING, a DISCOVER that carries a
bogus ciaddr) is an Ethernet frame to the client's MAC, built by the server (IPv4 and UDP headers,
checksums), so it needs no ARP: it reaches a client that answers none, and the server's kernel
keeps no neighbour entry per client. The clients here are raw-frame clients (tests/e2e.py
RawClient: AF_PACKET frames, ARP off). Every test also runs against ISC kea-dhcp4 2.2 with
FASTDHCP_E2E_SERVER=kea, and must pass there too.
"""

from __future__ import annotations

import os
import select
import socket
import subprocess
import time

import pytest

from e2e import (ACK, BROADCAST_MAC, ETH_P_IP, NAK, NET, OFFER, SRV_IP, UNDER_TEST,
                 in_netns, new_xid, raw_reply, server_config, udp_frame)
from e2e import raw, servers, topo  # noqa: F401  (fixtures)
from fastdhcp import reference
from fastdhcp._lab import netlab

pytestmark = [pytest.mark.root, pytest.mark.e2e]

lab = netlab.lab_fixture(scope="module", keep_dir=bool(os.environ.get("FASTDHCP_E2E_KEEP")))

SRV_MAC = bytes.fromhex("02fde0000001")        # the server's bridge (tests/e2e.py Topo)
BOGUS_CIADDR = f"{NET}.250"                    # in the subnet, outside the pool, nobody's
KEA_TTL = 128                                  # Kea's raw frames (protocol_util.cc)


def assert_frame_to(reply, client, ip):
    """The reply came as a frame to the client's MAC from the server's link, to ip:68 from the
    server's address:67, with correct IPv4 and UDP checksums."""
    assert reply is not None, "no reply"
    assert reply.eth_dst == client.mac and reply.eth_src == SRV_MAC
    assert (reply.src, reply.sport, reply.dst, reply.port) == (SRV_IP, 67, ip, 68)
    assert reply.checksums_ok
    assert reply.ttl == KEA_TTL


def test_renewing_rebinding_and_a_bogus_ciaddr_are_answered_as_frames_to_chaddr(servers, raw):
    servers.start()
    offer, ack = raw.dora()
    assert ack is not None and ack.pkt.msg_type == ACK
    ip = ack.pkt.yiaddr
    assert_frame_to(offer, raw, ip)
    assert_frame_to(ack, raw, ip)

    # RENEWING (RFC 2131 §4.4.5): unicast from the leased address to the server's address and
    # MAC; the ACK goes to ciaddr, and the client answers no ARP for it
    xid = new_xid()
    renewed = raw.ask(reference.request(raw.mac, xid, ciaddr=ip), xid=xid, types={ACK, NAK},
                      src_ip=ip, dst_ip=SRV_IP, dst_mac=SRV_MAC)
    assert_frame_to(renewed, raw, ip)
    assert renewed.pkt.msg_type == ACK and renewed.pkt.yiaddr == ip and renewed.pkt.ciaddr == ip

    # REBINDING: the same REQUEST broadcast (from ciaddr); still answered at ciaddr
    xid = new_xid()
    rebound = raw.ask(reference.request(raw.mac, xid, ciaddr=ip), xid=xid, types={ACK, NAK},
                      src_ip=ip)
    assert_frame_to(rebound, raw, ip)
    assert rebound.pkt.msg_type == ACK and rebound.pkt.yiaddr == ip

    # a DISCOVER that carries a ciaddr it does not own: the OFFER goes to that ciaddr (Kea's
    # adjustRemoteAddr; RFC 2131 §4.1), as a frame to chaddr
    xid = new_xid()
    odd = raw.ask(reference.discover(raw.mac, xid, ciaddr=BOGUS_CIADDR), xid=xid, types={OFFER})
    # a frame to chaddr either way; Kea addresses it to the DISCOVER's ciaddr, fastdhcp to yiaddr
    # as for any client without an address (RFC 2131 Table 5; docs/kea-differences.md)
    assert_frame_to(odd, raw, BOGUS_CIADDR if UNDER_TEST == "kea" else odd.pkt.yiaddr)
    assert odd.pkt.ciaddr == "0.0.0.0"


def neighbours(ns, dev=None):
    """The addresses in ns's IPv4 neighbour table (of dev only, if given)."""
    out = subprocess.run(["ip", "-n", ns, "-4", "neigh", "show"] + (["dev", dev] if dev else []),
                         check=True, capture_output=True, text=True).stdout
    return {line.split()[0] for line in out.splitlines() if line.strip()}


def test_with_udp_sockets_a_renewal_ack_takes_the_kernels_path(servers, raw, topo):
    # dhcp-socket-type udp (both servers): the reply to ciaddr goes through the kernel, which
    # asks ARP for ciaddr first; this client answers none, so the ACK never reaches it. (The
    # lease is taken with raw sockets first: Kea's udp sockets, bound to the interface's
    # address, hear no broadcast from a directly attached client.)
    lease_path = servers.lab.path("udp-leases4.csv")
    first = servers.start(lease_path=lease_path)
    _, ack = raw.dora()
    assert ack is not None and ack.pkt.msg_type == ACK
    ip = ack.pkt.yiaddr
    servers.stop(first)
    cfg = server_config(topo, lease_path)
    cfg["Dhcp4"]["interfaces-config"]["dhcp-socket-type"] = "udp"
    servers.start(cfg)
    assert ip not in neighbours(topo.srv, topo.bridge)
    xid = new_xid()
    renewed = raw.ask(reference.request(raw.mac, xid, ciaddr=ip), xid=xid, types={ACK, NAK},
                      src_ip=ip, dst_ip=SRV_IP, dst_mac=SRV_MAC, timeout=3.0)
    assert renewed is None, "a reply to ciaddr reached a client that answers no ARP"
    assert ip in neighbours(topo.srv, topo.bridge)


# =================================================================================================
# scale: thousands of directly attached clients renewing by unicast on one link
# =================================================================================================

HERD = 5000
HERD_SRV = "10.64.0.1"                 # the server's address on a second bridge, 10.64.0.0/18
HERD_SRV_MAC = bytes.fromhex("02fde0000002")
HERD_POOL = ("10.64.1.0", "10.64.63.250")
SO_RCVBUFFORCE = 33
SOL_PACKET = 263
PACKET_IGNORE_OUTGOING = 23            # Linux 4.20: our own frames are not looped back to us


class Herd:
    """n directly attached clients behind one port of a bridge, as a switch full of PXE ROMs sees
    them: one AF_PACKET socket sends each client's frames from its own MAC; the port has ARP off
    (nobody answers ARP for the herd's addresses) and is promiscuous (it takes the frames to
    every herd MAC). Replies are matched by xid."""

    def __init__(self, lab, ns, ifname, n):
        lab.ip(ns, "link", "set", "dev", ifname, "arp", "off", "promisc", "on")
        with in_netns(ns):
            s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_IP))
            s.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, 32 << 20)
            s.setsockopt(SOL_PACKET, PACKET_IGNORE_OUTGOING, 1)
            s.bind((ifname, 0))
        s.setblocking(False)
        self.s = s
        self.macs = [bytes((2, 0xFD, 0xE2, k >> 16 & 0xFF, k >> 8 & 0xFF, k & 0xFF))
                     for k in range(n)]
        self.sends = 0

    def close(self):
        self.s.close()

    def frame(self, k, message, *, src_ip="0.0.0.0", dst_ip="255.255.255.255",
              dst_mac=BROADCAST_MAC):
        return udp_frame(message, src_mac=self.macs[k], dst_mac=dst_mac, src_ip=src_ip,
                         dst_ip=dst_ip, sport=68, dport=67)

    def _replies(self):
        while True:
            try:
                r = raw_reply(self.s.recv(65535))
            except BlockingIOError:
                return
            if r is not None:
                yield r

    def run(self, frames, types, *, window=128, resend=1.0, tries=4, seconds=30.0):
        """Send frames ({xid: frame}) with at most ``window`` waiting for a reply, a frame
        without one after ``resend`` s sent again (``tries`` sends at most); stop after
        ``seconds``. Returns {xid: the first reply of one of ``types``}."""
        queue, waiting, sent, got = list(frames)[::-1], {}, dict.fromkeys(frames, 0), {}
        deadline = time.monotonic() + seconds
        while (queue or waiting) and time.monotonic() < deadline:
            while queue and len(waiting) < window:
                xid = queue.pop()
                self.s.send(frames[xid])
                self.sends += 1
                sent[xid] += 1
                waiting[xid] = time.monotonic()
            select.select([self.s], [], [], 0.02)
            for r in self._replies():
                if r.pkt.xid in waiting and r.pkt.msg_type in types:
                    del waiting[r.pkt.xid]
                    got[r.pkt.xid] = r
            now = time.monotonic()
            for xid, at in list(waiting.items()):
                if now - at > resend:
                    del waiting[xid]
                    if sent[xid] < tries:
                        queue.append(xid)
        return got


@pytest.fixture(scope="module")
def herd_link(lab, topo):
    """A second bridge in the server's namespace (10.64.0.0/18) with one port: the herd's."""
    bridge = lab.bridge(topo.srv, f"{HERD_SRV}/18", mac=HERD_SRV_MAC.hex(":"))
    ns = lab.netns("herd")
    link = lab.link(ns, topo.srv, None, None, master_b=bridge)
    return bridge, ns, link.if_a


def test_5000_directly_attached_clients_renew_by_unicast_without_a_neighbour_entry_each(
        servers, topo, herd_link):
    bridge, ns, ifname = herd_link
    cfg = server_config(topo, servers.lab.path("herd-leases4.csv"), interfaces=[bridge],
                        subnets=[{"id": 64, "subnet": "10.64.0.0/18", "interface": bridge,
                                  "pools": [{"pool": " - ".join(HERD_POOL)}],
                                  "option-data": [{"name": "routers", "data": HERD_SRV}]}],
                        valid_lifetime=3600, renew_timer=1800, rebind_timer=3000)
    servers.start(cfg)
    herd = Herd(servers.lab, ns, ifname, HERD)
    try:
        base = new_xid() & 0xFFF00000
        xids = [base + k for k in range(HERD)]
        t0 = time.monotonic()
        offers = herd.run({x: herd.frame(k, reference.discover(herd.macs[k], x))
                           for k, x in enumerate(xids)}, {OFFER})
        assert len(offers) == HERD, f"{HERD - len(offers)} DISCOVERs without an OFFER"
        acks = herd.run({x + HERD: herd.frame(k, reference.request(
            herd.macs[k], x + HERD, server_id=offers[x].opt_ip(54),
            requested_ip=offers[x].pkt.yiaddr)) for k, x in enumerate(xids)}, {ACK, NAK})
        leased = {k: acks[x + HERD].pkt.yiaddr for k, x in enumerate(xids)
                  if x + HERD in acks and acks[x + HERD].pkt.msg_type == ACK}
        assert len(leased) == HERD, f"{HERD - len(leased)} REQUESTs without an ACK"
        t_dora = time.monotonic() - t0

        before = len(neighbours(topo.srv, bridge)), len(neighbours(topo.srv))
        renew = {x + 2 * HERD: herd.frame(k, reference.request(herd.macs[k], x + 2 * HERD,
                                                              ciaddr=leased[k]),
                                          src_ip=leased[k], dst_ip=HERD_SRV,
                                          dst_mac=HERD_SRV_MAC)
                 for k, x in enumerate(xids)}
        sends = herd.sends
        t0 = time.monotonic()
        renewed = herd.run(renew, {ACK, NAK})
        t_renew = time.monotonic() - t0
        after = len(neighbours(topo.srv, bridge)), len(neighbours(topo.srv))
        print(f"\n{HERD} clients: DORA {t_dora:.2f} s; renewals {len(renewed)} replies in "
              f"{t_renew:.2f} s ({herd.sends - sends} sent); neighbour entries on the link "
              f"{before[0]} -> {after[0]}, in the namespace {before[1]} -> {after[1]}")
        for k, x in enumerate(xids):
            r = renewed.get(x + 2 * HERD)
            assert r is not None, f"client {k} ({leased[k]}): no reply to its renewal"
            assert r.pkt.msg_type == ACK and r.pkt.yiaddr == leased[k] == r.pkt.ciaddr
            assert r.eth_dst == herd.macs[k] and r.eth_src == HERD_SRV_MAC
            assert (r.src, r.dst, r.port) == (HERD_SRV, leased[k], 68) and r.checksums_ok
        assert after[0] == before[0], "the server's kernel kept neighbour entries for them"
    finally:
        herd.close()
