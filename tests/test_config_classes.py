"""``client-classes`` in the configuration (fastdhcp/config/classes.py): good classes load with
their tests compiled; every bad one is refused with its JSON path, the column in its test and
the reason, several at once, with Kea 2.2's rules (ClientClassDefParser)."""

from __future__ import annotations

import json

import pytest

from fastdhcp.config import ConfigError, parse_config

SUBNET = {"id": 1, "subnet": "192.0.2.0/24", "pools": [{"pool": "192.0.2.10 - 192.0.2.99"}]}


def load(classes):
    return parse_config(json.dumps({"Dhcp4": {"interfaces-config": {"interfaces": ["*"]},
                                              "client-classes": classes,
                                              "subnet4": [SUBNET]}}))


def problems(classes):
    with pytest.raises(ConfigError) as e:
        load(classes)
    return [(p.path, p.reason) for p in e.value.problems]


def test_good_classes_load_in_order_with_all_first():
    cfg = load([{"name": "pxe", "test": "substring(option[60].hex, 0, 9) == 'PXEClient'"},
                {"name": "uefi", "test": "member('pxe') and option[client-system].hex == 0x0007"},
                {"name": "phones", "test": "member('VENDOR_CLASS_Cisco Systems, Inc. IP Phone')"},
                {"name": "DROP", "test": "pkt4.mac == 0x020000000bad"},
                {"name": "assigned-only"}])
    assert [(c.name, c.bit) for c in cfg.client_classes] == [
        ("ALL", 0), ("KNOWN", 1), ("UNKNOWN", 2), ("BOOTP", 3), ("pxe", 4), ("uefi", 5),
        ("phones", 6), ("DROP", 7), ("assigned-only", 8)]
    assert cfg.client_classes[5].words and cfg.client_classes[8].words == ()


def test_classes_that_read_known_wait_for_the_host_lookup():
    cfg = load([{"name": "a", "test": "member('KNOWN')"},
                {"name": "b", "test": "member('a') or option[60].exists"},
                {"name": "c", "test": "option[60].exists"}])
    assert [(c.name, c.after_host) for c in cfg.client_classes[4:]] == [
        ("a", True), ("b", True), ("c", False)]


@pytest.mark.parametrize("classes, path, reason", [
    ([{"name": "x", "test": "option[60].hex == "}], "Dhcp4.client-classes[0].test",
     "column 19: syntax error, unexpected end of file"),
    ([{"name": "x", "test": "option[no-such-option].exists"}], "Dhcp4.client-classes[0].test",
     "column 8: option 'no-such-option' is not defined"),
    ([{"name": "x", "test": "member('nowhere')"}], "Dhcp4.client-classes[0].test",
     "column 8: Not defined client class 'nowhere'"),
    # a cycle: each names the other, and the first names one defined after it
    ([{"name": "a", "test": "member('b')"}, {"name": "b", "test": "member('a')"}],
     "Dhcp4.client-classes[0].test", "Not defined client class 'b'"),
    ([{"name": "x", "test": "member('x')"}], "Dhcp4.client-classes[0].test",
     "Not defined client class 'x'"),
    ([{"name": "ALL", "test": "'a' == 'a'"}], "Dhcp4.client-classes[0].test",
     "built-in class 'ALL' test expression must be empty"),
    ([{"name": "BOOTP", "test": "'a' == 'a'"}], "Dhcp4.client-classes[0].test",
     "built-in class 'BOOTP' test expression must be empty"),
    ([{"name": "x", "test": "'a' == 'a'"}, {"name": "x", "test": "'b' == 'b'"}],
     "Dhcp4.client-classes[1].name", "Client Class: x has already been defined"),
    ([{"test": "'a' == 'a'"}], "Dhcp4.client-classes[0].name",
     "not empty parameter 'name' is required"),
    ([{"name": "x", "test": "option[54].text == '10.0.0.1'"}], "Dhcp4.client-classes[0].test",
     "column 1: option[54].text of an option that is not a string is Kea's debug text"),
    ([{"name": "KNOWN"}], "Dhcp4.client-classes[0].name",
     "the built-in class 'KNOWN' cannot be given options by fastdhcp yet"),
    ([{"name": "x", "test": "'a' == 'a'", "option-data": [{"name": "no-such-option",
                                                          "data": "1"}]}],
     "Dhcp4.client-classes[0].option-data[0].name", "unknown option name 'no-such-option'"),
    ([{"name": "x", "tset": "'a' == 'a'"}], "Dhcp4.client-classes[0].tset", "test"),
])
def test_a_bad_class_is_refused_with_its_path_column_and_reason(classes, path, reason):
    found = problems(classes)
    assert found[0][0] == path, found
    assert len(found) == 1 or classes[0].get("name") == "a", found   # (a cycle: both sides)
    assert reason in found[0][1], found


def test_every_bad_class_is_reported_at_once():
    found = problems([{"name": "a", "test": "option[60].hex =="},
                      {"name": "ok", "test": "option[60].exists"},
                      {"name": "b", "test": "member('zzz')"},
                      {"name": "ok", "test": "'x' == 'x'"}])
    assert [p for p, _ in found] == ["Dhcp4.client-classes[0].test",
                                     "Dhcp4.client-classes[2].test",
                                     "Dhcp4.client-classes[3].name"]


def test_pool_guards_name_their_classes():
    cfg = parse_config(json.dumps({"Dhcp4": {
        "interfaces-config": {"interfaces": ["*"]},
        "client-classes": [{"name": "pxe", "test": "option[60].exists"}],
        "subnet4": [{"id": 1, "subnet": "192.0.2.0/24", "pools": [
            {"pool": "192.0.2.10 - 192.0.2.19", "client-class": "pxe"},
            {"pool": "192.0.2.20 - 192.0.2.29", "client-classes": ["pxe", "other"]},
            {"pool": "192.0.2.30 - 192.0.2.39"}]}]}}))
    assert [p.client_classes for p in cfg.subnets[0].pools] == [("pxe",), ("pxe", "other"), ()]


@pytest.mark.parametrize("extra, path, reason", [
    ({"next-server": "255.255.255.255"}, "Dhcp4.client-classes[0].next-server",
     "must not be a broadcast"),
    ({"next-server": "tftp.example"}, "Dhcp4.client-classes[0].next-server",
     "must be IPv4 address"),
    ({"server-hostname": "s" * 64}, "Dhcp4.client-classes[0].server-hostname",
     "at most 63 bytes long, it is 64"),
    ({"boot-file-name": "f" * 128}, "Dhcp4.client-classes[0].boot-file-name",
     "at most 127 bytes long, it is 128"),
])
def test_a_class_s_boot_fields_are_checked_as_kea_checks_them(extra, path, reason):
    found = problems([{"name": "pxe", "test": "option[93].exists", **extra}])
    assert found[0][0] == path and reason in found[0][1], found


def test_a_class_s_boot_fields_load():
    cfg = load([{"name": "pxe", "test": "option[93].exists", "next-server": "192.0.2.7",
                 "server-hostname": "tftp", "boot-file-name": "ipxe.efi"}])
    c = cfg.client_classes[4]
    assert (c.next_server, c.server_hostname, c.boot_file_name) == (
        0xC0000207, "tftp", "ipxe.efi")


@pytest.mark.parametrize("given, triplet", [
    ({"valid-lifetime": 300}, (300, 300, 300)),
    ({"valid-lifetime": 300, "min-valid-lifetime": 100}, (100, 300, 300)),
    ({"valid-lifetime": 300, "max-valid-lifetime": 900}, (300, 300, 900)),
    ({"min-valid-lifetime": 100}, (100, 100, 100)),
    ({"max-valid-lifetime": 900}, (900, 900, 900)),
])
def test_a_class_s_lifetimes_make_kea_s_triplet(given, triplet):
    cfg = load([{"name": "pxe", "test": "option[93].exists", **given}])
    assert cfg.client_classes[4].valid_lifetime == triplet


@pytest.mark.parametrize("given, reason", [
    ({"min-valid-lifetime": 100, "max-valid-lifetime": 900}, "but no valid-lifetime (default)"),
    ({"valid-lifetime": 50, "min-valid-lifetime": 100}, "is not between min-valid-lifetime"),
])
def test_a_class_s_bad_lifetimes_are_refused(given, reason):
    found = problems([{"name": "pxe", "test": "option[93].exists", **given}])
    assert found[0][0] == "Dhcp4.client-classes[0].valid-lifetime" and reason in found[0][1]


def test_required_classes_are_listed_where_they_are_required():
    cfg = parse_config(json.dumps({"Dhcp4": {
        "interfaces-config": {"interfaces": ["*"]},
        "client-classes": [{"name": "a", "test": "option[60].exists", "only-if-required": True},
                           {"name": "b", "test": "option[93].exists",
                            "only-in-additional-list": True}],
        "shared-networks": [{"name": "n", "require-client-classes": ["a"], "subnet4": [
            {"id": 1, "subnet": "192.0.2.0/24", "evaluate-additional-classes": ["b"],
             "pools": [{"pool": "192.0.2.10 - 192.0.2.19",
                        "require-client-classes": ["b"]}]}]}]}}))
    assert [c.required for c in cfg.client_classes[4:]] == [True, True]
    s = cfg.subnets[0]
    assert s.required_classes == ("a", "b") and s.pools[0].required_classes == ("b",)


def test_only_the_classes_something_reads_are_evaluated():
    from fastdhcp.policy import live_classes
    cfg = parse_config(json.dumps({"Dhcp4": {
        "interfaces-config": {"interfaces": ["*"]},
        "client-classes": [
            {"name": "unread", "test": "option[60].exists"},
            {"name": "inner", "test": "option[93].exists"},
            {"name": "DROP", "test": "member('inner') and pkt4.hlen == 0"},
            {"name": "guarded", "test": "option[77].exists"},
            {"name": "boots", "test": "option[61].exists", "boot-file-name": "x.efi"},
            {"name": "also-unread", "test": "member('unread')"}],
        "subnet4": [{"id": 1, "subnet": "192.0.2.0/24", "pools": [
            {"pool": "192.0.2.10 - 192.0.2.19", "client-class": "guarded"}]}]}}))
    assert live_classes(cfg) >= {"DROP", "inner", "guarded", "boots"}
    assert not live_classes(cfg) & {"unread", "also-unread"}
