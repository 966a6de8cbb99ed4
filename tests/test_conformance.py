"""Conformance with kea-dhcp4 as a raw-frame client sees it: a client that sends Ethernet frames
from 0.0.0.0 through an AF_PACKET socket and answers no ARP (a PXE ROM, a client still without an
address), directly attached to the server's link. Every test here also runs against ISC
kea-dhcp4 2.2 with FASTDHCP_E2E_SERVER=kea (see tests/e2e.py), and must pass there too.
"""

from __future__ import annotations

import os

from e2e import raw, servers, topo  # noqa: F401  (fixtures)
from fastdhcp._lab import netlab

lab = netlab.lab_fixture(scope="module", keep_dir=bool(os.environ.get("FASTDHCP_E2E_KEEP")))


def test_a_raw_client_without_arp_gets_its_lease_as_frames_to_its_mac(servers, raw):
    servers.start()
    offer, ack = raw.dora()
    assert offer is not None and ack is not None, "no OFFER or no ACK for the raw client"
    for reply in (offer, ack):
        # no broadcast flag and no address yet: unicast to yiaddr at chaddr (RFC 2131 §4.1)
        assert reply.eth_dst == raw.mac
        assert reply.dst == offer.pkt.yiaddr
        assert reply.checksums_ok
    assert ack.pkt.yiaddr == offer.pkt.yiaddr
