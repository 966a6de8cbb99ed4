"""Client classes at run time: the commands of Kea's class_cmds hook (class-list, class-get,
class-add, class-update, class-del), with its texts and result codes (Kea's
src/hooks/dhcp/class_cmds/class_cmds.cc), on the classes of the configuration.

As the reservation commands do, a class added, updated or deleted here changes the running
configuration's document (``Dhcp4.client-classes``), which then goes through the same checks and
switch-over as a config-set: a class the checks refuse is answered with result 1 and every
problem (the JSON path, the column in the test, the reason) and nothing changes; config-get
shows the change and config-write keeps it. Debian's kea-dhcp4 2.2 has no class_cmds (it was a
subscription hook until Kea 3): these answers follow the hook's source, not a running Kea.
"""

from __future__ import annotations

import copy
from typing import Any

from .answers import EMPTY, SUCCESS, CommandError, answer
from .daemon import apply_checked, apply_document, checked
from .registry import command, need_map

HOOK = "class_cmds"
# ClientClassDef::toElement (Kea 2.2): what a class shows when the configuration left it out
_DEFAULTS = {"option-data": [], "next-server": "0.0.0.0", "server-hostname": "",
             "boot-file-name": ""}


def _classes(server) -> list[dict]:
    classes = server.running_config_document().get("Dhcp4", {}).get("client-classes", [])
    return [c for c in classes if isinstance(c, dict)]


def _find(server, name: str) -> int | None:
    return next((i for i, c in enumerate(_classes(server)) if c.get("name") == name), None)


def as_kea_shows_it(entry: dict) -> dict:
    """A class as class-get returns it: Kea's toElement order (user-context, name, test, the
    rest as configured) with the v4 defaults of what was left out."""
    out: dict[str, Any] = {}
    context = copy.deepcopy(entry.get("user-context") or {})
    if "comment" in entry:                   # (Kea keeps a comment in the user context)
        context["comment"] = entry["comment"]
    if context:
        out["user-context"] = context
    out["name"] = entry.get("name", "")
    if entry.get("test"):
        out["test"] = entry["test"]
    for k, v in entry.items():
        if k not in out and k not in ("test", "comment", "user-context") and not (
                k in ("only-if-required", "only-in-additional-list") and v is False):
            out[k] = copy.deepcopy(v)
    for k, v in _DEFAULTS.items():
        out.setdefault(k, copy.deepcopy(v))
    return out


def _name_argument(name: str, args: Any) -> str:
    """class-get's and class-del's one ``name`` string."""
    args = need_map(name, args)
    if len(args) != 1:
        raise CommandError(f"invalid number of arguments {len(args)} for the '{name}' command. "
                           f"Expecting 'name' string")
    if "name" not in args:
        raise CommandError(f"missing 'name' argument for the '{name}' command")
    if not isinstance(args["name"], str):
        raise CommandError(f"'name' argument specified for the '{name}' command is not a string")
    return args["name"]


def _received_class(name: str, args: Any) -> dict:
    """class-add's and class-update's ``client-classes`` list of exactly one map."""
    args = need_map(name, args)
    if len(args) != 1:
        raise CommandError(f"invalid number of arguments {len(args)} for the '{name}' command. "
                           f"Expecting 'client-classes' list")
    if "client-classes" not in args:
        raise CommandError(f"missing 'client-classes' argument for the '{name}' command")
    classes = args["client-classes"]
    if not isinstance(classes, list):
        raise CommandError(f"'client-classes' argument specified for the '{name}' command is "
                           f"not a list")
    if len(classes) != 1:
        raise CommandError(f"invalid number of classes specified for the '{name}' command. "
                           f"Expected one class")
    if not isinstance(classes[0], dict):
        raise CommandError(f"invalid class definition specified for the '{name}' command. "
                           f"Expected a map")
    return copy.deepcopy(classes[0])


def _with_classes(server, classes: list[dict]) -> dict:
    doc = copy.deepcopy(server.running_config_document())
    doc.setdefault("Dhcp4", {})["client-classes"] = classes
    return doc


@command("class-list", hook=HOOK)
async def class_list(server, args) -> dict:
    names = [{"name": c.get("name", "")} for c in _classes(server)]
    text = f"{len(names)} class{'' if len(names) == 1 else 'es'} found"
    return answer(SUCCESS if names else EMPTY, text, {"client-classes": names})


@command("class-get", hook=HOOK)
async def class_get(server, args) -> dict:
    name = _name_argument("class-get", args)
    k = _find(server, name)
    if k is None:
        return answer(EMPTY, f"Class '{name}' not found")
    return answer(SUCCESS, f"Class '{name}' definition returned",
                  {"client-classes": [as_kea_shows_it(_classes(server)[k])]})


@command("class-add", hook=HOOK)
async def class_add(server, args) -> dict:
    entry = _received_class("class-add", args)
    if "name" not in entry:
        # (Kea's ClientClassDefParser: the configuration check says the same with its path)
        raise CommandError("missing parameter 'name'")
    if _find(server, entry["name"]) is not None:
        raise CommandError(f"Client Class: {entry['name']} has already been defined")
    await apply_document(server, _with_classes(server, _classes(server) + [entry]))
    return answer(SUCCESS, f"Class '{entry['name']}' added")


@command("class-update", hook=HOOK)
async def class_update(server, args) -> dict:
    entry = _received_class("class-update", args)
    if "name" not in entry:
        raise CommandError("the first class definition is missing a mandatory 'name' parameter")
    name = entry["name"]
    k = _find(server, name)
    if k is None:
        return answer(EMPTY, f"Class '{name}' is not found")
    before = next(c for c in server.config.client_classes if c.name == name)
    classes = _classes(server)
    classes[k] = entry                       # in its place: later classes' member() see it
    new = checked(_with_classes(server, classes))
    after = next(c for c in new.client_classes if c.name == name)
    if before.after_host != after.after_host:
        raise CommandError(f"modification of the class '{name}' would affect its dependency on "
                           f"the KNOWN and/or UNKNOWN built-in classes. Such modification is "
                           f"not allowed because there may be other classes depending on "
                           f"those built-ins via the updated class")
    await apply_checked(server, new)
    return answer(SUCCESS, f"Class '{name}' updated")


@command("class-del", hook=HOOK)
async def class_del(server, args) -> dict:
    name = _name_argument("class-del", args)
    k = _find(server, name)
    if k is None:
        return answer(EMPTY, f"Class '{name}' not found")
    user = next((c.name for c in server.config.client_classes if name in c.references), None)
    if user is not None:
        raise CommandError(f"Class '{name}' is used by class '{user}'")
    classes = _classes(server)
    del classes[k]
    await apply_document(server, _with_classes(server, classes))
    return answer(SUCCESS, f"Class '{name}' deleted")
