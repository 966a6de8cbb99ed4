#!/usr/bin/env python3
"""Whole-server benchmark with two load generators: kea-dhcp4 and fastdhcp, each measured with
ISC's perfdhcp and with `fastdhcp bench`, in one run; then pool-size growth.

    python benchmarks/generator_bench.py [--servers kea,fastdhcp] [--quick] [--json FILE]

Needs root (network namespaces), kea-dhcp4 and perfdhcp (Debian: kea-dhcp4-server, kea-admin).
The lab, the servers' shared Kea config and the perfdhcp ladder are server_bench.py's (see its
docstring): netns srv (server pinned to core 0) <-> netns gen (generator pinned to core 1, a relay
at giaddr 198.19.0.1), memfile persist=true, a fresh server for every measurement, servers
interleaved, every measurement repeated (3, --quick 1) and shown as median (min-max).

Per server:
1. max DORA/s at <= 1 % lost, found by the same offered-rate ladder (+ bisection) with perfdhcp
   and with `fastdhcp bench` (open loop, --rate);
2. max DORA/s of `fastdhcp bench` in closed loop (--window 256 outstanding exchanges, 5 s): the
   generator's max-throughput mode, and the lost % there;
3. at a fixed 2000 DORA/s for 10 s with `fastdhcp bench`: the server's CPU us per lease
   (/proc ticks of its namespace / ACKs), the p99 latencies, and the generator's own CPU us per
   exchange.
Pool-size growth (both servers, `fastdhcp bench` closed loop, window 64, 5 s, 200 clients that
repeat DORA): a /24, a /16 and a /12 whose pool is pre-filled to 90 % by a lease file written before
the server starts (the subnet is chosen by the relay address, so the pool's addresses are never
sent anything). Its start time (lease file load) is shown too.

Timings are for reading, never for passing or failing anything; bounded by --budget.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import shutil
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import server_bench as sb  # noqa: E402  the lab, servers and perfdhcp ladder

netlab = sb.netlab
WINDOW = 256
GROWTH = (("/24", "10.0.0.0/24", 0.0), ("/16", "10.0.0.0/16", 0.9), ("/12", "10.0.0.0/12", 0.9))
GROWTH_CLIENTS = 200
KEA_HEADER = ("address,hwaddr,client_id,valid_lifetime,expire,subnet_id,fqdn_fwd,fqdn_rev,"
              "hostname,state,user_context\n")


def write_prefill(path, first, n, hostnames=False):
    """A Kea 2.2 lease file of ``n`` bound leases of other clients from address ``first`` on
    (written before a server starts, so it begins that full); ``hostnames``: each named
    host-<i>.example."""
    expire = int(time.time()) + 10 ** 6
    with open(path, "w") as f:
        f.write(KEA_HEADER)
        for base in range(0, n, 1 << 16):
            f.write("".join(
                f"{ipaddress.IPv4Address(first + i)},"
                f"02:{(i >> 32) & 255:02x}:{(i >> 24) & 255:02x}:{(i >> 16) & 255:02x}:"
                f"{(i >> 8) & 255:02x}:{i & 255:02x},,7200,{expire},1,0,0,"
                f"{f'host-{i}.example' if hostnames else ''},0,\n"
                for i in range(base, min(n, base + (1 << 16)))))


class GenBench(sb.Bench):
    """server_bench's lab and servers, plus `fastdhcp bench` as a second generator."""

    def bench_argv(self, *args):
        return ["taskset", "-c", str(self.args.gen_core), sys.executable, "-m", "fastdhcp",
                "bench", sb.SERVER_IP, "--giaddr", sb.RELAY_IP, "--json", "-", "-q", *args]

    def run_bench(self, name, label, args, period, *, proc=None):
        """One `fastdhcp bench` run against a fresh server (or ``proc``): its report plus the
        server's CPU."""
        self.check_budget(period + 10)
        proc = proc or self.start_server(name, label)
        argv = self.bench_argv(*args)
        self.commands.setdefault(label.split("-")[1] if "-" in label else label,
                                 " ".join(argv))
        try:
            cpu0 = sb.ns_cpu_ticks(self.srv)
            cp = self.lab.run(self.gen, ["env", f"PYTHONPATH={sb.REPO}", *argv],
                              timeout=period + 30)
            cpu1 = sb.ns_cpu_ticks(self.srv)
        finally:
            self.stop_server(proc, name)
        if cp.returncode not in (0, 1):
            raise sb.ServerFailed(f"fastdhcp bench failed (exit {cp.returncode}): "
                                  f"{(cp.stderr or cp.stdout).strip()[-300:]}")
        rep = json.loads(cp.stdout)
        acks = rep["exchanges"].get("dora", {}).get("completed", 0)
        rep["server_cpu_s"] = sb.cpu_delta_s(cpu0, cpu1)
        rep["server_cpu_us_per_lease"] = rep["server_cpu_s"] * 1e6 / acks if acks else None
        return rep

    def bench_search(self, name, rep):
        """The perfdhcp ladder, driven by `fastdhcp bench --rate`."""
        period = self.args.step_seconds

        def step(rate):
            r = self.run_bench(name, f"r{rep}-bsearch-{rate}",
                               ["--rate", str(rate), "--duration", f"{period:g}", "--timeout",
                                "2", "--clients", str(self.args.clients)], period)
            r["offered_rate"] = rate
            r["passed"] = r["lost_percent"] <= 100 * sb.MAX_LOSS
            return r
        steps, hi, _ = sb.climb(self.args.ladder, self.args.refine, step)
        passing = [s for s in steps if s["passed"]]
        best = max((s["completed_per_second"] for s in passing), default=0.0)
        return {"steps": steps, "best_completed_per_s": best, "first_failing_rate": hi,
                "lower_bound": hi is None}

    def closed_loop(self, name, rep):
        return self.run_bench(name, f"r{rep}-closed",
                              ["--window", str(WINDOW), "--duration", "5", "--timeout", "1",
                               "--clients", str(self.args.clients)], 5.0)

    def bench_fixed(self, name, rep):
        return self.run_bench(name, f"r{rep}-bfixed",
                              ["--rate", str(self.args.fixed_rate), "--duration",
                               f"{self.args.fixed_seconds:g}", "--clients",
                               str(self.args.clients)], self.args.fixed_seconds)

    # -- pool-size growth --------------------------------------------------------------------------

    def growth(self, name, size, prefix, fill, rep):
        """Closed-loop DORA/s with the pool of ``prefix`` pre-filled to ``fill``."""
        net = ipaddress.ip_network(prefix)
        first, last = int(net.network_address) + 1, int(net.broadcast_address) - 1
        cfg = json.loads(json.dumps(self.config))
        lease_file = self.lab.path("prefill-leases4.csv")
        sub = cfg["Dhcp4"]["subnet4"][0]
        sub.update({"subnet": prefix, "relay": {"ip-addresses": [sb.RELAY_IP]},
                    "pools": [{"pool": f"{ipaddress.ip_address(first)} - "
                                       f"{ipaddress.ip_address(last)}"}]})
        cfg["Dhcp4"]["lease-database"]["name"] = lease_file
        with open(self.config_path, "w") as f:
            json.dump(cfg, f)
        held = int((last - first + 1) * fill)
        write_prefill(lease_file, first, held)   # 90 % of the pool, held by other clients
        start_timeout = self.args.start_timeout
        self.args.start_timeout = 180.0       # loading a million leases takes Kea a while
        try:
            t0 = time.monotonic()
            proc = self.start_server(name, f"r{rep}-growth{size[1:]}")
            started = time.monotonic() - t0
            r = self.run_bench(name, f"r{rep}-growth{size[1:]}",
                               ["--window", "64", "--duration", "5", "--timeout", "1",
                                "--clients", str(GROWTH_CLIENTS)], 5.0, proc=proc)
        finally:
            self.args.start_timeout = start_timeout
            with open(self.config_path, "w") as f:
                json.dump(self.config, f)
            if os.path.exists(lease_file):
                os.unlink(lease_file)
        r["prefilled"] = held
        r["start_seconds"] = started
        return r


def interleaved(run, keys, repeats, tool):
    """Each repeat runs every (key, *how) of ``keys`` once, in order (so drift hits them all
    alike): ``run(rep, *how)`` returns a bench report. Returns {key: [reports]}; a spent budget
    or a failed server ends the runs early, with what was measured."""
    res = {key: [] for key, *_ in keys}
    try:
        for rep in range(repeats):
            for key, *how in keys:
                r = run(rep, *how)
                res[key].append(r)
                print(f"{key}: {r['completed_per_second']:,.0f} DORA/s, p99 R-A "
                      f"{r['latency_ms']['request-ack']['p99']} ms", file=sys.stderr, flush=True)
    except (sb.BudgetExhausted, sb.ServerFailed) as err:
        print(f"{tool}: {err}; reporting what was measured", file=sys.stderr)
    return res


def med(values):
    vals = [v for v in values if v is not None]
    if not vals:
        return None
    return {"median": statistics.median(vals), "min": min(vals), "max": max(vals), "n": len(vals)}


def cell(mr, fmt="{:,.0f}", prefix=""):
    if mr is None:
        return "-"
    text = prefix + fmt.format(mr["median"])
    if mr["n"] > 1:
        text += f" ({fmt.format(mr['min'])}-{fmt.format(mr['max'])})"
    return text


def print_table(res, args):
    rows = [("server", "perfdhcp DORA/s", "bench DORA/s (ladder)", f"bench closed loop (w{WINDOW})",
             f"CPU us/lease @{args.fixed_rate}/s", "p99 D-O / R-A ms", "gen CPU us/exch")]
    for name in args.servers:
        e = res["servers"][name]
        if e.get("status") != "ok":
            rows.append((name, f"not available ({e.get('reason')})", "", "", "", "", ""))
            continue
        p = med([s["best_completed_per_s"] for s in e["perfdhcp"]])
        plb = ">=" if any(s["lower_bound"] for s in e["perfdhcp"]) else ""
        b = med([s["best_completed_per_s"] for s in e["bench"]])
        blb = ">=" if any(s["lower_bound"] for s in e["bench"]) else ""
        c = med([r["completed_per_second"] for r in e["closed"]])
        closs = med([r["lost_percent"] for r in e["closed"]])
        cpu = med([r["server_cpu_us_per_lease"] for r in e["fixed"]])
        p99o = med([r["latency_ms"]["discover-offer"]["p99"] for r in e["fixed"]])
        p99a = med([r["latency_ms"]["request-ack"]["p99"] for r in e["fixed"]])
        gcpu = med([r["generator_cpu_us_per_exchange"] for r in e["closed"]])
        rows.append((name, cell(p, prefix=plb), cell(b, prefix=blb),
                     cell(c) + (f", {closs['median']:.2f} % lost" if closs else ""),
                     cell(cpu, "{:.1f}"),
                     f"{cell(p99o, '{:.2f}')} / {cell(p99a, '{:.2f}')}", cell(gcpu, "{:.1f}")))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    print()
    for k, r in enumerate(rows):
        print("  ".join(v.ljust(w) for v, w in zip(r, widths)))
        if k == 0:
            print("  ".join("-" * w for w in widths))
    grow = [("server", *[f"{size} ({int(fill * 100)} % full)" for size, _, fill in GROWTH])]
    for name in args.servers:
        g = res["servers"][name].get("growth")
        if not g:
            continue
        cells = []
        for size, _, _ in GROWTH:
            runs = g.get(size, [])
            rate = med([r["completed_per_second"] for r in runs])
            start = med([r["start_seconds"] for r in runs])
            cells.append(f"{cell(rate)} DORA/s, start {cell(start, '{:.1f}')} s" if runs else "-")
        grow.append((name, *cells))
    if len(grow) > 1:
        print("\npool-size growth (closed loop, window 64, 200 clients repeating DORA):")
        widths = [max(len(r[i]) for r in grow) for i in range(len(grow[0]))]
        for k, r in enumerate(grow):
            print("  ".join(v.ljust(w) for v, w in zip(r, widths)))
            if k == 0:
                print("  ".join("-" * w for w in widths))
    print("\n(median over repeats, min-max in brackets; '>=': the generator, not the server, "
          "set the limit: the top of the ladder passed)")
    for purpose, cmd in res.get("commands", {}).items():
        print(f"  {purpose}: ip netns exec <gen> {cmd}")


def agreement(b, rates, json_path, repeats=5):
    """Where kea-dhcp4 is the bottleneck, do perfdhcp and `fastdhcp bench` see the same
    capacity? Each offers each rate ``repeats`` times (3 s, fresh server, interleaved);
    completed/s = ACKs / period for both."""
    got = {"perfdhcp": {r: [] for r in rates}, "bench": {r: [] for r in rates}}
    for k in range(repeats):
        for rate in rates:
            p = b.step("kea", rate, 3.0, f"a{k}-perf-{rate}", "agreement")
            got["perfdhcp"][rate].append(p["completed_per_s"])
            r = b.run_bench("kea", f"a{k}-bench-{rate}", ["--rate", str(rate), "--duration", "3",
                                                         "--timeout", "1", "--clients", "50000"],
                            3.0)
            got["bench"][rate].append(r["exchanges"]["dora"]["completed"] / 3.0)
            print(f"rep {k + 1}: {rate}/s offered: perfdhcp {p['completed_per_s']:,.0f}, "
                  f"bench {got['bench'][rate][-1]:,.0f} completed/s", file=sys.stderr,
                  flush=True)
    print("\nkea-dhcp4 completed DORA/s by offered rate (median of "
          f"{repeats}, min-max):")
    best = {}
    for gen in ("perfdhcp", "bench"):
        cells = []
        for rate in rates:
            m = med(got[gen][rate])
            cells.append(f"{rate}: {cell(m)}")
            best[gen] = max(best.get(gen, 0), m["median"])
        print(f"  {gen:<9} " + "; ".join(cells))
    gap = abs(best["bench"] - best["perfdhcp"]) / best["perfdhcp"]
    print(f"  capacity (best median): perfdhcp {best['perfdhcp']:,.0f}, fastdhcp bench "
          f"{best['bench']:,.0f} DORA/s: {100 * gap:.1f} % apart")
    if json_path:
        with open(json_path, "w") as f:
            json.dump(got, f, indent=1)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--servers", default="kea,fastdhcp")
    p.add_argument("--quick", action="store_true", help="1 repeat, short steps, no /12")
    p.add_argument("--no-growth", action="store_true", help="skip the pool-size growth runs")
    p.add_argument("--only-growth", action="store_true", help="only the pool-size growth runs")
    p.add_argument("--agreement", metavar="RATES",
                   help="instead of everything else: kea-dhcp4's capacity by both generators, "
                        "each offering these rates (e.g. 8000,10000,12000,15000) 5 times, "
                        "interleaved; the capacity is the best median completed/s")
    p.add_argument("--json", metavar="FILE")
    p.add_argument("--budget", type=float, help="seconds (default 1500, quick 300)")
    raw = p.parse_args(argv)
    args = sb.parse_args(["--servers", raw.servers] + (["--quick"] if raw.quick else []))
    args.budget = raw.budget or (300.0 if raw.quick else 1500.0)
    args.ladder = args.ladder + ((60000, 90000, 120000) if not raw.quick else (60000,))
    netlab.require_root()
    for tool in ("perfdhcp", "taskset") + (("kea-dhcp4",) if "kea" in args.servers else ()):
        if not shutil.which(tool):
            sys.exit(f"generator_bench: {tool} not found")
    netlab.exit_on_sigterm()
    lab = netlab.Lab(keep_dir=True)
    res = {"servers": {n: {"status": "ok", "perfdhcp": [], "bench": [], "closed": [],
                           "fixed": [], "growth": {}} for n in args.servers},
           "versions": sb.versions(), "loadavg_before": sb.loadavg()}
    t0 = time.monotonic()
    if raw.agreement:
        try:
            agreement(GenBench(lab, args), [int(r) for r in raw.agreement.split(",")], raw.json)
        finally:
            lab.close()
            shutil.rmtree(lab.dir, ignore_errors=True)
        return
    try:
        b = GenBench(lab, args)
        try:
            for rep in range(0 if raw.only_growth else args.repeats):
                for name in args.servers:
                    e = res["servers"][name]
                    if e["status"] != "ok":
                        continue
                    try:
                        e["perfdhcp"].append(b.search(name, rep))
                        e["bench"].append(b.bench_search(name, rep))
                        e["closed"].append(b.closed_loop(name, rep))
                        e["fixed"].append(b.bench_fixed(name, rep))
                    except sb.ServerFailed as err:
                        e["status"], e["reason"] = "not available", str(err)
                    print(f"{name} repeat {rep + 1}/{args.repeats} done "
                          f"({time.monotonic() - t0:.0f} s)", file=sys.stderr, flush=True)
            if not raw.no_growth:
                sizes = GROWTH[:2] if raw.quick else GROWTH
                for rep in range(1 if raw.quick else 2):
                    for name in args.servers:
                        if res["servers"][name]["status"] != "ok":
                            continue
                        for size, prefix, fill in sizes:
                            try:
                                r = b.growth(name, size, prefix, fill, rep)
                            except sb.ServerFailed as err:
                                print(f"{name} {size}: failed: {err}", file=sys.stderr)
                                continue
                            res["servers"][name]["growth"].setdefault(size, []).append(r)
                            print(f"{name} {size}: {r['completed_per_second']:,.0f} DORA/s "
                                  f"(start {r['start_seconds']:.1f} s)", file=sys.stderr,
                                  flush=True)
        except sb.BudgetExhausted as err:
            print(f"generator_bench: {err}; reporting what was measured", file=sys.stderr)
        res["commands"] = b.commands
    finally:
        lab.close()
        shutil.rmtree(lab.dir, ignore_errors=True)
    res["total_seconds"] = time.monotonic() - t0
    res["loadavg_after"] = sb.loadavg()
    print_table(res, args)
    print(f"\nversions: {res['versions']['kea-dhcp4']}, perfdhcp {res['versions']['perfdhcp']}, "
          f"fastdhcp {res['versions']['fastdhcp']}; load average before/after: "
          f"{res['loadavg_before']} / {res['loadavg_after']}; total {res['total_seconds']:.0f} s")
    if raw.json:
        with open(raw.json, "w") as f:
            json.dump(res, f, indent=1, default=str)
        print(f"raw figures: {raw.json}")


if __name__ == "__main__":
    main()
