"""Kea's lease_cmds hook, built in: lease4-add, -update, -get, -get-all, -get-page,
-get-by-hw-address, -get-by-client-id, -get-by-hostname, -get-by-state (Kea 2.7), -del, -wipe,
-write, with Kea 2.2's argument checks, texts and result codes (src/hooks/dhcp/lease_cmds).

Every change goes through the allocator the packets use, so its rules hold (one address for one
client, a reserved address kept for its owner, the pools' bitmaps and the indexes updated) and
the next packet sees it; its row is in the lease file (and fdatasync'd under ``--durability
fsync``) before the answer leaves. Walks over many leases go through the native address-ordered
``Allocator.walk`` in slices, yielding to the loop between them, so a million-lease walk never
holds up a packet batch for more than one slice.

Lookups by hardware address, client id, host name and state walk the table in those slices: no
index is kept for them (see docs/kea-differences.md).

Deliberate differences: fastdhcp keeps one lease per client per subnet, so lease4-add of a
second address for a client that holds one is refused; a declined address stays on probation
(lease4-del answers 1); an offer is not a lease (Kea 2.2 keeps none either).
"""

from __future__ import annotations

import ipaddress
import os
import re
import time
from typing import Any

from .._enums import LeaseState
from ..leases.lease import KEA_V4_HEADER
from .answers import EMPTY, SUCCESS, CommandError, Serialised, Streamed, answer
from .pacing import pause
from .registry import command

HOOK = "lease_cmds"
# Slices of work between which packet batches run (and, under saturation, get their share first:
# pacing.py), each well under a millisecond or two of the loop.
SLICE = 1_000                # leases per slice of a walk into Lease objects: ~2 us each
WRITE_SLICE = 500            # leases per slice written as JSON natively: ~1 us each
INDEX_SLICE = 5_000          # records filed per step of the lookup indexes' first build
VISIT_SLICE = 1 << 16        # address-directory entries a walk visits per slice (~1 ms where
                             # the address space is empty, past the last lease)
_KEA_STATE = {LeaseState.BOUND: 0, LeaseState.DECLINED: 1, LeaseState.EXPIRED: 2}
_HEX = re.compile(r"^[0-9A-Fa-f]{1,2}([:-][0-9A-Fa-f]{1,2})*$|^[0-9A-Fa-f]+$")


# ---- lease objects, as Kea's Lease4::toElement ------------------------------------------------------

def lease_json(lease) -> dict:
    out: dict[str, Any] = {
        "cltt": lease.expire - lease.valid_lifetime, "fqdn-fwd": lease.fqdn_fwd,
        "fqdn-rev": lease.fqdn_rev, "hostname": lease.hostname,
        "hw-address": ":".join(f"{b:02x}" for b in lease.hwaddr),
        "ip-address": lease.address, "state": _KEA_STATE.get(lease.state, 0),
        "subnet-id": lease.subnet_id, "valid-lft": lease.valid_lifetime}
    if lease.client_id:
        out["client-id"] = ":".join(f"{b:02x}" for b in lease.client_id)
    if lease.pool_id:
        out["pool-id"] = lease.pool_id           # (Kea 2.6 adds it when non-zero)
    return out


def _visible(lease) -> bool:
    return lease is not None and lease.state in _KEA_STATE


def _leases(items: list) -> dict:
    return answer(SUCCESS if items else EMPTY, f"{len(items)} IPv4 lease(s) found.",
                  {"leases": items})


# ---- arguments -----------------------------------------------------------------------------------

def _map(args: Any, text: str = "Parameters missing or are not a map.") -> dict:
    if not isinstance(args, dict):
        raise CommandError(text)
    return args


def _ip(value: Any, what: str = "ip-address") -> str:
    if not isinstance(value, str):
        raise CommandError(f"'{what}' is not a string.")
    try:
        return str(ipaddress.IPv4Address(value))
    except ValueError:
        raise CommandError(f"Failed to convert string to address '{value}': Invalid argument") \
            from None


def _hex(text: Any, what: str) -> bytes:
    if not isinstance(text, str):
        raise CommandError(f"'{what}' parameter must be a string")
    s = text.strip()
    for ch in s:
        if ch not in "0123456789abcdefABCDEF:- ":
            raise CommandError(f"'{ch}' is not a valid hexadecimal digit in decoded string "
                               f"'{text}'")
    if not s or not _HEX.match(s.replace(" ", ":")):
        raise CommandError(f"invalid format of the decoded string '{text}'")
    if re.search(r"[:-]", s):
        return bytes(int(p, 16) for p in re.split(r"[:-]", s))
    return bytes.fromhex(("0" if len(s) % 2 else "") + s)


def _int(args: dict, key: str) -> int:
    v = args[key]
    if not isinstance(v, int) or isinstance(v, bool):
        raise CommandError(f"'{key}' parameter is not integer.")
    return v


def _subnet_of(server, address: str, subnet_id: int | None):
    a = int(ipaddress.IPv4Address(address))
    if subnet_id is None:
        for s in server.config.subnets:
            if s.network <= a <= s.broadcast:
                return s
        raise CommandError(f"subnet-id not specified and failed to find a subnet for address "
                           f"{address}")
    s = server.config.subnet_index.get(subnet_id)
    if s is None:
        raise CommandError(f"Invalid subnet-id: No IPv4 subnet with subnet-id={subnet_id} "
                           f"currently configured.")
    if not s.network <= a <= s.broadcast:
        raise CommandError(f"The address {address} does not belong to subnet {s.prefix}, "
                           f"subnet-id={s.id}")
    return s


def _query(server, args: dict) -> tuple[str, Any]:
    """lease4-get's and lease4-del's selection: ("address", ip) or ("key", (sid, hw, cid))."""
    if "ip-address" in args:
        return "address", _ip(args["ip-address"])
    if "subnet-id" not in args:
        raise CommandError("Mandatory 'subnet-id' parameter missing.")
    sid = _int(args, "subnet-id")
    kind, ident = args.get("identifier-type"), args.get("identifier")
    if not isinstance(kind, str) or not isinstance(ident, str):
        raise CommandError("No 'ip-address' provided and 'identifier-type' is either missing "
                           "or not a string.")
    if kind not in ("hw-address", "client-id", "duid"):
        raise CommandError(f"Incorrect identifier type: {kind}, the only supported values are: "
                           f"address, hw-address, duid")
    if kind == "duid":
        raise CommandError("Query by duid is not allowed in v4.")
    raw = _hex(ident, "identifier")
    return "key", (sid, kind, raw)


async def _find_key(server, sid: int, kind: str, raw: bytes):
    """The lease of a client named by hw-address or client-id in subnet ``sid``."""
    if sid not in server.config.subnet_index:
        return None
    await _lookups_ready(server)
    found = server.engine.alloc.lookup(kind, raw, sid)
    return found[0] if found else None


async def _scan(server, match, *, subnets: set | None = None) -> list:
    """Every visible lease for which ``match`` holds, in address order, slice by slice."""
    out, after = [], -1
    while after is not None:
        chunk, after = server.engine.alloc.walk(after, SLICE, VISIT_SLICE)
        for lease in chunk:
            if (subnets is None or lease.subnet_id in subnets) and match(lease):
                out.append(lease)
        await pause(server)              # packet batches run here, and come first
    return out


async def _lookups_ready(server) -> None:
    """The lookup indexes built (the first lookup builds them in steps, packets in between)."""
    while not server.engine.alloc.prepare_lookups(INDEX_SLICE):
        await pause(server)


def _commit(server) -> None:
    """The allocator's journal into the lease file (fdatasync'd as --durability says) before
    the answer: as durable as an ACK."""
    server.engine.reclaim(int(time.time()), server.lease_fd)


# ---- reading -------------------------------------------------------------------------------------

@command("lease4-get", hook=HOOK)
async def lease4_get(server, args) -> dict:
    args = _map(args)
    kind, q = _query(server, args)
    if kind == "address":
        lease = server.engine.alloc.lease(q)
    else:
        lease = await _find_key(server, *q)
    if not _visible(lease):
        return answer(EMPTY, "Lease not found.")
    return answer(SUCCESS, "IPv4 lease found.", lease_json(lease))


@command("lease4-get-all", hook=HOOK)
async def lease4_get_all(server, args) -> dict:
    subnets = None
    if args is not None:
        args = _map(args)
        if "subnets" not in args:
            raise CommandError("'subnets' parameter not specified")
        if not isinstance(args["subnets"], list):
            raise CommandError("'subnets' parameter must be a list")
        if not all(isinstance(x, int) and not isinstance(x, bool) for x in args["subnets"]):
            raise CommandError("listed subnet identifiers must be numbers")
        subnets = set(args["subnets"])
    alloc = server.engine.alloc          # (a reload while it streams: the table it began on)

    def step(after):
        return alloc.walk_json(after, WRITE_SLICE, subnets, VISIT_SLICE)

    def finish(count, listing):
        return answer(SUCCESS if count else EMPTY, f"{count} IPv4 lease(s) found.",
                      {"leases": listing})
    return Streamed(step, -1, finish)


async def _written(server, subnets: set | None, limit: int | None = None,
                   after: int = -1) -> Serialised:
    """The visible leases (of ``subnets``; at most ``limit``) after address ``after``, in
    address order, as Kea's lease JSON written natively (Allocator.walk_json) slice by slice."""
    parts: list[bytes] = []
    count = 0
    while after is not None and (limit is None or count < limit):
        want = WRITE_SLICE if limit is None else min(WRITE_SLICE, limit - count)
        text, n, after = server.engine.alloc.walk_json(after, want, subnets, VISIT_SLICE)
        if n:
            if parts:
                parts.append(b", ")
            parts.append(text)
            count += n
        if after is not None and (limit is None or count < limit):
            await pause(server)          # packet batches run here, and come first
    return Serialised(parts, count)


@command("lease4-get-page", hook=HOOK)
async def lease4_get_page(server, args) -> dict:
    if not isinstance(args, dict):
        raise CommandError("no parameters specified for the lease4-get-page command")
    if "from" not in args:
        raise CommandError("'from' parameter not specified")
    start = args["from"]
    if not isinstance(start, str):
        raise CommandError("'from' parameter must be a string")
    if start == "start":
        after = -1
    else:
        try:
            after = int(ipaddress.IPv4Address(start))
        except ValueError:
            raise CommandError("'from' parameter value is neither 'start' keyword nor a valid "
                               "IPv4 address") from None
    if "limit" not in args:
        raise CommandError("'limit' parameter not specified")
    limit = args["limit"]
    if not isinstance(limit, int) or isinstance(limit, bool):
        raise CommandError("'limit' parameter must be a number")
    if limit <= 0:
        raise CommandError("page size of retrieved leases must not be 0")
    written = await _written(server, None, limit, after)
    return answer(SUCCESS if written.count else EMPTY, f"{written.count} IPv4 lease(s) found.",
                  {"count": written.count, "leases": written})


@command("lease4-get-by-hw-address", hook=HOOK)
async def lease4_get_by_hw_address(server, args) -> dict:
    args = _map(args, "Command arguments missing or a not a map.")
    if "hw-address" not in args:
        raise CommandError("'hw-address' parameter not specified")
    raw = _hex(args["hw-address"], "hw-address")
    await _lookups_ready(server)
    return _leases([lease_json(l) for l in server.engine.alloc.lookup("hw-address", raw)])


@command("lease4-get-by-client-id", hook=HOOK)
async def lease4_get_by_client_id(server, args) -> dict:
    args = _map(args, "Command arguments missing or a not a map.")
    if "client-id" not in args:
        raise CommandError("'client-id' parameter not specified")
    raw = _hex(args["client-id"], "client-id")
    await _lookups_ready(server)
    return _leases([lease_json(l) for l in server.engine.alloc.lookup("client-id", raw)])


@command("lease4-get-by-hostname", hook=HOOK)
async def lease4_get_by_hostname(server, args) -> dict:
    args = _map(args, "Command arguments missing or a not a map.")
    if "hostname" not in args:
        raise CommandError("'hostname' parameter not specified")
    name = args["hostname"]
    if not isinstance(name, str):
        raise CommandError("'hostname' parameter must be a string")
    if not name:
        raise CommandError("'hostname' parameter is empty")
    # (compared case-insensitively, as Kea's memfile index of lower-cased names does)
    await _lookups_ready(server)
    return _leases([lease_json(l) for l in server.engine.alloc.lookup("hostname", name)])


@command("lease4-get-by-state", hook=HOOK)
async def lease4_get_by_state(server, args) -> dict:
    args = _map(args, "Command arguments missing or a not a map.")
    if "state" not in args:
        raise CommandError("'state' parameter not specified")
    state = args["state"]
    if not isinstance(state, int) or isinstance(state, bool):
        raise CommandError("'state' parameter must be a number")
    subnet_id = _int(args, "subnet-id") if "subnet-id" in args else None
    if state == 0:
        # Bound leases are most of the table: the sliced walk lists them in address order and
        # lets packet batches run in between; the index is for the rarer states.
        found = await _scan(server, lambda l: l.state == LeaseState.BOUND,
                            subnets=None if subnet_id is None else {subnet_id})
    else:
        await _lookups_ready(server)
        found = server.engine.alloc.lookup("state", state, subnet_id)
    return _leases([lease_json(l) for l in found])


# ---- changing ------------------------------------------------------------------------------------

def _lease_args(server, args: Any, cmd: str) -> dict:
    """Kea's Lease4Parser: the lease a lease4-add or lease4-update describes."""
    if not isinstance(args, dict):
        raise CommandError("no parameters specified for the command" if cmd == "lease4-add"
                           else f"no parameters specified for {cmd} command")
    if "ip-address" not in args:
        raise CommandError("missing parameter 'ip-address'")
    address = _ip(args["ip-address"])
    _owned_here(server, address)
    sid = _int(args, "subnet-id") if "subnet-id" in args else None
    if sid == 0:
        sid = None
    subnet = _subnet_of(server, address, sid)
    if "hw-address" not in args:
        raise CommandError("missing parameter 'hw-address'")
    hw = _hex(args["hw-address"], "hw-address")
    cid = _hex(args["client-id"], "client-id") if args.get("client-id") else None
    valid = _int(args, "valid-lft") if "valid-lft" in args else subnet.valid_lifetime
    now = int(time.time())
    cltt = now
    if "expire" in args:
        cltt = _int(args, "expire") - valid
    hostname = args.get("hostname", "")
    if not isinstance(hostname, str):
        raise CommandError("'hostname' parameter must be a string")
    state = _int(args, "state") if "state" in args else 0
    if state != 0:
        raise CommandError("fastdhcp takes leases in the default state (0) only: a declined or "
                           "expired lease comes from the server's own handling")
    for key in ("fqdn-fwd", "fqdn-rev"):
        if key in args and not isinstance(args[key], bool):
            raise CommandError(f"'{key}' parameter must be a boolean")
    return {"address": address, "subnet": subnet, "hw": hw, "cid": cid, "valid": valid,
            "cltt": cltt, "hostname": hostname, "fqdn_fwd": args.get("fqdn-fwd", False),
            "fqdn_rev": args.get("fqdn-rev", False)}


def _owned_here(server, address: str) -> None:
    """In a cluster, an address is written by its shard's owner only (fastdhcp.cluster)."""
    c = server.cluster
    if c is not None:
        shard = server.engine.shard_of(address)
        if shard not in c.owned:
            raise CommandError(f"{address} is in shard {shard}, which another server of the "
                               f"cluster owns: send the command to it (status-get shows a "
                               f"server's shards)")


def _holder_check(server, spec: dict) -> None:
    """The table keeps one lease per client per subnet; another address the client holds is a
    refusal here (Kea would keep both)."""
    mine = server.engine.alloc.lease_of(spec["subnet"].id, spec["hw"], client_id=spec["cid"])
    if _visible(mine) and mine.state == LeaseState.BOUND and mine.address != spec["address"]:
        raise CommandError(f"the client already holds {mine.address} in subnet-id "
                           f"{spec['subnet'].id}: fastdhcp keeps one lease per client per subnet")


def _bind(server, spec: dict) -> None:
    outcome = server.engine.alloc.request(
        spec["subnet"].id, spec["hw"], spec["address"], client_id=spec["cid"],
        lifetime=spec["valid"], now=spec["cltt"], hostname=spec["hostname"],
        fqdn_fwd=spec["fqdn_fwd"], fqdn_rev=spec["fqdn_rev"])
    if outcome != "ack":
        why = {"taken": "the address is held by another client",
               "reserved-elsewhere": "the client has a reservation for another address",
               "unavailable": "the address is reserved for another client or excluded",
               "wrong-subnet": "the address is not in the subnet"}.get(outcome, outcome)
        raise CommandError(f"Lease for address {spec['address']} could not be added: {why}")
    _commit(server)


@command("lease4-add", hook=HOOK)
async def lease4_add(server, args) -> dict:
    spec = _lease_args(server, args, "lease4-add")
    if _visible(server.engine.alloc.lease(spec["address"])):
        raise CommandError("IPv4 lease already exists.")
    _holder_check(server, spec)
    _bind(server, spec)
    return answer(SUCCESS, f"Lease for address {spec['address']}, subnet-id "
                           f"{spec['subnet'].id} added.")


@command("lease4-update", hook=HOOK)
async def lease4_update(server, args) -> dict:
    spec = _lease_args(server, args, "lease4-update")
    force = args.get("force-create", False)
    if not isinstance(force, bool):
        raise CommandError("'force-create' parameter must be a boolean")
    old = server.engine.alloc.lease(spec["address"])
    if not _visible(old):
        if not force:
            raise CommandError(f"failed to update the lease with address {spec['address']} "
                               f"either because the lease has been deleted or it has changed "
                               f"in the database, in both cases a retry might succeed")
        _holder_check(server, spec)
        _bind(server, spec)
        return answer(SUCCESS, "IPv4 lease added.")
    if old.hwaddr != spec["hw"] or (old.client_id or None) != spec["cid"]:
        _holder_check(server, spec)      # another client takes the address over
        server.engine.alloc.remove(spec["address"], int(time.time()))
    _bind(server, spec)
    return answer(SUCCESS, "IPv4 lease updated.")


@command("lease4-del", hook=HOOK)
async def lease4_del(server, args) -> dict:
    args = _map(args)
    kind, q = _query(server, args)
    lease = server.engine.alloc.lease(q) if kind == "address" else await _find_key(server, *q)
    if not _visible(lease):
        return answer(EMPTY, "IPv4 lease not found.")
    _owned_here(server, lease.address)
    if lease.state == LeaseState.DECLINED:
        raise CommandError(f"{lease.address} is declined: it stays out of the pool until its "
                           f"probation ends (decline-probation-period)")
    server.engine.alloc.remove(lease.address, int(time.time()))
    _commit(server)
    return answer(SUCCESS, "IPv4 lease deleted.")


@command("lease4-wipe", hook=HOOK)
async def lease4_wipe(server, args) -> dict:
    if args is not None:
        args = _map(args)
    sid = _int(args, "subnet-id") if args and "subnet-id" in args else 0
    if sid and sid not in server.config.subnet_index:
        raise CommandError(f"Invalid subnet-id: No IPv4 subnet with subnet-id={sid} currently "
                           f"configured.")
    ids = [sid] if sid else [s.id for s in server.config.subnets]
    victims = await _scan(server, lambda l: l.state != LeaseState.DECLINED, subnets=set(ids))
    now = int(time.time())
    n = 0
    for i, lease in enumerate(victims):
        n += server.engine.alloc.remove(lease.address, now)
        if i % SLICE == SLICE - 1:
            _commit(server)
            await pause(server)
    _commit(server)
    text = f"Deleted {n} IPv4 lease(s) from subnet(s) {' '.join(map(str, ids))}"
    return answer(SUCCESS if n else EMPTY, text)


@command("lease4-write", hook=HOOK)
async def lease4_write(server, args) -> dict:
    args = _map(args)
    name = args.get("filename")
    if not isinstance(name, str) or not name:
        raise CommandError("'filename' parameter must be a string" if name is not None
                           else "'filename' parameter not specified")
    live = server.lease_path()
    if live and os.path.abspath(name) == os.path.abspath(live):
        raise CommandError(f"'filename' parameter is the current lease file '{live}'")
    rows = [KEA_V4_HEADER]
    for lease in await _scan(server, lambda l: True):
        rows.append(lease.kea_row())
    tmp = f"{name}.tmp{os.getpid()}"
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write("\n".join(rows) + "\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, name)
    except OSError as e:
        raise CommandError(f"Unable to open file '{name}' for writing: {e.strerror}") from None
    return answer(SUCCESS, f"IPv4 lease database into '{name}'.")


@command("lease4-resend-ddns", hook=HOOK)
async def lease4_resend_ddns(server, args) -> dict:
    """Queue an add for the lease's name again (Kea's lease4ResendDdnsHandler, its texts)."""
    args = _map(args)
    if "ip-address" not in args:
        raise CommandError("'ip-address' parameter is missing.")
    addr = _ip(args["ip-address"])
    if server.ddns is None:
        raise CommandError("DDNS updating is not enabled")
    status, host = server.engine.queue_name_add(addr)
    if status == 1:
        return answer(EMPTY, f"No lease found for: {addr}")
    if status == 2:
        raise CommandError(f"Lease for: {addr}, has no hostname, nothing to update")
    if status == 3:
        raise CommandError(f"Neither forward nor reverse updates enabled for lease for: {addr}")
    if status == 4:
        raise CommandError(f"NCR for: {addr} not queued: the queue (max-queue-size) is full")
    server.ddns_drain()
    return answer(SUCCESS, f"NCR generated for: {addr}, hostname: {host}")
