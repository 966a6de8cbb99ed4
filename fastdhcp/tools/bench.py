"""The load generator behind `fastdhcp bench SERVER` (its command line: fastdhcp.commands.bench).

Many simulated clients (state in C arrays, ``_native/loadgen.pyx``) exchange messages with a
server through one UDP socket per process, with sendmmsg/recvmmsg and the server's own parser.
This module sets up sockets and processes, drives the native loop in slices of a tenth of a
second, prints a live progress line, and turns counters and histograms into the report.

Modes:
- relay (default): the generator is a relay agent: it binds ``--giaddr``:67, puts giaddr in every
  request and unicasts to SERVER:67; the server answers at giaddr:67. Several processes use
  consecutive giaddrs (each must be a local address).
- broadcast (``--interface IF``): a directly attached client population: port 68 on IF, requests
  to 255.255.255.255:67 with the broadcast flag, replies by broadcast.

Exchanges: DORA (default) or DO only (``--exchange do``), plus a mix of renewals (REQUEST with
ciaddr), releases, declines and informs by fraction (``--mix renew=0.2,release=0.05``; the rest is
the main exchange). Renewals, releases, declines and informs are sent relayed (relay mode only).

Load: open loop at ``--rate`` exchanges/s, or closed loop with ``--window`` exchanges outstanding
(the max-throughput mode); ``--duration`` and/or ``--count``; ``--clients`` distinct clients
(MAC ``--mac-seed`` + i); an exchange without its reply within ``--timeout`` is lost.

Every reply is checked: xid and chaddr of a waiting client, message type, yiaddr in ``--subnet``,
option 54 present (and equal to ``--server-id``), option 51 present; an address ACKed to a
client while another still holds it is a duplicate (exit status 1).
"""

from __future__ import annotations

import math
import multiprocessing
import os
import socket
import sys
import time
from dataclasses import dataclass, field

# The generator's exchange kinds, latency histograms and counters by name, in its native order.
from .._core import LOADGEN_COUNTERS as COUNTERS
from .._core import LOADGEN_EXCHANGES as EXCHANGES
from .._core import LOADGEN_HISTOGRAMS as HISTOGRAMS

PERCENTILES = (50, 90, 99, 99.9)
SLICE = 0.1               # seconds per native run() call: progress, limits and signals in between
SO_BINDTODEVICE = 25


class BenchError(Exception):
    """A setup problem, reported as one line (exit status 2)."""


@dataclass
class Options:
    server: str
    servers: list[str] = field(default_factory=list)     # more servers (relay helper addresses)
    giaddr: str | None = "198.19.0.1"
    interface: str | None = None
    exchange: str = "dora"
    mix: dict[str, float] = field(default_factory=dict)
    rate: float = 0.0
    window: int = 0
    duration: float = 10.0
    count: int = 0
    clients: int = 50_000
    mac_seed: int = 0x0A_00_00_00_00_00
    timeout: float = 2.0
    subnet: str | None = None
    server_id: str | None = None
    procs: int = 1
    cpus: list[int] | None = None
    batch: int = 64
    ack_log: str | None = None
    plot: str | None = None
    json_out: str | None = None
    progress: bool = True
    seed: int = 1
    server_port: int = 67
    local_port: int | None = None     # default: 67 in relay mode, 68 in broadcast mode


# ---- one process -------------------------------------------------------------------------------

def open_socket(opts: Options, proc: int) -> tuple[socket.socket, str | None]:
    """The generator's socket and the giaddr it stands for (None in broadcast mode)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 8 << 20)
        if opts.interface:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
            s.setsockopt(socket.SOL_SOCKET, SO_BINDTODEVICE, opts.interface.encode())
            s.bind(("0.0.0.0", 68 if opts.local_port is None else opts.local_port))
            giaddr = None
        else:
            base = int.from_bytes(socket.inet_aton(opts.giaddr), "big")
            giaddr = socket.inet_ntoa((base + proc).to_bytes(4, "big"))
            s.bind((giaddr, 67 if opts.local_port is None else opts.local_port))
        s.setblocking(False)
    except OSError as e:
        s.close()
        where = f"{opts.interface}:{opts.local_port or 68}" if opts.interface else \
            f"{opts.giaddr} (+{proc}):{opts.local_port or 67}"
        raise BenchError(f"cannot bind {where}: {e.strerror}") from None
    return s, giaddr


def fractions(opts: Options) -> dict[int, float]:
    main = EXCHANGES.index(opts.exchange)
    out = {EXCHANGES.index(k): v for k, v in opts.mix.items()}
    out[main] = out.get(main, 0.0) + max(0.0, 1.0 - sum(opts.mix.values()))
    return out


def worker(opts: Options, proc: int, on_slice=None) -> dict:
    """Run one generator process's share; returns its raw results. ``on_slice(started,
    completed, lost)`` is called after every slice (progress)."""
    from .._core import LoadGen
    if opts.cpus:
        os.sched_setaffinity(0, {opts.cpus[proc % len(opts.cpus)]})
    sock, giaddr = open_socket(opts, proc)
    share = opts.clients // opts.procs + (1 if proc < opts.clients % opts.procs else 0)
    first = sum(opts.clients // opts.procs + (1 if p < opts.clients % opts.procs else 0)
                for p in range(proc))
    gen = LoadGen(share, mac_seed=opts.mac_seed + first,
                  server=[opts.server, *opts.servers] if opts.servers else opts.server,
                  giaddr=giaddr,
                  subnet=opts.subnet, server_id=opts.server_id, timeout=opts.timeout,
                  fractions=fractions(opts), seed=opts.seed + proc, batch=opts.batch,
                  ack_log=bool(opts.ack_log), server_port=opts.server_port,
                  hostnames=getattr(opts, "hostnames", False))
    rate = opts.rate / opts.procs
    window = max(1, opts.window // opts.procs) if opts.window else 0
    count = opts.count // opts.procs + (1 if proc < opts.count % opts.procs else 0) \
        if opts.count else 0
    ack_file = open(f"{opts.ack_log}.{proc}" if opts.procs > 1 else opts.ack_log, "wb") \
        if opts.ack_log else None
    samples = []          # one per second: (t, counters, histograms) for the time series
    cpu0, t0 = os.times(), time.monotonic()
    started = 0
    next_sample = 1.0
    gen.start_clock()
    try:
        while True:
            elapsed = time.monotonic() - t0
            if (opts.duration > 0 and elapsed >= opts.duration) or (count and started >= count):
                break                            # (duration 0: --count alone bounds the run)
            started += gen.run(sock.fileno(),
                               min(SLICE, opts.duration - elapsed) if opts.duration > 0 else SLICE,
                               rate=rate, window=window,
                               max_starts=count - started if count else 0)
            if ack_file:
                ack_file.write(gen.take_ack_log())
            if on_slice is not None:
                _, s, d, lo, _ = gen.counters()
                on_slice(sum(s), sum(d), sum(lo))
            if time.monotonic() - t0 >= next_sample:
                samples.append((time.monotonic() - t0, gen.counters(), gen.histograms()))
                next_sample += 1.0
        run_time = time.monotonic() - t0
        drain_t = time.monotonic()
        gen.run(sock.fileno(), opts.timeout + 0.1, drain=True)     # the last replies
        gen.abandon()                 # (a REQUEST sent during the drain may still be waiting)
        drain_time = time.monotonic() - drain_t
        if ack_file:
            ack_file.write(gen.take_ack_log())
    finally:
        sock.close()
        if ack_file:
            ack_file.close()
    cpu1 = os.times()
    counters, starts, done, lost, outstanding = gen.counters()
    return {"counters": counters, "started": starts, "completed": done, "lost": lost,
            "outstanding": outstanding, "histograms": gen.histograms(), "run_time": run_time,
            "drain_time": drain_time,
            "cpu_seconds": (cpu1.user - cpu0.user) + (cpu1.system - cpu0.system),
            "duplicate": gen.duplicate_example(), "bound": gen.bound(), "samples": samples,
            "answers": gen.answers_by_server()}


def _worker_entry(opts: Options, proc: int, shared, conn) -> None:
    def publish(started, completed, lost):
        shared[proc * 3:proc * 3 + 3] = [started, completed, lost]
    try:
        conn.send(worker(opts, proc, publish))
    except BaseException as e:  # noqa: BLE001 - the parent reports it
        conn.send({"error": f"{type(e).__name__}: {e}"})
    finally:
        conn.close()


# ---- several processes ---------------------------------------------------------------------------

def run(opts: Options, out=sys.stderr) -> dict:
    """Run the benchmark; returns the report (see ``report``)."""
    check(opts)
    if opts.procs == 1:
        results = [_with_progress(opts, out)]
    else:
        ctx = multiprocessing.get_context("fork")
        shared = ctx.Array("Q", 3 * opts.procs, lock=False)
        procs, pipes = [], []
        for p in range(opts.procs):
            parent, child = ctx.Pipe(duplex=False)
            pr = ctx.Process(target=_worker_entry, args=(opts, p, shared, child), daemon=True)
            pr.start()
            procs.append(pr)
            pipes.append(parent)
        t0 = time.monotonic()
        while any(pr.is_alive() for pr in procs) and not all(pp.poll() for pp in pipes):
            if opts.progress:
                _progress(out, time.monotonic() - t0, sum(shared[0::3]), sum(shared[1::3]),
                          sum(shared[2::3]))
            time.sleep(1.0)
        results = []
        for pp, pr in zip(pipes, procs):
            # (a run bounded by --count alone has no deadline: wait for it)
            r = pp.recv() if pp.poll(opts.duration + opts.timeout + 30 if opts.duration > 0
                                     else None) else \
                {"error": "the process sent no result"}
            pr.join(5)
            if "error" in r:
                raise BenchError(f"generator process failed: {r['error']}")
            results.append(r)
        if opts.progress:
            out.write("\n")
    return report(opts, results)


def _with_progress(opts: Options, out) -> dict:
    if not opts.progress:
        return worker(opts, 0)
    t0 = time.monotonic()
    next_line = [1.0]

    def show(started, completed, lost):       # one line a second, rewritten in place
        now = time.monotonic() - t0
        if now >= next_line[0]:
            _progress(out, now, started, completed, lost)
            next_line[0] += 1.0
    result = worker(opts, 0, show)
    out.write("\n")
    return result


def _progress(out, t: float, started: int, completed: int, lost: int) -> None:
    rate = completed / t if t > 0 else 0.0
    loss = 100.0 * lost / (completed + lost) if completed + lost else 0.0
    out.write(f"\r  {t:6.1f} s  started {started:>10,}  completed {completed:>10,} "
              f"({rate:,.0f}/s)  lost {loss:5.2f} %")
    out.flush()


def check(opts: Options) -> None:
    if opts.exchange not in ("dora", "do"):
        raise BenchError(f"--exchange must be dora or do, not {opts.exchange!r}")
    for k, v in opts.mix.items():
        if k not in ("renew", "release", "decline", "inform"):
            raise BenchError(f"--mix: unknown exchange {k!r} (renew, release, decline, inform)")
        if not 0 <= v <= 1:
            raise BenchError(f"--mix: the fraction of {k} must be within 0..1")
    if sum(opts.mix.values()) > 1:
        raise BenchError("--mix: the fractions add up to more than 1")
    if opts.mix and opts.interface:
        raise BenchError("--mix needs relay mode: in broadcast mode the server answers a "
                         "renewal or inform at ciaddr, an address this host does not have")
    if (opts.rate > 0) == (opts.window > 0):
        raise BenchError("give exactly one of --rate (open loop) and --window (closed loop)")
    if opts.window and opts.window > opts.clients:
        raise BenchError("--window cannot exceed --clients (one exchange per client at a time)")
    if opts.duration <= 0 and not opts.count:
        raise BenchError("give --duration and/or --count")
    if opts.procs < 1 or opts.clients < opts.procs:
        raise BenchError("--procs must be at least 1 and at most --clients")
    if opts.interface and opts.procs > 1:
        raise BenchError("broadcast mode runs one process (one socket on port 68)")
    if opts.plot:
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            raise BenchError("--plot needs matplotlib (pip install 'fastdhcp[plot]')") from None


# ---- the report ----------------------------------------------------------------------------------

def _bucket_floor(b: int) -> int:
    from .._core import hist_bucket_floor
    return hist_bucket_floor(b)


def percentiles(counts: list[int], top: int) -> dict[str, float | None]:
    """p50/p90/p99/p99.9 and max in milliseconds from a native histogram (bucket midpoints)."""
    total = sum(counts)
    out: dict[str, float | None] = {}
    for q in PERCENTILES:
        if total == 0:
            out[f"p{q:g}"] = None
            continue
        want, acc = math.ceil(total * q / 100), 0
        for b, n in enumerate(counts):
            acc += n
            if acc >= want:
                lo, hi = _bucket_floor(b), _bucket_floor(b + 1)
                out[f"p{q:g}"] = min((lo + hi) / 2, top) / 1e6
                break
    out["max"] = top / 1e6 if total else None
    return out


def report(opts: Options, results: list[dict]) -> dict:
    n = len(results)
    add = lambda key: [sum(r[key][k] for r in results) for k in range(len(results[0][key]))]  # noqa: E731
    counters, started, completed, lost = add("counters"), add("started"), add("completed"), add("lost")
    run_time = max(r["run_time"] for r in results)
    cpu = sum(r["cpu_seconds"] for r in results)
    hists = []
    for h in range(len(HISTOGRAMS)):
        counts = [sum(r["histograms"][h][0][b] for r in results)
                  for b in range(len(results[0]["histograms"][h][0]))]
        hists.append(percentiles(counts, max(r["histograms"][h][1] for r in results)))
    by_kind = {}
    for k, name in enumerate(EXCHANGES):
        if started[k] or completed[k]:
            ended = completed[k] + lost[k]
            by_kind[name] = {"started": started[k], "completed": completed[k], "lost": lost[k],
                             "per_second": completed[k] / run_time if run_time else 0.0,
                             "lost_percent": 100.0 * lost[k] / ended if ended else 0.0}
    total_done = sum(completed)
    total_lost = sum(lost)
    dup = next((r["duplicate"] for r in results if r["duplicate"]), None)
    rep = {
        "server": opts.server, "mode": "broadcast" if opts.interface else "relay",
        "processes": n, "clients": opts.clients,
        "load": {"rate": opts.rate} if opts.rate else {"window": opts.window},
        "run_seconds": run_time,
        "exchanges": by_kind,
        "completed_per_second": total_done / run_time if run_time else 0.0,
        "lost_percent": 100.0 * total_lost / (total_done + total_lost) if total_done + total_lost else 0.0,
        "counters": dict(zip(COUNTERS, counters)),
        "latency_ms": dict(zip(HISTOGRAMS, hists)),
        "generator_cpu_seconds": cpu,
        "generator_cpu_us_per_exchange": 1e6 * cpu / total_done if total_done else None,
        "bound_clients": sum(r["bound"] for r in results),
        "duplicate_example": dup,
    }
    if opts.servers:                 # which server's reply answered each message first
        rep["servers"] = [opts.server, *opts.servers]
        rep["first_answers_by_server"] = {
            s: sum(r["answers"].get(s, 0) for r in results) for s in rep["servers"]}
    if opts.plot and n == 1:
        plot(opts.plot, results[0]["samples"])
    return rep


def format_report(rep: dict) -> str:
    lines = [f"fastdhcp bench: {rep['server']} ({rep['mode']} mode, {rep['processes']} process"
             f"{'es' if rep['processes'] > 1 else ''}, {rep['clients']:,} clients, "
             f"{'rate ' + format(rep['load']['rate'], ',g') + '/s' if 'rate' in rep['load'] else 'window ' + str(rep['load']['window'])}"
             f", {rep['run_seconds']:.1f} s)"]
    lines.append(f"  {'exchange':<9} {'started':>11} {'completed':>11} {'per second':>11} {'lost %':>7}")
    for name, e in rep["exchanges"].items():
        lines.append(f"  {name:<9} {e['started']:>11,} {e['completed']:>11,} "
                     f"{e['per_second']:>11,.0f} {e['lost_percent']:>7.2f}")
    lines.append(f"  all: {rep['completed_per_second']:,.0f} completed/s, {rep['lost_percent']:.2f} % lost")
    lines.append(f"  latency ms  {'p50':>8} {'p90':>8} {'p99':>8} {'p99.9':>8} {'max':>8}")
    for name, p in rep["latency_ms"].items():
        if p["max"] is None:
            continue
        cells = " ".join(f"{p[k]:>8.3f}" for k in ("p50", "p90", "p99", "p99.9", "max"))
        lines.append(f"  {name:<14}{cells}")
    c = rep["counters"]
    lines.append("  replies: " + ", ".join(f"{k} {c[k]:,}" for k in COUNTERS
                                           if k not in ("sent", "received", "skipped") and c[k])
                 + f"; sent {c['sent']:,}, received {c['received']:,}")
    if rep.get("first_answers_by_server"):
        lines.append("  first answers by server: " + ", ".join(
            f"{s} {n:,}" for s, n in rep["first_answers_by_server"].items()))
    if c["skipped"]:
        lines.append(f"  starts skipped, every client busy when due: {c['skipped']:,} (the "
                     f"rate asked was not offered: raise --clients or --timeout)")
    if rep["generator_cpu_us_per_exchange"] is not None:
        lines.append(f"  generator CPU: {rep['generator_cpu_seconds']:.2f} s, "
                     f"{rep['generator_cpu_us_per_exchange']:.1f} us per completed exchange")
    if rep["duplicate_example"]:
        a, first, second = rep["duplicate_example"]
        lines.append(f"  DUPLICATE ADDRESSES: {c['duplicates']:,} (first: {a} held by {first}, "
                     f"ACKed to {second})")
    return "\n".join(lines)


def plot(path: str, samples: list) -> None:
    """Completed exchanges/s and p50/p99 latency per second, into a PNG."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    ts, rates, p50, p99 = [], [], [], []
    prev_done, prev_hist = 0, None
    for t, ctr, hists in samples:
        done = sum(ctr[2])
        counts = hists[1][0]
        diff = counts if prev_hist is None else [a - b for a, b in zip(counts, prev_hist)]
        pc = percentiles(diff, hists[1][1])
        ts.append(t)
        rates.append(done - prev_done)
        p50.append(pc["p50"])
        p99.append(pc["p99"])
        prev_done, prev_hist = done, counts
    fig, (ax1, ax2) = plt.subplots(2, 1, sharex=True, figsize=(8, 6))
    ax1.plot(ts, rates)
    ax1.set_ylabel("completed / s")
    ax2.plot(ts, p50, label="p50")
    ax2.plot(ts, p99, label="p99")
    ax2.set_ylabel("REQUEST->ACK ms")
    ax2.set_xlabel("seconds")
    ax2.legend()
    fig.savefig(path)
    plt.close(fig)
