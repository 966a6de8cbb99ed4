"""The lease file's native bulk load (Allocator.load_csv through journal.load_lease_file): the
same leases as the Python reader, Kea's 11- and 12-column rows, removal markers, states, escapes,
bad rows counted with their line numbers, max-row-errors, a torn last line."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

import fastdhcp
from fastdhcp.leases.memfile import load_lease_file, open_lease_file, read_lease_file
from fastdhcp.leases.lease import KEA_V4_HEADER, Lease, LeaseState

NOW = 1_700_000_000
LATER = NOW + 3600
LONG_CID = ":".join(f"{b:02x}" for b in range(40))

ROWS = [
    # 12 columns (Kea 2.4+), bound, a host name with Kea's escapes ("&#x" and two hex digits:
    # a comma, a tab) and something that only looks like one
    f"10.0.0.10,02:00:00:00:00:01,01:02:00:00:00:00:01,3600,{LATER},1,0,0,pc&#x2Cone&#x09two&#xzz,0,,0",
    # 11 columns (Kea 2.2), bound, a long client id (kept in the arena)
    f"10.0.0.11,02:00:00:00:00:02,{LONG_CID},3600,{LATER},1,0,0,,0,",
    # declined, expired-reclaimed
    f"10.0.0.12,,,86400,{NOW + 86400},1,0,0,,1,,0",
    f"10.0.0.13,02:00:00:00:00:04,,3600,{NOW - 10},1,0,0,,2,,0",
    # bound, then Kea's removal marker for the same address: gone
    f"10.0.0.14,02:00:00:00:00:05,,3600,{LATER},1,0,0,,0,,0",
    f"10.0.0.14,02:00:00:00:00:05,,0,{NOW},1,0,0,,0,,0",
    # bound but already past its expiry: loaded expired, not resurrected
    f"10.0.0.15,02:00:00:00:00:06,,3600,{NOW - 1},1,0,0,,0,,0",
    # a subnet the configuration does not have
    f"10.9.0.1,02:00:00:00:00:07,,3600,{LATER},9,0,0,,0,,0",
    # the second subnet, CRLF line end
    f"10.1.0.5,02:00:00:00:00:08,,3600,{LATER},2,0,0,host-8,0,,0\r",
]
BAD = [
    ("10.0.0.300,02:00:00:00:00:09,,3600,1,1,0,0,,0,,0", "bad address"),
    ("10.0.0.20,02:zz:00:00:00:09,,3600,1,1,0,0,,0,,0", "bad hwaddr"),
    ("10.0.0.21,02:00:00:00:00:0a,,3600,1,1,0,0,,0,,0,extra", "not 11 or 12 columns"),
    ("10.0.0.22,02:00:00:00:00:0b,,-5,1,1,0,0,,0,,0", "bad valid_lifetime, expire or subnet_id"),
    ("10.0.0.23,02:00:00:00:00:0c,,3600,1,1,0,0,,7,,0", "bad state"),
    ("10.0.0.24,02:00:00:00:00:0d,0x,3600,1,1,0,0,,0,,0", "bad client_id"),
]


def allocator():
    a = fastdhcp.Allocator()
    a.add_subnet(1, "10.0.0.0/24", [("10.0.0.10", "10.0.0.200")])
    a.add_subnet(2, "10.1.0.0/24", [("10.1.0.5", "10.1.0.50")])
    return a


def write(tmp_path, rows, *, torn=""):
    path = tmp_path / "leases4.csv"
    path.write_text(KEA_V4_HEADER + "\n" + "".join(r + "\n" for r in rows) + torn)
    return str(path)


def view(a):
    return sorted((l.address, l.hwaddr, l.client_id, l.valid_lifetime, l.expire, int(l.state),
                   l.hostname, l.subnet_id) for l in a.leases())


def test_native_load_matches_the_python_reader(tmp_path):
    path = write(tmp_path, ROWS)
    native, python = allocator(), allocator()
    counts = load_lease_file(native, path, now=NOW)
    records, errors = read_lease_file(path, {1, 2})
    python.load(records, now=NOW)
    assert view(native) == view(python)
    assert counts == {"loaded": 8, "other_subnet": 1, "bad": 0, "bad_rows": [], "torn": False}
    assert errors == 0
    leases = {l.address: l for l in native.leases()}
    assert leases["10.0.0.10"].hostname == "pc,one\ttwo&#xzz"
    assert leases["10.0.0.11"].client_id == bytes(range(40))
    assert leases["10.0.0.12"].state.name == "DECLINED"
    assert leases["10.0.0.13"].state.name == "EXPIRED"
    assert leases["10.0.0.15"].state.name == "EXPIRED"
    assert leases["10.0.0.14"].state.name == "RELEASED"
    assert leases["10.1.0.5"].hostname == "host-8"
    assert native.stats(1)["assigned-addresses"] == 2 and native.stats(1)["declined-addresses"] == 1
    # the loaded leases are live: the bound client gets its address back, nobody else does
    assert native.offer(1, bytes.fromhex("020000000002"), client_id=bytes(range(40)),
                        now=NOW) == "10.0.0.11"
    assert native.offer(1, bytes.fromhex("0200000000ff"), now=NOW) not in (
        "10.0.0.10", "10.0.0.11", "10.0.0.12")


def test_bad_rows_are_counted_with_their_lines_and_a_torn_line_ignored(tmp_path):
    rows = ROWS[:2] + [b for b, _ in BAD] + ROWS[2:]
    path = write(tmp_path, rows, torn="10.0.0.99,02:00:00:00:00:99,,3600,17")
    a = allocator()
    counts = load_lease_file(a, path, now=NOW)
    assert counts["bad"] == len(BAD) and counts["torn"] is True
    assert counts["bad_rows"] == [(4 + k, why) for k, (_, why) in enumerate(BAD)]
    assert counts["loaded"] == 8
    assert "10.0.0.99" not in {l.address for l in a.leases()}


def test_max_row_errors_refuses_a_damaged_file(tmp_path):
    path = write(tmp_path, ROWS[:1] + [b for b, _ in BAD])
    with pytest.raises(ValueError, match=r"more than 3 bad lease rows .*line 6"):
        load_lease_file(allocator(), path, now=NOW, max_row_errors=3)
    assert load_lease_file(allocator(), path, now=NOW, max_row_errors=6)["bad"] == 6


def test_header_is_checked_and_missing_or_empty_files_load_nothing(tmp_path):
    bad = tmp_path / "other.csv"
    bad.write_text("address,duid,valid_lifetime\n")
    with pytest.raises(ValueError, match="not a Kea DHCPv4 lease file"):
        load_lease_file(allocator(), str(bad), now=NOW)
    assert load_lease_file(allocator(), str(tmp_path / "none.csv"), now=NOW)["loaded"] == 0
    empty = tmp_path / "empty.csv"
    empty.write_text(KEA_V4_HEADER + "\n")
    assert load_lease_file(allocator(), str(empty), now=NOW)["loaded"] == 0


def test_a_torn_tail_is_cut_before_appending(tmp_path):
    path = write(tmp_path, ROWS[:2], torn="10.0.0.99,02:00:00:00:00:99,,36")
    fd = open_lease_file(path)
    os.write(fd, (ROWS[6] + "\n").encode())
    os.close(fd)
    with open(path) as f:
        lines = f.read().splitlines()
    assert lines[1:] == [ROWS[0], ROWS[1], ROWS[6]]
    a = allocator()
    assert load_lease_file(a, path, now=NOW) == {"loaded": 3, "other_subnet": 0, "bad": 0,
                                                 "bad_rows": [], "torn": False}


def test_a_whole_last_row_without_its_line_end_is_kept(tmp_path):
    # A file written by hand or by another tool may end its last row without a newline; Kea
    # reads that row, and so do we: it gets its line end instead of being cut as torn.
    whole = f"10.0.0.99,02:00:00:00:00:99,,3600,{LATER},1,0,0,,0,,0"
    path = write(tmp_path, ROWS[:1], torn=whole)
    fd = open_lease_file(path)
    os.write(fd, (ROWS[6] + "\n").encode())
    os.close(fd)
    with open(path) as f:
        assert f.read().splitlines()[1:] == [ROWS[0], whole, ROWS[6]]
    assert load_lease_file(allocator(), path, now=NOW)["loaded"] == 3


def test_text_escapes_round_trip_through_a_row(tmp_path):
    # What Kea's CSV reader decodes ("&#x" + two hex digits) is what the writer escapes: commas,
    # control characters (a line break would end the row) and "&" itself.
    name = "a,b\nc\r\x00\x7f&#x2c&d"
    lease = Lease(address="10.0.0.20", hwaddr=b"\x02\x00\x00\x00\x00\x20", client_id=b"",
                  valid_lifetime=3600, expire=LATER, subnet_id=1, state=LeaseState.BOUND,
                  hostname=name)
    row = lease.kea_row()
    assert "\n" not in row and "\r" not in row and len(row.split(",")) == 12
    path = write(tmp_path, [row])
    records, errors = read_lease_file(path, {1})
    assert errors == 0 and records[0][7] == name
    native = allocator()
    assert load_lease_file(native, path, now=NOW)["loaded"] == 1
    assert [l.hostname for l in native.leases()] == [name]


@pytest.mark.parametrize("content", [b"", KEA_V4_HEADER.encode()[:20]], ids=["empty", "torn"])
def test_an_empty_file_or_a_torn_header_loads_nothing_and_gets_a_header(tmp_path, content):
    # The server was killed between creating the file and writing its header whole (or the
    # disk was full): the next start must load it as empty, and write the header before rows.
    path = tmp_path / "leases4.csv"
    path.write_bytes(content)
    assert load_lease_file(allocator(), str(path), now=NOW)["loaded"] == 0
    fd = open_lease_file(str(path))
    os.write(fd, (ROWS[-1].rstrip("\r") + "\n").encode())
    os.close(fd)
    assert path.read_text().splitlines() == [KEA_V4_HEADER, ROWS[-1].rstrip("\r")]
    assert load_lease_file(allocator(), str(path), now=NOW)["loaded"] == 1


EXPIRY_WRITE_FAILS = """
import json, os, resource, signal, sys
import fastdhcp
from fastdhcp.config import parse_config
from fastdhcp.policy import compile_policy
from fastdhcp.leases.memfile import open_lease_file
from fastdhcp._core import bind_many
cfg = parse_config(json.dumps({"Dhcp4": {"subnet4": [{"id": 1, "subnet": "10.0.0.0/24",
                                                      "pools": [{"pool": "10.0.0.10 - 10.0.0.200"}]}]}}))
engine = compile_policy(cfg, [])
engine.durability = fastdhcp.Durability.FSYNC
fd = open_lease_file(sys.argv[1])
bind_many(engine.alloc, 1, 50, 0x020000000000, now=1_700_000_000, lifetime=100)
size = os.fstat(fd).st_size
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
resource.setrlimit(resource.RLIMIT_FSIZE, (size + 150, hard))   # room for two rows and a bit
engine.reclaim(1_700_000_200, fd)                                 # 50 expiry rows: fails part way
stats = engine.stats()
resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
after = os.fstat(fd).st_size
engine.reclaim(1_700_000_300, fd)                                 # room again: they catch up
print(json.dumps({"failed": stats["lease-write-failed"], "before": size, "after": after,
                  "pending": stats["lease-rows-pending-bytes"],
                  "pending_then": engine.stats()["lease-rows-pending-bytes"]}))
"""


def test_an_expiry_write_that_fails_part_way_is_cut_off_and_written_later(tmp_path):
    # A full disk (here RLIMIT_FSIZE) during the expiry pass: the fragment it wrote must go, or
    # the next batch's first row (an ACKed lease) would be glued to it and lost at load; and
    # the rows wait, to be written once there is room (no client would send them again).
    script = tmp_path / "fails.py"
    script.write_text(EXPIRY_WRITE_FAILS)
    path = tmp_path / "leases4.csv"
    env = dict(os.environ, PYTHONPATH=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    r = subprocess.run([sys.executable, str(script), str(path)], capture_output=True, text=True,
                       env=env, timeout=60)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["failed"] == 1 and out["after"] == out["before"] and out["pending"] > 0
    assert out["pending_then"] == 0
    lines = path.read_text().splitlines()
    assert lines[0] == KEA_V4_HEADER and len(lines) == 51
    assert all(line.split(",")[9] == "2" for line in lines[1:])    # expired-reclaimed
    a = allocator()
    assert load_lease_file(a, str(path), now=NOW)["bad"] == 0
