"""Lease file compaction, as Kea's LFC does it and with Kea's file names, so a crash at any step
loses nothing and files left by kea-lfc load as they are (and ours by Kea).

The files, for a lease file NAME (Kea's memfile: FILE_INPUT, FILE_PREVIOUS, ...):
    NAME             the live file: the server appends every change here
    NAME.1           the input: the previous live file, set aside by the server to be compacted
    NAME.2           the previous: the result of the last compaction
    NAME.output      a compaction being written (incomplete: never loaded)
    NAME.completed   a compaction written in full, not yet renamed to NAME.2

The server rotates (``rotate``: NAME -> NAME.1, a fresh NAME) and goes on serving; a separate
process (``python -m fastdhcp.leases.lfc NAME``, so the server's loop never pauses) merges NAME.2 and
NAME.1 into NAME.output (the last row of an address wins, removal markers drop the lease),
renames it NAME.completed, removes NAME.2 and NAME.1 and renames NAME.completed to NAME.2. Every
file is fsync'd before the rename that publishes it, and the directory after each rename. The
server does not rotate while NAME.1 or NAME.completed is there (an unfinished compaction: its
input must not be replaced), as Kea does not; the next compaction finishes the job first.

One compaction at a time, and none while a server loads the files: both hold an exclusive lock
on NAME.pid (Kea's name for kea-lfc's PID file; it holds the holder's PID, and goes when done).
A compaction left running by a server that was killed would otherwise rename and remove files
under the next server's load.

At start the server loads ``recovery_order(NAME)``, as Kea does: NAME.completed then NAME if a
finished compaction was not yet renamed; else NAME.2, NAME.1 and NAME, those that exist, in
that order (older first: later rows win).
"""

from __future__ import annotations

import argparse
import fcntl
import os
import sys

from .._core import lease_row_error
from .memfile import fsync_dir
from .lease import KEA_V4_HEADER

#: ``python -m fastdhcp.leases.lfc NAME --stop-after N``: stop (as a crash would) after step N.
STEPS = ("write-output", "rename-completed", "remove-2", "remove-1", "rename-2")


def paths(name: str) -> dict[str, str]:
    return {"live": name, "1": f"{name}.1", "2": f"{name}.2", "output": f"{name}.output",
            "completed": f"{name}.completed", "pid": f"{name}.pid"}


def acquire(name: str, *, wait: bool) -> int | None:
    """Take the lock on NAME.pid: the descriptor that holds it, or None if another process
    holds it and ``wait`` is false."""
    path = paths(name)["pid"]
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            os.close(fd)
            return None
        try:
            current = os.fstat(fd).st_ino == os.stat(path).st_ino
        except FileNotFoundError:
            current = False
        if current:           # (not a file its last holder removed while we waited for it)
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
            return fd
        os.close(fd)


def release(name: str, fd: int) -> None:
    """Give the lock up, removing NAME.pid first (as kea-lfc removes its PID file)."""
    try:
        os.unlink(paths(name)["pid"])
    finally:
        os.close(fd)


def recovery_order(name: str) -> list[str]:
    """The files to load at start, in order (later rows win)."""
    p = paths(name)
    if os.path.exists(p["completed"]):
        order = [p["completed"]]
    else:
        order = [f for f in (p["2"], p["1"]) if os.path.exists(f)]
    return order + ([p["live"]] if os.path.exists(p["live"]) else [])


def rotate(name: str) -> bool:
    """Server side: set the live file aside as NAME.1 for compaction. False (nothing done) when
    NAME.1 or NAME.completed is still there: a compaction has not finished, and its input must
    not be replaced (the compaction process finishes it first). The caller opens a fresh NAME
    (memfile.open_lease_file) after a True."""
    p = paths(name)
    if os.path.exists(p["1"]) or os.path.exists(p["completed"]) or not os.path.exists(name):
        return False
    os.rename(name, p["1"])
    fsync_dir(name)
    return True


def unrotate(name: str) -> None:
    """Undo a rotate whose fresh live file could not be opened: NAME.1 back to NAME, so the
    server goes on appending to the file it still has open."""
    os.rename(paths(name)["1"], name)
    fsync_dir(name)


def _rows(path: str) -> list[tuple[str, bytes]]:
    """(address, row) of every complete data row of a lease file, in file order. Rows the
    loader would skip as bad are left out here too (as kea-lfc drops them): a damaged row
    must not replace an older good one of its address."""
    out = []
    try:
        with open(path, "rb") as f:
            f.readline()                          # the header
            for line in f:
                if not line.endswith(b"\n"):
                    break                         # a torn last line: never completed
                row = line.rstrip(b"\r\n")
                if lease_row_error(row) is not None:
                    continue
                fields = row.split(b",")
                if len(fields) == 11:             # Kea 2.0/2.2 rows gain pool_id 0
                    line = row + b",0\n"
                out.append((fields[0].decode("ascii", "replace"),
                            b"" if fields[3] == b"0" else line))
    except FileNotFoundError:
        pass
    return out


def _write_synced(path: str, header: bytes, rows) -> None:
    with open(path, "wb") as f:
        f.write(header)
        f.writelines(rows)
        f.flush()
        os.fsync(f.fileno())


def compact(name: str, *, stop_after: str | None = None) -> int:
    """The compaction process's work (see the module docstring). Returns the rows written."""
    p = paths(name)

    def step_done(step: str) -> None:
        if step == stop_after:
            os._exit(3)                           # the crash the tests simulate

    if os.path.exists(p["completed"]):
        # a previous compaction finished writing but not its renames: finish it first
        for f in (p["2"], p["1"]):
            if os.path.exists(f):
                os.unlink(f)
        os.rename(p["completed"], p["2"])
        fsync_dir(name)
        return 0
    if os.path.exists(p["output"]):
        os.unlink(p["output"])                    # an interrupted run's partial output
    latest: dict[str, bytes] = {}
    for f in (p["2"], p["1"]):
        for address, row in _rows(f):
            if row:
                latest.pop(address, None)         # re-insert: file order = last change order
                latest[address] = row
            else:
                latest.pop(address, None)         # Kea's removal marker
    _write_synced(p["output"], (KEA_V4_HEADER + "\n").encode(), latest.values())
    step_done("write-output")
    os.rename(p["output"], p["completed"])
    fsync_dir(name)
    step_done("rename-completed")
    if os.path.exists(p["2"]):
        os.unlink(p["2"])
    step_done("remove-2")
    if os.path.exists(p["1"]):
        os.unlink(p["1"])
    step_done("remove-1")
    os.rename(p["completed"], p["2"])
    fsync_dir(name)
    step_done("rename-2")
    return len(latest)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fastdhcp.leases.lfc",
                                     description="Compact a Kea memfile lease file (Kea's LFC).")
    parser.add_argument("name", help="the live lease file (its .1 and .2 siblings are compacted into .2)")
    parser.add_argument("--stop-after", choices=STEPS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    os.nice(10)                     # a background job: the server keeps the CPU it needs
    try:
        lock = acquire(args.name, wait=False)
        if lock is None:
            print(f"fastdhcp lfc: {args.name}: another compaction (or a server's load) holds "
                  f"{paths(args.name)['pid']}: nothing done")
            return 0
        try:
            rows = compact(args.name, stop_after=args.stop_after)
        finally:
            release(args.name, lock)
    except OSError as e:
        print(f"fastdhcp lfc: {args.name}: {e}", file=sys.stderr)
        return 1
    print(f"fastdhcp lfc: {args.name}: {rows} leases kept")
    return 0


if __name__ == "__main__":
    sys.exit(main())
