"""The resolved model: what the server consumes. Addresses are ``int`` (host order); every
subnet carries its effective parameters (Kea's inheritance applied) and every subnet, pool and
reservation its effective options (every level merged once, by Kea's precedence)."""

from __future__ import annotations

from typing import NamedTuple

import msgspec

from ..errors import Problem
from .optiondefs import OptionTable
from .schema import (CompatibilityConfig, ControlSocketConfig, Dhcp4Config, ExpiredLeasesConfig,
                     LoggerConfig, MultiThreadingConfig, SanityChecksConfig)
from .values import _ip_text

INFINITE = 0xFFFFFFFF

#: What a client is sent: ``{code: (wire value, always_send)}``, by code.
Options = dict[int, tuple[bytes, bool]]


class LevelOption(NamedTuple):
    """One option at one level: its wire value (``None`` for a flags-only entry: ``never-send``
    without data) and Kea's two sticky flags."""

    data: bytes | None
    always_send: bool = False
    never_send: bool = False


def merge_options(*levels: dict[int, LevelOption] | None) -> Options:
    """Kea's option precedence: ``levels`` from most to least specific (reservation, pool, subnet,
    shared network, global). The value comes from the most specific level that has data;
    ``always-send`` and ``never-send`` are sticky: set at any level, they apply (ARM "Standard
    DHCPv4 Options"), and never-send wins. Returns ``{code: (bytes, always_send)}``, by code."""
    present = [lv for lv in levels if lv]
    out: Options = {}
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


VendorLevel = dict[int, dict[int, LevelOption]]      # {enterprise: {sub-option code: option}}


def merge_vendor_options(*levels: VendorLevel | None) -> dict[int, Options]:
    """The vendor-<id> spaces' options of ``levels`` (most specific first), merged per enterprise
    with merge_options' precedence: ``{enterprise: {code: (bytes, always_send)}}``."""
    present = [lv for lv in levels if lv]
    out: dict[int, Options] = {}
    for enterprise in sorted({e for lv in present for e in lv}):
        merged = merge_options(*(lv.get(enterprise) for lv in present))
        if merged:
            out[enterprise] = merged
    return out


class Pool(msgspec.Struct, kw_only=True, frozen=True):
    """A dynamic range: ``first`` and ``last`` inclusive, as integers."""

    first: int
    last: int
    options: dict[int, LevelOption] = {}
    vendor_options: dict[int, dict[int, LevelOption]] = {}
    pool_id: int | None = None
    effective_options: Options = {}     # pool > subnet > shared network > global
    path: str = ""
    client_classes: tuple[str, ...] = ()    # who may use it (a packet in any): () for anyone
    required_classes: tuple[str, ...] = ()  # require-client-classes (a subnet's: its shared
                                            # network's first), evaluated once it is chosen

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
    # reservation > its address's pool > subnet > shared network > global (a global one: its own
    # options only, an overlay), with the reserved host name as option 12 unless one is set
    effective_options: Options = {}
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
    cache_threshold: float | None     # lease caching (Kea 1.9.6+): None when unspecified
    cache_max_age: int | None
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
    ddns_send_updates: bool
    ddns_override_no_update: bool
    ddns_override_client_update: bool
    ddns_replace_client_name: str
    ddns_generated_prefix: str
    ddns_qualifying_suffix: str
    ddns_update_on_renew: bool
    ddns_use_conflict_resolution: bool

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
    effective_options: Options = {}     # subnet > shared network > global
    id_auto: bool = False           # the id was assigned by fastdhcp, not written in the file
    path: str = ""
    client_classes: tuple[str, ...] = ()    # who may use it (a packet in any): () for anyone
    required_classes: tuple[str, ...] = ()  # require-client-classes (a subnet's: its shared
                                            # network's first), evaluated once it is chosen

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


class ClientClass(msgspec.Struct, kw_only=True, frozen=True):
    """A client class, its test compiled for the engine (fastdhcp/classify/compile.py). ``bit``
    is its number in a packet's class set (0 is ALL, which every packet has)."""

    name: str
    bit: int
    test: str = ""                  # as written ('' : no test, the class is only assigned)
    words: tuple[int, ...] = ()
    constants: tuple[bytes, ...] = ()
    next_server: int | None = None      # the boot fields it gives (over the subnet's)
    server_hostname: str | None = None
    boot_file_name: str | None = None
    valid_lifetime: tuple[int, int, int] | None = None   # (min, default, max), as Kea's triplet
    options: dict[int, LevelOption] = {}     # its option-data (between the shared network's
    path: str = ""                           # and the global ones)
    vendor_options: dict[int, dict[int, LevelOption]] = {}   # of vendor-<id> spaces
    after_host: bool = False        # its test needs KNOWN/UNKNOWN: evaluated after the host
                                    # lookup (Kea's depend_on_known)
    required: bool = False          # only-if-required: evaluated only where a pool, subnet or
                                    # shared network requires it, once the lease is chosen
    references: tuple[str, ...] = ()     # the classes its test names through member()


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
    """Where the leases live: Kea's memfile CSV (``name`` its path), or a PostgreSQL database
    with Kea's schema (``name`` the database; the connection as Kea's parameters give it)."""

    type: str                       # "memfile" or "postgresql"
    name: str
    persist: bool
    lfc_interval: int
    max_row_errors: int
    host: str = "localhost"
    port: int = 5432
    user: str = ""
    password: str = ""
    connect_timeout: int = 5        # seconds
    max_reconnect_tries: int = 0
    reconnect_wait_time: int = 0    # milliseconds
    on_fail: str = "stop-retry-exit"
    # several servers on this database (user-context "fastdhcp-cluster"): this one's name, and
    # how long an ownership of shards lasts without renewal (seconds)
    cluster_server: str = ""
    ownership_lease: float = 3.0

    def conninfo(self) -> str:
        """libpq's connection string for a postgresql one (values quoted as libpq reads them)."""
        def q(v) -> str:
            return "'" + str(v).replace("\\", "\\\\").replace("'", "\\'") + "'"
        parts = {"host": self.host, "port": self.port, "dbname": self.name,
                 "connect_timeout": self.connect_timeout, "application_name": "fastdhcp"}
        if self.user:
            parts["user"] = self.user
        if self.password:
            parts["password"] = self.password
        if "," in self.host:                 # several hosts (a primary and its standbys):
            parts["target_session_attrs"] = "read-write"     # the one that takes writes
        return " ".join(f"{k}={q(v)}" for k, v in parts.items())


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
    client_classes: tuple[ClientClass, ...] = ()     # in the order Kea evaluates them
    bootp: bool = False             # libdhcp_bootp.so is loaded: BOOTP requests are answered

    def subnet(self, subnet_id: int) -> Subnet:
        return self.subnet_index[subnet_id]

    def options_for(self, subnet: Subnet | int, pool: Pool | None = None,
                    reservation: Reservation | None = None) -> Options:
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
