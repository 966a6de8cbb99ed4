"""Several fastdhcp servers on one PostgreSQL lease database, active at once on the same pool,
fenced (fastdhcp/cluster). Two servers, each in a namespace of its own, and a relay with both as
helper addresses (`fastdhcp bench --server A --server B`); fastdhcp's cluster tables made by
`fastdhcp db init --shards 8`. Checked by a ledger of every ACK the generator saw: no address
ACKed to two clients, every ACK in lease4 with its client and expiry. Scenarios: the shards
split between the two; one killed with SIGKILL mid-load (the other takes its shards, the clients
keep being served); one paused past its ownership lease and resumed (its commits are fenced: no
ACK for a shard whose epoch moved on)."""

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
RELAY_IP = "198.19.0.1"
SERVERS = {"a": ("198.18.0.1", "198.18.0.2"), "b": ("198.18.1.1", "198.18.1.2")}
LEASE_TIME, SHARDS, OWNERSHIP = 3600, 8, 2.0
pg = database_fixture("fastdhcp-pgcluster-")


@pytest.fixture(scope="module")
def cluster_lab(lab, pg):
    gen = lab.netns("cgen")
    spaces = {}
    for name, (srv_ip, gen_ip) in SERVERS.items():
        ns = lab.netns(f"csrv{name}")
        link = lab.link(ns, gen, f"{srv_ip}/30", f"{gen_ip}/30")
        lab.ip(ns, "route", "add", "198.19.0.0/16", "via", gen_ip)
        spaces[name] = (ns, link)
    lab.addr(gen, spaces["a"][1].if_b, f"{RELAY_IP}/16")
    # fastdhcp's cluster tables, as an operator makes them
    r = db_cli(lab, pg, "init", "--shards", str(SHARDS))
    assert r.returncode == 0, r.stdout + r.stderr
    return gen, spaces


def config(lab, pg, name, server_if):
    ld = pg.lease_database(**{"max-reconnect-tries": 1000, "reconnect-wait-time": 100,
                              "on-fail": "serve-retry-continue"})
    ld["user-context"] = {"fastdhcp-cluster": {"server": name, "ownership-lease": OWNERSHIP}}
    return {"Dhcp4": {
        "control-socket": {"socket-type": "unix", "socket-name": lab.path(f"cluster-{name}.sock")},
        "interfaces-config": {"interfaces": [server_if], "dhcp-socket-type": "udp"},
        "lease-database": ld, "valid-lifetime": LEASE_TIME,
        "subnet4": [{"id": 1, "subnet": "198.19.0.0/16", "pools": [
            {"pool": "198.19.1.0 - 198.19.255.254"}]}],
        "loggers": [{"name": "kea-dhcp4", "severity": "INFO",
                     "output_options": [{"output": lab.path(f"cluster-{name}.log")}]}]}}


def db_cli(lab, pg, *argv):
    path = lab.path(f"cluster-db-{len(argv)}-{time.monotonic_ns()}.json")
    with open(path, "w") as f:
        json.dump({"Dhcp4": {"lease-database": pg.lease_database(), "subnet4": []}}, f)
    return subprocess.run([sys.executable, "-m", "fastdhcp", "db", *argv, "-c", path],
                          capture_output=True, text=True, timeout=120, cwd=REPO)


def start(lab, pg, spaces, name):
    ns, link = spaces[name]
    path = lab.path(f"cluster-{name}.json")
    with open(path, "w") as f:
        json.dump(config(lab, pg, name, link.if_a), f)
    return lab.start_server(ns, path, name=f"cluster-{name}")


def two_servers(lab, pg, spaces):
    """Servers a and b started, once they have split the shards evenly."""
    a, b = start(lab, pg, spaces, "a"), start(lab, pg, spaces, "b")
    lab.wait_for(lambda: owners(pg) == {"a": SHARDS // 2, "b": SHARDS // 2}, timeout=20,
                 what="the shards split evenly")
    return a, b


def refused_for_the_other(lab, name) -> bool:
    """lease4-add of an address of a shard the server does not own is refused with the reason
    (its owner writes it); one of its own is taken."""
    from e2e import control
    sock = lab.path(f"cluster-{name}.sock")
    owned = {int(s) for s in control(sock, "status-get")["arguments"]["cluster"]["owned"]}
    block = 65279 // SHARDS                        # (the pool: 198.19.1.0 - 198.19.255.254)
    mine = other = None
    for k in range(SHARDS):
        a = 0xC6130100 + k * block + block // 2     # 198.19.1.0 + the middle of block k
        addr = f"{a >> 24}.{(a >> 16) & 255}.{(a >> 8) & 255}.{a & 255}"
        if k in owned and mine is None:
            mine = addr
        elif k not in owned and other is None:
            other = addr
    refused = control(sock, "lease4-add", {"ip-address": other, "hw-address": "02:cc:00:00:00:01",
                                           "subnet-id": 1})
    taken = control(sock, "lease4-add", {"ip-address": mine, "hw-address": "02:cc:00:00:00:02",
                                         "subnet-id": 1})
    assert refused["result"] == 1 and "which another server of the cluster owns" in \
        refused["text"], refused
    assert taken["result"] == 0, taken
    return True


def owners(pg) -> dict[str, int]:
    """Live owners and how many shards each holds."""
    out: dict[str, int] = {}
    for owner, n in pg.sql("SELECT owner, count(*) FROM fastdhcp.shard WHERE owner IS NOT NULL "
                           "AND lease_until > now() GROUP BY owner"):
        out[owner] = int(n)
    return out


def bench(gen, ack_log, seconds, *servers):
    argv = ["ip", "netns", "exec", gen, sys.executable, "-m", "fastdhcp", "bench",
            "--giaddr", RELAY_IP, "--window", "64", "--duration", str(seconds), "--timeout", "1",
            "--clients", "2000", "--ack-log", ack_log, "--json", ack_log + ".json", "-q"]
    for s in servers:
        argv += ["--server", SERVERS[s][0]]
    return subprocess.Popen(argv, cwd=REPO, env=dict(os.environ, PYTHONPATH=REPO),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.fixture
def fresh(pg):
    pg.sql("DELETE FROM lease4")
    pg.sql("UPDATE fastdhcp.shard SET owner = NULL, lease_until = 'epoch'")
    pg.sql("DELETE FROM fastdhcp.server")
    return pg


def test_two_servers_split_the_shards_and_give_no_address_twice(lab, cluster_lab, fresh):
    gen, spaces = cluster_lab
    a, b = two_servers(lab, fresh, spaces)
    try:
        since, log = time.time(), lab.path("split-acks.csv")
        out, err = bench(gen, log, 3, "a", "b").communicate(timeout=60)
        rep = json.load(open(log + ".json"))
        assert refused_for_the_other(lab, "a")
    finally:
        lab.stop(a)
        lab.stop(b)
    assert rep["counters"]["duplicates"] == 0 and rep["lost_percent"] < 1, (rep, err)
    first = rep["first_answers_by_server"]
    assert first[SERVERS["a"][0]] > 0 and first[SERVERS["b"][0]] > 0, first
    checked, _ = ledger_holds(fresh, log, since)
    assert checked > 100
    # a graceful stop hands the shards back at once
    assert owners(fresh) == {}


def test_a_killed_servers_shards_are_taken_over_and_its_clients_served(lab, cluster_lab, fresh):
    gen, spaces = cluster_lab
    a, b = two_servers(lab, fresh, spaces)
    try:
        since, log = time.time(), lab.path("kill-acks.csv")
        run = bench(gen, log, 8, "a", "b")
        time.sleep(2)
        lab.stop(a, signal.SIGKILL)
        killed = time.monotonic()
        lab.wait_for(lambda: owners(fresh) == {"b": 8}, timeout=20,
                     what="b owning every shard")
        took = time.monotonic() - killed
        out, err = run.communicate(timeout=60)
        rep = json.load(open(log + ".json"))
    finally:
        lab.stop(b)
    print(f"takeover {took:.1f} s after the kill; {rep['exchanges']['dora']['completed']} DORA "
          f"completed, {rep['lost_percent']:.1f} % lost")
    assert took <= 3 * OWNERSHIP + 1
    assert rep["counters"]["duplicates"] == 0, rep
    assert ledger_holds(fresh, log, since)[0] > 100


def test_a_paused_server_is_fenced_once_its_shards_move_on(lab, cluster_lab, fresh):
    gen, spaces = cluster_lab
    a, b = two_servers(lab, fresh, spaces)
    try:
        since, log = time.time(), lab.path("pause-acks.csv")
        run = bench(gen, log, 8, "a", "b")
        time.sleep(1.5)
        os.kill(a.pid, signal.SIGSTOP)          # a zombie: alive, but its ownership lapses
        lab.wait_for(lambda: owners(fresh) == {"b": 8}, timeout=20, what="b taking a's shards")
        os.kill(a.pid, signal.SIGCONT)          # back, with batches it decided before
        out, err = run.communicate(timeout=60)
        rep = json.load(open(log + ".json"))
        time.sleep(2 * OWNERSHIP)
    finally:
        lab.stop(a)
        lab.stop(b)
    assert rep["counters"]["duplicates"] == 0, rep
    assert ledger_holds(fresh, log, since)[0] > 100
    text = open(lab.path("cluster-a.log")).read() + open(lab.path("cluster-a.out")).read()
    # (whether it tried a fenced commit first, or learnt of the loss first, is the loop's
    # order after SIGCONT; the fence itself: test_the_fence_refuses_a_lost_epoch)
    assert "lost to another server" in text, text[-2000:]


def test_the_fence_refuses_a_lost_epoch(cluster_lab, fresh):
    from fastdhcp._core import LeaseDatabase
    from fastdhcp.config.model import LeaseDatabase as Config
    c = fresh.lease_database()
    db = LeaseDatabase(Config(type="postgresql", name=c["name"], persist=True, lfc_interval=0,
                              max_row_errors=0, host=c["host"], port=c["port"], user=c["user"],
                              password=c["password"]).conninfo())
    fresh.sql("UPDATE fastdhcp.shard SET owner = 'z', epoch = 5, lease_until = now() + "
              "interval '1 minute' WHERE shard = 0")
    row = f"198.19.1.7,02:00:00:00:00:07,,600,{int(time.time()) + 600},1,0,0,,0,\n".encode()
    db.set_fence("SELECT pg_temp.fastdhcp_fence('z', '{0}'::int[], '{4}'::bigint[])")
    with pytest.raises(ConnectionError, match="fenced"):
        db.commit_csv(row, 11)                  # epoch 4 is over: nothing is written
    assert not fresh.sql("SELECT 1 FROM lease4 WHERE address = 3323134215")
    db.set_fence("SELECT pg_temp.fastdhcp_fence('z', '{0}'::int[], '{5}'::bigint[])")
    assert db.commit_csv(row, 11) == 1
    assert fresh.sql("SELECT 1 FROM lease4 WHERE address = 3323134215")
