"""Lease commands change what the next packet sees, as durably as an ACK, and never hand one
address to two clients; against the server under test (kea-dhcp4 2.2 with libdhcp_lease_cmds.so
under FASTDHCP_E2E_SERVER=kea)."""

from __future__ import annotations

import os

import pytest

from e2e import (NET, ClientSock, control, control_config, crafted_dora, differs_from_kea,
                 rows_for)
from e2e import servers, topo  # noqa: F401  (fixtures)
from fastdhcp._lab import netlab

pytestmark = pytest.mark.root
lab = netlab.lab_fixture(scope="module", keep_dir=bool(os.environ.get("FASTDHCP_E2E_KEEP")))


@pytest.fixture
def srv(lab, topo, servers):
    sock = lab.path("leases-ctl.sock")
    proc = servers.start(control_config(topo, lab.path("leases-ctl-leases4.csv"), sock))
    proc.ctl = lambda command, arguments=None: control(sock, command, arguments)
    return proc


def test_an_added_lease_is_in_the_file_before_the_answer_and_its_client_gets_it(srv, topo):
    ns, ifname, mac = topo.client()
    a = srv.ctl("lease4-add", {"ip-address": f"{NET}.160", "hw-address": mac, "valid-lft": 900})
    assert a == {"result": 0, "text": f"Lease for address {NET}.160, subnet-id 1 added."}
    assert rows_for(srv.lease_path, address=f"{NET}.160")       # written before the answer
    with ClientSock(ns, ifname) as sock:
        _, ack = crafted_dora(sock, mac)
    assert ack.pkt.yiaddr == f"{NET}.160"


def test_an_address_held_by_another_client_is_refused_and_nothing_changes(srv, topo):
    ns, ifname, mac = topo.client()
    with ClientSock(ns, ifname) as sock:
        _, ack = crafted_dora(sock, mac)
    held = ack.pkt.yiaddr
    before = srv.ctl("lease4-get", {"ip-address": held})
    a = srv.ctl("lease4-add", {"ip-address": held, "hw-address": "1e:00:00:00:00:01"})
    assert a == {"result": 1, "text": "IPv4 lease already exists."}
    assert srv.ctl("lease4-get", {"ip-address": held}) == before


def test_a_deleted_lease_frees_its_address_for_the_next_client(srv, topo):
    ns, ifname, mac = topo.client()
    assert srv.ctl("lease4-add", {"ip-address": f"{NET}.170", "hw-address": "1e:00:00:00:00:02"})["result"] == 0
    assert srv.ctl("lease4-del", {"ip-address": f"{NET}.170"}) == {"result": 0,
                                                                  "text": "IPv4 lease deleted."}
    assert srv.ctl("lease4-get", {"ip-address": f"{NET}.170"})["result"] == 3
    assert srv.ctl("lease4-add", {"ip-address": f"{NET}.170", "hw-address": mac})["result"] == 0
    with ClientSock(ns, ifname) as sock:
        _, ack = crafted_dora(sock, mac)
    assert ack.pkt.yiaddr == f"{NET}.170"


def test_pages_list_every_lease_once_in_address_order(srv):
    for i in range(12):
        assert srv.ctl("lease4-add", {"ip-address": f"{NET}.{120 + i}",
                                      "hw-address": f"1e:00:00:00:01:{i:02x}"})["result"] == 0
    seen, start = [], "start"
    while True:
        a = srv.ctl("lease4-get-page", {"from": start, "limit": 5})
        if a["result"] == 3:
            break
        seen += [l["ip-address"] for l in a["arguments"]["leases"]]
        start = seen[-1]
    assert seen == sorted(set(seen), key=lambda s: tuple(map(int, s.split("."))))
    assert {f"{NET}.{120 + i}" for i in range(12)} <= set(seen)


def test_host_names_are_found_after_renames_and_deletions(srv):
    assert srv.ctl("lease4-add", {"ip-address": f"{NET}.180", "hw-address": "1e:00:00:00:02:01",
                                  "hostname": "alpha"})["result"] == 0
    assert len(srv.ctl("lease4-get-by-hostname", {"hostname": "alpha"})["arguments"]["leases"]) == 1
    assert srv.ctl("lease4-update", {"ip-address": f"{NET}.180", "hw-address": "1e:00:00:00:02:01",
                                     "hostname": "beta"})["text"] == "IPv4 lease updated."
    assert srv.ctl("lease4-get-by-hostname", {"hostname": "alpha"})["result"] == 3
    assert srv.ctl("lease4-get-by-hostname", {"hostname": "beta"})["result"] == 0
    srv.ctl("lease4-del", {"ip-address": f"{NET}.180"})
    assert srv.ctl("lease4-get-by-hostname", {"hostname": "beta"})["result"] == 3


@differs_from_kea("Kea keeps a second lease for a client that holds one; fastdhcp keeps one "
                  "lease per client per subnet and refuses the second")
def test_a_second_lease_for_one_client_is_refused(srv):
    assert srv.ctl("lease4-add", {"ip-address": f"{NET}.190", "hw-address": "1e:00:00:00:03:01"})["result"] == 0
    a = srv.ctl("lease4-add", {"ip-address": f"{NET}.191", "hw-address": "1e:00:00:00:03:01"})
    assert a["result"] == 1 and "one lease per client per subnet" in a["text"]
