"""Leases in PostgreSQL with Kea's own schema (lease-database type postgresql): a PostgreSQL 15
of the module's own (initdb into the lab, a unix socket the servers reach from their
namespace), Kea 2.2's schema loaded by Debian's kea-admin.

An ACKed lease is a lease4 row as kea-dhcp4 2.2 writes it, a release deletes it, a restart
loads them; kea-dhcp4 and fastdhcp serve each other's leases from the same database (one at a
time), and kea-admin lease-dump exports what fastdhcp wrote. The row checks run against
kea-dhcp4 too (FASTDHCP_E2E_SERVER=kea): the same rows from both. A lost database sends no ACK
until it is back; a bad start (a wrong password, another schema version, an altered table) is
refused with what to look at."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from e2e import (NET, SRV_IP, control, control_config, new_xid, not_in_kea22, raw_dora,
                 server_log)
from e2e import raw, servers, topo  # noqa: F401  (fixtures)
from fastdhcp import reference
from fastdhcp._enums import MsgType
from fastdhcp._lab import netlab
from pgdb import database_fixture

pytestmark = [pytest.mark.root]
lab = netlab.lab_fixture(scope="module", keep_dir=bool(os.environ.get("FASTDHCP_E2E_KEEP")))
pg = database_fixture("fastdhcp-pg-")


@pytest.fixture
def db(pg):
    """The module's database with no leases (and Kea's schema as created)."""
    pg.sql("DELETE FROM lease4")
    pg.sql("UPDATE schema_version SET version = '13', minor = '0'")
    return pg


def pg_config(topo, lab, db, tag, **lease_database):
    sock = lab.path(f"{tag}-{new_xid():x}.sock")
    cfg = control_config(topo, lab.path(f"{tag}-{new_xid():x}.csv"), sock)
    cfg["Dhcp4"]["lease-database"] = db.lease_database(**lease_database)
    return cfg, sock


def row(db, addr: str) -> dict | None:
    """The lease4 row of an address, its columns as text."""
    got = db.sql("SELECT address, encode(hwaddr, 'hex'), encode(client_id, 'hex'), "
                 "valid_lifetime, extract(epoch from expire)::bigint, subnet_id, fqdn_fwd, "
                 f"fqdn_rev, hostname, state, user_context FROM lease4 WHERE address = "
                 f"'{addr}'::inet - '0.0.0.0'::inet")
    if not got:
        return None
    keys = ("address", "hwaddr", "client_id", "valid_lifetime", "expire", "subnet_id",
            "fqdn_fwd", "fqdn_rev", "hostname", "state", "user_context")
    return dict(zip(keys, got[0]))


def reboot(client, addr: str):
    """INIT-REBOOT (RFC 2131 §4.3.2): a client asking for the address it had; the reply."""
    xid = new_xid()
    return client.ask(reference.request(client.mac, xid, requested_ip=addr), xid=xid,
                      types={MsgType.DHCPACK, MsgType.DHCPNAK}, timeout=1.5, tries=2)


def test_an_acked_lease_is_a_lease4_row_as_kea_writes_it(lab, topo, servers, raw, db):
    cfg, _ = pg_config(topo, lab, db, "row")
    servers.start(cfg)
    t0 = int(time.time())
    ack = raw_dora(raw, hostname="pc-1")
    r = row(db, ack.pkt.yiaddr)
    assert r is not None, "no lease4 row for the ACKed address"
    assert r["hwaddr"] == raw.mac.hex() and r["subnet_id"] == "1" and r["state"] == "0"
    assert r["valid_lifetime"] == "600" and t0 + 599 <= int(r["expire"]) <= int(time.time()) + 601
    assert r["fqdn_fwd"] == "f" and r["fqdn_rev"] == "f" and r["user_context"] == ""
    assert r["client_id"] == ""                     # (no option 61: Kea's empty client id)


def test_a_release_deletes_the_row(lab, topo, servers, raw, db):
    cfg, _ = pg_config(topo, lab, db, "release")
    servers.start(cfg)
    ack = raw_dora(raw)
    addr = ack.pkt.yiaddr
    assert row(db, addr) is not None
    raw.send(reference.release(raw.mac, new_xid(), ciaddr=addr, server_id=ack.opt_ip(54)),
             src_ip=addr, dst_ip=ack.opt_ip(54))
    lab.wait_for(lambda: row(db, addr) is None, timeout=5, what="the row deleted")


def test_the_leases_are_loaded_at_start(lab, topo, servers, raw, db):
    cfg, _ = pg_config(topo, lab, db, "restart")
    first = servers.start(cfg)
    addr = raw_dora(raw).pkt.yiaddr
    servers.stop(first)
    servers.start(cfg)
    reply = reboot(raw, addr)
    assert reply is not None and reply.pkt.msg_type == MsgType.DHCPACK and reply.pkt.yiaddr == addr


@not_in_kea22("a differential of its own: both servers run")
def test_kea_and_fastdhcp_serve_each_others_leases(lab, topo, servers, raw, db):
    cfg, _ = pg_config(topo, lab, db, "interop")
    kea = servers.start(cfg, kind="kea")
    by_kea = raw_dora(raw).pkt.yiaddr
    servers.stop(kea)
    fast = servers.start(cfg)
    reply = reboot(raw, by_kea)            # fastdhcp loaded Kea's row: the same address
    assert reply is not None and reply.pkt.msg_type == MsgType.DHCPACK and reply.pkt.yiaddr == by_kea
    other = RawClientOnOtherMac(lab, topo)
    with other as client:
        by_fast = raw_dora(client).pkt.yiaddr
        servers.stop(fast)
        kea = servers.start(cfg, kind="kea")
        reply = reboot(client, by_fast)    # Kea reads fastdhcp's row from the database
        assert reply is not None and reply.pkt.msg_type == MsgType.DHCPACK
        assert reply.pkt.yiaddr == by_fast
        servers.stop(kea)
    dump = db.kea_lease_dump(lab.path(f"dump-{new_xid():x}.csv"))
    lines = dump.splitlines()
    assert lines[0].startswith("address,hwaddr,client_id,valid_lifetime,expire,subnet_id")
    assert any(line.startswith(f"{by_fast},{client.mac.hex(':')},") for line in lines[1:]), dump
    assert any(line.startswith(f"{by_kea},") for line in lines[1:])


class RawClientOnOtherMac:
    """A second raw-frame client on its own namespace of the client link."""

    def __init__(self, lab, topo):
        from e2e import RawClient
        ns, ifname, mac = topo.client()
        self.client = RawClient(lab, ns, ifname, mac)

    def __enter__(self):
        return self.client.__enter__()

    def __exit__(self, *exc):
        return self.client.__exit__(*exc)


@not_in_kea22("fastdhcp's own start checks and texts")
@pytest.mark.parametrize("spoil, expect", [
    ({"password": "wrong"}, "cannot connect to the PostgreSQL database 'kea'"),
    ({"name": "nosuchdb"}, "cannot connect to the PostgreSQL database 'nosuchdb'"),
    ("UPDATE schema_version SET version = '12'", "has Kea schema version 12.0; fastdhcp "
                                                 "speaks Kea 2.2's 13.0"),
    ("ALTER TABLE lease4 ADD COLUMN extra int", "lease4 in the PostgreSQL database 'kea' at"),
    ("ALTER ROLE kea CONNECTION LIMIT 0", "too many connections for role"),   # none left
])
def test_a_database_it_cannot_use_is_refused_with_what_to_look_at(lab, topo, servers, db,
                                                                    spoil, expect):
    extra = spoil if isinstance(spoil, dict) else {}
    if isinstance(spoil, str):
        (db.sql_as_postgres if spoil.startswith("ALTER ROLE") else db.sql)(spoil)
    try:
        cfg, _ = pg_config(topo, lab, db, "bad", **extra)
        proc = servers.launch(cfg)
        assert proc.wait(timeout=20) == 1
        servers.procs.remove(proc)
        log = server_log(proc)
        assert "DHCP4_INIT_FAIL" in log and expect in log, log[-2000:]
        assert "Traceback" not in log, log[-2000:]
    finally:
        if isinstance(spoil, str) and spoil.startswith("ALTER TABLE"):
            db.sql("ALTER TABLE lease4 DROP COLUMN extra")
        if isinstance(spoil, str) and spoil.startswith("ALTER ROLE"):
            db.sql_as_postgres("ALTER ROLE kea CONNECTION LIMIT -1")


@not_in_kea22("fastdhcp's status and reconnect (Kea's own differ in detail)")
def test_no_ack_leaves_while_the_database_is_down_and_service_resumes(lab, topo, servers, raw,
                                                                      db):
    cfg, sock = pg_config(topo, lab, db, "outage", **{
        "max-reconnect-tries": 1000, "reconnect-wait-time": 200,
        "on-fail": "serve-retry-continue"})
    servers.start(cfg)
    before = raw_dora(raw).pkt.yiaddr
    db.kill()
    try:
        # a renewal needs its row committed: no ACK while the database is down
        xid = new_xid()
        reply = raw.ask(reference.request(raw.mac, xid, ciaddr=before), xid=xid,
                        types={MsgType.DHCPACK}, timeout=1.0, tries=2, src_ip=before, dst_ip=SRV_IP)
        assert reply is None, "an ACK left without its row committed"
        status = control(sock, "status-get")["arguments"]["lease-database"]
        assert status["state"] != "up" and status["failures"] >= 1, status
    finally:
        db.restart()
    lab.wait_for(lambda: control(sock, "status-get")["arguments"]["lease-database"]["state"]
                 == "up", timeout=20, what="the lease database reconnected")
    xid = new_xid()
    reply = raw.ask(reference.request(raw.mac, xid, ciaddr=before), xid=xid,
                    types={MsgType.DHCPACK}, timeout=1.5, tries=3, src_ip=before, dst_ip=SRV_IP)
    assert reply is not None and reply.pkt.yiaddr == before
    assert row(db, before) is not None


# ---- fastdhcp db ---------------------------------------------------------------------------------

def fastdhcp_db(lab, pg, *argv, database=None):
    path = lab.path(f"db-{new_xid():x}.json")
    ld = pg.lease_database()
    if database:
        ld["name"] = database
    with open(path, "w") as f:
        json.dump({"Dhcp4": {"lease-database": ld, "subnet4": [
            {"id": 1, "subnet": f"{NET}.0/24", "pools": [{"pool": f"{NET}.100 - {NET}.199"}]}]}},
            f)
    return subprocess.run([sys.executable, "-m", "fastdhcp", "db", *argv, "-c", path],
                          capture_output=True, text=True, timeout=120)


@not_in_kea22("fastdhcp's own command")
def test_db_init_creates_keas_schema_where_there_is_none(lab, pg):
    name = f"fresh{new_xid() & 0xffff:x}"
    pg.sql_as_postgres(f"CREATE DATABASE {name} OWNER {pg.user}")
    r = fastdhcp_db(lab, pg, "init", database=name)
    assert r.returncode == 0, r.stdout + r.stderr
    r = fastdhcp_db(lab, pg, "status", database=name)
    assert r.returncode == 0 and "Kea schema 13.0" in r.stdout and "leases: 0" in r.stdout, r
    again = fastdhcp_db(lab, pg, "init", database=name)
    assert again.returncode == 0 and "nothing to do" in again.stdout


@not_in_kea22("fastdhcp's own command")
def test_db_leases_export_and_import_round_trip(lab, db):
    now = int(time.time())
    memfile = lab.path(f"import-{new_xid():x}.csv")
    with open(memfile, "w") as f:
        f.write("address,hwaddr,client_id,valid_lifetime,expire,subnet_id,fqdn_fwd,fqdn_rev,"
                "hostname,state,user_context\n"
                f"{NET}.150,02:00:00:00:01:50,01:02:00:00:00:01:50,600,{now + 600},1,0,0,"
                f"a&#x2cb,0,\n"
                f"{NET}.151,02:00:00:00:01:51,,600,{now + 600},1,1,1,host151.lab.example,0,\n"
                f"{NET}.152,02:00:00:00:01:52,,600,{now + 600},1,0,0,,1,\n"
                f"{NET}.151,02:00:00:00:01:51,,0,{now},1,0,0,,0,\n")    # 151 removed again
    r = fastdhcp_db(lab, db, "leases", "import", memfile)
    assert r.returncode == 0, r.stdout + r.stderr
    assert row(db, f"{NET}.150")["hostname"] == "a,b"
    assert row(db, f"{NET}.150")["client_id"] == "01020000000150"
    assert row(db, f"{NET}.151") is None and row(db, f"{NET}.152")["state"] == "1"
    out = lab.path(f"export-{new_xid():x}.csv")
    r = fastdhcp_db(lab, db, "leases", "export", "-o", out)
    assert r.returncode == 0, r.stdout + r.stderr
    lines = open(out).read().splitlines()
    assert lines[0] == ("address,hwaddr,client_id,valid_lifetime,expire,subnet_id,fqdn_fwd,"
                        "fqdn_rev,hostname,state,user_context")
    assert lines[1] == f"{NET}.150,02:00:00:00:01:50,01:02:00:00:00:01:50,600,{now + 600},1,0,0," \
                       f"a&#x2cb,0,"
    assert len(lines) == 3
    status = fastdhcp_db(lab, db, "status")
    assert "subnet 1: 1 default" in status.stdout and "subnet 1: 1 declined" in status.stdout


def test_the_lease_commands_write_the_database(lab, topo, servers, db):
    cfg, sock = pg_config(topo, lab, db, "cmds")
    servers.start(cfg)
    add = control(sock, "lease4-add", {"ip-address": f"{NET}.160", "hw-address":
                                       "02:00:00:00:01:60", "subnet-id": 1, "hostname": "added"})
    assert add["result"] == 0, add
    lab.wait_for(lambda: row(db, f"{NET}.160") is not None, timeout=5, what="the added row")
    assert row(db, f"{NET}.160")["hostname"] == "added"
    assert control(sock, "lease4-del", {"ip-address": f"{NET}.160"})["result"] == 0
    lab.wait_for(lambda: row(db, f"{NET}.160") is None, timeout=5, what="the row deleted")
