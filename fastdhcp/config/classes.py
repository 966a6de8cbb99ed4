"""``client-classes``: each class's test parsed (Kea's grammar, fastdhcp/classify) and compiled
for the engine, with Kea 2.2's rules for the definitions (ClientClassDefParser): a name, once;
the built-in classes (ALL, KNOWN, UNKNOWN, BOOTP) may be listed but take no test; ``member()``
names only classes defined before (so a cycle cannot be written); DROP may not be required.
Every problem names the class's JSON path and, for a test, the column in it."""

from __future__ import annotations

from collections.abc import Sequence

from ..classify import tree as t
from ..classify.compile import NotNative, compile_test
from ..classify.expression import ExpressionError, parse
from ..classify.kea_options import kea22_definition
from .decode import _Diag
from .model import ClientClass
from .optiondata import OptionData
from .optiondefs import OptionTable, option_table
from .schema import ClientClassConfig
from .values import _parse_ip

BUILT_IN = ("ALL", "KNOWN", "UNKNOWN", "BOOTP")          # client_class_def.cc builtinNames
BUILT_IN_PREFIXES = ("VENDOR_CLASS_", "HA_", "AFTER_", "EXTERNAL_")
VENDOR_CLASS = "VENDOR_CLASS_"
# Built-in classes the engine cannot assign yet: a test naming them, or a class of that name
# given options, would be evaluated differently from Kea.
NOT_YET: dict[str, str] = {}
KNOWN_BITS = {"KNOWN": 1, "UNKNOWN": 2, "BOOTP": 3}    # set by the engine itself


def client_classes(diag: _Diag, defs: Sequence[ClientClassConfig | None],
                   table: OptionTable, options_level=None) -> tuple[ClientClass, ...]:
    """The classes in evaluation order (ALL first, bit 0)."""
    out = [ClientClass(name="ALL", bit=0, path="(built-in)"),
           ClientClass(name="KNOWN", bit=1, path="(built-in)"),
           ClientClass(name="UNKNOWN", bit=2, path="(built-in)"),
           ClientClass(name="BOOTP", bit=3, path="(built-in)")]
    bits: dict[str, int] = {"ALL": 0, "KNOWN": 1, "UNKNOWN": 2, "BOOTP": 3}
    late: set[str] = {"KNOWN", "UNKNOWN"}    # Kea's depend_on_known: known after the host lookup
    first_at: dict[str, str] = {}

    def option_code(name: str) -> int | None:
        d = table.find("dhcp4", name=name)
        return d.code if d is not None else None

    def definitions(space: str, code: int):
        # what the engine's option bytes mean: the configuration's definition where it has
        # one for a code Kea leaves undefined, Kea's own otherwise
        return kea22_definition(space, code) or table.find(space, code)

    for i, c in enumerate(defs):
        path = f"Dhcp4.client-classes[{i}]"
        if c is None:
            continue
        name = c.name
        if not name:
            diag.error(f"{path}.name", "not empty parameter 'name' is required")
            continue
        if name in first_at:
            diag.error(f"{path}.name", f"Can't add class: Client Class: {name} has already been "
                                       f"defined (at {first_at[name]})")
            continue
        first_at[name] = path
        if name in BUILT_IN and c.test:
            diag.error(f"{path}.test", f"built-in class '{name}' test expression must be empty")
            continue
        if name in NOT_YET or name in KNOWN_BITS or name == "ALL":
            diag.error(f"{path}.name", NOT_YET.get(name, f"the built-in class '{name}' cannot "
                                                         f"be given options by fastdhcp yet"))
            continue
        if len(out) >= 256:
            diag.error(f"{path}.name", "more than 255 client classes")
            continue
        boot = _boot_fields(diag, c, path)
        lifetime = _lifetime(diag, c, path)
        if boot is None or lifetime is False:
            continue
        if lifetime is not None:
            boot["valid_lifetime"] = lifetime
        level = options_level
        if c.option_def:
            # Kea allows a class its own definitions of the options it unpacks only after
            # classification (LibDHCP::shouldDeferOptionUnpack: 43 and 224-254 of dhcp4)
            bad = [i for i, d in enumerate(c.option_def) if d is not None and not (
                d.space == "dhcp4" and (d.code == 43 or 224 <= d.code <= 254))]
            for i in bad:
                d = c.option_def[i]
                diag.error(f"{path}.option-def[{i}]", f"Not allowed option definition for code "
                                                      f"'{d.code}' in space '{d.space}'")
            if bad:
                continue
            level = OptionData(diag, option_table(diag, c.option_def, f"{path}.option-def",
                                                  base=table)).level
        if c.option_data and level is not None:
            opts, vendor = level(c.option_data, f"{path}.option-data")
            boot["options"] = opts
            if vendor:
                boot["vendor_options"] = vendor
        if not c.test:
            # a class without a test is only assigned (by a reservation, later by hooks): it
            # never matches on its own
            bits[name] = len(out)
            out.append(ClientClass(name=name, bit=len(out), path=path, **boot))
            continue

        def defined(member: str) -> bool:
            return member in bits or member.startswith(VENDOR_CLASS) or member in NOT_YET

        try:
            tree = parse(c.test, option_code=option_code, class_defined=defined)
        except ExpressionError as e:
            diag.error(f"{path}.test", f"column {e.column}: {e.reason} (in {c.test!r})")
            continue
        problem = None
        for node in t.walk(tree):
            if isinstance(node, t.Member) and node.name in NOT_YET:
                problem = (node.column, NOT_YET[node.name])
                break
        if problem:
            diag.error(f"{path}.test", f"column {problem[0]}: {problem[1]} (in {c.test!r})")
            continue

        def member_bit(member: str):
            if member.startswith(VENDOR_CLASS):
                # VENDOR_CLASS_<x>: the packet's option 60 is x (Kea assigns it on receipt)
                return t.Equal(left=t.Option(code=60, representation=t.Representation.TEXT),
                               right=t.String(value=member[len(VENDOR_CLASS):].encode()))
            return bits[member]
        try:
            prog = compile_test(tree, member_bit, definitions)
        except NotNative as e:
            diag.error(f"{path}.test", f"column {e.column}: {e.reason} (in {c.test!r})")
            continue
        # a test naming KNOWN or UNKNOWN, or a class that does, waits for the host lookup
        after_host = any(isinstance(node, t.Member) and node.name in late
                         for node in t.walk(tree))
        if after_host:
            late.add(name)
        bits[name] = len(out)
        out.append(ClientClass(name=name, bit=len(out), test=c.test, words=tuple(prog.words),
                               constants=tuple(prog.constants), path=path,
                               after_host=after_host,
                               required=c.only_if_required or c.only_in_additional_list,
                               references=t.referenced_classes(tree), **boot))
    return tuple(out)


def _boot_fields(diag: _Diag, c: ClientClassConfig, path: str) -> dict | None:
    """next-server, server-hostname, boot-file-name as Kea's ClientClassDefParser checks them
    (an IPv4 address that is not the broadcast one; at most 63 and 127 bytes); None: refused."""
    out: dict = {}
    ok = True
    if c.next_server is not None and c.next_server != "":
        addr = _parse_ip(c.next_server)
        if addr is None:
            diag.error(f"{path}.next-server", f"Invalid next-server value: '{c.next_server}', "
                                              f"must be IPv4 address")
            ok = False
        elif addr == 0xFFFFFFFF:
            diag.error(f"{path}.next-server", f"Invalid next-server value: '{c.next_server}', "
                                              f"must not be a broadcast")
            ok = False
        elif addr:
            out["next_server"] = addr
    for key, value, room in (("server-hostname", c.server_hostname, 63),
                             ("boot-file-name", c.boot_file_name, 127)):
        if not value:
            continue
        if len(value.encode()) > room:
            diag.error(f"{path}.{key}", f"{key} must be at most {room} bytes long, it is "
                                        f"{len(value.encode())}")
            ok = False
        else:
            out[key.replace("-", "_")] = value
    return out if ok else None


def _lifetime(diag: _Diag, c: ClientClassConfig, path: str):
    """valid-lifetime with its min- and max-, as Kea's parseIntTriplet makes the triplet
    (min, default, max) of them: None when none is given, False when refused."""
    value, lo, hi = c.valid_lifetime, c.min_valid_lifetime, c.max_valid_lifetime
    if value is None and lo is None and hi is None:
        return None
    if value is not None:
        lo = value if lo is None else lo
        hi = value if hi is None else hi
    elif lo is not None:
        if hi is not None:
            diag.error(f"{path}.valid-lifetime", "have min-valid-lifetime and "
                                                 "max-valid-lifetime but no valid-lifetime "
                                                 "(default)")
            return False
        value = hi = lo
    else:
        value = lo = hi
    if lo > hi or not lo <= value <= hi:
        diag.error(f"{path}.valid-lifetime", f"the value of (default) valid-lifetime ({value}) "
                                             f"is not between min-valid-lifetime ({lo}) and "
                                             f"max-valid-lifetime ({hi})")
        return False
    return (lo, value, hi)
