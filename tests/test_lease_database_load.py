"""The lease database under load, checked by a ledger: `fastdhcp bench` logs every ACK it saw
(client, address, lease time); afterwards every ACKed lease must be in lease4 with its client
and at least its expiry (no ACK without its committed row), and no address ACKed to two clients
(the generator's duplicate detector). Scenarios: the server killed with SIGKILL mid-load, and
PostgreSQL itself killed and restarted mid-load (the server rides it out: serve-retry-continue).
A PostgreSQL 15 of the module's own; relay topology as test_bench's."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from fastdhcp._lab import netlab
from pgdb import database_fixture, ledger_holds

pytestmark = [pytest.mark.root]
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
lab = netlab.lab_fixture(scope="module")
SERVER_IP, GEN_IP, RELAY_IP = "198.18.0.1", "198.18.0.2", "198.19.0.1"
LEASE_TIME = 3600
pg = database_fixture("fastdhcp-pgload-")


@pytest.fixture(scope="module")
def relay_lab(lab):
    srv, gen = lab.netns("psrv"), lab.netns("pgen")
    link = lab.link(srv, gen, f"{SERVER_IP}/30", f"{GEN_IP}/30")
    lab.addr(gen, link.if_b, f"{RELAY_IP}/16")
    lab.ip(srv, "route", "add", "198.19.0.0/16", "via", GEN_IP)
    return srv, gen, link


def start(lab, ns, server_if, pg, name):
    cfg = {"Dhcp4": {
        "interfaces-config": {"interfaces": [server_if], "dhcp-socket-type": "udp"},
        "lease-database": pg.lease_database(**{"max-reconnect-tries": 1000,
                                               "reconnect-wait-time": 100,
                                               "on-fail": "serve-retry-continue"}),
        "valid-lifetime": LEASE_TIME,
        "subnet4": [{"id": 1, "subnet": "198.19.0.0/16", "pools": [
            {"pool": "198.19.1.0 - 198.19.255.254"}]}],
        "loggers": [{"name": "kea-dhcp4", "severity": "INFO",
                     "output_options": [{"output": lab.path(f"{name}.log")}]}]}}
    path = lab.path(f"{name}.json")
    with open(path, "w") as f:
        json.dump(cfg, f)
    return lab.start_server(ns, path, name=name)


def bench(gen, ack_log, seconds):
    """`fastdhcp bench` in the background: the Popen; its report goes to ack_log + '.json'."""
    return subprocess.Popen(
        ["ip", "netns", "exec", gen, sys.executable, "-m", "fastdhcp", "bench", SERVER_IP,
         "--giaddr", RELAY_IP, "--window", "64", "--duration", str(seconds), "--timeout", "1",
         "--clients", "3000", "--ack-log", ack_log, "--json", ack_log + ".json", "-q"],
        cwd=REPO, env=dict(os.environ, PYTHONPATH=REPO), stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True)


def test_every_ack_is_in_the_database_after_a_kill_9(lab, relay_lab, pg):
    srv, gen, link = relay_lab
    pg.sql("DELETE FROM lease4")
    proc = start(lab, srv, link.if_a, pg, "kill9")
    since = time.time()
    ack_log = lab.path("kill9-acks.csv")
    b = bench(gen, ack_log, 4)
    time.sleep(1.5)
    lab.stop(proc, signal.SIGKILL)              # mid-load: groups in flight are lost, unACKed
    out, err = b.communicate(timeout=60)
    rep = json.load(open(ack_log + ".json"))
    assert rep["counters"]["duplicates"] == 0
    checked, addresses = ledger_holds(pg, ack_log, since)
    print(f"kill -9 mid-load: {checked} ACKs, {addresses} addresses, all in lease4")
    assert checked > 100, (checked, out, err)


def test_every_ack_is_in_the_database_across_a_database_restart(lab, relay_lab, pg):
    srv, gen, link = relay_lab
    pg.sql("DELETE FROM lease4")
    proc = start(lab, srv, link.if_a, pg, "pgrestart")
    since = time.time()
    ack_log = lab.path("pgrestart-acks.csv")
    try:
        b = bench(gen, ack_log, 6)
        time.sleep(1.5)
        pg.kill()                               # the database gone mid-load ...
        time.sleep(1.0)
        pg.restart()                            # ... and back: the server reconnects by itself
        out, err = b.communicate(timeout=60)
    finally:
        if not pg.started:
            pg.restart()
        log = open(lab.path("pgrestart.log")).read()
        lab.stop(proc)
    rep = json.load(open(ack_log + ".json"))
    assert rep["counters"]["duplicates"] == 0
    checked, addresses = ledger_holds(pg, ack_log, since)
    print(f"database restart mid-load: {checked} ACKs, {addresses} addresses, all in lease4; "
          f"{rep['lost_percent']:.1f} % of exchanges lost")
    assert checked > 100, (checked, out, err)
    assert "DHCP4_DB_RECONNECT_LOST_CONNECTION" in log and "DHCP4_DB_RECONNECT_SUCCEEDED" in log
    # ACKs came after the database was back (service resumed)
    samples = rep["exchanges"]["dora"]
    assert samples["completed"] > checked // 2 or samples["completed"] > 100
