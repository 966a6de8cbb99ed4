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

import fastdhcp
from e2e import (ACK, NAK, NET, OFFER, SRV_IP, RawClient, in_netns, mac_bytes, new_xid,
                 parse_udp_frame, server_config, udp_frame)
from e2e import servers, topo  # noqa: F401  (fixtures)
from fastdhcp import reference
from fastdhcp._lab import netlab

pytestmark = [pytest.mark.root, pytest.mark.e2e]

lab = netlab.lab_fixture(scope="module", keep_dir=bool(os.environ.get("FASTDHCP_E2E_KEEP")))

SRV_MAC = bytes.fromhex("02fde0000001")        # the server's bridge (tests/e2e.py Topo)
BOGUS_CIADDR = f"{NET}.250"                    # in the subnet, outside the pool, nobody's
KEA_TTL = 128                                  # Kea's raw frames (protocol_util.cc)


@pytest.fixture
def raw(lab, topo):
    """A raw-frame client on a fresh namespace of the client link."""
    ns, ifname, mac = topo.client()
    with RawClient(lab, ns, ifname, mac) as client:
        yield client


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
    assert_frame_to(odd, raw, BOGUS_CIADDR)


def neighbours(ns, dev):
    """The IPv4 neighbour entries of dev in ns, as 'address state' lines."""
    out = subprocess.run(["ip", "-n", ns, "-4", "neigh", "show", "dev", dev], check=True,
                         capture_output=True, text=True).stdout
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
