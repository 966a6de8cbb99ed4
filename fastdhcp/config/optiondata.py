"""Option data: each level's ``option-data`` entries checked against their definitions and
encoded once, encapsulated spaces packed into their containers (Kea's CfgOption::encapsulate),
vendor-identifying options (124/125) joined per enterprise."""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from typing import NamedTuple

from .. import options as _opt
from ..options import OptionDef, OptionValueError
from .decode import _Diag
from .model import LevelOption
from .optiondefs import (DHCP4_SPACE, _NAME_RE, _SPACE_RE, _VENDOR_SPACE_RE, OptionTable,
                         _generic_def)
from .schema import OptionDataConfig


class _Entry(NamedTuple):
    space: str
    code: int
    data: bytes | None
    always: bool
    never: bool
    definition: OptionDef | None
    path: str
    csv: bool


class OptionData:
    """Encodes the option-data of every level of one configuration; problems go to ``diag``."""

    def __init__(self, diag: _Diag, table: OptionTable) -> None:
        self.table = table
        self.error = diag.error
        self.warn = diag.warn

    def _option(self, e: OptionDataConfig, path: str) -> _Entry | None:
        space = e.space
        if not _SPACE_RE.fullmatch(space) or space == "dhcp6":
            self.error(f"{path}.space", f"invalid option space {space!r}")
            return None
        if e.name is None and e.code is None:
            self.error(path, "an option-data entry needs a 'name' or a 'code'")
            return None
        if e.name is not None and not _NAME_RE.fullmatch(e.name):
            self.error(f"{path}.name", f"invalid option name {e.name!r}")
            return None
        lo, hi = (1, 254) if space == DHCP4_SPACE else (0, 255)
        if e.code is not None and not lo <= e.code <= hi:
            self.error(f"{path}.code", f"option code {e.code} is outside {lo}..{hi}")
            return None
        d = self.table.find(space, e.code, e.name if e.code is None else None)
        if d is None:
            if e.code is None:
                close = difflib.get_close_matches(e.name, self.table.names(space), 1, 0.75)
                hint = f" (did you mean '{close[0]}'?)" if close else ""
                self.error(f"{path}.name", f"unknown option name '{e.name}' in space "
                                           f"'{space}'{hint}")
                return None
            if e.csv_format is True:
                self.error(path, f"option code {e.code} in space '{space}' has no definition, "
                                 f"so its data cannot be csv: give hex with \"csv-format\": "
                                 f"false, or define the option with option-def")
                return None
        elif e.name is not None and d.name != e.name:
            self.error(f"{path}.name", f"option name '{e.name}' does not match code {e.code} "
                                       f"('{d.name}')")
            return None
        code = d.code if d is not None else e.code
        csv = d is not None and e.csv_format is not False
        if e.never_send and e.data is None:
            data = None
        else:
            try:
                data = _opt.encode_value(d or _generic_def(space, code), e.data or "", csv=csv)
            except OptionValueError as exc:
                self.error(path, str(exc))
                return None
        return _Entry(space, code, data, e.always_send, e.never_send, d, path, csv)

    def level(self, entries: Sequence[OptionDataConfig | None], path: str
                 ) -> tuple[dict[int, LevelOption], dict[int, dict[int, LevelOption]]]:
        """One level's option-data -> ({code: LevelOption} for dhcp4, {enterprise: {code:
        LevelOption}} for vendor-N spaces). Encapsulated spaces are packed into their container
        from the same level, as Kea's CfgOption::encapsulate does."""
        spaces: dict[str, dict[int, _Entry]] = {}
        vivs: dict[int, list[_Entry]] = {124: [], 125: []}
        for i, e in enumerate(entries):
            if e is None:
                continue
            entry = self._option(e, f"{path}[{i}]")
            if entry is None:
                continue
            if entry.space == DHCP4_SPACE and entry.code in vivs:
                vivs[entry.code].append(entry)
                continue
            level = spaces.setdefault(entry.space, {})
            first = level.get(entry.code)
            if first is not None:
                name = entry.definition.name if entry.definition else f"option-{entry.code}"
                in_space = "" if entry.space == DHCP4_SPACE else f" in space '{entry.space}'"
                self.error(entry.path, f"option {name} (code {entry.code}){in_space} is already "
                                       f"set at this level by {first.path}")
                continue
            level[entry.code] = entry

        used: set[str] = set()
        out: dict[int, LevelOption] = {}
        for code, entry in sorted(spaces.get(DHCP4_SPACE, {}).items()):
            data = entry.data
            encap = entry.definition.encapsulate if entry.definition else ""
            if encap and data is not None:
                data += self._suboptions(spaces, encap, used, 1)
            out[code] = LevelOption(data, entry.always, entry.never)
        for code, entries_ in vivs.items():
            if entries_:
                out[code] = self._vendor_identifying(code, entries_)

        # vendor-<id> spaces: sub-options of a reply's 125, chosen per reply from every level
        # (Kea's appendRequestedVendorOptions; _native/options.pyx opt_append_vendor)
        vendor: dict[int, dict[int, LevelOption]] = {}
        for space, level in spaces.items():
            m = _VENDOR_SPACE_RE.fullmatch(space)
            if m:
                for c, e in level.items():
                    if e.data is not None and len(e.data) > 255:
                        self.error(e.path, f"sub-option {c} of space '{space}' is "
                                           f"{len(e.data)} bytes; RFC 3925 allows 255 per "
                                           f"enterprise")
                vendor[int(m.group(1))] = {c: LevelOption(e.data, e.always, e.never)
                                           for c, e in sorted(level.items())
                                           if e.data is None or len(e.data) <= 255}
            elif space != DHCP4_SPACE and space not in used:
                first = next(iter(level.values()))
                self.warn(first.path, f"options in space '{space}' are never sent: no option at "
                                      f"this level encapsulates '{space}' (Kea packs sub-options "
                                      f"into a container set at the same level)")
        return out, vendor

    def _suboptions(self, spaces: dict[str, dict[int, _Entry]], space: str, used: set[str],
                    depth: int) -> bytes:
        used.add(space)
        out = bytearray()
        if depth > 8:
            return b""
        for code, e in sorted(spaces.get(space, {}).items()):
            if e.data is None or e.never:
                continue
            data = e.data
            encap = e.definition.encapsulate if e.definition else ""
            if encap and encap != space:
                data += self._suboptions(spaces, encap, used, depth + 1)
            if len(data) > 255:
                self.error(e.path, f"sub-option {code} of space '{space}' is {len(data)} bytes; "
                                   f"a sub-option holds at most 255")
                continue
            out += bytes((code, len(data))) + data
        return bytes(out)

    def _vendor_identifying(self, code: int, entries: list[_Entry]) -> LevelOption:
        """124/125 may be given once per vendor (ARM "DHCPv4 Vendor-Specific Options"): the
        instances are concatenated (RFC 3396 makes that one option). 125 in csv form (the
        enterprise id alone) is that id and an empty block, as Kea packs it."""
        blocks: list[bytes] = []
        seen: dict[int, str] = {}
        for e in entries:
            if e.data is None:
                continue
            data = e.data
            if len(data) < 4:
                self.error(e.path, f"option {code} data is shorter than an enterprise number")
                continue
            enterprise = int.from_bytes(data[:4], "big")
            if enterprise in seen:
                self.error(e.path, f"option {code} for enterprise {enterprise} is already set at "
                                   f"this level by {seen[enterprise]}")
                continue
            seen[enterprise] = e.path
            if code == 125 and e.csv:
                # Kea's OptionVendor of the enterprise alone: an empty block; the reply
                # builder adds the vendor space's sub-options it sends
                data = data[:4] + b"\x00"
            blocks.append(data)
        data = b"".join(blocks) if blocks else None
        return LevelOption(data, any(e.always for e in entries), any(e.never for e in entries))
