"""The enums C and Python share, read from their one definition in the .pxd files.

The native core defines every value once, in a ``cdef enum`` of a .pxd file. From those blocks
this script writes two files, so no value is ever copied by hand across the boundary:

* ``fastdhcp/_enums.py``, the Python classes (committed: the pure-Python reference codec uses
  them without the extension), and
* ``_native/enums.pxi``, included by ``_core.pyx``: the same members with their values taken
  from the C compiler (``_core.NATIVE_ENUMS``), so a test sees what the compiled code uses.

``setup.py`` runs it before every build; ``tests/test_boundary.py`` fails if the committed Python
file is not what the .pxd files give, or if the compiled values differ from it.

    python _native/enums.py           # rewrite both files
    python _native/enums.py --check   # exit 1 if fastdhcp/_enums.py is stale
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parent.parent
PY_OUT = ROOT / "fastdhcp" / "_enums.py"
PXI_OUT = ROOT / "_native" / "enums.pxi"


class Export(NamedTuple):
    """One Python class made from the members of a .pxd enum that share a prefix."""

    python: str            # the class name
    base: str              # its base, from fastdhcp/_enum_bases.py
    pxd: str               # the file under _native/ that defines it
    prefix: str            # the C members' prefix
    skip: tuple[str, ...]  # C members that are sizes or limits, not values of the type
    rename: str = ""       # the Python name's prefix in place of the C one ("DHCP": MT_ACK -> DHCPACK)
    doc: str = ""


EXPORTS = (
    Export("DropReason", "DropReasonBase", "defs.pxd", "DR_", ("DR_COUNT",),
           doc="Why a datagram was not accepted."),
    Export("Quirk", "QuirkBase", "defs.pxd", "Q_", ("Q_BITS",),
           doc="Known client deviations that are accepted and counted, not dropped."),
    Export("MsgType", "MsgTypeBase", "defs.pxd", "MT_", ("MT_BOOTP", "MT_MAX"), rename="DHCP",
           doc="DHCP message types (option 53): RFC 2132 §9.6, RFC 4388, RFC 6926, RFC 7724."),
    Export("LeaseState", "LeaseStateBase", "leases.pxd", "LS_", ("LS_FREE",),
           doc="Lease table states."),
    Export("Durability", "DurabilityBase", "commit.pxd", "DUR_", (),
           doc="When a batch's lease rows reach the file, before its ACKs leave."),
    Export("EngineEvent", "EngineEventBase", "engine.pxd", "EV_", ("EV_MAX", "EV_KINDS"),
           doc="What the engine notes for the server's log (Engine.take_events)."),
    Export("ClassOp", "ClassOpBase", "classes.pxd", "OP_", ("OP_OPS",),
           doc="The instructions of a compiled class test (classes.pyx)."),
    Export("Pkt4Field", "ClassOpBase", "classes.pxd", "PKT4_", (),
           doc="pkt4.<field>: the header field OP_PKT4 pushes."),
    Export("PktField", "ClassOpBase", "classes.pxd", "PKT_", (),
           doc="pkt.<field>: the receive metadata OP_PKT pushes."),
    Export("VendorField", "ClassOpBase", "classes.pxd", "VF_", (),
           doc="vendor[...] / vendor-class[...]: the field OP_VENDOR / OP_VENDOR_CLASS pushes."),
    Export("ClassLimit", "ClassOpBase", "classes.pxd", "CL_", (),
           doc="The bounds of a class test's evaluation (classes.pyx)."),
)

_ENUM_START = re.compile(r"^cdef enum\b.*:\s*(#.*)?$")
_MEMBER = re.compile(r"^\s+([A-Z][A-Z0-9_]*)\s*(?:=\s*([^#]+?))?\s*(?:#\s*(.*))?$")


class Member(NamedTuple):
    c_name: str
    value: int
    comment: str


def enum_members(pxd_text: str) -> dict[str, Member]:
    """Every member of every ``cdef enum`` block, with its value as C gives it (a member without
    ``=`` is the previous one plus 1; values may use earlier members and ``<<``)."""
    members: dict[str, Member] = {}
    in_enum, last = False, -1
    for line in pxd_text.splitlines():
        if _ENUM_START.match(line):
            in_enum, last = True, -1
            continue
        if in_enum and line and not line[0].isspace():
            in_enum = False
        if not in_enum:
            continue
        m = _MEMBER.match(line)
        if not m:
            continue
        name, expr, comment = m.group(1), m.group(2), (m.group(3) or "").strip()
        if expr is None:
            value = last + 1
        else:
            env = {k: v.value for k, v in members.items()}
            value = int(eval(expr, {"__builtins__": {}}, env))   # our own .pxd: constants only
        members[name] = Member(name, value, comment)
        last = value
    return members


def exported(native: Path = ROOT / "_native") -> list[tuple[Export, list[tuple[str, Member]]]]:
    """(export, [(Python name, member), ...]) for every class of EXPORTS."""
    cache: dict[str, dict[str, Member]] = {}
    out = []
    for ex in EXPORTS:
        if ex.pxd not in cache:
            cache[ex.pxd] = enum_members((native / ex.pxd).read_text())
        chosen = [(ex.rename + name[len(ex.prefix):], m) for name, m in cache[ex.pxd].items()
                  if name.startswith(ex.prefix) and name not in ex.skip]
        if not chosen:
            raise SystemExit(f"enums: no {ex.prefix}* members in _native/{ex.pxd}")
        out.append((ex, chosen))
    return out


def python_source(native: Path = ROOT / "_native") -> str:
    lines = ['"""The enums shared with the native core. GENERATED by _native/enums.py from the cdef enums',
             'of _native/*.pxd, their one definition: do not edit (the build rewrites it, and',
             'tests/test_boundary.py fails if it differs). Behaviour lives in fastdhcp/_enum_bases.py."""',
             "", "from ._enum_bases import " + ", ".join(sorted({ex.base for ex in EXPORTS}))]
    for ex, members in exported(native):
        lines += ["", "", f"class {ex.python}({ex.base}):",
                  f'    """{ex.doc}', f'    (The {ex.prefix}* members of _native/{ex.pxd}.)"""', ""]
        width = max(len(f"{n} = {m.value}") for n, m in members)
        for name, m in members:
            text = f"{name} = {m.value}"
            lines.append(f"    {text:<{width}}  # {m.comment}" if m.comment else f"    {text}")
    return "\n".join(lines) + "\n"


def pxi_source(native: Path = ROOT / "_native") -> str:
    lines = ["# GENERATED by _native/enums.py (not committed): the shared enums with the values the C",
             "# compiler gives them, for tests/test_boundary.py.", "", "NATIVE_ENUMS = {"]
    for ex, members in exported(native):
        body = ", ".join(f'"{name}": {m.c_name}' for name, m in members)
        lines.append(f'    "{ex.python}": {{{body}}},')
    lines.append("}")
    return "\n".join(lines) + "\n"


def write_if_changed(path: Path, text: str) -> None:
    if not path.exists() or path.read_text() != text:
        path.write_text(text)


def main(argv: list[str]) -> int:
    if "--check" in argv:
        if not PY_OUT.exists() or PY_OUT.read_text() != python_source():
            print(f"{PY_OUT} is stale: run python _native/enums.py", file=sys.stderr)
            return 1
        return 0
    write_if_changed(PY_OUT, python_source())
    write_if_changed(PXI_OUT, pxi_source())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
