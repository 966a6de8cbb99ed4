"""Allocation as kea-dhcp4 2.2 does it, seen by raw-frame clients (AF_PACKET frames from 0.0.0.0,
ARP off): an address that is released, merely offered, expired or past its probation is offered
to the next client that needs it, and lease caching (cache-threshold, cache-max-age) renews
without a new row. Every test also runs against Kea with FASTDHCP_E2E_SERVER=kea.
"""

from __future__ import annotations

import os
import time

import pytest

from e2e import ACK, NAK, NET, SRV_IP, RawClient, new_xid, rows_for, subnet
from e2e import servers, topo  # noqa: F401  (fixtures)
from fastdhcp import reference
from fastdhcp._lab import netlab
from fastdhcp.packet import MsgType

lab = netlab.lab_fixture(scope="module", keep_dir=bool(os.environ.get("FASTDHCP_E2E_KEEP")))

SRV_MAC = bytes.fromhex("02fde0000001")      # the bridge's (Topo)
ONE = f"{NET}.100"


@pytest.fixture
def clients(lab, topo):
    """new() -> a raw-frame client on a fresh namespace of the client link."""
    made = []

    def new():
        ns, ifname, mac = topo.client()
        c = RawClient(lab, ns, ifname, mac)
        made.append(c)
        return c
    yield new
    for c in made:
        c.close()


def one_address(topo, **extra):
    return [subnet(1, NET, "100 - 100", interface=topo.bridge, **extra)]


def discover(c, *, timeout=2.0, **kw):
    xid = new_xid()
    return c.ask(reference.discover(c.mac, xid, **kw), xid=xid, types={MsgType.DHCPOFFER},
                 timeout=timeout)


def select(c, offer):
    xid = new_xid()
    return c.ask(reference.request(c.mac, xid, server_id=offer.opt_ip(54),
                                   requested_ip=offer.pkt.yiaddr), xid=xid, types={ACK, NAK})


def renew(lab, topo, c, ip, **kw):
    """A RENEWING request unicast from ip; the server's reply to ip reaches the ARP-less client
    through a static neighbour entry."""
    lab.ip(topo.srv, "neigh", "replace", ip, "lladdr", c.mac.hex(":"), "dev", topo.bridge,
           "nud", "permanent")
    xid = new_xid()
    return c.ask(reference.request(c.mac, xid, ciaddr=ip, **kw), xid=xid, types={ACK, NAK},
                 src_ip=ip, dst_ip=SRV_IP, dst_mac=SRV_MAC)


# ---- nothing withheld --------------------------------------------------------------------------

def test_a_released_address_is_offered_to_the_next_client(servers, topo, clients):
    proc = servers.start(subnets=one_address(topo))
    a, b = clients(), clients()
    offer, ack = a.dora()
    assert ack.pkt.msg_type == ACK and ack.pkt.yiaddr == ONE
    a.send(reference.release(a.mac, new_xid(), ONE, offer.opt_ip(54)), src_ip=ONE,
           dst_ip=SRV_IP, dst_mac=SRV_MAC)
    time.sleep(0.3)
    assert rows_for(proc.lease_path, ONE)[-1]["valid_lifetime"] == "0" or \
        rows_for(proc.lease_path, ONE)[-1]["state"] != "0"
    got = discover(b)
    assert got is not None and got.pkt.yiaddr == ONE


def test_an_address_only_offered_is_offered_to_the_next_client(servers, topo, clients):
    servers.start(subnets=one_address(topo))
    a, b = clients(), clients()
    offer_a = discover(a)
    offer_b = discover(b)
    assert offer_a is not None and offer_b is not None, "the only address withheld"
    assert offer_b.pkt.yiaddr == offer_a.pkt.yiaddr == ONE
    assert select(b, offer_b).pkt.msg_type == ACK
    assert select(a, offer_a).pkt.msg_type == NAK        # never ACKed to two clients


def test_an_expired_lease_is_offered_before_it_is_reclaimed(servers, topo, clients):
    servers.start(subnets=one_address(topo), valid_lifetime=3, renew_timer=1, rebind_timer=2,
                  expired_leases_processing={"reclaim-timer-wait-time": 3600,
                                             "hold-reclaimed-time": 3600})
    a, b = clients(), clients()
    assert a.dora()[1].pkt.msg_type == ACK
    time.sleep(4)
    got = discover(b)
    assert got is not None and got.pkt.yiaddr == ONE


def test_a_declined_address_is_offered_after_its_probation(servers, topo, clients):
    servers.start(subnets=one_address(topo), decline_probation_period=3,
                  expired_leases_processing={"reclaim-timer-wait-time": 3600})
    a, b = clients(), clients()
    offer, ack = a.dora()
    a.send(reference.decline(a.mac, new_xid(), ONE, offer.opt_ip(54)))
    time.sleep(0.5)
    assert discover(b, timeout=1.0) is None                # on probation
    time.sleep(3)
    got = discover(b)
    assert got is not None and got.pkt.yiaddr == ONE


# ---- lease caching -----------------------------------------------------------------------------

def renewed_after(lab, topo, proc, c, seconds):
    """DORA, then a renewal `seconds` later: (its ACK, rows the renewal added to the file)."""
    ip = c.dora()[1].pkt.yiaddr
    rows = len(rows_for(proc.lease_path, ip))
    time.sleep(seconds)
    r = renew(lab, topo, c, ip)
    assert r is not None and r.pkt.msg_type == ACK
    time.sleep(0.3)
    return r, len(rows_for(proc.lease_path, ip)) - rows


def test_a_renewal_within_the_cache_threshold_reuses_the_lease(lab, servers, topo, clients):
    proc = servers.start(subnets=[subnet(1, NET, "100 - 199", interface=topo.bridge,
                                         **{"cache-threshold": 0.5})])
    r, added = renewed_after(lab, topo, proc, clients(), 2.2)
    assert 595 <= r.opt_u32(51) <= 598                     # what is left of 600
    assert r.opt_u32(58) == 300 and r.opt_u32(59) == 500
    assert added == 0                                      # no new row


@pytest.mark.parametrize("cache", [{"cache_max_age": 1}, {}], ids=["past-cache-max-age", "no-caching"])
def test_a_renewal_not_cached_is_written(lab, servers, topo, clients, cache):
    proc = servers.start(**cache)
    r, added = renewed_after(lab, topo, proc, clients(), 2.2)
    assert r.opt_u32(51) == 600 and added == 1
