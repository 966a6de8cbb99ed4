"""What the lease-database tests share: a PostgreSQL of the module's own, and the ledger check
of every ACK a load generator saw against lease4."""

from __future__ import annotations

import tempfile

import pytest

from fastdhcp._lab.pglab import Postgres


def database_fixture(prefix: str):
    """A module-scoped fixture: a PostgreSQL 15 with Kea's schema, in a directory of its own in
    /tmp (the server runs as the postgres user, which cannot enter the lab's, root's 0700),
    stopped and removed at the end."""
    @pytest.fixture(scope="module")
    def pg():
        db = Postgres(tempfile.mkdtemp(prefix=prefix))
        try:
            db.start()
            db.kea_init()
            yield db
        finally:
            db.stop()
    return pg


def ledger_holds(pg, ack_log: str, since: float) -> tuple[int, int]:
    """Every ACK in a `fastdhcp bench --ack-log` file is a lease4 row of that client with at
    least its expiry (the last ACK of each address); returns (ACKs, distinct addresses)."""
    with open(ack_log) as f:
        acks = [line.split(",") for line in f.read().splitlines() if line]
    rows = {r[0]: (r[1], int(r[2])) for r in pg.sql(
        "SELECT host('0.0.0.0'::inet + address), encode(hwaddr, 'hex'), "
        "extract(epoch from expire)::bigint FROM lease4")}
    last = {}
    for chaddr, addr, lease_time in acks:
        last[addr] = (chaddr.replace(":", ""), int(lease_time))
    for addr, (hw, lease_time) in last.items():
        assert addr in rows, f"ACKed {addr} to {hw} but lease4 has no row for it"
        assert rows[addr][0] == hw, f"{addr}: ACKed to {hw}, lease4 says {rows[addr][0]}"
        assert rows[addr][1] >= since + lease_time - 1, f"{addr}: expiry before the ACK's"
    return len(acks), len(last)
