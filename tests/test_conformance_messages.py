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

from e2e import (ACK, NET, RawClient, control, control_config, new_xid, server_config,
                 server_log, subnet, wait_log, write_json)
from e2e import raw, servers, topo  # noqa: F401  (fixtures)
from fastdhcp import reference
from fastdhcp._lab import netlab
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
