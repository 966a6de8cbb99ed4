#!/usr/bin/env python3
"""Whole-server benchmark: kea-dhcp4 and fastdhcp side by side under ISC's perfdhcp, in one run.

    python benchmarks/server_bench.py [--servers kea,fastdhcp] [--quick] [--json FILE]

Needs root (network namespaces), kea-dhcp4 and perfdhcp (Debian: kea-dhcp4-server, kea-admin).

Topology (built with fastdhcp/_lab/netlab.py, nothing touches the root namespace's interfaces):

    netns "srv": the server, listening on 198.18.0.1 (its veth end)
       | veth 198.18.0.0/30
    netns "gen": perfdhcp acting as a relay agent: it sends from 198.19.0.1:67 with
                 giaddr = 198.19.0.1 straight to the server's unicast address, and receives
                 the replies on port 67 (the server answers relays at giaddr:67).

The server serves the relay's network 198.19.0.0/16 (one subnet4, selected by giaddr, pool
198.19.1.0 - 198.19.255.254, 65 278 addresses for at most --clients distinct clients, so it
never runs out). Both servers get the SAME Kea-format config file: memfile with persist=true
(a lease file in the run's temp dir), control socket in the temp dir, logging to a file at
WARN, multi-threading off (one server core). The server is pinned to core 0, perfdhcp to
core 1 (taskset).

Every measurement runs against a freshly started server with an empty lease file, and every
measurement is repeated (default 3 times, --quick once, servers interleaved so background noise
hits both alike); the table shows the median and, in brackets, the min-max over the repeats:

1. DORA/s at <= 1 % loss: perfdhcp is run at a ladder of offered rates (1k, 2k, 5k, 10k, 20k,
   30k, 45k DORA/s; perfdhcp itself tops out near 45k here) for a few seconds each, stopping at
   the first rate whose DORA loss (1 - ACKs received / DISCOVERs sent) exceeds 1 %, then
   bisecting between the last passing and that failing rate. The result is the highest
   completed rate (ACKs received / test period) of a passing step. perfdhcp (single-threaded,
   busy-polling, one core) can itself fall behind and drop replies at its own socket; those
   drops are read from the Udp RcvbufErrors counter of its namespace and the server's own
   socket drops from the server's namespace. When the lowest failing rate failed only because
   of perfdhcp's drops (or perfdhcp could not send the offered rate), or the top of the ladder
   passes, the figure is a lower bound set by perfdhcp (shown with ">=").
2. Server CPU per lease at a fixed offered rate (2000/s for 10 s): utime+stime of the
   processes in the server namespace (/proc/PID/stat, clock ticks / SC_CLK_TCK) before and
   after the perfdhcp run, divided by the ACKs perfdhcp received.
3. Latency at that fixed rate: perfdhcp's avg/min/max delay of DISCOVER-OFFER and REQUEST-ACK.

fastdhcp is started as `python -m fastdhcp serve -c CONFIG`; when it cannot start (exits, or
udp/67 is not bound within --start-timeout seconds) or does not complete DORA in a short smoke
test, it is reported as "not available (reason)" and the run goes on with the others.

Bounded: a finite ladder and bisection, a timeout on every perfdhcp run and every server
start, and an overall time budget (--budget; default 570 s, --quick 110 s) after which no new
measurement starts. Namespaces and processes are removed on exit, including on Ctrl-C/SIGTERM
(netlab), and leftovers of a killed run are swept by the next one. Logs (server, perfdhcp) live
in a temp dir that is kept and printed when something failed (or with --keep).

Timings here are for reading, never for passing or failing anything.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import platform
import re
import resource
import shlex
import shutil
import statistics
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)
try:
    from fastdhcp._lab import netlab  # the project's namespace-lab library
except Exception:  # noqa: BLE001  a half-built package must not stop the Kea measurements
    import importlib.util
    _spec = importlib.util.spec_from_file_location("netlab",
                                                   os.path.join(REPO, "fastdhcp", "_lab", "netlab.py"))
    netlab = importlib.util.module_from_spec(_spec)
    sys.modules["netlab"] = netlab
    _spec.loader.exec_module(netlab)

# RFC 2544 benchmarking space (198.18.0.0/15): the link and the relay's client network.
SERVER_IP = "198.18.0.1"
GEN_LINK_IP = "198.18.0.2"
LINK_PREFIX = 30
RELAY_IP = "198.19.0.1"            # perfdhcp's local address = giaddr
RELAY_NET = "198.19.0.0/16"        # the subnet the server serves (contains giaddr)
POOL = "198.19.1.0 - 198.19.255.254"
VALID_LIFETIME = 7200              # longer than any run: nothing expires mid-measurement

SERVERS = ("kea", "fastdhcp")
LADDER = (1000, 2000, 5000, 10000, 20000, 30000, 45000)
QUICK_LADDER = (2000, 5000, 10000, 20000, 30000, 45000)
MAX_LOSS = 0.01                    # a step passes at <= 1 % DORA loss
DRAIN_US = 200_000                 # perfdhcp -W: collect in-flight replies after the period
GEN_LIMITED = 0.95                 # perfdhcp sent < 95 % of the offered rate: it is the limit
CLK_TCK = os.sysconf("SC_CLK_TCK")


class ServerFailed(Exception):
    """The server under test cannot be measured (does not start, died, never answers)."""


class BudgetExhausted(Exception):
    pass


# ---------------------------------------------------------------------------------------------
# perfdhcp output

_NUM = re.compile(r"^-?\d+(\.\d+)?(e[-+]?\d+)?$", re.IGNORECASE)


def _num(s):
    s = s.strip()
    for unit in (" ms", " %", "%"):
        if s.endswith(unit):
            s = s[: -len(unit)].strip()
    if _NUM.match(s):
        return float(s) if ("." in s or "e" in s.lower()) else int(s)
    return None


def parse_perfdhcp(text):
    """perfdhcp's final report (text; it has no machine-readable final report: -C only changes
    the interim -t lines) -> {"rate": .., "expected_rate": .., "DISCOVER-OFFER": {..},
    "REQUEST-ACK": {..}, "malformed": ..}. Keys are the report's labels in snake case; delays in
    ms, drops ratio in %."""
    out = {}
    m = re.search(r"Rate:\s*([\d.]+)\s+4-way exchanges/second(?:,\s*expected rate:\s*([\d.]+))?",
                  text)
    if m:
        out["rate"] = float(m.group(1))
        out["expected_rate"] = float(m.group(2)) if m.group(2) else None
    m = re.search(r"Malformed packets:\s*(\d+)", text)
    if m:
        out["malformed"] = int(m.group(1))
    parts = re.split(r"\*\*\*Statistics for:\s*([A-Z-]+)\s*\*\*\*", text)
    for name, body in zip(parts[1::2], parts[2::2]):
        sec = {}
        for line in body.splitlines():
            if line.startswith("***"):
                break
            if ":" in line:
                k, v = line.split(":", 1)
                sec[k.strip().lower().replace(" ", "_")] = _num(v)
        out[name] = sec
    return out


# ---------------------------------------------------------------------------------------------
# process CPU time

def _ns_pids(ns):
    p = subprocess.run(["ip", "netns", "pids", ns], capture_output=True, text=True, timeout=10,
                       check=False)
    return [int(x) for x in p.stdout.split() if x.isdigit()]


def ns_cpu_ticks(ns):
    """{(pid, starttime): utime+stime+cutime+cstime} of every process in namespace ns."""
    out = {}
    for pid in _ns_pids(ns):
        try:
            with open(f"/proc/{pid}/stat", "rb") as f:
                data = f.read()
        except OSError:
            continue
        fields = data[data.rfind(b")") + 2:].split()  # fields[0] is field 3 (state)
        ticks = sum(int(fields[i]) for i in (11, 12, 13, 14))  # utime stime cutime cstime
        out[(pid, int(fields[19]))] = ticks
    return out


def cpu_delta_s(before, after):
    ticks = sum(t - before.get(k, 0) for k, t in after.items())
    return ticks / CLK_TCK


def core_ticks():
    """{core: (busy, total)} clock ticks from /proc/stat: how busy each core was, whoever ran."""
    out = {}
    with open("/proc/stat") as f:
        for line in f:
            parts = line.split()
            if parts[0].startswith("cpu") and parts[0] != "cpu":
                v = [int(x) for x in parts[1:9]]  # user nice system idle iowait irq softirq steal
                out[int(parts[0][3:])] = (v[0] + v[1] + v[2] + v[5] + v[6] + v[7], sum(v))
    return out


UDP_KEYS = ("InDatagrams", "RcvbufErrors", "InErrors", "OutDatagrams", "SndbufErrors")


def parse_snmp_udp(text):
    """The Udp counters of a /proc/net/snmp (which shows the reader's network namespace)."""
    rows = [ln.split()[1:] for ln in text.splitlines() if ln.startswith("Udp:")]
    if len(rows) < 2:
        return {}
    return {k: int(v) for k, v in zip(rows[0], rows[1]) if k in UDP_KEYS}


def softnet_dropped():
    """Packets dropped because a CPU's input backlog was full (global, all CPUs)."""
    try:
        with open("/proc/net/softnet_stat") as f:
            return sum(int(ln.split()[1], 16) for ln in f if ln.strip())
    except OSError:
        return 0


def children_cpu_s():
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


# ---------------------------------------------------------------------------------------------
# the benchmark

def kea_config(lab, server_if):
    return {"Dhcp4": {
        "interfaces-config": {"interfaces": [server_if], "dhcp-socket-type": "udp"},
        "control-socket": {"socket-type": "unix", "socket-name": lab.path("ctrl4.sock")},
        "lease-database": {"type": "memfile", "persist": True, "name": lab.path("leases4.csv"),
                           "lfc-interval": 0},
        "multi-threading": {"enable-multi-threading": False},
        "valid-lifetime": VALID_LIFETIME,
        "renew-timer": VALID_LIFETIME // 2,
        "rebind-timer": VALID_LIFETIME * 7 // 8,
        "option-data": [{"name": "domain-name-servers", "data": "198.18.0.53"}],
        "subnet4": [{
            "id": 1,
            "subnet": RELAY_NET,
            "pools": [{"pool": POOL}],
            "option-data": [{"name": "routers", "data": RELAY_IP}],
        }],
        "loggers": [{"name": "kea-dhcp4", "severity": "WARN",
                     "output_options": [{"output": lab.path("server.log")}]}],
    }}


class Bench:
    def __init__(self, lab, args):
        self.lab, self.args = lab, args
        self.deadline = time.monotonic() + args.budget
        self.srv = lab.netns("srv")
        self.gen = lab.netns("gen")
        link = lab.link(self.srv, self.gen, f"{SERVER_IP}/{LINK_PREFIX}",
                        f"{GEN_LINK_IP}/{LINK_PREFIX}")
        self.server_if = link.if_a
        # The relay's own client-facing address (giaddr), and the server's route back to it.
        lab.addr(self.gen, link.if_b, f"{RELAY_IP}/16")
        lab.ip(self.srv, "route", "add", RELAY_NET, "via", GEN_LINK_IP)
        self.config_path = lab.path("dhcp4.json")
        self.config = kea_config(lab, self.server_if)
        with open(self.config_path, "w") as f:
            json.dump(self.config, f, indent=2)
        self.failures = []       # anything that should keep the log dir
        self.commands = {}       # the exact perfdhcp command lines, by purpose

    # -- servers --------------------------------------------------------------------------------

    def server_argv(self, name):
        core = str(self.args.server_core)
        if name == "kea":
            return ["taskset", "-c", core, "kea-dhcp4", "-c", self.config_path]
        return ["taskset", "-c", core, self.args.fastdhcp_python, "-m", "fastdhcp", "serve",
                "-c", self.config_path,
                "--durability", getattr(self.args, "fastdhcp_durability", "fsync")]

    def start_server(self, name, label):
        for pattern in ("leases4.csv*", "ctrl4.sock*", "server.log*"):
            for stale in glob.glob(self.lab.path(pattern)):
                os.unlink(stale)
        env = dict(os.environ,
                   # Kea keeps its PID file and logger lock files here instead of /run/kea:
                   # no clash with a system Kea or a concurrent run.
                   KEA_PIDFILE_DIR=self.lab.dir, KEA_LOCKFILE_DIR=self.lab.dir,
                   PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""))
        proc = self.lab.spawn(self.srv, self.server_argv(name), env=env, cwd=REPO,
                              log=self.lab.path(f"{name}-{label}.out"))
        timeout = self.args.start_timeout if name == "fastdhcp" else max(10.0,
                                                                          self.args.start_timeout)
        try:
            self.lab.wait_udp_listen(self.srv, 67, timeout=timeout, proc=proc)
        except netlab.LabError:
            exited = proc.poll()
            self.lab.stop(proc, grace=2.0)
            tail = self.lab.tail(proc, 800).strip()
            last = tail.splitlines()[-1].strip() if tail else ""
            if exited is not None:
                raise ServerFailed(f"exited with status {exited} at start"
                                   + (f": {last}" if last else "")) from None
            raise ServerFailed(f"udp/67 not bound within {timeout:g} s"
                               + (f"; last output: {last}" if last else "")) from None
        proc.bench_label = label
        return proc

    def stop_server(self, proc, name):
        """Stop the server and return the rows its lease file holds (None: no file); the
        lease file is then deleted (it can be tens of MB), the log kept. Raises ServerFailed
        if the server had died on its own."""
        died = proc.poll()
        self.lab.stop(proc, grace=5.0)
        rows = count_rows(self.lab.path("leases4.csv"))
        for log in glob.glob(self.lab.path("server.log*")):
            os.replace(log, self.lab.path(f"{name}-{proc.bench_label}.{os.path.basename(log)}"))
        for big in glob.glob(self.lab.path("leases4.csv*")):
            os.unlink(big)
        if died is not None:
            raise ServerFailed(f"died during {proc.bench_label} (status {died}): "
                               f"{self.lab.tail(proc, 400).strip()[-300:]}")
        return rows

    # -- perfdhcp -------------------------------------------------------------------------------

    def perfdhcp_argv(self, rate, period):
        return ["taskset", "-c", str(self.args.gen_core), "perfdhcp", "-4",
                "-g", self.args.perfdhcp_threads,
                "-r", str(rate), "-R", str(self.args.clients), "-p", f"{period:g}",
                # a count bound on top of the time bound (the period ends it first)
                "-n", str(int(rate * period * 1.05) + 10),
                "-W", str(DRAIN_US), "-l", RELAY_IP, "-L", "67", SERVER_IP]

    def check_budget(self, need_s):
        if time.monotonic() + need_s > self.deadline:
            raise BudgetExhausted(f"time budget of {self.args.budget:g} s exhausted")

    def step(self, name, rate, period, label, purpose):
        """One measurement against a fresh server: start it, run perfdhcp, stop it."""
        self.check_budget(period + DRAIN_US / 1e6 + 3)
        proc = self.start_server(name, label)
        argv = self.perfdhcp_argv(rate, period)
        shown = list(argv)
        if purpose == "search":  # one line for every step of the ladder
            shown[shown.index("-r") + 1] = "RATE"
            shown[shown.index("-n") + 1] = f"RATE*{period:g}*1.05+10"
        self.commands.setdefault(purpose, shlex.join(shown))
        try:
            udp0 = self.udp_counters(proc)
            cpu0 = ns_cpu_ticks(self.srv)
            gen0 = children_cpu_s()
            core0 = core_ticks()
            t0 = time.monotonic()
            try:
                cp = self.lab.run(self.gen, argv, timeout=period + DRAIN_US / 1e6 + 20)
            except netlab.LabError as e:
                raise ServerFailed(f"perfdhcp did not finish: {str(e)[:300]}") from None
            wall = time.monotonic() - t0
            gen_cpu = children_cpu_s() - gen0
            cpu1 = ns_cpu_ticks(self.srv)
            core1 = core_ticks()
            udp1 = self.udp_counters(proc)
        finally:
            rows = self.stop_server(proc, name)
        with open(self.lab.path(f"perfdhcp-{name}-{label}.txt"), "w") as f:
            f.write(f"$ {shlex.join(argv)}\nexit {cp.returncode}\n{cp.stdout}\n--- stderr\n"
                    f"{cp.stderr}")
        # perfdhcp: 0 = fine, 3 = "one or more exchanges were unsuccessful" (drops), else error
        if cp.returncode not in (0, 3):
            raise ServerFailed(f"perfdhcp failed (exit {cp.returncode}): "
                               f"{(cp.stderr or cp.stdout).strip()[-300:]}")
        rep = parse_perfdhcp(cp.stdout)
        do, ra = rep.get("DISCOVER-OFFER"), rep.get("REQUEST-ACK")
        if not do or do.get("sent_packets") is None:
            raise ServerFailed(f"cannot parse perfdhcp output: {cp.stdout.strip()[-300:]}")
        ra = ra or {}
        sent = do["sent_packets"] or 0
        acks = ra.get("received_packets") or 0
        server_cpu = cpu_delta_s(cpu0, cpu1)
        busy = {}
        for role, core, own in (("server", self.args.server_core, server_cpu),
                                ("generator", self.args.gen_core, gen_cpu)):
            b = core1[core][0] - core0[core][0]
            t = max(1, core1[core][1] - core0[core][1])
            # the core's busy share, and the share used by anything but our process
            busy[role] = {"core": core, "busy": round(b / t, 3),
                          "other": round(max(0.0, b / t - own * CLK_TCK / t), 3)}
        res = {
            "offered_rate": rate, "period_s": period, "drain_s": DRAIN_US / 1e6,
            "perfdhcp_exit": cp.returncode, "wall_s": round(wall, 3),
            "discovers_sent": sent, "acks": acks,
            "loss": (1 - acks / sent) if sent else 1.0,
            "sent_per_s": sent / period,
            "completed_per_s": acks / period,
            "perfdhcp_rate_line": rep.get("rate"),   # ACKs / (period + drain): see report
            "server_cpu_s": server_cpu,
            "server_cpu_us_per_lease": server_cpu * 1e6 / acks if acks else None,
            "generator_cpu_s": round(gen_cpu, 3),
            "core_load": busy,
            "lease_file_rows": rows,
            "DISCOVER-OFFER": do, "REQUEST-ACK": ra,
        }
        udp = {side: {k: udp1[side].get(k, 0) - udp0[side].get(k, 0) for k in UDP_KEYS}
               for side in ("server", "generator")}
        udp["softnet_dropped"] = udp1["softnet_dropped"] - udp0["softnet_dropped"]
        res["udp"] = udp
        # Replies the server sent that perfdhcp's own socket dropped (it could not keep up):
        # each one costs an exchange, and is the generator's loss, not the server's.
        gen_drops = udp["generator"]["RcvbufErrors"]
        res["generator_loss"] = min(res["loss"], gen_drops / sent) if sent else 0.0
        res["server_loss"] = max(0.0, res["loss"] - res["generator_loss"])
        res["passed"] = res["loss"] <= MAX_LOSS
        # perfdhcp, not the server, limited this step: it could not send the offered rate, or
        # the step failed only because of drops at perfdhcp's socket (its own ceiling, or reply
        # bursts larger than its default receive buffer, which cannot be raised from inside a
        # namespace: net.core.rmem_* are read-only there).
        if res["sent_per_s"] < GEN_LIMITED * rate:
            res["generator_limited"] = "perfdhcp could not send the offered rate"
        elif not res["passed"] and res["server_loss"] <= MAX_LOSS:
            res["generator_limited"] = "replies lost at perfdhcp's socket"
        else:
            res["generator_limited"] = None
        return res

    def udp_counters(self, proc):
        # the server's namespace through its own /proc/PID/net (no helper process in there);
        # the generator's through a short `cat` inside it
        try:
            with open(f"/proc/{proc.pid}/net/snmp") as f:
                srv = parse_snmp_udp(f.read())
        except OSError:
            srv = {}
        gen = parse_snmp_udp(self.lab.run(self.gen, ["cat", "/proc/net/snmp"], timeout=10).stdout)
        return {"server": srv, "generator": gen, "softnet_dropped": softnet_dropped()}

    # -- the three measurements -----------------------------------------------------------------

    def smoke(self, name):
        """A short low-rate run: does the server complete DORA at all?"""
        r = self.step(name, 200, 1, "smoke", "smoke")
        if r["acks"] == 0:
            raise ServerFailed(f"listens on udp/67 but completed no DORA in a 1 s smoke test at "
                               f"200/s ({r['discovers_sent']} DISCOVERs sent, "
                               f"{r['DISCOVER-OFFER'].get('received_packets')} OFFERs)")
        return r

    def search(self, name, rep):
        """Ladder up to the first failing rate, then bisect. Returns the steps and the best
        passing completed rate."""
        steps, hi, hi_step = climb(self.args.ladder, self.args.refine, lambda rate: self.step(
            name, rate, self.args.step_seconds, f"r{rep}-search-{rate}", "search"))
        passing = [s for s in steps if s["passed"]]
        best = max(passing, key=lambda s: s["completed_per_s"]) if passing else None
        return {
            "steps": steps,
            "best_completed_per_s": best["completed_per_s"] if best else 0.0,
            "best_offered_rate": best["offered_rate"] if best else None,
            "first_failing_rate": hi,
            "first_failing_generator_limited": hi_step and hi_step["generator_limited"],
            # The top of the ladder passed, or the lowest failing rate failed only because
            # perfdhcp dropped replies / could not send: the server's limit is higher.
            "lower_bound": hi is None or bool(hi_step["generator_limited"]),
        }

    def fixed(self, name, rep):
        return self.step(name, self.args.fixed_rate, self.args.fixed_seconds,
                         f"r{rep}-fixed-{self.args.fixed_rate}", "fixed")


def climb(ladder, refine, step):
    """The offered-rate search both generators use: ``step(rate)`` measures one rate and returns
    a dict with "passed"; up the ladder to the first failing rate, then ``refine`` bisections
    between the last passing and the lowest failing one. Returns (steps, the lowest failing
    rate or None, its step)."""
    steps, lo, hi, hi_step = [], 0, None, None
    for rate in ladder:
        r = step(rate)
        steps.append(r)
        if not r["passed"]:
            hi, hi_step = rate, r
            break
        lo = rate
    if hi is not None:
        for _ in range(refine):
            mid = int(round((lo + hi) / 2, -2))
            if mid <= lo or mid >= hi:
                break
            r = step(mid)
            steps.append(r)
            if r["passed"]:
                lo = mid
            else:
                hi, hi_step = mid, r
    return steps, hi, hi_step


def count_rows(path):
    """Data rows of a memfile lease CSV (lines minus the header), or None without a file."""
    try:
        n = 0
        with open(path, "rb") as f:
            while chunk := f.read(1 << 20):
                n += chunk.count(b"\n")
        return max(0, n - 1)
    except FileNotFoundError:
        return None


# ---------------------------------------------------------------------------------------------
# versions and summary

def _out(argv):
    try:
        p = subprocess.run(argv, capture_output=True, text=True, timeout=20, cwd=REPO, check=False)
        return (p.stdout + p.stderr).strip()
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"unavailable ({e})"


def versions():
    kea = _out(["kea-dhcp4", "-V"])
    perf = _out(["perfdhcp", "-v"])
    fd = _out([sys.executable, "-c", "import fastdhcp; print(fastdhcp.__version__)"])
    commit = _out(["git", "rev-parse", "--short", "HEAD"])
    dirty = _out(["git", "status", "--porcelain", "--untracked-files=no"])
    return {
        "kea-dhcp4": kea.splitlines()[0] if kea else "", "kea-dhcp4 -V": kea,
        "perfdhcp": perf.replace("VERSION:", "").strip().splitlines()[0] if perf else "",
        "fastdhcp": (fd.splitlines()[-1] if fd else "")
                    + f" (git {commit}{'+dirty' if dirty else ''})",
        "python": platform.python_version(), "kernel": platform.release(),
    }


def median_range(values):
    vals = [v for v in values if v is not None]
    if not vals:
        return None
    return {"median": statistics.median(vals), "min": min(vals), "max": max(vals), "n": len(vals)}


def summarise(entry):
    s = {}
    searches = entry.get("search", [])
    s["dora_per_s"] = median_range([x["best_completed_per_s"] for x in searches])
    s["dora_lower_bound"] = any(x["lower_bound"] for x in searches)
    fx = entry.get("fixed", [])
    s["cpu_us_per_lease"] = median_range([x["server_cpu_us_per_lease"] for x in fx])
    s["fixed_loss"] = median_range([x["loss"] for x in fx])
    for ex, key in (("DISCOVER-OFFER", "do"), ("REQUEST-ACK", "ra")):
        for stat in ("min_delay", "avg_delay", "max_delay"):
            s[f"{key}_{stat}_ms"] = median_range([x[ex].get(stat) for x in fx])
    allsteps = [st for x in searches for st in x["steps"]] + fx
    s["server_core_other_load"] = median_range([st["core_load"]["server"]["other"]
                                                for st in allsteps])
    s["generator_core_other_load"] = median_range([st["core_load"]["generator"]["other"]
                                                   for st in allsteps])
    s["lease_rows_per_ack"] = median_range(
        [x["lease_file_rows"] / x["acks"] for x in fx if x["acks"] and x["lease_file_rows"]
         is not None])
    return s


def fmt_k(v):
    return f"{v:,.0f}"


def fmt_ms(v):
    return f"{v:.2f}"


def fmt_cell(mr, fmt, prefix=""):
    if mr is None:
        return "-"
    if mr["n"] > 1:
        return f"{prefix}{fmt(mr['median'])} ({fmt(mr['min'])}-{fmt(mr['max'])})"
    return f"{prefix}{fmt(mr['median'])}"


def print_report(result, args):
    meta = result["meta"]
    rows = [("server", "DORA/s @<=1% loss", f"CPU us/lease @{args.fixed_rate}/s",
             "DISCOVER-OFFER avg/max ms", "REQUEST-ACK avg/max ms")]
    notes = []
    for name in args.servers:
        e = result["servers"][name]
        if e["status"] == "not available":
            rows.append((name, f"not available ({e['reason']})", "", "", ""))
            continue
        s = e["summary"]

        def lat(s, k):
            return (fmt_cell(s[f"{k}_avg_delay_ms"], fmt_ms) + " / "
                    + fmt_cell(s[f"{k}_max_delay_ms"], fmt_ms))
        rows.append((name,
                     fmt_cell(s["dora_per_s"], fmt_k, ">=" if s["dora_lower_bound"] else ""),
                     fmt_cell(s["cpu_us_per_lease"], lambda v: f"{v:.1f}"),
                     lat(s, "do"), lat(s, "ra")))
        if e["status"] != "ok":
            notes.append(f"{name}: {e['status']}: {e['reason']}")
        if s["fixed_loss"] and s["fixed_loss"]["max"] > MAX_LOSS:
            notes.append(f"{name}: {s['fixed_loss']['max']:.1%} DORA loss at the fixed rate "
                         f"(CPU/latency figures are for an overloaded server)")
        lr = s["lease_rows_per_ack"]
        if lr is None:
            notes.append(f"{name}: wrote no lease file")
        elif lr["min"] < 0.95:
            notes.append(f"{name}: only {lr['min']:.2f} lease-file rows per ACK")
        ol, og = s["server_core_other_load"], s["generator_core_other_load"]
        if ol and og and max(ol["median"], og["median"]) > 0.05:
            notes.append(f"{name}: other processes kept the server's core {ol['median']:.0%} and "
                         f"perfdhcp's core {og['median']:.0%} busy (medians over its runs): "
                         f"figures are inflated and noisy")
        if s["dora_lower_bound"]:
            notes.append(f"{name}: '>=': perfdhcp, not the server, set the limit: the top of the "
                         f"ladder passed, or above it perfdhcp could not send the offered rate or "
                         f"dropped the server's replies at its own socket (Udp RcvbufErrors in "
                         f"its namespace, while the server's own loss stayed <= 1%), from its own "
                         f"ceiling or from reply bursts bigger than its receive buffer")
    widths = [max(len(r[i]) for r in rows if i == 0 or not r[1].startswith("not available"))
              for i in range(len(rows[0]))]
    print()
    for i, r in enumerate(rows):
        if r[1].startswith("not available"):  # one long cell: let it run on
            print(f"{r[0]:<{widths[0]}}  {r[1]}")
        else:
            print("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
        if i == 0:
            print("  ".join("-" * w for w in widths))
    if len(meta["repeats_done"]) and max(meta["repeats_done"].values(), default=0) > 1:
        print("(median over repeats, min-max in brackets)")
    for n in notes:
        print("note:", n)
    v = meta["versions"]
    print()
    print("How it was measured:")
    print(f"  topology: netns srv (server on {SERVER_IP}, veth) <-> netns gen (perfdhcp as a "
          f"relay: giaddr {RELAY_IP}, local port 67); subnet {RELAY_NET} selected by giaddr, "
          f"pool {POOL}")
    print(f"  same Kea config for every server: memfile persist=true (lease file in the temp dir, "
          f"LFC off), multi-threading off, valid-lifetime {VALID_LIFETIME} s, "
          f"{args.clients} simulated clients (perfdhcp -R)")
    print(f"  pinning: server on core {args.server_core}, perfdhcp on core {args.gen_core} "
          f"(taskset -c); perfdhcp -g {args.perfdhcp_threads}; {os.cpu_count()} CPUs")
    print(f"  DORA/s: offered-rate ladder {', '.join(map(str, args.ladder))} (+{args.refine} "
          f"bisection steps), {args.step_seconds:g} s per step +{DRAIN_US / 1e6:g} s drain "
          f"(-W), fresh server per step; pass = DORA loss (1 - ACKs/DISCOVERs) <= "
          f"{MAX_LOSS:.0%}; figure = ACKs / period of the best passing step")
    print(f"  CPU + latency: {args.fixed_rate}/s for {args.fixed_seconds:g} s; CPU = "
          f"utime+stime (+cutime+cstime) of the server namespace's processes from "
          f"/proc/PID/stat (CLK_TCK={CLK_TCK}) / ACKs; latency = perfdhcp's delays")
    print(f"  repeats: {args.repeats} (done: {meta['repeats_done']}), servers interleaved")
    print(f"  versions: kea-dhcp4 {v['kea-dhcp4']}, perfdhcp {v['perfdhcp']}, fastdhcp "
          f"{v['fastdhcp']}, Python {v['python']}, Linux {v['kernel']}")
    print(f"  load average before/after: {meta['loadavg_before']} / {meta['loadavg_after']}; "
          f"total {meta['elapsed_s']:.0f} s")
    for purpose, cmd in meta["perfdhcp_commands"].items():
        print(f"  perfdhcp ({purpose}): ip netns exec <gen> {cmd}")


def loadavg():
    try:
        with open("/proc/loadavg") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return "?"


# ---------------------------------------------------------------------------------------------

def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--servers", default="kea,fastdhcp",
                   help="comma-separated, from: " + ", ".join(SERVERS))
    p.add_argument("--quick", action="store_true",
                   help="1 repeat, shorter steps and fixed run (well under 2 minutes)")
    p.add_argument("--json", metavar="FILE", help="write all raw figures as JSON")
    p.add_argument("--repeats", type=int, help="repeats per measurement (default 3, quick 1)")
    p.add_argument("--step-seconds", type=float, help="perfdhcp -p per ladder step (3, quick 2)")
    p.add_argument("--fixed-rate", type=int, default=2000, help="offered DORA/s for CPU/latency")
    p.add_argument("--fixed-seconds", type=float, help="duration of the fixed-rate run (10, quick 5)")
    p.add_argument("--ladder", help="comma-separated offered rates (default "
                   + ",".join(map(str, LADDER)) + ")")
    p.add_argument("--refine", type=int, help="bisection steps after the first failing rate "
                   "(2, quick 1)")
    p.add_argument("--clients", type=int, default=50000, help="perfdhcp -R (<= 65000: pool size)")
    p.add_argument("--server-core", type=int, default=0)
    p.add_argument("--gen-core", type=int, default=1)
    p.add_argument("--perfdhcp-threads", choices=("single", "multi"), default="single",
                   help="perfdhcp -g (single: perfdhcp is pinned to one core anyway)")
    p.add_argument("--start-timeout", type=float, default=6.0,
                   help="seconds fastdhcp gets to bind udp/67")
    p.add_argument("--fastdhcp-python", default=sys.executable,
                   help="interpreter that runs `-m fastdhcp serve` (default: this one, with the "
                   "repo on PYTHONPATH)")
    p.add_argument("--budget", type=float, help="overall time budget in s (570, quick 110)")
    p.add_argument("--fastdhcp-durability", choices=("fsync", "write", "none"), default="fsync",
                   help="fastdhcp serve --durability (write = Kea's memfile behaviour)")
    p.add_argument("--keep", action="store_true", help="keep the temp dir with all logs")
    a = p.parse_args(argv)
    a.servers = [s.strip() for s in a.servers.split(",") if s.strip()]
    bad = [s for s in a.servers if s not in SERVERS]
    if bad or not a.servers:
        p.error(f"unknown server(s) {bad}; choose from {', '.join(SERVERS)}")
    q = a.quick
    a.repeats = a.repeats or (1 if q else 3)
    a.step_seconds = a.step_seconds or (2.0 if q else 3.0)
    a.fixed_seconds = a.fixed_seconds or (5.0 if q else 10.0)
    a.refine = a.refine if a.refine is not None else (1 if q else 2)
    a.budget = a.budget or (110.0 if q else 570.0)
    a.ladder = tuple(int(x) for x in a.ladder.split(",")) if a.ladder else \
        (QUICK_LADDER if q else LADDER)
    if not 0 < a.clients <= 65000:
        p.error("--clients must be 1..65000 (the pool holds 65278 addresses)")
    ncpu = os.cpu_count() or 1
    for core in (a.server_core, a.gen_core):
        if not 0 <= core < ncpu:
            p.error(f"core {core} does not exist ({ncpu} CPUs)")
    if a.server_core == a.gen_core:
        print(f"warning: server and perfdhcp share core {a.server_core}", file=sys.stderr)
    return a


def main(argv=None):
    args = parse_args(argv)
    netlab.require_root()
    for tool in ["perfdhcp", "taskset"] + (["kea-dhcp4"] if "kea" in args.servers else []):
        if not shutil.which(tool):
            sys.exit(f"server_bench: {tool} not found (Debian: kea-admin, util-linux, "
                     f"kea-dhcp4-server)")
    netlab.exit_on_sigterm()
    t_start = time.monotonic()
    result = {"meta": {"argv": sys.argv, "versions": versions(), "loadavg_before": loadavg(),
                       "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                       "servers": args.servers, "settings": {
                           k: v for k, v in vars(args).items() if k not in ("json",)},
                       "max_loss": MAX_LOSS, "drain_s": DRAIN_US / 1e6, "clk_tck": CLK_TCK},
              "servers": {n: {"status": "ok", "reason": None, "search": [], "fixed": []}
                          for n in args.servers}}
    keep_dir = None
    lab = netlab.Lab(keep_dir=True)  # deleted below unless something failed or --keep
    try:
        with lab:
            bench = Bench(lab, args)
            result["meta"]["config"] = bench.config
            print(f"server_bench: lab {lab.tag}, logs in {lab.dir}", file=sys.stderr)
            live = []
            for name in args.servers:
                e = result["servers"][name]
                try:
                    e["smoke"] = bench.smoke(name)
                    live.append(name)
                except ServerFailed as ex:
                    e["status"], e["reason"] = "not available", str(ex)
                    bench.failures.append(f"{name}: {ex}")
                    print(f"{name}: not available ({ex})", file=sys.stderr)
            budget_note = None
            try:
                for rep in range(args.repeats):
                    for name in list(live):
                        e = result["servers"][name]
                        try:
                            s = bench.search(name, rep)
                            e["search"].append(s)
                            f = bench.fixed(name, rep)
                            e["fixed"].append(f)
                            print(f"{name} repeat {rep + 1}/{args.repeats}: "
                                  f"{s['best_completed_per_s']:,.0f} DORA/s at <=1% loss "
                                  f"(first failing offered rate: {s['first_failing_rate']}"
                                  + (f": {s['first_failing_generator_limited']}"
                                     if s["first_failing_generator_limited"] else "")
                                  + "), "
                                  f"{f['server_cpu_us_per_lease'] or 0:.1f} us/lease at "
                                  f"{args.fixed_rate}/s", file=sys.stderr)
                        except ServerFailed as ex:
                            e["status"], e["reason"] = "failed", str(ex)
                            bench.failures.append(f"{name}: {ex}")
                            live.remove(name)
                            print(f"{name}: failed ({ex})", file=sys.stderr)
            except BudgetExhausted as ex:
                budget_note = str(ex)
                bench.failures.append(budget_note)
                print(f"server_bench: {budget_note}; reporting what was measured",
                      file=sys.stderr)
            result["meta"]["budget_exhausted"] = budget_note
            result["meta"]["perfdhcp_commands"] = bench.commands
            failures = bench.failures
    except BaseException:
        keep_dir = lab.dir
        raise
    finally:
        if keep_dir:
            print(f"server_bench: logs kept in {keep_dir}", file=sys.stderr)
    for name in args.servers:
        e = result["servers"][name]
        e["summary"] = summarise(e)
    meta = result["meta"]
    meta["repeats_done"] = {n: len(result["servers"][n]["fixed"]) for n in args.servers}
    meta["loadavg_after"] = loadavg()
    meta["elapsed_s"] = time.monotonic() - t_start
    if failures or args.keep:
        meta["log_dir"] = lab.dir
    else:
        shutil.rmtree(lab.dir, ignore_errors=True)
    if args.json:  # before the report: a closed stdout must not lose the raw figures
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1, default=str)
    print_report(result, args)
    if args.json:
        print(f"\nraw figures: {args.json}")
    if failures or args.keep:
        print(f"\nlogs (server, perfdhcp): {lab.dir}" + (" — kept because: " + "; ".join(
            failures) if failures else ""))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("server_bench: interrupted; namespaces and processes removed", file=sys.stderr)
        sys.exit(130)
