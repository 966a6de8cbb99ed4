"""End-to-end tests of ``fastdhcp serve`` with real DHCP clients, inside netlab namespaces.

Topology (module-scoped lab; every address is RFC 5737 documentation or RFC 1918 space, nothing
leaves the lab's namespaces):

    client namespaces c<n> --veth--> [bridge 192.0.2.1/24 in srv]  fastdhcp serve
    c_relay --veth 203.0.113.0/24--> [rly: dhcrelay -a] --veth 198.51.100.0/24--> srv

Each test starts its own server (its own config and lease file) and its own client namespaces,
so the tests stay independent; the namespaces, links and bridge are shared. Real clients:
ISC dhclient, busybox udhcpc, dhcpcd and ISC dhcrelay (flags as in tests/corpus/capture.py);
crafted messages come from fastdhcp.reference through UDP sockets opened inside a client
namespace (setns on this thread for the socket() call only: a socket keeps its namespace).

Needs root: without it every test fails (netlab.pytest_require_root), never skips.

FASTDHCP_E2E_SERVER=kea runs the same tests against ISC kea-dhcp4 (the reference fastdhcp
replaces), to check that an assertion describes Kea's behaviour; where fastdhcp deliberately
differs the test is marked xfail under Kea, with the reason. FASTDHCP_E2E_KEEP=1 keeps the lab
dir (configs, server logs, lease files, captures, client hook dumps) for debugging.
"""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import struct
import sys
import time
from typing import NamedTuple

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fastdhcp._lab import netlab

import fastdhcp
from fastdhcp import reference
from fastdhcp.leases.lease import csv_unescape
from e2e import (ACK, barrier, ClientSock, crafted_dora, crafted_offer, differs_from_kea,
                 DISCOVER, DNS, DOMAIN, FOREIGN_SERVER, in_pool, lease_rows, mac_bytes, MARKS,
                 NAK, NET, new_xid, OFFER, OTHER_RELAYED, RELAY_NET, REQUEST, rows_for,
                 server_config, server_log, spawn_client, SRV_IP, subnet, UNDER_TEST, UP_NET,
                 wait_log, write_json)
from e2e import servers, topo  # noqa: F401  (fixtures)

lab = netlab.lab_fixture(scope="module", keep_dir=bool(os.environ.get("FASTDHCP_E2E_KEEP")))

# =================================================================================================
# helpers: real clients
# =================================================================================================

def hook_script(lab, name, body):
    """A client hook script (in the lab dir) recording each event: appends "<event> <addr>" to
    <dir>/events and dumps its environment to <dir>/<event>.env. It applies addresses to the
    interface inside the client namespace only (no DNS, no routes)."""
    d = lab.path(name)
    os.makedirs(d, exist_ok=True)
    path = lab.path(f"{name}-hook.sh")
    with open(path, "w") as f:
        f.write("#!/bin/sh\n" + body.replace("@DIR@", d) + "\nexit 0\n")
    os.chmod(path, 0o755)
    return path, d


def read_env(path):
    env = {}
    with open(path, errors="replace") as f:
        for line in f:
            k, sep, v = line.rstrip("\n").partition("=")
            if sep:
                env[k] = v.strip("'")
    return env


def events(d):
    try:
        with open(os.path.join(d, "events")) as f:
            return [ln.split() for ln in f if ln.strip()]
    except FileNotFoundError:
        return []


def wait_event(lab, d, word, count=1, timeout=20.0):
    """Wait for the count-th `word` event of a hook script; returns its address field."""
    def seen():
        hits = [e for e in events(d) if e[:1] == [word]]
        return hits[count - 1] if len(hits) >= count else None
    ev = lab.wait_for(seen, timeout, interval=0.1, what=f"{word} x{count} in {d}")
    return ev[1] if len(ev) > 1 else None


# The address is applied before the event is recorded: a test that stops the client right
# after seeing "bound" must find the address in place (a RELEASE is sent from it).
UDHCPC_HOOK = """
case "$1" in
  bound|renew) ip addr replace "$ip/$mask" dev "$interface" ;;
  deconfig) ip -4 addr flush dev "$interface" ;;
esac
env > "@DIR@/$1.env"
echo "$1 $ip" >> "@DIR@/events"
"""

DHCLIENT_HOOK = """
case "$reason" in
  BOUND|RENEW|REBIND|REBOOT) ip addr replace "$new_ip_address/$new_subnet_mask" dev "$interface"
    [ -n "$new_routers" ] && ip route replace default via "${new_routers%% *}" dev "$interface" ;;
  EXPIRE|FAIL|RELEASE|STOP) [ -n "$old_ip_address" ] &&
    ip addr del "$old_ip_address/$old_subnet_mask" dev "$interface" ;;
esac
env > "@DIR@/$reason.env"
echo "$reason $new_ip_address" >> "@DIR@/events"
"""

DHCPCD_HOOK = """
env > "@DIR@/$reason.env"
echo "$reason $new_ip_address" >> "@DIR@/events"
"""


def udhcpc_argv(lab, ifname, name, *extra):
    """udhcpc in the foreground with bounded retries (6 discovers, 1 s apart) and a hook script;
    returns (argv, hook dir)."""
    script, d = hook_script(lab, name, UDHCPC_HOOK)
    return ["udhcpc", "-f", "-i", ifname, "-s", script, "-t", "6", "-T", "1", "-A", "1",
            "-x", f"hostname:{name}", *extra], d


def run_udhcpc(lab, ns, ifname, name, *extra, timeout=20):
    """udhcpc -q (exit once bound); returns the environment of its `bound` event."""
    argv, d = udhcpc_argv(lab, ifname, name, "-q", "-n", *extra)
    r = lab.run(ns, argv, timeout=timeout)
    assert r.returncode == 0 and os.path.exists(os.path.join(d, "bound.env")), \
        f"udhcpc got no lease (rc {r.returncode}):\n{r.stdout}\n{r.stderr}"
    return read_env(os.path.join(d, "bound.env"))


class Dhclient:
    """ISC dhclient with a private config, lease file, pid file and hook script."""

    def __init__(self, lab, ns, ifname, name, conf_extra="", old_lease=""):
        self.lab, self.ns, self.ifname = lab, ns, ifname
        self.script, self.dir = hook_script(lab, name, DHCLIENT_HOOK)
        self.conf, self.lf, self.pf = (lab.path(f"{name}.conf"), lab.path(f"{name}.leases"),
                                       lab.path(f"{name}.pid"))
        with open(self.conf, "w") as f:
            f.write(f'send host-name "{name}";\n'
                    "request subnet-mask, broadcast-address, routers, domain-name,\n"
                    "  domain-name-servers, host-name, dhcp-lease-time, dhcp-renewal-time,\n"
                    "  dhcp-rebinding-time;\n"
                    "timeout 20;\nretry 5;\nreboot 6;\ninitial-interval 1;\n" + conf_extra)
        with open(self.lf, "a") as f:
            f.write(old_lease)
        self.proc = None

    def argv(self, *extra):
        return ["dhclient", "-4", "-cf", self.conf, "-lf", self.lf, "-pf", self.pf, "-sf",
                self.script, *extra, self.ifname]

    def start(self):
        self.proc = spawn_client(self.lab, self.ns, self.argv("-d", "-v"))
        return self.proc

    def stop(self):
        """SIGTERM: dhclient exits keeping its lease (no RELEASE)."""
        if self.proc is not None:
            self.lab.stop(self.proc)
            self.proc = None

    def release(self):
        """dhclient -r: stops the running one (pid file) and sends a RELEASE."""
        r = self.lab.run(self.ns, self.argv("-r", "-v"), timeout=20)
        assert r.returncode == 0, r.stderr
        if self.proc is not None:
            self.lab.wait_for(lambda: self.proc.poll() is not None, 10, what="dhclient exit")
            self.lab.stop(self.proc)
            self.proc = None

    def wait(self, word, count=1, timeout=25):
        return wait_event(self.lab, self.dir, word, count, timeout)

    def env(self, word):
        return read_env(os.path.join(self.dir, f"{word}.env"))

    def last_lease(self):
        """The last lease block of dhclient's lease file: {'fixed-address': .., 'option x': ..}."""
        with open(self.lf) as f:
            text = f.read()
        block = text.rsplit("lease {", 1)[-1].split("}", 1)[0]
        out = {}
        for line in block.splitlines():
            line = line.strip().rstrip(";")
            if line.startswith("option "):
                k, _, v = line[7:].partition(" ")
                out["option " + k] = v.strip('"')
            elif line:
                k, _, v = line.partition(" ")
                out[k] = v.strip('"')
        return out


DHCPCD_CONF = ("duid\npersistent\nvendorclassid\nhostname {name}\n"
               "option domain_name_servers, domain_name, routers, subnet_mask\n"
               "require dhcp_server_identifier\nnoipv6\nnoipv4ll\nnoarp\n")


def dhcpcd_binds(lab, name):
    """dhcpcd insists on /run/dhcpcd and /var/lib/dhcpcd: private ones, bind-mounted in its
    own mount namespace (see netlab.Lab._wrap)."""
    return {"/run/dhcpcd": lab.path(f"{name}-run"), "/var/lib/dhcpcd": lab.path(f"{name}-db")}


# =================================================================================================
# helpers: captures
# =================================================================================================

class Seen(NamedTuple):
    src: str
    dst: str
    sport: int
    dport: int
    pkt: object


def captured(path):
    """The DHCP datagrams of a capture on an Ethernet link, as Seen tuples, in order."""
    out = []
    for linktype, frame in netlab.read_pcap(path):
        if linktype != 1 or len(frame) < 42:
            continue
        off, etype = 12, struct.unpack_from("!H", frame, 12)[0]
        while etype == 0x8100:
            off += 4
            etype = struct.unpack_from("!H", frame, off)[0]
        ip_off = off + 2
        if etype != 0x0800 or frame[ip_off + 9] != 17:
            continue
        ihl = (frame[ip_off] & 0x0F) * 4
        src, dst = socket.inet_ntoa(frame[ip_off + 12:ip_off + 16]), \
            socket.inet_ntoa(frame[ip_off + 16:ip_off + 20])
        udp = ip_off + ihl
        sport, dport, ulen = struct.unpack_from("!HHH", frame, udp)
        try:
            pkt = fastdhcp.decode(frame[udp + 8:udp + ulen])
        except fastdhcp.MalformedPacket:
            continue
        out.append(Seen(src, dst, sport, dport, pkt))
    return out


# =================================================================================================
# 1. options, with three real clients
# =================================================================================================

def test_real_clients_get_lease_with_options(lab, topo, servers):
    srv = servers.start(valid_lifetime=600, renew_timer=300, rebind_timer=500)
    (ns1, if1, mac1), (ns2, if2, mac2), (ns3, if3, mac3) = topo.client(), topo.client(), \
        topo.client()

    # dhclient and dhcpcd run as daemons while udhcpc runs to completion
    dh = Dhclient(lab, ns1, if1, "opt-dhclient")
    dh.start()
    script, dd = hook_script(lab, "opt-dhcpcd", DHCPCD_HOOK)
    conf = lab.path("opt-dhcpcd.conf")
    with open(conf, "w") as f:
        f.write(DHCPCD_CONF.format(name="opt-dhcpcd"))
    dc = spawn_client(lab, ns3, ["dhcpcd", "-f", conf, "-c", script, "-4", "-t", "20", "-B", if3],
                   binds=dhcpcd_binds(lab, "opt-dhcpcd"))

    env = run_udhcpc(lab, ns2, if2, "opt-udhcpc")
    assert in_pool(env["ip"], f"{NET}.100", f"{NET}.199")
    assert env["subnet"] == "255.255.255.0"
    assert env["router"].split() == [SRV_IP]
    assert env["dns"].split() == list(DNS)
    assert env["domain"] == DOMAIN
    assert env["lease"] == "600"
    assert env["serverid"] == SRV_IP

    dh_ip = dh.wait("BOUND")
    lease = dh.last_lease()
    assert lease["fixed-address"] == dh_ip and in_pool(dh_ip, f"{NET}.100", f"{NET}.199")
    assert lease["option subnet-mask"] == "255.255.255.0"
    assert lease["option routers"] == SRV_IP
    assert lease["option domain-name-servers"].replace(" ", "") == ",".join(DNS)
    assert lease["option domain-name"] == DOMAIN
    assert lease["option dhcp-lease-time"] == "600"
    assert lease["option dhcp-renewal-time"] == "300"
    assert lease["option dhcp-rebinding-time"] == "500"
    assert lease["option dhcp-server-identifier"] == SRV_IP

    dc_ip = wait_event(lab, dd, "BOUND", timeout=30)
    denv = read_env(os.path.join(dd, "BOUND.env"))
    assert in_pool(dc_ip, f"{NET}.100", f"{NET}.199")
    assert denv["new_subnet_mask"] == "255.255.255.0"
    assert denv["new_routers"].split() == [SRV_IP]
    assert denv["new_domain_name_servers"].split() == list(DNS)
    assert denv["new_domain_name"] == DOMAIN
    assert denv["new_dhcp_lease_time"] == "600"

    assert len({env["ip"], dh_ip, dc_ip}) == 3
    # the lease file: one bound row per client, with its MAC and the lifetime
    now = time.time()
    for ip, mac, name in ((env["ip"], mac2, "opt-udhcpc"), (dh_ip, mac1, "opt-dhclient"),
                          (dc_ip, mac3, "opt-dhcpcd")):
        rows = rows_for(srv.lease_path, ip)
        assert rows, f"no lease row for {ip}: {lease_rows(srv.lease_path)}"
        r = rows[-1]
        assert r["hwaddr"].lower() == mac and r["valid_lifetime"] == "600"
        assert r["hostname"] == name              # option 12, kept as Kea keeps it
        assert r["subnet_id"] == "1" and r["state"] == "0"
        assert abs(int(r["expire"]) - (now + 600)) < 30
    dh.stop()
    lab.stop(dc)


# =================================================================================================
# 2. renewal at T1
# =================================================================================================

def test_renewal_at_t1_keeps_address(lab, topo, servers):
    srv = servers.start(valid_lifetime=20, renew_timer=3, rebind_timer=15)
    ns, ifname, mac = topo.client()
    cap = lab.capture(topo.srv, topo.bridge, lab.path("renew.pcapng"))
    dh = Dhclient(lab, ns, ifname, "renew-dhclient")
    dh.start()
    ip = dh.wait("BOUND")
    first = rows_for(srv.lease_path, ip)
    assert first, lease_rows(srv.lease_path)
    renewed = dh.wait("RENEW", timeout=15)
    assert renewed == ip
    dh.stop()
    cap.stop()
    # the RENEWING request is unicast to the server with ciaddr set, and ACKed to ciaddr
    pkts = captured(cap.path)
    at = [k for k, c in enumerate(pkts) if c.pkt.msg_type == REQUEST and c.pkt.ciaddr == ip]
    assert at, [(c.src, c.dst, c.pkt.msg_type_name, c.pkt.ciaddr) for c in pkts]
    req = pkts[at[0]]
    assert (req.src, req.dst, req.dport) == (ip, SRV_IP, 67)
    assert req.pkt.option(50) is None and req.pkt.option(54) is None
    acks = [c for c in pkts[at[0] + 1:]
            if c.pkt.msg_type == ACK and c.pkt.xid == req.pkt.xid and c.pkt.yiaddr == ip]
    assert acks, "the renewal was not ACKed"
    # to ciaddr:68, ciaddr echoed (RFC 2131 §4.1, Table 3)
    assert (acks[0].dst, acks[0].dport) == (ip, 68) and acks[0].pkt.ciaddr == ip
    assert acks[0].pkt.option(51) == struct.pack("!I", 20)
    # the lease row moved forward
    rows = rows_for(srv.lease_path, ip)
    assert len(rows) >= 2 and rows[-1]["hwaddr"].lower() == mac
    assert int(rows[-1]["expire"]) > int(first[-1]["expire"])
    assert rows[-1]["valid_lifetime"] == "20"


# =================================================================================================
# 3. release
# =================================================================================================

def test_release_frees_the_address(lab, topo, servers):
    # one address in the pool: whoever comes next must get exactly the released one
    srv = servers.start(subnets=[subnet(1, NET, "100 - 100", interface=topo.bridge)])
    only = f"{NET}.100"
    ns1, if1, mac1 = topo.client()
    dh = Dhclient(lab, ns1, if1, "rel-dhclient")
    dh.start()
    assert dh.wait("BOUND") == only
    dh.release()
    dh.wait("RELEASE", timeout=10)
    lab.wait_for(lambda: any(r["valid_lifetime"] == "0" for r in rows_for(srv.lease_path, only)),
                 5, what="Kea's removal row (valid_lifetime 0) after dhclient -r")
    assert rows_for(srv.lease_path, only)[-1]["hwaddr"].lower() == mac1

    # udhcpc now gets the same address, and releases it on exit (-R; SIGTERM: exit. With -q
    # busybox 1.35 quits without releasing)
    ns2, if2, mac2 = topo.client()
    argv, d = udhcpc_argv(lab, if2, "rel-udhcpc", "-R")
    p = spawn_client(lab, ns2, argv)
    assert wait_event(lab, d, "bound") == only
    assert any(r["hwaddr"].lower() == mac2 and r["valid_lifetime"] != "0"
               for r in rows_for(srv.lease_path, only))
    lab.stop(p)
    lab.wait_for(lambda: rows_for(srv.lease_path, only)[-1]["valid_lifetime"] == "0", 5,
                 what="removal row after udhcpc -R")
    last = rows_for(srv.lease_path, only)[-1]
    assert last["hwaddr"].lower() == mac2

    # and a third client is offered it again
    ns3, if3, mac3 = topo.client()
    with ClientSock(ns3, if3) as sock:
        offer = crafted_offer(sock, mac3)
    assert offer is not None and offer.pkt.yiaddr == only


@pytest.mark.parametrize("kind", ["release", "decline"])
@pytest.mark.parametrize("sender", ["other-client", "other-server"])
def test_release_or_decline_not_ours_changes_nothing(lab, topo, servers, kind, sender):
    """A RELEASE or DECLINE from a client that does not hold the lease, or naming another server
    in option 54 (RFC 2131 Table 5: both carry the identifier of the server they are meant for;
    Kea drops a message whose server identifier is not its own, DHCP4_PACKET_NOT_FOR_US),
    leaves the lease alone."""
    srv = servers.start(subnets=[subnet(1, NET, "100 - 100", interface=topo.bridge)],
                        authoritative=True)
    only = f"{NET}.100"
    ns, ifname, _ = topo.client(addr=f"{NET}.62/24")   # an address: a RELEASE is unicast
    owner, other = topo.new_mac(), topo.new_mac()
    with ClientSock(ns, ifname) as sock:
        _, ack = crafted_dora(sock, owner)
        assert ack is not None and ack.pkt.msg_type == ACK and ack.pkt.yiaddr == only
        mac, server_id = (other, SRV_IP) if sender == "other-client" else (owner, FOREIGN_SERVER)
        if kind == "release":
            sock.send(reference.release(mac_bytes(mac), new_xid(), only, server_id), SRV_IP)
        else:
            sock.send(reference.decline(mac_bytes(mac), new_xid(), only, server_id))
        barrier(sock, other)
        rows = rows_for(srv.lease_path, only)
        assert [(r["hwaddr"].lower(), r["valid_lifetime"], r["state"]) for r in rows] == \
            [(owner, "600", "0")], f"a {kind.upper()} from {sender} changed the lease"
        stolen = crafted_offer(sock, other, timeout=1.0)
        assert stolen is None, f"{only} was offered to another client while still leased"


# =================================================================================================
# 4. a client behind a real relay (dhcrelay -a)
# =================================================================================================

def test_relayed_client_gets_relay_subnet_and_option82_echoed(lab, topo, servers):
    r = topo.relay_side()
    up, down = r["up"], r["down"]
    subnets = [
        subnet(1, NET, "100 - 199", interface=topo.bridge),
        # the server's own link to the relay: the subnet a wrong selection would pick
        subnet(2, UP_NET, "100 - 199"),
        subnet(3, OTHER_RELAYED, "100 - 199",
               relay={"ip-addresses": [f"{OTHER_RELAYED}.1"]}),
        subnet(4, RELAY_NET, "100 - 199"),
    ]
    srv = servers.start(subnets=subnets, interfaces=[topo.bridge, up.if_a])
    relay = spawn_client(lab, r["rly"], ["dhcrelay", "-4", "-d", "-a", "-id", down.if_a,
                                         "-iu", up.if_b, f"{UP_NET}.1"])
    lab.wait_udp_listen(r["rly"], 67, timeout=10, proc=relay)
    cap = lab.capture(topo.srv, up.if_a, lab.path("relay.pcapng"))
    dh = Dhclient(lab, r["cns"], down.if_b, "relayed")
    dh.start()
    ip = dh.wait("BOUND")
    lease = dh.last_lease()
    dh.release()
    cap.stop()
    lab.stop(relay)

    assert in_pool(ip, f"{RELAY_NET}.100", f"{RELAY_NET}.199"), ip
    assert lease["option routers"] == f"{RELAY_NET}.1"
    assert lease["option subnet-mask"] == "255.255.255.0"
    rows = rows_for(srv.lease_path, ip)
    assert rows and rows[0]["subnet_id"] == "4" and rows[0]["hwaddr"].lower() == down.mac_b

    # the client's RELEASE (unicast, routed through the relay's namespace) removed the lease
    lab.wait_for(lambda: rows_for(srv.lease_path, ip)[-1]["valid_lifetime"] == "0", 5,
                 what="removal row of the relayed lease")

    pkts = captured(cap.path)
    requests = {c.pkt.xid: c.pkt for c in pkts
                if c.pkt.op == 1 and c.pkt.msg_type in (DISCOVER, REQUEST)}
    replies = [c for c in pkts if c.pkt.op == 2]
    assert {c.pkt.msg_type for c in replies} >= {OFFER, ACK}, \
        [(c.src, c.dst, c.pkt.msg_type_name) for c in pkts]
    for c in replies:
        p, req = c.pkt, requests.get(c.pkt.xid)
        assert req is not None and req.giaddr == f"{RELAY_NET}.1"
        assert req.relay_info, "dhcrelay -a added no option 82"
        # RFC 3046 §2.2: the server echoes option 82 unchanged, to the relay at giaddr:67
        assert p.option(82) == req.option(82), f"{p.msg_type_name} did not echo option 82"
        assert p.giaddr == f"{RELAY_NET}.1" and (c.dst, c.dport) == (f"{RELAY_NET}.1", 67)
        assert in_pool(p.yiaddr, f"{RELAY_NET}.100", f"{RELAY_NET}.199")
        assert p.option(3) == socket.inet_aton(f"{RELAY_NET}.1")


def test_relayed_shared_network_naks_are_broadcast_and_any_member_is_the_right_link(lab, topo,
                                                                                  servers):
    """Crafted relayed REQUESTs (from the relay's namespace, giaddr set) into a shared network
    whose giaddr picks one member: an address of the other member is right for the link
    (RFC 2131 §4.3.2 NAKs only a wrong network), and a NAK through a relay carries the broadcast
    bit, so that the relay broadcasts it to a client that has no usable address (§4.3.2 MUST)."""
    r = topo.relay_side()
    cfg = server_config(topo, lab.path("shared-leases4.csv"), interfaces=[topo.bridge, r["up"].if_a])
    cfg["Dhcp4"]["shared-networks"] = [{"name": "relayed", "subnet4": [
        subnet(5, RELAY_NET, "100 - 199"), subnet(6, OTHER_RELAYED, "100 - 199")]}]
    servers.start(cfg, name="shared")
    mac = mac_bytes(topo.new_mac())
    other = f"{OTHER_RELAYED}.150"
    with ClientSock(r["rly"], r["up"].if_b, port=67) as relay:
        # REBINDING with an address of the other member and no record of it: not a wrong
        # network, so the free address is granted (before: NAK, the giaddr's member only)
        xid = new_xid()
        ack = relay.ask(reference.request(mac, xid, ciaddr=other, giaddr=f"{RELAY_NET}.1"),
                        xid=xid, types={ACK, NAK}, dst=f"{UP_NET}.1")
        assert ack is not None and ack.pkt.msg_type == ACK and ack.pkt.yiaddr == other
        # INIT-REBOOT for the address the server now has for this client: ACK
        xid = new_xid()
        again = relay.ask(reference.request(mac, xid, requested_ip=other, giaddr=f"{RELAY_NET}.1"),
                          xid=xid, types={ACK, NAK}, dst=f"{UP_NET}.1")
        assert again is not None and again.pkt.msg_type == ACK and again.pkt.yiaddr == other
        # INIT-REBOOT for an address of no member: NAK, to the relay, broadcast bit set
        xid = new_xid()
        nak = relay.ask(reference.request(mac, xid, requested_ip=f"{NET}.150",
                                          giaddr=f"{RELAY_NET}.1"),
                        xid=xid, types={ACK, NAK}, dst=f"{UP_NET}.1")
        assert nak is not None and nak.pkt.msg_type == NAK and nak.dst == f"{RELAY_NET}.1"
        if UNDER_TEST != "kea":     # Kea 2.2 leaves the client's flags as they were
            assert nak.pkt.flags & 0x8000


# =================================================================================================
# 5. reservations
# =================================================================================================

def test_reservations_in_and_out_of_pool(lab, topo, servers):
    in_mac, out_mac = topo.new_mac(), topo.new_mac()
    reserved_in, reserved_out = f"{NET}.102", f"{NET}.20"
    sub = subnet(1, NET, "100 - 103", interface=topo.bridge, reservations=[
        {"hw-address": in_mac, "ip-address": reserved_in},
        {"hw-address": out_mac, "ip-address": reserved_out}])
    srv = servers.start(subnets=[sub])
    # others exhaust the pool: they get .100, .101, .103, never the reserved .102
    ns, ifname, _ = topo.client()
    got = []
    with ClientSock(ns, ifname) as sock:
        for _ in range(3):
            mac = topo.new_mac()
            offer, ack = crafted_dora(sock, mac)
            assert offer is not None and ack is not None and ack.pkt.msg_type == ACK, \
                f"client {len(got) + 1} got no lease: {got}"
            got.append(ack.pkt.yiaddr)
        assert sorted(got) == [f"{NET}.100", f"{NET}.101", f"{NET}.103"]
        extra = crafted_offer(sock, topo.new_mac(), timeout=1.5)
        assert extra is None, f"a fourth client was offered {extra.pkt.yiaddr}"
    # the reserved clients (real udhcpc) get their addresses
    ns1, if1, _ = topo.client(mac=in_mac)
    assert run_udhcpc(lab, ns1, if1, "resv-in")["ip"] == reserved_in
    ns2, if2, _ = topo.client(mac=out_mac)
    assert run_udhcpc(lab, ns2, if2, "resv-out")["ip"] == reserved_out
    assert rows_for(srv.lease_path, reserved_in)[-1]["hwaddr"].lower() == in_mac
    assert rows_for(srv.lease_path, reserved_out)[-1]["hwaddr"].lower() == out_mac


def test_reservation_options_and_host_name_win(lab, topo, servers):
    # Kea's precedence: a reservation's option-data beats the subnet's; its host name is sent
    # as option 12 when the client asks for it (udhcpc does).
    mac = topo.new_mac()
    sub = subnet(1, NET, "100 - 103", interface=topo.bridge, reservations=[
        {"hw-address": mac, "ip-address": f"{NET}.101", "hostname": "printer-7",
         "option-data": [{"name": "routers", "data": f"{NET}.254"}]}])
    servers.start(subnets=[sub])
    ns, ifname, _ = topo.client(mac=mac)
    env = run_udhcpc(lab, ns, ifname, "resv-opts")
    assert env["ip"] == f"{NET}.101"
    assert env["router"] == f"{NET}.254"
    assert env.get("hostname") == "printer-7"
    ns2, if2, _ = topo.client()            # an unreserved client keeps the subnet's router
    assert run_udhcpc(lab, ns2, if2, "resv-other")["router"] != f"{NET}.254"


def test_global_duid_and_addressless_reservations_and_boot_fields(lab, topo, servers):
    # Global reservations (reservations-global) serve any subnet; a DUID reservation matches a
    # client id of type 255 (RFC 4361: type, IAID, DUID); a reservation without an address
    # still names the host and its boot fields; next-server/server-hostname/boot-file-name
    # fill siaddr/sname/file, a reservation's own overriding the subnet's.
    g_mac, g2_mac, duid_mac, named_mac, plain_mac = (topo.new_mac() for _ in range(5))
    duid = bytes.fromhex("000100012a2b2c2d0a0b0c0d0e0f")
    sub = subnet(1, NET, "100 - 110", interface=topo.bridge, **{
        "reservations-global": True, "reservations-in-subnet": True,
        "next-server": f"{NET}.5", "server-hostname": "boot-a", "boot-file-name": "pxelinux.0",
        "reservations": [
            {"duid": duid.hex(":"), "ip-address": f"{NET}.30"},
            {"hw-address": named_mac, "hostname": "named-host", "boot-file-name": "special.efi"}]})
    srv = servers.start(subnets=[sub], reservations=[
        {"hw-address": g_mac, "ip-address": f"{NET}.40", "hostname": "global-host",
         "next-server": f"{NET}.6",
         "option-data": [{"name": "domain-name", "data": "global.example"}]},
        {"hw-address": g2_mac, "ip-address": f"{NET}.41", "hostname": "global-two"}])
    ns, ifname, _ = topo.client()
    with ClientSock(ns, ifname) as sock:
        prl = (1, 3, 6, 12, 15)
        g = crafted_offer(sock, g_mac, prl=prl)
        assert g is not None and g.pkt.yiaddr == f"{NET}.40"
        assert g.opt(12) == b"global-host" and g.opt(15) == b"global.example"
        assert g.pkt.siaddr == f"{NET}.6"                    # the reservation's next-server
        assert (g.pkt.sname, g.pkt.file) == (b"boot-a", b"pxelinux.0")   # the subnet's names
        assert g.opt_ip(3) == f"{NET}.1"                     # the subnet's router still comes
        cid = b"\xff" + bytes.fromhex("00000001") + duid    # type 255, IAID 1, DUID
        d = crafted_offer(sock, duid_mac, client_id=cid)
        assert d is not None and d.pkt.yiaddr == f"{NET}.30"
        n = crafted_offer(sock, named_mac, prl=prl)
        assert n is not None and in_pool(n.pkt.yiaddr, f"{NET}.100", f"{NET}.110")
        assert n.opt(12) == b"named-host"
        assert (n.pkt.siaddr, n.pkt.sname, n.pkt.file) == (f"{NET}.5", b"boot-a", b"special.efi")
        p = crafted_offer(sock, plain_mac, prl=prl)
        assert p is not None and in_pool(p.pkt.yiaddr, f"{NET}.100", f"{NET}.110")
        assert p.opt(12) is None and p.opt(15) == DOMAIN.encode()
        assert (p.pkt.siaddr, p.pkt.sname, p.pkt.file) == (f"{NET}.5", b"boot-a", b"pxelinux.0")
    # and a globally reserved address goes to its client over a real DORA
    ns1, if1, _ = topo.client(mac=g2_mac)
    env = run_udhcpc(lab, ns1, if1, "resv-global")
    assert env["ip"] == f"{NET}.41" and env.get("hostname") == "global-two"
    assert rows_for(srv.lease_path, f"{NET}.41")[-1]["hwaddr"].lower() == g2_mac


# =================================================================================================
# 6. INIT-REBOOT: NAK for the wrong subnet, silence for an unknown client (non-authoritative)
# =================================================================================================

@pytest.mark.parametrize("authoritative", [
    True,
    pytest.param(False, marks=differs_from_kea(
        "non-authoritative, it drops an unknown client's INIT-REBOOT before checking the subnet "
        "(DHCP4_NO_LEASE_INIT_REBOOT); RFC 2131 §4.3.2 puts the wrong-network NAK first")),
], ids=["authoritative", "non-authoritative"])
def test_init_reboot_wrong_subnet_naks(lab, topo, servers, authoritative):
    servers.start(authoritative=authoritative)
    ns, ifname, mac = topo.client()
    with ClientSock(ns, ifname) as sock:
        xid = new_xid()
        # no broadcast flag: a NAK is broadcast anyway when giaddr is 0 (RFC 2131 §4.1)
        nak = sock.ask(reference.request(mac_bytes(mac), xid, requested_ip=f"{UP_NET}.77"),
                       xid=xid, types={ACK, NAK, OFFER})
        assert nak is not None, "no reply to an INIT-REBOOT for an address of another network"
        assert nak.pkt.msg_type == NAK
        assert nak.dst == "255.255.255.255"
        assert nak.pkt.yiaddr == "0.0.0.0" and nak.opt(51) is None
        assert nak.opt_ip(54) == SRV_IP
        # a NAK carries no configuration (RFC 2131 Table 3)
        assert not {code for code, _ in nak.pkt.options} & {1, 3, 6, 15, 51, 58, 59}
        if authoritative:
            # another client's address: NAK (RFC 2131 §4.3.2: the requested address is not
            # this client's; Kea: the lease belongs to another client)
            owner = topo.new_mac()
            _, ack = crafted_dora(sock, owner)
            assert ack is not None and ack.pkt.msg_type == ACK
            xid = new_xid()
            r = sock.ask(reference.request(mac_bytes(mac), xid, requested_ip=ack.pkt.yiaddr),
                         xid=xid, types={ACK, NAK})
            assert r is not None and r.pkt.msg_type == NAK and r.dst == "255.255.255.255", \
                "INIT-REBOOT for another client's address was not NAKed"
        else:
            # an in-subnet address the server has no record of: RFC 2131 §4.3.2 "MUST remain
            # silent" (Kea: DHCP4_NO_LEASE_INIT_REBOOT)
            xid = new_xid()
            r = sock.ask(reference.request(mac_bytes(mac), xid, requested_ip=f"{NET}.150"),
                         xid=xid, types=None, timeout=1.5)
            assert r is None, f"non-authoritative server answered {r.pkt.msg_type_name}"


def test_init_reboot_must_name_the_address_on_record_and_a_renewal_may_omit_50(lab, topo,
                                                                                servers):
    """RFC 2131 §4.3.2 as Kea reads it: an INIT-REBOOT whose address is not the one on record
    for the client is NAKed, and an authoritative server NAKs a client it has no record of. A
    renewal that names the server (54) but not the address (no 50), against the RFC, is taken
    by its ciaddr, as Kea takes it."""
    servers.start(authoritative=True)
    ns, ifname, mac = topo.client()
    with ClientSock(ns, ifname) as sock:
        _, ack = crafted_dora(sock, mac)
        assert ack is not None and ack.pkt.msg_type == ACK
        held = ack.pkt.yiaddr
        free = f"{NET}.199" if held != f"{NET}.199" else f"{NET}.198"
        for who, asked in ((mac, free), (topo.new_mac(), free)):
            xid = new_xid()
            r = sock.ask(reference.request(mac_bytes(who), xid, requested_ip=asked), xid=xid,
                         types={ACK, NAK})
            assert r is not None and r.pkt.msg_type == NAK, (who, asked)
    lab.addr(ns, ifname, f"{held}/24")       # renewing: the client has its address
    with ClientSock(ns, ifname) as sock:
        xid = new_xid()
        r = sock.ask(reference.request(mac_bytes(mac), xid, server_id=SRV_IP, ciaddr=held),
                     xid=xid, types={ACK, NAK}, dst=SRV_IP)
        assert r is not None and r.pkt.msg_type == ACK and r.pkt.yiaddr == held
        assert r.dst == held                 # unicast to ciaddr (§4.1)


# =================================================================================================
# 7. DECLINE and probation
# =================================================================================================

def test_decline_puts_address_on_probation(lab, topo, servers):
    probation = 4
    srv = servers.start(subnets=[subnet(1, NET, "100 - 100", interface=topo.bridge)],
                        decline_probation_period=probation)
    only = f"{NET}.100"
    ns, ifname, _ = topo.client()
    a, b = topo.new_mac(), topo.new_mac()
    with ClientSock(ns, ifname) as sock:
        offer, ack = crafted_dora(sock, a)
        assert ack is not None and ack.pkt.msg_type == ACK and ack.pkt.yiaddr == only
        sock.send(reference.decline(mac_bytes(a), new_xid(), only, ack.opt_ip(54)))
        declined_at = time.time()
        lab.wait_for(lambda: rows_for(srv.lease_path, only)[-1]["state"] == "1", 3,
                     what="declined row (state 1)")
        row = rows_for(srv.lease_path, only)[-1]
        assert row["valid_lifetime"] == str(probation)
        assert abs(int(row["expire"]) - (declined_at + probation)) <= 2
        # on probation: nobody gets it (the pool has nothing else)
        early = crafted_offer(sock, b, timeout=1.0)
        assert early is None or time.time() - declined_at >= probation, \
            f"declined address offered again after {time.time() - declined_at:.1f}s"
        # after the probation period it is offered again (bounded wait)
        deadline = declined_at + probation + 6
        offer = None
        while offer is None and time.time() < deadline:
            offer = crafted_offer(sock, b, timeout=0.5)
        assert offer is not None and offer.pkt.yiaddr == only, \
            "the declined address was not offered again after its probation period"
        assert time.time() - declined_at >= probation - 0.5


# =================================================================================================
# 8. INFORM
# =================================================================================================

def test_inform_gets_options_without_lease_time(lab, topo, servers):
    servers.start()
    static = f"{NET}.50"
    ns, ifname, mac = topo.client(addr=f"{static}/24")
    with ClientSock(ns, ifname) as sock:
        xid = new_xid()
        ack = sock.ask(reference.inform(mac_bytes(mac), xid, static), xid=xid, types=None,
                       dst=SRV_IP)
    assert ack is not None, "no reply to DHCPINFORM"
    assert ack.pkt.msg_type == ACK
    assert ack.dst == static                       # unicast to ciaddr:68 (RFC 2131 §4.1)
    assert ack.pkt.ciaddr == static and ack.pkt.yiaddr == "0.0.0.0"
    assert ack.opt(51) is None, "DHCPINFORM's ACK must not carry a lease time (RFC 2131 §4.3.5)"
    assert ack.opt(58) is None and ack.opt(59) is None
    assert ack.opt_ip(54) == SRV_IP
    assert ack.opt_ip(3) == SRV_IP
    assert ack.opt(6) == b"".join(socket.inet_aton(a) for a in DNS)
    assert ack.opt(15).rstrip(b"\0") == DOMAIN.encode()


# =================================================================================================
# 9. pool exhaustion
# =================================================================================================

def test_pool_exhaustion_fourth_client_gets_nothing(lab, topo, servers):
    srv = servers.start(subnets=[subnet(1, NET, "100 - 102", interface=topo.bridge)])
    ns, ifname, _ = topo.client()
    got = []
    with ClientSock(ns, ifname) as sock:
        for _ in range(3):
            # full DORA: leases, not just offers (Kea does not hold offered addresses)
            _, ack = crafted_dora(sock, topo.new_mac())
            assert ack is not None and ack.pkt.msg_type == ACK, \
                f"no lease for client {len(got) + 1}"
            got.append(ack.pkt.yiaddr)
        assert sorted(got) == [f"{NET}.100", f"{NET}.101", f"{NET}.102"]
        fourth = crafted_offer(sock, topo.new_mac(), timeout=1.5)
    assert fourth is None, f"the fourth client was offered {fourth.pkt.yiaddr} from a pool of 3"
    assert srv.poll() is None


# =================================================================================================
# 10. malformed datagrams
# =================================================================================================

def malformed_datagrams(n, seed=2131):
    """n datagrams the server must drop: truncations, bad cookies, bad op, overruns, bad
    message types and option lengths, broken option 82, oversize, random bytes."""
    rnd = random.Random(seed)
    good = reference.discover(b"\x02\xfd\xee\x00\x00\x01", 1, broadcast=True)
    cookie = 236

    def one(i):
        kind = i % 10
        if kind == 0:                                    # truncated below the fixed header
            return good[:rnd.randrange(0, 240)]
        if kind == 1:                                    # bad magic cookie
            d = bytearray(good)
            d[cookie + rnd.randrange(4)] ^= 1 + rnd.randrange(255)
            return bytes(d)
        if kind == 2:                                    # op is not BOOTREQUEST
            return bytes([rnd.choice([0, 2, 3, 255])]) + good[1:]
        if kind == 3:                                    # an option running past the end
            return good[:240] + bytes([53, 1, 1, 55, 200]) + bytes(rnd.randrange(0, 20))
        if kind == 4:                                    # bad message type
            return good[:240] + bytes([53, 1, rnd.choice([0, 19, 200]), 255])
        if kind == 5:                                    # no message type
            return good[:240] + bytes([12, 3]) + b"abc" + bytes([255])
        if kind == 6:                                    # impossible option lengths
            code = rnd.choice([50, 54, 57, 61])
            return good[:240] + bytes([53, 1, 1, code, 1, 7, 255])
        if kind == 7:                                    # broken relay agent information
            return good[:240] + bytes([53, 1, 1, 82, 4, 1, 9, 0, 0, 255])
        if kind == 8:                                    # longer than any DHCP datagram
            return good + bytes(rnd.randrange(4000, 9000))
        data = bytes(rnd.getrandbits(8) for _ in range(rnd.randrange(240, 600)))
        return bytes([rnd.choice([0, 2, 7])]) + data[1:]  # random bytes (never a valid op 1)
    return [one(i) for i in range(n)]


def test_malformed_flood_then_client_still_served(lab, topo, servers):
    srv = servers.start()
    ns, ifname, _ = topo.client(addr=f"{NET}.60/24")
    junk = malformed_datagrams(10_000)
    deadline = time.monotonic() + 30
    sent = 0
    with ClientSock(ns, ifname, port=0) as sock:
        for k, d in enumerate(junk):                     # bounded: 10,000 sends, 30 s
            if time.monotonic() > deadline:
                break
            try:
                sock.send(d, SRV_IP if k % 2 else "255.255.255.255")
                sent += 1
            except OSError:                               # ENOBUFS etc.: a drop, not a failure
                time.sleep(0.001)
    assert sent >= 9_000
    time.sleep(0.5)
    assert srv.poll() is None, f"the server died:\n{server_log(srv)[-3000:]}"
    ns2, if2, mac2 = topo.client()
    env = run_udhcpc(lab, ns2, if2, "after-flood")
    assert in_pool(env["ip"], f"{NET}.100", f"{NET}.199")
    assert rows_for(srv.lease_path, env["ip"])[-1]["hwaddr"].lower() == mac2
    assert srv.poll() is None
    # nothing of the junk was ever a lease
    assert all(r["hwaddr"].lower() == mac2 for r in lease_rows(srv.lease_path))


def test_a_client_with_neither_chaddr_nor_client_id_is_dropped(lab, topo, servers):
    """hlen 0 and no client id: nothing tells such clients apart, so they would all share one
    lease. Dropped, as Kea's sanity check drops them; a client id alone is enough."""
    servers.start()
    ns, ifname, _ = topo.client()
    with ClientSock(ns, ifname) as sock:
        assert crafted_offer(sock, "", timeout=1.5) is None
        offer = crafted_offer(sock, "", client_id=b"\x00only-a-client-id")
    assert offer is not None and in_pool(offer.pkt.yiaddr, f"{NET}.100", f"{NET}.199")


def test_host_name_cannot_forge_a_lease_row(lab, topo, servers):
    """Option 12 is the client's to fill. A line break in it must not end the lease file's row:
    the lease's own row would be cut short (unreadable, so the lease lost at a restart) and the
    rest read as rows of the client's making. Nor may a comma shift the row's columns."""
    srv = servers.start()
    ns, ifname, mac = topo.client()
    forged = f"{NET}.177"
    hostname = (f"pc,one\n{forged},02:00:00:00:00:77,,3600,{2 ** 31},1,0,0,forged,0,,0\r\n"
                "\x00\x7f&#x2c")
    with ClientSock(ns, ifname) as sock:
        offer = crafted_offer(sock, mac, hostname=hostname)
        assert offer is not None
        xid = new_xid()
        req = reference.request(mac_bytes(mac), xid, server_id=offer.opt_ip(54),
                                requested_ip=offer.pkt.yiaddr, broadcast=True, hostname=hostname)
        ack = sock.ask(req, xid=xid, types={ACK, NAK})
    assert ack is not None and ack.pkt.msg_type == ACK
    rows = lease_rows(srv.lease_path)    # (the row is in the file before the ACK is sent)
    assert rows and all(None not in r and None not in r.values() for r in rows), rows
    assert not rows_for(srv.lease_path, forged)
    [row] = rows_for(srv.lease_path, hwaddr=mac)
    assert row["address"] == ack.pkt.yiaddr
    # (a label past 63 bytes is no DNS name: both servers keep no name at all, Kea's
    # processHostnameOption; a shorter one is sanitised: test_client_names.py)
    assert "\n" not in csv_unescape(row["hostname"])
    # restarted on that file, the server knows the client's lease and nothing forged
    servers.stop(srv)
    srv = servers.start(name="forge-2", lease_path=srv.lease_path)
    ns2, if2, _ = topo.client()
    with ClientSock(ns2, if2) as sock:
        other = crafted_offer(sock, topo.new_mac(), requested_ip=forged)
        taken = crafted_offer(sock, topo.new_mac(), requested_ip=ack.pkt.yiaddr)
    assert other is not None and other.pkt.yiaddr == forged
    assert taken is not None and taken.pkt.yiaddr != ack.pkt.yiaddr


# =================================================================================================
# 11. reload and stop
# =================================================================================================

def test_sighup_reload_bad_then_good_and_sigterm(lab, topo, servers):
    lease_path = lab.path("reload-leases4.csv")
    old = server_config(topo, lease_path, subnets=[subnet(1, NET, "100 - 109",
                                                          interface=topo.bridge)])
    srv = servers.start(old, name="reload")
    # a syntax error: the server refuses it and keeps serving the old pool
    with open(srv.cfg_path, "w") as f:
        f.write(json.dumps(old)[:-7] + ' "valid-lifetime": , }')
    mark = len(server_log(srv))
    lab.signal(srv, signal.SIGHUP)
    wait_log(lab, srv, MARKS["reload_refused"], start=mark)
    assert srv.poll() is None
    ns, ifname, _ = topo.client()
    assert in_pool(run_udhcpc(lab, ns, ifname, "reload-old")["ip"], f"{NET}.100", f"{NET}.109")
    # a good new config with another pool takes effect
    new = server_config(topo, lease_path, subnets=[subnet(1, NET, "200 - 209",
                                                          interface=topo.bridge)])
    write_json(srv.cfg_path, new)
    mark = len(server_log(srv))
    lab.signal(srv, signal.SIGHUP)
    wait_log(lab, srv, MARKS["reloaded"], start=mark)
    ns2, if2, mac2 = topo.client()
    new_ip = run_udhcpc(lab, ns2, if2, "reload-new")["ip"]
    assert in_pool(new_ip, f"{NET}.200", f"{NET}.209")
    # the reloaded server still writes the same lease file
    assert rows_for(lease_path, new_ip, mac2), lease_rows(lease_path)
    if UNDER_TEST != "kea":   # (Kea opens the new file and loads it; fastdhcp asks for a restart)
        # another lease file: refused, naming the key; the server keeps the file it has, so
        # its ACKed leases and the next start's load stay in one place
        moved = json.loads(json.dumps(new))
        moved["Dhcp4"]["lease-database"]["name"] = lab.path("moved-leases4.csv")
        write_json(srv.cfg_path, moved)
        mark = len(server_log(srv))
        lab.signal(srv, signal.SIGHUP)
        wait_log(lab, srv, MARKS["reload_refused"], start=mark)
        assert "Dhcp4.lease-database.name" in server_log(srv)[mark:]
        ns3, if3, mac3 = topo.client()
        ip3 = run_udhcpc(lab, ns3, if3, "reload-moved")["ip"]
        assert rows_for(lease_path, ip3, mac3) and not os.path.exists(lab.path("moved-leases4.csv"))
        # lfc-interval by reload: 0 -> 1 starts compacting, 1 -> 0 stops (0 is "never", as in
        # Kea, not "all the time")
        compacting = json.loads(json.dumps(new))
        compacting["Dhcp4"]["lease-database"]["lfc-interval"] = 1
        for cfg, want in ((compacting, True), (new, False)):
            write_json(srv.cfg_path, cfg)
            mark = len(server_log(srv))
            lab.signal(srv, signal.SIGHUP)
            wait_log(lab, srv, MARKS["reloaded"], start=mark)
            mark = len(server_log(srv))
            time.sleep(2.5)
            started = server_log(srv)[mark:].count("lease file compaction started")
            assert (started >= 1) if want else (started == 0), server_log(srv)[mark:]
        write_json(srv.cfg_path, new)
    # SIGTERM: a clean, quick exit with status 0
    t0 = time.monotonic()
    rc = servers.stop(srv, signal.SIGTERM)
    assert rc == 0, f"exit status {rc}:\n{server_log(srv)[-2000:]}"
    assert time.monotonic() - t0 < 3
    assert "Traceback" not in server_log(srv)


def test_reload_without_a_subnet_and_back_keeps_its_leases(lab, topo, servers):
    """A reload that drops a subnet, then one that brings it back: its clients' leases are
    still theirs (Kea keeps every lease in its lease manager across reconfigurations)."""
    lease_path = lab.path("park-leases4.csv")
    with_it = server_config(topo, lease_path, subnets=[subnet(1, NET, "100 - 101",
                                                              interface=topo.bridge)])
    without = server_config(topo, lease_path, subnets=[subnet(2, OTHER_RELAYED, "100 - 199")])
    srv = servers.start(with_it, name="park")
    ns, ifname, mac = topo.client()
    with ClientSock(ns, ifname) as sock:
        _, ack = crafted_dora(sock, mac)
        assert ack is not None and ack.pkt.msg_type == ACK
        held = ack.pkt.yiaddr
        for cfg in (without, with_it):
            write_json(srv.cfg_path, cfg)
            mark = len(server_log(srv))
            lab.signal(srv, signal.SIGHUP)
            wait_log(lab, srv, MARKS["reloaded"], start=mark)
        # another client asks for that address: it is still held, so it gets the other one
        other = crafted_offer(sock, topo.new_mac(), requested_ip=held)
        assert other is not None and other.pkt.yiaddr != held
        mine = crafted_offer(sock, mac)
        assert mine is not None and mine.pkt.yiaddr == held


# =================================================================================================
# 12. restart keeps leases
# =================================================================================================

@pytest.mark.parametrize("how", ["SIGTERM", "SIGKILL"])
def test_restart_keeps_leases(lab, topo, servers, how):
    """Stopped cleanly or killed (an ACKed lease is in the file before the ACK leaves), the
    server comes back knowing its leases."""
    lease_path = lab.path(f"restart-{how}-leases4.csv")
    cfg = server_config(topo, lease_path, subnets=[subnet(1, NET, "100 - 109",
                                                          interface=topo.bridge)])
    srv = servers.start(cfg, name=f"restart-{how}-1")
    ns, ifname, mac = topo.client()
    dh = Dhclient(lab, ns, ifname, f"restart-{how}-dhclient")
    dh.start()
    ip = dh.wait("BOUND")
    dh.stop()
    rc = servers.stop(srv, getattr(signal, how))
    assert rc == (0 if how == "SIGTERM" else -signal.SIGKILL), server_log(srv)[-2000:]
    srv = servers.start(cfg, name=f"restart-{how}-2", lease_path=lease_path)
    # another client must not be offered the address the restarted server should remember
    ns2, if2, _ = topo.client()
    with ClientSock(ns2, if2) as sock:
        other = crafted_offer(sock, topo.new_mac())
    assert other is not None and other.pkt.yiaddr != ip, "the restarted server forgot a lease"
    # the same client INIT-REBOOTs and is ACKed for its address
    dh.start()
    assert dh.wait("REBOOT", timeout=15) == ip, events(dh.dir)
    assert not [e for e in events(dh.dir) if e[0] == "BOUND"][1:], \
        "dhclient fell back to DISCOVER instead of being ACKed for its INIT-REBOOT"
    dh.stop()
    rows = rows_for(lease_path, ip)
    assert rows[-1]["hwaddr"].lower() == mac and rows[-1]["valid_lifetime"] != "0"
