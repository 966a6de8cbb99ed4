"""Which shards this server owns, on the database's clock: renewing them, taking lapsed ones
(epoch + 1), handing extra ones to a server that joined, giving them all back on SIGTERM; and
what the server must apply for a set of owned shards (the rows of their blocks to load, the
foreign blocks to exclude, the fence of every commit)."""

from __future__ import annotations

import logging
import math

from .._core import LeaseDatabase

log = logging.getLogger("fastdhcp.cluster")

SCHEMA_VERSION = 1
# fastdhcp's own tables, beside Kea's (fastdhcp db init --shards N); Kea's are never altered
SCHEMA = """
CREATE SCHEMA IF NOT EXISTS fastdhcp;
CREATE TABLE IF NOT EXISTS fastdhcp.schema_version (version int NOT NULL);
CREATE TABLE IF NOT EXISTS fastdhcp.shard (
    shard int PRIMARY KEY,
    owner text,
    epoch bigint NOT NULL DEFAULT 0,
    lease_until timestamptz NOT NULL DEFAULT 'epoch');
CREATE TABLE IF NOT EXISTS fastdhcp.server (
    name text PRIMARY KEY,
    seen timestamptz NOT NULL,
    shards int NOT NULL DEFAULT 0);
"""
FNV_OUTSIDE = 2654435761      # Engine.shard_of_address for an address outside every pool


class ClusterError(Exception):
    pass


def init_schema(query, shards: int) -> str:
    """Create fastdhcp's tables with ``shards`` shards (1..256); what was done."""
    have = query("SELECT to_regclass('fastdhcp.shard') IS NOT NULL")[0][0] == "t"
    if have:
        n = int(query("SELECT count(*) FROM fastdhcp.shard")[0][0])
        if n != shards:
            raise ClusterError(f"fastdhcp.shard has {n} shards already; the number is fixed "
                               f"once servers write leases by it")
        return f"fastdhcp's tables are there already ({n} shards)"
    for stmt in SCHEMA.split(";"):
        if stmt.strip():
            query(stmt)
    query(f"INSERT INTO fastdhcp.shard (shard) SELECT generate_series(0, {shards - 1})")
    query(f"INSERT INTO fastdhcp.schema_version VALUES ({SCHEMA_VERSION})")
    return f"fastdhcp's tables created with {shards} shards"


def blocks(config, n: int, shard: int) -> list[tuple[int, int]]:
    """The address ranges of ``shard``: its block of every pool (Engine.shard_of_address)."""
    out = []
    for s in config.subnets:
        for p in s.pools:
            size = p.last - p.first + 1
            lo = p.first + (shard * size + n - 1) // n
            hi = p.first + ((shard + 1) * size + n - 1) // n - 1
            if lo <= hi:
                out.append((lo, hi))
    return out


def quote(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


class Ownership:
    """This server's shards. ``tick()`` (every third of the ownership lease) renews, takes,
    hands off; it returns the new owned set when it changed (the server applies it) or None."""

    def __init__(self, lease_db, config):
        self.config = config                     # config.model.LeaseDatabase
        self.me = config.cluster_server
        self.lease = config.ownership_lease
        # a connection of its own: ownership never waits for a commit in progress
        self.db = LeaseDatabase(config.conninfo(), reconnect_wait=0.2)
        self.owned: dict[int, int] = {}          # shard -> epoch
        n = self.db.query("SELECT to_regclass('fastdhcp.shard') IS NOT NULL")[0][0]
        if n != "t":
            raise ClusterError("the database has no fastdhcp.shard table: create it with "
                               "'fastdhcp db init --shards N'")
        self.n = int(self.db.query("SELECT count(*) FROM fastdhcp.shard")[0][0])
        if not 1 <= self.n <= 256:
            raise ClusterError(f"fastdhcp.shard has {self.n} shards (1 to 256)")

    @property
    def interval(self) -> float:
        return self.lease / 3

    def _q(self, sql: str):
        return self.db.query(sql)

    def tick(self) -> dict[int, int] | None:
        """One round against the database; the owned set if it changed."""
        me, lease = quote(self.me), f"interval '{self.lease} seconds'"
        q = self._q
        try:
            q(f"INSERT INTO fastdhcp.server (name, seen, shards) VALUES ({me}, now(), "
              f"{len(self.owned)}) ON CONFLICT (name) DO UPDATE SET seen = now(), "
              f"shards = EXCLUDED.shards")
            held = {int(s): int(e) for s, e in q(
                f"UPDATE fastdhcp.shard SET lease_until = now() + {lease} WHERE owner = {me} "
                f"RETURNING shard, epoch")}
            live = max(1, int(q(f"SELECT count(*) FROM fastdhcp.server WHERE seen > now() - "
                                f"{lease}")[0][0]))
        except ConnectionError as e:
            log.warning("cluster: ownership not renewed (%s); commits are fenced meanwhile", e)
            return None
        # rows still naming us that we did not take (an earlier run of this server): taken
        # again with a new epoch, which fences whatever else might still use the old one
        stale = [s for s in held if s not in self.owned]
        if stale:
            try:
                for s, e in q(f"UPDATE fastdhcp.shard SET epoch = epoch + 1 WHERE owner = {me} "
                              f"AND shard IN ({','.join(map(str, stale))}) RETURNING shard, "
                              f"epoch"):
                    held[int(s)] = int(e)
                    self.owned[int(s)] = int(e)
            except ConnectionError:
                for s in stale:
                    held.pop(s)
        # a shard another server took (its epoch moved on) is lost, whatever we thought
        now_owned = {s: e for s, e in held.items() if self.owned.get(s, e) == e}
        lost = set(self.owned) - set(now_owned)
        if lost:
            log.warning("cluster: shards %s lost to another server", sorted(lost))
        target = math.ceil(self.n / live)
        if len(now_owned) < target:
            try:
                for s, e in q(
                        f"UPDATE fastdhcp.shard SET owner = {me}, epoch = epoch + 1, "
                        f"lease_until = now() + {lease} WHERE shard IN (SELECT shard FROM "
                        f"fastdhcp.shard WHERE owner IS NULL OR lease_until < now() ORDER BY "
                        f"shard LIMIT {target - len(now_owned)} FOR UPDATE SKIP LOCKED) "
                        f"RETURNING shard, epoch"):
                    now_owned[int(s)] = int(e)
                    log.info("cluster: took shard %s (epoch %s)", s, e)
            except ConnectionError as e:
                log.warning("cluster: shards not taken (%s)", e)
        changed = now_owned != self.owned
        self.owned = now_owned
        return dict(now_owned) if changed else None

    def extra(self) -> list[int]:
        """Shards to hand to the others (more than a fair share while another server waits)."""
        try:
            live = max(1, int(self._q(f"SELECT count(*) FROM fastdhcp.server WHERE seen > now() "
                                      f"- interval '{self.lease} seconds'")[0][0]))
            waiting = int(self._q("SELECT count(*) FROM fastdhcp.shard WHERE owner IS NULL OR "
                                  "lease_until < now()")[0][0])
        except ConnectionError:
            return []
        target = math.ceil(self.n / live)
        if waiting or len(self.owned) <= target:
            return []
        return sorted(self.owned)[target:]

    def release(self, shards) -> None:
        """Give shards back (the server has stopped serving them and drained their commits)."""
        for s in shards:
            e = self.owned.pop(s, None)
            if e is None:
                continue
            try:
                self._q(f"UPDATE fastdhcp.shard SET owner = NULL, lease_until = now() WHERE "
                        f"shard = {s} AND owner = {quote(self.me)} AND epoch = {e}")
                log.info("cluster: handed shard %d off", s)
            except ConnectionError as err:
                log.warning("cluster: shard %d not handed off (%s); it lapses by itself", s, err)

    def leave(self) -> None:
        self.release(list(self.owned))
        try:
            self._q(f"DELETE FROM fastdhcp.server WHERE name = {quote(self.me)}")
        except ConnectionError:
            pass

    # ---- what the server applies --------------------------------------------------------------

    def fence(self, owned: dict[int, int]) -> str:
        shards = ",".join(str(s) for s in sorted(owned))
        epochs = ",".join(str(owned[s]) for s in sorted(owned))
        return (f"SELECT pg_temp.fastdhcp_fence({quote(self.me)}, '{{{shards}}}'::int[], "
                f"'{{{epochs}}}'::bigint[])")

    def where(self, config, owned) -> str:
        """lease4 rows of the owned shards' addresses (their blocks; outside every pool, the
        shard by the address's hash)."""
        parts = [f"address BETWEEN {lo} AND {hi}" for s in sorted(owned)
                 for lo, hi in blocks(config, self.n, s)]
        pools = [f"address BETWEEN {p.first} AND {p.last}" for sn in config.subnets
                 for p in sn.pools]
        outside = (f"(NOT ({' OR '.join(pools) or 'false'}) AND "
                   f"((address * {FNV_OUTSIDE}) % 4294967296) % {self.n} IN "
                   f"({','.join(str(s) for s in sorted(owned)) or '-1'}))")
        return " OR ".join(parts + [outside])

    def foreign(self, config, owned) -> list[tuple[int, int]]:
        return [r for s in range(self.n) if s not in owned for r in blocks(config, self.n, s)]
