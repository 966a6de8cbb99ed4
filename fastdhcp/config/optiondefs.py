"""Option definitions in force for one configuration: Kea's built-in spaces
(std_option_defs.h) plus the configuration's ``option-def`` entries, checked."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from .. import options as _opt
from ..options import OptionDef
from .decode import _Diag
from .schema import OptionDefConfig

DHCP4_SPACE = "dhcp4"
DHCP4_SPACE = "dhcp4"
_SPACE_RE = re.compile(r"[A-Za-z0-9_-]+")
_NAME_RE = re.compile(r"[A-Za-z0-9_-]+")
_VENDOR_SPACE_RE = re.compile(r"vendor-(\d+)")
_IP4 = "ipv4-address"

# Kea's other built-in spaces (std_option_defs.h): DOCSIS 3 vendor options (RFC 3925 vivso,
# enterprise 4491) and the CableLabs client configuration sub-options of option 122 (RFC 3495).
_BUILTIN_SPACES: dict[str, tuple[OptionDef, ...]] = {
    DHCP4_SPACE: _opt.STANDARD_OPTIONS,
    _opt.AGENT_SPACE: _opt.AGENT_SUBOPTIONS,
    _opt.VENDOR_SPACE: (),
    "vendor-4491": (OptionDef(1, "oro", "uint8", True), OptionDef(2, "tftp-servers", _IP4, True)),
    "cablelabs-client-conf": (
        OptionDef(1, "tsp-primary-server", _IP4), OptionDef(2, "tsp-secondary-server", _IP4),
        OptionDef(4, "tsp-as-parameters", "record", False, ("uint32", "uint32", "uint32")),
        OptionDef(5, "tsp-ap-parameters", "record", False, ("uint32", "uint32", "uint32")),
        OptionDef(6, "tsp-realm", "fqdn"), OptionDef(7, "tsp-use-tgt", "boolean"),
        OptionDef(8, "tsp-provisioning-timer", "uint8"), OptionDef(9, "tsp-sct", "uint16"),
        OptionDef(10, "kdc-server", _IP4, True)),
}

_FIELD_TYPES = frozenset(("binary", "boolean", "fqdn", "int8", "int16", "int32", "uint8",
                          "uint16", "uint32", _IP4, "ipv6-address", "psid", "string", "tuple"))
_DEF_TYPES = _FIELD_TYPES | {"record", "empty"}
_NO_CODEC = {"ipv6-prefix": "the ipv6-prefix type is not supported by fastdhcp's option codec",
             "internal": "the internal type is reserved for Kea's own definitions"}


class OptionTable:
    """Option definitions in force for one configuration: Kea's built-in spaces plus the
    configuration's ``option-def`` entries (which win for codes Kea leaves undefined)."""

    def __init__(self, custom: dict[str, dict[int, OptionDef]] | None = None) -> None:
        self.custom: dict[str, dict[int, OptionDef]] = custom or {}
        self._codes: dict[str, dict[int, OptionDef]] = {
            s: {d.code: d for d in defs} for s, defs in _BUILTIN_SPACES.items()}
        self._names: dict[str, dict[str, OptionDef]] = {
            s: {d.name: d for d in defs} for s, defs in _BUILTIN_SPACES.items()}
        for space, defs in self.custom.items():
            for d in defs.values():
                self._codes.setdefault(space, {})[d.code] = d
                self._names.setdefault(space, {})[d.name] = d

    def find(self, space: str, code: int | None = None, name: str | None = None
             ) -> OptionDef | None:
        """The definition of ``code`` (or ``name``) in ``space``, or None."""
        if code is not None:
            return self._codes.get(space, {}).get(code)
        return self._names.get(space, {}).get(name)

    def by_code(self, code: int) -> OptionDef:
        """A top-level option's definition, ``option-N`` (binary) when none exists."""
        return self.find(DHCP4_SPACE, code) or _opt.by_code(code)

    def names(self, space: str) -> list[str]:
        return list(self._names.get(space, {}))

    def decode_value(self, code: int, raw: bytes) -> Any:
        """``options.decode_value`` with this configuration's definitions."""
        return _opt.decode_value(self.by_code(code), raw)


_STD_DHCP4 = {d.code: d for d in _opt.STANDARD_OPTIONS}
_STD_DHCP4_NAMES = {d.name: d for d in _opt.STANDARD_OPTIONS}


def _generic_def(space: str, code: int) -> OptionDef:
    return OptionDef(code, f"option-{code}", "binary", kea=False)


def option_table(diag: _Diag, defs: Sequence[OptionDefConfig | None],
                 path: str = "Dhcp4.option-def", base: OptionTable | None = None) -> OptionTable:
    """``option-def`` checked (problems to ``diag``, under ``path``) -> the table in force;
    with ``base``, those definitions over ``base``'s (a client class's over the global ones)."""
    custom: dict[str, dict[int, OptionDef]] = {}
    seen_at: dict[tuple[str, Any], str] = {}
    for i, od in enumerate(defs):
        if od is None:
            continue
        p = f"{path}[{i}]"
        ok = True
        if not _NAME_RE.fullmatch(od.name) or od.name.isdigit():
            diag.error(f"{p}.name", f"invalid option name {od.name!r} (letters, digits, '-' "
                                    f"and '_')")
            ok = False
        if not _SPACE_RE.fullmatch(od.space) or od.space == "dhcp6":
            diag.error(f"{p}.space", f"invalid option space {od.space!r}")
            ok = False
        lo, hi = (1, 254) if od.space == DHCP4_SPACE else (0, 255)
        if not lo <= od.code <= hi:
            diag.error(f"{p}.code", f"option code {od.code} is outside {lo}..{hi}")
            ok = False
        fields: tuple[str, ...] = ()
        if od.type in _NO_CODEC:
            diag.error(f"{p}.type", _NO_CODEC[od.type])
            ok = False
        elif od.type not in _DEF_TYPES:
            diag.error(f"{p}.type", f"unknown option type {od.type!r}")
            ok = False
        elif od.type == "record":
            fields = tuple(t.strip() for t in od.record_types.split(",") if t.strip())
            reason = _record_problem(fields, od.array)
            if reason:
                diag.error(f"{p}.record-types", reason)
                ok = False
        elif od.record_types.strip():
            diag.error(f"{p}.record-types", "record-types is only for type 'record'")
            ok = False
        if od.array and od.type in ("string", "binary", "empty"):
            diag.error(f"{p}.array", f"an array of {od.type} is not a valid option "
                                     f"definition (the items' lengths are unknown)")
            ok = False
        if od.encapsulate and not _SPACE_RE.fullmatch(od.encapsulate):
            diag.error(f"{p}.encapsulate", f"invalid option space {od.encapsulate!r}")
            ok = False
        if od.space == DHCP4_SPACE and ok:
            std = _STD_DHCP4.get(od.code)
            # Kea allows a global definition of option 43 (its format is vendor-specific)
            # and of codes it leaves undefined; redefining a standard option is an error.
            if std is not None and std.kea and od.code != 43:
                diag.error(f"{p}.code", f"option code {od.code} is the standard option "
                                        f"'{std.name}'; standard options cannot be redefined")
                ok = False
            named = _STD_DHCP4_NAMES.get(od.name)
            if named is not None and named.kea and named.code != od.code:
                diag.error(f"{p}.name", f"'{od.name}' is the name of standard option "
                                        f"{named.code}")
                ok = False
        for key in ((od.space, od.code), (od.space, od.name)):
            if ok and key in seen_at:
                what = f"code {od.code}" if isinstance(key[1], int) else f"name '{od.name}'"
                diag.error(p, f"option {what} in space '{od.space}' is already defined at "
                              f"{seen_at[key]}")
                ok = False
        if not ok:
            continue
        seen_at[(od.space, od.code)] = seen_at[(od.space, od.name)] = p
        custom.setdefault(od.space, {})[od.code] = OptionDef(
            od.code, od.name, od.type, od.array, fields, od.encapsulate, kea=False)
    if base is not None:
        custom = {space: {**base.custom.get(space, {}), **custom.get(space, {})}
                  for space in set(base.custom) | set(custom)}
    return OptionTable(custom)

def _record_problem(fields: tuple[str, ...], array: bool) -> str | None:
    if not fields:
        return "a record needs record-types (a comma-separated list of field types)"
    for i, t in enumerate(fields):
        if t not in _FIELD_TYPES:
            return f"field type {t!r} cannot be used in a record"
        if t in ("string", "binary") and (i != len(fields) - 1 or array):
            return f"a {t} field has no length: it can only be the last field of a " \
                   f"non-array record"
    return None
