#!/usr/bin/env python3
"""kill -9 soak: many rounds of fastdhcp/_lab/crashlab.py's kill9_round, each killing the server at
a seeded random moment of a closed-loop load.

    python benchmarks/kill9_soak.py [--rounds 20] [--durability fsync|write] [--seed 1]

Needs root (network namespaces). Round i uses seed --seed + i: its kill moment (0.5-2.5 s of
load) is drawn from that seed alone, so any round can be rerun by itself (--seed S --rounds 1).
The server is pinned to core 0 and the generator to core 1 (taskset). One line per round, then
a summary; exits 1 if any round lost an ACKed lease, handed out an address twice or failed its
restart (the round directories, with lease files and logs, are then kept and printed).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)
from fastdhcp import crashlab, netlab  # this tree's, not an installed copy


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rounds", type=int, default=20)
    p.add_argument("--durability", choices=("fsync", "write"), default="fsync")
    p.add_argument("--seed", type=int, default=1, help="seed of the first round")
    p.add_argument("--clients", type=int, default=5000)
    p.add_argument("--window", type=int, default=64)
    p.add_argument("--server-core", type=int, default=0)
    p.add_argument("--gen-core", type=int, default=1)
    return p.parse_args(argv)


def round_line(i, rounds, r):
    restart = f"{r['restart_s']:.2f} s" if r["restart_s"] is not None else "FAILED"
    line = (f"round {i + 1:>2}/{rounds} seed {r['seed']:>3}: killed at {r['kill_at']:.2f} s "
            f"({r['kill_after']:.2f} s after the first ACK), {r['acks_before_kill']:,} ACKs "
            f"({r['clients_checked']:,} clients), {r['cut_off']} exchanges cut off, "
            f"{r['rows_in_file']:,} rows{' (torn tail)' if r['torn_tail'] else ''}; "
            f"lost {len(r['lost'])}; restart {restart}, {r['acks_after_restart']:,} ACKs, "
            f"duplicates {len(r['duplicates']) + r['restart_run_duplicates']}")
    return line + "".join(f"\n    PROBLEM: {p}" for p in r["problems"])


def summary(results, elapsed):
    restarts = [r["restart_s"] for r in results if r["restart_s"] is not None]
    lost = sum(len(r["lost"]) + len(r["lost_after_restart"]) for r in results)
    dups = sum(len(r["duplicates"]) + r["first_run_duplicates"] + r["restart_run_duplicates"]
               for r in results)
    failed = [r for r in results if r["problems"]]
    acks = (f"ACKs checked: {sum(r['acks_before_kill'] for r in results):,} before the kills "
            f"({sum(r['clients_checked'] for r in results):,} client leases), "
            f"{sum(r['acks_after_restart'] for r in results):,} after the restarts")
    findings = (f"lost: {lost}   duplicates: {dups}   kills under load: "
                f"{sum(r['killed_under_load'] for r in results)}/{len(results)}")
    lines = [f"rounds: {len(results)} ({len(failed)} with problems), {elapsed:.0f} s", acks,
             findings]
    if restarts:
        lines.append(f"restart time: median {statistics.median(restarts):.2f} s, "
                     f"max {max(restarts):.2f} s ({len(restarts)} restarts)")
    return "\n".join(lines), failed


def main(argv=None):
    args = parse_args(argv)
    netlab.require_root()
    if not shutil.which("taskset"):
        sys.exit("kill9_soak: taskset not found (util-linux)")
    netlab.exit_on_sigterm()
    cpus = (args.server_core, args.gen_core)
    results, t0 = [], time.monotonic()
    lab = netlab.Lab(keep_dir=True)              # removed below unless a round had problems
    try:
        with lab:
            topo = crashlab.relay_topology(lab)
            print(f"kill9_soak: {args.rounds} rounds, durability {args.durability}, "
                  f"{args.clients} clients, window {args.window}, server on core "
                  f"{args.server_core}, generator on core {args.gen_core}", flush=True)
            for i in range(args.rounds):
                seed = args.seed + i
                r = crashlab.kill9_round(lab, topo, lab.dir, seed=seed,
                                         kill_after=crashlab.kill_moment(seed),
                                         durability=args.durability, clients=args.clients,
                                         window=args.window, cpus=cpus)
                results.append(r)
                print(round_line(i, args.rounds, r), flush=True)
    except BaseException:
        print(f"kill9_soak: stopped; logs kept in {lab.dir}", file=sys.stderr)
        raise
    text, failed = summary(results, time.monotonic() - t0)
    print(text)
    if failed:
        print("round directories kept: " + ", ".join(r["dir"] for r in failed))
        return 1
    shutil.rmtree(lab.dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
