"""Resolving: the decoded schema -> the model (model.py) the server consumes.

Parameters are inherited (scopes.py), option data encoded per level (optiondata.py) and merged
once per subnet, pool and reservation by Kea's precedence; the semantic rules (checks.py) run on
the way, each reporting and going on. Subnets without an ``id`` are numbered as Kea 2.x numbers
them."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from typing import NamedTuple

import msgspec

from ..logs import KEA_ROOT, SEVERITIES
from .classes import client_classes
from .checks import (check_bootp_fields, check_global_reservations, check_hooks, check_interfaces,
                     check_network_members, check_overlaps, check_pools, check_relays,
                     check_reserved_address, check_sanity, check_scope)
from .decode import _Diag
from .model import (Config, Interfaces, InterfaceSpec, LeaseDatabase, LevelOption, Options, Pool,
                    Reservation, SharedNetwork, Subnet, merge_options)
from .optiondata import OptionData
from .optiondefs import option_table
from .schema import (DEFAULT_IDENTIFIERS, IDENTIFIER_TYPES, ControlSocketConfig, Dhcp4Config,
                     InterfacesConfig, LeaseDatabaseConfig, LoggerConfig, ReservationConfig,
                     SharedNetworkConfig, SubnetConfig)
from .scopes import _INHERITED, _Scope, params, scope
from .values import _hostname_ok, _identifier_bytes, _parse_ip, pool_range, relay_addresses

#: Kea's default memfile path (lease-database without a name)
DEFAULT_LEASE_FILE = "/var/lib/kea/kea-leases4.csv"


ON_FAIL = ("stop-retry-exit", "serve-retry-exit", "serve-retry-continue")   # Kea's


class _Draft(NamedTuple):
    cfg: SubnetConfig
    path: str
    chain: tuple[_Scope, ...]
    network: ipaddress.IPv4Network
    shared: SharedNetworkConfig | None
    shared_path: str | None
    net_options: dict[int, LevelOption]
    net_vendor: dict[int, dict[int, LevelOption]]



class _Resolver:
    """One resolution of a decoded ``Dhcp4``: problems and warnings go to ``diag``."""

    def __init__(self, cfg: Dhcp4Config, diag: _Diag, source: str, raw: dict) -> None:
        self.cfg = cfg
        self.diag = diag
        self.source = source
        self.raw = raw
        self.error = diag.error
        self.warn = diag.warn
        self.table = option_table(diag, cfg.option_def)
        self.options = OptionData(diag, self.table)
        self.global_options: dict[int, LevelOption] = {}
        self.identifier_types: frozenset[str] = frozenset(DEFAULT_IDENTIFIERS)

    # --- entry point ------------------------------------------------------------------------

    def resolve(self) -> Config | None:
        cfg = self.cfg
        glob = scope(self.diag, cfg, "Dhcp4")
        gparams = params([glob])
        check_scope(self.diag, [glob], "Dhcp4")
        g_opts, g_vendor = self.options.level(cfg.option_data, "Dhcp4.option-data")
        self.global_options = g_opts
        interfaces = self._interfaces(cfg.interfaces_config)
        lease_db = self._lease_database(cfg.lease_database)
        check_hooks(self.diag, cfg.hooks_libraries)
        loggers = self._loggers(cfg.loggers)
        sockets = self._control_sockets(cfg)
        check_sanity(self.diag, cfg.sanity_checks)
        idents = self._identifier_types(cfg.host_reservation_identifiers)
        self.identifier_types = frozenset(idents)
        if not cfg.lease_database.persist:
            self.warn("Dhcp4.lease-database.persist", "leases are not written to disk: a restart "
                                                      "forgets every lease")

        classes = client_classes(self.diag, cfg.client_classes, self.table, self.options.level)
        subnets, networks = self._subnets(glob)
        global_resv = self._reservations(cfg.reservations, "Dhcp4.reservations", None, 0,
                                         unique_ip=cfg.ip_reservations_unique)
        check_global_reservations(self.diag, glob, global_resv, subnets)
        check_interfaces(self.diag, interfaces, subnets)
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
            subnet_index={s.id: s for s in subnets}, client_classes=classes,
            bootp=any(h is not None and h.library.rsplit("/", 1)[-1] == "libdhcp_bootp.so"
                      for h in cfg.hooks_libraries))

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

    def _lease_database(self, ld: LeaseDatabaseConfig) -> LeaseDatabase:
        path = "Dhcp4.lease-database"
        connection = {"host": ld.host, "port": ld.port, "user": ld.user,
                      "password": ld.password, "connect-timeout": ld.connect_timeout}
        if ld.type == "postgresql":
            if not ld.name:
                self.error(f"{path}.name", "a postgresql lease database needs 'name' (the "
                                           "database holding Kea's schema)")
            if ld.on_fail not in ON_FAIL:
                self.error(f"{path}.on-fail", f"on-fail '{ld.on_fail}' is not one of "
                                              f"{', '.join(ON_FAIL)}")
            cluster = (ld.user_context or {}).get("fastdhcp-cluster")
            server, lease = "", 3.0
            if cluster is not None:
                cp = f"{path}.user-context.fastdhcp-cluster"
                if not isinstance(cluster, dict) or not isinstance(cluster.get("server"), str) \
                        or not cluster.get("server"):
                    self.error(cp, "a cluster needs 'server': this server's name, unique among "
                                   "the servers on the database")
                else:
                    server = cluster["server"]
                lease = cluster.get("ownership-lease", 3.0) if isinstance(cluster, dict) else 3.0
                if not isinstance(lease, (int, float)) or isinstance(lease, bool) or \
                        not 0.5 <= lease <= 600:
                    self.error(f"{cp}.ownership-lease", "seconds, from 0.5 to 600")
                    lease = 3.0
            return LeaseDatabase(
                cluster_server=server, ownership_lease=float(lease),
                type="postgresql", name=ld.name or "", persist=True, lfc_interval=0,
                max_row_errors=ld.max_row_errors, host=ld.host or "localhost",
                port=ld.port or 5432, user=ld.user or "", password=ld.password or "",
                connect_timeout=5 if ld.connect_timeout is None else ld.connect_timeout,
                max_reconnect_tries=ld.max_reconnect_tries,
                reconnect_wait_time=ld.reconnect_wait_time, on_fail=ld.on_fail)
        if ld.type != "memfile":
            known = ld.type in ("mysql", "cql")
            self.error(f"{path}.type",
                       f"lease-database type '{ld.type}' is "
                       f"{'not supported' if known else 'unknown'}: fastdhcp keeps leases in "
                       f"Kea's memfile CSV format (type memfile) or in PostgreSQL with Kea's "
                       f"schema (type postgresql)"
                       + ("; export the leases to a CSV file with kea-admin lease-dump"
                          if known else ""))
        for key, value in connection.items():
            if value is not None:
                self.warn(f"{path}.{key}", "a database connection parameter: ignored by the "
                                           "memfile backend")
        name = ld.name if ld.name else DEFAULT_LEASE_FILE
        return LeaseDatabase(type="memfile", name=name, persist=ld.persist,
                             lfc_interval=ld.lfc_interval, max_row_errors=ld.max_row_errors)

    def _loggers(self, loggers: Sequence[LoggerConfig | None]) -> list[LoggerConfig]:
        out = []
        for i, lg in enumerate(loggers):
            if lg is None:
                continue
            p = f"Dhcp4.loggers[{i}]"
            if lg.severity.upper() not in SEVERITIES:
                self.error(f"{p}.severity", f"unknown severity {lg.severity!r} (one of "
                                            f"{', '.join(SEVERITIES)})")
            if not 0 <= lg.debuglevel <= 99:
                self.error(f"{p}.debuglevel", f"debuglevel {lg.debuglevel} is outside 0..99")
            if not (lg.name == "*" or lg.name == KEA_ROOT
                    or lg.name.startswith(KEA_ROOT + ".")):
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
            if s.socket_type != "unix" and not self._http_socket_usable(p, s):
                continue
            out.append(s)
        return out

    def _http_socket_usable(self, p: str, s: ControlSocketConfig) -> bool:
        """An HTTP(S) socket's credentials and certificates are read now, so that a missing
        password file or a key that does not match its certificate refuses the configuration
        (with its path) instead of leaving a server nobody can reach."""
        import ssl

        from ..control import http       # (the checks are the listener's own)
        try:
            http.credentials(s.authentication)
        except http.HttpConfigError as e:
            self.error(f"{p}.authentication", str(e))
            return False
        try:
            http.tls_context(s)
        except (http.HttpConfigError, ssl.SSLError, OSError) as e:
            self.error(p, f"TLS: {e}")
            return False
        return True

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

    def _subnets(self, glob: _Scope) -> tuple[list[Subnet], list[SharedNetwork]]:
        cfg = self.cfg
        drafts: list[_Draft] = []
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
            net_scope = scope(self.diag, sn, np)
            check_scope(self.diag, (net_scope, glob), np)
            relay_addresses(self.diag, sn.relay, f"{np}.relay")
            n_opts, n_vendor = self.options.level(sn.option_data, f"{np}.option-data")
            first = len(drafts)
            for i, s in enumerate(sn.subnet4):
                if s is not None:
                    self._draft(drafts, s, f"{np}.subnet4[{i}]", (net_scope, glob), sn, np, n_opts,
                                n_vendor)
            network_drafts.append((sn, np, first, len(drafts), n_opts))
            check_network_members(self.diag, sn, np, drafts[first:])

        for i, s in enumerate(cfg.subnet4):
            if s is not None:
                self._draft(drafts, s, f"Dhcp4.subnet4[{i}]", (glob,), None, None, empty, empty)

        ids = self._assign_ids(drafts)
        check_overlaps(self.diag, drafts)
        subnets = []
        for d, (sid, auto) in zip(drafts, ids):
            subnets.append(self._subnet(d, sid, auto))
        check_pools(self.diag, subnets)
        check_relays(self.diag, subnets)

        networks = []
        for sn, np, lo, hi, n_opts in network_drafts:
            networks.append(SharedNetwork(
                name=sn.name, subnet_ids=tuple(s.id for s in subnets[lo:hi]),
                interface=sn.interface, relay_addresses=relay_addresses(self.diag, sn.relay, None),
                options=n_opts, path=np))
        return subnets, networks

    def _draft(self, drafts: list, s: SubnetConfig, path: str, parents: tuple[_Scope, ...],
               shared: SharedNetworkConfig | None, shared_path: str | None,
               net_options: dict, net_vendor: dict) -> None:
        chain = (scope(self.diag, s, path), *parents)
        check_scope(self.diag, chain, path)
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
        drafts.append(_Draft(s, path, chain, net, shared, shared_path, net_options,
                                  net_vendor))

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

    def _guard(self, c, path: str) -> tuple[str, ...]:
        """The classes that may use a pool: Kea 2.2's ``client-class``, or Kea 2.7.5's list
        ``client-classes`` (a packet in any of them); () for anyone."""
        if c.client_class and c.client_classes:
            self.error(f"{path}.client-classes", "'client-class' and 'client-classes' are "
                                                 "mutually exclusive")
            return ()
        if c.client_class:
            return (c.client_class,)
        return tuple(c.client_classes)

    def _subnet(self, d: _Draft, sid: int, auto: bool) -> Subnet:
        s, path = d.cfg, d.path
        here = params(d.chain)
        drafts = []
        for i, p in enumerate(s.pools):
            if p is None:
                continue
            pp = f"{path}.pools[{i}]"
            rng = pool_range(self.diag, p, pp, d.network)
            opts, vendor = self.options.level(p.option_data, f"{pp}.option-data")
            guard = self._guard(p, pp)
            required = tuple(p.require_client_classes or p.evaluate_additional_classes)
            if rng is not None:
                drafts.append((rng, opts, vendor, p.pool_id, pp, guard, required))
        opts, vendor = self.options.level(s.option_data, f"{path}.option-data")
        # Kea's precedence, merged once here: pool > subnet > shared network > global
        above = (opts, d.net_options, self.global_options)
        pools = [Pool(first=first, last=last, options=p_opts, vendor_options=p_vendor,
                      pool_id=pool_id, effective_options=merge_options(p_opts, *above), path=pp,
                      client_classes=guard, required_classes=required)
                 for (first, last), p_opts, p_vendor, pool_id, pp, guard, required in drafts]
        relay = s.relay if s.relay is not None else (d.shared.relay if d.shared else None)
        relays = relay_addresses(self.diag, s.relay, f"{path}.relay") if s.relay is not None \
            else relay_addresses(self.diag, relay, None)
        interface = s.interface if s.interface is not None else (
            d.shared.interface if d.shared else None)
        net = d.network
        draft = Subnet(
            **{name: getattr(here, name) for name in _INHERITED},
            id=sid, prefix=str(net), network=int(net.network_address),
            prefix_len=net.prefixlen, pools=tuple(pools), relay_addresses=relays,
            interface=interface or None, shared_network=d.shared.name if d.shared else None,
            options=opts, network_options=d.net_options, vendor_options=vendor,
            network_vendor_options=d.net_vendor, effective_options=merge_options(*above),
            id_auto=auto, path=path,
            # who may use it: its own guard, else its shared network's (Kea inherits it)
            client_classes=self._guard(s, path) or (
                self._guard(d.shared, d.shared_path) if d.shared else ()),
            # Kea's requiredClassify: the shared network's list, then the subnet's
            required_classes=(tuple(d.shared.require_client_classes or
                                    d.shared.evaluate_additional_classes) if d.shared else ()) +
            tuple(s.require_client_classes or s.evaluate_additional_classes))
        resv = self._reservations(s.reservations, f"{path}.reservations", draft, sid,
                                  unique_ip=self.cfg.ip_reservations_unique)
        if resv and not here.reservations_in_subnet:
            self.warn(f"{path}.reservations", "reservations-in-subnet is false here: these "
                                              "reservations are never used")
        return msgspec.structs.replace(draft, reservations=tuple(resv))

    # --- reservations -----------------------------------------------------------------------

    def _reservations(self, items: Sequence[ReservationConfig | None], path: str,
                      subnet: Subnet | None, subnet_id: int, *, unique_ip: bool
                      ) -> list[Reservation]:
        out: list[Reservation] = []
        by_ident: dict[tuple[str, bytes], str] = {}
        by_ip: dict[int, str] = {}
        pooled = tuple(p for p in subnet.pools if p.options) if subnet is not None else ()
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
                    check_reserved_address(self.diag, subnet, addr, rp)
            server = None
            if r.next_server:        # ("" leaves it unset, as in Kea)
                server = _parse_ip(r.next_server)
                if server is None:
                    self.error(f"{rp}.next-server", f"{r.next_server!r} is not an IPv4 address")
            check_bootp_fields(self.diag, r.server_hostname, r.boot_file_name, rp)
            if r.hostname and not _hostname_ok(r.hostname):
                self.warn(f"{rp}.hostname", f"{r.hostname!r} is not a valid host name (sent "
                                            f"as it is, as Kea sends it)")
            opts, vendor = (self.options.level(r.option_data, f"{rp}.option-data")
                            if r.option_data else ({}, {}))
            out.append(Reservation(identifier_type=kind, identifier=ident, subnet_id=subnet_id,
                                   ip_address=addr, hostname=r.hostname or None,
                                   next_server=server, server_hostname=r.server_hostname,
                                   boot_file_name=r.boot_file_name,
                                   client_classes=tuple(r.client_classes), options=opts,
                                   vendor_options=vendor,
                                   effective_options=self._reserved_options(
                                       subnet, pooled, addr, opts, r.hostname or None),
                                   path=rp))
        return out

    def _reserved_options(self, subnet: Subnet | None, pooled: tuple[Pool, ...],
                          addr: int | None, opts: dict[int, LevelOption], hostname: str | None
                          ) -> Options:
        """What a reserved client gets: reservation > its address's pool > subnet > shared
        network > global. A global reservation serves any subnet, so only its own options (the
        client's subnet or pool options follow them). (The reserved host name is not one of
        them: the engine sends it as Kea does, in 12 or 81: _native/names.pyx.) ``pooled``: the subnet's pools that have options of their own (a pool
        without adds nothing to the merge; pools never overlap)."""
        if subnet is None:
            merged = merge_options(opts)
        else:
            pool = next((p for p in pooled if p.first <= addr <= p.last), None) \
                if addr is not None and pooled else None
            if not opts:                        # nothing of its own: its pool's or subnet's
                return (pool or subnet).effective_options
            merged = merge_options(opts, pool.options if pool else None, subnet.options,
                                   subnet.network_options, self.global_options)
        return merged
