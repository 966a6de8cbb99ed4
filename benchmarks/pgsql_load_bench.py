#!/usr/bin/env python3
"""What a million leases in PostgreSQL cost to load: the start's (and a takeover's) COPY of
lease4 into the native table, whole and for one shard's blocks of eight, beside the same rows
from a memfile CSV; and `fastdhcp db leases import` of them.

    python benchmarks/pgsql_load_bench.py [--leases N]

A PostgreSQL 15 of the run's own (pglab, Kea's schema). In-process: LeaseDatabase.lease_rows
(one COPY) then Allocator.load_csv, timed separately, median of 3. Timings are for reading.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, REPO)
sys.path.insert(0, HERE)

from fastdhcp import _core  # noqa: E402
from fastdhcp._lab.pglab import Postgres  # noqa: E402
from fastdhcp.config.model import LeaseDatabase as Config  # noqa: E402
import generator_bench as gb  # noqa: E402

NL = b"\n"
FIRST = 0x0A000001                       # 10.0.0.1: a /11 holds a million


def allocator():
    a = _core.Allocator(capacity=1 << 21)
    a.add_subnet(1, "10.0.0.0/11", [(FIRST, 0x0A1FFFFE)])
    return a


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--leases", type=int, default=1_000_000)
    args = p.parse_args(argv)
    root = tempfile.mkdtemp(prefix="fastdhcp-pgloadb-")
    pg = Postgres(root)
    try:
        pg.start()
        pg.kea_init()
        csv = os.path.join(root, "leases4.csv")
        gb.write_prefill(csv, FIRST, args.leases)
        c = pg.lease_database()
        cfg = Config(type="postgresql", name=c["name"], persist=True, lfc_interval=0,
                     max_row_errors=0, host=c["host"], port=c["port"], user=c["user"],
                     password=c["password"])
        dbfile = os.path.join(root, "db.json")
        with open(dbfile, "w") as f:
            import json
            json.dump({"Dhcp4": {"lease-database": c, "subnet4": []}}, f)
        t0 = time.monotonic()
        r = subprocess.run([sys.executable, "-m", "fastdhcp", "db", "leases", "import", csv,
                            "-c", dbfile], capture_output=True, text=True, cwd=REPO)
        imported = time.monotonic() - t0
        if r.returncode:
            sys.exit(r.stderr)
        db = _core.LeaseDatabase(cfg.conninfo())
        rows_csv = open(csv, "rb").read().split(b"\n", 1)[1]
        results = {"copy": [], "load": [], "shard_copy": [], "csv_load": []}
        size = 0x0A1FFFFE - FIRST + 1
        lo, hi = FIRST, FIRST + (size + 7) // 8 - 1            # shard 0 of 8: its block
        for _ in range(3):
            t0 = time.monotonic()
            rows = db.lease_rows()
            results["copy"].append(time.monotonic() - t0)
            a = allocator()
            t0 = time.monotonic()
            n = a.load_csv(rows, int(time.time()), 0)["loaded"]
            results["load"].append(time.monotonic() - t0)
            t0 = time.monotonic()
            part = db.lease_rows(f"address BETWEEN {lo} AND {hi}")
            results["shard_copy"].append(time.monotonic() - t0)
            b = allocator()
            t0 = time.monotonic()
            b.load_csv(rows_csv, int(time.time()), 0)
            results["csv_load"].append(time.monotonic() - t0)
        med = {k: statistics.median(v) for k, v in results.items()}
        print(f"{args.leases:,} leases in lease4 (imported by fastdhcp db leases import in "
              f"{imported:.1f} s = {args.leases / imported:,.0f} rows/s):")
        print(f"  start's load: COPY {med['copy']:.2f} s + load_csv {med['load']:.2f} s = "
              f"{med['copy'] + med['load']:.2f} s for {n:,} leases")
        print(f"  one shard of 8 (a takeover): COPY of its block {med['shard_copy']:.2f} s "
              f"({part.count(NL):,} rows)")
        print(f"  the same rows from a memfile CSV: load_csv {med['csv_load']:.2f} s")
    finally:
        pg.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
