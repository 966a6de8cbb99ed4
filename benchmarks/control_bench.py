#!/usr/bin/env python3
"""What the control channel costs the packet path: fastdhcp under `fastdhcp bench` at its
maximum closed-loop load, with and without a control client working beside it, plus the round
trip of one command at idle and the pause a million-lease lease4-get-all causes.

    python benchmarks/control_bench.py [--quick] [--json FILE]

The lab, servers and pinning are server_bench.py's (server on core 0, generator on core 1,
relay topology, a fresh server per measurement), with 1,000,000 bound leases of other clients
in the lease file (durability_bench's prefill) so that the walks have a real table to walk.

1. Under load: `fastdhcp bench --window 256 --duration 6` alone, then the same while a control
   client (a thread of this process, on the generator's core) pages through the million leases
   with lease4-get-page (limit 1000) and polls statistic-get-all every 100 ms; repeats
   interleaved (3, --quick 1). Printed: DORA/s and p99 request-ack latency of both, their
   ratio and difference, and how many pages and polls the client got through.
2. At idle: 2,000 lease4-get round trips over the unix socket (one connection each, as Kea's
   socket takes one command per connection): p50, p99, max; then the lookups through the
   indexes (by host name, hardware address, state): the first, which builds them over the
   million, and 500 of each after it.
3. lease4-get-all of the million: its time and size, and the worst reply latency of a light
   bench load (window 16) running meanwhile, against the same load without it.

Timings are for reading, never for passing or failing anything.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import durability_bench as db  # noqa: E402
import generator_bench as gb  # noqa: E402
import server_bench as sb  # noqa: E402

netlab = sb.netlab
MILLION = db.MILLION


def command(path, name, arguments=None, timeout=120.0, raw=False, buf=None):
    """One command over the unix socket: the parsed answer and its size, or with ``raw`` the
    answer's bytes unparsed. The reading is lean (recv_into one growing buffer): the client
    shares a core with the load generator, and what it spends there is not the server's."""
    doc = {"command": name}
    if arguments is not None:
        doc["arguments"] = arguments
    buf, n = (bytearray(1 << 20) if buf is None else buf), 0
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect(path)
        s.sendall(json.dumps(doc).encode())
        while True:
            if n == len(buf):
                buf.extend(bytes(len(buf)))
            got = s.recv_into(memoryview(buf)[n:])
            if not got:
                break
            n += got
    if raw:
        return memoryview(buf)[:n]
    del buf[n:]
    return json.loads(buf), n


def page_tail(data):
    """(result, leases in the page, the last lease's address) of a lease4-get-page answer,
    read from its bytes without parsing the 200 KB of leases (Kea's key order: arguments,
    result, text)."""
    data = bytes(data)
    r = data.rfind(b'"result": ')
    result = int(data[r + 10:r + 12].rstrip(b", }"))
    last = data.rfind(b'"ip-address": "')
    addr = data[last + 15:data.index(b'"', last + 15)].decode() if last >= 0 else None
    return result, data.count(b'"ip-address"'), addr


def spread(times_ms):
    times_ms = sorted(times_ms)
    return {"p50_ms": times_ms[len(times_ms) // 2], "p99_ms": times_ms[int(len(times_ms) * .99)],
            "max_ms": times_ms[-1]}


class ControlClient(threading.Thread):
    """Pages through every lease and polls the statistics every 100 ms until stopped."""

    def __init__(self, path):
        super().__init__(daemon=True)
        self.path, self.stop = path, threading.Event()
        self.pages = self.polls = self.leases = 0
        self.errors: list[str] = []

    def run(self):
        start, next_poll = "start", time.monotonic()
        while not self.stop.is_set():
            try:
                if time.monotonic() >= next_poll:
                    a, _ = command(self.path, "statistic-get-all")
                    self.polls += a["result"] == 0
                    next_poll += 0.1
                    continue
                result, n, last = page_tail(command(self.path, "lease4-get-page",
                                                    {"from": start, "limit": 1000}, raw=True))
                if result == 0:
                    self.pages += 1
                    self.leases += n
                    start = last
                else:
                    start = "start"          # the end: round again
            except (OSError, ValueError, KeyError) as e:
                self.errors.append(str(e))
                time.sleep(0.05)


class ControlBench(db.DurabilityBench):
    def control_path(self):
        return self.config["Dhcp4"]["control-socket"]["socket-name"]

    def with_million(self, label, fn):
        path = self.million_config()
        self.prefill(path, MILLION, hostnames=True)
        timeout, self.args.start_timeout = self.args.start_timeout, 180.0
        try:
            proc = self.start_server("fastdhcp", label)
            return fn(proc)
        finally:
            self.args.start_timeout = timeout
            self.restore_config()
            for f in os.listdir(self.lab.dir):
                if f.startswith("million-leases4.csv"):
                    os.unlink(self.lab.path(f))

    def under_load(self, rep, with_client):
        label = f"r{rep}-load-{'ctl' if with_client else 'alone'}"

        def measure(proc):
            client = ControlClient(self.control_path()) if with_client else None
            if client:
                client.start()
            try:
                r = self.run_bench("fastdhcp", label, ["--window", "256", "--duration", "6",
                                                       "--timeout", "2", "--clients", "20000"],
                                   6.0, proc=proc)
            finally:
                if client:
                    client.stop.set()
                    client.join(10)
            if client:
                r["control"] = {"pages": client.pages, "polls": client.polls,
                                "leases": client.leases, "errors": client.errors[:3]}
            return r
        return self.with_million(label, measure)

    def idle_round_trips(self, n=2000):
        def measure(proc):
            try:
                times = []
                for i in range(n):
                    t0 = time.perf_counter()
                    command(self.control_path(), "lease4-get",
                            {"ip-address": f"10.0.{(i >> 8) & 255}.{(i & 255) or 1}"})
                    times.append((time.perf_counter() - t0) * 1000)
                out = spread(times)
                # the lookups through the indexes: the first builds them over the million
                t0 = time.perf_counter()
                a, _ = command(self.control_path(), "lease4-get-by-hostname",
                               {"hostname": "HOST-7.example"})
                out["index_build_ms"] = (time.perf_counter() - t0) * 1000
                out["first_found"] = len(a["arguments"]["leases"])
                for cmd, arg in (("lease4-get-by-hostname", lambda i: {"hostname": f"host-{i}.example"}),
                                 ("lease4-get-by-hw-address",
                                  lambda i: {"hw-address": f"02:00:00:{(i >> 16) & 255:02x}:"
                                                           f"{(i >> 8) & 255:02x}:{i & 255:02x}"}),
                                 ("lease4-get-by-state", lambda i: {"state": 1})):
                    times, found = [], 0
                    for i in range(500):
                        t0 = time.perf_counter()
                        a, _ = command(self.control_path(), cmd, arg(i * 1999 % MILLION))
                        times.append((time.perf_counter() - t0) * 1000)
                        found += len((a.get("arguments") or {}).get("leases", []))
                    out[cmd] = spread(times) | {"found": found}
                return out
            finally:
                self.stop_server(proc, "fastdhcp")
        return self.with_million("idle-rtt", measure)

    def get_all(self, rep, with_walk):
        label = f"r{rep}-getall-{'on' if with_walk else 'off'}"

        def measure(proc):
            out = {}

            # the client's buffer, its pages touched before the run: growing it during the run
            # would copy and fault hundreds of MB on the generator's core
            room = bytearray(300 << 20)

            def walk():
                time.sleep(1.0)
                t0 = time.monotonic()
                data = command(self.control_path(), "lease4-get-all", timeout=300, raw=True,
                               buf=room)
                out.update(seconds=time.monotonic() - t0, bytes=len(data), data=data)
            t = threading.Thread(target=walk, daemon=True) if with_walk else None
            if t:
                t.start()
            r = self.run_bench("fastdhcp", label, ["--window", "16", "--duration", "8",
                                                   "--timeout", "2", "--clients", "5000"],
                               8.0, proc=proc)
            if t:
                t.join(300)
                data = bytes(out.pop("data", b""))  # counted after the run: the client's CPU
                out["leases"] = data.count(b'"ip-address"')   # must not share the bench's
                out["result_0"] = b'"result": 0' in data[-100:]
            r["get_all"] = out
            return r
        return self.with_million(label, measure)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="1 repeat")
    p.add_argument("--json", metavar="FILE")
    p.add_argument("--parts", default="load,idle,getall",
                   help="which measurements, of load, idle, getall (default: all)")
    raw = p.parse_args(argv)
    args = sb.parse_args(["--servers", "fastdhcp"] + (["--quick"] if raw.quick else []))
    args.budget = 400.0 if raw.quick else 1200.0
    netlab.require_root()
    netlab.exit_on_sigterm()
    # this process is the control client: on the generator's core, never the server's
    os.sched_setaffinity(0, {args.gen_core})
    lab = netlab.Lab(keep_dir=True)
    res = {"alone": [], "ctl": [], "idle": None, "getall_off": [], "getall_on": []}
    try:
        b = ControlBench(lab, args)
        try:
            parts = set(raw.parts.split(","))
            for rep in range(args.repeats if "load" in parts else 0):
                for key, flag in (("alone", False), ("ctl", True)):
                    r = b.under_load(rep, flag)
                    res[key].append(r)
                    print(f"{key}: {r['completed_per_second']:,.0f} DORA/s, p99 R-A "
                          f"{r['latency_ms']['request-ack']['p99']:.2f} ms {r.get('control', '')}",
                          file=sys.stderr, flush=True)
            if "idle" in parts:
                res["idle"] = b.idle_round_trips()
                print(f"idle lease4-get: {res['idle']}", file=sys.stderr, flush=True)
            for rep in range((1 if raw.quick else 2) if "getall" in parts else 0):
                for key, flag in (("getall_off", False), ("getall_on", True)):
                    r = b.get_all(rep, flag)
                    res[key].append(r)
                    print(f"{key}: max latency D-O {r['latency_ms']['discover-offer']['max']:.2f}"
                          f" ms, R-A {r['latency_ms']['request-ack']['max']:.2f} ms "
                          f"{r.get('get_all')}", file=sys.stderr, flush=True)
        except (sb.BudgetExhausted, sb.ServerFailed) as err:
            print(f"control_bench: {err}; reporting what was measured", file=sys.stderr)
    finally:
        lab.close()
        shutil.rmtree(lab.dir, ignore_errors=True)
    med = gb.med

    def rate(key):
        return med([r["completed_per_second"] for r in res[key]])

    def p99(key):
        return med([r["latency_ms"]["request-ack"]["p99"] for r in res[key]])

    def worst(key):
        return med([max(r["latency_ms"]["discover-offer"]["max"] or 0,
                        r["latency_ms"]["request-ack"]["max"] or 0) for r in res[key]])
    print("\nclosed loop (window 256, 6 s), 1,000,000 leases in the table:")
    for key, label in (("alone", "without control client"), ("ctl", "with control client")):
        print(f"  {label:<24} {gb.cell(rate(key))} DORA/s, p99 R-A {gb.cell(p99(key), '{:.2f}')} ms")
    if rate("alone") and rate("ctl"):
        print(f"  with/without: {rate('ctl')['median'] / rate('alone')['median']:.1%} of the "
              f"rate, p99 {p99('ctl')['median'] - p99('alone')['median']:+.2f} ms")
    for r in res["ctl"]:
        print(f"  control client: {r['control']}")
    if res["idle"]:
        i = res["idle"]
        print(f"\nlease4-get round trip at idle (unix socket, 2,000): p50 {i['p50_ms']:.3f} ms, "
              f"p99 {i['p99_ms']:.3f} ms, max {i['max_ms']:.3f} ms")
        print(f"lookups through the indexes: first (builds them over the million) "
              f"{i['index_build_ms']:.0f} ms; then 500 each:")
        for cmd in ("lease4-get-by-hostname", "lease4-get-by-hw-address", "lease4-get-by-state"):
            c = i[cmd]
            print(f"  {cmd:<26} p50 {c['p50_ms']:.3f} ms, p99 {c['p99_ms']:.3f} ms, "
                  f"max {c['max_ms']:.3f} ms ({c['found']} leases found)")
    print("\nlease4-get-all of 1,000,000 leases under a light load (window 16):")
    for r in res["getall_on"]:
        g = r["get_all"]
        if g:
            print(f"  {g['leases']:,} leases, {g['bytes'] / 1e6:.0f} MB in {g['seconds']:.2f} s")
    print(f"  worst reply latency without it {gb.cell(worst('getall_off'), '{:.2f}')} ms, "
          f"with it {gb.cell(worst('getall_on'), '{:.2f}')} ms")
    if raw.json:
        with open(raw.json, "w") as f:
            json.dump(res, f, indent=1, default=str)


if __name__ == "__main__":
    main()
