"""The ``Dhcp4`` schema: Kea's keys as msgspec Structs (kebab-case, unknown keys refused).

``None`` in an inheritable parameter means "not set here": the resolver looks further up."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from msgspec import Meta, field

#: Kea's host-reservation-identifiers: its default order, and every identifier type it knows
DEFAULT_IDENTIFIERS = ("hw-address", "duid", "circuit-id", "client-id")
IDENTIFIER_TYPES = ("hw-address", "duid", "circuit-id", "client-id", "flex-id")

U16 = Annotated[int, Meta(ge=0, le=0xFFFF)]
U32 = Annotated[int, Meta(ge=0, le=0xFFFFFFFF)]


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


class _GuardedConfig(_Section, kw_only=True):
    """Who may use a pool, subnet or shared network: ``client-class`` (Kea 2.2; the 2.7.5 list
    form ``client-classes``), and the classes evaluated once it is chosen."""

    client_class: str | None = None
    client_classes: list[str] = []
    require_client_classes: list[str] = []
    evaluate_additional_classes: list[str] = []     # Kea 2.7's name for the same


class PoolConfig(_GuardedConfig, kw_only=True):
    pool: str
    pool_id: U32 | None = None
    option_data: list[OptionDataConfig] = []


class ClientClassConfig(_Section, kw_only=True):
    """One ``client-classes`` entry (Kea 2.2's ClientClassDefParser; ``only-in-additional-list``
    is Kea 2.7's name for ``only-if-required``)."""

    name: str = ""
    test: str = ""
    only_if_required: bool = False
    only_in_additional_list: bool = False
    option_data: list[OptionDataConfig] = []
    option_def: list[OptionDefConfig] = []
    next_server: str | None = None
    server_hostname: str | None = None
    boot_file_name: str | None = None
    valid_lifetime: U32 | None = None
    min_valid_lifetime: U32 | None = None
    max_valid_lifetime: U32 | None = None


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
    cache_threshold: float | None = None
    cache_max_age: U32 | None = None
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
    ddns_send_updates: bool | None = None
    ddns_override_no_update: bool | None = None
    ddns_override_client_update: bool | None = None
    ddns_replace_client_name: str | None = None
    ddns_generated_prefix: str | None = None
    ddns_qualifying_suffix: str | None = None
    ddns_update_on_renew: bool | None = None
    ddns_use_conflict_resolution: bool | None = None
    option_data: list[OptionDataConfig] = []


class SubnetConfig(_ScopeConfig, kw_only=True):
    subnet: str
    id: int | None = None
    pools: list[PoolConfig] = []
    reservations: list[ReservationConfig] = []
    interface: str | None = None
    relay: RelayConfig | None = None
    client_class: str | None = None             # who may use it (Kea 2.2)
    client_classes: list[str] = []              # the same, Kea 2.7.5's list form
    require_client_classes: list[str] = []      # evaluated once it is chosen
    evaluate_additional_classes: list[str] = []     # Kea 2.7's name for the same


class SharedNetworkConfig(_ScopeConfig, kw_only=True):
    name: str
    subnet4: list[SubnetConfig] = []
    interface: str | None = None
    relay: RelayConfig | None = None
    client_class: str | None = None             # who may use it (Kea 2.2)
    client_classes: list[str] = []              # the same, Kea 2.7.5's list form
    require_client_classes: list[str] = []      # evaluated once it is chosen
    evaluate_additional_classes: list[str] = []     # Kea 2.7's name for the same


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
    # a database backend's connection (Kea's DatabaseConnection parameters)
    host: str | None = None
    port: U16 | None = None
    user: str | None = None
    password: str | None = None
    connect_timeout: U32 | None = None
    max_reconnect_tries: U32 = 0
    reconnect_wait_time: U32 = 0            # milliseconds
    on_fail: str = "stop-retry-exit"


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
    client_classes: list[ClientClassConfig] = []
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
