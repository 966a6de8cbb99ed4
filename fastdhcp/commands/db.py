"""``fastdhcp db``: the PostgreSQL lease database of a configuration (its ``lease-database``).

    fastdhcp db status -c CONFIG                 # connection, schema, leases by subnet and state
    fastdhcp db init -c CONFIG                   # Kea's schema, by kea-admin, where there is none
    fastdhcp db upgrade -c CONFIG                # an older Kea schema brought up (kea-admin)
    fastdhcp db leases export -c CONFIG -o FILE  # lease4 as a Kea memfile CSV (Kea 2.2's columns)
    fastdhcp db leases import -c CONFIG FILE     # a Kea memfile CSV merged into lease4

Kea's schema is Kea's: ``init`` and ``upgrade`` run Debian's ``kea-admin`` with the
configuration's connection (fastdhcp has no table of its own yet, so there is nothing else to
create). ``import`` replays a memfile as Kea would load it (the last row of an address wins, a
row with valid-lifetime 0 removes it), in transactions of about a thousand rows (Kea's row triggers make bigger ones slower per row). Exit
status: 0 done; 1 the database refused or could not be reached; 2 bad usage or an unreadable
file, or a configuration without a postgresql lease-database.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

from . import EXIT_FAILURE, EXIT_OK, EXIT_USAGE

IMPORT_ROWS = 1000      # per commit_csv call (which cuts transactions at ~1000 rows anyway)


def register(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("db", help="the PostgreSQL lease database: status, init, leases in/out",
                       description="The PostgreSQL lease database of a configuration "
                                   "(lease-database type postgresql, Kea's schema).")
    verbs = p.add_subparsers(dest="db_command", metavar="WHAT", required=True)
    for name, text in (("status", "connection, schema version, leases by subnet and state, shards"),
                       ("init", "create Kea's schema (kea-admin db-init pgsql) where there is "
                                "none; with --shards, fastdhcp's cluster tables"),
                       ("upgrade", "bring an older Kea schema up (kea-admin db-upgrade pgsql)")):
        v = verbs.add_parser(name, help=text, description=text)
        v.add_argument("-c", "--config", required=True, help="Kea-format configuration file")
        if name == "init":
            v.add_argument("--shards", type=int, default=0,
                           help="several servers on this database: the number of shards "
                                "every pool is cut into (1-256; fixed once leases are written)")
    leases = verbs.add_parser("leases", help="leases between lease4 and a Kea memfile CSV")
    lv = leases.add_subparsers(dest="leases_command", metavar="DIRECTION", required=True)
    ex = lv.add_parser("export", help="lease4 as a Kea memfile CSV")
    ex.add_argument("-c", "--config", required=True)
    ex.add_argument("-o", "--output", required=True, help="the CSV to write")
    im = lv.add_parser("import", help="a Kea memfile CSV merged into lease4")
    im.add_argument("-c", "--config", required=True)
    im.add_argument("file", help="a Kea (2.0 or later) or fastdhcp lease file")
    return p


def _lease_database(path: str):
    from ..config import ConfigError, load_config
    try:
        db = load_config(path).lease_database
    except (ConfigError, OSError) as e:
        print(f"fastdhcp db: {path}: {e}", file=sys.stderr)
        return None
    if db.type != "postgresql":
        print(f"fastdhcp db: {path}: lease-database is type {db.type}, not postgresql",
              file=sys.stderr)
        return None
    return db


def _kea_admin(verb: str, db) -> int:
    argv = ["kea-admin", verb, "pgsql", "-n", db.name, "-h", db.host, "-P", str(db.port)]
    if db.user:
        argv += ["-u", db.user]
    if db.password:
        argv += ["-p", db.password]
    env = dict(os.environ, PGPORT=str(db.port))
    try:
        r = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=600)
    except FileNotFoundError:
        print("fastdhcp db: kea-admin is not installed (Debian's kea-admin package)",
              file=sys.stderr)
        return EXIT_FAILURE
    sys.stdout.write(r.stdout)
    sys.stderr.write(r.stderr)
    return EXIT_OK if r.returncode == 0 else EXIT_FAILURE


def run(args: argparse.Namespace) -> int:
    db = _lease_database(args.config)
    if db is None:
        return EXIT_USAGE
    from ..leases.pgsql import LeaseDatabaseError, LeaseStore
    if args.db_command in ("init", "upgrade"):
        if args.db_command == "init":
            return _init(db, args.shards)
        return _kea_admin(f"db-{args.db_command}", db)
    try:
        store = LeaseStore.open(db)
    except LeaseDatabaseError as e:
        print(f"fastdhcp db: {e}", file=sys.stderr)
        return EXIT_FAILURE
    try:
        if args.db_command == "status":
            return _status(store)
        if args.leases_command == "export":
            return _export(store, args.output)
        return _import(store, args.file)
    except ConnectionError as e:
        print(f"fastdhcp db: the database refused: {e}", file=sys.stderr)
        return EXIT_FAILURE


def _init(db, shards: int) -> int:
    """Kea's schema where there is none (kea-admin); fastdhcp's cluster tables with --shards."""
    from ..cluster.ownership import ClusterError, init_schema
    from ..leases.pgsql import LeaseDatabaseError, LeaseStore
    if shards and not 1 <= shards <= 256:
        print("fastdhcp db: --shards is 1 to 256", file=sys.stderr)
        return EXIT_USAGE
    try:
        store = LeaseStore.open(db)
        done = False
    except LeaseDatabaseError as e:
        if "has no Kea schema" not in str(e):
            print(f"fastdhcp db: {e}", file=sys.stderr)
            return EXIT_FAILURE
        status = _kea_admin("db-init", db)
        if status != EXIT_OK:
            return status
        store, done = LeaseStore.open(db), True
    if shards:
        try:
            print(init_schema(store.connection.query, shards))
        except (ClusterError, ConnectionError) as e:
            print(f"fastdhcp db: {e}", file=sys.stderr)
            return EXIT_FAILURE
    elif not done:
        print("the database has Kea 2.2's schema already: nothing to do")
    return EXIT_OK


def _status(store) -> int:
    q = store.connection.query
    version = ".".join(q("SELECT version, minor FROM schema_version")[0])
    c = store.config
    print(f"lease database: PostgreSQL '{c.name}' at {c.host}:{c.port} as '{c.user}'")
    print(f"  server: {q('SHOW server_version')[0][0]}; Kea schema {version}")
    rows = q("SELECT subnet_id, state, count(*), count(*) FILTER (WHERE expire < now()) "
             "FROM lease4 GROUP BY subnet_id, state ORDER BY subnet_id, state")
    names = {"0": "default", "1": "declined", "2": "expired-reclaimed"}
    total = sum(int(r[2]) for r in rows)
    print(f"  leases: {total}")
    for subnet, state, n, expired in rows:
        print(f"    subnet {subnet}: {n} {names.get(state, state)} ({expired} past their expiry)")
    if q("SELECT to_regclass('fastdhcp.shard') IS NOT NULL")[0][0] != "t":
        print("  shards: none (one server owns every lease)")
        return EXIT_OK
    shards = q("SELECT shard, coalesce(owner, '-'), epoch, lease_until > now(), "
               "round(extract(epoch from lease_until - now())::numeric, 1) FROM fastdhcp.shard "
               "ORDER BY shard")
    print(f"  shards: {len(shards)}")
    for shard, owner, epoch, live, left in shards:
        state = f"owned, {left} s left" if live == "t" else "lapsed" if owner != "-" else "free"
        print(f"    shard {shard}: {owner} epoch {epoch} ({state})")
    for name, seen, n in q("SELECT name, round(extract(epoch from now() - seen)::numeric, 1), "
                           "shards FROM fastdhcp.server ORDER BY name"):
        print(f"  server {name}: {n} shards, seen {seen} s ago")
    return EXIT_OK


def _export(store, output: str) -> int:
    from ..leases.lease import KEA_V4_HEADER
    rows = store.connection.lease_rows(kea_hex=True)
    header = ",".join(KEA_V4_HEADER.split(",")[:11])      # Kea 2.2's eleven columns
    tmp = f"{output}.tmp{os.getpid()}"
    with open(tmp, "wb") as f:
        f.write(header.encode() + b"\n" + rows)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, output)
    count = rows.count(b"\n")
    print(f"{count} leases written to {output}")
    return EXIT_OK


def _import(store, path: str) -> int:
    try:
        f = open(path, "rb")
    except OSError as e:
        print(f"fastdhcp db: {path}: {e.strerror}", file=sys.stderr)
        return EXIT_USAGE
    with f:
        header = f.readline().decode("utf-8", "replace").strip().split(",")
        from ..leases.lease import KEA_V4_HEADER
        if header[:11] != KEA_V4_HEADER.split(",")[:11] or len(header) not in (11, 12):
            print(f"fastdhcp db: {path}: not a Kea DHCPv4 lease file", file=sys.stderr)
            return EXIT_USAGE
        total, chunk = 0, []
        for line in f:                           # (a transaction per IMPORT_ROWS rows)
            if not line.strip():
                continue
            chunk.append(line if line.endswith(b"\n") else line + b"\n")
            if len(chunk) == IMPORT_ROWS:
                total += store.connection.commit_csv(b"".join(chunk), len(header))
                chunk = []
        if chunk:
            total += store.connection.commit_csv(b"".join(chunk), len(header))
    print(f"{total} lease rows from {path} merged into lease4")
    return EXIT_OK
