"""DNS updates end to end: the server's NameChangeRequests go to Debian's kea-dhcp-ddns (Kea's
D2), which updates a real BIND 9 (Debian's bind9) by RFC 2136; dig reads the zone. Everything
runs in the test's server namespace, on its loopback. A client with a host name gets a lease:
its A and PTR records appear (with the DHCID record D2's conflict resolution keeps); its
RELEASE removes them; a lease that expires is removed too. With D2 stopped DHCP goes on as fast
as before and the requests that find the queue full are counted as dropped. The same test runs
against kea-dhcp4 2.2 (FASTDHCP_E2E_SERVER=kea), but for the counters, which are fastdhcp's."""

from __future__ import annotations

import json
import os
import socket
import struct
import time

import pytest

from e2e import (NET, UNDER_TEST, RawClient, control, control_config, in_netns, new_xid,
                 raw_dora, wait_log, write_json)
from e2e import raw, servers, topo  # noqa: F401  (fixtures)
from fastdhcp import reference
from fastdhcp._enums import MsgType
from fastdhcp._lab import netlab

lab = netlab.lab_fixture(scope="module", keep_dir=bool(os.environ.get("FASTDHCP_E2E_KEEP")))

ZONE = "ddns.example"
REVERSE = f"{'.'.join(reversed(NET.split('.')))}.in-addr.arpa"
DNS_PORT = 5399
D2_PORT = 53099


def zone_file(path, origin):
    with open(path, "w") as f:
        f.write(f"$TTL 300\n@ IN SOA ns.{ZONE}. admin.{ZONE}. 1 3600 600 86400 300\n"
                f"@ IN NS ns.{ZONE}.\n")
        if origin == ZONE:
            f.write("ns IN A 127.0.0.1\n")


@pytest.fixture(scope="module")
def bind9(lab, topo):
    """A BIND 9 primary for the forward and reverse zones, taking updates from 127.0.0.1."""
    d = lab.path("named")
    os.makedirs(d, exist_ok=True)
    zone_file(f"{d}/fwd.db", ZONE)
    zone_file(f"{d}/rev.db", REVERSE)
    with open(f"{d}/named.conf", "w") as f:
        f.write(f'''options {{
    directory "{d}"; pid-file "{d}/named.pid"; session-keyfile "{d}/session.key";
    managed-keys-directory "{d}"; listen-on port {DNS_PORT} {{ 127.0.0.1; }};
    listen-on-v6 {{ none; }}; recursion no; dnssec-validation no; allow-query {{ any; }};
}};
controls {{ }};
zone "{ZONE}" {{ type primary; file "{d}/fwd.db"; allow-update {{ 127.0.0.1; }}; }};
zone "{REVERSE}" {{ type primary; file "{d}/rev.db"; allow-update {{ 127.0.0.1; }}; }};
''')
    proc = lab.spawn(topo.srv, ["named", "-g", "-c", f"{d}/named.conf", "-n", "1"],
                     log=lab.path("named.log"))
    lab.wait_udp_listen(topo.srv, DNS_PORT, timeout=20, proc=proc)
    yield proc
    lab.stop(proc)


def start_d2(lab, topo):
    cfg = {"DhcpDdns": {
        "ip-address": "127.0.0.1", "port": D2_PORT, "dns-server-timeout": 1000,
        "forward-ddns": {"ddns-domains": [{"name": f"{ZONE}.", "dns-servers": [
            {"ip-address": "127.0.0.1", "port": DNS_PORT}]}]},
        "reverse-ddns": {"ddns-domains": [{"name": f"{REVERSE}.", "dns-servers": [
            {"ip-address": "127.0.0.1", "port": DNS_PORT}]}]},
        "loggers": [{"name": "kea-dhcp-ddns", "severity": "DEBUG", "debuglevel": 40,
                     "output_options": [{"output": "stderr"}]}]}}
    path = lab.path(f"d2-{new_xid():x}.json")
    write_json(path, cfg)
    env = dict(os.environ, KEA_PIDFILE_DIR=lab.path(), KEA_LOCKFILE_DIR=lab.path())
    proc = lab.spawn(topo.srv, ["kea-dhcp-ddns", "-c", path], env=env,
                     log=lab.path(f"d2-{new_xid():x}.log"))
    lab.wait_udp_listen(topo.srv, D2_PORT, timeout=20, proc=proc)
    return proc


@pytest.fixture
def d2(lab, topo, bind9):
    proc = start_d2(lab, topo)
    yield proc
    lab.stop(proc)


def dig(lab, topo, name, rtype):
    out = lab.run(topo.srv, ["dig", "@127.0.0.1", "-p", str(DNS_PORT), "+short", "+time=1",
                             "+tries=1", name, rtype], timeout=10).stdout
    return [ln for ln in out.split() if ln]


def ptr_name(addr):
    return ".".join(reversed(addr.split("."))) + ".in-addr.arpa"


def ddns_server(servers, topo, lab, name, **extra):
    sock = lab.path(f"{name}-{new_xid():x}.sock")
    cfg = control_config(topo, lab.path(f"{name}-{new_xid():x}.csv"), sock,
                         ddns_qualifying_suffix=f"{ZONE}.",
                         dhcp_ddns={"enable-updates": True, "server-ip": "127.0.0.1",
                                    "server-port": D2_PORT, **extra})
    proc = servers.start(cfg)
    return proc, sock


def dora(client, hostname, *, timeout=2.0):
    return raw_dora(client, timeout=timeout, hostname=hostname)


def registered(lab, topo, client, hostname):
    """A DORA with this host name, then the wait for its A record; (ack, fqdn)."""
    ack = dora(client, hostname)
    fqdn = f"{hostname.lower()}.{ZONE}"
    lab.wait_for(lambda: dig(lab, topo, fqdn, "A") == [ack.pkt.yiaddr], timeout=15,
                 what=f"the A record of {fqdn}")
    return ack, fqdn


def test_a_lease_puts_its_name_in_dns_and_a_release_takes_it_out(lab, topo, servers, raw, d2):
    _, sock = ddns_server(servers, topo, lab, "ddns")
    ack, fqdn = registered(lab, topo, raw, "Laptop-7")
    addr = ack.pkt.yiaddr
    assert ack.opt(12) == fqdn.encode()
    assert dig(lab, topo, ptr_name(addr), "PTR") == [fqdn + "."]
    assert len(dig(lab, topo, fqdn, "DHCID")) == 1        # D2's conflict resolution record
    raw.send(reference.release(raw.mac, new_xid(), ciaddr=addr, server_id=ack.opt_ip(54)),
             src_ip=addr, dst_ip=ack.opt_ip(54))
    lab.wait_for(lambda: dig(lab, topo, fqdn, "A") == [], timeout=15, what="the A record gone")
    assert dig(lab, topo, ptr_name(addr), "PTR") == []


def test_an_expired_lease_is_taken_out_of_dns(lab, topo, servers, raw, d2):
    _, sock = ddns_server(servers, topo, lab, "ddnsexp")
    ack, fqdn = registered(lab, topo, raw, "shortlived")
    upd = control(sock, "lease4-update", {
        "ip-address": ack.pkt.yiaddr, "hw-address": raw.mac.hex(":"), "subnet-id": 1,
        "valid-lft": 1, "hostname": fqdn, "fqdn-fwd": True, "fqdn-rev": True,
        "expire": int(time.time()) - 5})
    assert upd["result"] == 0, upd
    rec = control(sock, "leases-reclaim", {"remove": False})
    assert rec["result"] == 0, rec
    lab.wait_for(lambda: dig(lab, topo, fqdn, "A") == [], timeout=15, what="the A record gone")


def test_resend_ddns_puts_the_name_back(lab, topo, servers, raw, d2):
    _, sock = ddns_server(servers, topo, lab, "ddnsresend")
    ack, fqdn = registered(lab, topo, raw, "again")
    # the record goes behind the server's back; lease4-resend-ddns puts it back
    lab.run(topo.srv, ["nsupdate", "-p", str(DNS_PORT)], input=(
        f"server 127.0.0.1 {DNS_PORT}\nupdate delete {fqdn} A\nsend\n"), timeout=10, check=True)
    assert dig(lab, topo, fqdn, "A") == []
    a = control(sock, "lease4-resend-ddns", {"ip-address": ack.pkt.yiaddr})
    assert a["result"] == 0 and a["text"] == (f"NCR generated for: {ack.pkt.yiaddr}, "
                                              f"hostname: {fqdn}")
    lab.wait_for(lambda: dig(lab, topo, fqdn, "A") == [ack.pkt.yiaddr], timeout=15,
                 what="the A record back")
    none = control(sock, "lease4-resend-ddns", {"ip-address": f"{NET}.250"})
    assert none["result"] == 3 and none["text"] == f"No lease found for: {NET}.250"


def test_a_stopped_d2_does_not_stop_dhcp(lab, topo, servers, bind9):
    """No kea-dhcp-ddns at all: every client is still served at once; with a queue of 2, the
    requests past it are counted as dropped (fastdhcp) and none is ever sent twice."""
    _, sock = ddns_server(servers, topo, lab, "ddnsdown", **{"max-queue-size": 2})
    for n in range(8):
        with RawClient(lab, *topo.client()) as c:
            assert dora(c, f"host{n}", timeout=2.0).opt(12) == f"host{n}.{ZONE}".encode()
    if UNDER_TEST == "fastdhcp":
        stats = control(sock, "statistic-get-all")["arguments"]
        value = {k: v[0][0] for k, v in stats.items()}
        assert value["ncr-queued"] + value["ncr-dropped"] == 8
        assert value["ncr-dropped"] >= 1
        assert value["ncr-sent"] + value["ncr-send-failed"] <= value["ncr-queued"]


def capture_ncrs(servers, topo, lab, kind, client, hostname, *, fqdn_option=None):
    """Run one server of ``kind`` with dhcp-ddns pointed at a UDP socket of ours; one DORA;
    the NameChangeRequests it sent, decoded (length prefix checked)."""
    with in_netns(topo.srv):
        listener = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    listener.bind(("127.0.0.1", 0))
    listener.settimeout(3.0)
    port = listener.getsockname()[1]
    cfg = control_config(topo, lab.path(f"ncr-{kind}-{new_xid():x}.csv"),
                         lab.path(f"ncr-{kind}-{new_xid():x}.sock"),
                         ddns_qualifying_suffix=f"{ZONE}.",
                         dhcp_ddns={"enable-updates": True, "server-ip": "127.0.0.1",
                                    "server-port": port})
    proc = servers.launch(cfg, kind=kind)
    wait_log(lab, proc, "DHCP4_STARTED", timeout=20)
    try:
        xid = new_xid()
        extra = [fqdn_option] if fqdn_option else []
        kw = {"hostname": hostname} if hostname else {}
        offer = client.ask(reference.discover(client.mac, xid, extra_options=extra, **kw),
                           xid=xid, types={MsgType.DHCPOFFER}, timeout=2.0)
        xid = new_xid()
        ack = client.ask(reference.request(client.mac, xid, server_id=offer.opt_ip(54),
                                           requested_ip=offer.pkt.yiaddr, extra_options=extra,
                                           **kw), xid=xid, types={MsgType.DHCPACK}, timeout=2.0)
        assert ack is not None
        data = listener.recv(4096)
    finally:
        servers.stop(proc)
        listener.close()
    (length,) = struct.unpack("!H", data[:2])
    assert length == len(data) - 2
    doc = json.loads(data[2:])
    return json.loads(data[2:]), list(doc), ack.pkt.yiaddr


@pytest.mark.parametrize("hostname, fqdn_option", [
    ("Printer", None),
    (None, (81, bytes((1 | 4, 0, 0)) + b"\x02pc\x04ddns\x07example\x00")),
])
def test_the_name_change_request_is_kea_s(lab, topo, servers, hostname, fqdn_option):
    """Differential: kea-dhcp4 2.2 and fastdhcp, asked by the same client, send D2 the same
    request, key for key and in the same order (but the time it was made)."""
    ns, ifname, mac = topo.client()
    got = {}
    for kind in ("kea", "fastdhcp"):
        with RawClient(lab, ns, ifname, mac) as c:
            got[kind] = capture_ncrs(servers, topo, lab, kind, c, hostname,
                                     fqdn_option=fqdn_option)
    (kea, kea_keys, kea_addr), (ours, our_keys, our_addr) = got["kea"], got["fastdhcp"]
    assert our_keys == kea_keys
    assert kea_addr == our_addr
    for doc in (kea, ours):
        doc.pop("lease-expires-on")
    assert ours == kea
