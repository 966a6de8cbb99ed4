"""The lease database: leases in PostgreSQL, in Kea 2.2's own schema (what ``kea-admin db-init
pgsql`` creates, version 13.0), so that kea-dhcp4 and fastdhcp read each other's leases and
``kea-admin lease-dump pgsql`` exports what fastdhcp wrote.

At start the schema's version and lease4's columns are checked (a mismatch is refused with what
to do), and every lease4 row is loaded into the native tables in one COPY. From then on the
engine's committer thread commits each group of batches in one transaction through its own
libpq connection (``_native/pgsql.pyx``: no Python on that path), and an ACK leaves only after
its transaction has committed.

When the connection is lost no ACK leaves (their rows wait for the next commit), and the
connection is reconnected every ``reconnect-wait-time``, as Kea's database reconnect does, with
Kea's messages, ``max-reconnect-tries`` and ``on-fail``: ``stop-retry-exit`` stops serving
while it retries and exits if it gives up; ``serve-retry-exit`` serves (OFFERs and NAKs: no ACK
can commit) and exits if it gives up; ``serve-retry-continue`` serves and goes on retrying.

The driver is libpq itself, from Debian: the commit path is the committer thread's, in C
without the GIL (an asyncio driver would put Python and the loop on every commit), and the
checks and the load here use the same connection.
"""

from __future__ import annotations

import logging
import time

from .._core import LeaseDatabase
from ..messages import kea_log

log = logging.getLogger("fastdhcp.leases")

# Kea 2.2's PostgreSQL schema (src/share/database/scripts/pgsql/dhcpdb_create.pgsql)
SCHEMA_VERSION = ("13", "0")
LEASE4_COLUMNS = (("address", "bigint"), ("hwaddr", "bytea"), ("client_id", "bytea"),
                  ("valid_lifetime", "bigint"), ("expire", "timestamp with time zone"),
                  ("subnet_id", "bigint"), ("fqdn_fwd", "boolean"), ("fqdn_rev", "boolean"),
                  ("hostname", "character varying"), ("state", "bigint"),
                  ("user_context", "text"))
TICK = 0.5                  # seconds between looks at the connection (at least)


class LeaseDatabaseError(Exception):
    """The lease database cannot be used: what, and the setting or step to look at."""


class LeaseStore:
    """The server's lease database: the native connection the engine commits through, and the
    watch over it."""

    def __init__(self, connection: LeaseDatabase, config):
        self.connection = connection
        self.config = config            # config.model.LeaseDatabase
        self.up = True
        self.failed_since: float | None = None
        self.disabled_by_us = False
        self.gave_up = False
        self.failures_seen = 0

    @property
    def tick_interval(self) -> float:
        return max(TICK, self.config.reconnect_wait_time / 1000) if \
            self.config.reconnect_wait_time else TICK

    @classmethod
    def open(cls, config) -> LeaseStore:
        where = (f"PostgreSQL database '{config.name}' at {config.host}:{config.port} as user "
                 f"'{config.user}'")
        try:
            connection = LeaseDatabase(config.conninfo(),
                                       reconnect_wait=max(config.reconnect_wait_time, 100) / 1000)
        except ConnectionError as e:
            raise LeaseDatabaseError(f"Dhcp4.lease-database: cannot connect to the {where}: "
                                     f"{e} (check host, port, user, password and name)") from None
        store = cls(connection, config)
        store.check_schema(where)
        return store

    def check_schema(self, where: str) -> None:
        """Kea 2.2's schema, or a refusal that says what is there and what to run."""
        q = self.connection.query
        try:
            found = q("SELECT version, minor FROM schema_version")
        except ConnectionError as e:
            raise LeaseDatabaseError(f"Dhcp4.lease-database: the {where} has no Kea schema "
                                     f"({e}): create it with 'kea-admin db-init pgsql'") from None
        if not found or tuple(found[0]) != SCHEMA_VERSION:
            have = ".".join(v or "?" for v in found[0]) if found else "none"
            raise LeaseDatabaseError(
                f"Dhcp4.lease-database: the {where} has Kea schema version {have}; fastdhcp "
                f"speaks Kea 2.2's {'.'.join(SCHEMA_VERSION)} (kea-admin db-upgrade pgsql "
                f"brings an older one up; a newer one belongs to a newer Kea)")
        columns = tuple(q("SELECT column_name, data_type FROM information_schema.columns "
                          "WHERE table_schema = current_schema() AND table_name = 'lease4' "
                          "ORDER BY ordinal_position"))
        if columns != LEASE4_COLUMNS:
            want = ", ".join(f"{c} {t}" for c, t in LEASE4_COLUMNS)
            have = ", ".join(f"{c} {t}" for c, t in columns) or "no lease4 table"
            raise LeaseDatabaseError(f"Dhcp4.lease-database: lease4 in the {where} is not "
                                     f"Kea 2.2's ({have}; expected {want})")

    def load(self, alloc, *, now: int) -> dict:
        t0 = time.monotonic()
        rows = self.connection.lease_rows()
        counts = alloc.load_csv(rows, now, self.config.max_row_errors)
        log.info("loaded %d lease rows from PostgreSQL in %.2f s (%d bad rows, %d of other "
                 "subnets skipped)", counts["loaded"], time.monotonic() - t0, counts["bad"],
                 counts["other_subnet"])
        return counts

    def watch(self) -> str | None:
        """One look at the connection; what the server must do about it: "disable" (stop
        serving while retrying), "enable" (recovered), "exit" (given up), or None."""
        up = self.connection.tick()
        status = self.connection.status
        if status["failures"] > self.failures_seen:
            log.warning("lease database: %d commit(s) failed since the last look, their ACKs "
                        "not sent (%s)", status["failures"] - self.failures_seen,
                        status["error"] or "no reason given")
            self.failures_seen = status["failures"]
        if up:
            if not self.up:
                kea_log("DHCP4_DB_RECONNECT_SUCCEEDED")
                log.info("lease database connection recovered after %.1f s",
                         time.monotonic() - (self.failed_since or time.monotonic()))
                self.up, self.failed_since, self.gave_up = True, None, False
                if self.disabled_by_us:
                    self.disabled_by_us = False
                    return "enable"
            return None
        if self.up:
            self.up, self.failed_since = False, time.monotonic()
            kea_log("DHCP4_DB_RECONNECT_LOST_CONNECTION")
            log.error("lease database: %s; no lease is ACKed until it is back",
                      status["error"] or "connection lost")
            if self.config.max_reconnect_tries == 0:
                kea_log("DHCP4_DB_RECONNECT_DISABLED", self.config.max_reconnect_tries,
                        self.config.reconnect_wait_time)
            if self.config.on_fail == "stop-retry-exit":
                self.disabled_by_us = True
                return "disable"
            return None
        if not self.gave_up and status["attempts"] > self.config.max_reconnect_tries and \
                self.config.on_fail != "serve-retry-continue":
            self.gave_up = True
            kea_log("DHCP4_DB_RECONNECT_FAILED", self.config.max_reconnect_tries)
            return "exit"
        return None

    @property
    def status(self) -> dict:
        s = dict(self.connection.status)
        s.update(type="postgresql", name=self.config.name,
                 host=self.config.host, port=self.config.port)
        return s
