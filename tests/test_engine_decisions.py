"""The engine's decisions where kea-dhcp4 2.2 and RFC 2131 meet at the edges, without root (the
loopback engine of tests/test_engine.py). The end-to-end twins, run against fastdhcp and Kea,
are in tests/test_conformance_decisions.py.

- a DISCOVER with a ciaddr (Table 5 says 0): offered as a client without an address
- a DISCOVER naming a server (Table 5: MUST NOT): dropped (Kea's sanity check)
- an INFORM from 0.0.0.0 without ciaddr: nowhere to answer (§4.3.5), dropped (Kea's
  acceptDirectRequest)
- a REQUEST with neither 50 nor ciaddr: allocated and bound, as Kea's requestLease4 does
- INIT-REBOOT for every combination of authoritative, in/out of pool, known/offered/unknown
- the server identifier: which of ours is ours, and which address a reply names
"""

from __future__ import annotations

import json
import socket

import pytest

from fastdhcp import Durability, reference
from fastdhcp.config import parse_config
from fastdhcp.policy import Link, compile_policy
from test_engine import (ACK, FOREIGN_SERVER, NAK, NET, NOW, OTHER_RELAYED, RELAY, RELAY_NET,
                         SRV, direct, in_pool, new_mac, new_xid, relayed_subnets, server_config,
                         servers)  # noqa: F401  (fixture)

OUT_OF_POOL = f"{NET}.50"      # in subnet 1, outside its pool 100 - 199


def rai(*subs):
    """Option 82 as reference.* builds it from (sub-option, bytes) pairs."""
    return b"".join(bytes((c, len(v))) + v for c, v in subs)


# =================================================================================================
# DISCOVER
# =================================================================================================

@pytest.mark.parametrize("ciaddr", ["255.255.255.255", f"{NET}.150"], ids=["all-ones", "unicast"])
def test_a_discover_with_a_ciaddr_is_offered_as_to_a_client_without_an_address(servers, ciaddr):
    srv = servers.start()
    offer = srv.offer(new_mac(), ciaddr=ciaddr, dst="255.255.255.255")
    # RFC 2131 Table 3: ciaddr 0 in an OFFER; §4.1: no giaddr, no (valid) ciaddr, no broadcast
    # flag: to yiaddr at chaddr, here a broadcast (udp sockets cannot send to chaddr)
    assert offer.pkt.ciaddr == "0.0.0.0" and in_pool(offer.pkt.yiaddr)
    assert (offer.dst, offer.port) == ("255.255.255.255", srv.engine.client_port)
    assert offer.opt_ip(54) == SRV


def test_a_discover_naming_a_server_is_dropped_and_counted(servers):
    srv = servers.start()
    assert srv.offer(new_mac(), extra_options=[(54, socket.inet_aton(SRV))]) is None
    s = srv.stats()
    assert s["discover-with-server-id-drop"] == 1 and s["pkt4-receive-drop"] == 1
    assert s["pkt4-offer-sent"] == 0


# =================================================================================================
# INFORM
# =================================================================================================

def unnamed_engine(cfg):
    """An engine fed through an AF_UNIX datagram pair: its datagrams come from no address
    (0.0.0.0, what a client without an address sends from, which loopback cannot forge), on an
    interface of index 0."""
    config = parse_config(json.dumps(cfg))
    engine = compile_policy(config, [Link("lo", 0, int.from_bytes(socket.inet_aton(SRV), "big"),
                                          bytes(6))])
    engine.durability = Durability.NONE
    return engine, socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)


def test_an_inform_from_nowhere_without_ciaddr_is_dropped_and_counted():
    engine, (ours, client) = unnamed_engine(server_config())
    try:
        mac = new_mac()
        client.send(reference.inform(mac, new_xid(), "0.0.0.0"))
        client.send(reference.inform(mac, new_xid(), f"{NET}.150"))   # this one has an address
        assert engine.process(ours.fileno(), -1, -1, NOW) == 2
        s = engine.stats()
        assert s["inform-no-address-drop"] == 1 and s["pkt4-receive-drop"] == 1
        assert s["pkt4-ack-sent"] == 1          # (the send itself fails on the AF_UNIX pair)
    finally:
        ours.close()
        client.close()


def test_an_inform_from_an_address_without_ciaddr_is_answered(servers):
    srv = servers.start()
    r = srv.ask(reference.inform(new_mac(), new_xid(), "0.0.0.0"))
    assert r.pkt.msg_type == ACK and r.opt(51) is None


def test_an_inform_naming_another_server_is_dropped(servers):
    srv = servers.start()
    assert srv.ask(reference.inform(new_mac(), new_xid(), f"{NET}.150",
                                    extra_options=[(54, socket.inet_aton(FOREIGN_SERVER))])) is None
    assert srv.stats()["request-for-other-server"] == 1
    assert srv.stats()["pkt4-receive-drop"] == 1


# =================================================================================================
# REQUEST without 50 and without ciaddr (a client that skipped the DISCOVER)
# =================================================================================================

@pytest.mark.parametrize("server_id", [SRV, None], ids=["naming-us", "naming-nobody"])
def test_a_request_without_an_address_is_allocated_and_bound(servers, server_id):
    srv = servers.start()
    mac = new_mac()
    ack = srv.ask(reference.request(mac, new_xid(), server_id=server_id))
    assert ack.pkt.msg_type == ACK and in_pool(ack.pkt.yiaddr) and ack.pkt.ciaddr == "0.0.0.0"
    assert ack.opt_u32(51) == 600 and ack.opt_ip(54) == SRV
    lease = srv.lease(ack.pkt.yiaddr)
    assert (lease.state.name, lease.hwaddr, lease.expire) == ("BOUND", mac, NOW + 600)
    # asked again: the lease it has (Kea: renewLease4), never a second one
    again = srv.ask(reference.request(mac, new_xid(), server_id=server_id), now=NOW + 10)
    assert again.pkt.yiaddr == ack.pkt.yiaddr and srv.lease(ack.pkt.yiaddr).expire == NOW + 610
    # another client: another address
    other = srv.ask(reference.request(new_mac(), new_xid(), server_id=server_id))
    assert other.pkt.msg_type == ACK and other.pkt.yiaddr != ack.pkt.yiaddr


def test_a_request_without_an_address_gets_the_reservation_or_nothing_when_exhausted(servers):
    mac = new_mac()
    srv = servers.start(subnets=[direct("100 - 100", reservations=[
        {"hw-address": mac.hex(":"), "ip-address": f"{NET}.20"}])])
    ack = srv.ask(reference.request(mac, new_xid(), server_id=SRV))
    assert ack.pkt.msg_type == ACK and ack.pkt.yiaddr == f"{NET}.20"
    assert srv.ask(reference.request(new_mac(), new_xid(), server_id=SRV)).pkt.yiaddr == f"{NET}.100"
    assert srv.ask(reference.request(new_mac(), new_xid(), server_id=SRV)) is None
    assert srv.stats()["addresses-exhausted"] == 1


def test_a_relayed_request_without_an_address_needs_our_identifier_or_the_relays_override(servers):
    srv = servers.start(subnets=relayed_subnets())
    mac = new_mac()
    # the relay's address is not ours: another server's
    assert srv.ask(reference.request(mac, new_xid(), server_id=RELAY, giaddr=RELAY)) is None
    assert srv.stats()["request-for-other-server"] == 1
    # RFC 5107: with sub-option 11 naming it, it is the identifier we answer as
    subs = [(1, b"port-7"), (11, socket.inet_aton(RELAY))]
    ack = srv.ask(reference.request(mac, new_xid(), server_id=RELAY, giaddr=RELAY,
                                    relay_info=subs))
    assert ack.pkt.msg_type == ACK and in_pool(ack.pkt.yiaddr, RELAY_NET)
    assert ack.opt(82) == rai(*subs)          # RFC 3046 §2.2: echoed byte for byte
    assert (ack.dst, ack.port) == (RELAY, srv.engine.relay_port)
    assert srv.lease(ack.pkt.yiaddr).subnet_id == 4


# =================================================================================================
# INIT-REBOOT (50, no 54, no ciaddr): Kea's assignLease, every combination
# =================================================================================================

# (client, address asked) -> reply with authoritative false, with authoritative true
INIT_REBOOT = {
    ("unknown", "in-pool"): (None, NAK),
    ("unknown", "out-of-pool"): (None, NAK),
    ("offered", "in-pool"): (None, NAK),        # an offer held is no lease (Kea keeps none)
    ("offered", "out-of-pool"): (None, NAK),
    ("known", "in-pool"): (NAK, NAK),           # not the address on record
    ("known", "out-of-pool"): (NAK, NAK),
    ("known", "its-own"): (ACK, ACK),
}


@pytest.mark.parametrize("authoritative", [False, True], ids=["non-authoritative", "authoritative"])
@pytest.mark.parametrize("client, asked", list(INIT_REBOOT), ids="-".join)
def test_init_reboot(servers, authoritative, client, asked):
    srv = servers.start(authoritative=authoritative)
    mac = new_mac()
    held = None
    if client == "offered":
        srv.offer(mac)
    elif client == "known":
        held = srv.bound(mac).pkt.yiaddr
    address = {"in-pool": f"{NET}.199", "out-of-pool": OUT_OF_POOL, "its-own": held}[asked]
    assert address != held or asked == "its-own"
    r = srv.ask(reference.request(mac, new_xid(), requested_ip=address))
    want = INIT_REBOOT[client, asked][authoritative]
    assert (r and r.pkt.msg_type) == want
    if want == NAK:
        assert r.dst == "255.255.255.255" and r.pkt.yiaddr == "0.0.0.0"
    if held is not None:
        assert srv.lease(held).hwaddr == mac and srv.lease(held).state.name == "BOUND"


@pytest.mark.parametrize("authoritative", [False, True], ids=["non-authoritative", "authoritative"])
def test_an_address_outside_every_pool_gets_silence_not_a_nak(servers, authoritative):
    # Kea's requestLease4: an address of the subnet outside its pools and reserved for nobody
    # is not one it knows (unknown_requested_addr_): no reply, whatever the client's state
    srv = servers.start(authoritative=authoritative)
    mac = new_mac()
    assert srv.ask(reference.request(mac, new_xid(), ciaddr=OUT_OF_POOL), dst=SRV) is None
    assert srv.ask(reference.request(mac, new_xid(), server_id=SRV,
                                     requested_ip=OUT_OF_POOL)) is None
    assert srv.lease(OUT_OF_POOL) is None
    # an address in the pool that is another client's is NAKed
    taken = srv.bound(new_mac()).pkt.yiaddr
    r = srv.ask(reference.request(mac, new_xid(), ciaddr=taken), dst=SRV)
    assert r.pkt.msg_type == NAK


def test_an_address_reserved_for_another_client_outside_the_pool_is_naked(servers):
    srv = servers.start(subnets=[direct(reservations=[
        {"hw-address": "02:00:00:00:00:99", "ip-address": OUT_OF_POOL}])])
    r = srv.ask(reference.request(new_mac(), new_xid(), server_id=SRV, requested_ip=OUT_OF_POOL))
    assert r.pkt.msg_type == NAK


# =================================================================================================
# the server identifier
# =================================================================================================

def test_a_broadcast_is_answered_as_the_interfaces_configured_address(servers):
    # the interface's configured address, whatever address routing would send from (Kea's
    # appendServerID: the socket's address), and a unicast one as the address it was sent to
    link = Link("lo", socket.if_nametoindex("lo"), int.from_bytes(socket.inet_aton("127.0.0.7"),
                                                                  "big"), bytes(6))
    srv = servers.start(links=[link])
    assert srv.offer(new_mac(), dst="255.255.255.255").opt_ip(54) == "127.0.0.7"
    assert srv.offer(new_mac(), dst=SRV).opt_ip(54) == SRV


def test_ignore_rai_link_selection_selects_by_the_relay(servers):
    link_sel = [(5, socket.inet_aton(f"{OTHER_RELAYED}.1"))]
    cfg = server_config(subnets=relayed_subnets())
    srv = servers.start(cfg)
    assert in_pool(srv.offer(new_mac(), giaddr=RELAY, relay_info=link_sel).pkt.yiaddr, OTHER_RELAYED)
    cfg["Dhcp4"]["compatibility"] = {"ignore-rai-link-selection": True}
    srv = servers.start(cfg)
    assert srv.engine.ignore_rai_link_selection
    assert in_pool(srv.offer(new_mac(), giaddr=RELAY, relay_info=link_sel).pkt.yiaddr, RELAY_NET)
