"""The daemon's own commands, as kea-dhcp4 2.2 registers them (ctrl_dhcp4_srv.cc), with Kea's
texts: version and build, status, the configuration (get, hash, test, set, reload, write), the
service switch (dhcp-disable/-enable), reclamation, the server tag, shutdown.

Later Kea versions' additions kept here: ``config-hash-get`` and config-get's ``hash`` (2.4).
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import sys
import time
from typing import Any

from .. import __version__
from ..config import ConfigError, parse_config
from .answers import EMPTY, SUCCESS, CommandError, answer
from .registry import COMMANDS, command, optional_map


@command("list-commands")
async def list_commands(server, args) -> dict:
    return answer(SUCCESS, arguments=sorted(COMMANDS))


@command("version-get")
async def version_get(server, args) -> dict:
    return answer(SUCCESS, f"{__version__} (fastdhcp)", {"extended": _extended_version()})


def _extended_version() -> str:
    import uvloop
    import msgspec
    return (f"{__version__} (fastdhcp)\nkea-dhcp4 2.2 compatible\npython {platform.python_version()}"
            f"\nuvloop {uvloop.__version__}\nmsgspec {msgspec.__version__}\n"
            f"lease backend: memfile (Kea CSV)")


@command("build-report")
async def build_report(server, args) -> dict:
    return answer(SUCCESS, f"Version: {__version__} (fastdhcp)\nPython: {sys.version.split()[0]}"
                           f"\nPlatform: {platform.platform()}\nNative core: Cython")


@command("status-get")
async def status_get(server, args) -> dict:
    now = time.time()
    status: dict[str, Any] = {"pid": os.getpid(), "uptime": int(now - server.started),
                              "reload": int(now - server.reloaded)}
    # one loop thread and the committer: not Kea's thread pool, whatever the config asks for
    status["multi-threading-enabled"] = False
    status["sockets"] = {"status": "ready"}
    path = server.lease_path()
    if path is not None:
        status["csv-lease-file"] = path          # (Kea 2.6 adds it)
    if server.lease_db is not None:              # fastdhcp's: the lease database's connection
        status["lease-database"] = server.lease_db.status
    if server.cluster is not None:               # ... and a cluster's shards
        status["cluster"] = {"server": server.cluster.me, "shards": server.cluster.n,
                             "owned": {str(s): e for s, e in sorted(server.cluster.owned.items())}}
    return answer(SUCCESS, arguments=status)


# ---- the configuration --------------------------------------------------------------------------

def config_hash(raw: dict) -> str:
    """Kea 2.4's config hash: SHA-256 of the configuration's JSON text, upper-case hex."""
    return hashlib.sha256(json.dumps(raw, sort_keys=True).encode()).hexdigest().upper()


def _running_config(server) -> dict:
    return server.running_config_document()


@command("config-get")
async def config_get(server, args) -> dict:
    raw = _running_config(server)
    return answer(SUCCESS, arguments={**raw, "hash": config_hash(raw)})


@command("config-hash-get")
async def config_hash_get(server, args) -> dict:
    return answer(SUCCESS, arguments={"hash": config_hash(_running_config(server))})


def _dhcp4_argument(args: Any) -> dict:
    """config-set's and config-test's ``{"Dhcp4": {...}}``, checked with Kea's texts."""
    if args is None:
        raise CommandError("Missing mandatory 'arguments' parameter.")
    if not isinstance(args, dict):
        raise CommandError("'arguments' parameter expected to be a map.")
    if "Dhcp4" not in args:
        raise CommandError("Missing mandatory 'Dhcp4' parameter.")
    if not isinstance(args["Dhcp4"], dict):
        raise CommandError("'Dhcp4' parameter expected to be a map.")
    others = [k for k in args if k != "Dhcp4"]
    if others:
        text = f"Unsupported '{others[0]}' parameter"
        for k in others[1:]:
            text += f" (and '{k}')"
        raise CommandError(text + ".")
    return {"Dhcp4": args["Dhcp4"]}


def checked(document: dict):
    """The configuration a command gives, checked as a start or a SIGHUP checks one."""
    try:
        return parse_config(json.dumps(document), source="<command>")
    except ConfigError as e:
        raise CommandError(str(e)) from None


@command("config-test")
async def config_test(server, args) -> dict:
    checked(_dhcp4_argument(args))
    return answer(SUCCESS, "Configuration seems sane. Control-socket, hook-libraries, and D2 "
                           "configuration were sanity checked, but not applied.")


async def apply_document(server, document: dict) -> None:
    """Check ``{"Dhcp4": ...}`` as a start does and serve it; CommandError with every problem
    (the running configuration untouched) when it is refused."""
    await apply_checked(server, checked(document))


async def apply_checked(server, new) -> None:
    """Serve a configuration ``checked`` gave (CommandError if the switch-over refuses it)."""
    try:
        await server.apply_config(new)
    except ConfigError as e:
        raise CommandError(str(e)) from None


@command("config-set")
async def config_set(server, args) -> dict:
    await apply_document(server, _dhcp4_argument(args))
    return answer(SUCCESS, "Configuration successful.")


@command("config-reload")
async def config_reload(server, args) -> dict:
    ok, why = await server.reload_from_file()
    if not ok:
        raise CommandError(f"Config reload failed: {why}")
    return answer(SUCCESS, "Configuration successful.")


@command("config-write")
async def config_write(server, args) -> dict:
    args = optional_map("config-write", args)
    filename = args.get("filename", "")
    if not isinstance(filename, str):
        raise CommandError("passed parameter 'filename' is not a string")
    filename = filename or server.config_path
    text = json.dumps(_running_config(server), indent=2) + "\n"
    try:
        tmp = f"{filename}.tmp{os.getpid()}"
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, filename)
    except OSError as e:
        raise CommandError(f"Error during write-config:Unable to open file {filename} for "
                           f"writing: {e.strerror}") from None
    return answer(SUCCESS, f"Configuration written to {filename} successful",
                  {"filename": filename, "size": len(text.encode())})


# ---- the service --------------------------------------------------------------------------------

def _origin(name: str, args: dict) -> str:
    origin = args.get("origin", "user")
    if not isinstance(origin, str):
        raise CommandError("'origin' argument must be a string")
    if origin not in ("user", "ha-partner"):
        raise CommandError(f"invalid value used for 'origin' parameter: {origin or '(empty string)'}")
    return origin


@command("dhcp-disable")
async def dhcp_disable(server, args) -> dict:
    if args is not None and not isinstance(args, dict):
        raise CommandError("arguments for the 'dhcp-disable' command must be a map")
    args = args or {}
    max_period = args.get("max-period")
    if max_period is not None:
        if not isinstance(max_period, int) or isinstance(max_period, bool):
            raise CommandError("'max-period' argument must be a number")
        if max_period <= 0:
            raise CommandError("'max-period' must be positive integer")
    _origin("dhcp-disable", args)
    server.disable_service(max_period)
    text = "DHCPv4 service disabled"
    if max_period:
        text += f" for {max_period} seconds"
    return answer(SUCCESS, text)


@command("dhcp-enable")
async def dhcp_enable(server, args) -> dict:
    if args is not None and not isinstance(args, dict):
        raise CommandError("arguments for the 'dhcp-enable' command must be a map")
    _origin("dhcp-enable", args or {})
    server.enable_service()
    return answer(SUCCESS, "DHCP service successfully enabled")


@command("leases-reclaim")
async def leases_reclaim(server, args) -> dict:
    if not isinstance(args, dict) or "remove" not in args:
        raise CommandError("Missing mandatory 'remove' parameter.")
    if not isinstance(args["remove"], bool):
        raise CommandError("'remove' parameter expected to be a boolean.")
    server.reclaim_now()
    return answer(SUCCESS, "Reclamation of expired leases is complete.")


@command("server-tag-get")
async def server_tag_get(server, args) -> dict:
    return answer(SUCCESS, arguments={"server-tag": server.config.raw.get("Dhcp4", {})
                                      .get("server-tag", "")})


@command("shutdown")
async def shutdown(server, args) -> dict:
    exit_value = 0
    if args is not None:
        if not isinstance(args, dict):
            raise CommandError("Argument must be a map")
        if "exit-value" in args:
            exit_value = args["exit-value"]
            if not isinstance(exit_value, int) or isinstance(exit_value, bool):
                raise CommandError("parameter 'exit-value' is not an integer")
    server.request_shutdown(exit_value)
    return answer(SUCCESS, "Shutting down.")


@command("libreload")
async def libreload(server, args) -> dict:
    # the hook libraries fastdhcp takes (lease_cmds, stat_cmds, host_cmds) are built in
    return answer(SUCCESS, "Hooks libraries successfully reloaded.")


@command("config-backend-pull")
async def config_backend_pull(server, args) -> dict:
    return answer(EMPTY, "No config backend.")
