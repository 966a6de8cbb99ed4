"""Kea's inheritance of parameters: global -> shared network -> subnet, with Kea's defaults
(``GLOBAL4_DEFAULTS`` in simple_parser4.cc) where no level sets a value."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

from .decode import _Diag
from .model import Params
from .schema import _ScopeConfig
from .values import _parse_ip

# The DNS-update parameters (Kea 2.2: global, shared network, subnet).
DDNS_PARAMETERS = ("ddns_send_updates", "ddns_override_no_update", "ddns_override_client_update",
                   "ddns_replace_client_name", "ddns_generated_prefix", "ddns_qualifying_suffix",
                   "ddns_update_on_renew", "ddns_use_conflict_resolution")

_INHERITED = ("valid_lifetime", "min_valid_lifetime", "max_valid_lifetime", "renew_timer",
              "rebind_timer", "calculate_tee_times", "t1_percent", "t2_percent", "offer_lifetime",
              "cache_threshold", "cache_max_age",
              "match_client_id", "authoritative", "next_server", "server_hostname",
              "boot_file_name", "reservations_global", "reservations_in_subnet",
              "reservations_out_of_pool", "store_extended_info", "allocator",
              "hostname_char_set", "hostname_char_replacement", *DDNS_PARAMETERS)

# Kea's GLOBAL4_DEFAULTS (simple_parser4.cc). min/max-valid-lifetime default to valid-lifetime.
_DEFAULTS: dict[str, Any] = {
    "valid_lifetime": 7200, "min_valid_lifetime": None, "max_valid_lifetime": None,
    "renew_timer": None, "rebind_timer": None, "calculate_tee_times": False,
    "t1_percent": 0.5, "t2_percent": 0.875, "offer_lifetime": 0, "match_client_id": True,
    "cache_threshold": None, "cache_max_age": None,      # Kea: unspecified, no caching
    "authoritative": False, "next_server": "0.0.0.0", "server_hostname": "",
    "boot_file_name": "", "reservations_global": False, "reservations_in_subnet": True,
    "reservations_out_of_pool": False, "store_extended_info": False, "allocator": "iterative",
    "hostname_char_set": "[^A-Za-z0-9.-]", "hostname_char_replacement": "",
    "ddns_send_updates": True, "ddns_override_no_update": False,
    "ddns_override_client_update": False, "ddns_replace_client_name": "never",
    "ddns_generated_prefix": "myhost", "ddns_qualifying_suffix": "",
    "ddns_update_on_renew": False, "ddns_use_conflict_resolution": True,
}

# reservation-mode (Kea < 1.9.1) -> (global, in-subnet, out-of-pool); None leaves a flag alone.
_RESERVATION_MODES = {
    "disabled": (False, False, None), "off": (False, False, None),
    "out-of-pool": (False, True, True), "global": (True, False, None),
    "all": (False, True, False),
}


class _Scope(NamedTuple):
    """One level of the inheritance chain, with its values and where it is."""

    cfg: _ScopeConfig
    path: str
    values: dict[str, Any]          # set here (reservation-mode already mapped)


def scope(diag: _Diag, cfg: _ScopeConfig, path: str) -> _Scope:
    """The values set at one level (reservation-mode mapped to its three flags)."""
    values = {name: getattr(cfg, name) for name in _INHERITED}
    if values["next_server"] == "":      # Kea: "" leaves it unset (inherited), not 0.0.0.0
        values["next_server"] = None
    mode = cfg.reservation_mode
    if mode is not None:
        if any(values[k] is not None for k in ("reservations_global",
                                               "reservations_in_subnet",
                                               "reservations_out_of_pool")):
            diag.error(f"{path}.reservation-mode", "cannot be combined with "
                       "reservations-global, reservations-in-subnet or "
                       "reservations-out-of-pool")
        elif mode not in _RESERVATION_MODES:
            diag.error(f"{path}.reservation-mode", f"unknown reservation mode {mode!r} "
                       f"(one of {', '.join(_RESERVATION_MODES)})")
        else:
            flags = _RESERVATION_MODES[mode]
            for k, v in zip(("reservations_global", "reservations_in_subnet",
                             "reservations_out_of_pool"), flags):
                values[k] = v
    return _Scope(cfg, path, values)


def effective(chain: Sequence[_Scope], name: str) -> Any:
    """The value in force: the most specific level that sets it, else Kea's default."""
    for scope in chain:
        v = scope.values[name]
        if v is not None:
            return v
    if name in ("min_valid_lifetime", "max_valid_lifetime"):
        return effective(chain, "valid_lifetime")
    return _DEFAULTS[name]


def params(chain: Sequence[_Scope]) -> Params:
    """``chain``: most specific scope first, the global scope last."""
    eff = {name: effective(chain, name) for name in _INHERITED}
    server = _parse_ip(eff["next_server"])
    if server is None:
        server = 0      # reported by check_scope where it is written
    eff["next_server"] = server
    return Params(**eff)
