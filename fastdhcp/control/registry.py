"""The commands the control channel answers, by Kea's name.

Each module of ``fastdhcp.control`` that answers commands registers them here with
``@command("lease4-get", hook="lease_cmds")``; ``hook`` names the Kea hook library that provides
the command in Kea (``None``: the daemon itself), which ``list-commands`` and the docs use.

A handler is ``async def handler(server, args) -> dict`` (an ``answers.answer``): ``server`` is the
running ``fastdhcp.server.Server``, ``args`` the command's ``arguments`` (``None`` when absent). It
raises ``answers.CommandError`` for a refusal. A handler that walks many leases awaits between
slices (``await pacing.pause(server)``) so that packet batches run in between, and come first
while they saturate the loop.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, NamedTuple

from .answers import CommandError

Handler = Callable[[Any, Any], Awaitable[dict]]


class Command(NamedTuple):
    name: str
    handler: Handler
    hook: str | None          # Kea's hook library of the command ("lease_cmds"), None: the daemon


COMMANDS: dict[str, Command] = {}


def command(name: str, *, hook: str | None = None) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        if name in COMMANDS:
            raise RuntimeError(f"control command {name!r} registered twice")
        COMMANDS[name] = Command(name, handler, hook)
        return handler
    return register


# ---- arguments, checked as Kea's commands check theirs -------------------------------------------

def need_map(name: str, args: Any) -> dict:
    """Kea's parseCommandWithArgs: the arguments must be there, a map, and not empty."""
    if args is None:
        raise CommandError(f"no arguments specified for the '{name}' command")
    if not isinstance(args, dict):
        raise CommandError(f"arguments specified for the '{name}' command are not a map")
    if not args:
        raise CommandError(f"arguments must not be empty for the '{name}' command")
    return args


def optional_map(name: str, args: Any) -> dict:
    """Arguments that may be left out; when given they must be a map."""
    if args is None:
        return {}
    if not isinstance(args, dict):
        raise CommandError(f"arguments specified for the '{name}' command are not a map")
    return args
