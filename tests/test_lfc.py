"""Lease file compaction (fastdhcp/leases/lfc.py): Kea's LFC steps and file names. The merge keeps the
newest row of every address and drops removed leases; a crash after any step (the compaction
process stopped there, as kill -9 would) loses nothing: the files that recovery_order loads still
hold every lease; the next compaction finishes the job; kea-lfc-era files load as they are."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

import fastdhcp
from fastdhcp._lab import netlab
from fastdhcp.leases import lfc
from fastdhcp._core import lease_row_error
from fastdhcp.leases.memfile import load_lease_file
from fastdhcp.leases.lease import KEA_V4_HEADER

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NOW = 1_700_000_000
EXP = NOW + 7200
LIVE = int(time.time())


def row(n, *, valid=3600, state=0, host="", columns=12):
    fields = [f"10.0.0.{n}", f"02:00:00:00:00:{n:02x}", "", str(valid), str(EXP + n), "1", "0",
              "0", host, str(state), ""]
    return ",".join(fields + (["0"] if columns == 12 else [])) + "\n"


def write(path, rows, header=KEA_V4_HEADER):
    with open(path, "w") as f:
        f.write(header + "\n" + "".join(rows))


def table(name):
    a = fastdhcp.Allocator()
    a.add_subnet(1, "10.0.0.0/24", [("10.0.0.1", "10.0.0.254")])
    for f in lfc.recovery_order(name):
        load_lease_file(a, f, now=NOW)
    # released leases are Kea's removals: a compaction drops them (only affinity is lost)
    return sorted((l.address, l.hwaddr.hex(), l.expire, l.state.name, l.hostname)
                  for l in a.leases() if l.state.name != "RELEASED")


@pytest.fixture
def files(tmp_path):
    """NAME.2 (a previous compaction), NAME.1 (the file set aside) and the live NAME: Kea's
    roles (FILE_PREVIOUS, FILE_INPUT)."""
    name = str(tmp_path / "leases4.csv")
    write(name + ".2", [row(n, host=f"old-{n}") for n in range(1, 6)])
    write(name + ".1", [row(2, host="renewed"), row(3, valid=0),                 # 3 removed
                        row(6, columns=11), row(7, state=1), row(4, host="again")])
    write(name, [row(8), row(1, valid=0)])                                     # 1 removed
    return name


def run_lfc(name, *extra):
    return subprocess.run([sys.executable, "-m", "fastdhcp.leases.lfc", name, *extra],
                          capture_output=True, text=True, cwd=REPO, timeout=60)


def test_compaction_merges_newest_rows_and_drops_removed(files):
    before = table(files)
    assert run_lfc(files).returncode == 0
    assert sorted(os.listdir(os.path.dirname(files))) == ["leases4.csv", "leases4.csv.2"]
    assert table(files) == before
    with open(files + ".2") as f:
        lines = f.read().splitlines()
    assert lines[0] == KEA_V4_HEADER
    addresses = [line.split(",")[0] for line in lines[1:]]
    assert sorted(addresses) == ["10.0.0.1", "10.0.0.2", "10.0.0.4", "10.0.0.5", "10.0.0.6",
                                 "10.0.0.7"]               # 3 removed; 1 is removed only in NAME
    assert all(len(line.split(",")) == 12 for line in lines)
    hosts = {line.split(",")[0]: line.split(",")[8] for line in lines[1:]}
    assert hosts["10.0.0.2"] == "renewed" and hosts["10.0.0.4"] == "again"


@pytest.mark.parametrize("step", lfc.STEPS)
def test_a_crash_after_any_step_loses_nothing(files, step):
    expected = table(files)
    r = run_lfc(files, "--stop-after", step)
    assert r.returncode == 3, r.stderr
    assert table(files) == expected          # what a restart loads now
    assert run_lfc(files).returncode == 0    # the next compaction finishes the job
    assert table(files) == expected
    assert not any(os.path.exists(files + s) for s in (".1", ".output", ".completed"))


@pytest.mark.parametrize("step", lfc.STEPS)
def test_the_server_never_rotates_over_an_unfinished_compaction(files, step):
    # The compaction process dies after `step`; the server's next interval comes, rotates if
    # it may, and appends; the next compaction must still end with every lease.
    r = run_lfc(files, "--stop-after", step)
    assert r.returncode == 3, r.stderr
    rotated = lfc.rotate(files)
    assert rotated == (step == "rename-2")     # only a finished compaction lets it rotate
    with open(files, "a") as f:
        if rotated:
            f.write(KEA_V4_HEADER + "\n")
        f.write(row(60))
    expected = table(files)
    assert "10.0.0.60" in {r[0] for r in expected} and "10.0.0.5" in {r[0] for r in expected}
    assert run_lfc(files).returncode == 0       # finishes the unfinished one (or compacts)
    assert table(files) == expected
    assert run_lfc(files).returncode == 0       # and the one after that
    assert table(files) == expected


def test_server_rotation_crash_and_kea_lfc_leftovers(files):
    # (the fixture is what Kea leaves when kea-lfc is stopped before it starts: NAME.2 older,
    # NAME.1 newer; they load in that order)
    assert {r[0]: r[4] for r in table(files)}["10.0.0.2"] == "renewed"
    assert run_lfc(files).returncode == 0    # now NAME.2 and the live NAME
    expected = table(files)
    # the server set NAME aside as NAME.1 and died before it created the fresh file
    assert lfc.rotate(files) is True
    assert not os.path.exists(files)
    assert table(files) == expected
    assert lfc.rotate(files) is False        # NAME.1 still there: no second rotation
    # kea-lfc left NAME.completed next to stale .1/.2: only .completed and NAME are loaded
    write(files + ".completed", [row(9)])
    write(files, [row(8)])
    assert [os.path.basename(f) for f in lfc.recovery_order(files)] == [
        "leases4.csv.completed", "leases4.csv"]
    assert {r[0] for r in table(files)} == {"10.0.0.8", "10.0.0.9"}
    assert lfc.rotate(files) is False        # nor while NAME.completed is there
    assert run_lfc(files).returncode == 0    # finishes kea-lfc's job: .completed -> .2
    assert sorted(os.listdir(os.path.dirname(files))) == ["leases4.csv", "leases4.csv.2"]
    assert {r[0] for r in table(files)} == {"10.0.0.8", "10.0.0.9"}


def test_server_compacts_on_lfc_interval_and_restarts_with_every_lease(tmp_path):
    """Server-side: rotate, then the LFC process; run inside one interpreter without sockets."""
    name = str(tmp_path / "leases4.csv")
    write(name, [row(n) for n in range(1, 40)] + [row(5, valid=0)])
    assert lfc.rotate(name) is True
    assert not os.path.exists(name) and os.path.exists(name + ".1")
    write(name, [row(50)])                   # what the server appends meanwhile
    assert run_lfc(name).returncode == 0
    got = table(name)
    assert {r[0] for r in got} == {f"10.0.0.{n}" for n in range(1, 40) if n != 5} | {"10.0.0.50"}


# ---- the server compacting under load ------------------------------------------------------------

lab = netlab.lab_fixture(scope="module")


def test_server_compacts_under_load_and_keeps_every_acked_lease(lab):
    srv, gen = lab.netns("lsrv"), lab.netns("lgen")
    link = lab.link(srv, gen, "198.18.0.1/30", "198.18.0.2/30")
    lab.addr(gen, link.if_b, "198.19.0.1/16")
    lab.ip(srv, "route", "add", "198.19.0.0/16", "via", "198.18.0.2")
    name = lab.path("leases4.csv")
    cfg = {"Dhcp4": {
        "interfaces-config": {"interfaces": [link.if_a], "dhcp-socket-type": "udp"},
        "lease-database": {"type": "memfile", "persist": True, "name": name, "lfc-interval": 1},
        "valid-lifetime": 3600,
        "subnet4": [{"id": 1, "subnet": "198.19.0.0/16",
                     "pools": [{"pool": "198.19.1.0 - 198.19.255.254"}]}]}}
    with open(lab.path("lfc.json"), "w") as f:
        json.dump(cfg, f)
    env = dict(os.environ, PYTHONPATH=REPO)
    proc = lab.start_server(srv, lab.path("lfc.json"), name="lfc-server")
    acks = lab.path("acks.csv")
    try:
        r = subprocess.run(["ip", "netns", "exec", gen, sys.executable, "-m", "fastdhcp", "bench",
                            "198.18.0.1", "--giaddr", "198.19.0.1", "--window", "16",
                            "--duration", "4", "--clients", "3000", "--ack-log", acks, "-q"],
                           capture_output=True, text=True, timeout=60, cwd=REPO, env=env)
        assert r.returncode == 0, r.stderr
        # the counters (SIGUSR1) include the replies still with the committer thread
        lab.signal(proc, signal.SIGUSR1)
        lab.wait_for(lambda: '"pkt4-sent"' in lab.tail(proc, 20000), 10, what="stats line")
        stats = json.loads(lab.tail(proc, 20000).split("stats ")[-1].splitlines()[0])
        assert stats["pkt4-sent"] == stats["pkt4-offer-sent"] + stats["pkt4-ack-sent"] + \
            stats.get("pkt4-nak-sent", 0), stats
    finally:
        assert lab.stop(proc) == 0
    log = lab.tail(proc, 20000)
    assert log.count("lease file compaction started") >= 2, log[-2000:]
    assert os.path.exists(name + ".2")
    with open(acks) as f:
        acked = {tuple(line.split(",")[:2]) for line in f.read().splitlines()}
    assert len(acked) > 1000
    a = fastdhcp.Allocator()
    a.add_subnet(1, "198.19.0.0/16", [("198.19.1.0", "198.19.255.254")])
    for f in lfc.recovery_order(name):
        load_lease_file(a, f, now=LIVE)
    held = {(l.hwaddr.hex(":"), l.address) for l in a.leases() if l.state.name == "BOUND"}
    missing = acked - held
    assert not missing, f"{len(missing)} ACKed leases not in the files, e.g. {sorted(missing)[:3]}"


def test_one_compaction_at_a_time_and_none_during_a_load(files):
    # A server loading the files (or another compaction) holds NAME.pid: a compaction started
    # meanwhile (say, one a killed server left behind) does nothing; a load waits for a
    # running compaction.
    expected = table(files)
    lock = lfc.acquire(files, wait=True)
    with open(files + ".pid") as f:
        assert f.read() == f"{os.getpid()}\n"
    r = run_lfc(files)
    assert r.returncode == 0 and "nothing done" in r.stdout
    assert os.path.exists(files + ".1") and table(files) == expected   # untouched
    assert lfc.acquire(files, wait=False) is None
    lfc.release(files, lock)
    assert not os.path.exists(files + ".pid")
    assert run_lfc(files).returncode == 0 and table(files) == expected
    assert sorted(os.listdir(os.path.dirname(files))) == ["leases4.csv", "leases4.csv.2"]


def test_a_damaged_row_does_not_replace_a_good_one(files):
    # kea-lfc drops rows its loader rejects; so does ours (with the loader's own parser), or
    # a damaged newer row would push the good older row of its address out of the file.
    with open(files + ".1", "a") as f:
        f.write(row(5).replace("02:00:00:00:00:05", "02:zz:00:00:00:05"))      # bad hwaddr
        f.write(row(4).replace(",1,0,0,", ",1,0,0,,9,").rsplit(",", 1)[0] + "\n")  # bad state
    expected = table(files)
    assert {r[0]: r[4] for r in expected}["10.0.0.5"] == "old-5"
    assert run_lfc(files).returncode == 0
    assert table(files) == expected
    assert lease_row_error(b"10.0.0.1,02:zz,,1,2,3,0,0,,0,,0") == "bad hwaddr"
    assert lease_row_error(row(1).rstrip("\n").encode()) is None
