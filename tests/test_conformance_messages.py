"""Kea's texts where operators and their tools look for them: a configuration refused at start,
a reload (SIGHUP) that succeeds or fails, and the DECLINEs Kea writes a message about, each with
Kea 2.2's message ID, text, severity and logger. The same assertions run against kea-dhcp4 with
FASTDHCP_E2E_SERVER=kea; the DECLINEs come from a raw-frame client (tests/e2e.py RawClient).
"""

from __future__ import annotations

import os
import re
import signal
import time

import pytest

from e2e import (ACK, NET, UNDER_TEST, RawClient, control, control_config, new_xid,
                 server_config, server_log, subnet, wait_log, write_json)
from e2e import raw, servers, topo  # noqa: F401  (fixtures)
from fastdhcp import reference
from fastdhcp._lab import netlab
from fastdhcp._enums import MsgType
from fastdhcp.messages import client_label

lab = netlab.lab_fixture(scope="module", keep_dir=bool(os.environ.get("FASTDHCP_E2E_KEEP")))

# every message of interest, whatever its severity (Kea writes DHCP4_PACKET_DROP_0007 at DEBUG)
LOGGERS = [{"name": "kea-dhcp4", "severity": "INFO", "output_options": [{"output": "stderr"}]},
           {"name": "kea-dhcp4.bad-packets", "severity": "DEBUG", "debuglevel": 99,
            "output_options": [{"output": "stderr"}]}]


def kea_line(log: str, msg_id: str) -> str | None:
    """The first log line carrying msg_id, or None."""
    return next((line for line in log.splitlines() if f" {msg_id} " in line), None)


def severity_and_logger(line: str) -> tuple[str, str]:
    """Kea's default pattern: '<date> <time> SEVERITY [logger/pid.tid] ID text'."""
    m = re.search(r"\b(FATAL|ERROR|WARN|INFO|DEBUG)\s+\[([a-z0-9.-]+)/", line)
    assert m, f"not a Kea log line: {line!r}"
    return m.group(1), m.group(2)


def wait_line(lab, proc, msg_id, timeout=10.0):
    wait_log(lab, proc, f" {msg_id} ", timeout=timeout)
    return kea_line(server_log(proc), msg_id)


def test_a_configuration_refused_at_start_says_what_kea_says(lab, topo, servers):
    # a pool outside its subnet: both servers refuse it
    bad = server_config(topo, lab.path("refused-leases4.csv"),
                        subnets=[subnet(1, NET, "10.9.9.10 - 10.9.9.20")])
    proc = servers.launch(bad, name="refused")
    deadline = time.monotonic() + 20
    while proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert proc.poll() not in (None, 0), "a refused configuration must end the server, not 0"
    servers.procs.remove(proc)
    log = server_log(proc)
    path = proc.cfg_path
    load = kea_line(log, "DHCP4_CONFIG_LOAD_FAIL")
    init = kea_line(log, "DHCP4_INIT_FAIL")
    assert load and f"DHCP4_CONFIG_LOAD_FAIL configuration error using file: {path}, reason: " in load
    assert init and ("DHCP4_INIT_FAIL failed to initialize Kea server: configuration error "
                     f"using file '{path}': ") in init
    assert severity_and_logger(load) == ("ERROR", "kea-dhcp4.dhcp4")
    assert severity_and_logger(init) == ("ERROR", "kea-dhcp4.dhcp4")


def test_a_reload_says_what_kea_says_when_it_fails_and_when_it_succeeds(lab, topo, servers):
    good = server_config(topo, lab.path("reload-leases4.csv"))
    proc = servers.start(good, name="reload")
    path = proc.cfg_path
    bad = server_config(topo, proc.lease_path, subnets=[subnet(1, NET, "10.9.9.10 - 10.9.9.20")])
    write_json(path, bad)
    proc.send_signal(signal.SIGHUP)
    fail = wait_line(lab, proc, "DHCP4_DYNAMIC_RECONFIGURATION_FAIL")
    log = server_log(proc)
    start = kea_line(log, "DHCP4_DYNAMIC_RECONFIGURATION")
    assert start and ("DHCP4_DYNAMIC_RECONFIGURATION initiate server reconfiguration using file: "
                      f"{path}, after receiving SIGHUP signal or config-reload command") in start
    assert severity_and_logger(start) == ("INFO", "kea-dhcp4.dhcp4")
    load = kea_line(log, "DHCP4_CONFIG_LOAD_FAIL")
    assert load and f"configuration error using file: {path}, reason: " in load
    assert severity_and_logger(load) == ("ERROR", "kea-dhcp4.dhcp4")
    assert f"DHCP4_DYNAMIC_RECONFIGURATION_FAIL dynamic server reconfiguration failed with file: {path}" in fail
    assert severity_and_logger(fail) == ("FATAL", "kea-dhcp4.dhcp4")
    assert proc.poll() is None, "a failed reload must keep the server running"

    write_json(path, good)
    proc.send_signal(signal.SIGHUP)
    ok = wait_line(lab, proc, "DHCP4_DYNAMIC_RECONFIGURATION_SUCCESS")
    assert ("DHCP4_DYNAMIC_RECONFIGURATION_SUCCESS dynamic server reconfiguration succeeded with "
            f"file: {path}") in ok
    assert severity_and_logger(ok) == ("INFO", "kea-dhcp4.dhcp4")


def leased(lab, topo, servers, raw):
    """A server logging what the tests look for, and the raw client's ACK from it."""
    proc = servers.start(server_config(topo, lab.path(f"decline-{new_xid():x}.csv"),
                                       loggers=LOGGERS))
    offer, ack = raw.dora()
    assert ack is not None and ack.pkt.msg_type == ACK
    return proc, ack


def declined(lab, proc, client, ack, addr, msg_id):
    """client DECLINEs addr (None: without option 50) to the server of ack; returns the log
    line msg_id wrote and the client's label as Kea writes it."""
    xid = new_xid()
    client.send(reference.decline(client.mac, xid, requested_ip=addr, server_id=ack.opt_ip(54)))
    return wait_line(lab, proc, msg_id), client_label(1, client.mac, None, xid)


def test_a_decline_without_option_50_is_dropped_with_keas_message(lab, topo, servers, raw):
    proc, ack = leased(lab, topo, servers, raw)
    line, label = declined(lab, proc, raw, ack, None, "DHCP4_PACKET_DROP_0007")
    assert (f"DHCP4_PACKET_DROP_0007 {label}: failed to process packet: Mandatory 'Requested IP "
            f"address' option missing in DHCPDECLINE sent from {label}") in line
    assert severity_and_logger(line) == ("DEBUG", "kea-dhcp4.bad-packets")


def test_a_decline_of_another_clients_lease_says_the_data_does_not_match(lab, topo, servers, raw):
    proc, ack = leased(lab, topo, servers, raw)
    ns, ifname, other_mac = topo.client()
    with RawClient(lab, ns, ifname, other_mac) as other:
        line, label = declined(lab, proc, other, ack, ack.pkt.yiaddr,
                               "DHCP4_DECLINE_LEASE_MISMATCH")
    assert (f"DHCP4_DECLINE_LEASE_MISMATCH Received DHCPDECLINE for addr {ack.pkt.yiaddr} from "
            f"client {label}, but the data doesn't match: received hwaddr: {other_mac}, lease "
            f"hwaddr: {raw.mac.hex(':')}, received client-id: (none), lease client-id: (none)") \
        in line
    assert severity_and_logger(line) == ("WARN", "kea-dhcp4.dhcp4")


def test_a_decline_of_an_address_nobody_holds_says_no_such_lease(lab, topo, servers, raw):
    proc, ack = leased(lab, topo, servers, raw)
    free = f"{NET}.199"               # the pool's last address: nobody has it
    assert ack.pkt.yiaddr != free
    line, label = declined(lab, proc, raw, ack, free, "DHCP4_DECLINE_LEASE_NOT_FOUND")
    assert (f"DHCP4_DECLINE_LEASE_NOT_FOUND Received DHCPDECLINE for addr {free} from client "
            f"{label}, but no such lease found.") in line
    assert severity_and_logger(line) == ("WARN", "kea-dhcp4.dhcp4")


def test_a_decline_of_its_own_lease_puts_it_on_probation_with_keas_message(lab, topo, servers,
                                                                           raw):
    proc, ack = leased(lab, topo, servers, raw)
    line, label = declined(lab, proc, raw, ack, ack.pkt.yiaddr, "DHCP4_DECLINE_LEASE")
    assert (f"DHCP4_DECLINE_LEASE Received DHCPDECLINE for addr {ack.pkt.yiaddr} from client "
            f"{label}. The lease will be unavailable for 86400 seconds.") in line
    assert severity_and_logger(line) == ("INFO", "kea-dhcp4.leases")


def test_configuration_complete_lfc_setup_and_commands_say_what_kea_says(lab, topo, servers):
    sock = lab.path("msg-ctl.sock")
    cfg = control_config(topo, lab.path("msg-ctl-leases4.csv"), sock)
    cfg["Dhcp4"]["lease-database"]["lfc-interval"] = 3600
    proc = servers.start(cfg, name="complete")
    done = wait_line(lab, proc, "DHCP4_CONFIG_COMPLETE")
    assert done.endswith("DHCP4_CONFIG_COMPLETE DHCPv4 server has completed configuration: "
                         "added IPv4 subnets: 1; DDNS: disabled")
    assert severity_and_logger(done) == ("INFO", "kea-dhcp4.dhcp4")
    setup = wait_line(lab, proc, "DHCPSRV_MEMFILE_LFC_SETUP")
    assert setup.endswith("setting up the Lease File Cleanup interval to 3600 sec")
    assert severity_and_logger(setup) == ("INFO", "kea-dhcp4.dhcpsrv")
    control(sock, "version-get")
    got = wait_line(lab, proc, "COMMAND_RECEIVED")
    assert got.endswith("COMMAND_RECEIVED Received command 'version-get'")
    assert severity_and_logger(got) == ("INFO", "kea-dhcp4.commands")


# ---- what happens to a packet: per-packet messages (fastdhcp.eventlog) ----------------------

def logged(lab, proc, msg_id, needle, timeout=10.0):
    """The first line of msg_id that contains needle, waiting for it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for line in server_log(proc).splitlines():
            if f" {msg_id} " in line and needle in line:
                return line
        time.sleep(0.05)
    raise AssertionError(f"no {msg_id} line with {needle!r} in:\n{server_log(proc)[-3000:]}")


def test_an_offer_an_ack_and_a_release_say_what_kea_says(lab, topo, servers, raw):
    proc = servers.start(server_config(topo, lab.path(f"dora-{new_xid():x}.csv"),
                                       loggers=LOGGERS))
    xid = new_xid()
    offer = raw.ask(reference.discover(raw.mac, xid), xid=xid, types={MsgType.DHCPOFFER})
    assert offer is not None
    addr = offer.pkt.yiaddr
    line = logged(lab, proc, "DHCP4_LEASE_ADVERT", f"tid=0x{xid:x}")
    assert line.endswith(f"DHCP4_LEASE_ADVERT {client_label(1, raw.mac, None, xid)}: lease "
                         f"{addr} will be advertised")
    assert severity_and_logger(line) == ("INFO", "kea-dhcp4.leases")
    xid = new_xid()
    ack = raw.ask(reference.request(raw.mac, xid, server_id=offer.opt_ip(54), requested_ip=addr),
                  xid=xid, types={MsgType.DHCPACK})
    assert ack is not None
    line = logged(lab, proc, "DHCP4_LEASE_ALLOC", f"tid=0x{xid:x}")
    assert line.endswith(f"DHCP4_LEASE_ALLOC {client_label(1, raw.mac, None, xid)}: lease "
                         f"{addr} has been allocated for 600 seconds")
    assert severity_and_logger(line) == ("INFO", "kea-dhcp4.leases")
    xid = new_xid()
    raw.send(reference.release(raw.mac, xid, addr, ack.opt_ip(54)), src_ip=addr,
             dst_ip=ack.opt_ip(54))
    line = logged(lab, proc, "DHCP4_RELEASE", f"tid=0x{xid:x}")
    assert line.endswith(f"DHCP4_RELEASE {client_label(1, raw.mac, None, xid)}: address {addr} "
                         f"was released properly.")
    assert severity_and_logger(line) == ("INFO", "kea-dhcp4.leases")


def with_type(data: bytes, code: bytes) -> bytes:
    """A client message whose option 53 (the first option, 35 01 xx) is replaced by ``code``."""
    assert data[240:242] == b"\x35\x01"
    return data[:240] + code + data[243:]


@pytest.mark.parametrize("name, mutate, msg_id, text", [
    ("no type", lambda d: with_type(d, b"\x00\x00\x00"), "DHCP4_PACKET_DROP_0009",
     "{label}: Option 53 missing (no DHCP message type), is this a BOOTP packet?"),
    ("a server's type", lambda d: with_type(d, b"\x35\x01\x02"), "DHCP4_PACKET_DROP_0006",
     "{label}: unsupported DHCPv4 message type 2"),
    ("an unknown type", lambda d: with_type(d, b"\x35\x01\xc8"), "DHCP4_PACKET_DROP_0005",
     "{label}: unrecognized type 200 in option 53"),
])
def test_a_dropped_packet_says_why_as_kea_says_it(lab, topo, servers, raw, name, mutate, msg_id,
                                                  text):
    proc = servers.start(server_config(topo, lab.path(f"drop-{new_xid():x}.csv"),
                                       loggers=LOGGERS))
    xid = new_xid()
    raw.send(mutate(reference.discover(raw.mac, xid)))
    line = logged(lab, proc, msg_id, f"tid=0x{xid:x}")
    assert line.endswith(f"{msg_id} " + text.format(label=client_label(1, raw.mac, None, xid)))
    assert severity_and_logger(line) == ("DEBUG", "kea-dhcp4.bad-packets")


def test_a_datagram_that_does_not_parse_says_where_it_came_from(lab, topo, servers, raw):
    proc = servers.start(server_config(topo, lab.path(f"parse-{new_xid():x}.csv"),
                                       loggers=LOGGERS))
    d = reference.discover(raw.mac, new_xid())
    raw.send(d[:236] + b"\x63\x82\x53\x64" + d[240:])      # not the magic cookie
    line = logged(lab, proc, "DHCP4_PACKET_DROP_0001", "failed to parse packet")
    assert line.endswith("DHCP4_PACKET_DROP_0001 failed to parse packet from 0.0.0.0 to "
                         f"255.255.255.255, received over interface {topo.bridge}, reason: "
                         "Invalid or missing DHCP magic cookie")
    assert severity_and_logger(line) == ("DEBUG", "kea-dhcp4.bad-packets")


def test_an_exhausted_pool_says_what_kea_says(lab, topo, servers, raw):
    proc = servers.start(server_config(
        topo, lab.path(f"full-{new_xid():x}.csv"), loggers=LOGGERS,
        subnets=[subnet(1, NET, "100 - 100", interface=topo.bridge)]))
    offer, ack = raw.dora()
    assert ack is not None and ack.pkt.msg_type == ACK
    ns, ifname, other_mac = topo.client()
    with RawClient(lab, ns, ifname, other_mac) as other:
        xid = new_xid()
        other.send(reference.discover(other.mac, xid))
        label = client_label(1, other.mac, None, xid)
        where = logged(lab, proc, "ALLOC_ENGINE_V4_ALLOC_FAIL_SUBNET", f"tid=0x{xid:x}")
        how = logged(lab, proc, "ALLOC_ENGINE_V4_ALLOC_FAIL", f"tid=0x{xid:x}")
        nak = logged(lab, proc, "DHCP4_PACKET_NAK_0003", f"tid=0x{xid:x}")
    assert where.endswith(f"ALLOC_ENGINE_V4_ALLOC_FAIL_SUBNET {label}: failed to allocate an "
                          f"IPv4 lease in the subnet {NET}.0/24, subnet-id 1, shared network "
                          f"(none)")
    assert severity_and_logger(where) == ("WARN", "kea-dhcp4.alloc-engine")
    assert how.endswith(f"ALLOC_ENGINE_V4_ALLOC_FAIL {label}: failed to allocate an IPv4 address "
                        f"after 1 attempt(s)")
    assert severity_and_logger(how) == ("WARN", "kea-dhcp4.alloc-engine")
    assert nak.endswith(f"DHCP4_PACKET_NAK_0003 {label}: failed to advertise a lease, client sent "
                        f"ciaddr 0.0.0.0, requested-ip-address (no address)")
    assert severity_and_logger(nak) == ("DEBUG", "kea-dhcp4.bad-packets")


def test_per_packet_messages_are_sampled_and_what_is_held_back_is_counted(lab, topo, servers):
    """fastdhcp writes at most --log-sample lines of each per-packet kind per 10 s (Kea writes
    every one: docs/kea-differences.md); the engine notes nothing for a message that is off."""
    proc = servers.start(server_config(topo, lab.path(f"sample-{new_xid():x}.csv"),
                                       loggers=LOGGERS), args=["--log-sample", "3"])
    ns, ifname, mac = topo.client()
    with RawClient(lab, ns, ifname, mac) as c:
        for _ in range(8):
            xid = new_xid()
            assert c.ask(reference.discover(c.mac, xid), xid=xid, types={MsgType.DHCPOFFER})
    logged(lab, proc, "DHCP4_LEASE_ADVERT", "will be advertised")
    time.sleep(0.5)
    if UNDER_TEST == "kea":      # Kea writes a line for every packet: the difference documented
        assert server_log(proc).count(" DHCP4_LEASE_ADVERT ") == 8
        return
    assert server_log(proc).count(" DHCP4_LEASE_ADVERT ") == 3
    held = logged(lab, proc, "", "DHCP4_LEASE_ADVERT messages not logged", timeout=15)
    assert "5 DHCP4_LEASE_ADVERT messages not logged in the last 10 s" in held
