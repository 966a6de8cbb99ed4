"""The engine's decisions at the edges of RFC 2131, as a client on the wire sees them, against
fastdhcp and (FASTDHCP_E2E_SERVER=kea) ISC kea-dhcp4 2.2: a DISCOVER with a ciaddr, an INFORM
with no address to answer, a REQUEST without an address (direct, and relayed with the relay's
server-identifier override), INIT-REBOOT of a non-authoritative server. The unit twins, without
root, are in tests/test_engine_decisions.py.
"""

from __future__ import annotations

import os
import socket

import pytest

from e2e import (ACK, NAK, NET, OFFER, RELAY_NET, SRV_IP, UP_NET, ClientSock,
                 differs_from_kea, in_pool, mac_bytes, new_xid, rows_for, subnet, wait_log)
from e2e import raw, servers, topo  # noqa: F401  (fixtures)
from fastdhcp import reference
from fastdhcp._lab import netlab

lab = netlab.lab_fixture(scope="module", keep_dir=bool(os.environ.get("FASTDHCP_E2E_KEEP")))

POOL = (f"{NET}.100", f"{NET}.199")
OUT_OF_POOL = f"{NET}.50"        # in the client subnet, outside its pool
RELAY_IP = f"{RELAY_NET}.1"      # the relay's giaddr (subnet 2)


def relayed_server(topo, servers):
    """A server for the client link (subnet 1) and the relay's (subnet 2); the relay side."""
    r = topo.relay_side()
    servers.start(subnets=[subnet(1, NET, "100 - 199", interface=topo.bridge),
                           subnet(2, RELAY_NET, "100 - 199")],
                  interfaces=[topo.bridge, r["up"].if_a])
    return r


def silent(raw, data, xid, timeout=1.5):
    """Send data and return True if nothing with this xid comes back within timeout."""
    raw.send(data)
    return raw.recv(xid, None, timeout) is None


# =================================================================================================
# item 3: a DISCOVER with a non-zero ciaddr
# =================================================================================================

def discover_with_ciaddr(servers, raw):
    servers.start()
    xid = new_xid()
    return raw.ask(reference.discover(raw.mac, xid, ciaddr="255.255.255.255"), xid=xid,
                   types={OFFER})


def test_a_discover_with_a_ciaddr_is_offered_with_ciaddr_zero(servers, raw):
    offer = discover_with_ciaddr(servers, raw)
    assert offer is not None, "no OFFER for a DISCOVER with ciaddr 255.255.255.255"
    assert offer.pkt.ciaddr == "0.0.0.0"              # RFC 2131 Table 3
    assert in_pool(offer.pkt.yiaddr, *POOL) and offer.checksums_ok


@differs_from_kea("it sends the OFFER to the DISCOVER's ciaddr (adjustRemoteAddr), an address "
                  "a client in INIT does not have (RFC 2131 Table 5: ciaddr 0)")
def test_a_discover_with_a_ciaddr_is_offered_at_yiaddr_as_to_a_client_without_an_address(
        servers, raw):
    offer = discover_with_ciaddr(servers, raw)
    # RFC 2131 §4.1, no broadcast bit: unicast to yiaddr at chaddr
    assert offer is not None and offer.eth_dst == raw.mac and offer.dst == offer.pkt.yiaddr


# =================================================================================================
# item 4: an INFORM from 0.0.0.0 with ciaddr 0
# =================================================================================================

def test_an_inform_from_nowhere_without_ciaddr_is_not_answered(servers, raw):
    servers.start()
    xid = new_xid()
    raw.send(reference.inform(raw.mac, xid, "0.0.0.0"))     # from 0.0.0.0 (RFC 2131 §4.3.5)
    offer, ack = raw.dora()                                   # the server is alive and serving
    assert offer is not None and ack is not None and ack.pkt.msg_type == ACK
    assert raw.recv(xid, None, 0.5) is None, "the INFORM without an address was answered"


def test_an_inform_without_ciaddr_from_an_address_is_answered_at_that_address(servers, raw):
    # RFC 2131 §4.3.5 answers an INFORM by unicast; with ciaddr 0 Kea answers the source address
    servers.start()
    source = f"{NET}.60"                        # an address the client configured by hand
    xid = new_xid()
    ack = raw.ask(reference.inform(raw.mac, xid, "0.0.0.0"), xid=xid, types={ACK},
                  src_ip=source)
    assert ack is not None, "no ACK for an INFORM from a configured address"
    assert ack.eth_dst == raw.mac and ack.dst == source and ack.checksums_ok
    assert ack.opt(51) is None                              # options only, no lease


def test_a_relayed_inform_without_ciaddr_asks_the_relay_to_broadcast(topo, servers):
    r = relayed_server(topo, servers)
    mac = mac_bytes(topo.new_mac())
    with ClientSock(r["rly"], r["up"].if_b, port=67) as relay:
        xid = new_xid()
        ack = relay.ask(reference.inform(mac, xid, "0.0.0.0", giaddr=RELAY_IP), xid=xid,
                        types={ACK}, dst=f"{UP_NET}.1")
    assert ack is not None and ack.pkt.giaddr == RELAY_IP
    assert ack.pkt.flags & 0x8000, "the relay cannot unicast to a client that gave no address"


# =================================================================================================
# item 6: a REQUEST without 50 and without ciaddr
# =================================================================================================

def test_a_request_naming_us_without_an_address_is_allocated(lab, servers, raw):
    srv = servers.start()
    xid = new_xid()
    ack = raw.ask(reference.request(raw.mac, xid, server_id=SRV_IP), xid=xid, types={ACK, NAK})
    assert ack is not None and ack.pkt.msg_type == ACK, "no ACK for a REQUEST without 50/ciaddr"
    assert in_pool(ack.pkt.yiaddr, *POOL) and ack.opt_u32(51) == 600
    lab.wait_for(lambda: rows_for(srv.lease_path, ack.pkt.yiaddr), 3, what="the lease row")
    assert rows_for(srv.lease_path, ack.pkt.yiaddr)[-1]["hwaddr"] == raw.mac.hex(":")


def test_a_relayed_request_without_an_address_is_acked_under_the_relays_override(topo, servers):
    r = relayed_server(topo, servers)
    mac = mac_bytes(topo.new_mac())
    with ClientSock(r["rly"], r["up"].if_b, port=67) as relay:
        # the relay's address as server identifier: another server's, ignored
        xid = new_xid()
        assert relay.ask(reference.request(mac, xid, server_id=RELAY_IP, giaddr=RELAY_IP),
                         xid=xid, types=None, dst=f"{UP_NET}.1", timeout=1.5) is None
        # RFC 5107: the relay says its address stands for ours
        subs = [(1, b"port-7"), (11, socket.inet_aton(RELAY_IP))]
        xid = new_xid()
        ack = relay.ask(reference.request(mac, xid, server_id=RELAY_IP, giaddr=RELAY_IP,
                                          relay_info=subs),
                        xid=xid, types={ACK, NAK}, dst=f"{UP_NET}.1")
    assert ack is not None and ack.pkt.msg_type == ACK
    assert in_pool(ack.pkt.yiaddr, f"{RELAY_NET}.100", f"{RELAY_NET}.199")
    assert ack.opt(82) == b"".join(bytes((c, len(v))) + v for c, v in subs)   # RFC 3046 §2.2
    assert ack.pkt.giaddr == RELAY_IP


def test_a_relayed_request_from_a_link_without_a_subnet_is_naked(lab, topo, servers):
    # Kea's assignLease: no subnet for the client's link, so whatever it holds is wrong there
    r = topo.relay_side()
    proc = servers.start(interfaces=[topo.bridge, r["up"].if_a])   # no subnet for that link
    mac = mac_bytes(topo.new_mac())
    with ClientSock(r["rly"], r["up"].if_b, port=67) as relay:
        xid = new_xid()
        nak = relay.ask(reference.request(mac, xid, ciaddr=f"{RELAY_NET}.150", giaddr=RELAY_IP),
                        xid=xid, types={ACK, NAK}, dst=f"{UP_NET}.1")
        assert nak is not None and nak.pkt.msg_type == NAK
        assert nak.pkt.yiaddr == "0.0.0.0" and nak.pkt.giaddr == RELAY_IP
        wait_log(lab, proc, "DHCP4_PACKET_NAK_0001 [hwtype=1 ")   # ERROR on kea-dhcp4.bad-packets
        # a DISCOVER from there gets nothing (Kea: no address, no OFFER)
        xid = new_xid()
        assert relay.ask(reference.discover(mac, xid, giaddr=RELAY_IP), xid=xid, types=None,
                         dst=f"{UP_NET}.1", timeout=1.5) is None


# =================================================================================================
# item 7: INIT-REBOOT for an address outside every pool
# =================================================================================================

@pytest.mark.parametrize("authoritative", [False, True], ids=["non-authoritative", "authoritative"])
def test_init_reboot_outside_the_pool_after_an_offer(servers, raw, authoritative):
    # an offer is no lease: the client is unknown (silence, or a NAK from an authoritative server)
    servers.start(authoritative=authoritative)
    xid = new_xid()
    assert raw.ask(reference.discover(raw.mac, xid), xid=xid, types={OFFER}) is not None
    xid = new_xid()
    req = reference.request(raw.mac, xid, requested_ip=OUT_OF_POOL)
    if authoritative:
        nak = raw.ask(req, xid=xid, types={ACK, NAK})
        assert nak is not None and nak.pkt.msg_type == NAK and nak.dst == "255.255.255.255"
    else:
        assert silent(raw, req, xid), "a non-authoritative server answered an unknown client"


@pytest.mark.parametrize("authoritative", [False, True], ids=["non-authoritative", "authoritative"])
def test_init_reboot_outside_the_pool_of_a_known_client_is_naked(servers, raw, authoritative):
    # RFC 2131 §4.3.2: the client's notion of its address is wrong: NAK, authoritative or not
    servers.start(authoritative=authoritative)
    offer, ack = raw.dora()
    assert ack is not None and ack.pkt.msg_type == ACK
    xid = new_xid()
    nak = raw.ask(reference.request(raw.mac, xid, requested_ip=OUT_OF_POOL), xid=xid,
                  types={ACK, NAK})
    assert nak is not None and nak.pkt.msg_type == NAK and nak.dst == "255.255.255.255"
