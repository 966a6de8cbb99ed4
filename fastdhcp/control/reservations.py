"""Host reservations at run time: Kea's host_cmds commands (Kea 2.7+/3.x shapes), on the
reservations of the configuration.

A reservation added, updated or deleted here changes the running configuration's document
(``Dhcp4.subnet4[..].reservations``, or ``Dhcp4.reservations`` for subnet-id 0), which then goes
through the same checks and the same switch-over as a config-set: a change the checks refuse is
answered with result 1 and every problem, and nothing changes; ``config-write`` keeps the
change. Kea's host_cmds needs a host database for add/del (``operation-target`` "database");
here the configuration is the store (Kea's "memory" target), so every target means it.

The switch-over rebuilds the tables and carries the leases over natively, as a reload does
(about half a second per million leases, during which packets wait in the socket): fine for
an operator's changes, not for thousands a second.
"""

from __future__ import annotations

import copy
import ipaddress
import re
from typing import Any

from ..config.values import _identifier_bytes
from .answers import EMPTY, SUCCESS, CommandError, answer
from .daemon import apply_document
from .registry import command

HOOK = "host_cmds"
IDENTIFIERS = ("hw-address", "duid", "circuit-id", "client-id", "flex-id")
_DEFAULTS = {"boot-file-name": "", "client-classes": [], "hostname": "", "next-server": "0.0.0.0",
             "option-data": [], "server-hostname": ""}
_STEP = re.compile(r"([A-Za-z0-9-]+)|\[(\d+)\]")


def _at(doc: dict, path: str) -> Any:
    """The object at a model path ("Dhcp4.shared-networks[0].subnet4[1]")."""
    node: Any = doc
    for name, index in _STEP.findall(path):
        node = node[name] if name else node[int(index)]
    return node


def _params(name: str, args: Any) -> dict:
    if not isinstance(args, dict) or not args:
        raise CommandError("Parameters missing or are not a map.")
    return args


def _int(args: dict, key: str, *, low: int = 0, high: int = 0xFFFFFFFF) -> int:
    v = args[key]
    if not isinstance(v, int) or isinstance(v, bool):
        raise CommandError(f"'{key}' is not an integer")
    if not low <= v <= high:
        raise CommandError(f"out of range value ({v}) specified for parameter '{key}'")
    return v


def _subnet_id(server, args: dict, *, required: bool) -> int | None:
    if "subnet-id" not in args:
        if required:
            raise CommandError("missing parameter 'subnet-id'")
        return None
    sid = _int(args, "subnet-id")
    if sid and sid not in server.config.subnet_index:
        raise CommandError(f"IPv4 subnet with ID of '{sid}' is not configured")
    return sid


def _identifier(args: dict) -> tuple[str, bytes]:
    kind, ident = args.get("identifier-type"), args.get("identifier")
    if not isinstance(kind, str):
        raise CommandError("'identifier-type' is either missing or not a string.")
    if not isinstance(ident, str):
        raise CommandError("'identifier' is either missing or not a string.")
    if kind not in IDENTIFIERS:
        raise CommandError("Value of 'identifier-type' was not recognized.")
    if not ident.strip():
        raise CommandError("Unable to query for empty 'identifier'.")
    raw = _identifier_bytes(kind, ident)
    if isinstance(raw, str):
        raise CommandError("Unable to parse 'identifier' value.")
    return kind, raw


def _address(args: dict) -> int:
    v = args.get("ip-address")
    if not isinstance(v, str):
        raise CommandError("'ip-address' is not a string.")
    try:
        return int(ipaddress.IPv4Address(v))
    except ValueError:
        raise CommandError(f"Failed to parse IP address {v}") from None


# ---- the reservations of the running configuration ------------------------------------------------

def _all(server) -> list:
    """Every reservation of the running configuration: subnets' in file order, then global."""
    out = [r for s in server.config.subnets for r in s.reservations]
    return out + list(server.config.global_reservations)


def host_json(server, r) -> dict:
    """A reservation as Kea's Host::toElement4 gives it, with its subnet-id."""
    given = _at(server.running_config_document(), r.path)
    out = {**copy.deepcopy(_DEFAULTS), **{k: copy.deepcopy(v) for k, v in given.items()
                                          if k not in IDENTIFIERS}}
    out[r.identifier_type] = ":".join(f"{b:02x}" for b in r.identifier)
    if r.ip_address:
        out["ip-address"] = str(ipaddress.IPv4Address(r.ip_address))
    else:
        out.pop("ip-address", None)
    out["subnet-id"] = r.subnet_id
    return out


def _hosts(server, rs) -> dict:
    hosts = [host_json(server, r) for r in rs]
    return answer(SUCCESS if hosts else EMPTY, f"{len(hosts)} IPv4 host(s) found.",
                  {"hosts": hosts})


def _find(server, args: dict) -> list:
    """reservation-get's and -del's selection: subnet-id with ip-address, or with an
    identifier."""
    sid = _subnet_id(server, args, required=False)
    if "ip-address" in args:
        addr = _address(args)
        if sid is None:
            raise CommandError(f"missing parameter 'subnet-id', use 'reservation-get-by-address' "
                               f"with 'ip-address' set to \"{args['ip-address']}\" to get the "
                               f"list of reservations with this address")
        return [r for r in _all(server) if r.subnet_id == sid and r.ip_address == addr]
    if "identifier-type" not in args and "identifier" not in args:
        raise CommandError("No 'ip-address' provided and 'identifier-type' is either missing "
                           "or not a string.")
    kind, raw = _identifier(args)
    if sid is None:
        raise CommandError(f"missing parameter 'subnet-id', use 'reservation-get-by-id' with "
                           f"'identifier-type' set to \"{kind}\" and 'identifier' to "
                           f"\"{args['identifier']}\" to get the list of reservations with "
                           f"this identifier")
    return [r for r in _all(server) if r.subnet_id == sid and r.identifier_type == kind
            and r.identifier == raw]


def _target(args: dict) -> None:
    if "operation-target" in args and args["operation-target"] not in (
            "memory", "database", "all", "default"):
        raise CommandError(f"The 'operation-target' value ({args['operation-target']}) is not "
                           f"within expected set: (memory, database, all, default)")


# ---- changing them: a new document, checked and applied as a config-set ----------------------------

def _list_for(doc: dict, server, sid: int) -> list:
    dhcp4 = doc["Dhcp4"]
    if sid == 0:
        return dhcp4.setdefault("reservations", [])
    return _at(doc, server.config.subnet(sid).path).setdefault("reservations", [])


def _reservation_arg(args: dict) -> dict:
    r = args.get("reservation")
    if r is None:
        raise CommandError("reservation must be specified")
    if not isinstance(r, dict):
        raise CommandError(f"invalid command: expected 'reservation' to be a map, got "
                           f"{type(r).__name__} instead")
    return r


def _entry_and_subnet(server, r: dict) -> tuple[dict, int, str]:
    entry = {k: copy.deepcopy(v) for k, v in r.items() if k != "subnet-id"}
    if "subnet-id" in r:
        sid = _subnet_id(server, r, required=True)
        note = ""
    else:
        if r.get("ip-address"):
            addr = _address(r)
            hits = [s for s in server.config.subnets if s.network <= addr <= s.broadcast]
            if not hits:
                raise CommandError(f"Mandatory 'subnet-id' parameter missing. The address "
                                   f"'{r['ip-address']}' belongs to no configured subnet.")
            raise CommandError(f"Mandatory 'subnet-id' parameter missing. The address "
                               f"'{r['ip-address']}' belongs to subnet '{hits[0].prefix}' id "
                               f"{hits[0].id}{' and others.' if len(hits) > 1 else '.'}")
        sid, note = 0, " subnet-id not specified, assumed global (subnet-id 0)."
    kinds = [k for k in IDENTIFIERS if k in entry]
    if len(kinds) != 1:
        raise CommandError("exactly one identifier (hw-address, duid, circuit-id, client-id or "
                           "flex-id) must be specified for a reservation")
    return entry, sid, note


@command("reservation-add", hook=HOOK)
async def reservation_add(server, args) -> dict:
    if not isinstance(args, dict):
        raise CommandError("no parameters specified for the command")
    _target(args)
    entry, sid, note = _entry_and_subnet(server, _reservation_arg(args))
    kind = next(k for k in IDENTIFIERS if k in entry)
    raw = _identifier_bytes(kind, entry[kind]) if isinstance(entry[kind], str) else None
    if any(r.subnet_id == sid and r.identifier_type == kind and r.identifier == raw
           for r in _all(server)):
        raise CommandError(f"Database duplicate entry error: a reservation for {kind} "
                           f"'{entry[kind]}' already exists in subnet-id {sid}")
    doc = copy.deepcopy(server.running_config_document())
    _list_for(doc, server, sid).append(entry)
    await apply_document(server, doc)
    return answer(SUCCESS, "Host added." + note)


@command("reservation-update", hook=HOOK)
async def reservation_update(server, args) -> dict:
    if not isinstance(args, dict) or not ({"reservation"} <= set(args) <= {"reservation",
                                                                          "operation-target"}):
        raise CommandError("invalid command: expected 'reservation' as the sole parameter "
                           "inside the 'arguments' map, got none")
    _target(args)
    entry, sid, _ = _entry_and_subnet(server, _reservation_arg(args))
    kind = next(k for k in IDENTIFIERS if k in entry)
    found = _find(server, {"subnet-id": sid, "identifier-type": kind,
                           "identifier": entry[kind]}) if sid else [
        r for r in _all(server) if r.subnet_id == 0 and r.identifier_type == kind
        and r.identifier == _identifier_bytes(kind, entry[kind])]
    if not found:
        raise CommandError("Host not updated (not found).")
    doc = copy.deepcopy(server.running_config_document())
    parent, index = _parent(doc, found[0].path)
    parent[index] = entry
    await apply_document(server, doc)
    return answer(SUCCESS, "Host updated.")


def _parent(doc: dict, path: str) -> tuple[list, int]:
    head, _, last = path.rpartition("[")
    return _at(doc, head), int(last.rstrip("]"))


@command("reservation-del", hook=HOOK)
async def reservation_del(server, args) -> dict:
    args = _params("reservation-del", args)
    _target(args)
    found = _find(server, args)
    if not found:
        return answer(EMPTY, "Host not deleted (not found).")
    doc = copy.deepcopy(server.running_config_document())
    for r in sorted(found, key=lambda r: r.path, reverse=True):
        parent, index = _parent(doc, r.path)
        del parent[index]
    await apply_document(server, doc)
    return answer(SUCCESS, "Host deleted.")


# ---- reading them ----------------------------------------------------------------------------------

@command("reservation-get", hook=HOOK)
async def reservation_get(server, args) -> dict:
    args = _params("reservation-get", args)
    _target(args)
    found = _find(server, args)
    if not found:
        return answer(EMPTY, "Host not found.")
    return answer(SUCCESS, "Host found.", host_json(server, found[0]))


@command("reservation-get-all", hook=HOOK)
async def reservation_get_all(server, args) -> dict:
    args = _params("reservation-get-all", args)
    _target(args)
    sid = _subnet_id(server, args, required=True)
    return _hosts(server, [r for r in _all(server) if r.subnet_id == sid])


@command("reservation-get-page", hook=HOOK)
async def reservation_get_page(server, args) -> dict:
    args = _params("reservation-get-page", args)
    if "limit" not in args:
        raise CommandError("missing parameter 'limit'")
    limit = _int(args, "limit", low=1)
    sid = _subnet_id(server, args, required=False)
    start = _int(args, "from") if "from" in args else 0
    if "source-index" in args:
        _int(args, "source-index", high=10)
    rs = [(i, r) for i, r in enumerate(_all(server), 1)
          if (sid is None or r.subnet_id == sid) and i > start][:limit]
    hosts = [host_json(server, r) for _, r in rs]
    out: dict[str, Any] = {"count": len(hosts), "hosts": hosts}
    if hosts:
        out["next"] = {"from": rs[-1][0], "source-index": 0}
    return answer(SUCCESS if hosts else EMPTY, f"{len(hosts)} IPv4 host(s) found.", out)


@command("reservation-get-by-hostname", hook=HOOK)
async def reservation_get_by_hostname(server, args) -> dict:
    args = _params("reservation-get-by-hostname", args)
    name = args.get("hostname")
    if not isinstance(name, str):
        raise CommandError("missing parameter 'hostname'")
    if not name:
        raise CommandError("Empty hostname")
    sid = _subnet_id(server, args, required=False)
    name = name.lower()            # (Kea compares host names lower-cased)
    return _hosts(server, [r for r in _all(server) if (r.hostname or "").lower() == name
                           and (sid is None or r.subnet_id == sid)])


@command("reservation-get-by-id", hook=HOOK)
async def reservation_get_by_id(server, args) -> dict:
    args = _params("reservation-get-by-id", args)
    if "subnet-id" in args:
        raise CommandError("'subnet-id' is forbidden in reservation-get-by-id")
    kind, raw = _identifier(args)
    return _hosts(server, [r for r in _all(server) if r.identifier_type == kind
                           and r.identifier == raw])


@command("reservation-get-by-address", hook=HOOK)
async def reservation_get_by_address(server, args) -> dict:
    args = _params("reservation-get-by-address", args)
    addr = _address(args)
    sid = _subnet_id(server, args, required=False)
    return _hosts(server, [r for r in _all(server) if r.ip_address == addr
                           and (sid is None or r.subnet_id == sid)])
