"""crashlab: does every lease the server ACKed survive a kill -9 under load?

One round (``kill9_round``), inside a netlab Lab with the relay topology of ``relay_topology``:

1. start ``fastdhcp serve`` on a fresh lease file and load it with ``fastdhcp bench`` (relay
   mode, closed loop, ACK log on);
2. once ACKs flow, wait ``kill_after`` seconds and SIGKILL the server; the generator runs on
   (its outstanding exchanges time out: the evidence the kill landed under load);
3. load the lease file into a fresh Allocator: every ACK must be there (the ACKed client
   holds the ACKed address, bound, expiring within the lease time of the run);
4. restart the server on that file and load it again with other clients: none may get an
   address a first-run client holds; stop it cleanly and check these ACKs reached the file too.

Findings are counted and returned (``problems`` names each kind); only a setup that cannot run
raises CrashLabError. Used by tests/test_durability.py and benchmarks/kill9_soak.py.
"""

from __future__ import annotations

import dataclasses
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time

from . import netlab
from ..leases.memfile import load_lease_file
from ..leases.lease import LeaseState

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

SERVER_IP, GEN_LINK_IP, GIADDR = "198.18.0.1", "198.18.0.2", "198.19.0.1"
SUBNET_ID, SUBNET = 1, "198.19.0.0/16"
POOL = ("198.19.1.0", "198.19.255.254")
LEASE_TIME = 3600                 # far longer than a round: every first-run lease stays valid
KILL_WINDOW = (0.5, 2.5)          # seconds of load before the kill
EXPIRE_SLACK = 2                  # whole-second clocks on both sides of the lease file
GEN_TIMEOUT = 1.0                 # bench --timeout: exchanges cut off by the kill end sooner
AFTER_KILL = 1.5                  # seconds the first generator goes on after the kill
RESTART_LOAD = 1.0                # seconds of load against the restarted server
FIRST_MAC_SEED = 0x0A_00_00_00_00_00
RESTART_MAC_SEED = 0x0A_00_01_00_00_00   # 2^24 MACs further: no client of the first run
START_TIMEOUT = 20.0
FIRST_ACK_TIMEOUT = 15.0


class CrashLabError(RuntimeError):
    """The round could not be set up or run (not a durability finding)."""


@dataclasses.dataclass(frozen=True)
class Topology:
    """Server namespace and relay-generator namespace joined by one veth pair."""
    srv_ns: str
    gen_ns: str
    server_if: str
    server_ip: str = SERVER_IP
    giaddr: str = GIADDR


def relay_topology(lab: netlab.Lab, srv_name: str = "ksrv", gen_name: str = "kgen") -> Topology:
    """srv 198.18.0.1/30 <-> gen 198.18.0.2/30 + 198.19.0.1/16 (the relay's giaddr); the server
    reaches the relay's network through the generator's end."""
    srv, gen = lab.netns(srv_name), lab.netns(gen_name)
    link = lab.link(srv, gen, f"{SERVER_IP}/30", f"{GEN_LINK_IP}/30")
    lab.addr(gen, link.if_b, f"{GIADDR}/16")
    lab.ip(srv, "route", "add", SUBNET, "via", GEN_LINK_IP)
    return Topology(srv, gen, link.if_a)


def kill_moment(seed: int) -> float:
    """The seconds of load before the kill, drawn from ``seed`` (reproducible per round)."""
    return random.Random(seed).uniform(*KILL_WINDOW)


def server_config(server_if: str, lease_path: str, log_path: str) -> dict:
    return {"Dhcp4": {
        "interfaces-config": {"interfaces": [server_if], "dhcp-socket-type": "udp"},
        "lease-database": {"type": "memfile", "persist": True, "lfc-interval": 0,
                           "name": lease_path},
        "valid-lifetime": LEASE_TIME,
        "subnet4": [{"id": SUBNET_ID, "subnet": SUBNET,
                     "pools": [{"pool": f"{POOL[0]} - {POOL[1]}"}],
                     "option-data": [{"name": "routers", "data": GIADDR}]}],
        "loggers": [{"name": "kea-dhcp4", "severity": "WARN",
                     "output_options": [{"output": log_path}]}],
    }}


def _pinned(argv: list, core: int | None) -> list:
    return ["taskset", "-c", str(core), *argv] if core is not None else argv


def _env() -> dict:
    return dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""))


def _start_server(lab, topo, config_path, durability, log, core):
    argv = _pinned([sys.executable, "-m", "fastdhcp", "serve", "-c", config_path,
                    "--durability", durability], core)
    proc = lab.spawn(topo.srv_ns, argv, env=_env(), cwd=REPO, log=log)
    try:
        lab.wait_udp_listen(topo.srv_ns, 67, timeout=START_TIMEOUT, proc=proc)
    except netlab.LabError:
        lab.stop(proc)
        raise
    return proc


def _bench_argv(topo, *, clients, window, duration, mac_seed, ack_log, report, core):
    return _pinned([sys.executable, "-m", "fastdhcp", "bench", topo.server_ip,
                    "--giaddr", topo.giaddr, "--window", window, "--duration", f"{duration:.3f}",
                    "--clients", clients, "--timeout", GEN_TIMEOUT, "--mac-seed",
                    f"{mac_seed:012x}", "--subnet", SUBNET, "--server-id", topo.server_ip,
                    "--ack-log", ack_log, "--json", report, "-q"], core)


def _bench_report(returncode, report_path, what, output):
    # bench exits 1 when it saw duplicates (a finding, counted here), 2 on a setup error
    if returncode not in (0, 1) or not os.path.exists(report_path):
        raise CrashLabError(f"{what}: generator failed (status {returncode}): {output[-800:]}")
    with open(report_path) as f:
        return json.load(f)


def read_ack_log(path: str) -> list[tuple[bytes, str, int]]:
    """The generator's ACK log as (chaddr, yiaddr, lease_time), in the order received."""
    acks = []
    with open(path) as f:
        for line in f:
            chaddr, yiaddr, lease_time = line.rstrip("\n").split(",")
            acks.append((bytes.fromhex(chaddr.replace(":", "")), yiaddr, int(lease_time)))
    return acks


def load_leases(path: str) -> tuple[dict, dict]:
    """The lease file as the server loads it: ({address: Lease}, load counts)."""
    from .. import Allocator
    alloc = Allocator()
    alloc.add_subnet(SUBNET_ID, SUBNET, [POOL])
    counts = load_lease_file(alloc, path, now=int(time.time()))
    return {lease.address: lease for lease in alloc.leases()}, counts


def missing_leases(acks, leases, earliest, latest) -> list[dict]:
    """ACKs the lease file does not back, one entry per (client, address): an ACK that repeats
    an earlier one (the client's next DORA) is backed by the same row."""
    acked = {(chaddr, yiaddr): lease_time for chaddr, yiaddr, lease_time in acks}
    missing = []
    for (chaddr, yiaddr), lease_time in acked.items():
        lease = leases.get(yiaddr)
        low, high = earliest + lease_time - EXPIRE_SLACK, latest + lease_time + EXPIRE_SLACK
        if lease is None:
            why = "no row for the address"
        elif lease.hwaddr != chaddr:
            why = f"held by {lease.hwaddr.hex(':')}"
        elif lease.state != LeaseState.BOUND:
            why = f"state {lease.state.name}"
        elif not low <= lease.expire <= high:
            why = f"expire {lease.expire} outside [{low:.0f}, {high:.0f}]"
        else:
            continue
        missing.append({"chaddr": chaddr.hex(":"), "address": yiaddr, "why": why})
    return missing


def count_rows(path: str) -> int:
    """Lease rows in the file; 0 without one (durability none keeps no file)."""
    try:
        with open(path, "rb") as f:
            return max(0, sum(1 for _ in f) - 1)  # the header is no lease
    except FileNotFoundError:
        return 0


def _wait_first_ack(lab, server, gen, ack_log):
    deadline = time.monotonic() + FIRST_ACK_TIMEOUT
    while not (os.path.exists(ack_log) and os.path.getsize(ack_log) > 0):
        if server.poll() is not None:
            raise CrashLabError(f"server exited ({server.returncode}) before any ACK: "
                                f"{lab.tail(server, 800)}")
        if gen.poll() is not None:
            raise CrashLabError(f"generator exited ({gen.returncode}) before any ACK: "
                                f"{lab.tail(gen, 800)}")
        if time.monotonic() > deadline:
            raise CrashLabError(f"no ACK within {FIRST_ACK_TIMEOUT:g} s of load")
        time.sleep(0.02)


def kill9_round(lab: netlab.Lab, topo: Topology, workdir: str, *, seed: int, kill_after: float,
                durability: str = "fsync", clients: int = 5000, window: int = 64,
                cpus: tuple[int, int] | None = None) -> dict:
    """One kill -9 round (see the module docstring); returns its counts and findings.

    cpus: (server core, generator core) to pin both with taskset, or None."""
    server_core, gen_core = cpus if cpus else (None, None)
    rdir = tempfile.mkdtemp(prefix=f"kill9-{durability}-s{seed}-", dir=workdir)
    lease_path = os.path.join(rdir, "leases4.csv")
    config_path = os.path.join(rdir, "dhcp4.json")
    with open(config_path, "w") as f:
        json.dump(server_config(topo.server_if, lease_path, os.path.join(rdir, "server.log")),
                  f)
    bench_kw = {"clients": clients, "window": window, "core": gen_core}
    res = {"seed": seed, "durability": durability, "kill_after": kill_after, "dir": rdir}

    # -- load, then kill -9 ----------------------------------------------------------------------
    server = _start_server(lab, topo, config_path, durability, os.path.join(rdir, "serve-1.out"),
                           server_core)
    ack_log, report = os.path.join(rdir, "acks-1.csv"), os.path.join(rdir, "bench-1.json")
    started_wall, started = time.time(), time.monotonic()
    # the generator's clock starts after its imports: AFTER_KILL is a lower bound
    gen = lab.spawn(topo.gen_ns, _bench_argv(topo, duration=kill_after + AFTER_KILL + 1.0,
                                             mac_seed=FIRST_MAC_SEED, ack_log=ack_log,
                                             report=report, **bench_kw),
                    env=_env(), cwd=REPO, log=os.path.join(rdir, "bench-1.out"))
    _wait_first_ack(lab, server, gen, ack_log)
    first_ack = time.monotonic()
    time.sleep(kill_after)
    alive_at_kill = server.poll() is None and gen.poll() is None
    lab.stop(server, signal.SIGKILL)
    killed_wall = time.time()
    res["kill_at"] = time.monotonic() - started
    res["first_ack_at"] = first_ack - started
    res["server_status"] = server.returncode
    try:
        gen.wait(kill_after + AFTER_KILL + GEN_TIMEOUT + 30)
    except subprocess.TimeoutExpired:
        raise CrashLabError(f"generator did not finish: {lab.tail(gen, 800)}") from None
    finally:
        lab.stop(gen)
    rep1 = _bench_report(gen.returncode, report, "first run", lab.tail(gen))
    acks = read_ack_log(ack_log)
    dora1 = rep1["exchanges"]["dora"]
    res.update(acks_before_kill=len(acks), clients_checked=len({a[0] for a in acks}),
               completed=dora1["completed"], cut_off=dora1["lost"],
               first_run_duplicates=rep1["counters"]["duplicates"])
    # Under load at the kill: both ran, ACKs came before it, exchanges went unanswered after.
    res["killed_under_load"] = (alive_at_kill and server.returncode == -signal.SIGKILL
                                and len(acks) > 0 and dora1["lost"] > 0)

    # -- (a) every ACK in the file ----------------------------------------------------------------
    leases, counts = load_leases(lease_path)
    res.update(rows_in_file=count_rows(lease_path), torn_tail=counts["torn"],
               bad_rows=counts["bad"])
    res["lost"] = missing_leases(acks, leases, started_wall, killed_wall)

    # -- (b) restart on that file, other clients: no address held by a first-run client ----------
    res.update(restart_s=None, restart_error=None, acks_after_restart=0, duplicates=[],
               restart_run_duplicates=0, lost_after_restart=[], bad_rows_after_restart=0)
    t0 = time.monotonic()
    try:
        server = _start_server(lab, topo, config_path, durability,
                               os.path.join(rdir, "serve-2.out"), server_core)
    except netlab.LabError as e:
        res["restart_error"] = str(e)
    else:
        res["restart_s"] = time.monotonic() - t0
        _restart_run(lab, topo, rdir, server, acks, leases, res, bench_kw)
    res["problems"] = _problems(res)
    return res


def _restart_run(lab, topo, rdir, server, first_acks, first_leases, res, bench_kw):
    ack_log, report = os.path.join(rdir, "acks-2.csv"), os.path.join(rdir, "bench-2.json")
    started_wall = time.time()
    try:
        run = lab.run(topo.gen_ns, _bench_argv(topo, duration=RESTART_LOAD,
                                               mac_seed=RESTART_MAC_SEED, ack_log=ack_log,
                                               report=report, **bench_kw),
                      timeout=RESTART_LOAD + GEN_TIMEOUT + 30)
        rep2 = _bench_report(run.returncode, report, "restart run", run.stdout + run.stderr)
    finally:
        exited = server.poll()
        status = lab.stop(server)
    stopped_wall = time.time()
    acks = read_ack_log(ack_log)
    res["acks_after_restart"] = len(acks)
    res["restart_run_duplicates"] = rep2["counters"]["duplicates"]
    if exited is not None or status != 0:
        res["restart_error"] = (f"restarted server exited with status {status}"
                                f"{' on its own' if exited is not None else ' on SIGTERM'}: "
                                f"{lab.tail(server, 400)}")
    # Who holds what after the first run: the file's bound leases (an ACK may have been cut off
    # after its row was synced), overlaid by what the first run's ACKs said.
    holders = {a: l.hwaddr for a, l in first_leases.items() if l.state == LeaseState.BOUND}
    acked = {yiaddr: chaddr for chaddr, yiaddr, _ in first_acks}
    holders.update(acked)
    clashes = {(yiaddr, chaddr) for chaddr, yiaddr, _ in acks
               if holders.get(yiaddr, chaddr) != chaddr}     # a set: one entry per client
    res["duplicates"] = [
        {"address": yiaddr, "holder": holders[yiaddr].hex(":"), "acked_to": chaddr.hex(":"),
         "holder_was_acked": yiaddr in acked}
        for yiaddr, chaddr in sorted(clashes)]
    # A clean stop after the restart: the restarted server's own ACKs must be in the file too
    # (it appended to a file a kill may have left with a torn last line).
    leases, counts = load_leases(os.path.join(rdir, "leases4.csv"))
    res["lost_after_restart"] = missing_leases(acks, leases, started_wall, stopped_wall)
    res["bad_rows_after_restart"] = counts["bad"]


def _problems(res: dict) -> list[str]:
    """One line per kind of finding (empty: the round passed)."""
    out = []
    if not res["killed_under_load"]:
        out.append(f"kill not under load (server status {res['server_status']}, "
                   f"{res['acks_before_kill']} ACKs before, {res['cut_off']} cut off)")
    if res["lost"]:
        out.append(f"{len(res['lost'])} ACKed leases lost, e.g. {res['lost'][0]}")
    if res["restart_error"]:
        out.append(f"restart: {res['restart_error']}")
    elif res["acks_after_restart"] == 0:
        out.append("the restarted server ACKed nothing")
    if res["duplicates"]:
        out.append(f"{len(res['duplicates'])} addresses ACKed twice, e.g. "
                   f"{res['duplicates'][0]}")
    if res["first_run_duplicates"] or res["restart_run_duplicates"]:
        out.append(f"generator saw duplicates: {res['first_run_duplicates']} before the kill, "
                   f"{res['restart_run_duplicates']} after the restart")
    if res["bad_rows"] or res["bad_rows_after_restart"]:
        out.append(f"bad rows in the lease file: {res['bad_rows']} after the kill, "
                   f"{res['bad_rows_after_restart']} after the restart")
    if res["lost_after_restart"]:
        out.append(f"{len(res['lost_after_restart'])} leases ACKed after the restart lost "
                   f"on a clean stop, e.g. {res['lost_after_restart'][0]}")
    return out
