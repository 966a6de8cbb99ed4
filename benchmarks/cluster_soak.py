#!/usr/bin/env python3
"""A cluster under churn: three fastdhcp servers on one PostgreSQL lease database (12 shards,
ownership lease 2 s) behind one relay that lists all three (`fastdhcp bench --server A --server
B --server C`), while one server after another is killed with SIGKILL and started again.

    python benchmarks/cluster_soak.py [--kills N] [--json FILE]

Printed: the takeover time of every kill (from the SIGKILL to every shard owned by a live
server) as a distribution, the rejoin time (a restarted server back at its fair share), the
aggregate DORA/s and losses of the whole run, and the ledger: every ACK the generator saw must
be a lease4 row of that client with at least its expiry, no address ACKed to two clients. The
database and the three servers share core 0, the generator core 1 (2-core VM: this measures
correctness under churn, not scaling). Timings are for reading; a broken ledger exits 1.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, REPO)
sys.path.insert(0, os.path.join(REPO, "tests"))

from fastdhcp._lab import netlab  # noqa: E402
from fastdhcp._lab.pglab import Postgres  # noqa: E402
from pgdb import ledger_holds  # noqa: E402

RELAY_IP = "198.19.0.1"
NAMES = ("a", "b", "c")
SHARDS, OWNERSHIP, LEASE_TIME = 12, 2.0, 3600


def owners(pg) -> dict[str, int]:
    return {o: int(n) for o, n in pg.sql(
        "SELECT owner, count(*) FROM fastdhcp.shard WHERE owner IS NOT NULL AND "
        "lease_until > now() GROUP BY owner")}


def wait(cond, timeout, step=0.05) -> float | None:
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if cond():
            return time.monotonic() - t0
        time.sleep(step)
    return None


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--kills", type=int, default=20)
    p.add_argument("--json", metavar="FILE")
    args = p.parse_args(argv)
    netlab.require_root()
    netlab.exit_on_sigterm()
    lab = netlab.Lab(keep_dir=False)
    pg = Postgres(tempfile.mkdtemp(prefix="fastdhcp-soak-"))
    procs: dict[str, object] = {}
    result = {"takeover_s": [], "rejoin_s": []}
    try:
        pg.start()
        pg.kea_init()
        gen = lab.netns("sgen")
        links = {}
        for k, name in enumerate(NAMES):
            ns = lab.netns(f"ssrv{name}")
            link = lab.link(ns, gen, f"198.18.{k}.1/30", f"198.18.{k}.2/30")
            lab.ip(ns, "route", "add", "198.19.0.0/16", "via", f"198.18.{k}.2")
            links[name] = (ns, link, f"198.18.{k}.1")
        lab.addr(gen, links["a"][1].if_b, f"{RELAY_IP}/16")
        cfg_db = lab.path("db.json")
        with open(cfg_db, "w") as f:
            json.dump({"Dhcp4": {"lease-database": pg.lease_database(), "subnet4": []}}, f)
        subprocess.run([sys.executable, "-m", "fastdhcp", "db", "init", "--shards", str(SHARDS),
                        "-c", cfg_db], check=True, cwd=REPO, capture_output=True)

        def start(name):
            ns, link, _ = links[name]
            ld = pg.lease_database(**{"max-reconnect-tries": 1000, "reconnect-wait-time": 100,
                                      "on-fail": "serve-retry-continue"})
            ld["user-context"] = {"fastdhcp-cluster": {"server": name,
                                                       "ownership-lease": OWNERSHIP}}
            path = lab.path(f"{name}.json")
            with open(path, "w") as f:
                json.dump({"Dhcp4": {
                    "interfaces-config": {"interfaces": [link.if_a], "dhcp-socket-type": "udp"},
                    "lease-database": ld, "valid-lifetime": LEASE_TIME,
                    "subnet4": [{"id": 1, "subnet": "198.19.0.0/16",
                                 "pools": [{"pool": "198.19.1.0 - 198.19.255.254"}]}],
                    "loggers": [{"name": "kea-dhcp4", "severity": "WARN",
                                 "output_options": [{"output": lab.path(f"{name}.log")}]}]}}, f)
            procs[name] = lab.start_server(ns, path, name=name, args=["--durability", "fsync"])

        for name in NAMES:
            start(name)
        fair = SHARDS // len(NAMES)
        if wait(lambda: owners(pg) == {n: fair for n in NAMES}, 30) is None:
            raise SystemExit(f"cluster_soak: the shards did not split: {owners(pg)}")
        duration = args.kills * 7 + 10
        ack_log = lab.path("acks.csv")
        since = time.time()
        argv = ["ip", "netns", "exec", gen, sys.executable, "-m", "fastdhcp", "bench",
                "--giaddr", RELAY_IP, "--window", "64", "--duration", str(duration),
                "--timeout", "1", "--clients", "5000", "--ack-log", ack_log, "--json",
                ack_log + ".json", "-q"]
        for name in NAMES:
            argv += ["--server", links[name][2]]
        bench = subprocess.Popen(argv, cwd=REPO, env=dict(os.environ, PYTHONPATH=REPO),
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(3)
        for k in range(args.kills):
            victim = NAMES[k % len(NAMES)]
            lab.stop(procs[victim], signal.SIGKILL)
            others = [n for n in NAMES if n != victim]
            took = wait(lambda: sum(owners(pg).get(n, 0) for n in others) == SHARDS, 30)
            result["takeover_s"].append(took)
            start(victim)
            back = wait(lambda: owners(pg) == {n: fair for n in NAMES}, 30)
            result["rejoin_s"].append(back)
            print(f"kill {k + 1}: {victim} taken over in {took:.2f} s, rejoined in "
                  f"{back if back is None else round(back, 2)} s", file=sys.stderr, flush=True)
            time.sleep(1)
        out, err = bench.communicate(timeout=duration + 60)
        rep = json.load(open(ack_log + ".json"))
        acks, addresses = ledger_holds(pg, ack_log, since)
        result.update(dora_per_s=rep["completed_per_second"], lost_percent=rep["lost_percent"],
                      duplicates=rep["counters"]["duplicates"], acks=acks, addresses=addresses,
                      first_answers=rep.get("first_answers_by_server"))
    finally:
        for proc in procs.values():
            lab.stop(proc)
        lab.close()
        pg.stop()
    took = [t for t in result["takeover_s"] if t is not None]
    back = [t for t in result["rejoin_s"] if t is not None]
    q = statistics.quantiles(took, n=10) if len(took) >= 2 else [0] * 9
    print(f"\n{len(result['takeover_s'])} kills of 3 servers, 12 shards, ownership lease "
          f"{OWNERSHIP:g} s:")
    print(f"  takeover (SIGKILL -> every shard owned by a live server): min {min(took):.2f}, "
          f"median {statistics.median(took):.2f}, p90 {q[8]:.2f}, max {max(took):.2f} s"
          f" ({len(result['takeover_s']) - len(took)} not within 30 s)")
    if back:
        print(f"  rejoin (restart -> back at its fair share): median "
              f"{statistics.median(back):.2f}, max {max(back):.2f} s")
    print(f"  load through it all: {result['dora_per_s']:,.0f} DORA/s, "
          f"{result['lost_percent']:.2f} % of exchanges lost; first answers "
          f"{result['first_answers']}")
    print(f"  ledger: {result['acks']:,} ACKs ({result['addresses']:,} addresses) all in "
          f"lease4 with their client and expiry; addresses ACKed to two clients: "
          f"{result['duplicates']}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)
    return 1 if result["duplicates"] else 0


if __name__ == "__main__":
    sys.exit(main())
