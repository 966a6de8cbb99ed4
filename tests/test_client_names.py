"""Host names (option 12, RFC 2132 §3.14) and client FQDNs (option 81, RFC 4702) as kea-dhcp4 2.2
treats them: the name the reply carries (lower-cased, sanitised by hostname-char-set, qualified
by ddns-qualifying-suffix, generated from the address by ddns-replace-client-name), the FQDN
reply flags (N, S, O, E) under ddns-send-updates / -override-no-update / -override-client-update,
reserved host names, and the lease file's hostname, fqdn_fwd and fqdn_rev columns. Raw-frame
clients from 0.0.0.0; every case runs against kea-dhcp4 2.2 too (FASTDHCP_E2E_SERVER=kea).

With DNS updates on (dhcp-ddns enable-updates), nothing here needs a kea-dhcp-ddns: the updates
are only queued (test_ddns_e2e.py sends them to a real one)."""

from __future__ import annotations

import os

import pytest

from e2e import NET, RawClient, new_xid, rows_for, server_config, subnet
from e2e import raw, servers, topo  # noqa: F401  (fixtures)
from fastdhcp import reference
from fastdhcp._enums import MsgType
from fastdhcp._lab import netlab

lab = netlab.lab_fixture(scope="module", keep_dir=bool(os.environ.get("FASTDHCP_E2E_KEEP")))

S, O, E, N = 1, 2, 4, 8     # RFC 4702 §2.1


def wire(name: str, full: bool = True) -> bytes:
    """A name in DNS wire form (RFC 1035 §3.1); partial: without the root label."""
    out = b"".join(bytes((len(label),)) + label.encode() for label in name.split(".") if label)
    return out + (b"\0" if full else b"")


def fqdn(flags: int, name: bytes) -> tuple[int, bytes]:
    return (81, bytes((flags, 0, 0)) + name)


def dora(client, *, options=(), hostname=None):
    """DISCOVER then REQUEST with the same name options; (offer, ack)."""
    xid = new_xid()
    extra = list(options)
    kw = {"hostname": hostname} if hostname is not None else {}
    offer = client.ask(reference.discover(client.mac, xid, extra_options=extra, **kw), xid=xid,
                       types={MsgType.DHCPOFFER}, timeout=2.0)
    assert offer is not None
    xid = new_xid()
    ack = client.ask(reference.request(client.mac, xid, server_id=offer.opt_ip(54),
                                       requested_ip=offer.pkt.yiaddr, extra_options=extra, **kw),
                     xid=xid, types={MsgType.DHCPACK, MsgType.DHCPNAK}, timeout=2.0)
    assert ack is not None and ack.pkt.msg_type == MsgType.DHCPACK
    return offer, ack


def lease_row(lease_path, addr):
    rows = rows_for(lease_path, address=addr)
    assert rows, f"no row for {addr}"
    r = rows[-1]
    return r["hostname"], r["fqdn_fwd"], r["fqdn_rev"]


def start(servers, topo, lab, name, **params):
    lease_path = lab.path(f"{name}-{new_xid():x}.csv")
    subnet_extra = params.pop("subnet_extra", {})
    cfg = server_config(topo, lease_path, subnets=[
        subnet(1, NET, "100 - 199", interface=topo.bridge, **subnet_extra)], **params)
    servers.start(cfg)
    return lease_path


def dashed(addr: str) -> str:
    return addr.replace(".", "-")


# ---- option 12 ----------------------------------------------------------------------------------

def test_a_host_name_is_sent_back_lowercased_and_sanitised(lab, topo, servers, raw):
    leases = start(servers, topo, lab, "h12")
    offer, ack = dora(raw, hostname="My_Laptop")
    assert offer.opt(12) == b"mylaptop"             # '_' is not in [A-Za-z0-9.-]
    assert ack.opt(12) == b"mylaptop"
    assert lease_row(leases, ack.pkt.yiaddr) == ("mylaptop", "0", "0")


def test_an_unqualified_name_gets_the_suffix_without_a_trailing_dot(lab, topo, servers, raw):
    leases = start(servers, topo, lab, "h12q", ddns_qualifying_suffix="Example.ORG",
                   hostname_char_replacement="x")
    _, ack = dora(raw, hostname="Box 1")
    # (Kea lower-cases the client's part, then appends the suffix as configured)
    assert ack.opt(12) == b"boxx1.Example.ORG"
    assert lease_row(leases, ack.pkt.yiaddr) == ("boxx1.Example.ORG", "0", "0")
    with RawClient(lab, *topo.client()) as other:
        _, ack = dora(other, hostname="db.lab.net")      # already qualified: as it is
        assert ack.opt(12) == b"db.lab.net"


def test_replace_client_name_generates_from_the_address(lab, topo, servers, raw):
    leases = start(servers, topo, lab, "h12g", ddns_replace_client_name="when-not-present",
                   ddns_generated_prefix="node", ddns_qualifying_suffix="dc.example.")
    _, ack = dora(raw)
    want = f"node-{dashed(ack.pkt.yiaddr)}.dc.example".encode()
    assert ack.opt(12) == want
    assert lease_row(leases, ack.pkt.yiaddr) == (want.decode(), "0", "0")
    with RawClient(lab, *topo.client()) as other:
        _, ack = dora(other, hostname="keepme")          # present: kept (and qualified)
        assert ack.opt(12) == b"keepme.dc.example"


def test_with_updates_on_the_lease_records_both_directions(lab, topo, servers, raw):
    leases = start(servers, topo, lab, "h12u", dhcp_ddns={"enable-updates": True},
                   ddns_qualifying_suffix="example.org")
    _, ack = dora(raw, hostname="printer")
    assert ack.opt(12) == b"printer.example.org"
    assert lease_row(leases, ack.pkt.yiaddr) == ("printer.example.org", "1", "1")


def test_a_reserved_host_name_wins_and_is_sent_unasked(lab, topo, servers, raw):
    lease_path = lab.path(f"h12r-{new_xid():x}.csv")
    cfg = server_config(topo, lease_path, subnets=[subnet(
        1, NET, "100 - 199", interface=topo.bridge,
        reservations=[{"hw-address": raw.mac.hex(":"), "hostname": "Reserved-One"}])],
        ddns_qualifying_suffix="example.org")
    servers.start(cfg)
    _, ack = dora(raw, hostname="whatever")
    assert ack.opt(12) == b"reserved-one.example.org"
    assert lease_row(lease_path, ack.pkt.yiaddr) == ("reserved-one.example.org", "0", "0")


# ---- option 81 ----------------------------------------------------------------------------------

def test_fqdn_with_updates_off_answers_n_and_overrides_s(lab, topo, servers, raw):
    leases = start(servers, topo, lab, "f81off")
    _, ack = dora(raw, options=[fqdn(S | E, wire("Host.Example.com"))])
    v = ack.opt(81)
    assert v[0] == N | O | E and v[3:] == wire("host.example.com")
    assert lease_row(leases, ack.pkt.yiaddr) == ("host.example.com.", "0", "0")


@pytest.mark.parametrize("client_flags, params, want_flags, fwd, rev", [
    (S | E, {}, S | E, "1", "1"),                              # the server does both
    (E, {}, E, "0", "1"),                                      # the client does A, we PTR
    (E, {"ddns-override-client-update": True}, S | O | E, "1", "1"),
    (N | E, {}, N | E, "0", "0"),                              # nobody updates
    (N | E, {"ddns-override-no-update": True}, S | O | E, "1", "1"),
    (S | E, {"ddns-send-updates": False}, N | O | E, "0", "0"),
])
def test_fqdn_flags_with_updates_on(lab, topo, servers, raw, client_flags, params, want_flags,
                                    fwd, rev):
    leases = start(servers, topo, lab, "f81on", dhcp_ddns={"enable-updates": True},
                   subnet_extra=params)
    _, ack = dora(raw, options=[fqdn(client_flags, wire("pc.example.com"))])
    assert ack.opt(81)[0] == want_flags
    assert lease_row(leases, ack.pkt.yiaddr) == ("pc.example.com.", fwd, rev)


def test_a_partial_fqdn_is_qualified_and_an_empty_one_generated(lab, topo, servers, raw):
    leases = start(servers, topo, lab, "f81p", ddns_qualifying_suffix="example.net")
    _, ack = dora(raw, options=[fqdn(S | E, wire("Laptop", full=False))])
    assert ack.opt(81)[3:] == wire("laptop.example.net")
    assert lease_row(leases, ack.pkt.yiaddr)[0] == "laptop.example.net."
    with RawClient(lab, *topo.client()) as other:
        _, ack = dora(other, options=[fqdn(S | E, b"")])
        want = f"myhost-{dashed(ack.pkt.yiaddr)}.example.net"
        assert ack.opt(81)[3:] == wire(want)
        assert lease_row(leases, ack.pkt.yiaddr)[0] == want + "."


def test_an_ascii_fqdn_is_answered_in_ascii(lab, topo, servers, raw):
    """E clear: the deprecated ASCII encoding (RFC 4702 §2.3.1), answered in kind."""
    start(servers, topo, lab, "f81a")
    _, ack = dora(raw, options=[fqdn(S, b"Old.Example.com")])
    v = ack.opt(81)
    assert v[0] == N | O and v[3:] == b"old.example.com."


def test_fqdn_wins_over_host_name(lab, topo, servers, raw):
    leases = start(servers, topo, lab, "f81h")
    _, ack = dora(raw, hostname="other", options=[fqdn(S | E, wire("chosen.example.com"))])
    assert ack.opt(12) is None and ack.opt(81) is not None
    assert lease_row(leases, ack.pkt.yiaddr)[0] == "chosen.example.com."


def test_fqdn_with_both_n_and_s_drops_the_packet(lab, topo, servers, raw):
    """RFC 4702 §2.1: N and S together are invalid; Kea's option parser throws, so the packet
    is dropped (no OFFER)."""
    start(servers, topo, lab, "f81bad")
    xid = new_xid()
    assert raw.ask(reference.discover(raw.mac, xid, extra_options=[fqdn(N | S | E, wire("a.b"))]),
                   xid=xid, types={MsgType.DHCPOFFER}, timeout=1.0) is None
    _, ack = dora(raw, options=[fqdn(E, wire("a.b"))])     # the same client, well-formed: served
    assert ack.opt(81) is not None


def test_a_nak_carries_no_name(lab, topo, servers, raw):
    start(servers, topo, lab, "nak", authoritative=True)
    xid = new_xid()
    nak = raw.ask(reference.request(raw.mac, xid, requested_ip="10.99.0.1", hostname="h"),
                  xid=xid, types={MsgType.DHCPNAK}, timeout=2.0)
    assert nak is not None and nak.opt(12) is None
