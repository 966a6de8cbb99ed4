"""Lease files cross between kea-dhcp4 (Debian's, 2.2) and fastdhcp in both directions: clients
that took leases from one server get the same addresses back from the other, started on the
first one's lease file, and a load of new clients never gets one of those addresses."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from fastdhcp._lab import netlab

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SERVER_IP, GIADDR = "198.18.0.1", "198.19.0.1"
FIRST_SEED, OTHER_SEED = "0a:00:00:00:00:00", "0c:00:00:00:00:00"

lab = netlab.lab_fixture(scope="module")


@pytest.fixture(scope="module")
def relay(lab):
    srv, gen = lab.netns("ksrv"), lab.netns("kgen")
    link = lab.link(srv, gen, f"{SERVER_IP}/30", "198.18.0.2/30")
    lab.addr(gen, link.if_b, f"{GIADDR}/16")
    lab.ip(srv, "route", "add", "198.19.0.0/16", "via", "198.18.0.2")
    return srv, gen, link.if_a


def config(lab, server_if, lease_file, tag):
    path = lab.path(f"{tag}.json")
    with open(path, "w") as f:
        json.dump({"Dhcp4": {
            "interfaces-config": {"interfaces": [server_if], "dhcp-socket-type": "udp"},
            "lease-database": {"type": "memfile", "persist": True, "name": lease_file,
                               "lfc-interval": 0},
            "valid-lifetime": 3600,
            "subnet4": [{"id": 1, "subnet": "198.19.0.0/16",
                         "pools": [{"pool": "198.19.1.0 - 198.19.255.254"}],
                         "option-data": [{"name": "routers", "data": GIADDR}]}],
            "loggers": [{"name": "kea-dhcp4", "severity": "WARN",
                         "output_options": [{"output": lab.path(f"{tag}.log")}]}]}}, f)
    return path


def start(lab, ns, server, cfg, tag):
    return lab.start_server(ns, cfg, server=server, name=tag, timeout=30)


def acked(lab, gen, tag, seed, count):
    """A fixed set of `count` clients (MAC seed) does one DORA each; {chaddr: yiaddr}."""
    log = lab.path(f"{tag}-acks.csv")
    r = subprocess.run(["ip", "netns", "exec", gen, sys.executable, "-m", "fastdhcp", "bench",
                        SERVER_IP, "--giaddr", GIADDR, "--window", "16", "--count", str(count),
                        "--clients", str(count), "--mac-seed", seed, "--ack-log", log, "-q",
                        "--duration", "30"],
                       capture_output=True, text=True, timeout=60, cwd=REPO,
                       env=dict(os.environ, PYTHONPATH=REPO))
    assert r.returncode == 0, r.stdout + r.stderr
    with open(log) as f:
        rows = [line.split(",") for line in f.read().splitlines()]
    return {chaddr: yiaddr for chaddr, yiaddr, _ in rows}


@pytest.mark.parametrize("first,second", [("kea", "fastdhcp"), ("fastdhcp", "kea")])
def test_a_lease_file_moves_between_kea_and_fastdhcp(lab, relay, first, second):
    srv, gen, server_if = relay
    lease_file = lab.path(f"{first}-to-{second}-leases4.csv")
    proc = start(lab, srv, first, config(lab, server_if, lease_file, f"{first}-a"), f"{first}-a")
    try:
        before = acked(lab, gen, f"{first}-a", FIRST_SEED, 300)
    finally:
        lab.stop(proc)
    assert len(before) == 300 and len(set(before.values())) == 300
    with open(lease_file) as f:
        header = f.readline().strip()
    assert header.startswith("address,hwaddr,client_id,valid_lifetime,expire,subnet_id")
    proc = start(lab, srv, second, config(lab, server_if, lease_file, f"{second}-b"),
                 f"{second}-b")
    try:
        # new clients first: none may be given an address the file says is held
        others = acked(lab, gen, f"{second}-new", OTHER_SEED, 300)
        again = acked(lab, gen, f"{second}-b", FIRST_SEED, 300)
    finally:
        lab.stop(proc)
    assert not set(others.values()) & set(before.values())
    assert again == before, {k: (before[k], again.get(k)) for k in before if again.get(k) != before[k]}
