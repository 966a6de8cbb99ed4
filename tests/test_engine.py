"""The engine's decisions (``decide``, ``on_request``, reply routing) unit-tested without root.

The Engine is built as the server builds it (``compile_policy`` over a parsed Kea config,
durability none) for the loopback link, and ``Engine.process`` is driven on a UDP socket bound to
a free port. Client messages come from ``fastdhcp.reference``; the engine's ``relay_port`` and
``client_port`` point at two unprivileged sockets, so every reply is read back with the address
it was sent to. Loopback queues a datagram during sendto and the engine sends during ``process``,
so no test waits: one call, then the replies are already there. Time is the ``now`` argument.

Each group mirrors tests of tests/test_e2e_server.py (real clients in namespaces, root):

- DORA and options: test_real_clients_get_lease_with_options, test_host_name_cannot_forge_a_lease_row
  (the host name is kept verbatim; its CSV escaping is test_lease_file's)
- reply destinations: the destination assertions of test_renewal_at_t1_keeps_address,
  test_inform_gets_options_without_lease_time, test_init_reboot_wrong_subnet_naks and
  test_relayed_client_gets_relay_subnet_and_option82_echoed
- RENEWING/REBINDING: test_renewal_at_t1_keeps_address,
  test_init_reboot_must_name_the_address_on_record_and_a_renewal_may_omit_50
- INIT-REBOOT: test_init_reboot_wrong_subnet_naks (authoritative or not),
  test_init_reboot_must_name_the_address_on_record_and_a_renewal_may_omit_50
- RELEASE and DECLINE: test_release_frees_the_address, test_release_or_decline_not_ours_changes_nothing,
  test_decline_puts_address_on_probation
- INFORM: test_inform_gets_options_without_lease_time
- relays: test_relayed_client_gets_relay_subnet_and_option82_echoed,
  test_relayed_shared_network_naks_are_broadcast_and_any_member_is_the_right_link
- reservations: test_reservations_in_and_out_of_pool, test_reservation_options_and_host_name_win,
  test_global_duid_and_addressless_reservations_and_boot_fields
- drops: test_pool_exhaustion_fourth_client_gets_nothing,
  test_malformed_flood_then_client_still_served,
  test_a_client_with_neither_chaddr_nor_client_id_is_dropped

Beyond the end-to-end tests: SELECTING another server's offer, match-client-id, client-id and
circuit-id reservations, link selection (RAI sub-option 5) and subnet selection (118), the
server-identifier override (RAI sub-option 11), the lease-time triplet, offer-lifetime, wrong
interface, no subnet, BOOTP, and the counters. The reload and restart tests are the server's
(fastdhcp.server), not the engine's decisions.
"""

from __future__ import annotations

import itertools
import json
import socket
import struct

import pytest

from fastdhcp import Durability, reference
from fastdhcp.config import parse_config
from fastdhcp.packet import MsgType
from fastdhcp.policy import Link, compile_policy
from replies import Reply

DISCOVER, OFFER, REQUEST, ACK, NAK, INFORM = (MsgType.DHCPDISCOVER, MsgType.DHCPOFFER,
                                              MsgType.DHCPREQUEST, MsgType.DHCPACK,
                                              MsgType.DHCPNAK, MsgType.DHCPINFORM)
IP_PKTINFO = getattr(socket, "IP_PKTINFO", 8)
LO = socket.if_nametoindex("lo")

SRV = "127.0.0.1"              # our address on the loopback link
NET = "127.0.0"                # the directly attached subnet (id 1)
RELAY_NET = "127.0.4"          # a relayed subnet its relay's giaddr lies in (id 4)
RELAY = f"{RELAY_NET}.1"
OTHER_RELAYED = "10.77.0"      # a relayed subnet named by its relay's address (id 3)
OTHER_RELAY = "127.0.3.1"
FOREIGN_NET_ADDR = "198.51.100.77"   # in no subnet
FOREIGN_SERVER = f"{NET}.99"   # a server identifier that is not ours
DNS = ("192.0.2.53", "192.0.2.54")
DOMAIN = "lab.example"
NOW = 1_700_000_000            # the batch's time, as the server passes int(time.time())
BOOT_FIELDS = (1, 3, 6, 12, 15)


# ---- configuration -------------------------------------------------------------------------------

def subnet(sid, net, pool, *, router=None, **extra):
    """One subnet4 entry: /24 ``net``, pool "first - last" (host parts or full addresses)."""
    first, last = (p.strip() for p in pool.split("-"))
    first = first if "." in first else f"{net}.{first}"
    last = last if "." in last else f"{net}.{last}"
    s = {"id": sid, "subnet": f"{net}.0/24", "pools": [{"pool": f"{first} - {last}"}],
         "option-data": [{"name": "routers", "data": router or f"{net}.1"}]}
    s.update({k.replace("_", "-"): v for k, v in extra.items()})
    return s


def direct(pool="100 - 199", **extra):
    """Subnet 1, attached to the loopback link."""
    return subnet(1, NET, pool, interface="lo", **extra)


def server_config(*, subnets=None, **globals_):
    """A Kea Dhcp4 configuration; keyword arguments are global parameters."""
    cfg = {
        "interfaces-config": {"interfaces": ["lo"], "dhcp-socket-type": "udp"},
        "lease-database": {"type": "memfile", "persist": False},
        "valid-lifetime": 600, "renew-timer": 300, "rebind-timer": 500,
        "option-data": [{"name": "domain-name-servers", "data": ", ".join(DNS)},
                        {"name": "domain-name", "data": DOMAIN}],
        "subnet4": subnets or [direct()],
    }
    cfg.update({k.replace("_", "-"): v for k, v in globals_.items()})
    return {"Dhcp4": cfg}


def relayed_subnets():
    """The loopback link's own subnet (what a wrong selection picks), one subnet found by its
    relay's address and one whose range holds the giaddr."""
    return [direct(), subnet(3, OTHER_RELAYED, "100 - 199", relay={"ip-addresses": [OTHER_RELAY]}),
            subnet(4, RELAY_NET, "100 - 199")]


# ---- the engine on loopback ------------------------------------------------------------------------

def udp_socket():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
    s.setsockopt(socket.IPPROTO_IP, IP_PKTINFO, 1)
    s.bind(("0.0.0.0", 0))
    s.setblocking(False)
    return s




class LoopbackServer:
    """The Engine of one configuration on three loopback sockets: the server's, the relay's
    (engine.relay_port) and the clients' (engine.client_port, which broadcasts also reach)."""

    _xids = itertools.count(0x1000)
    _macs = itertools.count(1)

    def __init__(self, cfg, links=None):
        self.config = parse_config(json.dumps(cfg))
        links = [Link("lo", LO, int.from_bytes(socket.inet_aton(SRV), "big"), bytes(6))] \
            if links is None else links
        self.engine = compile_policy(self.config, links)
        self.engine.durability = Durability.NONE
        self.sock, self.relay, self.client = udp_socket(), udp_socket(), udp_socket()
        self.port = self.sock.getsockname()[1]
        self.engine.relay_port = self.relay.getsockname()[1]
        self.engine.client_port = self.client.getsockname()[1]
        self.now = NOW

    def close(self):
        self.engine.drain()
        for s in (self.sock, self.relay, self.client):
            s.close()

    @classmethod
    def new_mac(cls):
        n = next(cls._macs)
        return bytes((2, 0xfd, 0xe1, 0, n >> 8 & 0xff, n & 0xff))

    @classmethod
    def xid(cls):
        return next(cls._xids)

    def exchange(self, *datagrams, dst=SRV, now=None):
        """Send the datagrams to the server (unicast to its address, or "255.255.255.255"),
        run one batch at ``now`` and return every reply."""
        # (a broadcast leaves through lo, as a client's leaves through its link)
        pktinfo = [(socket.IPPROTO_IP, IP_PKTINFO, struct.pack("@I4s4s", LO, bytes(4), bytes(4)))]
        for d in datagrams:
            self.client.sendmsg([d], pktinfo, 0, (dst, self.port))
        t = self.now if now is None else now
        assert self.engine.process(self.sock.fileno(), -1, -1, t) == len(datagrams)
        replies = []
        for s in (self.relay, self.client):
            while True:
                try:
                    data, anc, _, _ = s.recvmsg(4096, socket.CMSG_SPACE(12))
                except BlockingIOError:
                    break
                to = next(socket.inet_ntoa(v[8:12]) for level, kind, v in anc
                          if level == socket.IPPROTO_IP and kind == IP_PKTINFO)
                replies.append(Reply(reference.decode(data, allow_bootp=True), dst=to,
                                     port=s.getsockname()[1]))
        return replies

    def ask(self, datagram, **kw):
        """One message: its reply, or None (silence)."""
        replies = self.exchange(datagram, **kw)
        assert len(replies) <= 1, [r.pkt for r in replies]
        return replies[0] if replies else None

    def offer(self, mac, **kw):
        """DISCOVER -> the OFFER (or None); keyword arguments go to reference.discover, and
        dst/now to exchange."""
        route = {k: kw.pop(k) for k in ("dst", "now") if k in kw}
        r = self.ask(reference.discover(mac, self.xid(), **kw), **route)
        assert r is None or r.pkt.msg_type == OFFER, r.pkt
        return r

    def dora(self, mac, **kw):
        """DISCOVER/OFFER/REQUEST(SELECTING)/ACK; returns (offer, ack), the ack None without an
        offer."""
        offer = self.offer(mac, **kw)
        if offer is None:
            return None, None
        route = {k: kw.pop(k) for k in ("dst", "now") if k in kw}
        kw.pop("requested_ip", None)
        return offer, self.ask(reference.request(mac, self.xid(), server_id=offer.opt_ip(54),
                                                 requested_ip=offer.pkt.yiaddr, **kw), **route)

    def bound(self, mac, **kw):
        """A client with a lease (asserted): its ACK."""
        _, ack = self.dora(mac, **kw)
        assert ack is not None and ack.pkt.msg_type == ACK, ack and ack.pkt
        return ack

    def lease(self, address):
        return self.engine.alloc.lease(address)

    def stats(self):
        return self.engine.stats()


@pytest.fixture
def servers():
    """start(cfg=None, **server_config kwargs) -> a LoopbackServer; all closed at teardown."""
    started = []

    class Servers:
        @staticmethod
        def start(cfg=None, *, links=None, **kw):
            started.append(LoopbackServer(cfg or server_config(**kw), links))
            return started[-1]
    yield Servers
    for s in started:
        s.close()


new_mac = LoopbackServer.new_mac
new_xid = LoopbackServer.xid


def in_pool(addr, net=NET, first=100, last=199):
    head, _, host = addr.rpartition(".")
    return head == net and first <= int(host) <= last


def options_of(reply):
    return {code for code, _ in reply.pkt.options}


# =================================================================================================
# DORA and options
# =================================================================================================

def test_discover_is_offered_a_pool_address_with_the_options(servers):
    srv = servers.start()
    mac = new_mac()
    offer = srv.offer(mac)
    assert in_pool(offer.pkt.yiaddr)
    assert offer.pkt.chaddr == mac and offer.pkt.ciaddr == "0.0.0.0"
    assert offer.opt_ip(1) == "255.255.255.0"
    assert offer.opt_ip(3) == SRV
    assert offer.opt(6) == b"".join(socket.inet_aton(a) for a in DNS)
    assert offer.opt(15) == DOMAIN.encode()
    assert (offer.opt_u32(51), offer.opt_u32(58), offer.opt_u32(59)) == (600, 300, 500)
    assert offer.opt_ip(54) == SRV
    lease = srv.lease(offer.pkt.yiaddr)          # held for the client while it is offered
    assert lease.state.name == "OFFERED" and lease.hwaddr == mac


def test_selecting_request_is_acked_and_the_lease_bound_with_the_host_name(servers):
    srv = servers.start()
    mac = new_mac()
    # a host name is the client's to fill; kept as Kea keeps it: every byte outside
    # hostname-char-set's [A-Za-z0-9.-] taken out (line breaks and commas too), lower-cased
    hostname = "pc,one\n127.0.0.177,02:00:00:00:00:77,,3600\r\n\x7f&#x2c"
    offer, ack = srv.dora(mac, hostname=hostname)
    assert ack.pkt.msg_type == ACK and ack.pkt.yiaddr == offer.pkt.yiaddr
    assert (ack.opt_u32(51), ack.opt_u32(58), ack.opt_u32(59)) == (600, 300, 500)
    assert ack.opt_ip(54) == SRV and ack.opt_ip(1) == "255.255.255.0" and ack.opt_ip(3) == SRV
    lease = srv.lease(ack.pkt.yiaddr)
    assert (lease.state.name, lease.hwaddr, lease.subnet_id) == ("BOUND", mac, 1)
    assert (lease.valid_lifetime, lease.expire) == (600, NOW + 600)
    assert lease.hostname == "pcone127.0.0.1770200000000773600x2c"
    assert ack.opt(12) == lease.hostname.encode()
    assert srv.lease("127.0.0.177") is None


def test_the_requested_lease_time_is_clamped_to_min_and_max(servers):
    srv = servers.start(min_valid_lifetime=300, max_valid_lifetime=900, renew_timer=100,
                        rebind_timer=200)
    for asked, granted in ((60, 300), (700, 700), (5000, 900)):
        offer, ack = srv.dora(new_mac(), extra_options=[(51, asked.to_bytes(4, "big"))])
        assert offer.opt_u32(51) == granted and ack.opt_u32(51) == granted
        assert srv.lease(ack.pkt.yiaddr).valid_lifetime == granted


def test_every_message_is_counted_under_keas_names(servers):
    srv = servers.start()
    mac = new_mac()
    ack = srv.bound(mac)
    srv.ask(reference.inform(mac, new_xid(), ack.pkt.yiaddr))
    srv.ask(reference.request(mac, new_xid(), requested_ip=FOREIGN_NET_ADDR))      # NAK
    srv.ask(reference.release(mac, new_xid(), ack.pkt.yiaddr, SRV))
    srv.ask(reference.decline(new_mac(), new_xid(), f"{NET}.150", SRV))
    s = srv.stats()
    assert {k: s[k] for k in ("pkt4-received", "pkt4-discover-received", "pkt4-request-received",
                              "pkt4-inform-received", "pkt4-release-received",
                              "pkt4-decline-received", "pkt4-offer-sent", "pkt4-ack-sent",
                              "pkt4-nak-sent", "pkt4-sent", "pkt4-receive-drop")} == {
        "pkt4-received": 6, "pkt4-discover-received": 1, "pkt4-request-received": 2,
        "pkt4-inform-received": 1, "pkt4-release-received": 1, "pkt4-decline-received": 1,
        "pkt4-offer-sent": 1, "pkt4-ack-sent": 2, "pkt4-nak-sent": 1, "pkt4-sent": 4,
        "pkt4-receive-drop": 0}


def test_one_batch_answers_many_clients(servers):
    srv = servers.start()
    macs = [new_mac() for _ in range(20)]
    replies = srv.exchange(*(reference.discover(m, new_xid()) for m in macs))
    assert sorted(r.pkt.chaddr for r in replies) == sorted(macs)
    assert len({r.pkt.yiaddr for r in replies}) == 20


# =================================================================================================
# where replies go (RFC 2131 §4.1)
# =================================================================================================

def test_the_broadcast_bit_gets_a_broadcast_reply(servers):
    srv = servers.start()
    offer = srv.offer(new_mac(), broadcast=True)
    assert (offer.dst, offer.port) == ("255.255.255.255", srv.engine.client_port)
    assert offer.pkt.flags & 0x8000


def test_without_the_broadcast_bit_udp_sockets_broadcast_and_count_it(servers):
    # dhcp-socket-type udp: no AF_PACKET socket to unicast at chaddr, so broadcast instead
    srv = servers.start()
    offer = srv.offer(new_mac())
    assert (offer.dst, offer.port) == ("255.255.255.255", srv.engine.client_port)
    assert not offer.pkt.flags & 0x8000
    assert srv.stats()["raw-unavailable-broadcast"] == 1


def test_with_raw_sockets_an_offer_without_the_broadcast_bit_is_a_frame_to_chaddr(servers):
    # (the frame would leave through the raw socket, which needs root: none is given here,
    # so the decision shows as an OFFER made that went through no UDP socket)
    srv = servers.start()
    srv.engine.raw_sockets = True
    assert srv.offer(new_mac()) is None
    s = srv.stats()
    assert (s["pkt4-offer-sent"], s["pkt4-sent"], s["raw-unavailable-broadcast"]) == (1, 0, 0)
    assert srv.offer(new_mac(), broadcast=True).dst == "255.255.255.255"


def test_a_client_with_an_address_is_answered_at_ciaddr_client_port(servers):
    srv = servers.start()
    mac = new_mac()
    ack = srv.bound(mac)
    r = srv.ask(reference.request(mac, new_xid(), ciaddr=ack.pkt.yiaddr))
    assert (r.dst, r.port) == (ack.pkt.yiaddr, srv.engine.client_port)


def test_with_raw_sockets_a_reply_to_ciaddr_is_a_frame_to_chaddr(servers):
    # RENEWING (unicast) and REBINDING (broadcast) with ciaddr, and a DISCOVER with a bogus
    # ciaddr: as Kea's raw sockets, no kernel path (ARP); as above, no UDP socket shows it
    srv = servers.start()
    mac = new_mac()
    ip = srv.bound(mac).pkt.yiaddr
    srv.engine.raw_sockets = True
    before = srv.stats()
    assert srv.ask(reference.request(mac, new_xid(), ciaddr=ip)) is None
    assert srv.ask(reference.request(mac, new_xid(), ciaddr=ip), dst="255.255.255.255") is None
    assert srv.ask(reference.discover(new_mac(), new_xid(), ciaddr="192.0.2.250")) is None
    after = srv.stats()
    made = {k: after[k] - before[k] for k in ("pkt4-ack-sent", "pkt4-offer-sent", "pkt4-sent",
                                              "raw-unavailable-broadcast")}
    assert made == {"pkt4-ack-sent": 2, "pkt4-offer-sent": 1, "pkt4-sent": 0,
                    "raw-unavailable-broadcast": 0}


def test_a_nak_is_broadcast_even_to_a_client_with_ciaddr(servers):
    srv = servers.start(authoritative=True)
    srv.bound(new_mac())
    held = next(l.address for l in srv.engine.alloc.leases())
    r = srv.ask(reference.request(new_mac(), new_xid(), ciaddr=held))   # another client's
    assert r.pkt.msg_type == NAK
    assert (r.dst, r.port) == ("255.255.255.255", srv.engine.client_port)


def test_a_relayed_reply_goes_to_giaddr_relay_port(servers):
    srv = servers.start(subnets=relayed_subnets())
    offer = srv.offer(new_mac(), giaddr=RELAY, broadcast=True)
    assert (offer.dst, offer.port) == (RELAY, srv.engine.relay_port)
    assert offer.pkt.giaddr == RELAY


# =================================================================================================
# RENEWING and REBINDING (ciaddr set, no 50 or 54)
# =================================================================================================

def test_renewing_at_t1_is_acked_to_ciaddr_and_the_lease_moves_forward(servers):
    srv = servers.start(valid_lifetime=20, renew_timer=3, rebind_timer=15)
    mac = new_mac()
    ack = srv.bound(mac)
    ip = ack.pkt.yiaddr
    assert srv.lease(ip).expire == NOW + 20
    renew = reference.request(mac, new_xid(), ciaddr=ip)
    assert reference.decode(renew).option(50) is None and reference.decode(renew).option(54) is None
    r = srv.ask(renew, now=NOW + 3)
    assert r.pkt.msg_type == ACK and r.pkt.yiaddr == ip and r.pkt.ciaddr == ip
    assert (r.dst, r.port) == (ip, srv.engine.client_port)
    assert r.opt_u32(51) == 20 and r.opt_ip(54) == SRV
    lease = srv.lease(ip)
    assert (lease.hwaddr, lease.expire, lease.valid_lifetime) == (mac, NOW + 3 + 20, 20)


def test_rebinding_broadcast_is_acked_to_ciaddr(servers):
    srv = servers.start()
    mac = new_mac()
    ip = srv.bound(mac).pkt.yiaddr
    r = srv.ask(reference.request(mac, new_xid(), ciaddr=ip), dst="255.255.255.255", now=NOW + 500)
    assert r.pkt.msg_type == ACK and r.pkt.yiaddr == ip and r.dst == ip
    assert srv.lease(ip).expire == NOW + 500 + 600


def test_renewing_another_clients_address_is_naked(servers):
    srv = servers.start()
    ip = srv.bound(new_mac()).pkt.yiaddr
    r = srv.ask(reference.request(new_mac(), new_xid(), ciaddr=ip))
    assert r.pkt.msg_type == NAK and r.pkt.yiaddr == "0.0.0.0"
    assert srv.lease(ip).state.name == "BOUND"


def test_a_renewal_naming_the_server_without_50_is_taken_by_its_ciaddr(servers):
    srv = servers.start(authoritative=True)
    mac = new_mac()
    held = srv.bound(mac).pkt.yiaddr
    r = srv.ask(reference.request(mac, new_xid(), server_id=SRV, ciaddr=held))
    assert r.pkt.msg_type == ACK and r.pkt.yiaddr == held
    assert r.dst == held                              # unicast to ciaddr (§4.1)


# =================================================================================================
# SELECTING (54 and 50)
# =================================================================================================

def test_selecting_another_servers_offer_lets_ours_lapse(servers):
    srv = servers.start(subnets=[direct("100 - 100")], offer_lifetime=60)
    a, b = new_mac(), new_mac()
    offer = srv.offer(a)
    assert srv.offer(b) is None                       # offer-lifetime: held for a
    r = srv.ask(reference.request(a, new_xid(), server_id=FOREIGN_SERVER,
                                  requested_ip=offer.pkt.yiaddr))
    assert r is None and srv.stats()["request-for-other-server"] == 1
    assert srv.offer(b).pkt.yiaddr == offer.pkt.yiaddr     # RFC 2131 §4.3.2: released at once




def test_selecting_an_address_held_by_another_client_is_naked(servers):
    srv = servers.start()
    ip = srv.bound(new_mac()).pkt.yiaddr
    r = srv.ask(reference.request(new_mac(), new_xid(), server_id=SRV, requested_ip=ip))
    assert r.pkt.msg_type == NAK


def test_an_offer_is_held_for_offer_lifetime_then_given_to_another(servers):
    srv = servers.start(subnets=[direct("100 - 100")], offer_lifetime=10)
    offer = srv.offer(new_mac())
    assert srv.offer(new_mac(), now=NOW + 5) is None
    srv.engine.reclaim(NOW + 10)
    assert srv.offer(new_mac(), now=NOW + 10).pkt.yiaddr == offer.pkt.yiaddr


# =================================================================================================
# INIT-REBOOT (50, no 54, no ciaddr)
# =================================================================================================

@pytest.mark.parametrize("authoritative", [True, False], ids=["authoritative", "non-authoritative"])
def test_init_reboot_for_another_network_is_naked_without_configuration(servers, authoritative):
    srv = servers.start(authoritative=authoritative)
    # no broadcast flag: a NAK is broadcast anyway when giaddr is 0 (RFC 2131 §4.1)
    nak = srv.ask(reference.request(new_mac(), new_xid(), requested_ip=FOREIGN_NET_ADDR))
    assert nak.pkt.msg_type == NAK
    assert (nak.dst, nak.port) == ("255.255.255.255", srv.engine.client_port)
    assert nak.pkt.yiaddr == "0.0.0.0" and nak.opt(51) is None
    assert nak.opt_ip(54) == SRV
    # a NAK carries no configuration (RFC 2131 Table 3)
    assert not options_of(nak) & {1, 3, 6, 15, 51, 58, 59}
    assert (nak.pkt.siaddr, nak.pkt.sname, nak.pkt.file) == ("0.0.0.0", b"", b"")


@pytest.mark.parametrize("authoritative", [True, False], ids=["authoritative", "non-authoritative"])
def test_init_reboot_of_a_client_without_a_record(servers, authoritative):
    # §4.3.2 as Kea reads it: an authoritative server NAKs it, another "MUST remain silent"
    srv = servers.start(authoritative=authoritative)
    r = srv.ask(reference.request(new_mac(), new_xid(), requested_ip=f"{NET}.150"))
    if authoritative:
        assert r.pkt.msg_type == NAK and r.dst == "255.255.255.255"
    else:
        assert r is None
    assert srv.lease(f"{NET}.150") is None


@pytest.mark.parametrize("authoritative", [True, False], ids=["authoritative", "non-authoritative"])
def test_init_reboot_must_name_the_address_on_record(servers, authoritative):
    srv = servers.start(authoritative=authoritative)
    mac = new_mac()
    held = srv.bound(mac).pkt.yiaddr
    free = f"{NET}.199"
    assert held != free
    # its own address: ACK; another address than the one on record: NAK
    r = srv.ask(reference.request(mac, new_xid(), requested_ip=held), now=NOW + 60)
    assert r.pkt.msg_type == ACK and r.pkt.yiaddr == held and r.opt_u32(51) == 600
    assert srv.lease(held).expire == NOW + 60 + 600
    r = srv.ask(reference.request(mac, new_xid(), requested_ip=free))
    assert r.pkt.msg_type == NAK and r.dst == "255.255.255.255"
    # another client asking for this one's address: NAK (authoritative) or silence
    r = srv.ask(reference.request(new_mac(), new_xid(), requested_ip=held))
    if authoritative:
        assert r.pkt.msg_type == NAK and r.dst == "255.255.255.255"
    else:
        assert r is None
    assert srv.lease(held).hwaddr == mac and srv.lease(held).state.name == "BOUND"


# =================================================================================================
# RELEASE and DECLINE
# =================================================================================================

def test_release_frees_the_address_for_the_next_client(servers):
    srv = servers.start(subnets=[direct("100 - 100")])
    only = f"{NET}.100"
    mac = new_mac()
    assert srv.bound(mac).pkt.yiaddr == only
    assert srv.ask(reference.release(mac, new_xid(), only, SRV), now=NOW + 10) is None
    lease = srv.lease(only)
    assert lease.state.name == "RELEASED" and lease.hwaddr == mac
    assert srv.bound(new_mac(), now=NOW + 11).pkt.yiaddr == only


@pytest.mark.parametrize("kind", ["release", "decline"])
@pytest.mark.parametrize("sender", ["other-client", "other-server"])
def test_release_or_decline_not_ours_changes_nothing(servers, kind, sender):
    srv = servers.start(subnets=[direct("100 - 100")], authoritative=True)
    only = f"{NET}.100"
    owner, other = new_mac(), new_mac()
    assert srv.bound(owner).pkt.yiaddr == only
    mac, server_id = (other, SRV) if sender == "other-client" else (owner, FOREIGN_SERVER)
    if kind == "release":
        msg = reference.release(mac, new_xid(), only, server_id)
    else:
        msg = reference.decline(mac, new_xid(), only, server_id)
    assert srv.ask(msg) is None
    lease = srv.lease(only)
    assert (lease.hwaddr, lease.valid_lifetime, lease.state.name) == (owner, 600, "BOUND")
    assert srv.offer(other) is None, f"{only} was offered to another client while still leased"
    assert srv.stats()["request-for-other-server"] == (sender == "other-server")


def test_decline_puts_the_address_on_probation(servers):
    probation = 4
    srv = servers.start(subnets=[direct("100 - 100")], decline_probation_period=probation)
    only = f"{NET}.100"
    a, b = new_mac(), new_mac()
    ack = srv.bound(a)
    assert srv.ask(reference.decline(a, new_xid(), only, ack.opt_ip(54)), now=NOW + 1) is None
    lease = srv.lease(only)
    assert (lease.state.name, lease.valid_lifetime, lease.expire) == \
        ("DECLINED", probation, NOW + 1 + probation)
    assert srv.offer(b, now=NOW + 2) is None          # on probation: nobody gets it
    srv.engine.reclaim(NOW + 1 + probation)           # the server's expiry pass
    assert srv.offer(b, now=NOW + 1 + probation).pkt.yiaddr == only


def test_decline_without_an_address_changes_nothing(servers):
    srv = servers.start()
    mac = new_mac()
    ip = srv.bound(mac).pkt.yiaddr
    msg = reference._client_message(MsgType.DHCPDECLINE, mac, new_xid(), server_id=SRV)
    assert srv.ask(msg) is None
    assert srv.lease(ip).state.name == "BOUND"


# =================================================================================================
# INFORM
# =================================================================================================

def test_inform_gets_options_without_lease_time(servers):
    srv = servers.start()
    static = f"{NET}.50"
    ack = srv.ask(reference.inform(new_mac(), new_xid(), static))
    assert ack.pkt.msg_type == ACK
    assert (ack.dst, ack.port) == (static, srv.engine.client_port)   # ciaddr:68 (§4.1)
    assert ack.pkt.ciaddr == static and ack.pkt.yiaddr == "0.0.0.0"
    assert ack.opt(51) is None, "DHCPINFORM's ACK must not carry a lease time (RFC 2131 §4.3.5)"
    assert ack.opt(58) is None and ack.opt(59) is None
    assert ack.opt_ip(54) == SRV and ack.opt_ip(3) == SRV
    assert ack.opt(6) == b"".join(socket.inet_aton(a) for a in DNS)
    assert ack.opt(15).rstrip(b"\0") == DOMAIN.encode()
    assert srv.lease(static) is None and not srv.engine.alloc.leases()


# =================================================================================================
# relays
# =================================================================================================

def test_relayed_client_gets_the_relay_subnet_and_option82_echoed(servers):
    srv = servers.start(subnets=relayed_subnets())
    mac = new_mac()
    rai = [(1, b"port-7"), (2, b"relay-remote")]
    offer, ack = srv.dora(mac, giaddr=RELAY, relay_info=rai)
    for r in (offer, ack):
        # RFC 3046 §2.2: option 82 echoed unchanged, to the relay at giaddr:67
        assert r.opt(82) == b"".join(bytes((c, len(v))) + v for c, v in rai)
        assert r.pkt.giaddr == RELAY and (r.dst, r.port) == (RELAY, srv.engine.relay_port)
        assert in_pool(r.pkt.yiaddr, RELAY_NET)
        assert r.opt_ip(3) == RELAY and r.opt_ip(1) == "255.255.255.0"
    ip = ack.pkt.yiaddr
    assert srv.lease(ip).subnet_id == 4 and srv.lease(ip).hwaddr == mac
    # the client's RELEASE (unicast, through the relay's routing) removes the lease
    assert srv.ask(reference.release(mac, new_xid(), ip, SRV)) is None
    assert srv.lease(ip).state.name == "RELEASED"


def test_a_relay_address_names_its_subnet(servers):
    srv = servers.start(subnets=relayed_subnets())
    offer, ack = srv.dora(new_mac(), giaddr=OTHER_RELAY)
    assert in_pool(offer.pkt.yiaddr, OTHER_RELAYED) and ack.pkt.msg_type == ACK
    assert offer.opt_ip(3) == f"{OTHER_RELAYED}.1" and offer.dst == OTHER_RELAY
    assert srv.lease(ack.pkt.yiaddr).subnet_id == 3


def test_a_relay_of_no_subnet_is_dropped_and_counted(servers):
    srv = servers.start(subnets=relayed_subnets())
    assert srv.offer(new_mac(), giaddr="127.0.9.1") is None
    assert srv.stats()["no-subnet-drop"] == 1 and srv.stats()["pkt4-receive-drop"] == 1


def shared_network_config():
    cfg = server_config(subnets=[direct()])
    cfg["Dhcp4"]["shared-networks"] = [{"name": "relayed", "subnet4": [
        subnet(5, RELAY_NET, "100 - 199"), subnet(6, OTHER_RELAYED, "100 - 199")]}]
    return cfg


def test_shared_network_any_member_is_the_right_link_and_naks_are_broadcast(servers):
    srv = servers.start(shared_network_config())
    mac = new_mac()
    other = f"{OTHER_RELAYED}.150"
    # REBINDING with an address of the other member and no record of it: not a wrong
    # network (RFC 2131 §4.3.2 NAKs only a wrong one), so the free address is granted
    ack = srv.ask(reference.request(mac, new_xid(), ciaddr=other, giaddr=RELAY))
    assert ack.pkt.msg_type == ACK and ack.pkt.yiaddr == other and ack.dst == RELAY
    assert srv.lease(other).subnet_id == 6
    # INIT-REBOOT for the address the server now has for this client: ACK
    again = srv.ask(reference.request(mac, new_xid(), requested_ip=other, giaddr=RELAY))
    assert again.pkt.msg_type == ACK and again.pkt.yiaddr == other
    # INIT-REBOOT for an address of no member: NAK, to the relay, with the broadcast bit, so
    # the relay broadcasts it to a client that has no usable address (§4.3.2 MUST)
    nak = srv.ask(reference.request(mac, new_xid(), requested_ip=f"{NET}.150", giaddr=RELAY))
    assert nak.pkt.msg_type == NAK and (nak.dst, nak.port) == (RELAY, srv.engine.relay_port)
    assert nak.pkt.flags & 0x8000


def test_shared_network_allocation_moves_to_the_next_member(servers):
    cfg = server_config(subnets=[direct()])
    cfg["Dhcp4"]["shared-networks"] = [{"name": "relayed", "subnet4": [
        subnet(5, RELAY_NET, "100 - 101"), subnet(6, OTHER_RELAYED, "100 - 100")]}]
    srv = servers.start(cfg)
    got = [srv.bound(new_mac(), giaddr=RELAY).pkt.yiaddr for _ in range(3)]
    assert got == [f"{RELAY_NET}.100", f"{RELAY_NET}.101", f"{OTHER_RELAYED}.100"]
    assert srv.offer(new_mac(), giaddr=RELAY) is None
    assert srv.stats()["addresses-exhausted"] == 1


def test_link_selection_and_subnet_selection_pick_the_subnet(servers):
    srv = servers.start(subnets=relayed_subnets())
    # RFC 3527: RAI sub-option 5 names the client's link, whatever giaddr says
    o = srv.offer(new_mac(), giaddr=RELAY, relay_info=[(5, socket.inet_aton(f"{OTHER_RELAYED}.1"))])
    assert in_pool(o.pkt.yiaddr, OTHER_RELAYED) and o.dst == RELAY
    # RFC 3011: option 118, from a relayed or a directly attached client
    sel = [(118, socket.inet_aton(f"{RELAY_NET}.1"))]
    assert in_pool(srv.offer(new_mac(), extra_options=sel).pkt.yiaddr, RELAY_NET)
    assert in_pool(srv.offer(new_mac(), giaddr=OTHER_RELAY, extra_options=sel).pkt.yiaddr,
                   RELAY_NET)
    # sub-option 5 goes before 118
    both = srv.offer(new_mac(), giaddr=RELAY, extra_options=sel,
                     relay_info=[(5, socket.inet_aton(f"{OTHER_RELAYED}.1"))])
    assert in_pool(both.pkt.yiaddr, OTHER_RELAYED)
    # a selection in no subnet: dropped
    assert srv.offer(new_mac(), extra_options=[(118, socket.inet_aton("10.99.0.1"))]) is None
    assert srv.stats()["no-subnet-drop"] == 1


def test_the_relay_can_override_the_server_identifier(servers):
    # RFC 5107: RAI sub-option 11 names the address the client must use as our identifier
    srv = servers.start(subnets=relayed_subnets())
    mac = new_mac()
    rai = [(11, socket.inet_aton(RELAY))]
    offer, ack = srv.dora(mac, giaddr=RELAY, relay_info=rai)
    assert offer.opt_ip(54) == RELAY
    assert ack.pkt.msg_type == ACK and ack.opt_ip(54) == RELAY
    # a RELEASE naming it is ours; without the sub-option our own address is
    assert srv.ask(reference.release(mac, new_xid(), ack.pkt.yiaddr, RELAY, giaddr=RELAY,
                                     relay_info=rai)) is None
    assert srv.lease(ack.pkt.yiaddr).state.name == "RELEASED"
    assert srv.offer(new_mac(), giaddr=RELAY).opt_ip(54) == SRV


def test_a_configured_server_identifier_is_used(servers):
    srv = servers.start(subnets=[direct(option_data=[
        {"name": "routers", "data": SRV}, {"name": "dhcp-server-identifier", "data": "127.0.0.9"}])])
    mac = new_mac()
    offer, ack = srv.dora(mac)
    assert offer.opt_ip(54) == "127.0.0.9" and ack.pkt.msg_type == ACK
    # our interface's address is ours too (Kea's acceptServerId: any socket's address); an
    # address that is neither is another server's
    r = srv.ask(reference.request(mac, new_xid(), server_id=SRV, requested_ip=ack.pkt.yiaddr))
    assert r.pkt.msg_type == ACK and r.opt_ip(54) == "127.0.0.9"
    r = srv.ask(reference.request(mac, new_xid(), server_id=FOREIGN_SERVER,
                                  requested_ip=ack.pkt.yiaddr))
    assert r is None and srv.stats()["request-for-other-server"] == 1


# =================================================================================================
# reservations
# =================================================================================================

def test_reservations_in_and_out_of_pool(servers):
    in_mac, out_mac = new_mac(), new_mac()
    reserved_in, reserved_out = f"{NET}.102", f"{NET}.20"
    srv = servers.start(subnets=[direct("100 - 103", reservations=[
        {"hw-address": in_mac.hex(":"), "ip-address": reserved_in},
        {"hw-address": out_mac.hex(":"), "ip-address": reserved_out}])])
    # others exhaust the pool: they get .100, .101, .103, never the reserved .102
    got = sorted(srv.bound(new_mac()).pkt.yiaddr for _ in range(3))
    assert got == [f"{NET}.100", f"{NET}.101", f"{NET}.103"]
    assert srv.offer(new_mac()) is None
    assert srv.bound(in_mac).pkt.yiaddr == reserved_in
    assert srv.bound(out_mac).pkt.yiaddr == reserved_out
    assert srv.lease(reserved_in).hwaddr == in_mac and srv.lease(reserved_out).hwaddr == out_mac


def test_a_reserved_address_is_not_given_to_another_who_asks_for_it(servers):
    owner = new_mac()
    srv = servers.start(subnets=[direct("100 - 103", reservations=[
        {"hw-address": owner.hex(":"), "ip-address": f"{NET}.102"}])])
    assert srv.offer(new_mac(), requested_ip=f"{NET}.102").pkt.yiaddr != f"{NET}.102"
    r = srv.ask(reference.request(new_mac(), new_xid(), server_id=SRV,
                                  requested_ip=f"{NET}.102"))
    assert r.pkt.msg_type == NAK


def test_reservation_options_and_host_name_win(servers):
    mac = new_mac()
    srv = servers.start(subnets=[direct("100 - 103", reservations=[
        {"hw-address": mac.hex(":"), "ip-address": f"{NET}.101", "hostname": "printer-7",
         "option-data": [{"name": "routers", "data": f"{NET}.254"}]}])])
    offer, ack = srv.dora(mac, prl=BOOT_FIELDS)
    for r in (offer, ack):
        assert r.pkt.yiaddr == f"{NET}.101"
        assert r.opt_ip(3) == f"{NET}.254" and r.opt(12) == b"printer-7"
    other = srv.offer(new_mac(), prl=BOOT_FIELDS)     # an unreserved client keeps the subnet's
    assert other.opt_ip(3) == SRV and other.opt(12) is None


def test_global_duid_and_addressless_reservations_and_boot_fields(servers):
    g_mac, g2_mac, duid_mac, named_mac, plain_mac = (new_mac() for _ in range(5))
    duid = bytes.fromhex("000100012a2b2c2d0a0b0c0d0e0f")
    srv = servers.start(subnets=[direct("100 - 110", **{
        "reservations-global": True, "reservations-in-subnet": True,
        "next-server": f"{NET}.5", "server-hostname": "boot-a", "boot-file-name": "pxelinux.0",
        "reservations": [
            {"duid": duid.hex(":"), "ip-address": f"{NET}.30"},
            {"hw-address": named_mac.hex(":"), "hostname": "named-host",
             "boot-file-name": "special.efi"}]})],
        reservations=[
            {"hw-address": g_mac.hex(":"), "ip-address": f"{NET}.40", "hostname": "global-host",
             "next-server": f"{NET}.6",
             "option-data": [{"name": "domain-name", "data": "global.example"}]},
            {"hw-address": g2_mac.hex(":"), "ip-address": f"{NET}.41", "hostname": "global-two"}])
    g = srv.offer(g_mac, prl=BOOT_FIELDS)
    assert g.pkt.yiaddr == f"{NET}.40"
    assert g.opt(12) == b"global-host" and g.opt(15) == b"global.example"
    assert g.pkt.siaddr == f"{NET}.6"                         # the reservation's next-server
    assert (g.pkt.sname, g.pkt.file) == (b"boot-a", b"pxelinux.0")   # the subnet's names
    assert g.opt_ip(3) == SRV                                 # the subnet's router still comes
    cid = b"\xff" + bytes.fromhex("00000001") + duid         # type 255, IAID 1, DUID
    assert srv.offer(duid_mac, client_id=cid).pkt.yiaddr == f"{NET}.30"
    n = srv.offer(named_mac, prl=BOOT_FIELDS)
    assert in_pool(n.pkt.yiaddr, NET, 100, 110) and n.opt(12) == b"named-host"
    assert (n.pkt.siaddr, n.pkt.sname, n.pkt.file) == (f"{NET}.5", b"boot-a", b"special.efi")
    p = srv.offer(plain_mac, prl=BOOT_FIELDS)
    assert in_pool(p.pkt.yiaddr, NET, 100, 110)
    assert p.opt(12) is None and p.opt(15) == DOMAIN.encode()
    assert (p.pkt.siaddr, p.pkt.sname, p.pkt.file) == (f"{NET}.5", b"boot-a", b"pxelinux.0")
    ack = srv.bound(g2_mac, prl=BOOT_FIELDS)                  # a global reservation, over DORA
    assert ack.pkt.yiaddr == f"{NET}.41" and ack.opt(12) == b"global-two"
    assert srv.lease(f"{NET}.41").hwaddr == g2_mac


def test_a_global_reservation_is_ignored_where_reservations_global_is_off(servers):
    g_mac = new_mac()
    srv = servers.start(reservations=[{"hw-address": g_mac.hex(":"), "ip-address": f"{NET}.40"}])
    assert in_pool(srv.offer(g_mac).pkt.yiaddr)


def test_client_id_and_circuit_id_reservations(servers):
    cid = b"\x01" + new_mac()
    srv = servers.start(subnets=relayed_subnets()[:1] + [subnet(4, RELAY_NET, "100 - 199", reservations=[
        {"client-id": cid.hex(":"), "ip-address": f"{RELAY_NET}.20"},
        {"circuit-id": b"port-9".hex(":"), "ip-address": f"{RELAY_NET}.21"}])])
    assert srv.offer(new_mac(), giaddr=RELAY, client_id=cid).pkt.yiaddr == f"{RELAY_NET}.20"
    ack = srv.bound(new_mac(), giaddr=RELAY, relay_info=[(1, b"port-9")])
    assert ack.pkt.yiaddr == f"{RELAY_NET}.21"
    assert in_pool(srv.offer(new_mac(), giaddr=RELAY, relay_info=[(1, b"port-8")]).pkt.yiaddr,
                   RELAY_NET)


@pytest.mark.parametrize("match", [True, False], ids=["match-client-id", "hw-address-only"])
def test_match_client_id(servers, match):
    # the same MAC with two client ids: two clients, unless match-client-id is false
    srv = servers.start(subnets=[direct(match_client_id=match)])
    mac = new_mac()
    a = srv.bound(mac, client_id=b"\x00one").pkt.yiaddr
    b = srv.bound(mac, client_id=b"\x00two").pkt.yiaddr
    assert (a != b) == match
    # and without the client id the lease is found by its hardware address only without match
    c = srv.offer(mac).pkt.yiaddr
    assert (c == b) == (not match)


# =================================================================================================
# drops
# =================================================================================================

def test_pool_exhaustion_fourth_client_gets_nothing(servers):
    srv = servers.start(subnets=[direct("100 - 102")])
    got = sorted(srv.bound(new_mac()).pkt.yiaddr for _ in range(3))
    assert got == [f"{NET}.100", f"{NET}.101", f"{NET}.102"]
    assert srv.offer(new_mac()) is None
    assert srv.stats()["addresses-exhausted"] == 1
    assert srv.engine.alloc.stats(1) == {"total-addresses": 3, "assigned-addresses": 3,
                                         "declined-addresses": 0, "free-addresses": 0}


def malformed(good):
    """Datagrams the server must drop, made from a good one: truncated, bad cookie, bad op, no
    message type, an option running past the end, a broken option 82."""
    cookie = 236
    bad_cookie = bytearray(good)
    bad_cookie[cookie] ^= 0xFF
    return [good[:239], bytes(bad_cookie), b"\x02" + good[1:], good[:240] + bytes([12, 3]) + b"abc",
            good[:240] + bytes([53, 1, 1, 55, 200]),
            good[:240] + bytes([53, 1, 1, 82, 4, 1, 9, 0, 0, 255])]


def test_malformed_datagrams_are_counted_and_a_client_is_still_served(servers):
    srv = servers.start()
    junk = malformed(reference.discover(new_mac(), 1, broadcast=True))
    mac = new_mac()
    replies = srv.exchange(*junk, reference.discover(mac, new_xid()))   # one batch
    assert [r.pkt.chaddr for r in replies] == [mac]
    s = srv.stats()
    assert s["pkt4-parse-failed"] == len(junk) and s["pkt4-receive-drop"] == len(junk)
    assert {k: v for k, v in s.items() if k.startswith("parse-drop-") and v} == {
        "parse-drop-too-short": 1, "parse-drop-bad-magic-cookie": 1, "parse-drop-not-bootrequest": 1,
        "parse-drop-no-message-type": 1, "parse-drop-option-overrun": 1,
        "parse-drop-bad-relay-info": 1}
    assert [l.hwaddr for l in srv.engine.alloc.leases()] == [mac]


def test_a_client_with_neither_chaddr_nor_client_id_is_dropped(servers):
    srv = servers.start()
    assert srv.offer(b"") is None
    assert srv.stats()["no-client-identity-drop"] == 1
    offer = srv.offer(b"", client_id=b"\x00only-a-client-id")
    assert offer is not None and in_pool(offer.pkt.yiaddr)


def test_a_message_from_a_link_we_do_not_serve_is_dropped(servers):
    srv = servers.start(links=[])
    assert srv.offer(new_mac()) is None
    assert srv.stats()["wrong-interface-drop"] == 1


def test_a_relayed_message_on_a_link_we_do_not_serve_is_dropped(servers):
    srv = servers.start(subnets=relayed_subnets(), links=[])
    assert srv.offer(new_mac(), giaddr=RELAY) is None
    assert srv.stats()["wrong-interface-drop"] == 1


def bootp_request(mac):
    """A BOOTREQUEST without option 53 (RFC 951)."""
    d = reference.decode(reference.discover(mac, new_xid()))
    return reference.encode(reference.Packet(**{**{f: getattr(d, f) for f in d.__struct_fields__},
                                                "options": ((55, bytes((1, 3))),)}))


def test_bootp_is_not_answered_without_the_bootp_hook(servers):
    # Kea drops a message without 53 unless its bootp hook library is loaded (policy turns
    # allow_bootp on only then): a parse failure
    srv = servers.start()
    assert srv.ask(bootp_request(new_mac())) is None
    s = srv.stats()
    assert (s["pkt4-unknown-received"], s["pkt4-parse-failed"]) == (0, 1)


def test_bootp_with_the_hook_is_answered_as_a_request_without_dhcp_options(servers):
    srv = servers.start()
    srv.engine.allow_bootp = True
    r = srv.ask(bootp_request(new_mac()))
    assert r is not None and r.pkt.op == 2 and r.pkt.msg_type == 0
    assert all(r.pkt.option(c) is None for c in (51, 53, 54, 58, 59, 61))
    s = srv.stats()
    assert (s["pkt4-request-received"], s["pkt4-parse-failed"]) == (1, 0)


@pytest.mark.parametrize("msg_type, counter", [
    (MsgType.DHCPOFFER, "pkt4-offer-received"), (MsgType.DHCPACK, "pkt4-ack-received"),
    (MsgType.DHCPNAK, "pkt4-nak-received"), (MsgType.DHCPLEASEQUERY, "pkt4-unknown-received")])
def test_a_message_type_the_server_does_not_take_is_counted_by_type_and_dropped(servers, msg_type,
                                                                               counter):
    # as Kea's processStatsReceived counts it before the message-type check drops it
    srv = servers.start()
    assert srv.ask(reference._client_message(msg_type, new_mac(), new_xid())) is None
    s = srv.stats()
    assert s[counter] == 1 and s["pkt4-receive-drop"] == 1 and s["pkt4-received"] == 1


def test_a_datagram_shorter_than_the_bootp_header_is_not_received_as_kea_counts(servers):
    # Kea's Pkt4 constructor refuses it in the receive path: not received, not parse-failed
    srv = servers.start()
    assert srv.ask(b"\x01" * 100) is None
    s = srv.stats()
    assert (s["pkt4-received"], s["pkt4-parse-failed"], s["parse-drop-too-short"]) == (0, 0, 1)
