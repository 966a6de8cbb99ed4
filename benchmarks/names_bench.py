#!/usr/bin/env python3
"""What host names and DNS updates cost the whole server: `fastdhcp bench` closed loop with
clients that send no name, with clients that send one (option 12, sanitised and qualified by
ddns-qualifying-suffix), and with DNS updates on (dhcp-ddns enable-updates: a NameChangeRequest
per new lease, to a kea-dhcp-ddns address where nothing listens, so they are refused, queued
and counted as dropped), and with a UDP sink taking every request (each one rendered and sent:
the packet path's full cost), each against fastdhcp and kea-dhcp4 2.2 in the same run, repeats
interleaved.

    python benchmarks/names_bench.py [--quick] [--json FILE]

The lab, servers and pinning are server_bench.py's (server on one core, generator on the
other, relay topology, a fresh server per measurement). Printed: DORA/s and p99 REQUEST->ACK of
each, and the ratios to the nameless run. Timings are for reading, never for passing anything.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import durability_bench as db  # noqa: E402
import generator_bench as gb  # noqa: E402
import server_bench as sb  # noqa: E402

netlab = sb.netlab
VARIANTS = ("plain", "names", "ddns", "sink")


class NamesBench(db.DurabilityBench):
    def with_names(self, variant: str):
        cfg = json.loads(json.dumps(self.config))
        if variant != "plain":
            cfg["Dhcp4"]["ddns-qualifying-suffix"] = "bench.example."
        if variant in ("ddns", "sink"):
            cfg["Dhcp4"]["dhcp-ddns"] = {"enable-updates": True, "server-ip": "127.0.0.1",
                                         "server-port": 53001, "max-queue-size": 1024}
        with open(self.config_path, "w") as f:
            json.dump(cfg, f)

    def run(self, name, rep, variant):
        self.with_names(variant)
        extra = [] if variant == "plain" else ["--hostnames"]
        sink = None
        if variant == "sink":      # something takes the requests (on the generator's core)
            sink = self.lab.spawn(self.srv, ["taskset", "-c", str(self.args.gen_core),
                                             "socat", "-u", "UDP-RECV:53001,bind=127.0.0.1",
                                             "/dev/null"], log=self.lab.path("sink.out"))
            self.lab.wait_udp_listen(self.srv, 53001, timeout=10, proc=sink)
        try:
            return self.run_bench(name, f"r{rep}-{name}-{variant}",
                                  ["--window", "256", "--duration", "6", "--timeout", "2",
                                   "--clients", "20000", *extra], 6.0)
        finally:
            self.restore_config()
            if sink is not None:
                self.lab.stop(sink)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="1 repeat")
    p.add_argument("--json", metavar="FILE")
    raw = p.parse_args(argv)
    args = sb.parse_args(["--servers", "fastdhcp"] + (["--quick"] if raw.quick else []))
    args.budget = 300.0 if raw.quick else 900.0
    netlab.require_root()
    netlab.exit_on_sigterm()
    lab = netlab.Lab(keep_dir=True)
    keys = [(f"{n}-{v}", n, v) for v in VARIANTS for n in ("fastdhcp", "kea")]
    try:
        b = NamesBench(lab, args)
        res = gb.interleaved(lambda rep, name, variant: b.run(name, rep, variant), keys,
                             args.repeats, "names_bench")
    finally:
        lab.close()
        shutil.rmtree(lab.dir, ignore_errors=True)
    med = gb.med

    def rate(key):
        return med([r["completed_per_second"] for r in res[key]])
    print("\nclosed loop (window 256, 6 s); names: option 12 from every client; ddns: and a "
          "NameChangeRequest per new lease,\n  to nobody (ddns) or to a UDP sink (sink):")
    for key in res:
        print(f"  {key:<16} {gb.cell(rate(key))} DORA/s")
    for server in ("fastdhcp", "kea"):
        base = rate(f"{server}-plain")
        for v in VARIANTS[1:]:
            r = rate(f"{server}-{v}")
            if base and r:
                print(f"  {server} {v}/plain: {r['median'] / base['median']:.1%}")
    if raw.json:
        with open(raw.json, "w") as f:
            json.dump(res, f, indent=1, default=str)


if __name__ == "__main__":
    main()
