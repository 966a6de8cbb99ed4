"""Client classes at work on real packets: the DROP class drops what its test matches, before
anything else is done (no OFFER, counted in pkt4-receive-drop and logged as
DHCP4_PACKET_DROP_0010), whatever the test reads: the client's MAC, option 60 through another
class's member(), a built-in VENDOR_CLASS_ class, option 82 from a relay agent's frame. Clients
the test does not match are served as before. The same assertions run against kea-dhcp4 2.2
with FASTDHCP_E2E_SERVER=kea (raw-frame clients, tests/e2e.py RawClient)."""

from __future__ import annotations

import os
import time

from e2e import (NET, UNDER_TEST, RawClient, control, control_config, new_xid, server_log,
                 wait_log)
from e2e import raw, servers, topo  # noqa: F401  (fixtures)
from fastdhcp import reference
from fastdhcp._enums import MsgType
from fastdhcp._lab import netlab

lab = netlab.lab_fixture(scope="module", keep_dir=bool(os.environ.get("FASTDHCP_E2E_KEEP")))

LOGGERS = [{"name": "kea-dhcp4", "severity": "INFO", "output_options": [{"output": "stderr"}]},
           {"name": "kea-dhcp4.packets", "severity": "DEBUG", "debuglevel": 99,
            "output_options": [{"output": "stderr"}]}]


def with_classes(topo, lab, classes, name):
    sock = lab.path(f"{name}-{new_xid():x}.sock")
    cfg = control_config(topo, lab.path(f"{name}-{new_xid():x}.csv"), sock)
    cfg["Dhcp4"]["client-classes"] = classes
    cfg["Dhcp4"]["loggers"] = LOGGERS
    return cfg, sock


def offered(client, vendor_class: bytes | None = None, **discover) -> bool:
    xid = new_xid()
    if vendor_class is not None:
        discover["extra_options"] = [(60, vendor_class)]
    return client.ask(reference.discover(client.mac, xid, **discover), xid=xid,
                      types={MsgType.DHCPOFFER}, timeout=1.0, tries=2) is not None


def receive_drops(sock) -> int:
    a = control(sock, "statistic-get", {"name": "pkt4-receive-drop"})
    return a["arguments"]["pkt4-receive-drop"][0][0]


def test_drop_by_mac_drops_that_client_only(lab, topo, servers, raw):
    ns, ifname, other_mac = topo.client()
    cfg, sock = with_classes(topo, lab, [
        {"name": "DROP", "test": f"pkt4.mac == 0x{raw.mac.hex()}"}], "dropmac")
    proc = servers.start(cfg)
    before = receive_drops(sock)
    assert not offered(raw)
    with RawClient(lab, ns, ifname, other_mac) as other:
        assert offered(other)
    assert receive_drops(sock) >= before + 2           # (each DISCOVER was sent twice)
    wait_log(lab, proc, " DHCP4_PACKET_DROP_0010 ", timeout=5)
    line = next(ln for ln in server_log(proc).splitlines() if " DHCP4_PACKET_DROP_0010 " in ln)
    assert "dropped as member of the special class 'DROP': " in line
    assert "DEBUG" in line and "[kea-dhcp4.packets/" in line


def test_drop_through_member_and_vendor_class(lab, topo, servers, raw):
    cfg, _ = with_classes(topo, lab, [
        {"name": "rogue", "test": "substring(option[60].hex, 0, 5) == 'rogue'"},
        {"name": "DROP", "test": "member('rogue') or member('VENDOR_CLASS_evil-ROM 1.0')"}],
        "dropmember")
    servers.start(cfg)
    assert not offered(raw, vendor_class=b"rogue-device")
    assert not offered(raw, vendor_class=b"evil-ROM 1.0")
    assert offered(raw, vendor_class=b"evil-ROM 1.01")     # VENDOR_CLASS_ is the whole option
    assert offered(raw, vendor_class=b"PXEClient")
    assert offered(raw)


def test_drop_by_the_relay_agents_circuit_id(lab, topo, servers, raw):
    """A frame as a relay agent forwards it (option 82 set, giaddr 0 for a layer-2 agent, as
    some switches do); Kea's relay4[1] reads the circuit id."""
    cfg, _ = with_classes(topo, lab, [
        {"name": "DROP", "test": "relay4[1].hex == 'blocked-port'"}], "droprelay")
    servers.start(cfg)

    def with_circuit(circuit: bytes) -> bool:
        return offered(raw, relay_info=[(1, circuit)])
    assert not with_circuit(b"blocked-port")
    assert with_circuit(b"open-port")


def test_a_reload_with_bad_classes_keeps_the_old_ones_serving(lab, topo, servers, raw):
    cfg, sock = with_classes(topo, lab, [
        {"name": "DROP", "test": f"pkt4.mac == 0x{raw.mac.hex()}"}], "dropreload")
    servers.start(cfg)
    bad = dict(cfg["Dhcp4"])
    bad["client-classes"] = [{"name": "DROP", "test": "pkt4.mac == "},
                             {"name": "x", "test": "member('nowhere')"}]
    a = control(sock, "config-set", {"Dhcp4": bad})
    assert a["result"] == 1
    assert "syntax error, unexpected end of file" in a["text"], a["text"]
    if UNDER_TEST == "kea":
        return       # Kea 2.2 stops serving after a refused config-set (docs/kea-differences.md)
    # every problem with its JSON path; the old configuration keeps serving
    assert "client-classes[0].test" in a["text"] and "client-classes[1].test" in a["text"]
    assert not offered(raw)                   # the old DROP still drops this client
    ns, ifname, other_mac = topo.client()
    with RawClient(lab, ns, ifname, other_mac) as other:
        assert offered(other)                 # and the old configuration serves the others


# ---- pools guarded by a class (client-class, Kea 2.2; client-classes, Kea 2.7.5) -------------

def guarded_pools(topo, lab, classes, pools, name):
    cfg, sock = with_classes(topo, lab, classes, name)
    cfg["Dhcp4"]["subnet4"][0]["pools"] = pools
    return cfg, sock


def offer_of(client, **discover):
    xid = new_xid()
    if "vendor_class" in discover:
        discover["extra_options"] = [(60, discover.pop("vendor_class"))]
    r = client.ask(reference.discover(client.mac, xid, **discover), xid=xid,
                   types={MsgType.DHCPOFFER}, timeout=1.0, tries=2)
    return None if r is None else int(r.pkt.yiaddr.split(".")[-1])


def test_a_guarded_pool_serves_its_class_and_the_others_get_the_open_pool(lab, topo, servers,
                                                                           raw):
    cfg, _ = guarded_pools(topo, lab, [
        {"name": "pxe", "test": "substring(option[60].hex, 0, 9) == 'PXEClient'"}],
        [{"pool": f"{NET}.110 - {NET}.119", "client-class": "pxe"},
         {"pool": f"{NET}.120 - {NET}.129"}], "guard")
    servers.start(cfg)
    assert 110 <= offer_of(raw, vendor_class=b"PXEClient:Arch:00007:UNDI:003016") <= 119
    ns, ifname, other_mac = topo.client()
    with RawClient(lab, ns, ifname, other_mac) as other:
        assert 120 <= offer_of(other) <= 129
        assert 120 <= offer_of(other, vendor_class=b"MSFT 5.0") <= 129
        # asking for an address of the guarded pool by name: NAKed (not for its class)
        xid = new_xid()
        offer = other.ask(reference.discover(other.mac, xid), xid=xid,
                          types={MsgType.DHCPOFFER})
        xid = new_xid()
        reply = other.ask(reference.request(other.mac, xid, server_id=offer.opt_ip(54),
                                            requested_ip=f"{NET}.115"),
                          xid=xid, types={MsgType.DHCPACK, MsgType.DHCPNAK})
        assert reply is not None and reply.pkt.msg_type == MsgType.DHCPNAK


def test_a_pool_of_a_class_nobody_is_in_serves_nobody(lab, topo, servers, raw):
    cfg, _ = guarded_pools(topo, lab, [
        {"name": "never", "test": "option[60].hex == 'no such client'"}],
        [{"pool": f"{NET}.110 - {NET}.119", "client-class": "never"},
         {"pool": f"{NET}.120 - {NET}.129", "client-class": "undefined-class"}], "guardnone")
    servers.start(cfg)
    assert offer_of(raw) is None


def test_per_port_pools_by_circuit_id(lab, topo, servers, raw):
    cfg, _ = guarded_pools(topo, lab, [
        {"name": "port1", "test": "relay4[1].hex == 'ge-0/0/1'"},
        {"name": "port2", "test": "relay4[1].hex == 'ge-0/0/2'"}],
        [{"pool": f"{NET}.110 - {NET}.119", "client-class": "port1"},
         {"pool": f"{NET}.120 - {NET}.129", "client-class": "port2"}], "guardport")
    servers.start(cfg)
    assert 110 <= offer_of(raw, relay_info=[(1, b"ge-0/0/1")]) <= 119
    ns, ifname, other_mac = topo.client()
    with RawClient(lab, ns, ifname, other_mac) as other:
        assert 120 <= offer_of(other, relay_info=[(1, b"ge-0/0/2")]) <= 129
        assert offer_of(other, relay_info=[(1, b"ge-0/0/3")]) is None


# ---- boot fields by class: PXE by architecture (option 93), iPXE by its user class (77) ------

PXE_CLASSES = [
    {"name": "ipxe", "test": "option[77].hex == 'iPXE'",
     "boot-file-name": "http://boot.example/menu.ipxe"},
    {"name": "uefi", "test": "option[93].hex == 0x0007", "next-server": "192.0.2.7",
     "boot-file-name": "ipxe.efi", "server-hostname": "tftp-uefi"},
    {"name": "bios", "test": "option[93].hex == 0x0000", "next-server": "192.0.2.8",
     "boot-file-name": "undionly.kpxe"},
]


def boot_fields(client, **discover):
    xid = new_xid()
    r = client.ask(reference.discover(client.mac, xid, **discover), xid=xid,
                   types={MsgType.DHCPOFFER}, timeout=1.0, tries=2)
    assert r is not None
    return r.pkt.siaddr, r.pkt.sname, r.pkt.file


def test_pxe_clients_get_the_boot_file_and_server_of_their_architecture(lab, topo, servers,
                                                                        raw):
    cfg, _ = with_classes(topo, lab, PXE_CLASSES, "pxeboot")
    cfg["Dhcp4"]["subnet4"][0].update({"next-server": "192.0.2.1", "boot-file-name": "default"})
    servers.start(cfg)
    uefi = [(93, b"\x00\x07"), (60, b"PXEClient:Arch:00007:UNDI:003016")]
    bios = [(93, b"\x00\x00"), (60, b"PXEClient:Arch:00000:UNDI:002001")]
    assert boot_fields(raw, extra_options=uefi) == ("192.0.2.7", b"tftp-uefi", b"ipxe.efi")
    assert boot_fields(raw, extra_options=bios) == ("192.0.2.8", b"", b"undionly.kpxe")
    # iPXE, chain-loaded from the UEFI ROM: the first class that sets a field wins it (Kea's
    # setFixedFields), so the script from 'ipxe', next-server and sname from 'uefi'
    assert boot_fields(raw, extra_options=uefi + [(77, b"iPXE")]) == (
        "192.0.2.7", b"tftp-uefi", b"http://boot.example/menu.ipxe")
    # nothing matches: the subnet's fields
    assert boot_fields(raw) == ("192.0.2.1", b"", b"default")


# ---- subnets guarded by a class, in a shared network -------------------------------------------

def test_a_shared_networks_members_serve_the_classes_they_admit(lab, topo, servers, raw):
    cfg, _ = with_classes(topo, lab, [
        {"name": "pxe", "test": "substring(option[60].hex, 0, 9) == 'PXEClient'"}], "netguard")
    first = dict(cfg["Dhcp4"]["subnet4"][0])
    first.pop("interface", None)
    first["client-class"] = "pxe"
    second = {"id": 2, "subnet": "198.51.100.0/24",
              "pools": [{"pool": "198.51.100.100 - 198.51.100.199"}],
              "option-data": [{"name": "routers", "data": "198.51.100.1"}]}
    cfg["Dhcp4"]["subnet4"] = []
    cfg["Dhcp4"]["shared-networks"] = [{"name": "lab", "interface": topo.bridge,
                                        "subnet4": [first, second]}]
    servers.start(cfg)

    def subnet_of(client, **discover):
        xid = new_xid()
        r = client.ask(reference.discover(client.mac, xid, **discover), xid=xid,
                       types={MsgType.DHCPOFFER}, timeout=1.0, tries=2)
        return None if r is None else r.pkt.yiaddr.rsplit(".", 1)[0]
    assert subnet_of(raw, extra_options=[(60, b"PXEClient:Arch:00007")]) == NET
    ns, ifname, other_mac = topo.client()
    with RawClient(lab, ns, ifname, other_mac) as other:
        assert subnet_of(other) == "198.51.100"
        assert subnet_of(other, extra_options=[(60, b"MSFT 5.0")]) == "198.51.100"


def test_a_guarded_subnet_alone_serves_only_its_class(lab, topo, servers, raw):
    cfg, _ = with_classes(topo, lab, [
        {"name": "pxe", "test": "substring(option[60].hex, 0, 9) == 'PXEClient'"}], "subguard")
    cfg["Dhcp4"]["subnet4"][0]["client-class"] = "pxe"
    servers.start(cfg)
    assert offered(raw, vendor_class=b"PXEClient:Arch:00000")
    ns, ifname, other_mac = topo.client()
    with RawClient(lab, ns, ifname, other_mac) as other:
        assert not offered(other)


def test_the_first_class_with_a_lifetime_gives_the_lease_time(lab, topo, servers, raw):
    cfg, _ = with_classes(topo, lab, [
        {"name": "pxe", "test": "substring(option[60].hex, 0, 9) == 'PXEClient'",
         "valid-lifetime": 300, "min-valid-lifetime": 200, "max-valid-lifetime": 400},
        {"name": "any-vendor", "test": "option[60].exists", "valid-lifetime": 900}],
        "lifetime")
    servers.start(cfg)

    def lease_time(**discover):
        xid = new_xid()
        r = raw.ask(reference.discover(raw.mac, xid, **discover), xid=xid,
                    types={MsgType.DHCPOFFER}, timeout=1.0, tries=2)
        return int.from_bytes(r.pkt.option(51), "big")
    pxe = [(60, b"PXEClient:Arch:00000")]
    assert lease_time(extra_options=pxe) == 300
    assert lease_time(extra_options=pxe + [(51, (1000).to_bytes(4, "big"))]) == 400
    assert lease_time(extra_options=pxe + [(51, (250).to_bytes(4, "big"))]) == 250
    assert lease_time(extra_options=[(60, b"MSFT 5.0")]) == 900
    assert lease_time() == 600                      # no class: the subnet's


# ---- options by class: below the subnet's, above the global ones -------------------------------

def test_class_options_come_between_the_subnets_and_the_global_ones(lab, topo, servers, raw):
    cfg, _ = with_classes(topo, lab, [
        {"name": "pxe", "test": "substring(option[60].hex, 0, 9) == 'PXEClient'",
         "option-data": [{"name": "tftp-server-name", "data": "tftp.pxe"},     # 66
                         {"name": "boot-file-name", "data": "pxe.efi"},        # 67
                         {"name": "domain-name", "data": "pxe.example"}]},     # 15: global too
        {"name": "any-vendor", "test": "option[60].exists",
         "option-data": [{"name": "tftp-server-name", "data": "tftp.any"},
                         {"name": "log-servers", "data": "192.0.2.9"}]}],      # 7
        "classopts")
    sub = cfg["Dhcp4"]["subnet4"][0]
    sub["option-data"] = sub.get("option-data", []) + [
        {"name": "log-servers", "data": "192.0.2.5"}]                          # subnet wins 7
    servers.start(cfg)

    def options(extra):
        xid = new_xid()
        r = raw.ask(reference.discover(raw.mac, xid, prl=[1, 3, 6, 7, 15, 66, 67],
                                       extra_options=extra), xid=xid,
                    types={MsgType.DHCPOFFER}, timeout=1.0, tries=2)
        return {c: r.pkt.option(c) for c in (7, 15, 66, 67)}
    pxe = options([(60, b"PXEClient:Arch:00007")])
    assert pxe[66] == b"tftp.pxe" and pxe[67] == b"pxe.efi"   # the first joined class's
    assert pxe[15] == b"pxe.example"                          # the class's over the global one
    assert pxe[7] == bytes([192, 0, 2, 5])                    # the subnet's over the classes'
    other = options([(60, b"MSFT 5.0")])
    assert other[66] == b"tftp.any" and other[67] is None
    assert other[15] != b"pxe.example" and other[15]          # the global one
    assert options([])[66] is None


# ---- KNOWN and UNKNOWN: after the host lookup ------------------------------------------------

def test_known_clients_get_the_known_pool_and_the_others_the_guest_pool(lab, topo, servers, raw):
    ns, ifname, guest_mac = topo.client()
    cfg, _ = with_classes(topo, lab, [
        {"name": "staff", "test": "member('KNOWN') and option[60].exists"}], "known")
    sub = cfg["Dhcp4"]["subnet4"][0]
    sub["pools"] = [{"pool": f"{NET}.110 - {NET}.119", "client-class": "KNOWN"},
                    {"pool": f"{NET}.120 - {NET}.129", "client-class": "UNKNOWN"}]
    sub["reservations"] = [{"hw-address": raw.mac.hex(":"), "hostname": "reserved-no-address"}]
    cfg["Dhcp4"]["client-classes"][0]["boot-file-name"] = "staff.efi"
    servers.start(cfg)

    def offer(client, **kw):
        xid = new_xid()
        return client.ask(reference.discover(client.mac, xid, **kw), xid=xid,
                          types={MsgType.DHCPOFFER}, timeout=1.0, tries=2)
    known = offer(raw, extra_options=[(60, b"acme")])
    assert 110 <= int(known.pkt.yiaddr.split(".")[-1]) <= 119
    assert known.pkt.file == b"staff.efi"          # 'staff' needs KNOWN: evaluated after it
    with RawClient(lab, ns, ifname, guest_mac) as guest:
        unknown = offer(guest, extra_options=[(60, b"acme")])
        assert 120 <= int(unknown.pkt.yiaddr.split(".")[-1]) <= 129
        assert unknown.pkt.file == b""


# ---- required classes: evaluated only where a subnet or pool requires them --------------------

def test_required_classes_apply_only_where_required(lab, topo, servers, raw):
    cfg, _ = with_classes(topo, lab, [
        {"name": "late", "test": "option[60].exists", "only-if-required": True,
         "option-data": [{"name": "boot-file-name", "data": "required.efi"}]},
        {"name": "never-required", "test": "option[60].exists", "only-if-required": True,
         "option-data": [{"name": "tftp-server-name", "data": "nobody"}]}], "required")
    sub = cfg["Dhcp4"]["subnet4"][0]
    sub["pools"] = [{"pool": f"{NET}.110 - {NET}.119", "require-client-classes": ["late"]}]
    servers.start(cfg)

    def opts(extra):
        xid = new_xid()
        r = raw.ask(reference.discover(raw.mac, xid, prl=[1, 3, 66, 67], extra_options=extra),
                    xid=xid, types={MsgType.DHCPOFFER}, timeout=1.0, tries=2)
        return r.pkt.option(66), r.pkt.option(67)
    assert opts([(60, b"PXEClient")]) == (None, b"required.efi")
    assert opts([]) == (None, None)


def test_a_reservations_classes_are_the_clients_after_the_host_lookup(lab, topo, servers, raw):
    ns, ifname, other_mac = topo.client()
    cfg, _ = with_classes(topo, lab, [
        {"name": "vip", "boot-file-name": "vip.efi"}], "resvclasses")
    sub = cfg["Dhcp4"]["subnet4"][0]
    sub["pools"] = [{"pool": f"{NET}.110 - {NET}.119", "client-class": "vip"},
                    {"pool": f"{NET}.120 - {NET}.129"}]
    sub["reservations"] = [{"hw-address": raw.mac.hex(":"), "client-classes": ["vip"]}]
    servers.start(cfg)

    def offer(client):
        xid = new_xid()
        r = client.ask(reference.discover(client.mac, xid), xid=xid,
                       types={MsgType.DHCPOFFER}, timeout=1.0, tries=2)
        return int(r.pkt.yiaddr.split(".")[-1]), r.pkt.file
    addr, file = offer(raw)
    assert 110 <= addr <= 119 and file == b"vip.efi"
    with RawClient(lab, ns, ifname, other_mac) as other:
        addr, file = offer(other)
        assert 120 <= addr <= 129 and file == b""


# ---- BOOTP (Kea's libdhcp_bootp.so) --------------------------------------------------------

def test_a_bootp_request_gets_an_infinite_lease_without_dhcp_options(lab, topo, servers, raw):
    cfg, _ = with_classes(topo, lab, [
        {"name": "bootp-boot", "test": "member('BOOTP')", "boot-file-name": "bootp.img"}],
        "bootp")
    cfg["Dhcp4"]["hooks-libraries"] = [
        {"library": "/usr/lib/x86_64-linux-gnu/kea/hooks/libdhcp_bootp.so"}]
    proc = servers.start(cfg)
    xid = new_xid()
    d = reference.discover(raw.mac, xid, prl=[])
    assert d[240:243] == b"\x35\x01\x01"
    request = d[:240] + b"\x00\x00\x00" + d[243:]        # the same, without 53: BOOTP
    r = raw.ask(request, xid=xid, types={0}, timeout=1.0, tries=2)
    assert r is not None, "no BOOTREPLY"
    assert r.pkt.msg_type == 0 and r.pkt.option(53) is None
    for code in (51, 54, 58, 59, 61):
        assert r.pkt.option(code) is None, code
    assert r.pkt.file == b"bootp.img"
    assert r.pkt.yiaddr.startswith(NET + ".")
    assert r.pkt.option(1) is not None                   # the subnet mask still goes
    # a DHCP client is not in BOOTP
    xid = new_xid()
    offer = raw.ask(reference.discover(raw.mac, xid), xid=xid, types={MsgType.DHCPOFFER},
                    timeout=1.0, tries=2)
    assert offer is not None and offer.pkt.file == b""
    # the lease is infinite in the file (Kea's 4294967295)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        rows = [ln for ln in open(proc.lease_path).read().splitlines()
                if ln.startswith(r.pkt.yiaddr + ",")]
        if rows:
            break
        time.sleep(0.1)
    assert rows and rows[-1].split(",")[3] == "4294967295", rows


# ---- vendor-encapsulated options (43) by class, with the class's own definition -------------

def test_a_class_gives_option_43_with_the_sub_options_of_its_own_definition(lab, topo, servers,
                                                                            raw):
    cfg, _ = with_classes(topo, lab, [
        {"name": "ubnt", "test": "substring(option[60].hex, 0, 4) == 'ubnt'",
         "option-def": [{"name": "vendor-encapsulated-options", "code": 43, "type": "empty",
                         "encapsulate": "ubnt"}],
         "option-data": [{"name": "vendor-encapsulated-options"},
                         {"name": "unifi-controller", "space": "ubnt", "data": "192.0.2.10"}]}],
        "opt43")
    cfg["Dhcp4"]["option-def"] = [{"name": "unifi-controller", "code": 1,
                                   "type": "ipv4-address", "space": "ubnt"}]
    servers.start(cfg)

    def option_43(**kw):
        xid = new_xid()
        r = raw.ask(reference.discover(raw.mac, xid, prl=[1, 3, 43], **kw), xid=xid,
                    types={MsgType.DHCPOFFER}, timeout=1.0, tries=2)
        return r.pkt.option(43)
    assert option_43(extra_options=[(60, b"ubnt")]) == bytes([1, 4, 192, 0, 2, 10])
    assert option_43() is None
