"""Kea's statistics over the control socket: statistic-get-all after the same traffic to
kea-dhcp4 2.2 and to fastdhcp (a differential test that starts both), and the commands'
semantics (reset, remove, sample limits) against the server under test
(FASTDHCP_E2E_SERVER=kea runs them against kea-dhcp4 2.2)."""

from __future__ import annotations

import datetime
import os
import time

import pytest

from e2e import (NET, UNDER_TEST, ClientSock, barrier, control, control_config, crafted_dora,
                 mixed_traffic as traffic)
from e2e import servers, topo  # noqa: F401  (fixtures)
from fastdhcp import reference
from fastdhcp._lab import netlab

pytestmark = pytest.mark.root
lab = netlab.lab_fixture(scope="module", keep_dir=bool(os.environ.get("FASTDHCP_E2E_KEEP")))

POOL = (f"{NET}.100", f"{NET}.103")          # four addresses: the traffic exhausts them


def stats_config(lab, topo, name, **kw):
    sock = lab.path(f"{name}.sock")
    cfg = control_config(topo, lab.path(f"{name}-leases4.csv"), sock, authoritative=True, **kw)
    cfg["Dhcp4"]["subnet4"][0]["pools"] = [{"pool": f"{POOL[0]} - {POOL[1]}"}]
    return cfg, sock


# Packet and address statistics that must be equal after the same traffic.
COMPARED = ("pkt4-received", "pkt4-discover-received", "pkt4-offer-received",
            "pkt4-request-received", "pkt4-ack-received", "pkt4-nak-received",
            "pkt4-release-received", "pkt4-decline-received", "pkt4-inform-received",
            "pkt4-unknown-received", "pkt4-sent", "pkt4-offer-sent", "pkt4-ack-sent",
            "pkt4-nak-sent", "pkt4-parse-failed", "pkt4-receive-drop",
            "cumulative-assigned-addresses", "declined-addresses",
            "reclaimed-declined-addresses", "reclaimed-leases", "v4-allocation-fail",
            "v4-allocation-fail-subnet", "v4-allocation-fail-shared-network",
            "v4-allocation-fail-no-pools", "v4-allocation-fail-classes",
            "v4-reservation-conflicts", "subnet[1].total-addresses",
            "subnet[1].assigned-addresses", "subnet[1].cumulative-assigned-addresses",
            "subnet[1].declined-addresses", "subnet[1].reclaimed-declined-addresses",
            "subnet[1].reclaimed-leases", "subnet[1].v4-reservation-conflicts",
            "subnet[1].v4-allocation-fail", "subnet[1].v4-allocation-fail-subnet",
            "subnet[1].v4-allocation-fail-classes")

# Names only fastdhcp has, and why (docs/kea-differences.md, "Statistics")
FASTDHCP_ONLY_KEA_NAMES = {"v4-lease-reuses"}     # Kea 2.4's name, at 0 from the start there


def fastdhcp_own(name: str) -> bool:
    """fastdhcp's own counters: names Kea has no statistic for."""
    from fastdhcp._core import ENGINE_COUNTERS
    return (name in ENGINE_COUNTERS and not name.startswith("pkt4-")
            and name not in FASTDHCP_ONLY_KEA_NAMES or name.startswith("parse-drop-")
            or name.startswith("lease-rows-") or name in ("lease-bytes-written",))


def run_once(lab, topo, servers, kind):
    cfg, sock = stats_config(lab, topo, f"diff-{kind}")
    proc = servers.launch(cfg, kind=kind)
    from e2e import MARKS, wait_log
    wait_log(lab, proc, MARKS["started"], timeout=20)
    traffic(topo)
    time.sleep(0.3)
    got = control(sock, "statistic-get-all")
    servers.stop(proc)
    assert got["result"] == 0 and set(got) == {"result", "arguments"}
    return {name: samples[0][0] for name, samples in got["arguments"].items()}, got["arguments"]


def test_statistic_get_all_matches_kea_after_the_same_traffic(lab, topo, servers):
    kea, kea_raw = run_once(lab, topo, servers, "kea")
    ours, ours_raw = run_once(lab, topo, servers, "fastdhcp")
    only_kea = set(kea) - set(ours)
    only_ours = {n for n in set(ours) - set(kea) if not fastdhcp_own(n)}
    assert only_kea == set(), only_kea
    assert only_ours == FASTDHCP_ONLY_KEA_NAMES, only_ours
    assert {n: ours[n] for n in COMPARED} == {n: kea.get(n) for n in COMPARED}
    # (the traffic did what it says)
    assert kea["pkt4-offer-received"] == kea["pkt4-unknown-received"] == 1
    assert kea["v4-allocation-fail"] == 1 and kea["subnet[1].declined-addresses"] == 1
    # samples newest first, with Kea's time format, on both
    for raw in (kea_raw, ours_raw):
        samples = raw["pkt4-received"]
        assert [v for v, _ in samples] == sorted((v for v, _ in samples), reverse=True)
        for _, t in samples:
            datetime.datetime.strptime(t, "%Y-%m-%d %H:%M:%S.%f")


# ---- the commands, against the server under test ----------------------------------------------

@pytest.fixture
def ctl(lab, topo, servers):
    cfg, sock = stats_config(lab, topo, f"ctl-{next(_n)}")
    proc = servers.start(cfg)
    proc.sock = sock
    return proc


_n = iter(range(1, 1000))


def value(sock, name):
    a = control(sock, "statistic-get", {"name": name})
    assert a["result"] == 0
    return a["arguments"][name][0][0] if a["arguments"] else None


def dora(topo, n=1):
    ns, ifname, _ = topo.client()
    with ClientSock(ns, ifname) as sock:
        for _ in range(n):
            assert crafted_dora(sock, topo.new_mac())[1] is not None
        barrier(sock, topo.new_mac())


def test_statistic_get_of_an_unknown_name_is_an_empty_map(ctl):
    assert control(ctl.sock, "statistic-get", {"name": "no-such-statistic"}) == {
        "result": 0, "arguments": {}}
    assert control(ctl.sock, "statistic-get") == {
        "result": 1, "text": "Missing mandatory 'name' parameter."}
    assert control(ctl.sock, "statistic-get", {"name": 5}) == {
        "result": 1, "text": "'name' parameter expected to be a string."}


def test_reset_makes_zero_and_counting_goes_on(ctl, topo):
    dora(topo)
    assert value(ctl.sock, "pkt4-ack-sent") == 1
    assert control(ctl.sock, "statistic-reset", {"name": "pkt4-ack-sent"}) == {
        "result": 0, "text": "Statistic 'pkt4-ack-sent' reset."}
    a = control(ctl.sock, "statistic-get", {"name": "pkt4-ack-sent"})
    assert [s[0] for s in a["arguments"]["pkt4-ack-sent"]] == [0]
    dora(topo)
    assert value(ctl.sock, "pkt4-ack-sent") == 1
    assert control(ctl.sock, "statistic-reset", {"name": "nope"}) == {
        "result": 1, "text": "No 'nope' statistic found"}


def test_reset_all(ctl, topo):
    dora(topo)
    assert control(ctl.sock, "statistic-reset-all") == {
        "result": 0, "text": "All statistics reset to neutral values."}
    everything = control(ctl.sock, "statistic-get-all")["arguments"]
    assert everything["pkt4-received"] == [[0, everything["pkt4-received"][0][1]]]
    assert everything["subnet[1].total-addresses"][0][0] == 0     # (Kea: a reset is a reset)


def test_remove_hides_until_counted_again_from_zero(ctl, topo):
    dora(topo)
    assert control(ctl.sock, "statistic-remove", {"name": "pkt4-ack-sent"}) == {
        "result": 0, "text": "Statistic 'pkt4-ack-sent' removed."}
    assert "pkt4-ack-sent" not in control(ctl.sock, "statistic-get-all")["arguments"]
    assert value(ctl.sock, "pkt4-ack-sent") is None
    assert control(ctl.sock, "statistic-remove", {"name": "pkt4-ack-sent"}) == {
        "result": 1, "text": "No 'pkt4-ack-sent' statistic found"}
    dora(topo)
    assert value(ctl.sock, "pkt4-ack-sent") == 1


def test_remove_all(ctl, topo):
    assert control(ctl.sock, "statistic-remove-all") == {
        "result": 0, "text": "Warning: statistic-remove-all command is deprecated. All "
                             "statistics removed."}
    assert control(ctl.sock, "statistic-get-all") == {"result": 0, "arguments": {}}
    dora(topo)
    names = set(control(ctl.sock, "statistic-get-all")["arguments"])
    assert {"pkt4-received", "pkt4-ack-sent", "subnet[1].assigned-addresses"} <= names
    assert "subnet[1].total-addresses" not in names          # never counted again


def test_sample_count_limits_the_samples(ctl, topo):
    assert control(ctl.sock, "statistic-sample-count-set",
                   {"name": "pkt4-received", "max-samples": 2}) == {
        "result": 0, "text": "Statistic 'pkt4-received' count limit is set."}
    for _ in range(3):
        dora(topo)
        time.sleep(1.1)                 # (fastdhcp samples a change once a second at most)
    samples = control(ctl.sock, "statistic-get", {"name": "pkt4-received"})["arguments"][
        "pkt4-received"]
    assert len(samples) == 2 and samples[0][0] > samples[1][0]
    assert control(ctl.sock, "statistic-sample-count-set-all", {"max-samples": 0}) == {
        "result": 1, "text": "'max-samples' parameter must not be zero"}
    assert control(ctl.sock, "statistic-sample-count-set-all", {"max-samples": 1}) == {
        "result": 0, "text": "All statistics count limit are set."}
    assert all(len(s) == 1 for s in control(ctl.sock, "statistic-get-all")["arguments"].values())
    assert control(ctl.sock, "statistic-sample-count-set", {"name": "nope", "max-samples": 2}) \
        == {"result": 1, "text": "No 'nope' statistic found"}
    assert control(ctl.sock, "statistic-sample-count-set", {"name": "pkt4-received"}) == {
        "result": 1, "text": "Missing mandatory 'max-samples' parameter."}


def test_sample_age_limits_the_samples(ctl, topo):
    assert control(ctl.sock, "statistic-sample-age-set",
                   {"name": "pkt4-received", "duration": 1}) == {
        "result": 0, "text": "Statistic 'pkt4-received' duration limit is set."}
    for _ in range(3):
        dora(topo)
        time.sleep(1.1)
    samples = control(ctl.sock, "statistic-get", {"name": "pkt4-received"})["arguments"][
        "pkt4-received"]
    first, last = (datetime.datetime.strptime(s[1], "%Y-%m-%d %H:%M:%S.%f")
                   for s in (samples[0], samples[-1]))
    assert (first - last).total_seconds() <= 1.0 and len(samples) < 6
    assert control(ctl.sock, "statistic-sample-age-set-all", {"duration": 5}) == {
        "result": 0, "text": "All statistics duration limit are set."}
    assert control(ctl.sock, "statistic-sample-age-set", {"name": "pkt4-received"}) == {
        "result": 1, "text": "Missing mandatory 'duration' parameter."}


def test_default_sample_count_from_the_config(lab, topo, servers):
    cfg, sock = stats_config(lab, topo, "ctl-default", statistic_default_sample_count=1)
    servers.start(cfg)
    for _ in range(2):
        dora(topo)
        time.sleep(1.1)
    assert len(control(sock, "statistic-get", {"name": "pkt4-received"})["arguments"][
        "pkt4-received"]) == 1


def test_stat_lease4_get(ctl, topo):
    dora(topo, 2)
    a = control(ctl.sock, "stat-lease4-get")
    assert a["result"] == 0 and a["text"] == "stat-lease4-get[all subnets]: 1 rows found"
    rs = a["arguments"]["result-set"]
    assert rs["columns"] == ["subnet-id", "total-addresses", "cumulative-assigned-addresses",
                             "assigned-addresses", "declined-addresses"]
    assert rs["rows"] == [[1, 4, 2, 2, 0]]
    datetime.datetime.strptime(rs["timestamp"], "%Y-%m-%d %H:%M:%S.%f")
    a = control(ctl.sock, "stat-lease4-get", {"subnet-id": 1})
    assert a["text"] == "stat-lease4-get[subnet-id=1]: 1 rows found"
    a = control(ctl.sock, "stat-lease4-get", {"subnet-id": 7})
    assert a["result"] == 3 and a["text"] == \
        "stat-lease4-get[subnet-id=7]: no matching data, subnet-id: 7 does not exist"
    assert a["arguments"] == {}
    a = control(ctl.sock, "stat-lease4-get",
                {"subnet-range": {"first-subnet-id": 2, "last-subnet-id": 9}})
    assert a["result"] == 3 and a["text"] == ("stat-lease4-get[subnets 2 through 9]: no matching "
                                              "data, selected ID range: 2 through 9 includes no "
                                              "known subnets")
    for args, text in (({"subnet-id": 0}, "'subnet-id' parameter must be > 0"),
                       ({"subnet-id": "1"}, "'subnet-id' parameter is not integer"),
                       ({"subnet-id": 1, "subnet-range": {}},
                        "cannot specify both subnet-id and subnet-range"),
                       ({"subnet-range": {"first-subnet-id": 3, "last-subnet-id": 2}},
                        "'last-subnet-id' must be greater than 'first-subnet-id'"),
                       ({"subnet-range": {"last-subnet-id": 2}},
                        "'first-subnet-id' parameter missing or not an integer")):
        assert control(ctl.sock, "stat-lease4-get", args) == {"result": 1, "text": text}
