"""Compile a checked configuration into the native tables: the Allocator (subnets, pools,
reservations) and the Engine (reply parameters, option sets, interfaces, relay and network
routes). Runs once per (re)load; nothing here is on the per-packet path."""

from __future__ import annotations

import fcntl
import logging
import socket
import struct
from collections.abc import Iterable
from dataclasses import dataclass

from ._core import BUILDER_OWNED, Allocator, ClassTests, Engine, OptionSet
from .config import Config, Subnet
from .config.checks import REPLACE_CLIENT_NAME
from .config.model import Options, VendorLevel, merge_options, merge_vendor_options

log = logging.getLogger("fastdhcp.policy")

# Kea sends these whenever they are configured, requested or not (its "required options").
ALWAYS_WHEN_SET = {1, 3, 6, 15}
# Seconds an offer holds its address when offer-lifetime is 0 (Kea 2.2 has none): a soft hold
# that keeps concurrent clients apart while other addresses are free, never more.
OFFER_HOLD_DEFAULT = 30
SIOCGIFADDR = 0x8915
# Kea's host-reservation-identifiers, as Allocator.add_reservation names them.
RESERVATION_KINDS = {"hw-address": "hw_address", "client-id": "client_id",
                     "circuit-id": "circuit_id", "duid": "duid"}


@dataclass(frozen=True)
class Link:
    """A local interface the server listens on."""

    name: str
    ifindex: int
    address: int          # host order
    mac: bytes


def interface_address(name: str) -> int | None:
    """The interface's primary IPv4 address (host order), or None if it has none."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        req = struct.pack("256s", name.encode()[:15])
        res = fcntl.ioctl(s.fileno(), SIOCGIFADDR, req)
        return struct.unpack("!I", res[20:24])[0]
    except OSError:
        return None
    finally:
        s.close()


def interface_mac(name: str) -> bytes:
    try:
        with open(f"/sys/class/net/{name}/address") as f:
            return bytes.fromhex(f.read().strip().replace(":", ""))
    except OSError:
        return bytes(6)


def discover_links(config: Config) -> list[Link]:
    """The interfaces named by interfaces-config (``*``: every non-loopback interface), with the
    address to use on each (``eth0/10.0.0.1`` picks one)."""
    specs = [(i.name, i.address) for i in config.interfaces.interfaces]
    if config.interfaces.wildcard:
        specs += [(name, None) for _, name in socket.if_nameindex() if name != "lo"]
    links, seen = [], set()
    for name, wanted in specs:
        if name in seen:
            continue
        seen.add(name)
        try:
            ifindex = socket.if_nametoindex(name)
        except OSError:
            log.warning("interface %s does not exist: not serving it", name)
            continue
        address = wanted if wanted is not None else interface_address(name)
        if address is None:
            log.warning("interface %s has no IPv4 address: not serving it", name)
            continue
        links.append(Link(name, ifindex, address, interface_mac(name)))
    return links


def option_set(values: Options, subnet: Subnet | None = None,
               from_global: Iterable[int] = (), vendors: dict[int, Options] | None = None,
               vendor_from_global: dict[int, list[int]] | None = None) -> OptionSet:
    """The options the engine sends from a set: a subnet's, pool's or reservation's (with the
    subnet's own mask unless one is configured), or, without ``subnet``, a global reservation's
    own options, sent before its client's pool or subnet options. ``from_global``: the codes
    whose value is the global level's (client classes' options go above those). ``vendors``:
    the vendor-<id> spaces' options, ``{enterprise: options}``, with their global-level codes in
    ``vendor_from_global``."""
    values = {c: v for c, v in values.items() if c not in BUILDER_OWNED}
    if subnet is not None:
        values.setdefault(1, (subnet.netmask.to_bytes(4, "big"), True))
    always = {c for c, (_, a) in values.items() if a or c in ALWAYS_WHEN_SET}
    spaces = {e: OptionSet({c: v for c, (v, _) in subs.items()},
                           [c for c, (_, a) in subs.items() if a],
                           (vendor_from_global or {}).get(e, ()))
              for e, subs in (vendors or {}).items()}
    return OptionSet({c: v for c, (v, _) in values.items()}, always,
                     [c for c in from_global if c in values and c != 1], spaces)


def classes_have_options(config: Config) -> bool:
    return any(c.options or c.vendor_options for c in config.client_classes)


def global_codes(config: Config, values: Options, *local) -> list[int]:
    """The codes of ``values`` no level of ``local`` (host, pool, subnet, shared network) sets:
    the global level's; none unless some client class has options (only they come between)."""
    if not classes_have_options(config):
        return []
    return [c for c in values
            if not any(lv and c in lv and lv[c].data is not None for lv in local)]


def vendor_options(config: Config, *local: VendorLevel | None) -> dict:
    """option_set's ``vendors`` and ``vendor_from_global`` for the levels ``local`` (most
    specific first) above the global one."""
    merged = merge_vendor_options(*local, config.global_vendor_options)
    from_global = {e: global_codes(config, subs, *(lv.get(e) if lv else None for lv in local))
                   for e, subs in merged.items()}
    return {"vendors": merged, "vendor_from_global": from_global}


def subnet_of_link(config: Config, link: Link) -> Subnet | None:
    named = [s for s in config.subnets if s.interface == link.name]
    if named:
        return named[0]
    return next((s for s in config.subnets if link.address in s), None)


def live_classes(config: Config) -> set[str]:
    """The classes whose membership something reads: those that give a reply something
    (options, boot fields, a lifetime), DROP, those a guard or a require list names, and every
    class their tests name through member(), transitively. The others are not evaluated: no
    answer depends on them (nothing shows a packet's classes yet)."""
    by_name = {c.name: c for c in config.client_classes}
    live = {c.name for c in config.client_classes
            if c.options or c.vendor_options or c.next_server is not None or c.server_hostname or
            c.boot_file_name or c.valid_lifetime is not None or c.name == "DROP"}
    for s in config.subnets:
        live.update(s.client_classes, s.required_classes)
        for p in s.pools:
            live.update(p.client_classes, p.required_classes)
    todo = list(live)
    while todo:
        c = by_name.get(todo.pop())
        for name in referenced_by(c):
            if name not in live:
                live.add(name)
                todo.append(name)
    return live


def referenced_by(c) -> tuple[str, ...]:
    """The classes a compiled test names through member() (its OP_MEMBER operands)."""
    if c is None or not c.words:
        return ()
    return tuple(c.references)


def set_classes(engine: Engine, config: Config,
                reserved_classes: Iterable[tuple[int, object]] = ()) -> None:
    """The client classes' compiled tests into the engine (class k's bit is k: 0 is ALL,
    which needs no test; a class without a test gets none and never matches on its own)."""
    tests = ClassTests()
    drop = None
    reads_known = any(c.after_host for c in config.client_classes) or any(
        n in ("KNOWN", "UNKNOWN") for s in config.subnets
        for n in s.client_classes + tuple(x for p in s.pools for x in p.client_classes))
    # no class of the configuration's own, nothing reading KNOWN: nothing evaluated per packet
    evaluated = len(config.client_classes) > 4 or reads_known
    live = live_classes(config)
    for c in config.client_classes[1:] if evaluated else ():
        if c.name in live:
            tests.add(list(c.words), list(c.constants))
        else:                   # nothing reads its membership: not evaluated (no test)
            tests.add([], [])
        if c.name == "DROP":
            drop = c.bit
        if c.next_server is not None or c.server_hostname or c.boot_file_name:
            engine.set_class_boot(c.bit, c.next_server, c.server_hostname, c.boot_file_name)
    # KNOWN (bit 1) and UNKNOWN (bit 2) are set after the host lookup when anything reads them
    engine.set_classes(tests, drop, [c.bit for c in config.client_classes if c.after_host],
                       reads_known)
    engine.set_only_required([c.bit for c in config.client_classes if c.required])
    for c in config.client_classes[1:]:
        if c.valid_lifetime is not None:
            engine.set_class_lifetime(c.bit, *c.valid_lifetime)
        if c.options or c.vendor_options:
            engine.set_class_options(c.bit, option_set(
                merge_options(c.options), vendors=merge_vendor_options(c.vendor_options)))
    # pool guards: a class named but not defined is never joined (as in Kea)
    bits = {c.name: c.bit for c in config.client_classes}
    for ordinal, r in reserved_classes:
        engine.set_reservation_classes(ordinal, [bits[n] for n in r.client_classes if n in bits])
    for s in config.subnets:
        if s.client_classes:
            engine.set_subnet_guard(s.id, [bits[n] for n in s.client_classes if n in bits])
        if s.required_classes:
            engine.set_required(s.id, [bits[n] for n in s.required_classes if n in bits])
        for p in s.pools:
            if p.required_classes:
                engine.set_required(s.id, [bits[n] for n in p.required_classes if n in bits],
                                    p.first, p.last)
            if p.client_classes:
                engine.alloc.set_pool_guard(p.first, p.last,
                                            [bits[n] for n in p.client_classes if n in bits])


def compile_policy(config: Config, links: list[Link], *, batch_size: int = 64) -> Engine:
    """Build the Allocator and the Engine for ``config`` serving ``links``."""
    alloc = Allocator(offer_lifetime=OFFER_HOLD_DEFAULT,
                      decline_probation=config.decline_probation_period)
    for s in config.subnets:
        alloc.add_subnet(s.id, s.prefix, [(p.first, p.last) for p in s.pools],
                         match_client_id=s.match_client_id,
                         reservations_global=s.reservations_global,
                         reservations_in_subnet=s.reservations_in_subnet,
                         offer_lifetime=s.offer_lifetime or None,
                         cache_threshold=s.cache_threshold, cache_max_age=s.cache_max_age)
    alloc.set_identifier_order(config.host_reservation_identifiers)
    own = {link.address for link in links}
    resv_extras = []      # (ordinal, subnet or None for a global one, reservation)
    for s in config.subnets:
        # never hand out the network or broadcast address, nor one of ours (a /31 or /32 has
        # neither: RFC 3021, and a /32 is one host)
        edges = {s.network, s.broadcast} if s.prefix_len < 31 else set()
        for addr in edges | {a for a in own if a in s}:
            alloc.exclude(addr)
    for s, r in [(s, r) for s in config.subnets for r in s.reservations] + \
            [(None, r) for r in config.global_reservations]:
        kind = RESERVATION_KINDS.get(r.identifier_type)
        if kind is None:      # flex-id: config has warned that it never matches
            continue
        ordinal = alloc.add_reservation(s.id if s else None, r.ip_address,
                                        **{kind: r.identifier})
        resv_extras.append((ordinal, s, r))

    engine = Engine(alloc, batch_size)
    engine.raw_sockets = config.interfaces.dhcp_socket_type == "raw"
    # (Kea 2.4's compatibility flag: the relay's link-selection sub-option is not read)
    engine.ignore_rai_link_selection = config.compatibility.ignore_rai_link_selection
    # BOOTP is answered when Kea would answer it: with its bootp hook library (else a message
    # without 53 is dropped, as Kea drops it)
    engine.allow_bootp = config.bootp
    networks = {}
    for s in config.subnets:
        networks.setdefault(s.shared_network, []).append(s.id)
    for s in config.subnets:
        # explicit timers are fixed; with calculate-tee-times they are shares of each lease
        t1, t2 = s.renew_timer, s.rebind_timer
        pct = s.calculate_tee_times
        merged = s.effective_options        # global -> shared network -> subnet, merged
        server_id = merged.get(54, (b"\0\0\0\0", False))[0]
        engine.set_subnet(
            s.id, valid_lifetime=s.valid_lifetime, min_lifetime=s.min_valid_lifetime,
            max_lifetime=s.max_valid_lifetime, t1=t1, t2=t2,
            t1_percent=s.t1_percent if pct and t1 is None else None,
            t2_percent=s.t2_percent if pct and t2 is None else None, next_server=s.next_server,
            server_id=int.from_bytes(server_id[:4], "big") if len(server_id) == 4 else 0,
            authoritative=s.authoritative, echo_client_id=config.echo_client_id,
            options=option_set(merged, s, global_codes(config, merged, s.options,
                                                        s.network_options),
                               **vendor_options(config, s.vendor_options,
                                                s.network_vendor_options)),
            server_hostname=s.server_hostname,
            boot_file_name=s.boot_file_name,
            shared_with=[i for i in networks[s.shared_network] if i != s.id] if s.shared_network else ())
        for k, pool in enumerate(s.pools):
            if pool.options or pool.vendor_options:
                engine.set_pool_options(s.id, k, option_set(
                    pool.effective_options, s, global_codes(config, pool.effective_options,
                                                            pool.options, s.options,
                                                            s.network_options),
                    **vendor_options(config, pool.vendor_options, s.vendor_options,
                                     s.network_vendor_options)))
    for ordinal, s, r in resv_extras:
        if r.hostname:
            engine.set_reservation_hostname(ordinal, r.hostname)
        if s is None:       # global: serves any subnet, so only its own options, as an overlay
            if r.effective_options or r.vendor_options:
                engine.set_reservation_options(ordinal, option_set(
                    r.effective_options, vendors=merge_vendor_options(r.vendor_options)),
                    overlay=True)
        elif r.options or r.vendor_options:
            pool = next((p for p in s.pools if r.ip_address is not None and
                         p.first <= r.ip_address <= p.last), None)
            engine.set_reservation_options(ordinal, option_set(
                r.effective_options, s, global_codes(config, r.effective_options, r.options,
                                                     s.options, s.network_options),
                **vendor_options(config, r.vendor_options, pool.vendor_options if pool else None,
                                 s.vendor_options, s.network_vendor_options)))
        if r.next_server is not None or r.server_hostname is not None or \
                r.boot_file_name is not None:
            engine.set_reservation_boot(ordinal, r.next_server, r.server_hostname,
                                        r.boot_file_name)
    set_names(engine, config)
    for link in links:
        sub = subnet_of_link(config, link)
        engine.add_interface(link.ifindex, link.address, link.mac, sub.id if sub else None,
                             link.name)
    set_classes(engine, config, [(o, r) for o, _, r in resv_extras if r.client_classes])
    # A relay address names a subnet, or a shared network: its first subnet stands for the
    # network, and allocation moves among the members.
    relays: dict[int, int] = {}
    for s in config.subnets:
        for a in s.relay_addresses:
            relays.setdefault(a, s.id)
    engine.set_routes(list(relays.items()), [(s.network, s.broadcast, s.id) for s in config.subnets])
    return engine


def set_names(engine: Engine, config: Config) -> None:
    """The subnets' ddns-* parameters (each distinct set once) and the DNS update queue
    (dhcp-ddns): what the engine does with host names (12) and client FQDNs (81)."""
    ddns = config.dhcp4.dhcp_ddns if config.dhcp4 is not None else None
    enabled = bool(ddns and ddns.enable_updates)
    engine.set_name_changes(ddns.max_queue_size or 1 if enabled else 0)
    policies: dict[tuple, int] = {}
    for s in config.subnets:
        key = (enabled and s.ddns_send_updates, s.ddns_override_no_update,
               s.ddns_override_client_update, REPLACE_CLIENT_NAME[s.ddns_replace_client_name],
               s.ddns_update_on_renew, s.ddns_use_conflict_resolution, s.ddns_generated_prefix,
               s.ddns_qualifying_suffix, s.hostname_char_set, s.hostname_char_replacement)
        if key not in policies:
            policies[key] = engine.add_name_policy(
                updates=key[0], override_no_update=key[1], override_client_update=key[2],
                replace=key[3], update_on_renew=key[4], conflict_resolution=key[5],
                prefix=key[6], suffix=key[7], char_set=key[8], replacement=key[9])
        engine.set_subnet_names(s.id, policies[key])

