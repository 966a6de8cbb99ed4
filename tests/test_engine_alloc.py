"""The allocation rules the engine applies, without root (the loopback servers of test_engine):
an address that is free, released, expired, past its probation or merely offered is never
withheld from a client that needs it (offer holds only break ties), and Kea's lease caching
(cache-threshold, cache-max-age) reuses a renewed lease without writing it.
"""

from __future__ import annotations

import pytest

from fastdhcp import reference
from fastdhcp.config import parse_config
from test_engine import ACK, NAK, NOW, SRV, direct, new_mac, new_xid, server_config
from test_engine import servers  # noqa: F401  (fixture)
import json


def one_address(**extra):
    return [direct("100 - 100", **extra)]


def select(srv, mac, offer, **kw):
    return srv.ask(reference.request(mac, new_xid(), server_id=offer.opt_ip(54),
                                     requested_ip=offer.pkt.yiaddr), **kw)


def renew(srv, mac, ip, *, now, **kw):
    return srv.ask(reference.request(mac, new_xid(), ciaddr=ip, **kw), dst=SRV, now=now)


# ---- item 2: nothing is withheld ---------------------------------------------------------------

def test_a_released_address_is_offered_to_the_next_client(servers):
    srv = servers.start(subnets=one_address())
    a, b = new_mac(), new_mac()
    ip = srv.bound(a).pkt.yiaddr
    srv.ask(reference.release(a, new_xid(), ip, SRV), dst=SRV)
    assert srv.offer(b).pkt.yiaddr == ip


def test_an_address_only_offered_is_offered_again_and_the_first_request_wins(servers):
    srv = servers.start(subnets=one_address())
    a, b = new_mac(), new_mac()
    offer_a = srv.offer(a)
    offer_b = srv.offer(b)                       # Kea 2.2 holds nothing for an offer
    assert offer_b is not None and offer_b.pkt.yiaddr == offer_a.pkt.yiaddr
    assert select(srv, b, offer_b).pkt.msg_type == ACK
    assert select(srv, a, offer_a).pkt.msg_type == NAK     # never ACKed to two clients
    assert srv.lease(offer_a.pkt.yiaddr).hwaddr == b


def test_a_mere_offer_taken_over_can_still_be_requested_first(servers):
    srv = servers.start(subnets=one_address())
    a, b = new_mac(), new_mac()
    offer_a = srv.offer(a)
    offer_b = srv.offer(b)
    assert select(srv, a, offer_a).pkt.msg_type == ACK     # a asks first: a wins
    assert select(srv, b, offer_b).pkt.msg_type == NAK


def test_offers_break_ties_while_other_addresses_are_free(servers):
    srv = servers.start(subnets=[direct("100 - 101")])
    a, b = new_mac(), new_mac()
    assert srv.offer(a).pkt.yiaddr != srv.offer(b).pkt.yiaddr


def test_offer_lifetime_holds_an_offer_firmly(servers):
    srv = servers.start(subnets=one_address(), offer_lifetime=20)
    a, b = new_mac(), new_mac()
    offer_a = srv.offer(a)
    assert srv.offer(b) is None
    assert srv.offer(b, now=NOW + 20) is None
    # lapsed once its second has passed (Kea's Lease::expired: expire < now)
    assert srv.offer(b, now=NOW + 21).pkt.yiaddr == offer_a.pkt.yiaddr


def test_an_expired_lease_is_offered_before_the_expiry_pass(servers):
    srv = servers.start(subnets=one_address(), valid_lifetime=60, renew_timer=20, rebind_timer=40)
    a, b = new_mac(), new_mac()
    ip = srv.bound(a).pkt.yiaddr
    assert srv.offer(b, now=NOW + 60) is None              # expire < now: not yet
    assert srv.offer(b, now=NOW + 61).pkt.yiaddr == ip     # no reclaim has run
    assert srv.lease(ip).hwaddr == b


def test_a_declined_address_is_offered_after_its_probation(servers):
    srv = servers.start(subnets=one_address(), decline_probation_period=30)
    a, b = new_mac(), new_mac()
    ip = srv.bound(a).pkt.yiaddr
    srv.ask(reference.decline(a, new_xid(), ip, SRV))
    assert srv.offer(b, now=NOW + 30) is None
    assert srv.offer(b, now=NOW + 31).pkt.yiaddr == ip


def test_a_discover_flood_does_not_take_the_pool(servers):
    srv = servers.start(subnets=[direct("100 - 109")])
    for _ in range(50):                          # clients that DISCOVER and never REQUEST
        assert srv.offer(new_mac()) is not None
    _, ack = srv.dora(new_mac())
    assert ack is not None and ack.pkt.msg_type == ACK


# ---- item 8: lease caching ---------------------------------------------------------------------

def cached(**extra):
    return dict(valid_lifetime=600, renew_timer=300, rebind_timer=500, **extra)


def test_a_renewal_within_the_threshold_reuses_the_lease(servers):
    srv = servers.start(**cached(cache_threshold=0.25))
    mac = new_mac()
    ip = srv.bound(mac).pkt.yiaddr
    before = srv.lease(ip)
    ack = renew(srv, mac, ip, now=NOW + 100)
    assert ack.pkt.msg_type == ACK and ack.opt_u32(51) == 500     # what is left of 600
    assert ack.opt_u32(58) == 300 and ack.opt_u32(59) is None     # T2 500 is not below 500
    assert srv.lease(ip).expire == before.expire                  # unchanged: no row
    assert srv.stats()["v4-lease-reuses"] == 1
    ack = renew(srv, mac, ip, now=NOW + 151)                      # 151 > 600 * 0.25
    assert ack.opt_u32(51) == 600 and srv.lease(ip).expire == NOW + 151 + 600
    assert srv.stats()["v4-lease-reuses"] == 1


def test_a_reused_lease_writes_no_row(servers):
    srv = servers.start(**cached(cache_max_age=50))
    mac = new_mac()
    ip = srv.bound(mac).pkt.yiaddr
    assert renew(srv, mac, ip, now=NOW + 50).opt_u32(51) == 550
    assert srv.lease(ip).expire == NOW + 600                     # as first written
    assert renew(srv, mac, ip, now=NOW + 51).opt_u32(51) == 600    # past cache-max-age
    assert srv.lease(ip).expire == NOW + 51 + 600


def test_calculated_tee_times_are_shares_of_what_is_left(servers):
    cfg = server_config(valid_lifetime=600, calculate_tee_times=True, cache_threshold=0.5)
    del cfg["Dhcp4"]["renew-timer"], cfg["Dhcp4"]["rebind-timer"]
    srv = servers.start(cfg)
    mac = new_mac()
    ip = srv.bound(mac).pkt.yiaddr
    ack = renew(srv, mac, ip, now=NOW + 3)
    # Kea: round(0.5 * 597) = 299, round(0.875 * 597) = 522
    assert (ack.opt_u32(51), ack.opt_u32(58), ack.opt_u32(59)) == (597, 299, 522)


def test_a_changed_host_name_is_written_not_reused(servers):
    srv = servers.start(**cached(cache_threshold=0.5))
    mac = new_mac()
    ip = srv.bound(mac).pkt.yiaddr
    ack = renew(srv, mac, ip, now=NOW + 10, hostname="renamed")
    assert ack.opt_u32(51) == 600 and srv.stats()["v4-lease-reuses"] == 0


def test_an_offer_to_a_bound_client_carries_what_is_left(servers):
    srv = servers.start(**cached(cache_threshold=0.5))
    mac = new_mac()
    srv.bound(mac)
    assert srv.offer(mac, now=NOW + 40).opt_u32(51) == 560
    assert srv.stats()["v4-lease-reuses"] == 1


def test_without_cache_parameters_every_renewal_is_written(servers):
    srv = servers.start(**cached())
    mac = new_mac()
    ip = srv.bound(mac).pkt.yiaddr
    assert renew(srv, mac, ip, now=NOW + 1).opt_u32(51) == 600
    assert srv.stats()["v4-lease-reuses"] == 0


def kea(dhcp4):
    base = {"interfaces-config": {"interfaces": ["lo"]}, "subnet4": []}
    base.update(dhcp4)
    return parse_config(json.dumps({"Dhcp4": base}))


def test_cache_parameters_are_inherited_from_the_shared_network_and_global_scope():
    cfg = kea({"cache-max-age": 30, "shared-networks": [{
        "name": "n", "cache-threshold": 0.4,
        "subnet4": [{"id": 1, "subnet": "10.0.0.0/24"},
                    {"id": 2, "subnet": "10.0.1.0/24", "cache-threshold": 0.1,
                     "cache-max-age": 5}]}]})
    got = {s.id: (s.cache_threshold, s.cache_max_age) for s in cfg.subnets}
    assert got == {1: (0.4, 30), 2: (0.1, 5)}


@pytest.mark.parametrize("value", [0.0, 1.0, 1.5, -0.1])
def test_cache_threshold_out_of_range_is_refused_as_kea_refuses_it(value):
    with pytest.raises(Exception, match="cache-threshold"):
        kea({"cache-threshold": value})
