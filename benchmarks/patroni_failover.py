#!/usr/bin/env python3
"""The lease database's own high availability: PostgreSQL 15 under Patroni (Debian's patroni,
with Debian's etcd-server as its store) with a synchronous standby, and the primary killed
under load. Not in CI: `apt-get install patroni etcd-server` first (this script says so).

    python benchmarks/patroni_failover.py [--seconds N] [--json FILE]

One etcd and two Patroni nodes on loopback (REST 127.0.0.1:8101/8102, PostgreSQL on unix
sockets of their own and 127.0.0.1/127.0.0.2:5440), `synchronous_mode: true` (a commit returns
only once the standby has it), Kea's schema by kea-admin on the primary. fastdhcp runs in a
namespace with `host` naming both nodes' socket directories (libpq tries them in turn and keeps
the one that takes writes: fastdhcp adds `target_session_attrs=read-write` when host lists
several), `on-fail: serve-retry-continue`. `fastdhcp bench` loads it; the primary's Patroni and
PostgreSQL are killed (SIGKILL) mid-load; Patroni promotes the standby. Printed: the time from
the kill to the new primary and to fastdhcp's first commit on it, the load's completed and lost
exchanges, and the ledger: every ACK the generator saw must be a lease4 row, with its client and
at least its expiry, on the new primary. A broken ledger exits 1.
"""

from __future__ import annotations

import argparse
import json
import os
import pwd
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, REPO)
sys.path.insert(0, os.path.join(REPO, "tests"))

from fastdhcp._lab import netlab  # noqa: E402
from fastdhcp._lab.pglab import bindir  # noqa: E402
from pgdb import ledger_holds  # noqa: E402

NODES = {"node1": ("127.0.0.1", 8101), "node2": ("127.0.0.2", 8102)}
PORT, ETCD = 5440, 23790
USER, PASSWORD, DATABASE = "kea", "kea-ha-secret", "kea"
SERVER_IP, GEN_IP, RELAY_IP = "198.18.0.1", "198.18.0.2", "198.19.0.1"


def node_yaml(root: str, name: str) -> str:
    addr, rest = NODES[name]
    return f"""scope: fastdhcp-lab
name: {name}
restapi: {{listen: "127.0.0.1:{rest}", connect_address: "127.0.0.1:{rest}"}}
etcd: {{host: "127.0.0.1:{ETCD}"}}
bootstrap:
  dcs:
    ttl: 20
    loop_wait: 1
    retry_timeout: 5
    synchronous_mode: true
    postgresql:
      use_pg_rewind: false
      parameters: {{synchronous_commit: "on", max_connections: 50, wal_level: replica,
                    max_wal_senders: 5, hot_standby: "on", wal_keep_size: "64MB"}}
  initdb: [{{encoding: UTF8}}]
  pg_hba:
    - local all all trust
    - host replication replicator 127.0.0.0/8 trust
    - host all all 127.0.0.0/8 trust
postgresql:
  listen: "{addr}:{PORT}"
  connect_address: "{addr}:{PORT}"
  data_dir: {root}/{name}
  bin_dir: {bindir()}
  pgpass: {root}/{name}.pgpass
  authentication:
    replication: {{username: replicator, password: rep}}
    superuser: {{username: postgres, password: pg}}
  parameters: {{unix_socket_directories: "{root}/{name}-sock"}}
"""


def rest(name: str, path: str = "patroni"):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{NODES[name][1]}/{path}", timeout=1) as r:
            return json.load(r)
    except (OSError, ValueError):
        return None


def leader() -> str | None:
    for name in NODES:
        s = rest(name)
        if s and s.get("role") in ("master", "primary") and s.get("state") == "running":
            return name
    return None


def sync_standby() -> bool:
    c = rest("node1", "cluster") or rest("node2", "cluster") or {}
    return any(m.get("role") == "sync_standby" and m.get("state") in ("running", "streaming")
               for m in c.get("members", []))


def wait(cond, timeout: float, step: float = 0.2):
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        v = cond()
        if v:
            return v
        time.sleep(step)
    return None


def psql(root, name, sql, user="postgres", database="postgres"):
    r = subprocess.run(["runuser", "-u", "postgres", "--", f"{bindir()}/psql", "-h",
                        f"{root}/{name}-sock", "-p", str(PORT), "-U", user, "-d", database,
                        "-X", "-A", "-t", "-F", "\t", "-v", "ON_ERROR_STOP=1", "-c", sql],
                       capture_output=True, text=True, timeout=60)
    if r.returncode:
        raise RuntimeError(f"psql on {name}: {r.stderr}")
    return [line.split("\t") for line in r.stdout.splitlines() if line]


class Node:
    """psql against whichever node is the primary now, as the Kea user (ledger_holds's)."""

    def __init__(self, root, name):
        self.root, self.name = root, name

    def sql(self, q):
        return psql(self.root, self.name, q, user=USER, database=DATABASE)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seconds", type=float, default=30.0, help="the load's length")
    p.add_argument("--kill-after", type=float, default=8.0)
    p.add_argument("--json", metavar="FILE")
    args = p.parse_args(argv)
    for tool in ("patroni", "etcd"):
        if shutil.which(tool) is None:
            sys.exit(f"patroni_failover: {tool} is missing: apt-get install patroni etcd-server")
    netlab.require_root()
    netlab.exit_on_sigterm()
    root = tempfile.mkdtemp(prefix="fastdhcp-patroni-")
    pw = pwd.getpwnam("postgres")
    os.chown(root, pw.pw_uid, pw.pw_gid)
    procs: dict[str, subprocess.Popen] = {}
    lab = netlab.Lab(keep_dir=False)
    server = None
    res: dict = {}
    try:
        procs["etcd"] = subprocess.Popen(
            ["etcd", "--name", "e1", "--data-dir", f"{root}/etcd", "--enable-v2=true",
             "--listen-client-urls", f"http://127.0.0.1:{ETCD}", "--advertise-client-urls",
             f"http://127.0.0.1:{ETCD}", "--listen-peer-urls", "http://127.0.0.1:23800",
             "--initial-advertise-peer-urls", "http://127.0.0.1:23800", "--initial-cluster",
             "e1=http://127.0.0.1:23800"], stdout=open(f"{root}/etcd.log", "w"),
            stderr=subprocess.STDOUT)
        time.sleep(1.5)
        for name in NODES:
            os.makedirs(f"{root}/{name}-sock", exist_ok=True)
            os.chown(f"{root}/{name}-sock", pw.pw_uid, pw.pw_gid)
            with open(f"{root}/{name}.yml", "w") as f:
                f.write(node_yaml(root, name))
            procs[name] = subprocess.Popen(
                ["runuser", "-u", "postgres", "--", "patroni", f"{root}/{name}.yml"],
                stdout=open(f"{root}/{name}.log", "w"), stderr=subprocess.STDOUT,
                start_new_session=True)
            if name == "node1":
                if not wait(lambda: leader() == "node1", 90):
                    sys.exit("patroni_failover: node1 did not become the primary")
        if not wait(sync_standby, 120):
            sys.exit("patroni_failover: no synchronous standby came up")
        first = leader()
        psql(root, first, f"CREATE ROLE {USER} LOGIN PASSWORD '{PASSWORD}'")
        psql(root, first, f"CREATE DATABASE {DATABASE} OWNER {USER}")
        env = dict(os.environ, PGPASSWORD=PASSWORD)
        subprocess.run(["kea-admin", "db-init", "pgsql", "-u", USER, "-p", PASSWORD, "-n",
                        DATABASE, "-h", NODES[first][0], "-P", str(PORT)], check=True,
                       env=env, capture_output=True)
        # fastdhcp in a namespace, the relay and generator in another
        srv, gen = lab.netns("hsrv"), lab.netns("hgen")
        link = lab.link(srv, gen, f"{SERVER_IP}/30", f"{GEN_IP}/30")
        lab.addr(gen, link.if_b, f"{RELAY_IP}/16")
        lab.ip(srv, "route", "add", "198.19.0.0/16", "via", GEN_IP)
        cfg = lab.path("fastdhcp.json")
        with open(cfg, "w") as f:
            json.dump({"Dhcp4": {
                "interfaces-config": {"interfaces": [link.if_a], "dhcp-socket-type": "udp"},
                "lease-database": {"type": "postgresql", "name": DATABASE,
                                   "host": ",".join(f"{root}/{n}-sock" for n in NODES),
                                   "port": PORT, "user": USER, "password": PASSWORD,
                                   "max-reconnect-tries": 100000, "reconnect-wait-time": 200,
                                   "on-fail": "serve-retry-continue"},
                "valid-lifetime": 3600,
                "subnet4": [{"id": 1, "subnet": "198.19.0.0/16",
                             "pools": [{"pool": "198.19.1.0 - 198.19.255.254"}]}],
                "loggers": [{"name": "kea-dhcp4", "severity": "INFO",
                             "output_options": [{"output": lab.path("fastdhcp.log")}]}]}}, f)
        server = lab.start_server(srv, cfg, name="fastdhcp")
        ack_log = lab.path("acks.csv")
        since = time.time()
        bench = subprocess.Popen(
            ["ip", "netns", "exec", gen, sys.executable, "-m", "fastdhcp", "bench", SERVER_IP,
             "--giaddr", RELAY_IP, "--window", "64", "--duration", str(args.seconds),
             "--timeout", "1", "--clients", "5000", "--ack-log", ack_log, "--json",
             ack_log + ".json", "-q"], cwd=REPO, env=dict(os.environ, PYTHONPATH=REPO),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(args.kill_after)
        # the primary dies: its Patroni and its PostgreSQL, at once
        pid = int(open(f"{root}/{first}/postmaster.pid").readline())
        os.killpg(procs[first].pid, signal.SIGKILL)
        os.kill(pid, signal.SIGKILL)
        killed = time.monotonic()
        new = wait(lambda: leader() not in (None, first) and leader(), 120, 0.1)
        promoted = time.monotonic() - killed if new else None
        out, err = bench.communicate(timeout=args.seconds + 60)
        rep = json.load(open(ack_log + ".json"))
        log = open(lab.path("fastdhcp.log")).read()
        m = re.findall(r"DHCP4_DB_RECONNECT_SUCCEEDED", log)
        acks, addresses = ledger_holds(Node(root, new), ack_log, since)
        res = {"promoted_after_s": promoted, "new_primary": new,
               "dora_completed": rep["exchanges"]["dora"]["completed"],
               "lost_percent": rep["lost_percent"], "duplicates": rep["counters"]["duplicates"],
               "acks": acks, "addresses": addresses, "reconnected": bool(m)}
    finally:
        if server is not None:
            lab.stop(server)
        lab.close()
        for name, proc in procs.items():
            try:
                os.killpg(proc.pid, signal.SIGTERM) if name != "etcd" else proc.terminate()
            except OSError:
                pass
        time.sleep(2)
        for proc in procs.values():
            try:
                proc.kill()
            except OSError:
                pass
        subprocess.run(["pkill", "-KILL", "-f", root], capture_output=True)
        shutil.rmtree(root, ignore_errors=True)
    print(f"\nPatroni (synchronous_mode) failover under fastdhcp load, {args.seconds:g} s, "
          f"primary killed at {args.kill_after:g} s:")
    print(f"  standby promoted {res['promoted_after_s']:.1f} s after the kill "
          f"({res['new_primary']}); fastdhcp reconnected: {res['reconnected']}")
    print(f"  {res['dora_completed']:,} DORA completed, {res['lost_percent']:.2f} % of "
          f"exchanges lost (those that met the outage)")
    print(f"  ledger: {res['acks']:,} ACKs ({res['addresses']:,} addresses), every one in lease4 "
          f"on the new primary with its client and expiry; duplicates {res['duplicates']}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(res, f, indent=1)
    return 1 if res["duplicates"] else 0


if __name__ == "__main__":
    sys.exit(main())
