"""The lease file: Kea's memfile CSV (v4). The engine appends rows natively, one write per batch
before that batch's replies are sent; this module opens the file (writing Kea's header when it is
new) and reads it back at start.

Reading: Kea 2.4+'s 12 columns and the 11 of Kea 2.0/2.2 (no pool_id); the last row of an address
wins; a row with valid_lifetime 0 removes the lease (Kea's own deletion marker); bad rows are
counted and skipped, with their line numbers logged. A server's start uses ``load_lease_file``:
the rows go straight from the file's bytes into the lease table (Allocator.load_csv, native);
``read_lease_file`` gives them as Python tuples, for tools.
"""

from __future__ import annotations

import logging
import mmap
import os

from .lease import KEA_V4_HEADER, LeaseState, csv_unescape

log = logging.getLogger("fastdhcp.journal")

_KEA_TO_STATE = {0: LeaseState.BOUND, 1: LeaseState.DECLINED, 2: LeaseState.EXPIRED,
                 3: LeaseState.RELEASED}


def open_lease_file(path: str) -> int:
    """Open ``path`` for appending (O_APPEND, so each batch's write lands whole at the end) and
    write Kea's header if the file is new or empty. A last line without its line end is mended
    first, or the next row would be glued to it: a whole row (a file written by hand or by
    another tool; Kea reads it) gets its line end, anything else (a crash during a write:
    never synced, so never ACKed) is cut off. The server opens the file before loading it, so
    both agree. Returns the descriptor."""
    from .._core import lease_row_error
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        size = os.fstat(fd).st_size
        if size and os.pread(fd, 1, size - 1) != b"\n":
            keep = _last_line_end(fd, size)
            if keep and lease_row_error(os.pread(fd, size - keep, keep).rstrip(b"\r")) is None:
                log.warning("%s: the last row has no line end: adding it", path)
                os.write(fd, b"\n")
            else:
                log.warning("%s: cutting an incomplete last line (%d bytes, a torn write)", path,
                            size - keep)
                os.ftruncate(fd, keep)
                size = keep
        if size == 0:            # new, empty, or its header was the torn line
            os.write(fd, (KEA_V4_HEADER + "\n").encode())
            # The file's name must survive a power cut too: the rows fdatasync'd into it later
            # (each batch, before its ACKs) are only as durable as its directory entry.
            os.fsync(fd)
            fsync_dir(path)
    except OSError:
        os.close(fd)
        raise
    return fd


def fsync_dir(path: str) -> None:
    """Make the directory entries of path's directory durable (a new or renamed file)."""
    fd = os.open(os.path.dirname(os.path.abspath(path)), os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _last_line_end(fd: int, size: int) -> int:
    """The offset just after the last newline of the file (0 if it has none)."""
    pos = size
    while pos > 0:
        start = max(0, pos - 65536)
        chunk = os.pread(fd, pos - start, start)
        k = chunk.rfind(b"\n")
        if k >= 0:
            return start + k + 1
        pos = start
    return 0


def load_lease_file(alloc, path: str, *, now: int, max_row_errors: int = 0) -> dict:
    """Load ``path`` into ``alloc`` natively (the restart path; see Allocator.load_csv) and log
    what was skipped. Returns load_csv's counts; a missing file loads nothing."""
    empty = {"loaded": 0, "other_subnet": 0, "bad": 0, "bad_rows": [], "torn": False}
    try:
        f = open(path, "rb")
    except FileNotFoundError:
        return empty
    with f:
        header = f.readline()
        if not header.endswith(b"\n") and (KEA_V4_HEADER + "\n").encode().startswith(header):
            if header:           # (an empty file has nothing to say)
                log.warning("%s: only part of the header (a torn write): no leases", path)
            return empty         # a file created, and killed before its header was whole
        columns = header.decode("utf-8", "replace").strip().split(",")
        if columns[:11] != KEA_V4_HEADER.split(",")[:11] or len(columns) > 12:
            raise ValueError(f"{path}: not a Kea DHCPv4 lease file (header {header[:200]!r})")
        start = f.tell()
        if os.fstat(f.fileno()).st_size <= start:
            return empty
        # mapped, not read: a million-lease file is ~70 MB the process need not keep
        with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
            mapped.madvise(mmap.MADV_SEQUENTIAL)
            rows = memoryview(mapped)[start:]
            try:
                counts = alloc.load_csv(rows, now, max_row_errors)
            except ValueError as e:
                raise ValueError(f"{path}: {e}") from None
            finally:
                rows.release()
    for line, why in counts["bad_rows"]:
        log.warning("%s:%d: bad lease row skipped (%s)", path, line, why)
    if counts["bad"] > len(counts["bad_rows"]):
        log.warning("%s: %d more bad rows skipped", path, counts["bad"] - len(counts["bad_rows"]))
    if counts["torn"]:
        log.warning("%s: incomplete last line ignored (torn write)", path)
    return counts


def _hex(field: str) -> bytes:
    return bytes.fromhex(field.replace(":", "")) if field else b""


def read_lease_file(path: str, known_subnets: set[int], max_row_errors: int = 0):
    """Rows of ``path`` as Allocator.load records (address, hwaddr, client_id, valid_lifetime,
    expire, subnet_id, state, hostname), in file order; rows of unknown subnets are skipped.
    Returns (records, errors)."""
    records, errors = [], 0
    try:
        f = open(path, encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return records, 0
    with f:
        header = f.readline().strip()
        columns = header.split(",")
        if columns[:11] != KEA_V4_HEADER.split(",")[:11]:
            raise ValueError(f"{path}: not a Kea DHCPv4 lease file (header {header!r})")
        for lineno, line in enumerate(f, start=2):
            if not line.endswith("\n"):
                log.warning("%s:%d: incomplete last line ignored (torn write)", path, lineno)
                break
            row = line.rstrip("\n").split(",")
            try:
                if len(row) not in (11, 12):
                    raise ValueError(f"{len(row)} columns")
                address, hw, cid, valid, expire, subnet_id = row[:6]
                hostname = csv_unescape(row[8])
                state = _KEA_TO_STATE[int(row[9] or 0)]
                sid = int(subnet_id)
                if sid not in known_subnets:
                    continue
                valid_i = int(valid)
                if valid_i == 0:           # Kea's removal marker
                    state = LeaseState.RELEASED
                records.append((address, _hex(hw), _hex(cid), valid_i, int(expire), sid,
                                int(state), hostname))
            except (ValueError, KeyError) as e:
                errors += 1
                log.warning("%s:%d: bad lease row skipped (%s)", path, lineno, e)
                if max_row_errors and errors > max_row_errors:
                    raise ValueError(f"{path}: more than {max_row_errors} bad rows") from None
    return records, errors
