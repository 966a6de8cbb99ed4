"""Kea ``Dhcp4`` configuration: read it, check it, and resolve it for the server.

A configuration file is Kea's extended JSON: ``#``, ``//`` and ``/* */`` comments (never inside
strings), ``<?include "file"?>`` (a relative path is looked up in the working directory, as Kea
does, then next to the including file), trailing commas (a warning) and numbers written ``.5``. The top level holds ``Dhcp4``;
other top-level objects (``Logging``, ``Control-agent``, ``Dhcp6``...) are ignored with a warning,
as Kea ignores them.

Three steps, each reporting with JSON paths (``Dhcp4.subnet4[0].pools[1]``):

1. decode: ``Dhcp4`` becomes typed msgspec Structs (``Dhcp4Config`` and the ``*Config`` classes,
   Kea's kebab-case keys). Wrong types, unknown keys and unsupported features are found here.
2. check: the semantic rules (overlaps, pools inside subnets, unique ids and reservations, lifetime
   triplets, timers, option data against its definition...), all problems at once.
3. resolve: ``Config``, the server's view: ``Subnet`` objects with their effective parameters after
   Kea's inheritance (global -> shared network -> subnet), pools as integer ranges, option data
   encoded per level, reservations with their identifier bytes. Addresses are ``int`` (host order).

Errors raise ``ConfigError`` (``.problems``: every ``Problem(path, reason)``); warnings are kept in
``Config.warnings``. ``run_check_config(path)`` is ``fastdhcp check-config -c FILE``.

Unknown and unsupported keys
----------------------------
The policy tables are ``_RULES`` (known keys fastdhcp does not act on) and ``_SECTIONS`` (what an
unknown key means in each object), below the Structs. The principle: ignoring a key is a *warning*
when the replies clients get are unchanged (logging, control channel, statistics, DNS-update knobs
while DNS updates are off), and an *error* when it would change them (client classes, host or
config databases, hook libraries that act on packets, an unknown key where a typo could hide a
lifetime or an option). ``HOOKS`` classifies hook libraries the same way.

Deliberately stricter than Kea (each says so in its message): overlapping subnets and pools
(fastdhcp's allocator owns each address in exactly one pool), ``rebind-timer`` below
``renew-timer`` (Kea only warns and drops T1), duplicate option codes in one scope.

Kea defaults applied (Kea's ``simple_parser4.cc`` and the ARM): valid-lifetime 7200 (min/max
default to it), no renew/rebind timers, calculate-tee-times false with t1-percent 0.5 and
t2-percent 0.875, offer-lifetime 0, decline-probation-period 86400, match-client-id true,
authoritative false, echo-client-id true, next-server 0.0.0.0, reservations-in-subnet true,
reservations-global and reservations-out-of-pool false, ip-reservations-unique true,
host-reservation-identifiers [hw-address, duid, circuit-id, client-id], dhcp-socket-type raw,
outbound-interface same-as-inbound, re-detect true, lease-database memfile (persist true,
lfc-interval 3600, max-row-errors 0), expired-leases-processing 10/25/3600/100/250/5,
multi-threading on (pool 0, queue 64), sanity-checks lease-checks warn.

Subnets without an ``id`` get one exactly as Kea 2.x numbers them (1, 2, 3... in Kea's parse
order: the shared networks' subnets, then ``subnet4``; a clash with an explicit id is an error), with
a warning: leases are bound to the id, so a stable explicit id is better.

Not supported (errors unless empty/off): client classification, hook libraries that change
replies, ``hosts-database(s)``, ``config-control``, lease databases other than memfile, DNS updates,
option type ``ipv6-prefix``. DHCPv4-over-DHCPv6 (``4o6-*``, ``dhcp4o6-port``) and lease caching
are ignored with a warning.
"""

from __future__ import annotations

import bisect
import difflib
import ipaddress
import json
import logging
import logging.handlers
import os
import re
import socket
import sys
import threading
import time
import types
import typing
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Annotated, Any, NamedTuple

import msgspec
from msgspec import Meta, field

from . import options as _opt
from .errors import ConfigError, Problem
from .options import OptionDef, OptionValueError

__all__ = [
    "HOOKS", "CheckResult", "Config", "ConfigError", "Dhcp4Config", "InterfaceSpec", "Interfaces",
    "KeaFormatter", "LeaseDatabase", "LevelOption", "OptionTable", "Params", "Pool", "Problem",
    "Reservation", "SharedNetwork", "Subnet", "check_config", "configure_logging", "load_config",
    "logging_level", "merge_options", "parse_config", "reset_logging", "run_check_config",
]

U16 = Annotated[int, Meta(ge=0, le=0xFFFF)]
U32 = Annotated[int, Meta(ge=0, le=0xFFFFFFFF)]
INFINITE = 0xFFFFFFFF

DEFAULT_LEASE_FILE = "/var/lib/kea/kea-leases4.csv"
DEFAULT_IDENTIFIERS = ("hw-address", "duid", "circuit-id", "client-id")
IDENTIFIER_TYPES = ("hw-address", "duid", "circuit-id", "client-id", "flex-id")


# =================================================================================================
# Reading Kea's extended JSON
# =================================================================================================

class _Piece(NamedTuple):
    start: int      # offset of ``text`` in the joined document
    text: str
    source: str
    line: int       # line of ``source`` where ``text`` begins


# Pass 1 removes comments (blanked, so that line numbers stay right) and splices includes. The
# first alternative keeps runs of ordinary text in one match, strings whole (a '#' or '//' inside
# one is data), so that Python sees each comment, not each string.
_PASS1 = re.compile(r'''
    (?P<keep>(?:[^"\#/<]++|"(?:[^"\\\n]|\\.)*+"|/(?![/*])|<(?!\?include))++)
  | (?P<line>(?://|\#)[^\n]*)
  | (?P<block>/\*.*?\*/)
  | (?P<open>/\*)
  | (?P<inc><\?include\s*"(?P<file>[^"\n]*)"\s*\?>)
  | (?P<quote>")
''', re.DOTALL | re.VERBOSE)
# Pass 2, only when the text still does not parse: a comma before '}' or ']' (Kea accepts it with
# a warning) and a number written with a leading dot, ".25" (Kea's lexer accepts it).
_PASS2 = re.compile(r'"(?:[^"\\\n]|\\.)*"|,(?=\s*[}\]])|(?<=[\s:\[,])-?\.(?=\d)')
_NOT_NEWLINE = re.compile(r"[^\n]")

_MAX_INCLUDE_DEPTH = 10


class _Obj(dict):
    """A JSON object that remembers the keys it was given more than once."""

    __slots__ = ("dupes",)


class _BadConstant(ValueError):
    pass


_SPACED_KEY = re.compile(r'"\s+:')
_ESCAPED_SPACED_KEY = re.compile(r'\\"\s+:')


def _written_keys(doc: str) -> int:
    """Object keys written in ``doc``, counted as a closing quote and a colon. A quote-colon
    inside a string is an escaped quote (subtracted) or an opening quote (counted: the count is
    then too high and the caller takes the exact, slower road); a real key is never missed. An
    escaped backslash ("a\\\\":) would read as an escaped quote: then -1, the exact road."""
    if "\\\\" in doc:
        return -1
    return (doc.count('":') - doc.count('\\":') + len(_SPACED_KEY.findall(doc))
            - len(_ESCAPED_SPACED_KEY.findall(doc)))


def _count_keys(value: Any) -> int:
    n, stack = 0, [value]
    while stack:
        v = stack.pop()
        if isinstance(v, dict):
            n += len(v)
            stack.extend(v.values())
        elif isinstance(v, list):
            stack.extend(v)
    return n


def _where(text: str, offset: int, source: str) -> str:
    line = text.count("\n", 0, offset) + 1
    col = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return f"{source}:{line}:{col}"


class _Reader:
    """Kea's extended JSON -> Python objects, with problems and warnings located as
    ``file:line:col``. Objects holding a repeated key are ``_Obj`` listing it in ``dupes``."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self.warnings: list[Problem] = []
        self.pieces: list[_Piece] = []
        self._size = 0
        self._stack: list[str] = []
        self.dupes = False
        self.source = "<string>"

    def read(self, text: str, source: str, base_dir: str) -> Any:
        self.source = source

        def constant(name):
            raise _BadConstant(name)

        # Plain JSON cannot hold comments, includes, trailing commas or ".5": a generated file
        # (100k reservations) parses at C speed; anything else takes the two passes.
        try:
            value = json.loads(text, parse_constant=constant)
            self.pieces = [_Piece(0, text, source, 1)]
            document = text
        except (json.JSONDecodeError, RecursionError, _BadConstant):
            self._add(text, source, base_dir)
            if self.problems:
                return None
            document = "".join(p.text for p in self.pieces)
            try:
                try:
                    value = json.loads(document, parse_constant=constant)
                except json.JSONDecodeError:
                    document = self._pass2()
                    value = json.loads(document, parse_constant=constant)
            except json.JSONDecodeError as exc:
                self.problems.append(Problem(self.locate(exc.pos), f"JSON syntax error: {exc.msg}"))
                return None
            except _BadConstant as exc:
                self.problems.append(Problem(source, f"JSON syntax error: {exc} is not a JSON "
                                                     f"value"))
                return None
            except RecursionError:
                self.problems.append(Problem(source, "JSON nesting is too deep"))
                return None
        if _written_keys(document) == _count_keys(value):
            return value

        # A repeated key collapsed into one: parse again, recording them (Kea rejects them).
        def pairs(items):
            obj = _Obj()
            dupes = []
            for key, v in items:
                if key in obj:
                    dupes.append(key)
                obj[key] = v
            obj.dupes = tuple(dupes)
            self.dupes = self.dupes or bool(dupes)
            return obj
        return json.loads(document, object_pairs_hook=pairs)

    def locate(self, offset: int) -> str:
        if not self.pieces:
            return f"{self.source}:1:1"
        i = max(0, bisect.bisect_right([p.start for p in self.pieces], offset) - 1)
        p = self.pieces[i]
        within = min(max(offset - p.start, 0), len(p.text))
        line = p.line + p.text.count("\n", 0, within)
        col = within - (p.text.rfind("\n", 0, within) + 1) + 1
        return f"{p.source}:{line}:{col}"

    def _emit(self, text: str, source: str, line: int) -> None:
        if text:
            self.pieces.append(_Piece(self._size, text, source, line))
            self._size += len(text)

    def _pass2(self) -> str:
        """Apply pass 2 to every piece (keeping offsets consistent); the new document."""
        pieces, size = [], 0
        for p in self.pieces:
            def fix(m, p=p):
                tok = m.group()
                if tok[0] == '"':
                    return tok
                if tok == ",":
                    at = p.line + p.text.count("\n", 0, m.start())
                    self.warnings.append(Problem(f"{p.source}:{at}",
                                                 "extra comma before a closing bracket (ignored)"))
                    return " "
                return tok.replace(".", "0.")
            text = _PASS2.sub(fix, p.text)
            pieces.append(_Piece(size, text, p.source, p.line))
            size += len(text)
        self.pieces = pieces
        return "".join(p.text for p in pieces)

    def _add(self, text: str, source: str, base_dir: str) -> None:
        out: list[str] = []
        piece_line = 1
        for m in _PASS1.finditer(text):
            kind = m.lastgroup
            if kind in ("keep", "quote"):
                out.append(m.group())
            elif kind in ("line", "block"):
                out.append(_NOT_NEWLINE.sub(" ", m.group()))
            elif kind == "open":
                self.problems.append(Problem(_where(text, m.start(), source),
                                             "unterminated /* comment"))
                return
            else:
                self._emit("".join(out), source, piece_line)
                out = []
                self._include(m.group("file"), _where(text, m.start(), source), base_dir)
                # what follows the directive keeps its line number (its column shifts)
                piece_line = text.count("\n", 0, m.end()) + 1
        self._emit("".join(out), source, piece_line)

    def _include(self, name: str, where: str, base_dir: str) -> None:
        # Kea opens the path as given (relative to the working directory); fastdhcp falls back
        # to the including file's directory, so that a configuration can be moved as a whole.
        candidates = [name] if os.path.isabs(name) else [name, os.path.join(base_dir, name)]
        found = next((c for c in candidates if os.path.isfile(c)), None)
        if found is None:
            self.problems.append(Problem(where, f"cannot include {name!r}: no such file "
                                                f"(looked in the working directory and "
                                                f"{base_dir or '.'})"))
            return
        real = os.path.realpath(found)
        if real in self._stack:
            self.problems.append(Problem(where, f"include loop: {name!r} includes itself"))
            return
        if len(self._stack) >= _MAX_INCLUDE_DEPTH:
            self.problems.append(Problem(where, f"includes nested deeper than "
                                                f"{_MAX_INCLUDE_DEPTH} levels"))
            return
        try:
            with open(found, encoding="utf-8") as f:
                text = f.read()
        except (OSError, UnicodeDecodeError) as exc:
            self.problems.append(Problem(where, f"cannot include {name!r}: {exc}"))
            return
        self._stack.append(real)
        self._add(text, found, os.path.dirname(found))
        self._stack.pop()


# =================================================================================================
# The Dhcp4 schema: Kea's keys as msgspec Structs
# =================================================================================================
# ``None`` in an inheritable parameter means "not set here": the resolver looks further up.

class _Section(msgspec.Struct, kw_only=True, rename="kebab", forbid_unknown_fields=True,
               frozen=True):
    user_context: dict | None = None
    comment: str | None = None


class OptionDataConfig(_Section, kw_only=True):
    name: str | None = None
    code: int | None = None
    data: str | None = None
    csv_format: bool | None = None
    always_send: bool = False
    never_send: bool = False
    space: str = "dhcp4"


class OptionDefConfig(_Section, kw_only=True):
    name: str
    code: int
    type: str
    array: bool = False
    record_types: str = ""
    space: str = "dhcp4"
    encapsulate: str = ""


class RelayConfig(_Section, kw_only=True):
    ip_addresses: list[str] = []
    ip_address: str | None = None       # the single-address form of Kea before 1.7


class PoolConfig(_Section, kw_only=True):
    pool: str
    pool_id: U32 | None = None
    option_data: list[OptionDataConfig] = []


class ReservationConfig(_Section, kw_only=True):
    hw_address: str | None = None
    client_id: str | None = None
    duid: str | None = None
    circuit_id: str | None = None
    flex_id: str | None = None
    ip_address: str | None = None
    hostname: str | None = None
    next_server: str | None = None
    server_hostname: str | None = None
    boot_file_name: str | None = None
    client_classes: list[str] = []
    option_data: list[OptionDataConfig] = []


class _ScopeConfig(_Section, kw_only=True):
    """Parameters a subnet inherits from its shared network and from the global scope."""

    valid_lifetime: U32 | None = None
    min_valid_lifetime: U32 | None = None
    max_valid_lifetime: U32 | None = None
    renew_timer: U32 | None = None
    rebind_timer: U32 | None = None
    calculate_tee_times: bool | None = None
    t1_percent: float | None = None
    t2_percent: float | None = None
    offer_lifetime: U32 | None = None
    match_client_id: bool | None = None
    authoritative: bool | None = None
    next_server: str | None = None
    server_hostname: str | None = None
    boot_file_name: str | None = None
    reservations_global: bool | None = None
    reservations_in_subnet: bool | None = None
    reservations_out_of_pool: bool | None = None
    reservation_mode: str | None = None         # Kea < 1.9.1; mapped onto the three flags
    store_extended_info: bool | None = None
    allocator: str | None = None
    hostname_char_set: str | None = None
    hostname_char_replacement: str | None = None
    option_data: list[OptionDataConfig] = []


class SubnetConfig(_ScopeConfig, kw_only=True):
    subnet: str
    id: int | None = None
    pools: list[PoolConfig] = []
    reservations: list[ReservationConfig] = []
    interface: str | None = None
    relay: RelayConfig | None = None


class SharedNetworkConfig(_ScopeConfig, kw_only=True):
    name: str
    subnet4: list[SubnetConfig] = []
    interface: str | None = None
    relay: RelayConfig | None = None


class InterfacesConfig(_Section, kw_only=True):
    interfaces: list[str] = []
    dhcp_socket_type: str = "raw"
    outbound_interface: str = "same-as-inbound"
    re_detect: bool = True
    service_sockets_require_all: bool = False
    service_sockets_max_retries: U32 = 0
    service_sockets_retry_wait_time: U32 = 5000


class LeaseDatabaseConfig(_Section, kw_only=True):
    type: str
    name: str | None = None
    persist: bool = True
    lfc_interval: U32 = 3600
    max_row_errors: U32 = 0


class OutputOptionConfig(_Section, kw_only=True):
    output: str = "stdout"
    flush: bool = True
    maxsize: int = 10240000
    maxver: int = 1
    pattern: str = ""


class LoggerConfig(_Section, kw_only=True):
    name: str
    severity: str = "INFO"
    debuglevel: int = 0
    output_options: list[OutputOptionConfig] = field(default_factory=list, name="output_options")


class ControlSocketConfig(_Section, kw_only=True):
    socket_type: str = "unix"
    socket_name: str | None = None
    socket_address: str | None = None
    socket_port: U16 | None = None
    trust_anchor: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    cert_required: bool = True
    authentication: dict | None = None
    http_headers: list | None = None


class HookLibraryConfig(_Section, kw_only=True):
    library: str
    parameters: Any = None


class ExpiredLeasesConfig(_Section, kw_only=True):
    reclaim_timer_wait_time: U32 = 10
    flush_reclaimed_timer_wait_time: U32 = 25
    hold_reclaimed_time: U32 = 3600
    max_reclaim_leases: U32 = 100
    max_reclaim_time: U32 = 250
    unwarned_reclaim_cycles: U32 = 5


class MultiThreadingConfig(_Section, kw_only=True):
    enable_multi_threading: bool = True
    thread_pool_size: U32 = 0
    packet_queue_size: U32 = 64


class SanityChecksConfig(_Section, kw_only=True):
    lease_checks: str = "warn"
    extended_info_checks: str = "fix"


class DhcpDdnsConfig(_Section, kw_only=True):
    enable_updates: bool = False
    server_ip: str = "127.0.0.1"
    server_port: U16 = 53001
    sender_ip: str = "0.0.0.0"
    sender_port: U16 = 0
    max_queue_size: U32 = 1024
    ncr_protocol: str = "UDP"
    ncr_format: str = "JSON"


class CompatibilityConfig(_Section, kw_only=True):
    lenient_option_parsing: bool = False
    ignore_dhcp_server_identifier: bool = False
    ignore_rai_link_selection: bool = False
    exclude_first_last_24: bool = False


class DhcpQueueControlConfig(_Section, kw_only=True):
    enable_queue: bool = False
    queue_type: str = "kea-ring4"
    capacity: U32 = 64


class Dhcp4Config(_ScopeConfig, kw_only=True):
    """The ``Dhcp4`` object as written (with Kea's defaults for what a subnet cannot override)."""

    interfaces_config: InterfacesConfig = field(default_factory=InterfacesConfig)
    lease_database: LeaseDatabaseConfig = field(
        default_factory=lambda: LeaseDatabaseConfig(type="memfile"))
    decline_probation_period: U32 = 86400
    echo_client_id: bool = True
    ip_reservations_unique: bool = True
    host_reservation_identifiers: list[str] = field(
        default_factory=lambda: list(DEFAULT_IDENTIFIERS))
    option_def: list[OptionDefConfig] = []
    subnet4: list[SubnetConfig] = []
    shared_networks: list[SharedNetworkConfig] = []
    reservations: list[ReservationConfig] = []
    loggers: list[LoggerConfig] = []
    control_socket: ControlSocketConfig | None = None
    control_sockets: list[ControlSocketConfig] = []
    hooks_libraries: list[HookLibraryConfig] = []
    expired_leases_processing: ExpiredLeasesConfig = field(default_factory=ExpiredLeasesConfig)
    multi_threading: MultiThreadingConfig = field(default_factory=MultiThreadingConfig)
    sanity_checks: SanityChecksConfig = field(default_factory=SanityChecksConfig)
    dhcp_ddns: DhcpDdnsConfig = field(default_factory=DhcpDdnsConfig)
    compatibility: CompatibilityConfig = field(default_factory=CompatibilityConfig)
    dhcp_queue_control: DhcpQueueControlConfig = field(default_factory=DhcpQueueControlConfig)
    stash_agent_options: bool = False


# =================================================================================================
# Policy: known keys fastdhcp does not act on, and what an unknown key means
# =================================================================================================

ERROR, WARNING, ACCEPT = "error", "warning", "accept"


def _always(value: Any) -> bool:
    return True


def _nonempty(value: Any) -> bool:
    return value not in (None, "", [], {}, False, 0)


def _is_true(value: Any) -> bool:
    return value is True


class Rule(NamedTuple):
    """What to do when ``key`` appears: ``action`` (ERROR, WARNING, ACCEPT) applies when
    ``when(value)`` holds; otherwise the key is accepted silently. ``why`` is the message."""

    action: str
    why: str
    when: Callable[[Any], bool] = _always


_CLASSES_WHY = ("client classification is not supported by fastdhcp: a class-restricted {what} "
                "would serve different clients than under Kea")
_EXTRA_CLASSES_WHY = ("client classification is not supported: classes listed here have no "
                      "definitions to evaluate (ignored)")
_DDNS_WHY = "DNS update parameters have no effect while DNS updates are off"
_CACHE_WHY = ("lease caching (cache-threshold, cache-max-age) is not implemented: every renewal "
              "extends the lease (ignored)")
_4O6_WHY = "DHCPv4-over-DHCPv6 is not supported (ignored)"

_SCOPE_RULES: dict[str, Rule] = {
    "cache-threshold": Rule(WARNING, _CACHE_WHY),
    "cache-max-age": Rule(WARNING, _CACHE_WHY),
    "require-client-classes": Rule(WARNING, _EXTRA_CLASSES_WHY, _nonempty),
    "evaluate-additional-classes": Rule(WARNING, _EXTRA_CLASSES_WHY, _nonempty),
    "ddns-": Rule(ACCEPT, _DDNS_WHY),         # a prefix: every ddns-* parameter
    "metadata": Rule(ACCEPT, "Kea configuration-backend bookkeeping"),
}

#: Per object kind: keys fastdhcp knows but does not act on (ERROR / WARNING / ACCEPT, when).
_RULES: dict[type, dict[str, Rule]] = {
    Dhcp4Config: {
        **_SCOPE_RULES,
        "client-classes": Rule(ERROR, "client classification is not supported by fastdhcp: "
                               "classes change which subnets, pools and options clients get; "
                               "remove the classes (or keep this server on Kea)", _nonempty),
        "hosts-database": Rule(ERROR, "host reservations in a database are not supported: "
                               "clients with reservations there would get other addresses; "
                               "export them into 'reservations' in this file"),
        "hosts-databases": Rule(ERROR, "host reservations in a database are not supported: "
                                "export them into 'reservations' in this file", _nonempty),
        "config-control": Rule(ERROR, "the configuration backend is not supported: subnets and "
                               "options stored in a database would be missing",
                               lambda v: not isinstance(v, dict)
                               or _nonempty(v.get("config-databases"))),
        "dhcp4o6-port": Rule(WARNING, _4O6_WHY, _nonempty),
        "server-tag": Rule(ACCEPT, "configuration-backend selector"),
        "statistic-default-sample-count": Rule(ACCEPT, "statistics sampling"),
        "statistic-default-sample-age": Rule(ACCEPT, "statistics sampling"),
        "parked-packet-limit": Rule(ACCEPT, "only hook libraries park packets"),
        "early-global-reservations-lookup": Rule(ACCEPT, "only changes class evaluation"),
        "reservations-lookup-first": Rule(ACCEPT, "a lookup-order optimisation"),
        "reservation-mode": Rule(WARNING, "deprecated since Kea 1.9.1: mapped onto "
                                 "reservations-global/-in-subnet/-out-of-pool"),
    },
    SharedNetworkConfig: {
        **_SCOPE_RULES,
        "client-class": Rule(ERROR, _CLASSES_WHY.format(what="shared network"), _nonempty),
        "client-classes": Rule(ERROR, _CLASSES_WHY.format(what="shared network"), _nonempty),
        "reservation-mode": Rule(WARNING, "deprecated since Kea 1.9.1: mapped onto "
                                 "reservations-global/-in-subnet/-out-of-pool"),
    },
    SubnetConfig: {
        **_SCOPE_RULES,
        "client-class": Rule(ERROR, _CLASSES_WHY.format(what="subnet"), _nonempty),
        "client-classes": Rule(ERROR, _CLASSES_WHY.format(what="subnet"), _nonempty),
        "4o6-interface": Rule(WARNING, _4O6_WHY, _nonempty),
        "4o6-interface-id": Rule(WARNING, _4O6_WHY, _nonempty),
        "4o6-subnet": Rule(WARNING, _4O6_WHY, _nonempty),
        "reservation-mode": Rule(WARNING, "deprecated since Kea 1.9.1: mapped onto "
                                 "reservations-global/-in-subnet/-out-of-pool"),
    },
    PoolConfig: {
        "client-class": Rule(ERROR, _CLASSES_WHY.format(what="pool"), _nonempty),
        "client-classes": Rule(ERROR, _CLASSES_WHY.format(what="pool"), _nonempty),
        "require-client-classes": Rule(WARNING, _EXTRA_CLASSES_WHY, _nonempty),
        "evaluate-additional-classes": Rule(WARNING, _EXTRA_CLASSES_WHY, _nonempty),
        "ddns-": Rule(ACCEPT, _DDNS_WHY),
        "hostname-char-set": Rule(ACCEPT, _DDNS_WHY),
        "hostname-char-replacement": Rule(ACCEPT, _DDNS_WHY),
        "metadata": Rule(ACCEPT, "Kea configuration-backend bookkeeping"),
    },
    ReservationConfig: {
        "client-classes": Rule(WARNING, "client classification is not supported: classes "
                               "reserved for this host have no effect", _nonempty),
        "ip-addresses": Rule(ERROR, "a DHCPv6 reservation key; a DHCPv4 reservation takes "
                             "'ip-address'"),
        "prefixes": Rule(ERROR, "a DHCPv6 reservation key"),
    },
    OptionDataConfig: {
        "client-classes": Rule(ERROR, "option class-tagging needs client classes, which are not "
                               "supported: the option would go to other clients", _nonempty),
        "metadata": Rule(ACCEPT, "Kea configuration-backend bookkeeping"),
    },
    OptionDefConfig: {
        "metadata": Rule(ACCEPT, "Kea configuration-backend bookkeeping"),
    },
    LeaseDatabaseConfig: {
        **{k: Rule(WARNING, "a database connection parameter: ignored by the memfile backend")
           for k in ("host", "port", "user", "password", "connect-timeout",
                     "max-reconnect-tries", "reconnect-wait-time", "on-fail",
                     "retry-on-startup", "read-timeout", "write-timeout", "tcp-user-timeout",
                     "readonly", "trust-anchor", "cert-file", "key-file", "cipher-list",
                     "key-password", "ssl-mode")},
    },
    DhcpDdnsConfig: {
        "enable-updates": Rule(ERROR, "DNS updates (kea-dhcp-ddns) are not supported: clients' "
                               "names would not be registered; set enable-updates to false",
                               _is_true),
    },
    DhcpQueueControlConfig: {
        "enable-queue": Rule(WARNING, "packet queueing is not used: fastdhcp reads in batches "
                             "(ignored)", _is_true),
    },
}


class _Spec(NamedTuple):
    """How an object kind is decoded: where unknown keys go, and key aliases."""

    title: str
    unknown: str                    # ERROR or WARNING
    why: str
    aliases: Mapping[str, str] = types.MappingProxyType({})


_AFFECTS = "fastdhcp cannot tell how it would change what clients get (Kea rejects it too)"
_HARMLESS = "ignored (it does not change what clients get)"

_SECTIONS: dict[type, _Spec] = {
    Dhcp4Config: _Spec("Dhcp4", ERROR, _AFFECTS),
    SharedNetworkConfig: _Spec("shared network", ERROR, _AFFECTS),
    SubnetConfig: _Spec("subnet", ERROR, _AFFECTS),
    PoolConfig: _Spec("pool", ERROR, _AFFECTS),
    ReservationConfig: _Spec("reservation", ERROR, _AFFECTS),
    OptionDataConfig: _Spec("option-data entry", ERROR, _AFFECTS),
    OptionDefConfig: _Spec("option definition", ERROR, _AFFECTS),
    RelayConfig: _Spec("relay", ERROR, _AFFECTS),
    InterfacesConfig: _Spec("interfaces-config", ERROR, _AFFECTS),
    LeaseDatabaseConfig: _Spec("lease-database", ERROR,
                               "fastdhcp cannot tell what it would change in lease storage"),
    CompatibilityConfig: _Spec("compatibility", ERROR, _AFFECTS),
    LoggerConfig: _Spec("logger", WARNING, _HARMLESS, {"output-options": "output_options"}),
    OutputOptionConfig: _Spec("output option", WARNING, _HARMLESS),
    ControlSocketConfig: _Spec("control socket", WARNING, _HARMLESS),
    HookLibraryConfig: _Spec("hook library", WARNING, _HARMLESS),
    ExpiredLeasesConfig: _Spec("expired-leases-processing", WARNING, _HARMLESS),
    MultiThreadingConfig: _Spec("multi-threading", WARNING, _HARMLESS),
    SanityChecksConfig: _Spec("sanity-checks", WARNING, _HARMLESS),
    DhcpDdnsConfig: _Spec("dhcp-ddns", WARNING, _HARMLESS),
    DhcpQueueControlConfig: _Spec("dhcp-queue-control", WARNING, _HARMLESS),
}

#: Kea hook libraries by file name. WARNING: loading it would not change what clients get (its
#: function is native in fastdhcp, or it only serves operators); anything else is an ERROR.
HOOKS: dict[str, tuple[str, str]] = {
    "libdhcp_lease_cmds.so": (WARNING, "lease commands are answered natively by fastdhcp"),
    "libdhcp_stat_cmds.so": (WARNING, "statistics commands are answered natively by fastdhcp"),
    "libdhcp_subnet_cmds.so": (WARNING, "not loaded: subnet commands are unavailable"),
    "libdhcp_host_cmds.so": (WARNING, "not loaded: reservation commands are unavailable"),
    "libdhcp_class_cmds.so": (WARNING, "not loaded: class commands are unavailable"),
    "libdhcp_cb_cmds.so": (WARNING, ("not loaded: configuration-backend commands are "
                                    "unavailable")),
    "libdhcp_mysql.so": (WARNING, "not needed: fastdhcp uses memfile storage"),
    "libdhcp_pgsql.so": (WARNING, "not needed: fastdhcp uses memfile storage"),
    "libdhcp_mysql_cb.so": (WARNING, "not needed: the configuration backend is not supported"),
    "libdhcp_pgsql_cb.so": (WARNING, "not needed: the configuration backend is not supported"),
    "libdhcp_perfmon.so": (WARNING, "not loaded: performance monitoring is unavailable"),
    "libdhcp_legal_log.so": (WARNING, "not loaded: forensic lease logging is NOT written"),
    "libdhcp_run_script.so": (WARNING, "not loaded: lease scripts are NOT run"),
    "libdhcp_lease_query.so": (WARNING, "not loaded: leasequery messages are not answered"),
    "libdhcp_host_cache.so": (WARNING, "not needed: a cache for database reservations"),
}


# =================================================================================================
# Decoding
# =================================================================================================

_BAD = object()


def _jtype(value: Any) -> str:
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "null"


def _short(value: Any) -> str:
    text = json.dumps(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _inner(tp: Any) -> Any:
    """``X | None`` -> ``X`` (JSON null is never a valid Kea value)."""
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return tp


def _is_struct(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, msgspec.Struct)


class _Kind:
    """Decoding facts about one Struct class, computed once."""

    def __init__(self, cls: type) -> None:
        self.cls = cls
        self.spec = _SECTIONS[cls]
        self.rules = _RULES.get(cls, {})
        self.prefix_rules = [(k, r) for k, r in self.rules.items() if k.endswith("-")]
        self.fields = {f.encode_name: f for f in msgspec.structs.fields(cls)}
        self.required = [f for f in self.fields.values()
                         if f.default is msgspec.NODEFAULT
                         and f.default_factory is msgspec.NODEFAULT]
        nested = {k for k, f in self.fields.items() if _nested(f.type)}
        # Objects whose keys are all plain fields go to msgspec in one call (reservations and
        # option-data come by the thousand); anything else is walked key by key.
        self.plain = frozenset(self.fields) - nested
        self.ruled = frozenset(k for k in self.rules if not k.endswith("-"))
        self.known = sorted(set(self.fields) | self.ruled)
        # Rules on typed keys; for a list decoded in one msgspec call they are applied after.
        self.typed_rules = [(self.fields[k], r) for k, r in self.rules.items() if k in self.fields]
        self._list_fast: bool | None = None

    @property
    def list_fast(self) -> bool:
        """Whether a whole list of this kind may go to msgspec in one call: no object below it
        has a rule on a typed key (rules on other keys make msgspec fail, and the walk follows),
        so only this kind's typed rules need checking afterwards (``checked``)."""
        if self._list_fast is None:
            self._list_fast = not any(_kind(c).typed_rules or not _kind(c).list_fast
                                      for c in self.children())
        return self._list_fast

    def children(self) -> list[type]:
        out = []
        for f in self.fields.values():
            tp = _inner(f.type)
            if typing.get_origin(tp) is list:
                tp = typing.get_args(tp)[0]
            if _is_struct(tp):
                out.append(tp)
        return out

    def rule(self, key: str) -> Rule | None:
        r = self.rules.get(key)
        if r is None:
            for prefix, pr in self.prefix_rules:
                if key.startswith(prefix):
                    return pr
        return r


def _nested(tp: Any) -> bool:
    tp = _inner(tp)
    if _is_struct(tp):
        return True
    return typing.get_origin(tp) is list and _is_struct(typing.get_args(tp)[0])


_KINDS: dict[type, _Kind] = {}


def _kind(cls: type) -> _Kind:
    k = _KINDS.get(cls)
    if k is None:
        k = _KINDS[cls] = _Kind(cls)
    return k


class _Diag:
    """Problems and warnings of one load."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self.warnings: list[Problem] = []

    def error(self, path: str, reason: str) -> None:
        self.problems.append(Problem(path, reason))

    def warn(self, path: str, reason: str) -> None:
        self.warnings.append(Problem(path, reason))


class _Decoder:
    def __init__(self, diag: _Diag, dupes: bool) -> None:
        self.diag = diag
        self.fast = not dupes

    def struct(self, cls: type, obj: Any, path: str) -> Any:
        kind = _kind(cls)
        if not isinstance(obj, dict):
            self.diag.error(path, f"expected an object, got {_jtype(obj)}")
            return None
        for key in getattr(obj, "dupes", ()):
            self.diag.error(f"{path}.{key}", "the key is given twice in this object (Kea rejects "
                                             "repeated keys)")
        keys = obj.keys()
        if self.fast and keys <= kind.plain and not keys & kind.ruled:
            try:
                return msgspec.convert(obj, cls)
            except msgspec.ValidationError:
                pass        # walk it below, to report every problem with its path
        kwargs: dict[str, Any] = {}
        for key, value in obj.items():
            kpath = f"{path}.{key}"
            key = kind.spec.aliases.get(key, key)
            rule = kind.rule(key)
            f = kind.fields.get(key)
            if rule is not None and rule.when(value) and self._apply(rule, kpath) == ERROR:
                continue
            if f is None:
                if rule is None:
                    self._unknown(kind, key, kpath)
                continue
            decoded = self.value(f.type, value, kpath)
            if decoded is not _BAD:
                kwargs[f.name] = decoded
        ok = True
        for f in kind.required:
            if f.name not in kwargs:
                ok = False
                if f.encode_name not in obj:
                    self.diag.error(path, f"missing required key '{f.encode_name}'")
        return cls(**kwargs) if ok else None

    def value(self, tp: Any, value: Any, path: str) -> Any:
        tp = _inner(tp)
        if _is_struct(tp):
            r = self.struct(tp, value, path)
            return _BAD if r is None else r
        if typing.get_origin(tp) is list and _is_struct(typing.get_args(tp)[0]):
            if not isinstance(value, list):
                self.diag.error(path, f"expected a list, got {_jtype(value)}")
                return _BAD
            item = typing.get_args(tp)[0]
            kind = _kind(item)
            if self.fast and kind.list_fast and len(value) > 1:
                try:
                    items = msgspec.convert(value, tp)
                except msgspec.ValidationError:
                    pass
                else:
                    for field_info, rule in kind.typed_rules:
                        for i, it in enumerate(items):
                            if rule.when(getattr(it, field_info.name)):
                                self._apply(rule, f"{path}[{i}].{field_info.encode_name}")
                    return items
            # A failed entry stays as None so that later checks keep the entry's index.
            return [self.struct(item, v, f"{path}[{i}]") for i, v in enumerate(value)]
        try:
            return msgspec.convert(value, tp)
        except msgspec.ValidationError as exc:
            msg, at = str(exc), ""
            m = re.fullmatch(r"(.*) - at `\$(.*)`", msg, re.DOTALL)
            if m:
                msg, at = m.group(1), m.group(2)
            msg = msg.replace("`", "")
            msg = msg[:1].lower() + msg[1:]
            if " got " not in msg and not at:
                msg += f", got {_short(value)}"
            self.diag.error(path + at, msg)
            return _BAD

    def _apply(self, rule: Rule, path: str) -> str:
        if rule.action == ERROR:
            self.diag.error(path, rule.why)
        elif rule.action == WARNING:
            self.diag.warn(path, rule.why)
        return rule.action

    def _unknown(self, kind: _Kind, key: str, path: str) -> None:
        close = difflib.get_close_matches(key, kind.known, n=1, cutoff=0.75)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        text = f"unknown {kind.spec.title} key '{key}'{hint}: {kind.spec.why}"
        if kind.spec.unknown == ERROR:
            self.diag.error(path, text)
        else:
            self.diag.warn(path, text)


# =================================================================================================
# Option definitions of one configuration
# =================================================================================================

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


# =================================================================================================
# The resolved model: what the server consumes
# =================================================================================================

class LevelOption(NamedTuple):
    """One option at one level: its wire value (``None`` for a flags-only entry: ``never-send``
    without data) and Kea's two sticky flags."""

    data: bytes | None
    always_send: bool = False
    never_send: bool = False


def merge_options(*levels: dict[int, LevelOption] | None) -> dict[int, tuple[bytes, bool]]:
    """Kea's option precedence: ``levels`` from most to least specific (reservation, pool, subnet,
    shared network, global). The value comes from the most specific level that has data;
    ``always-send`` and ``never-send`` are sticky: set at any level, they apply (ARM "Standard
    DHCPv4 Options"), and never-send wins. Returns ``{code: (bytes, always_send)}``, by code."""
    present = [lv for lv in levels if lv]
    out: dict[int, tuple[bytes, bool]] = {}
    for code in sorted({c for lv in present for c in lv}):
        data, always, never = None, False, False
        for lv in present:
            o = lv.get(code)
            if o is None:
                continue
            always |= o.always_send
            never |= o.never_send
            if data is None:
                data = o.data
        if data is not None and not never:
            out[code] = (data, always)
    return out


def _ip_text(addr: int) -> str:
    return str(ipaddress.IPv4Address(addr))


class Pool(msgspec.Struct, kw_only=True, frozen=True):
    """A dynamic range: ``first`` and ``last`` inclusive, as integers."""

    first: int
    last: int
    options: dict[int, LevelOption] = {}
    vendor_options: dict[int, dict[int, LevelOption]] = {}
    pool_id: int | None = None
    path: str = ""

    @property
    def size(self) -> int:
        return self.last - self.first + 1

    def __contains__(self, addr: int) -> bool:
        return self.first <= addr <= self.last

    def __str__(self) -> str:
        return f"{_ip_text(self.first)} - {_ip_text(self.last)}"


class Reservation(msgspec.Struct, kw_only=True, frozen=True):
    """A host reservation. ``identifier`` is the identifier's bytes (the MAC for hw-address, the
    whole option 61 value for client-id); ``subnet_id`` is 0 for a global reservation."""

    identifier_type: str
    identifier: bytes
    subnet_id: int
    ip_address: int | None = None
    hostname: str | None = None
    next_server: int | None = None
    server_hostname: str | None = None
    boot_file_name: str | None = None
    client_classes: tuple[str, ...] = ()
    options: dict[int, LevelOption] = {}
    vendor_options: dict[int, dict[int, LevelOption]] = {}
    path: str = ""


class Params(msgspec.Struct, kw_only=True, frozen=True):
    """The parameters a subnet inherits (effective values: Kea's defaults already applied)."""

    valid_lifetime: int
    min_valid_lifetime: int
    max_valid_lifetime: int
    renew_timer: int | None
    rebind_timer: int | None
    calculate_tee_times: bool
    t1_percent: float
    t2_percent: float
    offer_lifetime: int
    match_client_id: bool
    authoritative: bool
    next_server: int
    server_hostname: str
    boot_file_name: str
    reservations_global: bool
    reservations_in_subnet: bool
    reservations_out_of_pool: bool
    store_extended_info: bool
    allocator: str
    hostname_char_set: str
    hostname_char_replacement: str

    def lease_time(self, requested: int | None = None) -> int:
        """The lease time for a client asking for ``requested`` (option 51): clamped into
        [min, max], the default when absent (ARM: valid-lifetime triplet)."""
        if requested is None:
            return self.valid_lifetime
        return min(max(requested, self.min_valid_lifetime), self.max_valid_lifetime)

    def tee_times(self, valid: int | None = None) -> tuple[int | None, int | None]:
        """(T1, T2) to send for a lease of ``valid`` seconds, None meaning "do not send", by
        Kea's rule: explicit timers first, else percentages when calculate-tee-times is on; T2
        only when below the lifetime, T1 only when below T2 (or the lifetime without T2)."""
        v = self.valid_lifetime if valid is None else valid
        t2 = self.rebind_timer
        if t2 is None and self.calculate_tee_times and v != INFINITE:
            t2 = round(v * self.t2_percent)
        if t2 is not None and t2 >= v:
            t2 = None
        t1 = self.renew_timer
        if t1 is None and self.calculate_tee_times and v != INFINITE:
            t1 = round(v * self.t1_percent)
        if t1 is not None and t1 >= (v if t2 is None else t2):
            t1 = None
        return t1, t2


class Subnet(Params, kw_only=True, frozen=True):
    """One subnet, ready to serve: shared-network members included."""

    id: int
    prefix: str                     # canonical "10.0.0.0/24"
    network: int
    prefix_len: int
    pools: tuple[Pool, ...] = ()
    relay_addresses: tuple[int, ...] = ()
    interface: str | None = None
    shared_network: str | None = None
    options: dict[int, LevelOption] = {}
    network_options: dict[int, LevelOption] = {}        # the shared network's level
    vendor_options: dict[int, dict[int, LevelOption]] = {}
    network_vendor_options: dict[int, dict[int, LevelOption]] = {}
    reservations: tuple[Reservation, ...] = ()
    id_auto: bool = False           # the id was assigned by fastdhcp, not written in the file
    path: str = ""

    @property
    def netmask(self) -> int:
        return (0xFFFFFFFF << (32 - self.prefix_len)) & 0xFFFFFFFF

    @property
    def broadcast(self) -> int:
        return self.network | (~self.netmask & 0xFFFFFFFF)

    @property
    def pool_ranges(self) -> tuple[tuple[int, int], ...]:
        return tuple((p.first, p.last) for p in self.pools)

    def __contains__(self, addr: int) -> bool:
        return addr & self.netmask == self.network

    def pool_of(self, addr: int) -> Pool | None:
        return next((p for p in self.pools if p.first <= addr <= p.last), None)


class SharedNetwork(msgspec.Struct, kw_only=True, frozen=True):
    name: str
    subnet_ids: tuple[int, ...]
    interface: str | None = None
    relay_addresses: tuple[int, ...] = ()
    options: dict[int, LevelOption] = {}
    path: str = ""


class InterfaceSpec(msgspec.Struct, frozen=True):
    """An ``interfaces`` entry: ``eth0`` or ``eth0/10.0.0.1`` (listen on that address only)."""

    name: str
    address: int | None = None

    def __str__(self) -> str:
        return self.name if self.address is None else f"{self.name}/{_ip_text(self.address)}"


class Interfaces(msgspec.Struct, kw_only=True, frozen=True):
    interfaces: tuple[InterfaceSpec, ...]
    wildcard: bool                  # "*": every interface
    dhcp_socket_type: str           # raw | udp
    outbound_interface: str         # same-as-inbound | use-routing
    re_detect: bool
    service_sockets_require_all: bool
    service_sockets_max_retries: int
    service_sockets_retry_wait_time: int


class LeaseDatabase(msgspec.Struct, kw_only=True, frozen=True):
    type: str
    name: str
    persist: bool
    lfc_interval: int
    max_row_errors: int


class Config(msgspec.Struct, kw_only=True):
    """A checked configuration. ``subnets`` holds every subnet (shared-network members too) in
    file order; ``dhcp4`` is the file as decoded; ``raw`` the parsed JSON (for config-get)."""

    source: str
    dhcp4: Dhcp4Config
    globals: Params
    subnets: tuple[Subnet, ...]
    shared_networks: tuple[SharedNetwork, ...]
    global_options: dict[int, LevelOption]
    global_vendor_options: dict[int, dict[int, LevelOption]]
    global_reservations: tuple[Reservation, ...]
    option_table: OptionTable
    interfaces: Interfaces
    lease_database: LeaseDatabase
    loggers: tuple[LoggerConfig, ...]
    control_sockets: tuple[ControlSocketConfig, ...]
    expired_leases_processing: ExpiredLeasesConfig
    multi_threading: MultiThreadingConfig
    sanity_checks: SanityChecksConfig
    compatibility: CompatibilityConfig
    host_reservation_identifiers: tuple[str, ...]
    decline_probation_period: int
    echo_client_id: bool
    ip_reservations_unique: bool
    warnings: list[Problem]
    raw: dict
    subnet_index: dict[int, Subnet] = {}

    def subnet(self, subnet_id: int) -> Subnet:
        return self.subnet_index[subnet_id]

    def options_for(self, subnet: Subnet | int, pool: Pool | None = None,
                    reservation: Reservation | None = None) -> dict[int, tuple[bytes, bool]]:
        """The options a client of ``subnet`` gets, ``{code: (bytes, always_send)}``, with Kea's
        precedence: reservation > pool > subnet > shared network > global."""
        s = self.subnet_index[subnet] if isinstance(subnet, int) else subnet
        return merge_options(reservation.options if reservation else None,
                             pool.options if pool else None, s.options, s.network_options,
                             self.global_options)

    def summary(self) -> str:
        pools = sum(len(s.pools) for s in self.subnets)
        resv = sum(len(s.reservations) for s in self.subnets) + len(self.global_reservations)
        size = sum(p.size for s in self.subnets for p in s.pools)
        return (f"{len(self.subnets)} subnets ({len(self.shared_networks)} shared networks), "
                f"{pools} pools ({size} addresses), {resv} reservations")


# =================================================================================================
# Checking and resolving
# =================================================================================================

_INHERITED = ("valid_lifetime", "min_valid_lifetime", "max_valid_lifetime", "renew_timer",
              "rebind_timer", "calculate_tee_times", "t1_percent", "t2_percent", "offer_lifetime",
              "match_client_id", "authoritative", "next_server", "server_hostname",
              "boot_file_name", "reservations_global", "reservations_in_subnet",
              "reservations_out_of_pool", "store_extended_info", "allocator",
              "hostname_char_set", "hostname_char_replacement")

# Kea's GLOBAL4_DEFAULTS (simple_parser4.cc). min/max-valid-lifetime default to valid-lifetime.
_DEFAULTS: dict[str, Any] = {
    "valid_lifetime": 7200, "min_valid_lifetime": None, "max_valid_lifetime": None,
    "renew_timer": None, "rebind_timer": None, "calculate_tee_times": False,
    "t1_percent": 0.5, "t2_percent": 0.875, "offer_lifetime": 0, "match_client_id": True,
    "authoritative": False, "next_server": "0.0.0.0", "server_hostname": "",
    "boot_file_name": "", "reservations_global": False, "reservations_in_subnet": True,
    "reservations_out_of_pool": False, "store_extended_info": False, "allocator": "iterative",
    "hostname_char_set": "[^A-Za-z0-9.-]", "hostname_char_replacement": "",
}

# reservation-mode (Kea < 1.9.1) -> (global, in-subnet, out-of-pool); None leaves a flag alone.
_RESERVATION_MODES = {
    "disabled": (False, False, None), "off": (False, False, None),
    "out-of-pool": (False, True, True), "global": (True, False, None),
    "all": (False, True, False),
}
_MAX_SNAME, _MAX_FILE = 64, 128         # BOOTP sname and file fields (RFC 951); Kea fills them
_MAX_IDENTIFIER = 128


def _parse_ip(text: str) -> int | None:
    """Dotted-quad IPv4 -> int, or None. inet_pton is strict like Kea's parser (no leading
    zeros, exactly four octets) and much faster than ipaddress for 100k reservations."""
    try:
        return int.from_bytes(socket.inet_pton(socket.AF_INET, text.strip()), "big")
    except (OSError, AttributeError, ValueError):
        return None


_HEX_PAIRS = re.compile(r"[0-9A-Fa-f]{1,2}")
_COLON_HEX = re.compile(r"[0-9A-Fa-f]{2}(?::[0-9A-Fa-f]{2}){0,127}")


def _identifier_bytes(kind: str, text: str) -> bytes | str:
    """A reservation identifier -> bytes, or the reason it is not one. Kea's forms, for every
    kind: hex octets separated by ':' or ' ' (one or two digits each), a run of hex digits
    (optionally 0x), or a 'quoted string' (its bytes). Kea rejects '-' and '.' separators."""
    s = text.strip()
    if _COLON_HEX.fullmatch(s):                     # the usual "aa:bb:cc:dd:ee:ff"
        raw = bytes.fromhex(s.replace(":", ""))
    elif len(s) >= 2 and s[0] == s[-1] == "'":
        raw = s[1:-1].encode()
    elif ":" in s or " " in s:
        parts = s.split(":") if ":" in s else s.split()
        if not all(_HEX_PAIRS.fullmatch(p) for p in parts):
            return f"{text!r} is not hex octets separated by ':' or ' '"
        raw = bytes(int(p, 16) for p in parts)
    else:
        digits = s[2:] if s[:2].lower() == "0x" else s
        if not re.fullmatch(r"[0-9A-Fa-f]+", digits):
            return (f"{text!r} is not an identifier (hex octets separated by ':' or ' ', a run of "
                    f"hex digits, or a 'quoted string')")
        raw = bytes.fromhex(("0" if len(digits) % 2 else "") + digits)
    limit = 20 if kind == "hw-address" else _MAX_IDENTIFIER
    if not 1 <= len(raw) <= limit:
        return f"{text!r} is {len(raw)} bytes; a {kind} has 1..{limit}"
    return raw


class _Scope(NamedTuple):
    """One level of the inheritance chain, with its values and where it is."""

    cfg: _ScopeConfig
    path: str
    values: dict[str, Any]          # set here (reservation-mode already mapped)


class _Resolver:
    def __init__(self, cfg: Dhcp4Config, diag: _Diag, source: str, raw: dict) -> None:
        self.cfg = cfg
        self.diag = diag
        self.source = source
        self.raw = raw
        self.error = diag.error
        self.warn = diag.warn
        self.table = OptionTable()
        self.identifier_types: frozenset[str] = frozenset(DEFAULT_IDENTIFIERS)

    # --- entry point ------------------------------------------------------------------------

    def resolve(self) -> Config | None:
        cfg = self.cfg
        self.table = self._option_defs(cfg.option_def)
        glob = self._scope(cfg, "Dhcp4")
        self.global_scope = glob
        gparams = self._params([glob])
        self._check_scope([glob], "Dhcp4")
        g_opts, g_vendor = self._options(cfg.option_data, "Dhcp4.option-data")
        interfaces = self._interfaces(cfg.interfaces_config)
        lease_db = self._lease_database(cfg.lease_database)
        self._hooks(cfg.hooks_libraries)
        loggers = self._loggers(cfg.loggers)
        sockets = self._control_sockets(cfg)
        self._sanity(cfg.sanity_checks)
        idents = self._identifier_types(cfg.host_reservation_identifiers)
        self.identifier_types = frozenset(idents)
        if not cfg.lease_database.persist:
            self.warn("Dhcp4.lease-database.persist", "leases are not written to disk: a restart "
                                                      "forgets every lease")

        subnets, networks = self._subnets(glob)
        global_resv = self._reservations(cfg.reservations, "Dhcp4.reservations", None, 0,
                                         unique_ip=cfg.ip_reservations_unique)
        self._check_global_reservations(global_resv, subnets)
        self._check_interfaces(interfaces, subnets)
        if self.diag.problems:
            return None
        return Config(
            source=self.source, dhcp4=cfg, globals=gparams, subnets=tuple(subnets),
            shared_networks=tuple(networks), global_options=g_opts,
            global_vendor_options=g_vendor, global_reservations=tuple(global_resv),
            option_table=self.table, interfaces=interfaces, lease_database=lease_db,
            loggers=tuple(loggers), control_sockets=tuple(sockets),
            expired_leases_processing=cfg.expired_leases_processing,
            multi_threading=cfg.multi_threading, sanity_checks=cfg.sanity_checks,
            compatibility=cfg.compatibility, host_reservation_identifiers=idents,
            decline_probation_period=cfg.decline_probation_period,
            echo_client_id=cfg.echo_client_id, ip_reservations_unique=cfg.ip_reservations_unique,
            warnings=self.diag.warnings, raw=self.raw,
            subnet_index={s.id: s for s in subnets})

    # --- inheritance ------------------------------------------------------------------------

    def _scope(self, cfg: _ScopeConfig, path: str) -> _Scope:
        values = {name: getattr(cfg, name) for name in _INHERITED}
        if values["next_server"] == "":      # Kea: "" leaves it unset (inherited), not 0.0.0.0
            values["next_server"] = None
        mode = cfg.reservation_mode
        if mode is not None:
            if any(values[k] is not None for k in ("reservations_global",
                                                   "reservations_in_subnet",
                                                   "reservations_out_of_pool")):
                self.error(f"{path}.reservation-mode", "cannot be combined with "
                           "reservations-global, reservations-in-subnet or "
                           "reservations-out-of-pool")
            elif mode not in _RESERVATION_MODES:
                self.error(f"{path}.reservation-mode", f"unknown reservation mode {mode!r} "
                           f"(one of {', '.join(_RESERVATION_MODES)})")
            else:
                flags = _RESERVATION_MODES[mode]
                for k, v in zip(("reservations_global", "reservations_in_subnet",
                                 "reservations_out_of_pool"), flags):
                    values[k] = v
        return _Scope(cfg, path, values)

    @staticmethod
    def _effective(chain: Sequence[_Scope], name: str) -> Any:
        for scope in chain:
            v = scope.values[name]
            if v is not None:
                return v
        if name in ("min_valid_lifetime", "max_valid_lifetime"):
            return _Resolver._effective(chain, "valid_lifetime")
        return _DEFAULTS[name]

    def _params(self, chain: Sequence[_Scope]) -> Params:
        """``chain``: most specific scope first, the global scope last."""
        eff = {name: self._effective(chain, name) for name in _INHERITED}
        server = _parse_ip(eff["next_server"])
        if server is None:
            server = 0      # reported by _check_scope where it is written
        eff["next_server"] = server
        return Params(**eff)

    def _set_here(self, scope: _Scope, *names: str) -> bool:
        return scope.path == "Dhcp4" or any(scope.values[n] is not None for n in names)

    def _check_scope(self, chain: Sequence[_Scope], path: str) -> None:
        """Kea's per-scope checks, on the values in force at the scope that sets them."""
        here = chain[0]
        eff = lambda name: self._effective(chain, name)
        at = lambda key: f"{path}.{key}" if here.values.get(
            key.replace("-", "_")) is not None else path

        # The lifetime triplet (Kea's parseIntTriplet): min <= valid <= max.
        if self._set_here(here, "valid_lifetime", "min_valid_lifetime", "max_valid_lifetime"):
            valid, lo, hi = eff("valid_lifetime"), eff("min_valid_lifetime"), eff(
                "max_valid_lifetime")
            explicit = lambda name: any(s.values[name] is not None for s in chain)
            if explicit("min_valid_lifetime") and explicit("max_valid_lifetime") and lo > hi:
                self.error(at("min-valid-lifetime"), f"min-valid-lifetime {lo} is greater than "
                                                     f"max-valid-lifetime {hi}")
            elif not lo <= valid <= hi:
                key = "valid-lifetime" if here.values["valid_lifetime"] is not None else (
                    "min-valid-lifetime" if valid < lo else "max-valid-lifetime")
                if explicit("min_valid_lifetime") and explicit("max_valid_lifetime"):
                    why = (f"valid-lifetime {valid} is outside [min-valid-lifetime {lo}, "
                           f"max-valid-lifetime {hi}]")
                elif valid < lo:
                    why = f"valid-lifetime {valid} is less than min-valid-lifetime {lo}"
                else:
                    why = f"valid-lifetime {valid} is greater than max-valid-lifetime {hi}"
                self.error(at(key), why)

        if self._set_here(here, "renew_timer", "rebind_timer", "valid_lifetime"):
            renew, rebind, valid = eff("renew_timer"), eff("rebind_timer"), eff("valid_lifetime")
            if renew is not None and rebind is not None and rebind < renew:
                # Kea only warns and then never sends T1 (option 58); fastdhcp refuses it: the
                # operator asked for a T1 that can never be sent (RFC 2131 §4.4.5: T1 < T2).
                self.error(at("rebind-timer"), f"rebind-timer {rebind} is less than renew-timer "
                                               f"{renew} (T2 must not come before T1)")
            elif rebind is not None and rebind >= valid:
                self.warn(at("rebind-timer"), f"rebind-timer {rebind} is not less than "
                                              f"valid-lifetime {valid}: option 59 is not sent")
            elif renew is not None and renew >= (valid if rebind is None else rebind):
                self.warn(at("renew-timer"), f"renew-timer {renew} is not less than "
                                             f"{'valid-lifetime' if rebind is None else 'rebind-timer'}"
                                             f": option 58 is not sent")

        if self._set_here(here, "calculate_tee_times", "t1_percent", "t2_percent"):
            calc, t1, t2 = eff("calculate_tee_times"), eff("t1_percent"), eff("t2_percent")
            if calc:
                for key, v in (("t1-percent", t1), ("t2-percent", t2)):
                    if not 0.0 < v < 1.0:
                        self.error(at(key), f"{key} {v} must be greater than 0 and less than 1")
                if 0.0 < t1 < 1.0 and 0.0 < t2 < 1.0 and t1 >= t2:
                    self.error(at("t1-percent"), f"t1-percent {t1} must be less than t2-percent "
                                                 f"{t2}")
            elif (here.values["t1_percent"] is not None
                  or here.values["t2_percent"] is not None) and t1 >= t2:
                self.warn(at("t1-percent"), f"t1-percent {t1} is not less than t2-percent {t2} "
                                            f"(no effect while calculate-tee-times is false)")

        cfg = here.cfg
        if here.path != "Dhcp4" and cfg.offer_lifetime is not None:
            self.error(f"{path}.offer-lifetime", "offer-lifetime is a global parameter in "
                                                 "fastdhcp (Kea 2.2 has none)")
        if cfg.next_server and _parse_ip(cfg.next_server) is None:
            self.error(f"{path}.next-server", f"{cfg.next_server!r} is not an IPv4 address")
        self._check_bootp_fields(cfg.server_hostname, cfg.boot_file_name, path)
        if cfg.allocator is not None and cfg.allocator not in ("iterative", "random"):
            self.error(f"{path}.allocator", f"unknown allocator {cfg.allocator!r} (iterative or "
                                            f"random)")
        elif cfg.allocator == "random":
            self.warn(f"{path}.allocator", "fastdhcp hands out the lowest free address "
                                           "(iterative); 'random' is not implemented")
        if cfg.hostname_char_set:
            try:
                re.compile(cfg.hostname_char_set)
            except re.error as exc:
                self.error(f"{path}.hostname-char-set", f"not a valid regular expression: {exc}")

    def _check_bootp_fields(self, sname: str | None, file: str | None, path: str) -> None:
        if sname is not None and len(sname.encode()) > _MAX_SNAME:
            self.error(f"{path}.server-hostname", f"is {len(sname.encode())} bytes; the sname "
                                                  f"field holds at most {_MAX_SNAME}")
        if file is not None and len(file.encode()) > _MAX_FILE:
            self.error(f"{path}.boot-file-name", f"is {len(file.encode())} bytes; the file "
                                                 f"field holds at most {_MAX_FILE}")

    # --- options ----------------------------------------------------------------------------

    def _option_defs(self, defs: Sequence[OptionDefConfig | None]) -> OptionTable:
        custom: dict[str, dict[int, OptionDef]] = {}
        seen_at: dict[tuple[str, Any], str] = {}
        for i, od in enumerate(defs):
            if od is None:
                continue
            p = f"Dhcp4.option-def[{i}]"
            ok = True
            if not _NAME_RE.fullmatch(od.name) or od.name.isdigit():
                self.error(f"{p}.name", f"invalid option name {od.name!r} (letters, digits, '-' "
                                        f"and '_')")
                ok = False
            if not _SPACE_RE.fullmatch(od.space) or od.space == "dhcp6":
                self.error(f"{p}.space", f"invalid option space {od.space!r}")
                ok = False
            lo, hi = (1, 254) if od.space == DHCP4_SPACE else (0, 255)
            if not lo <= od.code <= hi:
                self.error(f"{p}.code", f"option code {od.code} is outside {lo}..{hi}")
                ok = False
            fields: tuple[str, ...] = ()
            if od.type in _NO_CODEC:
                self.error(f"{p}.type", _NO_CODEC[od.type])
                ok = False
            elif od.type not in _DEF_TYPES:
                self.error(f"{p}.type", f"unknown option type {od.type!r}")
                ok = False
            elif od.type == "record":
                fields = tuple(t.strip() for t in od.record_types.split(",") if t.strip())
                reason = self._record_problem(fields, od.array)
                if reason:
                    self.error(f"{p}.record-types", reason)
                    ok = False
            elif od.record_types.strip():
                self.error(f"{p}.record-types", "record-types is only for type 'record'")
                ok = False
            if od.array and od.type in ("string", "binary", "empty"):
                self.error(f"{p}.array", f"an array of {od.type} is not a valid option "
                                         f"definition (the items' lengths are unknown)")
                ok = False
            if od.encapsulate and not _SPACE_RE.fullmatch(od.encapsulate):
                self.error(f"{p}.encapsulate", f"invalid option space {od.encapsulate!r}")
                ok = False
            if od.space == DHCP4_SPACE and ok:
                std = _STD_DHCP4.get(od.code)
                # Kea allows a global definition of option 43 (its format is vendor-specific)
                # and of codes it leaves undefined; redefining a standard option is an error.
                if std is not None and std.kea and od.code != 43:
                    self.error(f"{p}.code", f"option code {od.code} is the standard option "
                                            f"'{std.name}'; standard options cannot be redefined")
                    ok = False
                named = _STD_DHCP4_NAMES.get(od.name)
                if named is not None and named.kea and named.code != od.code:
                    self.error(f"{p}.name", f"'{od.name}' is the name of standard option "
                                            f"{named.code}")
                    ok = False
            for key in ((od.space, od.code), (od.space, od.name)):
                if ok and key in seen_at:
                    what = f"code {od.code}" if isinstance(key[1], int) else f"name '{od.name}'"
                    self.error(p, f"option {what} in space '{od.space}' is already defined at "
                                  f"{seen_at[key]}")
                    ok = False
            if not ok:
                continue
            seen_at[(od.space, od.code)] = seen_at[(od.space, od.name)] = p
            custom.setdefault(od.space, {})[od.code] = OptionDef(
                od.code, od.name, od.type, od.array, fields, od.encapsulate, kea=False)
        return OptionTable(custom)

    @staticmethod
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

    class _Entry(NamedTuple):
        space: str
        code: int
        data: bytes | None
        always: bool
        never: bool
        definition: OptionDef | None
        path: str
        csv: bool

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
        return self._Entry(space, code, data, e.always_send, e.never_send, d, path, csv)

    def _options(self, entries: Sequence[OptionDataConfig | None], path: str
                 ) -> tuple[dict[int, LevelOption], dict[int, dict[int, LevelOption]]]:
        """One level's option-data -> ({code: LevelOption} for dhcp4, {enterprise: {code:
        LevelOption}} for vendor-N spaces). Encapsulated spaces are packed into their container
        from the same level, as Kea's CfgOption::encapsulate does."""
        spaces: dict[str, dict[int, _Resolver._Entry]] = {}
        vivs: dict[int, list[_Resolver._Entry]] = {124: [], 125: []}
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
                out[code] = self._vendor_identifying(code, entries_, spaces, used)

        vendor: dict[int, dict[int, LevelOption]] = {}
        for space, level in spaces.items():
            m = _VENDOR_SPACE_RE.fullmatch(space)
            if m:
                vendor[int(m.group(1))] = {c: LevelOption(e.data, e.always, e.never)
                                           for c, e in sorted(level.items())}
                if space not in used:
                    first = next(iter(level.values()))
                    self.warn(first.path, f"options in space '{space}' are never sent: fastdhcp "
                                          f"sends them packed into a vivso-suboptions (125) "
                                          f"option for enterprise {m.group(1)} set at this level; "
                                          f"it does not add them on a client's own option 125 "
                                          f"as Kea does")
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

    def _vendor_identifying(self, code: int, entries: list[_Entry],
                            spaces: dict[str, dict[int, _Entry]], used: set[str]) -> LevelOption:
        """124/125 may be given once per vendor (ARM "DHCPv4 Vendor-Specific Options"): the
        instances are concatenated (RFC 3396 makes that one option). For 125 in csv form (the
        enterprise id alone), the sub-options of space vendor-<id> at this level are packed in."""
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
                subs = self._suboptions(spaces, f"vendor-{enterprise}", used, 1)
                if len(subs) > 255:
                    self.error(e.path, f"the vendor-{enterprise} sub-options are {len(subs)} "
                                       f"bytes; RFC 3925 allows 255 per enterprise")
                    continue
                data = data[:4] + bytes((len(subs),)) + subs
            blocks.append(data)
        data = b"".join(blocks) if blocks else None
        return LevelOption(data, any(e.always for e in entries), any(e.never for e in entries))

    # --- global sections --------------------------------------------------------------------

    def _interfaces(self, ic: InterfacesConfig) -> Interfaces:
        p = "Dhcp4.interfaces-config"
        specs: list[InterfaceSpec] = []
        wildcard = False
        seen: set[str] = set()
        for i, text in enumerate(ic.interfaces):
            ip = f"{p}.interfaces[{i}]"
            if text == "*":
                wildcard = True
                continue
            name, sep, addr = text.partition("/")
            if not name.strip() or name != name.strip():
                self.error(ip, f"{text!r} is not an interface name")
                continue
            address = None
            if sep:
                address = _parse_ip(addr)
                if address is None:
                    self.error(ip, f"{addr!r} is not an IPv4 address (write name/address, e.g. "
                                   f"eth0/192.0.2.1)")
                    continue
            # Kea refuses a name twice, or bare and with an address ("has already been
            # selected"); several addresses of one interface are fine.
            clash = text in seen or (name in seen if address is not None else
                                     any(sp.name == name for sp in specs))
            if clash:
                self.error(ip, f"interface {name!r} is already listed")
                continue
            seen.add(text)
            specs.append(InterfaceSpec(name, address))
        if ic.dhcp_socket_type not in ("raw", "udp"):
            self.error(f"{p}.dhcp-socket-type", f"must be 'raw' or 'udp', not "
                                                f"{ic.dhcp_socket_type!r}")
        if ic.outbound_interface not in ("same-as-inbound", "use-routing"):
            self.error(f"{p}.outbound-interface", f"must be 'same-as-inbound' or 'use-routing', "
                                                  f"not {ic.outbound_interface!r}")
        elif ic.outbound_interface == "use-routing" and ic.dhcp_socket_type == "raw":
            self.warn(f"{p}.outbound-interface", "use-routing only applies with "
                                                 "dhcp-socket-type udp (ignored with raw)")
        return Interfaces(interfaces=tuple(specs), wildcard=wildcard,
                          dhcp_socket_type=ic.dhcp_socket_type,
                          outbound_interface=ic.outbound_interface, re_detect=ic.re_detect,
                          service_sockets_require_all=ic.service_sockets_require_all,
                          service_sockets_max_retries=ic.service_sockets_max_retries,
                          service_sockets_retry_wait_time=ic.service_sockets_retry_wait_time)

    def _check_interfaces(self, interfaces: Interfaces, subnets: list[Subnet]) -> None:
        names = {s.name for s in interfaces.interfaces}
        if subnets and not names and not interfaces.wildcard:
            self.warn("Dhcp4.interfaces-config.interfaces", "no interface is listed: the server "
                                                            "will not listen anywhere")
        if interfaces.wildcard:
            return
        for s in subnets:
            if s.interface is not None and s.interface not in names:
                self.warn(f"{s.path}", f"subnet {s.prefix} is bound to interface "
                                       f"'{s.interface}', which is not in "
                                       f"interfaces-config.interfaces")

    def _lease_database(self, ld: LeaseDatabaseConfig) -> LeaseDatabase:
        if ld.type != "memfile":
            known = ld.type in ("mysql", "postgresql", "cql")
            self.error("Dhcp4.lease-database.type",
                       f"lease-database type '{ld.type}' is "
                       f"{'not supported' if known else 'unknown'}: fastdhcp keeps leases in "
                       f"Kea's memfile CSV format (type memfile)"
                       + ("; export the leases to a CSV file with kea-admin lease-dump"
                          if known else ""))
        name = ld.name if ld.name else DEFAULT_LEASE_FILE
        return LeaseDatabase(type="memfile", name=name, persist=ld.persist,
                             lfc_interval=ld.lfc_interval, max_row_errors=ld.max_row_errors)

    def _hooks(self, hooks: Sequence[HookLibraryConfig | None]) -> None:
        for i, h in enumerate(hooks):
            if h is None:
                continue
            p = f"Dhcp4.hooks-libraries[{i}]"
            base = os.path.basename(h.library)
            action, why = HOOKS.get(base, (ERROR, ""))
            if action == WARNING:
                self.warn(p, f"hook library {base} is not loaded ({why})")
            else:
                self.error(p, f"hook library {base} cannot be loaded by fastdhcp and may change "
                              f"what clients get; remove it (or keep this server on Kea)")

    def _loggers(self, loggers: Sequence[LoggerConfig | None]) -> list[LoggerConfig]:
        out = []
        for i, lg in enumerate(loggers):
            if lg is None:
                continue
            p = f"Dhcp4.loggers[{i}]"
            if lg.severity.upper() not in _SEVERITIES:
                self.error(f"{p}.severity", f"unknown severity {lg.severity!r} (one of "
                                            f"{', '.join(_SEVERITIES)})")
            if not 0 <= lg.debuglevel <= 99:
                self.error(f"{p}.debuglevel", f"debuglevel {lg.debuglevel} is outside 0..99")
            if not (lg.name == "*" or lg.name == _KEA_ROOT
                    or lg.name.startswith(_KEA_ROOT + ".")):
                self.warn(f"{p}.name", f"logger '{lg.name}' is not a kea-dhcp4 logger (ignored)")
                continue
            for j, o in enumerate(lg.output_options):
                if o is not None and not o.output:
                    self.error(f"{p}.output_options[{j}].output", "output is empty")
            out.append(lg)
        return out

    def _control_sockets(self, cfg: Dhcp4Config) -> list[ControlSocketConfig]:
        items = []
        if cfg.control_socket is not None:
            items.append(("Dhcp4.control-socket", cfg.control_socket))
        items += [(f"Dhcp4.control-sockets[{i}]", s) for i, s in enumerate(cfg.control_sockets)
                  if s is not None]
        out = []
        for p, s in items:
            if s.socket_type not in ("unix", "http", "https"):
                self.warn(f"{p}.socket-type", f"unknown socket type {s.socket_type!r} (ignored)")
                continue
            if s.socket_type == "unix" and not s.socket_name:
                self.warn(p, "a unix control socket needs socket-name (ignored)")
                continue
            out.append(s)
        return out

    def _sanity(self, sc: SanityChecksConfig) -> None:
        if sc.lease_checks not in ("none", "warn", "fix", "fix-del", "del"):
            self.error("Dhcp4.sanity-checks.lease-checks", f"unknown value {sc.lease_checks!r} "
                                                           f"(none, warn, fix, fix-del or del)")
        if sc.extended_info_checks not in ("none", "fix", "strict", "pedantic"):
            self.error("Dhcp4.sanity-checks.extended-info-checks",
                       f"unknown value {sc.extended_info_checks!r} (none, fix, strict or "
                       f"pedantic)")

    def _identifier_types(self, types_: Sequence[str]) -> tuple[str, ...]:
        out: list[str] = []
        if not types_:       # (Kea refuses it too: no reservation could ever match)
            self.error("Dhcp4.host-reservation-identifiers", "the list must not be empty")
        for i, t in enumerate(types_):
            p = f"Dhcp4.host-reservation-identifiers[{i}]"
            if t not in IDENTIFIER_TYPES:
                self.error(p, f"unknown identifier type {t!r} (one of "
                              f"{', '.join(IDENTIFIER_TYPES)})")
            elif t in out:
                self.error(p, f"identifier type {t!r} is listed twice")
            else:
                out.append(t)
        return tuple(out)

    # --- subnets ----------------------------------------------------------------------------

    class _Draft(NamedTuple):
        cfg: SubnetConfig
        path: str
        chain: tuple[_Scope, ...]
        network: ipaddress.IPv4Network
        shared: SharedNetworkConfig | None
        shared_path: str | None
        net_options: dict[int, LevelOption]
        net_vendor: dict[int, dict[int, LevelOption]]

    def _subnets(self, glob: _Scope) -> tuple[list[Subnet], list[SharedNetwork]]:
        cfg = self.cfg
        drafts: list[_Resolver._Draft] = []
        network_names: dict[str, str] = {}
        network_drafts: list[tuple[SharedNetworkConfig, str, int, int, dict]] = []
        empty: dict = {}

        # Kea parses Dhcp4's keys in alphabetical order (a std::map): "shared-networks" before
        # "subnet4". The order matters for the ids of subnets written without one.
        for j, sn in enumerate(cfg.shared_networks):
            if sn is None:
                continue
            np = f"Dhcp4.shared-networks[{j}]"
            if not sn.name.strip():
                self.error(f"{np}.name", "a shared network needs a non-empty name")
            elif sn.name in network_names:
                self.error(f"{np}.name", f"shared network name '{sn.name}' is already used by "
                                         f"{network_names[sn.name]}")
            network_names.setdefault(sn.name, np)
            scope = self._scope(sn, np)
            self._check_scope((scope, glob), np)
            self._relay(sn.relay, f"{np}.relay")
            n_opts, n_vendor = self._options(sn.option_data, f"{np}.option-data")
            first = len(drafts)
            for i, s in enumerate(sn.subnet4):
                if s is not None:
                    self._draft(drafts, s, f"{np}.subnet4[{i}]", (scope, glob), sn, np, n_opts,
                                n_vendor)
            network_drafts.append((sn, np, first, len(drafts), n_opts))
            self._check_network_members(sn, np, drafts[first:])

        for i, s in enumerate(cfg.subnet4):
            if s is not None:
                self._draft(drafts, s, f"Dhcp4.subnet4[{i}]", (glob,), None, None, empty, empty)

        ids = self._assign_ids(drafts)
        self._check_overlaps(drafts)
        subnets = []
        for d, (sid, auto) in zip(drafts, ids):
            subnets.append(self._subnet(d, sid, auto))
        self._check_pools(subnets)
        self._check_relays(subnets)

        networks = []
        for sn, np, lo, hi, n_opts in network_drafts:
            networks.append(SharedNetwork(
                name=sn.name, subnet_ids=tuple(s.id for s in subnets[lo:hi]),
                interface=sn.interface, relay_addresses=self._relay(sn.relay, None),
                options=n_opts, path=np))
        return subnets, networks

    def _draft(self, drafts: list, s: SubnetConfig, path: str, parents: tuple[_Scope, ...],
               shared: SharedNetworkConfig | None, shared_path: str | None,
               net_options: dict, net_vendor: dict) -> None:
        scope = self._scope(s, path)
        chain = (scope, *parents)
        self._check_scope(chain, path)
        text = s.subnet.strip()
        if "/" not in text:
            self.error(f"{path}.subnet", f"{s.subnet!r} is not a prefix (write address/length, "
                                         f"e.g. 192.0.2.0/24)")
            return
        try:
            net = ipaddress.IPv4Network(text, strict=False)
        except ValueError as exc:
            self.error(f"{path}.subnet", f"{s.subnet!r} is not an IPv4 prefix: {exc}")
            return
        if _parse_ip(text.split("/")[0]) != int(net.network_address):
            self.warn(f"{path}.subnet", f"{s.subnet} has host bits set; using {net}")
        drafts.append(self._Draft(s, path, chain, net, shared, shared_path, net_options,
                                  net_vendor))

    def _check_network_members(self, sn: SharedNetworkConfig, np: str, members: list) -> None:
        # ARM "Local and Relayed Traffic in Shared Networks": one link, so one interface.
        first_if: tuple[str, str] | None = (sn.interface, np) if sn.interface else None
        first_relay: tuple[frozenset, str] | None = None
        for d in members:
            iface = d.cfg.interface
            if iface is not None and first_if is not None and iface != first_if[0]:
                self.error(f"{d.path}.interface", f"interface '{iface}' differs from "
                                                  f"'{first_if[0]}' set by {first_if[1]}: the "
                                                  f"subnets of a shared network share one link")
            elif iface is not None and first_if is None:
                first_if = (iface, d.path)
            if d.cfg.relay is not None:
                addrs = frozenset(self._relay(d.cfg.relay, None))
                if first_relay is not None and addrs != first_relay[0]:
                    self.warn(f"{d.path}.relay", f"relay addresses differ from those of "
                                                 f"{first_relay[1]}: set the relay on the shared "
                                                 f"network instead")
                first_relay = first_relay or (addrs, d.path)

    def _relay(self, relay: RelayConfig | None, path: str | None) -> tuple[int, ...]:
        """Relay addresses; with ``path``, problems are reported."""
        if relay is None:
            return ()
        texts = list(relay.ip_addresses)
        if relay.ip_address is not None:
            if relay.ip_addresses and path:
                self.error(path, "give either ip-address or ip-addresses, not both")
            texts.append(relay.ip_address)
        out = []
        for i, t in enumerate(texts):
            a = _parse_ip(t)
            if a is None:
                if path:
                    key = ("ip-address" if relay.ip_address is not None
                           and i == len(texts) - 1 else f"ip-addresses[{i}]")
                    self.error(f"{path}.{key}", f"{t!r} is not an IPv4 address")
                continue
            if a not in out:
                out.append(a)
        return tuple(out)

    def _assign_ids(self, drafts: list) -> list[tuple[int, bool]]:
        """Subnet ids. A subnet without one is numbered as Kea 2.x numbers it, so that leases
        written by Kea keep pointing at the same subnet: a counter from 1, advanced only by such
        subnets, in Kea's parse order; an explicit id equal to a counted one is an error."""
        used: dict[int, str] = {}
        for d in drafts:
            sid = d.cfg.id
            if not sid:          # (Kea 2.2 takes id 0 as "none given")
                continue
            if not 1 <= sid <= 0xFFFFFFFE:
                self.error(f"{d.path}.id", f"subnet id {sid} is outside 1..4294967294")
            elif sid in used:
                self.error(f"{d.path}.id", f"subnet id {sid} is already used by {used[sid]}")
            else:
                used[sid] = d.path
        out, counter = [], 1
        for d in drafts:
            if d.cfg.id:
                out.append((d.cfg.id, False))
                continue
            sid, counter = counter, counter + 1
            out.append((sid, True))
            if sid in used:
                self.error(d.path, f"no subnet id: Kea numbers subnets without an id 1, 2, 3... "
                                   f"(shared networks first, then subnet4), which makes this one "
                                   f"{sid}, already used by {used[sid]}; give it an explicit id")
                continue
            used[sid] = d.path
            self.warn(d.path, f"no subnet id: assigned id {sid}, as Kea numbers subnets without "
                              f"an id (1, 2, 3... shared networks first, then subnet4); leases "
                              f"are bound to the id, so write it in the file")
        return out

    def _check_overlaps(self, drafts: list) -> None:
        # Kea accepts overlapping subnets (ARM "Configuration of IPv4 Address Pools"); fastdhcp
        # selects a subnet by address, so an address must belong to one subnet only.
        order = sorted(range(len(drafts)), key=lambda k: (int(drafts[k].network.network_address),
                                                          k))
        widest: int | None = None
        for k in order:
            d = drafts[k]
            lo = int(d.network.network_address)
            if widest is not None:
                w = drafts[widest]
                if lo <= int(w.network.broadcast_address):
                    later, earlier = (d, w) if k > widest else (w, d)
                    if later.network == earlier.network:
                        why = f"subnet {later.network} is already defined at {earlier.path}"
                    else:
                        why = (f"subnet {later.network} overlaps subnet {earlier.network} "
                               f"({earlier.path})")
                    self.error(f"{later.path}.subnet", why)
            if widest is None or int(d.network.broadcast_address) > int(
                    drafts[widest].network.broadcast_address):
                widest = k

    def _pool(self, p: PoolConfig, path: str, net: ipaddress.IPv4Network) -> tuple[int, int] | None:
        text = p.pool.strip()
        m = re.fullmatch(r"([0-9.]+)\s*-\s*([0-9.]+)", text)
        if m:
            first, last = _parse_ip(m.group(1)), _parse_ip(m.group(2))
            if first is None or last is None:
                bad = m.group(1) if first is None else m.group(2)
                self.error(f"{path}.pool", f"{bad!r} is not an IPv4 address")
                return None
            if first > last:
                self.error(f"{path}.pool", f"pool {p.pool}: the first address is after the last")
                return None
        elif "/" in text:
            try:
                pn = ipaddress.IPv4Network(text, strict=False)
            except ValueError as exc:
                self.error(f"{path}.pool", f"{p.pool!r} is not an IPv4 prefix: {exc}")
                return None
            first, last = int(pn.network_address), int(pn.broadcast_address)
            written = _parse_ip(text.split("/")[0].strip())
            if written is not None and written != first:
                # Kea's pool starts at the address written, not at the prefix's network
                self.warn(f"{path}.pool", f"{p.pool} has host bits set: the pool is "
                                          f"{_ip_text(written)} - {_ip_text(last)}")
                first = written
        else:
            self.error(f"{path}.pool", f"{p.pool!r} is not a pool (write 'first - last' or "
                                       f"'prefix/length')")
            return None
        lo, hi = int(net.network_address), int(net.broadcast_address)
        if first < lo or last > hi:
            where = "is outside" if last < lo or first > hi else "extends outside"
            self.error(path, f"pool {_ip_text(first)} - {_ip_text(last)} {where} subnet {net}")
            return None
        return first, last

    def _subnet(self, d: _Draft, sid: int, auto: bool) -> Subnet:
        s, path = d.cfg, d.path
        params = self._params(d.chain)
        pools = []
        for i, p in enumerate(s.pools):
            if p is None:
                continue
            pp = f"{path}.pools[{i}]"
            rng = self._pool(p, pp, d.network)
            opts, vendor = self._options(p.option_data, f"{pp}.option-data")
            if rng is not None:
                pools.append(Pool(first=rng[0], last=rng[1], options=opts,
                                  vendor_options=vendor, pool_id=p.pool_id, path=pp))
        opts, vendor = self._options(s.option_data, f"{path}.option-data")
        relay = s.relay if s.relay is not None else (d.shared.relay if d.shared else None)
        relays = self._relay(s.relay, f"{path}.relay") if s.relay is not None else \
            self._relay(relay, None)
        interface = s.interface if s.interface is not None else (
            d.shared.interface if d.shared else None)
        net = d.network
        draft = Subnet(
            **{name: getattr(params, name) for name in _INHERITED},
            id=sid, prefix=str(net), network=int(net.network_address),
            prefix_len=net.prefixlen, pools=tuple(pools), relay_addresses=relays,
            interface=interface or None, shared_network=d.shared.name if d.shared else None,
            options=opts, network_options=d.net_options, vendor_options=vendor,
            network_vendor_options=d.net_vendor, id_auto=auto, path=path)
        resv = self._reservations(s.reservations, f"{path}.reservations", draft, sid,
                                  unique_ip=self.cfg.ip_reservations_unique)
        if resv and not params.reservations_in_subnet:
            self.warn(f"{path}.reservations", "reservations-in-subnet is false here: these "
                                              "reservations are never used")
        return msgspec.structs.replace(draft, reservations=tuple(resv))

    def _check_pools(self, subnets: list[Subnet]) -> None:
        # Within a subnet Kea refuses overlapping pools; across subnets Kea allows the same range
        # twice, but fastdhcp's allocator owns each address in exactly one pool.
        pools = [p for s in subnets for p in s.pools]
        order = sorted(range(len(pools)), key=lambda k: (pools[k].first, k))
        widest: int | None = None
        for k in order:
            p = pools[k]
            if widest is not None and p.first <= pools[widest].last:
                w = pools[widest]
                later, earlier = (p, w) if k > widest else (w, p)
                self.error(later.path, f"pool {later} overlaps pool {earlier} ({earlier.path})")
            if widest is None or p.last > pools[widest].last:
                widest = k

    def _check_relays(self, subnets: list[Subnet]) -> None:
        owner: dict[int, Subnet] = {}
        for s in subnets:
            for a in s.relay_addresses:
                o = owner.get(a)
                if o is None:
                    owner[a] = s
                elif o.shared_network is None or o.shared_network != s.shared_network:
                    self.warn(f"{s.path}.relay", f"relay address {_ip_text(a)} also selects "
                                                 f"subnet {o.prefix} ({o.path}); the first "
                                                 f"match wins")

    # --- reservations -----------------------------------------------------------------------

    def _reservations(self, items: Sequence[ReservationConfig | None], path: str,
                      subnet: Subnet | None, subnet_id: int, *, unique_ip: bool
                      ) -> list[Reservation]:
        out: list[Reservation] = []
        by_ident: dict[tuple[str, bytes], str] = {}
        by_ip: dict[int, str] = {}
        for i, r in enumerate(items):
            if r is None:
                continue
            rp = f"{path}[{i}]"
            given = [(k, v) for k, v in zip(IDENTIFIER_TYPES, (r.hw_address, r.duid, r.circuit_id,
                                                                r.client_id, r.flex_id))
                     if v is not None]
            if len(given) != 1:
                self.error(rp, "a reservation needs exactly one identifier (hw-address, "
                               "client-id, duid, circuit-id or flex-id)" + (
                                   f"; got {', '.join(k for k, _ in given)}" if given else ""))
                continue
            kind, text = given[0]
            ident = _identifier_bytes(kind, text)
            if isinstance(ident, str):
                self.error(f"{rp}.{kind}", ident)
                continue
            if (r.ip_address is None and not r.hostname and not r.option_data
                    and r.next_server is None and r.server_hostname is None
                    and r.boot_file_name is None and not r.client_classes):
                # Kea's HostReservationParser refuses an identifier that reserves nothing.
                self.error(rp, "a reservation must reserve something: ip-address, hostname, "
                               "option-data, next-server, server-hostname, boot-file-name or "
                               "client-classes")
                continue
            if kind == "flex-id":
                self.warn(f"{rp}.flex-id", "flex-id is computed by Kea's flex_id hook library, "
                                           "which fastdhcp does not run: this reservation never "
                                           "matches")
            elif kind not in self.identifier_types:
                self.warn(f"{rp}.{kind}", f"{kind} is not in host-reservation-identifiers: this "
                                          f"reservation never matches")
            key = (kind, ident)
            if key in by_ident:
                self.error(f"{rp}.{kind}", f"{kind} {text} is already reserved by "
                                           f"{by_ident[key]}")
                continue
            by_ident[key] = rp
            addr = None
            if r.ip_address is not None:
                addr = _parse_ip(r.ip_address)
                if addr is None:
                    self.error(f"{rp}.ip-address", f"{r.ip_address!r} is not an IPv4 address")
                    continue
                if subnet is not None and addr not in subnet:
                    self.error(f"{rp}.ip-address", f"reserved address {r.ip_address} is outside "
                                                   f"subnet {subnet.prefix}")
                    continue
                if unique_ip and addr in by_ip:
                    self.error(f"{rp}.ip-address", f"address {r.ip_address} is already reserved "
                                                   f"by {by_ip[addr]} (ip-reservations-unique is "
                                                   f"true)")
                    continue
                by_ip.setdefault(addr, rp)
                if subnet is not None:
                    self._check_reserved_address(subnet, addr, rp)
            server = None
            if r.next_server:        # ("" leaves it unset, as in Kea)
                server = _parse_ip(r.next_server)
                if server is None:
                    self.error(f"{rp}.next-server", f"{r.next_server!r} is not an IPv4 address")
            self._check_bootp_fields(r.server_hostname, r.boot_file_name, rp)
            if r.hostname and not _hostname_ok(r.hostname):
                self.warn(f"{rp}.hostname", f"{r.hostname!r} is not a valid host name (sent "
                                            f"as it is, as Kea sends it)")
            opts, vendor = (self._options(r.option_data, f"{rp}.option-data")
                            if r.option_data else ({}, {}))
            out.append(Reservation(identifier_type=kind, identifier=ident, subnet_id=subnet_id,
                                   ip_address=addr, hostname=r.hostname or None,
                                   next_server=server, server_hostname=r.server_hostname,
                                   boot_file_name=r.boot_file_name,
                                   client_classes=tuple(r.client_classes), options=opts,
                                   vendor_options=vendor, path=rp))
        return out

    def _check_reserved_address(self, subnet: Subnet, addr: int, rp: str) -> None:
        if subnet.prefix_len < 31 and addr in (subnet.network, subnet.broadcast):
            self.warn(f"{rp}.ip-address", f"{_ip_text(addr)} is the "
                                          f"{'network' if addr == subnet.network else 'broadcast'}"
                                          f" address of {subnet.prefix}")
        elif subnet.reservations_out_of_pool and subnet.pool_of(addr) is not None:
            self.warn(f"{rp}.ip-address", f"{_ip_text(addr)} is inside a pool while "
                                          f"reservations-out-of-pool is true: it may also be "
                                          f"given to another client")

    def _check_global_reservations(self, resv: list[Reservation], subnets: list[Subnet]) -> None:
        if not resv:
            return
        if not (self._effective([self.global_scope], "reservations_global")
                or any(s.reservations_global for s in subnets)):
            self.warn("Dhcp4.reservations", "reservations-global is false everywhere: global "
                                            "reservations are never used")
        for r in resv:
            if r.ip_address is not None and not any(r.ip_address in s for s in subnets):
                self.warn(f"{r.path}.ip-address", f"{_ip_text(r.ip_address)} is in no subnet: "
                                                  f"the reservation can never hand it out")


_HOST_LABEL = re.compile(r"(?!-)[A-Za-z0-9_-]{1,63}(?<!-)")


def _hostname_ok(name: str) -> bool:
    body = name.removesuffix(".")
    if not body or len(body) > 253:
        return False
    return all(_HOST_LABEL.fullmatch(label) for label in body.split("."))


# =================================================================================================
# Logging: Kea's loggers on Python's logging
# =================================================================================================

_KEA_ROOT = "kea-dhcp4"
LOGGER_ROOT = "fastdhcp"
_SEVERITIES = ("FATAL", "ERROR", "WARN", "WARNING", "INFO", "DEBUG", "NONE")
_LEVELS = {"FATAL": logging.CRITICAL, "ERROR": logging.ERROR, "WARN": logging.WARNING,
           "WARNING": logging.WARNING, "INFO": logging.INFO, "DEBUG": logging.DEBUG,
           "NONE": logging.CRITICAL + 10}
_KEA_LEVEL_NAMES = {logging.CRITICAL: "FATAL", logging.ERROR: "ERROR", logging.WARNING: "WARN",
                    logging.INFO: "INFO"}
_DEFAULT_PATTERN = "%D{%Y-%m-%d %H:%M:%S.%q} %-5p [%c/%i.%t] %m\n"
_SYSLOG_PATTERN = "%-5p [%c.%t] %m\n"


def python_logger_name(kea_name: str) -> str:
    """``kea-dhcp4`` (or ``*``) -> ``fastdhcp``; ``kea-dhcp4.leases`` -> ``fastdhcp.leases``."""
    if kea_name in ("*", _KEA_ROOT):
        return LOGGER_ROOT
    return LOGGER_ROOT + kea_name[len(_KEA_ROOT):]


def logging_level(severity: str, debuglevel: int = 0) -> int:
    """Kea severity -> a ``logging`` level. Kea's debug levels 0..99 map below ``DEBUG``:
    debuglevel d is level ``DEBUG - d // 10`` (so 0..9 is DEBUG, 99 is DEBUG - 9), which lets
    fastdhcp modules log their most detailed traces at ``DEBUG - n``."""
    sev = severity.upper()
    if sev == "DEBUG":
        return max(1, logging.DEBUG - min(max(debuglevel, 0), 99) // 10)
    return _LEVELS.get(sev, logging.INFO)


class KeaFormatter(logging.Formatter):
    """Formats records with a log4cplus pattern as Kea's ``pattern`` option uses it: ``%d{..}``
    / ``%D{..}`` (strftime, plus ``%q`` ms and ``%Q`` µs), ``%p`` severity, ``%c`` logger,
    ``%i`` pid, ``%t`` thread, ``%m`` message, ``%n`` newline, ``%%``; widths like ``%-5p``."""

    _TOKEN = re.compile(r"%(-?\d*)(?:([dD])\{([^}]*)\}|([pcitmnd%]))")

    def __init__(self, pattern: str = "") -> None:
        super().__init__()
        pattern = pattern or _DEFAULT_PATTERN
        self.pattern = pattern.removesuffix("\n")

    def format(self, record: logging.LogRecord) -> str:
        record.message = record.getMessage()

        def sub(m):
            width, date_kind, date_fmt, conv = m.groups()
            if date_kind:
                value = self._date(record, date_fmt)
            elif conv == "d":
                value = self._date(record, "%Y-%m-%d %H:%M:%S")
            elif conv == "p":
                value = _KEA_LEVEL_NAMES.get(record.levelno, "DEBUG")
            elif conv == "c":
                value = record.name
            elif conv == "i":
                value = str(record.process)
            elif conv == "t":
                value = str(record.thread)
            elif conv == "m":
                value = record.message
            elif conv == "n":
                value = "\n"
            else:
                value = "%"
            if width:
                n = int(width)
                value = value.ljust(-n) if n < 0 else value.rjust(n)
            return value
        text = self._TOKEN.sub(sub, self.pattern)
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        return text

    @staticmethod
    def _date(record: logging.LogRecord, fmt: str) -> str:
        fmt = (fmt.replace("%q", f"{int(record.msecs):03d}")
               .replace("%Q", f"{record.msecs:07.3f}"))
        return time.strftime(fmt, time.localtime(record.created))


_INSTALLED: list[tuple[logging.Logger, logging.Handler]] = []
_TOUCHED: set[str] = set()
_INSTALL_LOCK = threading.Lock()


def _handler(o: OutputOptionConfig) -> logging.Handler:
    out = o.output
    if out == "stdout":
        h: logging.Handler = logging.StreamHandler(sys.stdout)
    elif out == "stderr":
        h = logging.StreamHandler(sys.stderr)
    elif out == "syslog" or out.startswith("syslog:"):
        ident = out.partition(":")[2] or _KEA_ROOT
        address: Any = "/dev/log" if os.path.exists("/dev/log") else ("localhost", 514)
        h = logging.handlers.SysLogHandler(address=address)
        h.ident = f"{ident}: "
        h.setFormatter(KeaFormatter(o.pattern or _SYSLOG_PATTERN))
        return h
    else:
        # Kea rotates at maxsize bytes (below 204800 disables rotation) keeping maxver files.
        rotate = o.maxsize if o.maxsize >= 204800 else 0
        h = logging.handlers.RotatingFileHandler(out, maxBytes=rotate,
                                                 backupCount=max(o.maxver, 1), encoding="utf-8")
    h.setFormatter(KeaFormatter(o.pattern))
    return h


def configure_logging(loggers: Iterable[LoggerConfig], *, verbose: bool = False) -> None:
    """Set up Python ``logging`` from Kea ``loggers``: ``kea-dhcp4`` is the ``fastdhcp`` logger,
    ``kea-dhcp4.X`` is ``fastdhcp.X``. Outputs: stdout, stderr, syslog[:name] or a file path
    (rotated by maxsize/maxver; an unwritable path raises OSError). Without loggers, INFO and
    above go to stdout, as in Kea. ``verbose`` is kea-dhcp4 -d: DEBUG at debuglevel 99
    everywhere. Calling it again (a reload) first undoes what the earlier call set up."""
    with _INSTALL_LOCK:
        _reset_locked()
        entries = [lg for lg in loggers if lg is not None]
        if not any(python_logger_name(lg.name) == LOGGER_ROOT for lg in entries):
            entries.insert(0, LoggerConfig(name=_KEA_ROOT))
        for lg in entries:
            logger = logging.getLogger(python_logger_name(lg.name))
            _TOUCHED.add(logger.name)
            logger.setLevel(logging_level("DEBUG", 99) if verbose
                            else logging_level(lg.severity, lg.debuglevel))
            outputs = [o for o in lg.output_options if o is not None]
            if not outputs and logger.name == LOGGER_ROOT:
                outputs = [OutputOptionConfig()]
            for o in outputs:
                h = _handler(o)
                logger.addHandler(h)
                _INSTALLED.append((logger, h))
            # With its own outputs a logger does not also write through its parent's (Kea sets
            # log4cplus additivity off the same way); the root keeps its messages to itself.
            logger.propagate = not outputs and logger.name != LOGGER_ROOT


def reset_logging() -> None:
    """Undo ``configure_logging``: its handlers closed and removed, levels and propagation of
    the loggers it touched back to Python's defaults."""
    with _INSTALL_LOCK:
        _reset_locked()


def _reset_locked() -> None:
    for lg, h in _INSTALLED:
        lg.removeHandler(h)
        h.close()
    _INSTALLED.clear()
    for name in _TOUCHED:
        lg = logging.getLogger(name)
        lg.setLevel(logging.NOTSET)
        lg.propagate = True
    _TOUCHED.clear()


# =================================================================================================
# API
# =================================================================================================

def _decode(document: Any, source: str, diag: _Diag, dupes: bool) -> Config | None:
    if not isinstance(document, dict):
        diag.error(source, f"the configuration must be a JSON object, got {_jtype(document)}")
        return None
    for key in getattr(document, "dupes", ()):
        diag.error(key, "the key is given twice (Kea rejects repeated keys)")
    for key in document:
        if key == "Dhcp4":
            continue
        why = ("moved into Dhcp4.loggers in Kea 1.7.10" if key == "Logging"
               else "not part of the DHCPv4 server's configuration")
        diag.warn(key, f"top-level object '{key}' is ignored ({why})")
    if "Dhcp4" not in document:
        diag.error("Dhcp4", "the configuration has no Dhcp4 object")
        return None
    unusable = _unusable_values(document["Dhcp4"], "Dhcp4")
    for problem in unusable:
        diag.error(*problem)
    if unusable:         # (the decoder would take a null as "not set", and choke on the other)
        return None
    cfg = _Decoder(diag, dupes).struct(Dhcp4Config, document["Dhcp4"], "Dhcp4")
    if cfg is None:
        return None
    return _Resolver(cfg, diag, source, document).resolve()


def _unusable_values(value: Any, path: str) -> list[Problem]:
    """What Kea's parser refuses before any key is looked at, with JSON paths: a null outside
    user-context (free JSON), and a string (or key) that is not text, half of a UTF-16 pair
    escaped ("\\ud800"), which no encoder can write out."""
    def text(v: str) -> bool:
        try:
            v.encode()
            return True
        except UnicodeEncodeError:
            return False
    out, stack = [], [(value, path, False)]
    while stack:
        v, p, free = stack.pop()
        if v is None and not free:
            out.append(Problem(p, "null is not a value Kea accepts here (only inside "
                                  "user-context)"))
        elif isinstance(v, str) and not text(v):
            out.append(Problem(p, f"the string {v[:60]!r} holds a lone UTF-16 surrogate "
                                  f"escape (\\ud800-\\udfff): not text"))
        elif isinstance(v, dict):
            for k, x in v.items():
                if not text(k):
                    out.append(Problem(p, f"the key {k[:60]!r} holds a lone UTF-16 surrogate "
                                          f"escape: not text"))
                else:
                    stack.append((x, f"{p}.{k}", free or k == "user-context"))
        elif isinstance(v, list):
            stack.extend((x, f"{p}[{i}]", free) for i, x in enumerate(v))
    return sorted(out)


def parse_config(text: str, *, source: str = "<string>", base_dir: str | None = None) -> Config:
    """Check a Kea configuration given as text; ``Config`` or ``ConfigError`` with every problem.
    ``base_dir`` resolves relative ``<?include?>`` paths (the working directory by default)."""
    reader = _Reader()
    document = reader.read(text, source, base_dir if base_dir is not None else os.getcwd())
    diag = _Diag()
    diag.warnings.extend(reader.warnings)
    if reader.problems:
        raise ConfigError(reader.problems, source=source, warnings=diag.warnings)
    config = _decode(document, source, diag, reader.dupes)
    if config is None or diag.problems:
        raise ConfigError(diag.problems, source=source, warnings=diag.warnings)
    return config


def load_config(path: str | os.PathLike) -> Config:
    """Read and check the configuration file at ``path``."""
    path = os.fspath(path)
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ConfigError([Problem(path, f"cannot read the configuration: {reason}")],
                          source=path) from None
    return parse_config(text, source=path, base_dir=os.path.dirname(os.path.abspath(path)))


class CheckResult(NamedTuple):
    config: Config | None
    problems: list[Problem]
    warnings: list[Problem]

    @property
    def ok(self) -> bool:
        return self.config is not None


def check_config(path: str | os.PathLike) -> CheckResult:
    """Load ``path`` without raising: the config (or None), its problems and its warnings."""
    try:
        config = load_config(path)
    except ConfigError as exc:
        return CheckResult(None, exc.problems, exc.warnings)
    return CheckResult(config, [], config.warnings)


def run_check_config(path: str | os.PathLike, *, out=None, err=None) -> int:
    """``fastdhcp check-config -c FILE`` (Kea's ``kea-dhcp4 -t``): warnings and problems on stderr,
    one per line; a summary on stdout when the file is usable. Returns 0 if usable, 1 if not."""
    out = sys.stdout if out is None else out
    err = sys.stderr if err is None else err
    result = check_config(path)
    for w in result.warnings:
        print(f"warning: {w}", file=err)
    for p in result.problems:
        print(f"error: {p}", file=err)
    if not result.ok:
        n = len(result.problems)
        print(f"{os.fspath(path)}: {n} problem{'s' if n != 1 else ''}; the configuration "
              f"cannot be used", file=err)
        return 1
    print(f"{os.fspath(path)}: OK: {result.config.summary()}", file=out)
    return 0
