"""The semantic rules of a configuration, apart from building it: lifetime triplets, timers,
BOOTP fields, interfaces, hooks, shared-network members, overlapping subnets and pools, relays,
reserved addresses. Each reports to ``diag`` and goes on, so that one load reports every problem.

Deliberately stricter than Kea (each says so in its message): overlapping subnets and pools
(fastdhcp's allocator owns each address in exactly one pool), ``rebind-timer`` below
``renew-timer`` (Kea only warns and drops T1)."""

from __future__ import annotations

import os
from collections.abc import Sequence

from .decode import _Diag
from .model import Interfaces, Reservation, Subnet
from .rules import ACCEPT, ERROR, HOOKS, WARNING
from .schema import HookLibraryConfig, SanityChecksConfig, SharedNetworkConfig
from .scopes import _Scope, effective
from .values import _ip_text, _parse_ip, relay_addresses

_MAX_SNAME, _MAX_FILE = 64, 128         # BOOTP sname and file fields (RFC 951); Kea fills them


def _set_here(scope: _Scope, *names: str) -> bool:
    return scope.path == "Dhcp4" or any(scope.values[n] is not None for n in names)


def check_scope(diag: _Diag, chain: Sequence[_Scope], path: str) -> None:
    """Kea's per-scope checks, on the values in force at the scope that sets them."""
    here = chain[0]
    eff = lambda name: effective(chain, name)
    at = lambda key: f"{path}.{key}" if here.values.get(
        key.replace("-", "_")) is not None else path

    # The lifetime triplet (Kea's parseIntTriplet): min <= valid <= max.
    if _set_here(here, "valid_lifetime", "min_valid_lifetime", "max_valid_lifetime"):
        valid, lo, hi = eff("valid_lifetime"), eff("min_valid_lifetime"), eff(
            "max_valid_lifetime")
        explicit = lambda name: any(s.values[name] is not None for s in chain)
        if explicit("min_valid_lifetime") and explicit("max_valid_lifetime") and lo > hi:
            diag.error(at("min-valid-lifetime"), f"min-valid-lifetime {lo} is greater than "
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
            diag.error(at(key), why)

    if _set_here(here, "renew_timer", "rebind_timer", "valid_lifetime"):
        renew, rebind, valid = eff("renew_timer"), eff("rebind_timer"), eff("valid_lifetime")
        if renew is not None and rebind is not None and rebind < renew:
            # Kea only warns and then never sends T1 (option 58); fastdhcp refuses it: the
            # operator asked for a T1 that can never be sent (RFC 2131 §4.4.5: T1 < T2).
            diag.error(at("rebind-timer"), f"rebind-timer {rebind} is less than renew-timer "
                                           f"{renew} (T2 must not come before T1)")
        elif rebind is not None and rebind >= valid:
            diag.warn(at("rebind-timer"), f"rebind-timer {rebind} is not less than "
                                          f"valid-lifetime {valid}: option 59 is not sent")
        elif renew is not None and renew >= (valid if rebind is None else rebind):
            diag.warn(at("renew-timer"), f"renew-timer {renew} is not less than "
                                         f"{'valid-lifetime' if rebind is None else 'rebind-timer'}"
                                         f": option 58 is not sent")

    if _set_here(here, "calculate_tee_times", "t1_percent", "t2_percent"):
        calc, t1, t2 = eff("calculate_tee_times"), eff("t1_percent"), eff("t2_percent")
        if calc:
            for key, v in (("t1-percent", t1), ("t2-percent", t2)):
                if not 0.0 < v < 1.0:
                    diag.error(at(key), f"{key} {v} must be greater than 0 and less than 1")
            if 0.0 < t1 < 1.0 and 0.0 < t2 < 1.0 and t1 >= t2:
                diag.error(at("t1-percent"), f"t1-percent {t1} must be less than t2-percent "
                                             f"{t2}")
        elif (here.values["t1_percent"] is not None
              or here.values["t2_percent"] is not None) and t1 >= t2:
            diag.warn(at("t1-percent"), f"t1-percent {t1} is not less than t2-percent {t2} "
                                        f"(no effect while calculate-tee-times is false)")

    cfg = here.cfg
    # Kea's BaseNetworkParser::parseCacheParams, at every level
    if cfg.cache_threshold is not None and not 0.0 < cfg.cache_threshold < 1.0:
        diag.error(at("cache-threshold"), f"cache-threshold {cfg.cache_threshold} is invalid, "
                                          f"it must be greater than 0.0 and less than 1.0")
    if here.path != "Dhcp4" and cfg.offer_lifetime is not None:
        diag.error(f"{path}.offer-lifetime", "offer-lifetime is a global parameter in "
                                             "fastdhcp (Kea 2.2 has none)")
    if cfg.next_server and _parse_ip(cfg.next_server) is None:
        diag.error(f"{path}.next-server", f"{cfg.next_server!r} is not an IPv4 address")
    check_bootp_fields(diag, cfg.server_hostname, cfg.boot_file_name, path)
    if cfg.allocator is not None and cfg.allocator not in ("iterative", "random"):
        diag.error(f"{path}.allocator", f"unknown allocator {cfg.allocator!r} (iterative or "
                                        f"random)")
    elif cfg.allocator == "random":
        diag.warn(f"{path}.allocator", "fastdhcp hands out the lowest free address "
                                       "(iterative); 'random' is not implemented")
    if cfg.hostname_char_set:
        # Kea compiles it as a POSIX extended regular expression (StringSanitizer): so does the
        # engine, with the same library call
        from fastdhcp._core import posix_regex_error
        problem = posix_regex_error(cfg.hostname_char_set)
        if problem:
            diag.error(f"{path}.hostname-char-set", f"not a valid POSIX extended regular "
                                                    f"expression: {problem}")
    if cfg.ddns_replace_client_name is not None and \
            cfg.ddns_replace_client_name not in REPLACE_CLIENT_NAME:
        diag.error(f"{path}.ddns-replace-client-name",
                   f"invalid ReplaceClientName mode {cfg.ddns_replace_client_name!r} (one of "
                   f"{', '.join(REPLACE_CLIENT_NAME)})")


#: ddns-replace-client-name -> the engine's RCM_* number (Kea's ReplaceClientNameMode)
REPLACE_CLIENT_NAME = {"never": 0, "always": 1, "when-present": 2, "when-not-present": 3}


def check_bootp_fields(diag: _Diag, sname: str | None, file: str | None, path: str) -> None:
    if sname is not None and len(sname.encode()) > _MAX_SNAME:
        diag.error(f"{path}.server-hostname", f"is {len(sname.encode())} bytes; the sname "
                                              f"field holds at most {_MAX_SNAME}")
    if file is not None and len(file.encode()) > _MAX_FILE:
        diag.error(f"{path}.boot-file-name", f"is {len(file.encode())} bytes; the file "
                                             f"field holds at most {_MAX_FILE}")


def check_interfaces(diag: _Diag, interfaces: Interfaces, subnets: list[Subnet]) -> None:
    names = {s.name for s in interfaces.interfaces}
    if subnets and not names and not interfaces.wildcard:
        diag.warn("Dhcp4.interfaces-config.interfaces", "no interface is listed: the server "
                                                        "will not listen anywhere")
    if interfaces.wildcard:
        return
    for s in subnets:
        if s.interface is not None and s.interface not in names:
            diag.warn(f"{s.path}", f"subnet {s.prefix} is bound to interface "
                                   f"'{s.interface}', which is not in "
                                   f"interfaces-config.interfaces")


def check_hooks(diag: _Diag, hooks: Sequence[HookLibraryConfig | None]) -> None:
    for i, h in enumerate(hooks):
        if h is None:
            continue
        p = f"Dhcp4.hooks-libraries[{i}]"
        base = os.path.basename(h.library)
        action, why = HOOKS.get(base, (ERROR, ""))
        if action == ACCEPT:             # built in: the entry is taken as it is, silently
            continue
        if action == WARNING:
            diag.warn(p, f"hook library {base} is not loaded ({why})")
        else:
            diag.error(p, f"hook library {base} cannot be loaded by fastdhcp and may change "
                          f"what clients get; remove it (or keep this server on Kea)")


def check_sanity(diag: _Diag, sc: SanityChecksConfig) -> None:
    if sc.lease_checks not in ("none", "warn", "fix", "fix-del", "del"):
        diag.error("Dhcp4.sanity-checks.lease-checks", f"unknown value {sc.lease_checks!r} "
                                                       f"(none, warn, fix, fix-del or del)")
    if sc.extended_info_checks not in ("none", "fix", "strict", "pedantic"):
        diag.error("Dhcp4.sanity-checks.extended-info-checks",
                   f"unknown value {sc.extended_info_checks!r} (none, fix, strict or "
                   f"pedantic)")


def check_network_members(diag: _Diag, sn: SharedNetworkConfig, np: str, members: list) -> None:
    # ARM "Local and Relayed Traffic in Shared Networks": one link, so one interface.
    first_if: tuple[str, str] | None = (sn.interface, np) if sn.interface else None
    first_relay: tuple[frozenset, str] | None = None
    for d in members:
        iface = d.cfg.interface
        if iface is not None and first_if is not None and iface != first_if[0]:
            diag.error(f"{d.path}.interface", f"interface '{iface}' differs from "
                                              f"'{first_if[0]}' set by {first_if[1]}: the "
                                              f"subnets of a shared network share one link")
        elif iface is not None and first_if is None:
            first_if = (iface, d.path)
        if d.cfg.relay is not None:
            addrs = frozenset(relay_addresses(diag, d.cfg.relay, None))
            if first_relay is not None and addrs != first_relay[0]:
                diag.warn(f"{d.path}.relay", f"relay addresses differ from those of "
                                             f"{first_relay[1]}: set the relay on the shared "
                                             f"network instead")
            first_relay = first_relay or (addrs, d.path)


def check_overlaps(diag: _Diag, drafts: list) -> None:
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
                diag.error(f"{later.path}.subnet", why)
        if widest is None or int(d.network.broadcast_address) > int(
                drafts[widest].network.broadcast_address):
            widest = k


def check_pools(diag: _Diag, subnets: list[Subnet]) -> None:
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
            diag.error(later.path, f"pool {later} overlaps pool {earlier} ({earlier.path})")
        if widest is None or p.last > pools[widest].last:
            widest = k


def check_relays(diag: _Diag, subnets: list[Subnet]) -> None:
    owner: dict[int, Subnet] = {}
    for s in subnets:
        for a in s.relay_addresses:
            o = owner.get(a)
            if o is None:
                owner[a] = s
            elif o.shared_network is None or o.shared_network != s.shared_network:
                diag.warn(f"{s.path}.relay", f"relay address {_ip_text(a)} also selects "
                                             f"subnet {o.prefix} ({o.path}); the first "
                                             f"match wins")


def check_reserved_address(diag: _Diag, subnet: Subnet, addr: int, rp: str) -> None:
    if subnet.prefix_len < 31 and addr in (subnet.network, subnet.broadcast):
        diag.warn(f"{rp}.ip-address", f"{_ip_text(addr)} is the "
                                      f"{'network' if addr == subnet.network else 'broadcast'}"
                                      f" address of {subnet.prefix}")
    elif subnet.reservations_out_of_pool and subnet.pool_of(addr) is not None:
        diag.warn(f"{rp}.ip-address", f"{_ip_text(addr)} is inside a pool while "
                                      f"reservations-out-of-pool is true: it may also be "
                                      f"given to another client")


def check_global_reservations(diag: _Diag, glob: _Scope, resv: list[Reservation],
                               subnets: list[Subnet]) -> None:
    if not resv:
        return
    if not (effective([glob], "reservations_global")
            or any(s.reservations_global for s in subnets)):
        diag.warn("Dhcp4.reservations", "reservations-global is false everywhere: global "
                                        "reservations are never used")
    for r in resv:
        if r.ip_address is not None and not any(r.ip_address in s for s in subnets):
            diag.warn(f"{r.path}.ip-address", f"{_ip_text(r.ip_address)} is in no subnet: "
                                              f"the reservation can never hand it out")
