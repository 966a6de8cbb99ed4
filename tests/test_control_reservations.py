"""Host reservations at run time (Kea's host_cmds commands, which Debian's Kea 2.2 does not
ship): added, read, updated and deleted over the control socket, then seen by the next client
and kept by config-write."""

from __future__ import annotations

import json
import os

import pytest

from e2e import NET, ClientSock, control, control_config, crafted_dora, not_in_kea22, subnet
from e2e import servers, topo  # noqa: F401  (fixtures)
from fastdhcp._lab import netlab

pytestmark = [pytest.mark.root, not_in_kea22("libdhcp_host_cmds.so is not in Debian's Kea")]
lab = netlab.lab_fixture(scope="module", keep_dir=bool(os.environ.get("FASTDHCP_E2E_KEEP")))


@pytest.fixture
def ctl(lab, topo, servers):
    sock = lab.path("resv.sock")
    cfg = control_config(topo, lab.path("resv-leases4.csv"), sock,
                         subnets=[subnet(1, NET, "100 - 199", interface=topo.bridge,
                                         reservations=[{"hw-address": "02:aa:00:00:00:01",
                                                        "ip-address": f"{NET}.50",
                                                        "hostname": "first"}])])
    servers.start(cfg)
    return lambda command, arguments=None: control(sock, command, arguments)


def test_a_configured_reservation_is_found_every_way(ctl):
    host = {"boot-file-name": "", "client-classes": [], "hostname": "first",
            "hw-address": "02:aa:00:00:00:01", "ip-address": f"{NET}.50",
            "next-server": "0.0.0.0", "option-data": [], "server-hostname": "", "subnet-id": 1}
    assert ctl("reservation-get", {"subnet-id": 1, "ip-address": f"{NET}.50"}) == {
        "result": 0, "text": "Host found.", "arguments": host}
    assert ctl("reservation-get", {"subnet-id": 1, "identifier-type": "hw-address",
                                   "identifier": "02:AA:00:00:00:01"})["arguments"] == host
    for cmd, args in (("reservation-get-all", {"subnet-id": 1}),
                      ("reservation-get-by-hostname", {"hostname": "FIRST"}),
                      ("reservation-get-by-id", {"identifier-type": "hw-address",
                                                 "identifier": "02aa00000001"}),
                      ("reservation-get-by-address", {"ip-address": f"{NET}.50"})):
        assert ctl(cmd, args) == {"result": 0, "text": "1 IPv4 host(s) found.",
                                  "arguments": {"hosts": [host]}}, cmd
    page = ctl("reservation-get-page", {"limit": 10})
    assert page["arguments"]["count"] == 1 and page["arguments"]["next"]["from"] == 1
    assert ctl("reservation-get-page", {"limit": 10, "from": 1})["result"] == 3


@pytest.mark.parametrize("cmd, args, text", [
    ("reservation-get", None, "Parameters missing or are not a map."),
    ("reservation-get", {"ip-address": f"{NET}.50"}, "missing parameter 'subnet-id', use "
                                                     "'reservation-get-by-address'"),
    ("reservation-get", {"subnet-id": 1, "identifier-type": "mac", "identifier": "01"},
     "Value of 'identifier-type' was not recognized."),
    ("reservation-get", {"subnet-id": 1, "identifier-type": "hw-address", "identifier": "zz"},
     "Unable to parse 'identifier' value."),
    ("reservation-get-by-id", {"subnet-id": 1, "identifier-type": "hw-address",
                               "identifier": "01"}, "'subnet-id' is forbidden"),
    ("reservation-get-all", {"subnet-id": 7}, "IPv4 subnet with ID of '7' is not configured"),
    ("reservation-add", {"reservation": {"hw-address": "02:aa:00:00:00:09",
                                         "ip-address": f"{NET}.60"}},
     "Mandatory 'subnet-id' parameter missing. The address"),
    ("reservation-add", {"reservation": {"subnet-id": 1, "hw-address": "02:aa:00:00:00:01",
                                         "ip-address": f"{NET}.61"}}, "duplicate"),
    ("reservation-add", {"reservation": {"subnet-id": 1, "hw-address": "02:aa:00:00:00:09",
                                         "ip-address": "10.99.0.1"}}, "subnet4[0].reservations[1]"),
])
def test_bad_arguments_are_refused_with_keas_texts(ctl, cmd, args, text):
    a = ctl(cmd, args)
    assert a["result"] == 1 and text in a["text"], a


def test_an_added_reservation_is_served_updated_deleted_and_written(ctl, topo, lab):
    ns, ifname, mac = topo.client()
    assert ctl("reservation-add", {"reservation": {"subnet-id": 1, "hw-address": mac,
                                                   "ip-address": f"{NET}.77",
                                                   "hostname": "added"}}) == {
        "result": 0, "text": "Host added."}
    with ClientSock(ns, ifname) as sock:
        _, ack = crafted_dora(sock, mac)
        assert ack.pkt.yiaddr == f"{NET}.77"
        assert ctl("reservation-update", {"reservation": {"subnet-id": 1, "hw-address": mac,
                                                          "ip-address": f"{NET}.78"}}) == {
            "result": 0, "text": "Host updated."}
        assert ctl("reservation-get", {"subnet-id": 1, "identifier-type": "hw-address",
                                       "identifier": mac})["arguments"]["ip-address"] == f"{NET}.78"
        path = lab.path("resv-written.json")
        assert ctl("config-write", {"filename": path})["result"] == 0
        written = json.load(open(path))["Dhcp4"]["subnet4"][0]["reservations"]
        assert {"hw-address": mac, "ip-address": f"{NET}.78"} in written
        assert ctl("reservation-del", {"subnet-id": 1, "identifier-type": "hw-address",
                                       "identifier": mac}) == {"result": 0, "text": "Host deleted."}
        assert ctl("reservation-del", {"subnet-id": 1, "identifier-type": "hw-address",
                                       "identifier": mac}) == {
            "result": 3, "text": "Host not deleted (not found)."}
    assert ctl("reservation-add", {"reservation": {"hw-address": "02:aa:00:00:00:0a",
                                                   "hostname": "global"}}) == {
        "result": 0, "text": "Host added. subnet-id not specified, assumed global (subnet-id 0)."}
    assert ctl("reservation-get-all", {"subnet-id": 0})["arguments"]["hosts"][0]["subnet-id"] == 0
