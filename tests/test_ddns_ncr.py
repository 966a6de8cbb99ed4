"""NameChangeRequests as kea-dhcp-ddns reads them (fastdhcp/ddns/ncr.py): the DHCID of RFC 4701
(its own examples, §3.6), the TTL rule, the JSON of Kea's NameChangeRequest::toJSON, the length
prefix; and the sender on a real UDP socket (loopback): a refused send keeps its request for the
retry, and nothing is sent twice."""

from __future__ import annotations

import base64
import json
import socket
import struct
import time

from fastdhcp.ddns import NameChangeSender, dhcid, ddns_ttl, to_wire
from fastdhcp.ddns.ncr import NameChange


def test_dhcid_matches_rfc_4701_examples():
    # §3.6.2: client id 01:07:08:09:0a:0b:0c, "chi.example.com"
    assert base64.b64encode(dhcid(1, bytes.fromhex("010708090a0b0c"), "chi.example.com")) == \
        b"AAEBOSD+XR3Os/0LozeXVqcNc7FwCfQdWL3b/NaiUDlW2No="
    # §3.6.3: no client id, htype 1 and chaddr 01:02:03:04:05:06, "client.example.com"
    assert base64.b64encode(dhcid(0, bytes.fromhex("01010203040506"), "Client.Example.com.")) == \
        b"AAABxLmlskllE0MVjd57zHcWmEH3pCQ6VytcKD//7es/deY="


def test_a_client_id_holding_a_duid_is_identified_by_the_duid():
    duid = bytes.fromhex("00010006412df166010203040506")
    # §3.6.1's DUID and name (there from DHCPv6): type 2, the same digest
    assert base64.b64encode(dhcid(1, b"\xff\0\0\0\1" + duid, "chi6.example.com")) == \
        b"AAIBY2/AuCccgoJbsaxcQc9TUapptP69lOjxfNuVAA2kjEA="


def test_ttl_is_a_third_of_the_lease_and_at_least_ten_minutes():
    assert [ddns_ttl(v) for v in (60, 1799, 1800, 7200)] == [600, 600, 600, 2400]


def change(**kw):
    base = dict(change=0, address="192.0.2.10", cltt=1_700_000_000, valid_lifetime=3600,
                fqdn="laptop.example.org.", forward=True, reverse=True, conflict_resolution=True,
                id_type=0, identifier=b"\x01\x02\x03\x04\x05\x06\x07")
    base.update(kw)
    return NameChange(**base)


def test_the_wire_form_is_kea_s():
    data = to_wire(change())
    (n,) = struct.unpack("!H", data[:2])
    assert n == len(data) - 2
    doc = json.loads(data[2:])
    assert list(doc) == ["change-type", "forward-change", "reverse-change", "fqdn", "ip-address",
                         "dhcid", "lease-expires-on", "lease-length", "use-conflict-resolution"]
    assert doc["lease-expires-on"] == "20231114223320"      # cltt + TTL (1200), UTC
    assert doc["lease-length"] == 1200 and doc["dhcid"].isupper()
    assert b" " not in data


class FakeEngine:
    def __init__(self, items):
        self.items = list(items)

    def take_name_changes(self, most=-1):
        out, self.items = (self.items, []) if most < 0 else (self.items[:most], self.items[most:])
        return [tuple(c) for c in out]

    def name_change_counts(self):
        return len(self.items), 0, len(self.items)


def test_the_sender_sends_each_request_once_and_keeps_one_a_refusal_stopped():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as d2:
        d2.bind(("127.0.0.1", 0))
        d2.settimeout(2)
        sender = NameChangeSender("127.0.0.1", d2.getsockname()[1])
        sender.open()
        engine = FakeEngine(change(address=f"192.0.2.{n}") for n in range(1, 4))
        assert sender.drain(engine) == 3
        got = [json.loads(d2.recv(2048)[2:])["ip-address"] for _ in range(3)]
        assert got == ["192.0.2.1", "192.0.2.2", "192.0.2.3"]
        port = d2.getsockname()[1]
    # D2 gone: the first datagram draws the ICMP error, the next send is refused: kept
    sender.close()
    sender = NameChangeSender("127.0.0.1", port)
    sender.open()
    engine = FakeEngine(change(address=f"192.0.2.{n}") for n in range(10, 20))
    assert sender.drain(engine, most=1) == 1                 # (lost: UDP, as with Kea)
    time.sleep(0.1)                                          # (the ICMP error comes back)
    assert sender.drain(engine, most=1) == 0
    assert sender.failed == 1 and sender.held.address == "192.0.2.11"
    assert sender.drain(engine) == 0                         # paused: the queue waits
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as d2:      # D2 back
        d2.bind(("127.0.0.1", port))
        d2.settimeout(1)
        sender.paused_until = 0.0                            # (no waiting in a unit test)
        assert sender.drain(engine) == 9
        seen = []
        try:
            while True:
                seen.append(json.loads(d2.recv(2048)[2:])["ip-address"])
        except socket.timeout:
            pass
    assert seen == [f"192.0.2.{n}" for n in range(11, 20)]   # in order, none twice
    assert sender.held is None and not engine.items
