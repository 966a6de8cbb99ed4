"""The daemon's control commands over Kea 2.2's unix control socket, against the server under
test (FASTDHCP_E2E_SERVER=kea runs them against kea-dhcp4 2.2): the same result codes, texts
and argument shapes."""

from __future__ import annotations

import json
import os

import pytest

from e2e import (NET, UNDER_TEST, ClientSock, control, control_config, crafted_dora,
                 differs_from_kea, write_json)
from e2e import servers, topo  # noqa: F401  (fixtures)
from fastdhcp._lab import netlab

pytestmark = pytest.mark.root
lab = netlab.lab_fixture(scope="module", keep_dir=bool(os.environ.get("FASTDHCP_E2E_KEEP")))


@pytest.fixture
def ctl_server(lab, topo, servers):
    sock = lab.path("ctl-daemon.sock")
    cfg = control_config(topo, lab.path("ctl-daemon-leases4.csv"), sock)
    proc = servers.start(cfg)
    proc.sock = sock
    return proc


def test_list_commands_names_the_daemon_lease_and_statistic_commands(ctl_server):
    a = control(ctl_server.sock, "list-commands")
    assert a["result"] == 0
    names = set(a["arguments"])
    for name in ("build-report", "config-get", "config-reload", "config-set", "config-test",
                 "config-write", "dhcp-disable", "dhcp-enable", "leases-reclaim", "list-commands",
                 "server-tag-get", "shutdown", "status-get", "version-get"):
        assert name in names


def test_unknown_command_is_result_2_with_keas_text(ctl_server):
    assert control(ctl_server.sock, "no-such-thing") == {
        "result": 2, "text": "'no-such-thing' command not supported."}


@pytest.mark.parametrize("raw, fragment", [
    (b'{"command": "version-get", "bogus": 1}', "unsupported parameter 'bogus'"),
    (b'{"arguments": {}}', "does not contain mandatory 'command'"),
    (b'{"command": 5}', "'command' element in command message is not a string"),
])
def test_a_malformed_command_is_result_1(ctl_server, raw, fragment):
    a = control(ctl_server.sock, None, raw=raw)
    assert a["result"] == 1 and fragment in a["text"]


def test_version_status_and_tag(ctl_server):
    v = control(ctl_server.sock, "version-get")
    assert v["result"] == 0 and isinstance(v["text"], str) and "extended" in v["arguments"]
    s = control(ctl_server.sock, "status-get")
    assert s["result"] == 0
    assert s["arguments"]["pid"] == ctl_server.pid or UNDER_TEST == "kea"  # (kea: under netns exec)
    assert s["arguments"]["uptime"] >= 0 and s["arguments"]["reload"] >= 0
    assert s["arguments"]["sockets"] == {"status": "ready"}
    assert control(ctl_server.sock, "server-tag-get") == {"result": 0,
                                                          "arguments": {"server-tag": ""}}


def test_config_get_returns_the_running_dhcp4(ctl_server):
    a = control(ctl_server.sock, "config-get")
    assert a["result"] == 0
    d = a["arguments"]["Dhcp4"]
    assert [s["subnet"] for s in d["subnet4"]] == [f"{NET}.0/24"]
    assert d["valid-lifetime"] == 600


def test_config_test_and_set_refuse_a_bad_config(ctl_server):
    good = control(ctl_server.sock, "config-get")["arguments"]["Dhcp4"]
    good.pop("hash", None)
    bad = json.loads(json.dumps(good))
    bad["subnet4"][0]["pools"] = [{"pool": "10.99.0.1 - 10.99.0.9"}]    # outside the subnet
    for cmd in ("config-test", "config-set"):
        a = control(ctl_server.sock, cmd, {"Dhcp4": bad})
        assert a["result"] == 1 and a["text"], a
    assert control(ctl_server.sock, "config-test", {"Dhcp4": good})["result"] == 0
    assert control(ctl_server.sock, "config-set", {})["text"] == "Missing mandatory 'Dhcp4' parameter."


@differs_from_kea("Kea 2.2 stops serving after a config-set it refused "
                  "(DHCP4_CONFIG_UNRECOVERABLE_ERROR: the old configuration is not restored)")
def test_after_a_refused_config_set_the_old_config_keeps_serving(ctl_server, topo):
    good = control(ctl_server.sock, "config-get")["arguments"]["Dhcp4"]
    good.pop("hash", None)
    good["subnet4"][0]["pools"] = [{"pool": "10.99.0.1 - 10.99.0.9"}]
    assert control(ctl_server.sock, "config-set", {"Dhcp4": good})["result"] == 1
    ns, ifname, mac = topo.client()
    with ClientSock(ns, ifname) as sock:            # the old configuration still answers
        _, ack = crafted_dora(sock, mac)
    assert ack.pkt.yiaddr.startswith(NET)


def test_config_set_applies_a_good_config(ctl_server, topo):
    good = control(ctl_server.sock, "config-get")["arguments"]["Dhcp4"]
    good.pop("hash", None)
    for scope in (good, good["subnet4"][0]):      # (Kea's config-get writes them in each subnet)
        scope.update({"valid-lifetime": 900, "min-valid-lifetime": 900, "max-valid-lifetime": 900})
    assert control(ctl_server.sock, "config-set", {"Dhcp4": good}) == {
        "result": 0, "text": "Configuration successful."}
    assert control(ctl_server.sock, "config-get")["arguments"]["Dhcp4"]["valid-lifetime"] == 900
    ns, ifname, mac = topo.client()
    with ClientSock(ns, ifname) as sock:
        _, ack = crafted_dora(sock, mac)
    assert ack.opt_u32(51) == 900


def test_config_reload_rereads_the_file(ctl_server):
    cfg = json.load(open(ctl_server.cfg_path))
    cfg["Dhcp4"]["valid-lifetime"] = 1200
    write_json(ctl_server.cfg_path, cfg)
    assert control(ctl_server.sock, "config-reload")["result"] == 0
    assert control(ctl_server.sock, "config-get")["arguments"]["Dhcp4"]["valid-lifetime"] == 1200
    cfg["Dhcp4"]["subnet4"][0]["pools"] = [{"pool": "10.99.0.1 - 10.99.0.9"}]
    write_json(ctl_server.cfg_path, cfg)
    a = control(ctl_server.sock, "config-reload")
    assert a["result"] == 1 and a["text"].startswith("Config reload failed")
    assert control(ctl_server.sock, "config-get")["arguments"]["Dhcp4"]["valid-lifetime"] == 1200


def test_config_write_writes_a_file_the_server_starts_from(ctl_server, lab):
    path = lab.path("ctl-written.json")
    a = control(ctl_server.sock, "config-write", {"filename": path})
    assert a["result"] == 0 and a["arguments"]["filename"] == path
    assert a["arguments"]["size"] == os.path.getsize(path)
    assert json.load(open(path))["Dhcp4"]["valid-lifetime"] == 600


def test_dhcp_disable_drops_and_enable_answers_again(ctl_server, topo):
    assert control(ctl_server.sock, "dhcp-disable", {"max-period": "x"})["text"] == \
        "'max-period' argument must be a number"
    assert control(ctl_server.sock, "dhcp-disable") == {"result": 0,
                                                         "text": "DHCPv4 service disabled"}
    ns, ifname, mac = topo.client()
    with ClientSock(ns, ifname) as sock:
        assert crafted_dora(sock, mac, timeout=1.0) == (None, None)
        assert control(ctl_server.sock, "dhcp-enable") == {
            "result": 0, "text": "DHCP service successfully enabled"}
        assert crafted_dora(sock, mac)[1].pkt.yiaddr.startswith(NET)
    assert control(ctl_server.sock, "dhcp-disable", {"max-period": 1})["text"] == \
        "DHCPv4 service disabled for 1 seconds"
    control(ctl_server.sock, "dhcp-enable")


def test_leases_reclaim_checks_remove(ctl_server):
    assert control(ctl_server.sock, "leases-reclaim")["text"] == "Missing mandatory 'remove' parameter."
    assert control(ctl_server.sock, "leases-reclaim", {"remove": 1})["text"] == \
        "'remove' parameter expected to be a boolean."
    assert control(ctl_server.sock, "leases-reclaim", {"remove": True}) == {
        "result": 0, "text": "Reclamation of expired leases is complete."}


def test_shutdown_stops_the_server_with_its_exit_value(ctl_server, lab, servers):
    assert control(ctl_server.sock, "shutdown", {"exit-value": "x"})["text"] == \
        "parameter 'exit-value' is not an integer"
    assert control(ctl_server.sock, "shutdown", {"exit-value": 3}) == {"result": 0,
                                                                       "text": "Shutting down."}
    assert ctl_server.wait(timeout=10) == 3
    servers.procs.remove(ctl_server)
