#!/usr/bin/env python3
"""What durability costs: fastdhcp with --durability fsync, write and none, and kea-dhcp4
(memfile persist true, which never fsyncs), at the maximum closed-loop load of `fastdhcp bench`,
in one run; then restart time and RSS with a million leases in the file (both servers), and the
worst reply latency while a million-lease file is compacted.

    python benchmarks/durability_bench.py [--quick] [--json FILE]

The lab, servers and pinning are server_bench.py's (server on core 0, generator on core 1, relay
topology, a fresh server per measurement); repeats interleaved (3, --quick 1), medians with
min-max. Closed loop: `fastdhcp bench --window 1024 --duration 5` with 50000 clients (with
fsync the ACKs wait for the disk, so a closed loop needs more exchanges in flight to load the
server fully: 256 leaves the fsync server waiting, not working).
Restart: the time from exec to udp/67 bound (fastdhcp loads its leases before binding; Kea
too) and the server's RSS (/proc/PID/status VmRSS) once it serves, with 1,000,000 bound leases.
Compaction: a server holding the million leases with lfc-interval 2 s serves a 6 s closed-loop
load (window 64); the generator's max latency is compared with the same run without compaction.
Timings are for reading, never for passing or failing anything.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import shutil
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import generator_bench as gb  # noqa: E402
import server_bench as sb  # noqa: E402

netlab = sb.netlab
MODES = ("fsync", "write", "none")
WINDOW = 1024
MILLION = 1_000_000


class DurabilityBench(gb.GenBench):
    durability = "fsync"

    def server_argv(self, name):
        argv = super().server_argv(name)
        return argv + ["--durability", self.durability] if name == "fastdhcp" else argv

    def restore_config(self):
        with open(self.config_path, "w") as f:
            json.dump(self.config, f)

    def prefill(self, path, n, hostnames=False):
        """n bound leases of other clients: the million go to a /11 served through the relay
        address (198.19.0.0/16 holds 65k), as generator_bench's growth runs do."""
        gb.write_prefill(path, int(ipaddress.ip_address("10.0.0.1")), n, hostnames)

    def million_config(self, lfc_interval=0):
        cfg = json.loads(json.dumps(self.config))
        sub = cfg["Dhcp4"]["subnet4"][0]
        sub.update({"subnet": "10.0.0.0/11", "relay": {"ip-addresses": [sb.RELAY_IP]},
                    "pools": [{"pool": "10.0.0.1 - 10.31.255.254"}]})
        cfg["Dhcp4"]["lease-database"].update({"name": self.lab.path("million-leases4.csv"),
                                               "lfc-interval": lfc_interval})
        with open(self.config_path, "w") as f:
            json.dump(cfg, f)
        return cfg["Dhcp4"]["lease-database"]["name"]

    def restart(self, name, rep):
        path = self.million_config()
        self.prefill(path, MILLION)
        start_timeout = self.args.start_timeout
        self.args.start_timeout = 180.0
        try:
            t0 = time.monotonic()
            proc = self.start_server(name, f"r{rep}-restart")
            took = time.monotonic() - t0
            rss = rss_mb(proc.pid)               # taskset execs the server: its own PID
            self.stop_server(proc, name)
        finally:
            self.args.start_timeout = start_timeout
            self.restore_config()
            for f in (path, path + ".1", path + ".2"):
                if os.path.exists(f):
                    os.unlink(f)
        return {"seconds": took, "rss_mb": rss}

    def compaction(self, rep, lfc_interval):
        path = self.million_config(lfc_interval)
        self.prefill(path, MILLION)
        start_timeout = self.args.start_timeout
        self.args.start_timeout = 60.0
        try:
            proc = self.start_server("fastdhcp", f"r{rep}-lfc{lfc_interval}")
            r = self.run_bench("fastdhcp", f"r{rep}-lfc{lfc_interval}",
                               ["--window", "64", "--duration", "6", "--timeout", "1",
                                "--clients", "5000"], 6.0, proc=proc)
        finally:
            self.args.start_timeout = start_timeout
            self.restore_config()
            for f in os.listdir(self.lab.dir):
                if f.startswith("million-leases4.csv"):
                    os.unlink(self.lab.path(f))
        return r


def rss_mb(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="1 repeat")
    p.add_argument("--json", metavar="FILE")
    raw = p.parse_args(argv)
    args = sb.parse_args(["--servers", "kea,fastdhcp"] + (["--quick"] if raw.quick else []))
    args.budget = 300.0 if raw.quick else 1200.0
    netlab.require_root()
    netlab.exit_on_sigterm()
    lab = netlab.Lab(keep_dir=True)
    res = {"closed": {m: [] for m in ("kea",) + MODES}, "restart": {"kea": [], "fastdhcp": []},
           "compaction": {"off": [], "on": []}, "versions": sb.versions()}
    t0 = time.monotonic()
    try:
        b = DurabilityBench(lab, args)
        try:
            for rep in range(args.repeats):
                for mode in ("kea",) + MODES:
                    name = "kea" if mode == "kea" else "fastdhcp"
                    b.durability = "fsync" if mode == "kea" else mode
                    r = b.run_bench(name, f"r{rep}-closed-{mode}",
                                    ["--window", str(WINDOW), "--duration", "5", "--timeout",
                                     "2", "--clients", "50000"], 5.0)
                    res["closed"][mode].append(r)
                    print(f"{mode}: {r['completed_per_second']:,.0f} DORA/s "
                          f"({r['lost_percent']:.2f} % lost, server {r['server_cpu_us_per_lease']:.1f}"
                          f" us/lease)", file=sys.stderr, flush=True)
            b.durability = "fsync"
            for rep in range(1 if raw.quick else 2):
                for name in ("fastdhcp", "kea"):
                    r = b.restart(name, rep)
                    res["restart"][name].append(r)
                    print(f"{name} restart with 1M leases: {r['seconds']:.2f} s, "
                          f"{r['rss_mb']:.0f} MB RSS", file=sys.stderr, flush=True)
                for key, interval in (("off", 0), ("on", 2)):
                    r = b.compaction(rep, interval)
                    res["compaction"][key].append(r)
                    print(f"compaction {key}: {r['completed_per_second']:,.0f} DORA/s, max "
                          f"latency D-O {r['latency_ms']['discover-offer']['max']:.2f} ms, R-A "
                          f"{r['latency_ms']['request-ack']['max']:.2f} ms", file=sys.stderr,
                          flush=True)
        except (sb.BudgetExhausted, sb.ServerFailed) as err:
            print(f"durability_bench: {err}; reporting what was measured", file=sys.stderr)
    finally:
        lab.close()
        shutil.rmtree(lab.dir, ignore_errors=True)
    med = gb.med
    print(f"\nclosed loop (fastdhcp bench --window {WINDOW}, 5 s):")
    none = med([r["completed_per_second"] for r in res["closed"]["none"]])
    kea = med([r["completed_per_second"] for r in res["closed"]["kea"]])
    for mode in ("kea",) + MODES:
        rates = med([r["completed_per_second"] for r in res["closed"][mode]])
        cpu = med([r["server_cpu_us_per_lease"] for r in res["closed"][mode]])
        p99 = med([r["latency_ms"]["request-ack"]["p99"] for r in res["closed"][mode]])
        label = "kea-dhcp4 (persist)" if mode == "kea" else f"fastdhcp {mode}"
        ratio = ""
        if rates and none and mode != "kea":
            ratio = f"  = {rates['median'] / none['median']:.0%} of none"
            if kea:
                ratio += f", {rates['median'] / kea['median']:.1f}x kea"
        print(f"  {label:<20} {gb.cell(rates)} DORA/s, {gb.cell(cpu, '{:.1f}')} us/lease, "
              f"p99 R-A {gb.cell(p99, '{:.2f}')} ms{ratio}")
    print("\nrestart with 1,000,000 leases in the file (exec to serving; RSS while serving):")
    for name in ("fastdhcp", "kea"):
        s = med([r["seconds"] for r in res["restart"][name]])
        m = med([r["rss_mb"] for r in res["restart"][name]])
        print(f"  {name:<9} {gb.cell(s, '{:.2f}')} s, {gb.cell(m, '{:.0f}')} MB")
    print("\n1,000,000 leases, 6 s closed loop (window 64), lfc-interval 2 s vs off:")
    for key in ("off", "on"):
        runs = res["compaction"][key]
        rate = med([r["completed_per_second"] for r in runs])
        mx = med([max(r["latency_ms"]["discover-offer"]["max"] or 0,
                      r["latency_ms"]["request-ack"]["max"] or 0) for r in runs])
        p99 = med([r["latency_ms"]["request-ack"]["p99"] for r in runs])
        print(f"  compaction {key:<3} {gb.cell(rate)} DORA/s, worst reply latency "
              f"{gb.cell(mx, '{:.2f}')} ms, p99 R-A {gb.cell(p99, '{:.2f}')} ms")
    print(f"\nversions: kea-dhcp4 {res['versions']['kea-dhcp4']}, fastdhcp "
          f"{res['versions']['fastdhcp']}; total {time.monotonic() - t0:.0f} s")
    if raw.json:
        with open(raw.json, "w") as f:
            json.dump(res, f, indent=1, default=str)


if __name__ == "__main__":
    main()
