"""Client classes with real clients: busybox udhcpc sending a vendor class (-V) lands in the pool
of its class, and ISC dhclient behind ISC dhcrelay (-a: option 82 with the circuit id of the
port the client is on) lands in the pool of its port. The same assertions run against
kea-dhcp4 2.2 with FASTDHCP_E2E_SERVER=kea."""

from __future__ import annotations

import os

from e2e import NET, RELAY_NET, UP_NET, in_pool, spawn_client, subnet
from e2e import servers, topo  # noqa: F401  (fixtures)
from fastdhcp._lab import netlab
from test_e2e_server import Dhclient, run_udhcpc

lab = netlab.lab_fixture(scope="module", keep_dir=bool(os.environ.get("FASTDHCP_E2E_KEEP")))


def test_udhcpc_with_a_vendor_class_gets_the_pool_of_its_class(lab, topo, servers):
    classes = [{"name": "phones", "test": "option[60].text == 'acme-phone'"}]
    pools = [{"pool": f"{NET}.150 - {NET}.159", "client-class": "phones"},
             {"pool": f"{NET}.160 - {NET}.169"}]
    s = subnet(1, NET, "150 - 169", interface=topo.bridge)
    s["pools"] = pools
    servers.start(subnets=[s], client_classes=classes)
    ns1, if1, _ = topo.client()
    ns2, if2, _ = topo.client()
    phone = run_udhcpc(lab, ns1, if1, "cls-phone", "-V", "acme-phone")["ip"]
    other = run_udhcpc(lab, ns2, if2, "cls-other")["ip"]     # udhcpc's own: "udhcp 1.x"
    assert in_pool(phone, f"{NET}.150", f"{NET}.159"), phone
    assert in_pool(other, f"{NET}.160", f"{NET}.169"), other


def test_dhclient_behind_dhcrelay_gets_the_pool_of_its_port(lab, topo, servers):
    r = topo.relay_side()
    up, down = r["up"], r["down"]
    # dhcrelay -a puts the name of the interface the request came in on as the circuit id
    classes = [{"name": "this-port", "test": f"relay4[1].hex == '{down.if_a}'"},
               {"name": "other-port", "test": "relay4[1].hex == 'eth99'"}]
    relayed = subnet(4, RELAY_NET, "100 - 199")
    relayed["pools"] = [{"pool": f"{RELAY_NET}.100 - {RELAY_NET}.119",
                         "client-class": "other-port"},
                        {"pool": f"{RELAY_NET}.120 - {RELAY_NET}.139",
                         "client-class": "this-port"}]
    servers.start(subnets=[subnet(1, NET, "100 - 199", interface=topo.bridge),
                           subnet(2, UP_NET, "100 - 199"), relayed],
                  interfaces=[topo.bridge, up.if_a], client_classes=classes)
    relay = spawn_client(lab, r["rly"], ["dhcrelay", "-4", "-d", "-a", "-id", down.if_a,
                                         "-iu", up.if_b, f"{UP_NET}.1"])
    lab.wait_udp_listen(r["rly"], 67, timeout=10, proc=relay)
    dh = Dhclient(lab, r["cns"], down.if_b, "cls-relayed")
    dh.start()
    ip = dh.wait("BOUND")
    dh.release()
    lab.stop(relay)
    assert in_pool(ip, f"{RELAY_NET}.120", f"{RELAY_NET}.139"), ip


def test_dhclient_as_a_uefi_pxe_client_gets_the_uefi_boot_file_and_server(lab, topo, servers):
    """ISC dhclient sending what a UEFI PXE ROM sends (option 93 = 7, the PXEClient vendor
    class): the class's boot file is in its lease; a plain dhclient gets the subnet's."""
    classes = [{"name": "uefi", "test": "option[93].hex == 0x0007 and "
                                        "substring(option[60].hex, 0, 9) == 'PXEClient'",
                "next-server": f"{NET}.7", "boot-file-name": "ipxe.efi"},
               {"name": "bios", "test": "option[93].hex == 0x0000",
                "next-server": f"{NET}.8", "boot-file-name": "undionly.kpxe"}]
    s = subnet(1, NET, "100 - 199", interface=topo.bridge)
    s["boot-file-name"] = "default.img"
    servers.start(subnets=[s], client_classes=classes)
    pxe_conf = ('option pxe-system-type code 93 = unsigned integer 16;\n'
                'send pxe-system-type 7;\n'
                'send vendor-class-identifier "PXEClient:Arch:00007:UNDI:003016";\n')
    ns1, if1, _ = topo.client()
    ns2, if2, _ = topo.client()
    uefi = Dhclient(lab, ns1, if1, "cls-uefi", conf_extra=pxe_conf)
    plain = Dhclient(lab, ns2, if2, "cls-plain")
    for dh in (uefi, plain):
        dh.start()
        dh.wait("BOUND")
    leases = uefi.last_lease(), plain.last_lease()
    for dh in (uefi, plain):
        dh.release()
    # (dhclient keeps the boot file in its lease; siaddr it does not record: the raw-frame
    # test in test_classes_drop.py checks next-server)
    assert leases[0].get("filename") == "ipxe.efi", leases[0]
    assert leases[1].get("filename") == "default.img", leases[1]
