#!/usr/bin/env python3
"""Leases in PostgreSQL: fastdhcp on PostgreSQL (Kea's schema) against the same fastdhcp on its
memfile with fsync, and kea-dhcp4 2.2 on the same PostgreSQL, in one run, at the maximum
closed-loop load of `fastdhcp bench`.

    python benchmarks/pgsql_bench.py [--quick] [--json FILE]

The lab, servers and pinning are server_bench.py's (server on core 0, generator on core 1,
relay topology, a fresh server per measurement, repeats interleaved: 3, --quick 1). PostgreSQL
15 of the run's own (pglab: initdb in /tmp, Kea's schema by kea-admin, synchronous_commit on,
fsync on) runs on the server's core: what a lease costs there is the server's cost. lease4 is
emptied before each measurement. Besides DORA/s, CPU per lease and p99 REQUEST->ACK, printed:
the database's commits per second and rows per commit (pg_stat_database, pg_stat_user_tables).
Timings are for reading, never for passing anything.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import generator_bench as gb  # noqa: E402
import server_bench as sb  # noqa: E402

from fastdhcp._lab.pglab import Postgres  # noqa: E402

netlab = sb.netlab
WINDOW = 1024
MODES = ("fastdhcp-fsync", "fastdhcp-pgsql", "kea-pgsql")


class PgBench(gb.GenBench):
    mode = "fastdhcp-fsync"
    pg: Postgres | None = None

    def use(self, mode: str) -> str:
        """Write the configuration of a mode; the server's name (kea or fastdhcp)."""
        self.mode = mode
        cfg = json.loads(json.dumps(self.config))
        if mode.endswith("pgsql"):
            cfg["Dhcp4"]["lease-database"] = self.pg.lease_database()
            self.pg.sql("DELETE FROM lease4")
        with open(self.config_path, "w") as f:
            json.dump(cfg, f)
        return mode.split("-")[0]

    def db_cpu_s(self) -> float:
        """CPU seconds the database has used: the postmaster's own and its reaped children's
        (cutime, cstime: the backends of earlier runs), and its live children's."""
        tick = os.sysconf("SC_CLK_TCK")
        pid = int(open(self.pg.data / "postmaster.pid").readline())

        def stat(p, with_children):
            try:
                f = open(f"/proc/{p}/stat").read().rsplit(")", 1)[1].split()
            except OSError:
                return 0
            return int(f[11]) + int(f[12]) + ((int(f[13]) + int(f[14])) if with_children else 0)
        total = stat(pid, True)
        kids = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True,
                              text=True).stdout.split()
        total += sum(stat(int(k), False) for k in kids)
        return total / tick

    def db_counts(self) -> tuple[int, int]:
        """(transactions committed, lease4 rows inserted + updated + deleted) so far."""
        commits = int(self.pg.sql("SELECT xact_commit FROM pg_stat_database WHERE datname = "
                                  "current_database()")[0][0])
        rows = self.pg.sql("SELECT n_tup_ins + n_tup_upd + n_tup_del FROM pg_stat_user_tables "
                           "WHERE relname = 'lease4'")
        return commits, int(rows[0][0]) if rows else 0


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="1 repeat")
    p.add_argument("--json", metavar="FILE")
    raw = p.parse_args(argv)
    args = sb.parse_args(["--servers", "kea,fastdhcp"] + (["--quick"] if raw.quick else []))
    args.budget = 300.0 if raw.quick else 900.0
    netlab.require_root()
    netlab.exit_on_sigterm()
    lab = netlab.Lab(keep_dir=True)
    pg = Postgres(tempfile.mkdtemp(prefix="fastdhcp-pgbench-"))
    res = {m: [] for m in MODES}
    res["versions"] = sb.versions()
    t0 = time.monotonic()
    try:
        # the database on the server's core: its work per lease is the server's
        pg.start()
        pids = [line.split()[0] for line in open(pg.data / "postmaster.pid")][:1]
        subprocess.run(["taskset", "-a", "-p", "-c", str(args.server_core), pids[0]],
                       capture_output=True, check=False)
        pg.kea_init()
        b = PgBench(lab, args)
        b.pg = pg
        try:
            for rep in range(args.repeats):
                for mode in MODES:
                    name = b.use(mode)
                    before, cpu0 = b.db_counts(), b.db_cpu_s()
                    r = b.run_bench(name, f"r{rep}-closed-{mode}",
                                    ["--window", str(WINDOW), "--duration", "5", "--timeout",
                                     "2", "--clients", "50000"], 5.0)
                    after, cpu1 = b.db_counts(), b.db_cpu_s()
                    r["db_commits"] = after[0] - before[0]
                    r["db_rows"] = after[1] - before[1]
                    acks = r["exchanges"].get("dora", {}).get("completed", 0)
                    r["db_cpu_us_per_lease"] = (cpu1 - cpu0) * 1e6 / acks if acks else None
                    if r["server_cpu_us_per_lease"] is not None and mode.endswith("pgsql"):
                        r["server_cpu_us_per_lease"] += r["db_cpu_us_per_lease"] or 0
                    res[mode].append(r)
                    print(f"{mode}: {r['completed_per_second']:,.0f} DORA/s "
                          f"({r['lost_percent']:.2f} % lost, server+db "
                          f"{r['server_cpu_us_per_lease'] or 0:.1f} us/lease, "
                          f"{r['db_commits']} commits, {r['db_rows']} rows)",
                          file=sys.stderr, flush=True)
        except (sb.BudgetExhausted, sb.ServerFailed) as err:
            print(f"pgsql_bench: {err}; reporting what was measured", file=sys.stderr)
    finally:
        lab.close()
        shutil.rmtree(lab.dir, ignore_errors=True)
        pg.stop()
    med = gb.med
    duration = 5.0
    print(f"\nclosed loop (fastdhcp bench --window {WINDOW}, 5 s, 50,000 clients), medians:")
    base = med([r["completed_per_second"] for r in res["fastdhcp-fsync"]])
    kea = med([r["completed_per_second"] for r in res["kea-pgsql"]])
    for mode in MODES:
        runs = res[mode]
        rate = med([r["completed_per_second"] for r in runs])
        cpu = med([r["server_cpu_us_per_lease"] for r in runs if r["server_cpu_us_per_lease"]])
        p99 = med([r["latency_ms"]["request-ack"]["p99"] for r in runs])
        note = ""
        if mode != "fastdhcp-fsync" and rate and base:
            note = f"  = {rate['median'] / base['median']:.0%} of memfile fsync"
        if mode == "fastdhcp-pgsql" and rate and kea:
            note += f", {rate['median'] / kea['median']:.1f}x kea on PostgreSQL"
        if mode.endswith("pgsql") and runs:
            commits = med([r["db_commits"] / duration for r in runs])
            per = med([r["db_rows"] / r["db_commits"] for r in runs if r["db_commits"]])
            note += (f"; {gb.cell(commits, '{:,.0f}')} commits/s, "
                     f"{gb.cell(per, '{:.1f}')} rows per commit")
        print(f"  {mode:<15} {gb.cell(rate)} DORA/s, {gb.cell(cpu, '{:.1f}')} us/lease "
              f"(server and database), p99 R-A {gb.cell(p99, '{:.2f}')} ms{note}")
    print(f"\nversions: kea-dhcp4 {res['versions']['kea-dhcp4']}, fastdhcp "
          f"{res['versions']['fastdhcp']}; total {time.monotonic() - t0:.0f} s")
    if raw.json:
        with open(raw.json, "w") as f:
            json.dump(res, f, indent=1, default=str)


if __name__ == "__main__":
    main()
