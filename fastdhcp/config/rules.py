"""Policy tables: known keys fastdhcp does not act on (``_RULES``), what an unknown key means in
each object (``_SECTIONS``) and how hook libraries are classified (``HOOKS``).

Ignoring a key is a *warning* when the replies clients get are unchanged (logging, control
channel, statistics, DNS-update knobs while DNS updates are off), and an *error* when it would
change them (client classes, host or config databases, hook libraries that act on packets, an
unknown key where a typo could hide a lifetime or an option)."""

from __future__ import annotations

import types
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

from .schema import (
    ClientClassConfig, CompatibilityConfig, ControlSocketConfig, Dhcp4Config, DhcpDdnsConfig, DhcpQueueControlConfig,
    ExpiredLeasesConfig, HookLibraryConfig, InterfacesConfig, LeaseDatabaseConfig, LoggerConfig,
    MultiThreadingConfig, OptionDataConfig, OptionDefConfig, OutputOptionConfig, PoolConfig,
    RelayConfig, ReservationConfig, SanityChecksConfig, SharedNetworkConfig, SubnetConfig,
)

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


_EXTRA_CLASSES_WHY = ("client classification is not supported: classes listed here have no "
                      "definitions to evaluate (ignored)")
_CLASS_PART_WHY = ("not supported by fastdhcp yet in a client class: clients of the class would "
                   "not get it; 'name', 'test', the boot fields and the lifetimes are")
_DDNS_WHY = "a later Kea's DNS-update parameter: not applied (fastdhcp follows Kea 2.2's set)"
_POOL_DDNS_WHY = ("pool-level DNS-update parameters (Kea 2.7) are not applied: the subnet's "
                  "are")
_4O6_WHY = "DHCPv4-over-DHCPv6 is not supported (ignored)"

_SCOPE_RULES: dict[str, Rule] = {
    "require-client-classes": Rule(WARNING, _EXTRA_CLASSES_WHY, _nonempty),
    "evaluate-additional-classes": Rule(WARNING, _EXTRA_CLASSES_WHY, _nonempty),
    "ddns-": Rule(WARNING, _DDNS_WHY),        # a prefix: the ddns-* parameters not in the schema
    "metadata": Rule(ACCEPT, "Kea configuration-backend bookkeeping"),
}

#: Per object kind: keys fastdhcp knows but does not act on (ERROR / WARNING / ACCEPT, when).
_RULES: dict[type, dict[str, Rule]] = {
    Dhcp4Config: {
        **_SCOPE_RULES,
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
        "reservation-mode": Rule(WARNING, "deprecated since Kea 1.9.1: mapped onto "
                                 "reservations-global/-in-subnet/-out-of-pool"),
    },
    SubnetConfig: {
        **_SCOPE_RULES,
        "4o6-interface": Rule(WARNING, _4O6_WHY, _nonempty),
        "4o6-interface-id": Rule(WARNING, _4O6_WHY, _nonempty),
        "4o6-subnet": Rule(WARNING, _4O6_WHY, _nonempty),
        "reservation-mode": Rule(WARNING, "deprecated since Kea 1.9.1: mapped onto "
                                 "reservations-global/-in-subnet/-out-of-pool"),
    },
    PoolConfig: {
        "ddns-": Rule(WARNING, _POOL_DDNS_WHY),
        "hostname-char-set": Rule(WARNING, _POOL_DDNS_WHY),
        "hostname-char-replacement": Rule(WARNING, _POOL_DDNS_WHY),
        "metadata": Rule(ACCEPT, "Kea configuration-backend bookkeeping"),
    },
    ReservationConfig: {
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
    ClientClassConfig: {
        "metadata": Rule(ACCEPT, "Kea configuration-backend bookkeeping"),
    },
    LeaseDatabaseConfig: {
        **{k: Rule(WARNING, "a database connection parameter fastdhcp does not use")
           for k in ("retry-on-startup", "read-timeout", "write-timeout", "tcp-user-timeout",
                     "readonly", "trust-anchor", "cert-file", "key-file", "cipher-list",
                     "key-password", "ssl-mode")},
    },
    DhcpDdnsConfig: {
        "ncr-protocol": Rule(ERROR, "only UDP carries NameChangeRequests (Kea 2.2: 'TCP' is not "
                             "yet supported either)", lambda v: v != "UDP"),
        "ncr-format": Rule(ERROR, "only JSON NameChangeRequests exist", lambda v: v != "JSON"),
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
    ClientClassConfig: _Spec("client class", ERROR, _AFFECTS),
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
    "libdhcp_lease_cmds.so": (ACCEPT, "lease commands are answered natively by fastdhcp"),
    "libdhcp_bootp.so": (ACCEPT, "BOOTP is answered natively by fastdhcp, as by Kea's hook"),
    "libdhcp_stat_cmds.so": (ACCEPT, "statistics commands are answered natively by fastdhcp"),
    "libdhcp_subnet_cmds.so": (WARNING, "not loaded: subnet commands are unavailable"),
    "libdhcp_host_cmds.so": (ACCEPT, "reservation commands are answered natively by fastdhcp "
                                     "(on the configuration's reservations)"),
    "libdhcp_class_cmds.so": (ACCEPT, "class commands are answered natively by fastdhcp (on "
                                      "the configuration's classes)"),
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
