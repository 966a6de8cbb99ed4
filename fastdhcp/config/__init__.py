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
   encoded per level and merged once per subnet, pool and reservation (``effective_options``),
   reservations with their identifier bytes. Addresses are ``int`` (host order).

Errors raise ``ConfigError`` (``.problems``: every ``Problem(path, reason)``); warnings are kept in
``Config.warnings``. ``run_check_config(path)`` is ``fastdhcp check-config -c FILE``.

The package, one idea per module: ``reader`` (Kea's extended JSON), ``schema`` (the ``*Config``
Structs), ``rules`` (what a known-but-unsupported or unknown key means: ``_RULES``, ``_SECTIONS``,
``HOOKS``), ``decode``, ``optiondefs`` and ``optiondata`` (option definitions, option data
encoded per level), ``scopes`` (inheritance and Kea's defaults), ``values`` (addresses,
identifiers, pools), ``checks`` (the semantic rules), ``resolve`` (building the model) and
``model`` (what the server consumes). Kea's loggers are ``fastdhcp.logs``.

Unknown and unsupported keys: ignoring a key is a *warning* when the replies clients get are
unchanged, and an *error* when it would change them (see ``rules``).

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

import os
import sys
from typing import Any, NamedTuple

from ..errors import ConfigError, Problem
from .decode import _Decoder, _Diag, _jtype, _unusable_values
# the model and schema names below are the package's public API (``fastdhcp.config.Subnet``...)
from .model import (INFINITE, Config, InterfaceSpec, Interfaces, LeaseDatabase, LevelOption,
                    Params, Pool, Reservation, SharedNetwork, Subnet, merge_options)
from .optiondefs import DHCP4_SPACE, OptionTable
from .reader import _Reader
from .resolve import DEFAULT_LEASE_FILE, _Resolver
from .rules import HOOKS
from .schema import (DEFAULT_IDENTIFIERS, IDENTIFIER_TYPES, ControlSocketConfig, Dhcp4Config,
                     LoggerConfig, OptionDataConfig, OptionDefConfig, OutputOptionConfig,
                     PoolConfig, ReservationConfig, SharedNetworkConfig, SubnetConfig)

__all__ = [
    "HOOKS", "CheckResult", "Config", "ConfigError", "Dhcp4Config", "InterfaceSpec", "Interfaces",
    "LeaseDatabase", "LevelOption", "OptionTable", "Params", "Pool", "Problem", "Reservation",
    "SharedNetwork", "Subnet", "check_config", "load_config", "merge_options", "parse_config",
    "run_check_config",
]


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
