"""Vendor-identifying vendor options (125, RFC 3925 §4) in replies, as kea-dhcp4 2.2 sends them
(Dhcpv4Srv::appendRequestedVendorOptions): the enterprise is the one of the client's own 125, or
of a configured vivso-suboptions the reply already carries (asked for in 55, or always-send);
the sub-options are the vendor-<id> space's always-send ones from every level (host, pool,
subnet, shared network, classes, global: the first level that has one gives its value), and, for
DOCSIS (4491), those the client's ORO (sub-option 1) names. Nothing else of a vendor space is
sent. Real deployments configure them in classes: Genexis (the ARM's example, a class by option
60 with vivso-suboptions and an always-send vendor-25167 option), Mitel phones, cable modems.
The same assertions run against kea-dhcp4 2.2 with FASTDHCP_E2E_SERVER=kea."""

from __future__ import annotations

import os
import struct

from e2e import RawClient, control_config, new_xid  # noqa: F401
from e2e import raw, servers, topo  # noqa: F401  (fixtures)
from fastdhcp import reference
from fastdhcp._enums import MsgType
from fastdhcp._lab import netlab

lab = netlab.lab_fixture(scope="module", keep_dir=bool(os.environ.get("FASTDHCP_E2E_KEEP")))

GENEXIS, MITEL, DOCSIS = 25167, 1027, 4491
TFTP_URL = "tftp://192.0.2.1/genexis/HMC1000.v1.3.0-R.img"


def config(topo, lab, name, **dhcp4):
    cfg = control_config(topo, lab.path(f"{name}-{new_xid():x}.csv"),
                         lab.path(f"{name}-{new_xid():x}.sock"))
    cfg["Dhcp4"].update(dhcp4)
    return cfg


def vivso(enterprise: int, subs: list[tuple[int, bytes]]) -> bytes:
    """A client's (or an expected) option 125: one enterprise block (RFC 3925 §4)."""
    block = b"".join(bytes((c, len(v))) + v for c, v in subs)
    return struct.pack("!IB", enterprise, len(block)) + block


def offer_125(client, *, prl=(1, 3, 6), extra=()):
    xid = new_xid()
    r = client.ask(reference.discover(client.mac, xid, prl=list(prl), extra_options=list(extra)),
                   xid=xid, types={MsgType.DHCPOFFER}, timeout=1.0, tries=2)
    assert r is not None, "no offer"
    return r.pkt.option(125)


GENEXIS_CLASS = {
    "name": "cpe_genexis", "test": "substring(option[60].hex,0,7) == 'HMC1000'",
    "option-data": [{"name": "vivso-suboptions", "data": str(GENEXIS)},
                    {"name": "tftp", "space": f"vendor-{GENEXIS}", "data": TFTP_URL,
                     "always-send": True}]}
GENEXIS_DEF = [{"name": "tftp", "code": 2, "space": f"vendor-{GENEXIS}", "type": "string"}]


def test_a_class_gives_its_vendor_option_when_the_client_asks_for_125(lab, topo, servers, raw):
    # the ARM's Genexis example: the class's vivso-suboptions goes when 55 names 125, with the
    # always-send sub-option of its enterprise in it
    servers.start(config(topo, lab, "genexis", **{"option-def": GENEXIS_DEF,
                                                  "client-classes": [GENEXIS_CLASS]}))
    want = vivso(GENEXIS, [(2, TFTP_URL.encode())])
    assert offer_125(raw, prl=(1, 3, 125), extra=[(60, b"HMC1000.v1")]) == want
    # not asked for, and no 125 of the client's: no enterprise to answer for
    assert offer_125(raw, extra=[(60, b"HMC1000.v1")]) is None
    # the client's own 125 names the enterprise, so the sub-option goes without 55 asking
    assert offer_125(raw, extra=[(60, b"HMC1000.v1"), (125, vivso(GENEXIS, []))]) == want
    # another device: not in the class, nothing of the vendor's
    assert offer_125(raw, prl=(1, 3, 125), extra=[(60, b"MSFT 5.0")]) is None


def test_a_clients_own_vendor_gets_the_always_send_options_of_its_space(lab, topo, servers, raw):
    # Mitel phones send 125 for 1027; the options of space vendor-1027 at the subnet level
    # answer it (always-send: Kea 2.2 has no way to ask for them but DOCSIS's ORO)
    cfg = config(topo, lab, "mitel", **{"option-def": [
        {"name": "mitel-config", "code": 130, "space": f"vendor-{MITEL}", "type": "string"},
        {"name": "mitel-other", "code": 131, "space": f"vendor-{MITEL}", "type": "string"}]})
    cfg["Dhcp4"]["subnet4"][0]["option-data"] = cfg["Dhcp4"]["subnet4"][0].get(
        "option-data", []) + [
        {"name": "mitel-config", "space": f"vendor-{MITEL}", "data": "id:ipphone.mitel.com;",
         "always-send": True},
        {"name": "mitel-other", "space": f"vendor-{MITEL}", "data": "never-asked"}]
    servers.start(cfg)
    want = vivso(MITEL, [(130, b"id:ipphone.mitel.com;")])
    assert offer_125(raw, extra=[(125, vivso(MITEL, [(1, b"x")]))]) == want
    # a client of another enterprise: nothing of 1027's
    assert offer_125(raw, extra=[(125, vivso(9, []))]) is None
    assert offer_125(raw) is None


def test_a_docsis_modem_gets_what_its_oro_asks_for(lab, topo, servers, raw):
    # vendor-4491 is Kea's own space (oro 1, tftp-servers 2): a modem's ORO asks for options of
    # it, which go without always-send; the global level gives tftp-servers
    servers.start(config(topo, lab, "docsis", **{"option-data": [
        {"name": "tftp-servers", "space": f"vendor-{DOCSIS}", "data": "192.0.2.8, 192.0.2.9"}]}))
    want = vivso(DOCSIS, [(2, bytes([192, 0, 2, 8, 192, 0, 2, 9]))])
    assert offer_125(raw, extra=[(125, vivso(DOCSIS, [(1, bytes([2]))]))]) == want
    assert offer_125(raw, extra=[(125, vivso(DOCSIS, [(1, bytes([5]))]))]) is None
    assert offer_125(raw, extra=[(125, vivso(DOCSIS, []))]) is None


def test_the_most_specific_level_gives_a_vendor_sub_option(lab, topo, servers, raw):
    # a class's value comes after the subnet's and before the global one (Kea's CfgOptionList),
    # and always-send set at any level makes the code go
    cfg = config(topo, lab, "levels", **{
        "option-def": [{"name": "cfg", "code": 10, "space": f"vendor-{MITEL}", "type": "string"},
                       {"name": "vlan", "code": 11, "space": f"vendor-{MITEL}", "type": "string"},
                       {"name": "site", "code": 12, "space": f"vendor-{MITEL}",
                        "type": "string"}],
        "option-data": [{"name": "cfg", "space": f"vendor-{MITEL}", "data": "global",
                         "always-send": True},
                        {"name": "vlan", "space": f"vendor-{MITEL}", "data": "global-vlan"},
                        {"name": "site", "space": f"vendor-{MITEL}", "data": "global-site",
                         "always-send": True}],
        "client-classes": [{"name": "phones", "test": "substring(option[60].hex,0,5) == 'MITEL'",
                            "option-data": [
                                {"name": "vlan", "space": f"vendor-{MITEL}", "data": "class-vlan",
                                 "always-send": True},
                                {"name": "site", "space": f"vendor-{MITEL}",
                                 "data": "class-site"}]}]})
    cfg["Dhcp4"]["subnet4"][0]["option-data"] = cfg["Dhcp4"]["subnet4"][0].get(
        "option-data", []) + [{"name": "site", "space": f"vendor-{MITEL}", "data": "subnet-site"}]
    servers.start(cfg)
    mitel = (125, vivso(MITEL, []))
    assert offer_125(raw, extra=[(60, b"MITEL IP Phone"), mitel]) == vivso(
        MITEL, [(10, b"global"), (11, b"class-vlan"), (12, b"subnet-site")])
    assert offer_125(raw, extra=[mitel]) == vivso(MITEL, [(10, b"global"), (12, b"subnet-site")])


def test_a_configured_125s_own_sub_options_are_kept_and_merged_by_code(lab, topo, servers, raw):
    # vivso-suboptions given in hex with sub-options of its own: Kea unpacks it, adds the
    # always-send ones it lacks and packs them all in code order
    own = vivso(MITEL, [(20, b"own-20"), (5, b"own-5")]).hex()
    servers.start(config(topo, lab, "hexvivso", **{
        "option-def": [{"name": "m12", "code": 12, "space": f"vendor-{MITEL}", "type": "string"},
                       {"name": "m20", "code": 20, "space": f"vendor-{MITEL}",
                        "type": "string"}],
        "option-data": [{"name": "vivso-suboptions", "csv-format": False, "data": own,
                         "always-send": True},
                        {"name": "m12", "space": f"vendor-{MITEL}", "data": "added-12",
                         "always-send": True},
                        {"name": "m20", "space": f"vendor-{MITEL}", "data": "not-this-20",
                         "always-send": True}]}))
    assert offer_125(raw) == vivso(MITEL, [(5, b"own-5"), (12, b"added-12"), (20, b"own-20")])


def test_a_client_125_kea_cannot_unpack_names_no_vendor(lab, topo, servers, raw):
    cfg = config(topo, lab, "badvivso", **{"option-def": [
        {"name": "m1", "code": 1, "space": f"vendor-{MITEL}", "type": "string"}],
        "option-data": [{"name": "m1", "space": f"vendor-{MITEL}", "data": "hello",
                         "always-send": True}]})
    servers.start(cfg)
    want = vivso(MITEL, [(1, b"hello")])
    assert offer_125(raw, extra=[(125, vivso(MITEL, [(3, b"abc")]))]) == want
    # later blocks are not read; the first one's enterprise counts
    assert offer_125(raw, extra=[(125, vivso(MITEL, []) + vivso(9, []))]) == want
    # a block longer than the option: Kea stops unpacking there (no 125 of the client's)
    assert offer_125(raw, extra=[(125, struct.pack("!IB", MITEL, 9) + b"\x03\x01a")]) is None
    # a sub-option running past its block: the same
    assert offer_125(raw, extra=[(125, struct.pack("!IB", MITEL, 3) + b"\x03\x05abc")]) is None


# ---- vendor[...] and vendor-class[...] in class tests ------------------------------------------

def test_classes_by_the_clients_vendor_options(lab, topo, servers, raw):
    cfg = config(topo, lab, "vendortests", **{"client-classes": [
        {"name": "mitel", "test": f"vendor[{MITEL}].exists",
         "option-data": [{"name": "domain-name", "data": "mitel.example"}]},
        {"name": "ap", "test": "vendor-class[3561].data == 'AP-1' or "
                               "vendor[*].option[7].hex == 'ap'",
         "option-data": [{"name": "domain-name", "data": "ap.example"}]},
        {"name": "modem", "test": "vendor.enterprise == 0x0000118b and "
                                  "vendor-class.enterprise == 0x0000118b",
         "option-data": [{"name": "domain-name", "data": "modem.example"}]}]})
    servers.start(cfg)

    def domain(*extra):
        xid = new_xid()
        r = raw.ask(reference.discover(raw.mac, xid, prl=[1, 3, 15], extra_options=list(extra)),
                    xid=xid, types={MsgType.DHCPOFFER}, timeout=1.0, tries=2)
        return None if r is None else r.pkt.option(15)

    vivco = lambda e, data: (124, struct.pack("!IB", e, len(data)) + data)   # noqa: E731
    assert domain((125, vivso(MITEL, []))) == b"mitel.example"
    assert domain(vivco(3561, b"AP-1")) == b"ap.example"
    assert domain((125, vivso(9, [(7, b"ap")]))) == b"ap.example"
    assert domain((125, vivso(DOCSIS, [])), vivco(DOCSIS, b"docsis3.0")) == b"modem.example"
    assert domain((125, vivso(DOCSIS, []))) not in (b"mitel.example", b"ap.example",
                                                    b"modem.example")
    # a 125 repeated is fused into one generic option: no vendor for the tests
    assert domain((125, vivso(MITEL, [])), (125, vivso(MITEL, []))) != b"mitel.example"
    # a 124 Kea cannot unpack (a second block without its tuple), or a DOCSIS tftp-servers of
    # 3 bytes: Kea drops the packet, and so does fastdhcp
    assert domain((124, struct.pack("!IB", 3561, 4) + b"AP-1" + struct.pack("!I", 3561)
                   + b"\x00")) is None
    assert domain((125, vivso(DOCSIS, [(2, b"\x0a\x00\x00")]))) is None
