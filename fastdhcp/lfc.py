"""Lease file compaction, as Kea's LFC does it and with Kea's file names, so a crash at any step
loses nothing and files left by kea-lfc load as they are.

The files, for a lease file NAME:
    NAME             the live file: the server appends every change here
    NAME.2           the previous live file, set aside by the server to be compacted
    NAME.1           the result of the previous compaction
    NAME.output      a compaction being written (incomplete: never loaded)
    NAME.completed   a compaction written in full, not yet renamed to NAME.1

The server rotates (``rotate``: NAME -> NAME.2, a fresh NAME) and goes on serving; a separate
process (``python -m fastdhcp.lfc NAME``, so the server's loop never pauses) merges NAME.1 and
NAME.2 into NAME.output (the last row of an address wins, removal markers drop the lease),
renames it NAME.completed, removes NAME.1 and NAME.2 and renames NAME.completed to NAME.1. Every
file is fsync'd before the rename that publishes it, and the directory after each rename.

At start the server loads ``recovery_order(NAME)``: NAME.completed then NAME if a finished
compaction was not yet renamed; else NAME.1, NAME.2 and NAME, those that exist, in that order.
"""

from __future__ import annotations

import argparse
import os
import sys

from .lease import KEA_V4_HEADER

#: ``python -m fastdhcp.lfc NAME --stop-after N``: stop (as a crash would) after step N.
STEPS = ("write-output", "rename-completed", "remove-1", "remove-2", "rename-1")


def paths(name: str) -> dict[str, str]:
    return {"live": name, "1": f"{name}.1", "2": f"{name}.2", "output": f"{name}.output",
            "completed": f"{name}.completed"}


def recovery_order(name: str) -> list[str]:
    """The files to load at start, in order (later rows win)."""
    p = paths(name)
    if os.path.exists(p["completed"]):
        order = [p["completed"]]
    else:
        order = [f for f in (p["1"], p["2"]) if os.path.exists(f)]
    return order + ([p["live"]] if os.path.exists(p["live"]) else [])


def fsync_dir(path: str) -> None:
    fd = os.open(os.path.dirname(os.path.abspath(path)), os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def rotate(name: str) -> bool:
    """Server side: set the live file aside as NAME.2 for compaction. False (nothing done) when
    NAME.2 is still there: a compaction has not finished, and its input must not be replaced.
    The caller opens a fresh NAME (journal.open_lease_file) after a True."""
    p = paths(name)
    if os.path.exists(p["2"]) or not os.path.exists(name):
        return False
    os.rename(name, p["2"])
    fsync_dir(name)
    return True


def _rows(path: str) -> list[tuple[str, bytes]]:
    """(address, row) of every complete data row of a lease file, in file order; rows that do
    not even have an address and a lifetime are left out (the loader reports them)."""
    out = []
    try:
        with open(path, "rb") as f:
            f.readline()                          # the header
            for line in f:
                if not line.endswith(b"\n"):
                    break                         # a torn last line: never completed
                fields = line.rstrip(b"\r\n").split(b",")
                if len(fields) not in (11, 12) or not fields[3].isdigit():
                    continue
                if len(fields) == 11:             # Kea 2.0/2.2 rows gain pool_id 0
                    line = line.rstrip(b"\r\n") + b",0\n"
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
        for f in (p["1"], p["2"]):
            if os.path.exists(f):
                os.unlink(f)
        os.rename(p["completed"], p["1"])
        fsync_dir(name)
        return 0
    if os.path.exists(p["output"]):
        os.unlink(p["output"])                    # an interrupted run's partial output
    latest: dict[str, bytes] = {}
    for f in (p["1"], p["2"]):
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
    if os.path.exists(p["1"]):
        os.unlink(p["1"])
    step_done("remove-1")
    if os.path.exists(p["2"]):
        os.unlink(p["2"])
    step_done("remove-2")
    os.rename(p["completed"], p["1"])
    fsync_dir(name)
    step_done("rename-1")
    return len(latest)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fastdhcp.lfc",
                                     description="Compact a Kea memfile lease file (Kea's LFC).")
    parser.add_argument("name", help="the live lease file (its .1/.2 siblings are compacted)")
    parser.add_argument("--stop-after", choices=STEPS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    os.nice(10)                     # a background job: the server keeps the CPU it needs
    try:
        rows = compact(args.name, stop_after=args.stop_after)
    except OSError as e:
        print(f"fastdhcp lfc: {args.name}: {e}", file=sys.stderr)
        return 1
    print(f"fastdhcp lfc: {args.name}: {rows} leases kept")
    return 0


if __name__ == "__main__":
    sys.exit(main())
