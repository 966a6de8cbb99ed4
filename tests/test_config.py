"""fastdhcp.config: Kea Dhcp4 configuration parsing, checking and resolution.

Each semantic error is checked for its JSON path and its reason; examples under examples/ must
load unmodified; option bytes are checked against hand-assembled wire values."""

import io
import ipaddress
import json
import logging
import pathlib

import pytest

from fastdhcp import config as C
from fastdhcp import logs
from fastdhcp.config import values
from fastdhcp.config import ConfigError, Problem, load_config, parse_config
from fastdhcp.options import OptionValueError, by_name, encode_value

ROOT = pathlib.Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("*.json"))
CORPUS_CONFIG = ROOT / "tests" / "data" / "corpus" / "kea-dhcp4.json"


def ip(text: str) -> int:
    return int(ipaddress.IPv4Address(text))


def cfg(dhcp4: dict, **top) -> C.Config:
    """Parse ``{"Dhcp4": dhcp4}``; listening on every interface unless the test says otherwise
    (an empty interface list is a warning of its own)."""
    dhcp4 = {"interfaces-config": {"interfaces": ["*"]}, **dhcp4}
    return parse_config(json.dumps({"Dhcp4": dhcp4, **top}))


def subnet(sid=1, prefix="192.0.2.0/24", **kw) -> dict:
    out = {"subnet": prefix, **kw}
    if sid is not None:
        out["id"] = sid
    return out


def problems(dhcp4: dict | str, **top) -> list[Problem]:
    text = dhcp4 if isinstance(dhcp4, str) else json.dumps({"Dhcp4": dhcp4, **top})
    with pytest.raises(ConfigError) as info:
        parse_config(text)
    return info.value.problems


def one_problem(dhcp4: dict | str, **top) -> Problem:
    found = problems(dhcp4, **top)
    assert len(found) == 1, found
    return found[0]


def warnings_of(config: C.Config) -> dict[str, str]:
    return {w.path: w.reason for w in config.warnings}


# --- examples -------------------------------------------------------------------------------------

def test_examples_exist():
    assert len(EXAMPLES) >= 6


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_every_example_loads(path):
    config = load_config(path)
    assert config.subnets
    for s in config.subnets:
        assert s.id >= 1 and not s.id_auto
        for p in s.pools:
            assert p.first in s and p.last in s


def test_corpus_lab_config_loads():
    config = load_config(CORPUS_CONFIG)
    assert [s.prefix for s in config.subnets] == ["192.0.2.0/24", "198.51.100.0/24",
                                                  "203.0.113.0/24"]
    assert config.subnets[0].interface == "TAGbr0"
    assert config.subnets[0].authoritative is True
    assert config.subnets[0].tee_times() == (10, 500)


def test_small_office_example():
    config = load_config(ROOT / "examples" / "small-office.json")
    s = config.subnets[0]
    assert (s.prefix, s.interface, s.valid_lifetime) == ("192.168.10.0/24", "eth0", 28800)
    assert s.pool_ranges == ((ip("192.168.10.100"), ip("192.168.10.199")),)
    opts = config.options_for(s)
    assert opts[3] == (ipaddress.IPv4Address("192.168.10.1").packed, False)
    assert opts[6][0] == bytes([192, 168, 10, 2, 192, 168, 10, 3])
    assert opts[15][0] == b"office.example.com"
    printer = s.reservations[0]
    assert (printer.identifier_type, printer.identifier) == ("hw-address",
                                                             bytes.fromhex("001ba94c217e"))
    assert printer.ip_address == ip("192.168.10.20") and printer.hostname == "printer"
    assert s.pool_of(printer.ip_address) is None            # out of pool
    assert config.control_sockets[0].socket_name == "/run/kea/kea4-ctrl-socket"
    assert config.warnings == []


def test_datacenter_example_relays_and_a_slash8_pool():
    config = load_config(ROOT / "examples" / "datacenter-relay.json")
    assert len(config.subnets) >= 10
    prov = config.subnet(100)
    assert prov.prefix == "10.0.0.0/8"
    assert prov.pools[0].size > 16_000_000
    assert prov.relay_addresses == (ip("10.255.0.1"), ip("10.255.0.2"))
    assert (prov.valid_lifetime, prov.min_valid_lifetime, prov.max_valid_lifetime) == (
        1800, 600, 172800)
    rack = config.subnet(3)
    assert rack.relay_addresses == (ip("172.16.3.1"),)
    assert rack.tee_times() == (43200, 75600)
    assert config.interfaces.dhcp_socket_type == "udp"
    assert config.interfaces.outbound_interface == "use-routing"
    assert config.interfaces.interfaces == (C.InterfaceSpec("bond0", ip("10.255.0.10")),)
    assert config.host_reservation_identifiers == ("hw-address",)
    assert config.lease_database.lfc_interval == 1800
    assert "Dhcp4.hooks-libraries[0]" not in warnings_of(config)   # lease_cmds: built in


def test_reservations_example_every_identifier_kind():
    config = load_config(ROOT / "examples" / "reservations.json")
    kinds = {r.identifier_type for s in config.subnets for r in s.reservations}
    kinds |= {r.identifier_type for r in config.global_reservations}
    assert kinds == set(C.IDENTIFIER_TYPES)
    by_ip = {r.ip_address: r for r in config.subnet(1).reservations}
    assert by_ip[ip("192.0.2.13")].identifier == b"switch7/port12"      # 'quoted' circuit-id
    assert by_ip[ip("192.0.2.150")].identifier == bytes.fromhex("1a1b1c1d1e20")
    assert by_ip[ip("192.0.2.11")].identifier == bytes.fromhex("01112233445566")
    thin = next(r for r in config.subnet(1).reservations if r.hostname == "thin-client-3")
    assert thin.next_server == ip("192.0.2.5") and thin.boot_file_name == "/pxe/thin/pxelinux.0"
    assert config.subnet(2).reservations_out_of_pool is True
    cisco = config.subnet(2).reservations[2]
    assert cisco.identifier == bytes.fromhex("0cc47a334456")
    assert [r.subnet_id for r in config.global_reservations] == [0, 0]


def test_include_example(tmp_path):
    config = load_config(ROOT / "examples" / "with-include.json")
    assert [s.id for s in config.subnets] == [1, 2]
    assert config.globals.rebind_timer == 3150


# --- Kea's extended JSON --------------------------------------------------------------------------

COMMENTED = """\
# shell comment with "quotes" and { braces
{
  // C++ comment: "Dhcp6": {}
  "Dhcp4": {
    "interfaces-config": { "interfaces": [ "*" ] },
    /* block comment
       spanning lines, with // and # inside */
    "boot-file-name": "http://boot.example/#/*not a comment*/",
    "server-hostname": "a#b",  # comment after a value
    "subnet4": [ { "id": 1, "subnet": "192.0.2.0/24", "comment": "// kept" } ] /* end */
  }
}
"""


def test_comments_of_all_three_kinds_and_not_inside_strings():
    config = parse_config(COMMENTED)
    assert config.globals.boot_file_name == "http://boot.example/#/*not a comment*/"
    assert config.globals.server_hostname == "a#b"
    assert config.dhcp4.subnet4[0].comment == "// kept"
    assert config.warnings == []


def test_comments_keep_line_numbers_for_syntax_errors():
    text = "# one\n{\n /* two\n three */ \"Dhcp4\": {\n \"valid-lifetime\": 10 \"x\": 1 }}\n"
    p = one_problem(text)
    assert p.path == "<string>:5:23" and "JSON syntax error" in p.reason


def test_unterminated_block_comment():
    p = one_problem('{"Dhcp4": {}} /* never closed')
    assert p.path == "<string>:1:15" and p.reason == "unterminated /* comment"


def test_trailing_comma_and_leading_dot_number_are_accepted():
    config = parse_config('# x\n{"Dhcp4": {"calculate-tee-times": true, "t2-percent": .9,\n'
                          '"interfaces-config": {"interfaces": ["*"]},\n'
                          '"subnet4": [ {"id": 1, "subnet": "192.0.2.0/24"}, ], }, }')
    assert config.globals.t2_percent == 0.9
    assert [str(w) for w in config.warnings] == [
        "<string>:4: extra comma before a closing bracket (ignored)",
        "<string>:4: extra comma before a closing bracket (ignored)",
        "<string>:4: extra comma before a closing bracket (ignored)"]


def test_duplicate_keys_are_errors_with_their_path():
    found = problems('{"Dhcp4": {"valid-lifetime": 1, "valid-lifetime": 2, "subnet4": '
                     '[{"id": 1, "subnet": "192.0.2.0/24", "id": 2}]}}')
    assert [p.path for p in found] == ["Dhcp4.valid-lifetime", "Dhcp4.subnet4[0].id"]
    assert all("twice" in p.reason for p in found)


def test_escaped_quotes_and_colons_in_strings_are_not_keys():
    config = parse_config('{"Dhcp4": {"comment": "a\\": \\"b\\" :", "user-context": '
                          '{"x": ":", "y" : "\\":"}}}')
    assert config.dhcp4.comment == 'a": "b" :'


def test_nan_is_not_json():
    assert "NaN is not a JSON value" in one_problem('{"Dhcp4": {"t1-percent": NaN}}').reason


def test_include_relative_to_the_including_file(tmp_path):
    (tmp_path / "parts").mkdir()
    (tmp_path / "parts" / "subnets.json").write_text(
        '# a fragment\n{"id": 7, "subnet": "10.7.0.0/16"}\n')
    (tmp_path / "main.json").write_text(
        '{"Dhcp4": {\n "subnet4": [\n <?include "parts/subnets.json"?>\n ],\n'
        ' "valid-lifetime": 99 }}\n')
    config = load_config(tmp_path / "main.json")
    assert config.subnets[0].id == 7 and config.globals.valid_lifetime == 99


def test_include_errors_are_located(tmp_path):
    (tmp_path / "loop.json").write_text('<?include "loop.json"?>')
    (tmp_path / "main.json").write_text('{\n  <?include "missing.json"?>\n'
                                        '  <?include "loop.json"?> "Dhcp4": {}}')
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path / "main.json")
    found = info.value.problems
    assert found[0].path.endswith("main.json:2:3") and "no such file" in found[0].reason
    assert found[1].path.endswith("loop.json:1:1") and "include loop" in found[1].reason


def test_syntax_error_inside_an_included_file_names_that_file(tmp_path):
    (tmp_path / "bad.json").write_text('\n\n"valid-lifetime": 10 10,\n')
    (tmp_path / "main.json").write_text('{"Dhcp4": {\n<?include "bad.json"?>\n}}')
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path / "main.json")
    assert info.value.problems[0].path == f"{tmp_path / 'bad.json'}:3:22"


def test_top_level_keys_other_than_dhcp4_warn():
    config = cfg({}, Logging={"loggers": []}, **{"Control-agent": {}})
    assert warnings_of(config) == {
        "Logging": "top-level object 'Logging' is ignored (moved into Dhcp4.loggers in Kea "
                   "1.7.10)",
        "Control-agent": "top-level object 'Control-agent' is ignored (not part of the DHCPv4 "
                         "server's configuration)"}


def test_no_dhcp4_and_not_an_object():
    assert one_problem('{"Dhcp6": {}}') == Problem("Dhcp4", "the configuration has no Dhcp4 "
                                                            "object")
    assert "must be a JSON object" in one_problem("[1]").reason
    assert one_problem('{"Dhcp4": []}') == Problem("Dhcp4", "expected an object, got a list")


def test_unreadable_file(tmp_path):
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path / "nope.json")
    assert "cannot read the configuration" in str(info.value)


# --- Kea's defaults -------------------------------------------------------------------------------

def test_kea_defaults():
    config = cfg({"subnet4": [subnet()]})
    g = config.globals
    assert (g.valid_lifetime, g.min_valid_lifetime, g.max_valid_lifetime) == (7200, 7200, 7200)
    assert (g.renew_timer, g.rebind_timer) == (None, None)
    assert (g.calculate_tee_times, g.t1_percent, g.t2_percent) == (False, 0.5, 0.875)
    assert g.offer_lifetime == 0
    assert (g.match_client_id, g.authoritative) == (True, False)
    assert (g.next_server, g.server_hostname, g.boot_file_name) == (0, "", "")
    assert (g.reservations_global, g.reservations_in_subnet, g.reservations_out_of_pool) == (
        False, True, False)
    assert g.allocator == "iterative"
    assert config.decline_probation_period == 86400
    assert config.echo_client_id is True
    assert config.ip_reservations_unique is True
    assert config.host_reservation_identifiers == ("hw-address", "duid", "circuit-id",
                                                   "client-id")
    i = config.interfaces
    assert (i.dhcp_socket_type, i.outbound_interface, i.re_detect) == (
        "raw", "same-as-inbound", True)
    assert (i.service_sockets_require_all, i.service_sockets_max_retries,
            i.service_sockets_retry_wait_time) == (False, 0, 5000)
    ld = config.lease_database
    assert (ld.type, ld.persist, ld.lfc_interval, ld.max_row_errors) == ("memfile", True, 3600, 0)
    assert ld.name == "/var/lib/kea/kea-leases4.csv"
    e = config.expired_leases_processing
    assert (e.reclaim_timer_wait_time, e.flush_reclaimed_timer_wait_time, e.hold_reclaimed_time,
            e.max_reclaim_leases, e.max_reclaim_time, e.unwarned_reclaim_cycles) == (
        10, 25, 3600, 100, 250, 5)
    m = config.multi_threading
    assert (m.enable_multi_threading, m.thread_pool_size, m.packet_queue_size) == (True, 0, 64)
    assert config.sanity_checks.lease_checks == "warn"
    s = config.subnets[0]
    assert s.valid_lifetime == 7200 and s.tee_times() == (None, None)


def test_tee_times_follow_kea():
    g = cfg({"calculate-tee-times": True}).globals
    assert g.tee_times(1000) == (500, 875)
    assert g.tee_times() == (3600, 6300)
    explicit = cfg({"calculate-tee-times": True, "renew-timer": 100, "rebind-timer": 200}).globals
    assert explicit.tee_times(1000) == (100, 200)           # explicit values win
    assert explicit.tee_times(150) == (100, None)           # T2 only below the lifetime
    assert explicit.tee_times(90) == (None, None)           # T1 only below T2 or the lifetime
    assert cfg({"renew-timer": 100}).globals.tee_times(1000) == (100, None)


def test_lease_time_is_clamped_to_the_triplet():
    g = cfg({"valid-lifetime": 600, "min-valid-lifetime": 300, "max-valid-lifetime": 900}).globals
    assert (g.lease_time(), g.lease_time(100), g.lease_time(700), g.lease_time(10**6)) == (
        600, 300, 700, 900)


# --- inheritance ----------------------------------------------------------------------------------

INHERIT = {
    "valid-lifetime": 1000, "match-client-id": False, "next-server": "192.0.2.9",
    "boot-file-name": "global.efi", "calculate-tee-times": True, "t1-percent": 0.4,
    "shared-networks": [{
        "name": "net", "interface": "eth1", "relay": {"ip-addresses": ["198.51.100.1"]},
        "valid-lifetime": 2000, "authoritative": True, "t1-percent": 0.3,
        "subnet4": [
            subnet(1, "10.1.0.0/24"),
            subnet(2, "10.2.0.0/24", **{"valid-lifetime": 3000, "boot-file-name": "s2.efi",
                                        "match-client-id": True, "authoritative": False}),
        ]}],
    "subnet4": [subnet(3, "10.3.0.0/24", interface="eth2")],
}


def test_inheritance_global_shared_network_subnet():
    config = cfg(INHERIT)
    s1, s2, s3 = config.subnet(1), config.subnet(2), config.subnet(3)
    assert (s1.valid_lifetime, s2.valid_lifetime, s3.valid_lifetime) == (2000, 3000, 1000)
    assert (s1.authoritative, s2.authoritative, s3.authoritative) == (True, False, False)
    assert (s1.match_client_id, s2.match_client_id, s3.match_client_id) == (False, True, False)
    assert (s1.boot_file_name, s2.boot_file_name, s3.boot_file_name) == (
        "global.efi", "s2.efi", "global.efi")
    assert s1.next_server == s3.next_server == ip("192.0.2.9")
    assert (s1.t1_percent, s3.t1_percent, s1.calculate_tee_times) == (0.3, 0.4, True)
    # interface and relay come from the shared network only, never from the global scope
    assert (s1.interface, s2.interface, s3.interface) == ("eth1", "eth1", "eth2")
    assert s1.relay_addresses == s2.relay_addresses == (ip("198.51.100.1"),)
    assert s3.relay_addresses == ()
    assert (s1.shared_network, s3.shared_network) == ("net", None)
    assert config.shared_networks[0].subnet_ids == (1, 2)
    # min/max follow valid-lifetime where they are not set
    assert (s2.min_valid_lifetime, s2.max_valid_lifetime) == (3000, 3000)


def test_inherited_bounds_are_checked_where_the_value_is_set():
    p = one_problem({"max-valid-lifetime": 3600, "valid-lifetime": 1800,
                     "subnet4": [subnet(**{"valid-lifetime": 7200})]})
    assert p == Problem("Dhcp4.subnet4[0].valid-lifetime",
                        "valid-lifetime 7200 is greater than max-valid-lifetime 3600")
    p = one_problem({"min-valid-lifetime": 600, "shared-networks": [{"name": "n", "subnet4": [
        subnet(**{"valid-lifetime": 300})]}]})
    assert p == Problem("Dhcp4.shared-networks[0].subnet4[0].valid-lifetime",
                        "valid-lifetime 300 is less than min-valid-lifetime 600")
    p = one_problem({"min-valid-lifetime": 600, "max-valid-lifetime": 900, "valid-lifetime": 700,
                     "subnet4": [subnet(**{"valid-lifetime": 1000})]})
    assert p.reason == ("valid-lifetime 1000 is outside [min-valid-lifetime 600, "
                        "max-valid-lifetime 900]")


def test_reservation_mode_is_mapped_with_a_warning():
    config = cfg({"subnet4": [subnet(**{"reservation-mode": "out-of-pool"}),
                              subnet(2, "10.0.0.0/24", **{"reservation-mode": "global"})]})
    s1, s2 = config.subnets
    assert (s1.reservations_global, s1.reservations_in_subnet, s1.reservations_out_of_pool) == (
        False, True, True)
    assert (s2.reservations_global, s2.reservations_in_subnet) == (True, False)
    assert "deprecated" in warnings_of(config)["Dhcp4.subnet4[0].reservation-mode"]
    p = one_problem({"subnet4": [subnet(**{"reservation-mode": "all",
                                           "reservations-global": True})]})
    assert p.path == "Dhcp4.subnet4[0].reservation-mode" and "cannot be combined" in p.reason


# --- option data and precedence -------------------------------------------------------------------

def opt(name=None, data=None, **kw) -> dict:
    out = dict(kw)
    if name is not None:
        out["name"] = name
    if data is not None:
        out["data"] = data
    return out


PRECEDENCE = {
    "option-data": [opt("domain-name", "global"), opt("log-servers", "10.0.0.1"),
                    opt("ntp-servers", "10.0.0.2"), opt("time-offset", "1"),
                    opt("nis-domain", "global")],
    "shared-networks": [{"name": "n", "option-data": [opt("domain-name", "network"),
                                                      opt("time-offset", "2")],
                         "subnet4": [subnet(1, "10.0.0.0/24", **{
                             "option-data": [opt("domain-name", "subnet"),
                                             opt("log-servers", "10.0.0.3")],
                             "pools": [{"pool": "10.0.0.10-10.0.0.20",
                                        "option-data": [opt("domain-name", "pool"),
                                                        opt("ntp-servers", "10.0.0.4")]}],
                             "reservations": [{"hw-address": "01:02:03:04:05:06",
                                               "option-data": [opt("domain-name", "host")]}]})]}],
}


def test_option_precedence_reservation_pool_subnet_network_global():
    config = cfg(PRECEDENCE)
    s = config.subnets[0]
    pool, host = s.pools[0], s.reservations[0]
    data = lambda opts, code: opts[code][0]
    assert data(config.options_for(s, pool, host), 15) == b"host"
    assert data(config.options_for(s, pool), 15) == b"pool"
    assert data(config.options_for(s), 15) == b"subnet"
    full = config.options_for(s, pool, host)
    assert data(full, 42) == bytes([10, 0, 0, 4])            # pool beats global
    assert data(full, 7) == bytes([10, 0, 0, 3])             # subnet beats global
    assert data(full, 2) == (2).to_bytes(4, "big")           # shared network beats global
    assert data(full, 40) == b"global"
    # each level is kept separately
    assert s.options[15].data == b"subnet" and s.network_options[15].data == b"network"
    assert config.global_options[15].data == b"global" and host.options[15].data == b"host"
    assert config.options_for(1) == config.options_for(s)


def test_always_send_and_never_send_are_sticky():
    config = cfg({"option-data": [opt("domain-name", "g", **{"always-send": True}),
                                  opt("log-servers", "10.0.0.1"),
                                  opt("ntp-servers", "10.0.0.2")],
                  "subnet4": [subnet(**{"option-data": [
                      opt("domain-name", "s", **{"always-send": False}),
                      opt("log-servers", **{"never-send": True}),
                      opt("ntp-servers", "10.0.0.3", **{"always-send": True,
                                                        "never-send": True})]})]})
    s = config.subnets[0]
    opts = config.options_for(s)
    assert opts[15] == (b"s", True)         # value from the subnet, always-send from global
    assert 7 not in opts                    # never-send without data hides the global value
    assert 42 not in opts                   # never-send wins over always-send
    assert s.options[7] == C.LevelOption(None, False, True)


def test_merge_options_directly():
    lo = C.LevelOption
    merged = C.merge_options({1: lo(b"a")}, None, {1: lo(b"b", True), 2: lo(b"c")})
    assert merged == {1: (b"a", True), 2: (b"c", False)}


def test_option_by_code_only_and_hex():
    config = cfg({"option-data": [{"code": 6, "data": "192.0.2.1"},
                                  {"code": 200, "data": "0a:0b:0c"},
                                  {"code": 201, "data": "'text'", "csv-format": False},
                                  {"name": "log-servers", "code": 7, "space": "dhcp4",
                                   "csv-format": False, "data": "C0 00 02 02"}]})
    g = config.global_options
    assert g[6].data == bytes([192, 0, 2, 1])
    assert g[7].data == bytes([192, 0, 2, 2])
    assert g[200].data == b"\x0a\x0b\x0c"                  # no definition: hex
    assert g[201].data == b"text"


def test_comma_escape_in_csv_data():
    config = cfg({"option-data": [opt("boot-file-name", "foo\\,bar")]})
    assert config.global_options[67].data == b"foo,bar"


def test_bad_option_data_reports_the_entry_path_and_the_codec_reason():
    p = one_problem({"subnet4": [subnet(**{"option-data": [
        opt("routers", "192.0.2.1"), opt("domain-name-servers", "192.0.2.300")]})]})
    with pytest.raises(OptionValueError) as codec:
        encode_value(by_name("domain-name-servers"), "192.0.2.300")
    assert p == Problem("Dhcp4.subnet4[0].option-data[1]", str(codec.value))


def test_unknown_option_name_with_suggestion():
    p = one_problem({"option-data": [opt("domain-nme-servers", "192.0.2.1")]})
    assert p == Problem("Dhcp4.option-data[0].name",
                        "unknown option name 'domain-nme-servers' in space 'dhcp4' (did you "
                        "mean 'domain-name-servers'?)")


@pytest.mark.parametrize("entry, path, reason", [
    ({"data": "1"}, "Dhcp4.option-data[0]", "an option-data entry needs a 'name' or a 'code'"),
    ({"name": "routers", "code": 6, "data": "192.0.2.1"}, "Dhcp4.option-data[0].name",
     "option name 'routers' does not match code 6 ('domain-name-servers')"),
    ({"code": 0, "data": "1"}, "Dhcp4.option-data[0].code", "option code 0 is outside 1..254"),
    ({"code": 255, "data": "1"}, "Dhcp4.option-data[0].code",
     "option code 255 is outside 1..254"),
    ({"code": 200, "data": "1", "csv-format": True}, "Dhcp4.option-data[0]",
     ("option code 200 in space 'dhcp4' has no definition, so its data cannot be csv: give hex "
     "with \"csv-format\": false, or define the option with option-def")),
    ({"name": "bad name", "data": "x"}, "Dhcp4.option-data[0].name",
     "invalid option name 'bad name'"),
    ({"name": "routers", "space": "dhcp6", "data": "x"}, "Dhcp4.option-data[0].space",
     "invalid option space 'dhcp6'"),
])
def test_option_data_entry_errors(entry, path, reason):
    assert one_problem({"option-data": [entry]}) == Problem(path, reason)


def test_duplicate_option_in_one_scope_is_an_error():
    p = one_problem({"option-data": [opt("routers", "192.0.2.1"), {"code": 3, "data": "1.2.3.4"}]})
    assert p == Problem("Dhcp4.option-data[1]", "option routers (code 3) is already set at this "
                                                "level by Dhcp4.option-data[0]")


def test_an_option_may_be_set_again_at_another_level():
    config = cfg({"option-data": [opt("routers", "192.0.2.1")],
                  "subnet4": [subnet(**{"option-data": [opt("routers", "192.0.2.2")]})]})
    assert config.options_for(config.subnets[0])[3][0] == bytes([192, 0, 2, 2])


# --- option definitions ---------------------------------------------------------------------------

DEFS = [
    {"name": "foo", "code": 222, "type": "uint32"},
    {"name": "bar", "code": 223, "type": "record",
     "record-types": "ipv4-address, uint16, boolean, string"},
    {"name": "baz", "code": 224, "type": "uint16", "array": True},
    {"name": "box", "code": 225, "type": "empty", "encapsulate": "isc"},
    {"name": "sub1", "code": 1, "space": "isc", "type": "ipv4-address"},
    {"name": "sub2", "code": 2, "space": "isc", "type": "string"},
    {"name": "pxe-control", "code": 6, "space": "vendor-encapsulated-options-space",
     "type": "uint8"},
    {"name": "wpad", "code": 252, "type": "string"},       # not a Kea standard option
]


def test_option_def_custom_options_encode_by_name():
    config = cfg({"option-def": DEFS, "option-data": [
        opt("foo", "12345"),
        opt("bar", "192.0.2.100, 123, true, Hello World"),
        opt("baz", "1, 2, 3"),
        opt("sub1", "192.0.2.3", space="isc"), opt("sub2", "Hi", space="isc"),
        opt("box"),
        opt("pxe-control", "8", space="vendor-encapsulated-options-space"),
        opt("vendor-encapsulated-options"),
        opt("wpad", "http://wpad/wpad.dat"),
    ]})
    g = config.global_options
    assert g[222].data == (12345).to_bytes(4, "big")
    assert g[223].data == bytes([192, 0, 2, 100, 0, 123, 1]) + b"Hello World"
    assert g[224].data == bytes([0, 1, 0, 2, 0, 3])
    assert g[225].data == bytes([1, 4, 192, 0, 2, 3, 2, 2]) + b"Hi"
    assert g[43].data == bytes([6, 1, 8])
    assert g[252].data == b"http://wpad/wpad.dat"
    table = config.option_table
    assert table.find("dhcp4", name="foo").code == 222
    assert table.by_code(223).fields == ("ipv4-address", "uint16", "boolean", "string")
    assert table.decode_value(222, (7).to_bytes(4, "big")) == 7
    assert config.warnings == []


def test_suboptions_without_a_container_at_their_level_warn():
    config = cfg({"option-def": DEFS, "option-data": [opt("box")],
                  "subnet4": [subnet(**{"option-data": [opt("sub1", "192.0.2.3", space="isc")]})]})
    assert config.global_options[225].data == b""
    assert warnings_of(config) == {
        "Dhcp4.subnet4[0].option-data[0]":
            "options in space 'isc' are never sent: no option at this level encapsulates 'isc' "
            "(Kea packs sub-options into a container set at the same level)"}


def test_vivso_is_its_enterprise_and_the_vendor_space_is_kept_apart():
    # Kea's OptionVendor of the enterprise alone (an empty block); the vendor-4491 options are
    # the reply builder's to add, from any level (tests/test_vendor_options.py)
    config = cfg({"subnet4": [subnet(**{"option-data": [
        opt("vivso-suboptions", "4491"),
        opt("tftp-servers", "10.0.0.1, 10.0.0.2", space="vendor-4491")]})]})
    s = config.subnets[0]
    assert s.options[125].data == (4491).to_bytes(4, "big") + b"\0"
    assert s.vendor_options[4491][2].data == bytes([10, 0, 0, 1, 10, 0, 0, 2])


def test_vivso_for_two_vendors_and_a_repeated_vendor():
    config = cfg({"option-def": [{"name": "tag", "code": 22, "space": "vendor-2234",
                                  "type": "string"}],
                  "option-data": [opt("vivso-suboptions", "2234"), opt("vivso-suboptions", "3561"),
                                  opt("tag", "x", space="vendor-2234")]})
    assert config.global_options[125].data == (
        (2234).to_bytes(4, "big") + b"\0" + (3561).to_bytes(4, "big") + b"\0")
    assert config.global_vendor_options[2234][22].data == b"x"
    p = one_problem({"option-data": [opt("vivso-suboptions", "9"), opt("vivso-suboptions", "9")]})
    assert p == Problem("Dhcp4.option-data[1]", "option 125 for enterprise 9 is already set at "
                                                "this level by Dhcp4.option-data[0]")


@pytest.mark.parametrize("definition, path, reason", [
    ({"name": "x", "code": 6, "type": "string"}, "Dhcp4.option-def[0].code",
     ("option code 6 is the standard option 'domain-name-servers'; standard options cannot be "
     "redefined")),
    ({"name": "routers", "code": 230, "type": "string"}, "Dhcp4.option-def[0].name",
     "'routers' is the name of standard option 3"),
    ({"name": "x", "code": 230, "type": "ipv6-prefix"}, "Dhcp4.option-def[0].type",
     "the ipv6-prefix type is not supported by fastdhcp's option codec"),
    ({"name": "x", "code": 230, "type": "float"}, "Dhcp4.option-def[0].type",
     "unknown option type 'float'"),
    ({"name": "x", "code": 230, "type": "record"}, "Dhcp4.option-def[0].record-types",
     "a record needs record-types (a comma-separated list of field types)"),
    ({"name": "x", "code": 230, "type": "record", "record-types": "string, uint8"},
     "Dhcp4.option-def[0].record-types",
     "a string field has no length: it can only be the last field of a non-array record"),
    ({"name": "x", "code": 230, "type": "uint8", "record-types": "uint8"},
     "Dhcp4.option-def[0].record-types", "record-types is only for type 'record'"),
    ({"name": "x", "code": 230, "type": "string", "array": True}, "Dhcp4.option-def[0].array",
     "an array of string is not a valid option definition (the items' lengths are unknown)"),
    ({"name": "x", "code": 255, "type": "uint8"}, "Dhcp4.option-def[0].code",
     "option code 255 is outside 1..254"),
    ({"name": "x y", "code": 230, "type": "uint8"}, "Dhcp4.option-def[0].name",
     "invalid option name 'x y' (letters, digits, '-' and '_')"),
    ({"code": 230, "type": "uint8"}, "Dhcp4.option-def[0]", "missing required key 'name'"),
])
def test_option_def_errors(definition, path, reason):
    assert one_problem({"option-def": [definition]}) == Problem(path, reason)


def test_option_43_may_be_redefined_and_duplicates_are_rejected():
    config = cfg({"option-def": [{"name": "vendor-encapsulated-options", "code": 43,
                                  "type": "string"}],
                  "option-data": [opt("vendor-encapsulated-options", "raw vendor text")]})
    assert config.global_options[43].data == b"raw vendor text"
    found = problems({"option-def": [{"name": "a", "code": 230, "type": "uint8"},
                                     {"name": "b", "code": 230, "type": "uint8"},
                                     {"name": "a", "code": 231, "type": "uint8"}]})
    assert found == [
        Problem("Dhcp4.option-def[1]", "option code 230 in space 'dhcp4' is already defined at "
                                       "Dhcp4.option-def[0]"),
        Problem("Dhcp4.option-def[2]", "option name 'a' in space 'dhcp4' is already defined at "
                                       "Dhcp4.option-def[0]")]


# --- semantic checks: one error, its path and its reason ------------------------------------------

@pytest.mark.parametrize("dhcp4, path, reason", [
    ({"subnet4": [subnet(prefix="10.0.0.0/24", pools=[{"pool": "10.0.0.10-10.0.0.20"},
                                                      {"pool": "10.0.1.0 - 10.0.1.255"}])]},
     "Dhcp4.subnet4[0].pools[1]", "pool 10.0.1.0 - 10.0.1.255 is outside subnet 10.0.0.0/24"),
    ({"subnet4": [subnet(prefix="10.0.0.0/24", pools=[{"pool": "10.0.0.250 - 10.0.1.5"}])]},
     "Dhcp4.subnet4[0].pools[0]", ("pool 10.0.0.250 - 10.0.1.5 extends outside subnet "
                                  "10.0.0.0/24")),
    ({"subnet4": [subnet(prefix="10.0.0.0/24", pools=[{"pool": "10.0.0.10-10.0.0.100"},
                                                      {"pool": "10.0.0.64/26"}])]},
     "Dhcp4.subnet4[0].pools[1]",
     ("pool 10.0.0.64 - 10.0.0.127 overlaps pool 10.0.0.10 - 10.0.0.100 "
     "(Dhcp4.subnet4[0].pools[0])")),
    ({"subnet4": [subnet(1, "10.0.0.0/16", pools=[{"pool": "10.0.1.0/24"}]),
                  subnet(2, "10.0.1.0/24")]},
     "Dhcp4.subnet4[1].subnet",
     "subnet 10.0.1.0/24 overlaps subnet 10.0.0.0/16 (Dhcp4.subnet4[0])"),
    ({"subnet4": [subnet(1, "10.0.0.0/24"), subnet(2, "10.0.0.0/24")]},
     "Dhcp4.subnet4[1].subnet", "subnet 10.0.0.0/24 is already defined at Dhcp4.subnet4[0]"),
    ({"subnet4": [subnet(5, "10.0.0.0/24"), subnet(5, "10.0.1.0/24")]},
     "Dhcp4.subnet4[1].id", "subnet id 5 is already used by Dhcp4.subnet4[0]"),
    ({"subnet4": [subnet(4294967295, "10.0.0.0/24")]},
     "Dhcp4.subnet4[0].id", "subnet id 4294967295 is outside 1..4294967294"),
    ({"host-reservation-identifiers": [], "subnet4": [subnet(1, "10.0.0.0/24")]},
     "Dhcp4.host-reservation-identifiers", "the list must not be empty"),
    ({"subnet4": [subnet(1, "10.0.0.0/24", **{"offer-lifetime": 10})]},
     "Dhcp4.subnet4[0].offer-lifetime",
     "offer-lifetime is a global parameter in fastdhcp (Kea 2.2 has none)"),
    ({"subnet4": [subnet(prefix="10.0.0.0/24", reservations=[
        {"hw-address": "01:02:03:04:05:06", "ip-address": "10.0.1.5"}])]},
     "Dhcp4.subnet4[0].reservations[0].ip-address",
     "reserved address 10.0.1.5 is outside subnet 10.0.0.0/24"),
    ({"subnet4": [subnet(prefix="10.0.0.0/24", reservations=[
        {"hw-address": "01:02:03:04:05:06", "ip-address": "10.0.0.5"},
        {"hw-address": "01 02 03 04 05 06", "ip-address": "10.0.0.6"}])]},
     "Dhcp4.subnet4[0].reservations[1].hw-address",
     "hw-address 01 02 03 04 05 06 is already reserved by Dhcp4.subnet4[0].reservations[0]"),
    ({"subnet4": [subnet(prefix="10.0.0.0/24", reservations=[
        {"hw-address": "01:02:03:04:05:06", "ip-address": "10.0.0.5"},
        {"client-id": "01:02:03:04:05:06:07", "ip-address": "10.0.0.5"}])]},
     "Dhcp4.subnet4[0].reservations[1].ip-address",
     ("address 10.0.0.5 is already reserved by Dhcp4.subnet4[0].reservations[0] "
     "(ip-reservations-unique is true)")),
    ({"subnet4": [subnet(prefix="10.0.0.0/24", reservations=[{"ip-address": "10.0.0.5"}])]},
     "Dhcp4.subnet4[0].reservations[0]",
     ("a reservation needs exactly one identifier (hw-address, client-id, duid, circuit-id or "
     "flex-id)")),
    ({"subnet4": [subnet(prefix="10.0.0.0/24", reservations=[
        {"hw-address": "01:02:03:04:05:06", "client-id": "01:02"}])]},
     "Dhcp4.subnet4[0].reservations[0]",
     ("a reservation needs exactly one identifier (hw-address, client-id, duid, circuit-id or "
     "flex-id); got hw-address, client-id")),
    ({"subnet4": [subnet(prefix="10.0.0.0/24", reservations=[{"hw-address": "01:02:zz"}])]},
     "Dhcp4.subnet4[0].reservations[0].hw-address",
     "'01:02:zz' is not hex octets separated by ':' or ' '"),
    ({"subnet4": [subnet(prefix="10.0.0.0/24", reservations=[{"hw-address": "01-02-03-04-05-06",
                                                              "hostname": "h"}])]},
     "Dhcp4.subnet4[0].reservations[0].hw-address",
     ("'01-02-03-04-05-06' is not an identifier (hex octets separated by ':' or ' ', a run of hex "
     "digits, or a 'quoted string')")),
    ({"subnet4": [subnet(prefix="10.0.0.0/24", reservations=[{"hw-address": "01:02:03:04:05:06"}])]},
     "Dhcp4.subnet4[0].reservations[0]",
     ("a reservation must reserve something: ip-address, hostname, option-data, next-server, "
     "server-hostname, boot-file-name or client-classes")),
    ({"subnet4": [subnet(prefix="10.0.0.0")]}, "Dhcp4.subnet4[0].subnet",
     "'10.0.0.0' is not a prefix (write address/length, e.g. 192.0.2.0/24)"),
    ({"subnet4": [subnet(prefix="10.0.0.300/24")]}, "Dhcp4.subnet4[0].subnet",
     "'10.0.0.300/24' is not an IPv4 prefix: Octet 300 (> 255) not permitted in '10.0.0.300'"),
    ({"subnet4": [subnet(prefix="10.0.0.0/24", pools=[{"pool": "10.0.0.5 - 10.0.0.x"}])]},
     "Dhcp4.subnet4[0].pools[0].pool",
     "'10.0.0.5 - 10.0.0.x' is not a pool (write 'first - last' or 'prefix/length')"),
    ({"subnet4": [subnet(prefix="10.0.0.0/24", pools=[{"pool": "10.0.0.50 - 10.0.0.10"}])]},
     "Dhcp4.subnet4[0].pools[0].pool", ("pool 10.0.0.50 - 10.0.0.10: the first address is after "
                                       "the last")),
    ({"subnet4": [subnet(relay={"ip-addresses": ["10.0.0.1", "nope"]})]},
     "Dhcp4.subnet4[0].relay.ip-addresses[1]", "'nope' is not an IPv4 address"),
    ({"next-server": "192.0.2.256"}, "Dhcp4.next-server", "'192.0.2.256' is not an IPv4 address"),
    ({"renew-timer": 2000, "rebind-timer": 1000}, "Dhcp4.rebind-timer",
     "rebind-timer 1000 is less than renew-timer 2000 (T2 must not come before T1)"),
    ({"subnet4": [subnet(**{"rebind-timer": 100})], "renew-timer": 200},
     "Dhcp4.subnet4[0].rebind-timer",
     "rebind-timer 100 is less than renew-timer 200 (T2 must not come before T1)"),
    ({"valid-lifetime": 100, "min-valid-lifetime": 200, "max-valid-lifetime": 300},
     "Dhcp4.valid-lifetime",
     "valid-lifetime 100 is outside [min-valid-lifetime 200, max-valid-lifetime 300]"),
    ({"min-valid-lifetime": 400, "max-valid-lifetime": 300, "valid-lifetime": 350},
     "Dhcp4.min-valid-lifetime", "min-valid-lifetime 400 is greater than max-valid-lifetime 300"),
    ({"calculate-tee-times": True, "t1-percent": 0.9, "t2-percent": 0.8},
     "Dhcp4.t1-percent", "t1-percent 0.9 must be less than t2-percent 0.8"),
    ({"calculate-tee-times": True, "t2-percent": 1.5},
     "Dhcp4.t2-percent", "t2-percent 1.5 must be greater than 0 and less than 1"),
    ({"valid-lifetime": "7200"}, "Dhcp4.valid-lifetime", "expected int, got str"),
    ({"valid-lifetime": 4294967296}, "Dhcp4.valid-lifetime",
     "expected int <= 4294967295, got 4294967296"),
    ({"authoritative": "yes"}, "Dhcp4.authoritative", "expected bool, got str"),
    ({"interfaces-config": {"interfaces": ["eth0", 7]}}, "Dhcp4.interfaces-config.interfaces[1]",
     "expected str, got int"),
    ({"subnet4": [{"id": 1}]}, "Dhcp4.subnet4[0]", "missing required key 'subnet'"),
    ({"subnet4": {"id": 1}}, "Dhcp4.subnet4", "expected a list, got an object"),
    ({"server-hostname": "x" * 65}, "Dhcp4.server-hostname",
     "is 65 bytes; the sname field holds at most 64"),
    ({"boot-file-name": "x" * 129}, "Dhcp4.boot-file-name",
     "is 129 bytes; the file field holds at most 128"),
    ({"shared-networks": [{"name": "a", "subnet4": []}, {"name": "a", "subnet4": []}]},
     "Dhcp4.shared-networks[1].name",
     "shared network name 'a' is already used by Dhcp4.shared-networks[0]"),
    ({"shared-networks": [{"name": "a", "interface": "eth0", "subnet4": [
        subnet(1, "10.0.0.0/24", interface="eth1")]}]},
     "Dhcp4.shared-networks[0].subnet4[0].interface",
     ("interface 'eth1' differs from 'eth0' set by Dhcp4.shared-networks[0]: the subnets of a "
     "shared network share one link")),
    ({"interfaces-config": {"interfaces": ["eth0/10.0.0.300"]}},
     "Dhcp4.interfaces-config.interfaces[0]",
     "'10.0.0.300' is not an IPv4 address (write name/address, e.g. eth0/192.0.2.1)"),
    ({"interfaces-config": {"dhcp-socket-type": "tcp"}},
     "Dhcp4.interfaces-config.dhcp-socket-type", "must be 'raw' or 'udp', not 'tcp'"),
    ({"host-reservation-identifiers": ["hw-address", "mac"]},
     "Dhcp4.host-reservation-identifiers[1]",
     "unknown identifier type 'mac' (one of hw-address, duid, circuit-id, client-id, flex-id)"),
    ({"loggers": [{"name": "kea-dhcp4", "severity": "LOUD"}]}, "Dhcp4.loggers[0].severity",
     "unknown severity 'LOUD' (one of FATAL, ERROR, WARN, WARNING, INFO, DEBUG, NONE)"),
    ({"sanity-checks": {"lease-checks": "maybe"}}, "Dhcp4.sanity-checks.lease-checks",
     "unknown value 'maybe' (none, warn, fix, fix-del or del)"),
    ({"allocator": "flq"}, "Dhcp4.allocator", "unknown allocator 'flq' (iterative or random)"),
])
def test_semantic_error_path_and_reason(dhcp4, path, reason):
    assert one_problem(dhcp4) == Problem(path, reason)


def test_prefix_pools_may_fill_their_subnet_and_adjacent_subnets_are_fine():
    config = cfg({"subnet4": [subnet(1, "10.0.0.0/25", pools=[{"pool": "10.0.0.0/25"}]),
                              subnet(2, "10.0.0.128/25", pools=[{"pool": "10.0.0.128/25"}])]})
    assert [s.pool_ranges for s in config.subnets] == [((ip("10.0.0.0"), ip("10.0.0.127")),),
                                                      ((ip("10.0.0.128"), ip("10.0.0.255")),)]


def test_pools_overlapping_across_subnets_are_an_error():
    # Kea allows this (a "global pool"); fastdhcp's allocator owns each address in one pool.
    found = problems({"subnet4": [subnet(1, "10.0.0.0/16", pools=[{"pool": "10.0.1.0/24"}]),
                                  subnet(2, "10.0.1.0/24", pools=[{"pool": "10.0.1.0/25"}])]})
    assert found == [
        Problem("Dhcp4.subnet4[1].subnet",
                "subnet 10.0.1.0/24 overlaps subnet 10.0.0.0/16 (Dhcp4.subnet4[0])"),
        Problem("Dhcp4.subnet4[1].pools[0]",
                "pool 10.0.1.0 - 10.0.1.127 overlaps pool 10.0.1.0 - 10.0.1.255 "
                "(Dhcp4.subnet4[0].pools[0])")]


def test_many_errors_are_all_reported_at_once():
    with pytest.raises(ConfigError) as info:
        parse_config(json.dumps({"Dhcp4": {
            "valid-lifetme": 10,
            "option-data": [opt("routers", "1.2.3")],
            "subnet4": [
                subnet(1, "10.0.0.0/24", pools=[{"pool": "10.0.1.0 - 10.0.1.255"}],
                       reservations=[{"hw-address": "01:02:03:04:05:06",
                                      "ip-address": "10.0.5.1"}]),
                subnet(1, "10.0.0.128/25"),
                subnet(2, "10.2.0.0/24", **{"renew-timer": 20, "rebind-timer": 10}),
            ]}}))
    err = info.value
    assert [p.path for p in err.problems] == [
        "Dhcp4.valid-lifetme",
        "Dhcp4.option-data[0]",
        "Dhcp4.subnet4[2].rebind-timer",
        "Dhcp4.subnet4[1].id",
        "Dhcp4.subnet4[1].subnet",
        "Dhcp4.subnet4[0].pools[0]",
        "Dhcp4.subnet4[0].reservations[0].ip-address",
    ]
    lines = str(err).splitlines()
    assert len(lines) == 7
    assert lines[5] == ("Dhcp4.subnet4[0].pools[0]: pool 10.0.1.0 - 10.0.1.255 is outside "
                        "subnet 10.0.0.0/24")
    assert lines[0].startswith("Dhcp4.valid-lifetme: unknown Dhcp4 key 'valid-lifetme' (did you "
                               "mean 'valid-lifetime'?)")


def test_missing_ids_are_numbered_as_kea_numbers_them():
    # Kea 2.2: a counter from 1 for subnets without an id, shared networks parsed first.
    config = cfg({"subnet4": [subnet(None, "10.0.0.0/24"), subnet(7, "10.0.1.0/24"),
                              subnet(None, "10.0.2.0/24")],
                  "shared-networks": [{"name": "n", "subnet4": [subnet(None, "10.0.3.0/24")]}]})
    assert [(s.prefix, s.id, s.id_auto) for s in config.subnets] == [
        ("10.0.3.0/24", 1, True), ("10.0.0.0/24", 2, True), ("10.0.1.0/24", 7, False),
        ("10.0.2.0/24", 3, True)]
    w = warnings_of(config)
    assert w["Dhcp4.subnet4[0]"].startswith("no subnet id: assigned id 2, as Kea numbers subnets "
                                            "without an id")
    assert "Dhcp4.shared-networks[0].subnet4[0]" in w


def test_a_missing_id_that_kea_would_number_like_an_explicit_one_is_an_error():
    p = one_problem({"subnet4": [subnet(None, "10.0.0.0/24"), subnet(1, "10.0.1.0/24")]})
    assert p.path == "Dhcp4.subnet4[0]"
    assert p.reason.endswith("which makes this one 1, already used by Dhcp4.subnet4[1]; give it "
                             "an explicit id")


def test_duplicate_addresses_allowed_when_ip_reservations_are_not_unique():
    config = cfg({"ip-reservations-unique": False, "subnet4": [subnet(reservations=[
        {"hw-address": "01:02:03:04:05:06", "ip-address": "192.0.2.5"},
        {"hw-address": "01:02:03:04:05:07", "ip-address": "192.0.2.5"}])]})
    assert len(config.subnets[0].reservations) == 2


def test_same_identifier_in_two_subnets_is_fine():
    config = cfg({"subnet4": [
        subnet(1, "10.0.0.0/24", reservations=[{"hw-address": "01:02:03:04:05:06",
                                                "hostname": "a"}]),
        subnet(2, "10.0.1.0/24", reservations=[{"hw-address": "01:02:03:04:05:06",
                                                "hostname": "a"}])]})
    assert [len(s.reservations) for s in config.subnets] == [1, 1]


def test_reservation_warnings():
    config = cfg({"reservations": [{"hw-address": "01:02:03:04:05:06",
                                    "ip-address": "203.0.113.9"}],
                  "subnet4": [subnet(**{
                      "reservations-out-of-pool": True,
                      "pools": [{"pool": "192.0.2.10 - 192.0.2.20"}],
                      "reservations": [
                          {"hw-address": "01:02:03:04:05:07", "ip-address": "192.0.2.15"},
                          {"hw-address": "01:02:03:04:05:08", "ip-address": "192.0.2.255"},
                          {"duid": "00:01", "ip-address": "192.0.2.30"}]}),
                      subnet(2, "10.0.0.0/24", **{"reservations-in-subnet": False,
                                                  "reservations": [{"hw-address": "0a:0b",
                                                                    "hostname": "h"}]})]})
    w = warnings_of(config)
    assert "reservations-out-of-pool is true" in w["Dhcp4.subnet4[0].reservations[0].ip-address"]
    assert "broadcast address" in w["Dhcp4.subnet4[0].reservations[1].ip-address"]
    assert "never used" in w["Dhcp4.subnet4[1].reservations"]
    assert "reservations-global is false everywhere" in w["Dhcp4.reservations"]
    assert "is in no subnet" in w["Dhcp4.reservations[0].ip-address"]
    assert "duid" not in " ".join(w)              # duid is a default identifier type


def test_identifier_forms():
    f = values._identifier_bytes
    assert f("hw-address", "AA:bb:0c:0d:0e:0f") == bytes.fromhex("aabb0c0d0e0f")
    assert f("hw-address", "aa bb 0c 0d 0e 0f") == bytes.fromhex("aabb0c0d0e0f")
    assert f("hw-address", "aabb0c0d0e0f") == bytes.fromhex("aabb0c0d0e0f")
    assert f("hw-address", "0xaabb0c0d0e0f") == bytes.fromhex("aabb0c0d0e0f")
    assert f("hw-address", "a:b:c") == bytes([10, 11, 12])
    assert f("hw-address", "'x'") == b"x"                   # Kea accepts text for every kind
    assert f("client-id", "1aa") == bytes.fromhex("01aa")   # an odd run gets a leading 0
    assert f("circuit-id", "'charter950'") == b"charter950"
    for rejected_by_kea in ("aa-bb-0c-0d-0e-0f", "aabb.0c0d.0e0f", "", "''", "0x"):
        assert isinstance(f("hw-address", rejected_by_kea), str), rejected_by_kea
    assert isinstance(f("hw-address", ":".join(["aa"] * 21)), str)


# --- unknown and unsupported keys -----------------------------------------------------------------

def test_unknown_key_where_it_matters_is_an_error_with_a_suggestion():
    p = one_problem({"subnet4": [subnet(**{"valid-lifetim": 5})]})
    assert p == Problem("Dhcp4.subnet4[0].valid-lifetim",
                        "unknown subnet key 'valid-lifetim' (did you mean 'valid-lifetime'?): "
                        "fastdhcp cannot tell how it would change what clients get (Kea rejects "
                        "it too)")
    p = one_problem({"subnet4": [subnet(pools=[{"pool": "192.0.2.1-192.0.2.9", "colour": 1}])]})
    assert p.path == "Dhcp4.subnet4[0].pools[0].colour" and p.reason.startswith(
        "unknown pool key 'colour'")


def test_unknown_key_where_it_is_harmless_is_a_warning():
    config = cfg({"loggers": [{"name": "kea-dhcp4", "colour": "red",
                               "output_options": [{"output": "stdout", "wrap": 1}]}],
                  "control-socket": {"socket-type": "unix", "socket-name": "/tmp/s",
                                     "mode": "0600"},
                  "expired-leases-processing": {"speed": 1}})
    assert set(warnings_of(config)) == {
        "Dhcp4.loggers[0].colour", "Dhcp4.loggers[0].output_options[0].wrap",
        "Dhcp4.control-socket.mode", "Dhcp4.expired-leases-processing.speed"}
    assert warnings_of(config)["Dhcp4.loggers[0].colour"] == (
        "unknown logger key 'colour': ignored (it does not change what clients get)")


@pytest.mark.parametrize("dhcp4, path, fragment", [
    ({"client-classes": [{"name": "pxe", "test": "option[93].hex == 0x0007",
                          "option-def": [{"name": "x", "code": 1, "type": "uint8",
                                          "space": "vendor-encapsulated-options-space"}]}]},
     "Dhcp4.client-classes[0].option-def[0]", "Not allowed option definition for code '1'"),
    ({"subnet4": [subnet(**{"client-classes": ["pxe"], "client-class": "pxe"})]},
     "Dhcp4.subnet4[0].client-classes", "mutually exclusive"),
    ({"subnet4": [subnet(pools=[{"pool": "192.0.2.1-192.0.2.9", "client-class": "a",
                                 "client-classes": ["a"]}])]},
     "Dhcp4.subnet4[0].pools[0].client-classes", "mutually exclusive"),
    ({"option-data": [{"name": "routers", "data": "192.0.2.1", "client-classes": ["a"]}]},
     "Dhcp4.option-data[0].client-classes", "option class-tagging"),
    ({"hosts-database": {"type": "mysql"}}, "Dhcp4.hosts-database", ("host reservations in a "
                                                                    "database")),
    ({"hosts-databases": [{"type": "postgresql"}]}, "Dhcp4.hosts-databases", "in a database"),
    ({"config-control": {"config-databases": [{"type": "mysql"}]}}, "Dhcp4.config-control",
     "the configuration backend is not supported"),
    ({"lease-database": {"type": "mysql", "name": "kea"}}, "Dhcp4.lease-database.type",
     "lease-database type 'mysql' is not supported"),
    ({"dhcp-ddns": {"enable-updates": True, "ncr-protocol": "TCP"}}, "Dhcp4.dhcp-ddns.ncr-protocol",
     "only UDP carries NameChangeRequests"),
    ({"ddns-replace-client-name": "sometimes"}, "Dhcp4.ddns-replace-client-name",
     "invalid ReplaceClientName mode"),
    ({"hostname-char-set": "[a-"}, "Dhcp4.hostname-char-set",
     "not a valid POSIX extended regular expression"),
    ({"hooks-libraries": [{"library": "/usr/lib/kea/hooks/libdhcp_ha.so",
                           "parameters": {"high-availability": []}}]},
     "Dhcp4.hooks-libraries[0]", "hook library libdhcp_ha.so cannot be loaded by fastdhcp"),
    ({"hooks-libraries": [{"library": "/opt/site/libmy_hook.so"}]},
     "Dhcp4.hooks-libraries[0]", "hook library libmy_hook.so cannot be loaded"),
    ({"reservations": [{"hw-address": "01:02", "hostname": "h",
                        "ip-addresses": ["2001:db8::1"]}]},
     "Dhcp4.reservations[0].ip-addresses", "a DHCPv6 reservation key"),
])
def test_unsupported_features_are_errors(dhcp4, path, fragment):
    found = problems(dhcp4)
    assert [p.path for p in found] == [path], found
    assert fragment in found[0].reason


def test_unsupported_features_when_empty_or_off_are_fine():
    config = cfg({"client-classes": [], "hooks-libraries": [], "hosts-databases": [],
                  "dhcp-ddns": {"enable-updates": False, "server-ip": "127.0.0.1"},
                  "config-control": {"config-fetch-wait-time": 20},
                  "subnet4": [subnet(**{"client-class": "", "require-client-classes": []})]})
    assert config.warnings == []


@pytest.mark.parametrize("dhcp4, path, fragment", [
    ({"subnet4": [subnet(**{"4o6-interface": "eth9"})]}, "Dhcp4.subnet4[0].4o6-interface",
     "DHCPv4-over-DHCPv6"),
    ({"dhcp4o6-port": 6767}, "Dhcp4.dhcp4o6-port", "DHCPv4-over-DHCPv6"),
    ({"hooks-libraries": [{"library": "libdhcp_subnet_cmds.so"}]}, "Dhcp4.hooks-libraries[0]",
     "subnet commands are unavailable"),
    ({"hooks-libraries": [{"library": "/x/libdhcp_legal_log.so"}]}, "Dhcp4.hooks-libraries[0]",
     "forensic lease logging is NOT written"),
    ({"lease-database": {"type": "memfile", "host": "db1"}}, "Dhcp4.lease-database.host",
     "ignored by the memfile backend"),
    ({"lease-database": {"type": "memfile", "persist": False}}, "Dhcp4.lease-database.persist",
     "forgets every lease"),
    ({"reservations": [{"flex-id": "'abc'", "hostname": "h"}], "reservations-global": True},
     "Dhcp4.reservations[0].flex-id", "flex_id hook"),
    ({"host-reservation-identifiers": ["hw-address"],
      "subnet4": [subnet(reservations=[{"client-id": "01:02", "hostname": "h"}])]},
     "Dhcp4.subnet4[0].reservations[0].client-id", "not in host-reservation-identifiers"),
    ({"allocator": "random"}, "Dhcp4.allocator", "lowest free address"),
    ({"loggers": [{"name": "kea-dhcp6"}]}, "Dhcp4.loggers[0].name", "not a kea-dhcp4 logger"),
    ({"interfaces-config": {"interfaces": ["eth0"], "outbound-interface": "use-routing"}},
     "Dhcp4.interfaces-config.outbound-interface", "only applies with dhcp-socket-type udp"),
    ({"subnet4": [subnet(interface="eth7")], "interfaces-config": {"interfaces": ["eth0"]}},
     "Dhcp4.subnet4[0]", "not in interfaces-config.interfaces"),
    ({"subnet4": [subnet(prefix="192.0.2.1/24")], "interfaces-config": {"interfaces": ["*"]}},
     "Dhcp4.subnet4[0].subnet", "has host bits set; using 192.0.2.0/24"),
    ({"renew-timer": 5000, "valid-lifetime": 4000}, "Dhcp4.renew-timer",
     "option 58 is not sent"),
    ({"t1-percent": 0.9, "t2-percent": 0.5}, "Dhcp4.t1-percent",
     "no effect while calculate-tee-times is false"),
])
def test_ignored_features_are_warnings(dhcp4, path, fragment):
    config = cfg(dhcp4)
    w = warnings_of(config)
    assert path in w, config.warnings
    assert fragment in w[path]


def test_ddns_parameters_are_inherited():
    config = cfg({"ddns-send-updates": False, "ddns-qualifying-suffix": "example.org",
                  "subnet4": [subnet(**{"ddns-generated-prefix": "host"},
                                     pools=[{"pool": "192.0.2.1-192.0.2.9"}])]})
    assert config.warnings == []
    s = config.subnets[0]
    assert (s.ddns_send_updates, s.ddns_qualifying_suffix, s.ddns_generated_prefix,
            s.ddns_replace_client_name) == (False, "example.org", "host", "never")


def test_pool_ddns_parameters_are_warned_about():
    config = cfg({"subnet4": [subnet(pools=[{"pool": "192.0.2.1-192.0.2.9",
                                             "ddns-send-updates": True}])]})
    assert "pool-level DNS-update parameters" in warnings_of(config)[
        "Dhcp4.subnet4[0].pools[0].ddns-send-updates"]


@pytest.mark.parametrize("interfaces", [["eth0", "eth0"], ["eth0", "eth0/10.0.0.1"],
                                        ["eth0/10.0.0.1", "eth0"], ["eth0/10.0.0.1"] * 2])
def test_an_interface_listed_twice_is_an_error(interfaces):
    assert one_problem({"interfaces-config": {"interfaces": interfaces}}) == Problem(
        "Dhcp4.interfaces-config.interfaces[1]", "interface 'eth0' is already listed")


def test_interfaces_forms():
    config = cfg({"interfaces-config": {"interfaces": ["eth0", "eth1/10.0.0.1", "eth1/10.0.0.2",
                                                      "*"], "re-detect": False}})
    i = config.interfaces
    assert i.wildcard and not i.re_detect
    assert [str(s) for s in i.interfaces] == ["eth0", "eth1/10.0.0.1", "eth1/10.0.0.2"]
    assert i.interfaces[1].address == ip("10.0.0.1")


def test_relay_forms():
    config = cfg({"subnet4": [subnet(relay={"ip-address": "198.51.100.1"}),
                              subnet(2, "10.0.0.0/24",
                                     relay={"ip-addresses": ["10.9.0.1", "10.9.0.2", "10.9.0.1"]})]})
    assert config.subnet(1).relay_addresses == (ip("198.51.100.1"),)
    assert config.subnet(2).relay_addresses == (ip("10.9.0.1"), ip("10.9.0.2"))
    p = one_problem({"subnet4": [subnet(relay={"ip-address": "10.0.0.1",
                                               "ip-addresses": ["10.0.0.2"]})]})
    assert p == Problem("Dhcp4.subnet4[0].relay", "give either ip-address or ip-addresses, not both")
    config = cfg({"subnet4": [subnet(relay={"ip-addresses": ["10.9.0.1"]}),
                              subnet(2, "10.0.0.0/24", relay={"ip-addresses": ["10.9.0.1"]})]})
    assert "also selects subnet 192.0.2.0/24" in warnings_of(config)["Dhcp4.subnet4[1].relay"]


def test_control_socket_forms_are_kept():
    config = cfg({"control-socket": {"socket-type": "unix", "socket-name": "/run/a"},
                  "control-sockets": [{"socket-type": "http", "socket-address": "127.0.0.1",
                                       "socket-port": 8004,
                                       "authentication": {"type": "basic", "clients": []}}]})
    kinds = [(s.socket_type, s.socket_name or s.socket_address) for s in config.control_sockets]
    assert kinds == [("unix", "/run/a"), ("http", "127.0.0.1")]
    assert config.control_sockets[1].authentication["type"] == "basic"


def test_user_context_and_comment_are_accepted_everywhere():
    config = cfg({"user-context": {"a": 1}, "comment": "c",
                  "option-def": [{"name": "x", "code": 230, "type": "uint8", "comment": "c"}],
                  "option-data": [opt("routers", "192.0.2.1", comment="c",
                                      **{"user-context": {}})],
                  "interfaces-config": {"interfaces": [], "user-context": {"b": 2}},
                  "lease-database": {"type": "memfile", "comment": "c"},
                  "shared-networks": [{"name": "n", "comment": "c", "subnet4": [
                      subnet(comment="c", pools=[{"pool": "192.0.2.1-192.0.2.9", "comment": "c"}],
                             reservations=[{"hw-address": "01:02", "comment": "c",
                                            "hostname": "h", "user-context": {"owner": "x"}}],
                             relay={"ip-addresses": [], "comment": "c"})]}]})
    assert config.dhcp4.user_context == {"a": 1}
    assert config.dhcp4.shared_networks[0].subnet4[0].comment == "c"


# --- logging --------------------------------------------------------------------------------------

@pytest.fixture
def restore_logging():
    yield
    logs.reset_logging()


def test_loggers_map_onto_python_logging(tmp_path, restore_logging):
    log_file = tmp_path / "kea.log"
    leases_file = tmp_path / "leases.log"
    config = cfg({"loggers": [
        {"name": "kea-dhcp4", "severity": "WARN",
         "output_options": [{"output": str(log_file), "pattern": "%-5p [%c] %m\n"}]},
        {"name": "kea-dhcp4.leases", "severity": "DEBUG", "debuglevel": 50,
         "output-options": [{"output": str(leases_file), "pattern": "%p %m%n"}]}]})
    logs.configure_logging(config.loggers)
    root, leases = logging.getLogger("fastdhcp"), logging.getLogger("fastdhcp.leases")
    assert root.level == logging.WARNING
    assert leases.level == logging.DEBUG - 5
    root.info("not shown")
    root.warning("shown %d", 1)
    logging.getLogger("fastdhcp.alloc").error("child")
    leases.log(logging.DEBUG - 5, "trace")
    for h in root.handlers + leases.handlers:
        h.flush()
    assert log_file.read_text() == "WARN  [kea-dhcp4] shown 1\nERROR [kea-dhcp4.alloc] child\n"
    assert leases_file.read_text() == "DEBUG trace\n\n"


def test_logging_defaults_to_info_on_stdout(capsys, restore_logging):
    logs.configure_logging([])
    logging.getLogger("fastdhcp").info("hello")
    logging.getLogger("fastdhcp").debug("hidden")
    out = capsys.readouterr().out
    assert out.endswith(" INFO  [kea-dhcp4/" + out.split("[kea-dhcp4/")[1].split("]")[0]
                        + "] hello\n")
    assert "hidden" not in out


def test_reconfiguring_logging_replaces_the_earlier_setup(tmp_path, restore_logging):
    first, second = tmp_path / "first.log", tmp_path / "second.log"
    logs.configure_logging([C.LoggerConfig(name="kea-dhcp4.leases", severity="DEBUG", output_options=[
        C.OutputOptionConfig(output=str(first))])])
    logs.configure_logging([C.LoggerConfig(name="kea-dhcp4", severity="ERROR", output_options=[
        C.OutputOptionConfig(output=str(second))])])
    leases = logging.getLogger("fastdhcp.leases")
    assert leases.handlers == [] and leases.propagate and leases.level == logging.NOTSET
    leases.error("goes to the root's file")
    for h in logging.getLogger("fastdhcp").handlers:
        h.flush()
    assert first.read_text() == ""
    assert second.read_text().endswith("] goes to the root's file\n")
    logs.reset_logging()
    assert logging.getLogger("fastdhcp").handlers == []


def test_logging_levels():
    assert logs.logging_level("FATAL") == logging.CRITICAL
    assert logs.logging_level("warn") == logging.WARNING
    assert logs.logging_level("DEBUG", 0) == logging.DEBUG
    assert logs.logging_level("DEBUG", 99) == logging.DEBUG - 9
    assert logs.logging_level("NONE") > logging.CRITICAL
    assert logs.python_logger_name("*") == "fastdhcp"
    assert logs.python_logger_name("kea-dhcp4.bad-packets") == "fastdhcp.bad-packets"


# --- check-config ---------------------------------------------------------------------------------

def test_run_check_config_ok_prints_warnings_and_a_summary(tmp_path):
    out, err = io.StringIO(), io.StringIO()
    assert C.run_check_config(ROOT / "examples" / "datacenter-relay.json", out=out, err=err) == 0
    assert out.getvalue().startswith(f"{ROOT / 'examples' / 'datacenter-relay.json'}: OK: 14 "
                                     f"subnets")
    assert err.getvalue() == ""          # its hooks (lease_cmds, stat_cmds) are built in


def test_run_check_config_lists_every_problem_and_fails(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"Dhcp4": {"interfaces-config": {"interfaces": ["eth0"]},
                                         "subnet4": [
        subnet(1, "10.0.0.0/24", pools=[{"pool": "10.0.1.0 - 10.0.1.255"}]),
        subnet(1, "10.1.0.0/24")]}}))
    out, err = io.StringIO(), io.StringIO()
    assert C.run_check_config(bad, out=out, err=err) == 1
    assert out.getvalue() == ""
    assert err.getvalue().splitlines() == [
        "error: Dhcp4.subnet4[1].id: subnet id 1 is already used by Dhcp4.subnet4[0]",
        ("error: Dhcp4.subnet4[0].pools[0]: pool 10.0.1.0 - 10.0.1.255 is outside subnet "
        "10.0.0.0/24"),
        f"{bad}: 2 problems; the configuration cannot be used"]
    assert C.run_check_config(tmp_path / "missing.json", out=out, err=err) == 1


def test_check_config_result():
    result = C.check_config(ROOT / "examples" / "small-office.json")
    assert result.ok and result.problems == [] and result.config.subnets[0].id == 1


# --- scale ----------------------------------------------------------------------------------------

def test_large_generated_configuration():
    subnets = []
    for i in range(200):
        resv = [{"hw-address": f"02:00:00:00:{i:02x}:{h:02x}", "ip-address": f"10.{i}.0.{h + 10}"}
                for h in range(100)]
        subnets.append({"id": i + 1, "subnet": f"10.{i}.0.0/16",
                        "pools": [{"pool": f"10.{i}.1.0 - 10.{i}.255.254"}], "reservations": resv})
    config = parse_config(json.dumps({"Dhcp4": {"subnet4": subnets}}))
    assert sum(len(s.reservations) for s in config.subnets) == 20000
    assert config.subnet(200).reservations[99].ip_address == ip("10.199.0.109")
    # a problem deep inside the fast-decoded list is still found, with its path
    subnets[150]["reservations"][42]["ip-address"] = "10.150.0.999"
    p = one_problem(json.dumps({"Dhcp4": {"subnet4": subnets}}))
    assert p == Problem("Dhcp4.subnet4[150].reservations[42].ip-address",
                        "'10.150.0.999' is not an IPv4 address")


def test_network_and_broadcast_are_kept_out_except_in_a_31_or_32():
    # RFC 3021: a /31 has two hosts and no network or broadcast address; a /32 is one host.
    from fastdhcp.policy import compile_policy
    cfg = parse_config(json.dumps({"Dhcp4": {"subnet4": [
        {"id": 1, "subnet": "10.0.0.0/24", "pools": [{"pool": "10.0.0.0 - 10.0.0.255"}]},
        {"id": 2, "subnet": "10.0.1.0/31", "pools": [{"pool": "10.0.1.0 - 10.0.1.1"}]},
        {"id": 3, "subnet": "10.0.2.5/32", "pools": [{"pool": "10.0.2.5 - 10.0.2.5"}]}]}}))
    alloc = compile_policy(cfg, []).alloc
    assert [alloc.stats(sid)["free-addresses"] for sid in (1, 2, 3)] == [254, 2, 1]
    assert sorted(alloc.offer(2, bytes([2, 0, 0, 0, 0, n]), now=1) for n in (1, 2)) == [
        "10.0.1.0", "10.0.1.1"]
    assert alloc.offer(3, b"\x02\x00\x00\x00\x00\x03", now=1) == "10.0.2.5"


def test_what_kea_2_2_accepts_is_accepted():
    # Each checked with kea-dhcp4 2.2 -t: id 0 is "none given"; next-server "" is unset (the
    # subnet inherits the global one); sname and file may be filled to the last byte; a
    # reservation's host name is sent as written ("" is none); a pool prefix with host bits
    # starts at the address written (Kea's Pool4(prefix, len)).
    cfg = parse_config(json.dumps({"Dhcp4": {
        "next-server": "192.0.2.9", "server-hostname": "s" * 64, "boot-file-name": "f" * 128,
        "subnet4": [
            {"id": 0, "subnet": "10.0.0.0/24", "next-server": "",
             "pools": [{"pool": "10.0.0.70/26"}],
             "reservations": [
                 {"hw-address": "02:00:00:00:00:01", "ip-address": "10.0.0.5", "hostname": ""},
                 {"hw-address": "02:00:00:00:00:02", "ip-address": "10.0.0.6",
                  "hostname": "my host"}]},
            {"id": 7, "subnet": "10.0.1.0/24", "reservations": [
                {"hw-address": "02:00:00:00:00:03", "ip-address": "10.0.1.5",
                 "next-server": ""}]}]}}))
    first, second = cfg.subnets
    assert first.id == 1 and second.id == 7
    assert first.next_server == int(ipaddress.IPv4Address("192.0.2.9"))
    assert first.pool_ranges == ((int(ipaddress.IPv4Address("10.0.0.70")),
                                  int(ipaddress.IPv4Address("10.0.0.127"))),)
    assert [r.hostname for r in first.reservations] == [None, "my host"]
    assert second.reservations[0].next_server is None
    warned = {w.path for w in cfg.warnings}
    assert {"Dhcp4.subnet4[0].pools[0].pool", "Dhcp4.subnet4[0].reservations[1].hostname"} <= warned
    # and the engine takes the full-length sname and file fields
    from fastdhcp.policy import compile_policy
    compile_policy(cfg, [])


def test_a_lone_surrogate_escape_is_refused_not_a_crash():
    with pytest.raises(ConfigError, match="lone UTF-16 surrogate"):
        parse_config('{"Dhcp4": {"server-hostname": "\\ud800"}}')


def test_a_repeated_key_is_found_after_an_escaped_backslash():
    # "a\\": looks like an escaped quote to the fast key count, which then came out even
    with pytest.raises(ConfigError, match="given twice"):
        parse_config('{"Dhcp4": {"user-context": {"a\\\\": 1}, "valid-lifetime": 100, '
                     '"valid-lifetime": 200}}')


def test_vendor_space_options_need_no_125_at_their_level():
    # a reply's 125 takes its vendor's sub-options from every level, as Kea's does
    cfg = parse_config(json.dumps({"Dhcp4": {
        "option-data": [{"name": "vivso-suboptions", "data": "4491"}],
        "subnet4": [{"id": 1, "subnet": "10.0.0.0/24", "option-data": [
            {"space": "vendor-4491", "name": "tftp-servers", "data": "10.0.0.5"}]}]}}))
    assert not [w for w in cfg.warnings if w.path.startswith("Dhcp4.subnet4[0].option-data")]
    assert cfg.subnets[0].vendor_options[4491][2].data == bytes([10, 0, 0, 5])


def test_a_vendor_sub_option_over_255_bytes_is_refused():
    p = one_problem({"option-def": [{"name": "big", "code": 5, "space": "vendor-9",
                                     "type": "string"}],
                     "option-data": [opt("big", "x" * 256, space="vendor-9")]})
    assert p.path == "Dhcp4.option-data[0]" and "255" in p.reason


def test_null_is_refused_outside_user_context():
    # kea-dhcp4 2.2 -t: "syntax error, unexpected null" for each of these; user-context is free
    with pytest.raises(ConfigError) as info:
        parse_config(json.dumps({"Dhcp4": {
            "valid-lifetime": None, "user-context": {"a": None},
            "subnet4": [{"id": None, "subnet": "10.0.0.0/24", "pools": [{"pool": "10.0.0.9/32"}],
                         "option-data": [{"name": "routers", "data": None}]}]}}))
    assert [p.path for p in info.value.problems] == [
        "Dhcp4.subnet4[0].id", "Dhcp4.subnet4[0].option-data[0].data", "Dhcp4.valid-lifetime"]
    parse_config(json.dumps({"Dhcp4": {"user-context": {"a": None}}}))
