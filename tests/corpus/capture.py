#!/usr/bin/env python3
"""Record real DHCPv4 client <-> kea-dhcp4 conversations into pcap files (the test corpus).

Run as root:  python3 tests/corpus/capture.py OUTDIR [--keep-lab]

Everything happens inside network namespaces made by fastdhcp/_lab/netlab.py; nothing touches the host's
interfaces. Topology (all addresses RFC 5737 documentation space):

    c-dhclient, c-udhcpc, c-dhcpcd, c-perf  --veth-->  [bridge 192.0.2.1/24 in srv]  kea-dhcp4
    c-relay --veth 203.0.113.0/24--> [rly: dhcrelay] --veth 198.51.100.0/24--> srv

Each client runs alone while a capture runs on the server side (the bridge, or the relay link),
so every file holds one client's packets and kea's replies. Files written to OUTDIR:

    dhclient.pcapng        ISC dhclient: INIT-REBOOT for a foreign lease -> NAK, DORA, RENEW (T1),
                           restart -> INIT-REBOOT -> ACK, `dhclient -r` -> RELEASE
    udhcpc.pcap            busybox udhcpc (classic pcap, tcpdump): DORA, RENEW (SIGUSR1),
                           RELEASE (-R on exit)
    cooked-any.pcapng      the same udhcpc run seen from inside the client namespace on 'any'
                           (Linux cooked v2, SLL2)
    cooked-any-sll.pcap    ditto, Linux cooked v1 (SLL), classic pcap
    dhcpcd.pcapng          dhcpcd: DORA, RENEW (SIGUSR1), restart -> INIT-REBOOT, RELEASE (-k)
    perfdhcp.pcapng        perfdhcp from an addressed client on the segment (broadcast DORA,
                           giaddr = its own address, as perfdhcp always does), renews, releases
    perfdhcp-relay.pcapng  perfdhcp unicast to the server from the relay link (relay emulation)
    dhcrelay.pcapng        dhclient behind ISC dhcrelay -a (option 82), captured server side
    kea-dhcp4.json         the server configuration used
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import time

from fastdhcp._lab import netlab

SRV_NET = "192.0.2"        # client segment, bridge in srv
UP_NET = "198.51.100"      # srv <-> relay
RELAY_NET = "203.0.113"    # relay <-> relayed client
FOREIGN_IP = "203.0.113.77"  # a lease "from another network" for dhclient's INIT-REBOOT -> NAK

# Fixed, locally administered MACs: the corpus is reproducible and never names a real NIC.
MAC = {
    "srv": "02:fd:00:00:00:01",
    "dhclient": "02:fd:00:00:01:01",
    "udhcpc": "02:fd:00:00:01:02",
    "dhcpcd": "02:fd:00:00:01:03",
    "perf": "02:fd:00:00:01:04",
    "relayed": "02:fd:00:00:01:05",
}

PKGS = ["kea-dhcp4-server", "isc-dhcp-client", "busybox", "udhcpc", "dhcpcd-base",
        "isc-dhcp-relay", "kea-admin", "tshark", "tcpdump", "iproute2"]


def log(msg):
    print(f"[capture] {msg}", flush=True)


def kea_config(lab, ifaces, bridge):
    def opts(router):
        return [{"name": "routers", "data": router},
                {"name": "domain-name-servers", "data": router},
                {"name": "domain-name", "data": "lab.example"}]
    return {"Dhcp4": {
        "interfaces-config": {"interfaces": ifaces, "dhcp-socket-type": "raw"},
        "control-socket": {"socket-type": "unix", "socket-name": lab.path("kea4.sock")},
        "lease-database": {"type": "memfile", "persist": True, "lfc-interval": 0,
                           "name": lab.path("kea-leases4.csv")},
        # short T1 so clients renew within seconds; T2 and lifetime long enough not to expire
        "valid-lifetime": 600, "renew-timer": 10, "rebind-timer": 500,
        # NAK an INIT-REBOOT for an address that is wrong for the link even when kea has no
        # lease for the client (non-authoritative kea 2.2 stays silent instead)
        "authoritative": True,
        "subnet4": [
            {"id": 1, "subnet": f"{SRV_NET}.0/24", "interface": bridge,
             "pools": [{"pool": f"{SRV_NET}.100 - {SRV_NET}.199"}], "option-data": opts(f"{SRV_NET}.1")},
            {"id": 2, "subnet": f"{UP_NET}.0/24",
             "pools": [{"pool": f"{UP_NET}.100 - {UP_NET}.199"}], "option-data": opts(f"{UP_NET}.1")},
            {"id": 3, "subnet": f"{RELAY_NET}.0/24",
             "pools": [{"pool": f"{RELAY_NET}.100 - {RELAY_NET}.199"}],
             "option-data": opts(f"{RELAY_NET}.1")},
        ],
        "loggers": [{"name": "kea-dhcp4", "severity": "INFO",
                     "output_options": [{"output": "stdout"}]}],
    }}


class Corpus:
    def __init__(self, lab, outdir):
        self.lab, self.outdir = lab, outdir
        self.events = {}
        self.clients = {}

    # -- helpers ------------------------------------------------------------------------------

    def out(self, name):
        return os.path.join(self.outdir, name)

    def hook_script(self, name, body):
        """A client hook script that records each event in <lab>/<name>.events and applies the
        lease address to the interface (inside the client namespace only), so unicast renewals
        have a source address. No DNS, no routes, nothing outside the namespace."""
        ev = self.lab.path(f"{name}.events")
        open(ev, "w").close()
        self.events[name] = ev
        path = self.lab.path(f"{name}-hook.sh")
        with open(path, "w") as f:
            f.write("#!/bin/sh\n" + body.replace("@EV@", ev) + "\nexit 0\n")
        os.chmod(path, 0o755)
        return path

    def wait_event(self, name, word, count=1, timeout=30):
        ev = self.events[name]

        def seen():
            with open(ev) as f:
                return sum(1 for ln in f if ln.split()[:1] == [word]) >= count
        self.lab.wait_for(seen, timeout, interval=0.1, what=f"{name} event {word} x{count}")

    def client_ns(self, name, addr=None):
        """Namespace c_<name> plugged into the server's bridge; returns (ns, ifname)."""
        ns = self.lab.netns(f"c_{name}")
        link = self.lab.link(ns, self.srv, addr, None, mac_a=MAC[name], master_b=self.bridge)
        self.clients[name] = (ns, link.if_a)

    # -- lab ------------------------------------------------------------------------------------

    def build(self):
        lab = self.lab
        self.srv = lab.netns("srv")
        self.bridge = lab.bridge(self.srv, f"{SRV_NET}.1/24", mac=MAC["srv"])
        self.rly = lab.netns("rly")
        self.up = lab.link(self.srv, self.rly, f"{UP_NET}.1/24", f"{UP_NET}.2/24")
        # replies to the relay's giaddr (203.0.113.1) must route back through it
        lab.ip(self.srv, "route", "add", f"{RELAY_NET}.0/24", "via", f"{UP_NET}.2")
        # Clients are plugged in before kea starts: a bridge without ports has no carrier, and
        # kea skips interfaces that are not running.
        for name in ("dhclient", "udhcpc", "dhcpcd"):
            self.client_ns(name)
        self.client_ns("perf", f"{SRV_NET}.250/24")  # perfdhcp needs an address: see perfdhcp()
        cfg = kea_config(lab, [self.bridge, self.up.if_a], self.bridge)
        self.kea_cfg = lab.path("kea-dhcp4.json")
        with open(self.kea_cfg, "w") as f:
            json.dump(cfg, f, indent=2)
        # pid and lock files into the lab dir: concurrent runs must not share /run/kea
        env = dict(os.environ, KEA_PIDFILE_DIR=lab.dir, KEA_LOCKFILE_DIR=lab.dir)
        self.kea = lab.spawn(self.srv, ["kea-dhcp4", "-c", self.kea_cfg], env=env)
        lab.wait_udp_listen(self.srv, 67, timeout=15, proc=self.kea)
        lab.wait_for(lambda: "DHCP4_STARTED" in lab.tail(self.kea), 10, what="kea DHCP4_STARTED")
        if "OPEN_SOCKET_FAIL" in lab.tail(self.kea):
            raise netlab.LabError("kea could not open its sockets:\n" + lab.tail(self.kea))
        log(f"kea-dhcp4 up (pid {self.kea.pid}) on {self.bridge}, {self.up.if_a}")

    def server_capture(self, fname, iface=None, **kw):
        return self.lab.capture(self.srv, iface or self.bridge, self.out(fname), **kw)

    # -- clients --------------------------------------------------------------------------------

    def dhclient(self):
        lab = self.lab
        ns, ifname = self.clients["dhclient"]
        script = self.hook_script("dhclient", """
echo "$reason $new_ip_address" >> @EV@
case "$reason" in
  BOUND|RENEW|REBIND|REBOOT) ip addr replace "$new_ip_address/$new_subnet_mask" dev "$interface" ;;
  EXPIRE|FAIL|RELEASE|STOP) [ -n "$old_ip_address" ] &&
    ip addr del "$old_ip_address/$old_subnet_mask" dev "$interface" ;;
esac""")
        conf, lf, pf = lab.path("dhclient.conf"), lab.path("dhclient.leases"), lab.path("dhclient.pid")
        # Debian's stock request list, with a fixed host name instead of the machine's
        with open(conf, "w") as f:
            f.write('send host-name "lab-dhclient";\n'
                    "option rfc3442-classless-static-routes code 121 = array of unsigned integer 8;\n"
                    "request subnet-mask, broadcast-address, time-offset, routers, domain-name,\n"
                    "  domain-name-servers, domain-search, host-name, netbios-name-servers,\n"
                    "  netbios-scope, interface-mtu, rfc3442-classless-static-routes, ntp-servers;\n"
                    "timeout 30;\nretry 5;\nreboot 6;\n")
        # A still-valid lease from another network: dhclient starts in INIT-REBOOT for it and
        # kea must NAK (RFC 2131 4.3.2: requested address on the wrong network).
        with open(lf, "w") as f:
            f.write(f'lease {{\n  interface "{ifname}";\n  fixed-address {FOREIGN_IP};\n'
                    f"  option subnet-mask 255.255.255.0;\n  option dhcp-lease-time 86400;\n"
                    f"  option dhcp-server-identifier {RELAY_NET}.1;\n"
                    f"  renew 4 2037/12/31 00:00:00;\n  rebind 4 2037/12/31 00:00:00;\n"
                    f"  expire 4 2037/12/31 00:00:00;\n}}\n")
        base = ["dhclient", "-4", "-cf", conf, "-lf", lf, "-pf", pf, "-sf", script]
        cap = self.server_capture("dhclient.pcapng")
        p = lab.spawn(ns, base + ["-d", "-v", ifname])
        self.wait_event("dhclient", "BOUND", timeout=40)
        log("dhclient bound; waiting for T1 renewal")
        self.wait_event("dhclient", "RENEW", timeout=30)
        lab.stop(p)  # SIGTERM: dhclient exits keeping its lease (no RELEASE)
        p = lab.spawn(ns, base + ["-d", "-v", ifname])
        self.wait_event("dhclient", "REBOOT", timeout=30)
        log("dhclient rebooted; releasing")
        # -r reads the pid file, stops the running dhclient, sends RELEASE
        lab.run(ns, base + ["-r", "-v", ifname], timeout=30, check=True)
        self.wait_event("dhclient", "RELEASE", timeout=10)
        lab.stop(p)
        cap.stop()

    def udhcpc(self):
        lab = self.lab
        ns, ifname = self.clients["udhcpc"]
        script = self.hook_script("udhcpc", """
echo "$1 $ip" >> @EV@
case "$1" in
  bound|renew) ip addr replace "$ip/$mask" dev "$interface" ;;
  deconfig) ip -4 addr flush dev "$interface" ;;
esac""")
        cap = self.server_capture("udhcpc.pcap", tool="tcpdump", fmt="pcap")
        cooked2 = lab.capture(ns, "any", self.out("cooked-any.pcapng"), linktype="LINUX_SLL2")
        cooked1 = lab.capture(ns, "any", self.out("cooked-any-sll.pcap"), tool="tcpdump",
                              fmt="pcap", linktype="LINUX_SLL")
        # -f foreground, -R release on exit, bounded retries (-t/-T/-A)
        # -B: ask for broadcast replies (flags 0x8000), so the corpus also has OFFER/ACK sent
        # to 255.255.255.255 (RFC 2131 4.1); the other clients get unicast-to-yiaddr replies.
        p = lab.spawn(ns, ["udhcpc", "-f", "-B", "-i", ifname, "-s", script, "-R", "-t", "5",
                           "-T", "2", "-A", "2", "-x", "hostname:lab-udhcpc"])
        self.wait_event("udhcpc", "bound", timeout=30)
        time.sleep(0.5)
        lab.signal(p, signal.SIGUSR1)  # renew now (unicast REQUEST, RFC 2131 4.4.5 RENEWING)
        self.wait_event("udhcpc", "renew", timeout=15)
        time.sleep(0.5)
        lab.stop(p)  # SIGTERM with -R: RELEASE
        for c in (cooked1, cooked2, cap):
            c.stop()

    def dhcpcd(self):
        lab = self.lab
        ns, ifname = self.clients["dhcpcd"]
        script = self.hook_script("dhcpcd", 'echo "$reason $new_ip_address" >> @EV@')
        conf = lab.path("dhcpcd.conf")
        # Debian's stock dhcpcd.conf minus IPv6/SLAAC, plus a fixed host name; dhcpcd itself
        # sets the address (inside the namespace); the hook script only records events.
        with open(conf, "w") as f:
            f.write("duid\npersistent\nvendorclassid\nhostname lab-dhcpcd\n"
                    "option domain_name_servers, domain_name, domain_search\n"
                    "option classless_static_routes\noption interface_mtu\noption host_name\n"
                    "option rapid_commit\nrequire dhcp_server_identifier\nnoipv6\nnoipv4ll\n")
        # dhcpcd insists on /run/dhcpcd and /var/lib/dhcpcd: give it private ones (bind mounts
        # in its own mount namespace), shared between its runs so the lease survives a restart.
        binds = {"/run/dhcpcd": lab.path("dhcpcd-run"), "/var/lib/dhcpcd": lab.path("dhcpcd-db")}
        base = ["dhcpcd", "-f", conf, "-c", script, "-4", "-t", "30"]
        cap = self.server_capture("dhcpcd.pcapng")
        p = lab.spawn(ns, base + ["-B", ifname], binds=binds)
        self.wait_event("dhcpcd", "BOUND", timeout=40)
        log("dhcpcd bound; renewing")
        time.sleep(0.5)
        lab.signal(p, signal.SIGUSR1)  # renew
        self.wait_event("dhcpcd", "RENEW", timeout=15)
        time.sleep(0.5)
        lab.stop(p)  # SIGTERM + 'persistent': exits keeping the lease
        p = lab.spawn(ns, base + ["-B", ifname], binds=binds)
        self.wait_event("dhcpcd", "REBOOT", timeout=40)
        log("dhcpcd rebooted; releasing")
        time.sleep(0.5)
        # -k asks the running daemon (control socket in the shared /run/dhcpcd) to release;
        # its hook then reports STOP, not RELEASE, and it exits
        lab.run(ns, ["dhcpcd", "-4", "-k", ifname], timeout=20, binds=binds)
        lab.wait_for(lambda: p.poll() is not None, 10, what="dhcpcd exit after release")
        cap.stop()

    def perfdhcp(self):
        lab = self.lab
        # perfdhcp (DHCPv4) always acts as a relay: giaddr = its socket address, hops = 1, so it
        # needs an address; .250 is outside the pool.
        ns, ifname = self.clients["perf"]
        cap = self.server_capture("perfdhcp.pcapng")
        # 20 DORA exchanges at 10/s from 20 simulated clients, plus renews (-f) and releases
        # (-F) at 2/s; bounded by -n and -p (seconds). perfdhcp exits 3 here: it counts the
        # unanswered RELEASEs as drops. (perfdhcp 2.2's -B does not set the broadcast flag.)
        r = lab.run(ns, ["perfdhcp", "-4", "-l", ifname, "-r", "10", "-n", "20", "-R", "20",
                         "-f", "2", "-F", "2", "-p", "10", "-W", "500000",
                         "-b", "mac=02:fd:00:00:02:00"], timeout=40)
        cap.stop()
        self.perf_report = r.stdout + r.stderr
        log("perfdhcp broadcast run: exit %d" % r.returncode)
        # relay emulation: unicast from the relay link to the server address
        cap = self.server_capture("perfdhcp-relay.pcapng", iface=self.up.if_a)
        r = lab.run(self.rly, ["perfdhcp", "-4", "-l", f"{UP_NET}.2", "-r", "10", "-n", "10",
                               "-R", "10", "-p", "10", "-W", "500000",
                               "-b", "mac=02:fd:00:00:03:00", f"{UP_NET}.1"], timeout=40)
        cap.stop()
        self.perf_relay_report = r.stdout + r.stderr
        log("perfdhcp relay run: exit %d" % r.returncode)

    def dhcrelay(self):
        lab = self.lab
        ns = lab.netns("c_relay")
        down = lab.link(self.rly, ns, f"{RELAY_NET}.1/24", None, mac_b=MAC["relayed"])
        script = self.hook_script("relayed", """
echo "$reason $new_ip_address" >> @EV@
case "$reason" in
  BOUND|RENEW|REBIND|REBOOT) ip addr replace "$new_ip_address/$new_subnet_mask" dev "$interface"
    ip route replace default via "${new_routers%% *}" dev "$interface" ;;
esac""")
        # The client's unicast RELEASE goes straight to the server (RFC 2131 4.4.6), routed
        # through the relay's namespace.
        lab.sysctl(self.rly, "net.ipv4.ip_forward", 1)
        # -a: add relay agent information (option 82: circuit-id = downstream interface name,
        # RFC 3046); -d foreground; -iu/-id: up- and downstream interfaces, nothing else.
        relay = lab.spawn(self.rly, ["dhcrelay", "-4", "-d", "-a", "-id", down.if_a,
                                     "-iu", self.up.if_b, f"{UP_NET}.1"])
        lab.wait_udp_listen(self.rly, 67, timeout=10, proc=relay)
        cap = self.server_capture("dhcrelay.pcapng", iface=self.up.if_a)
        conf = lab.path("relayed.conf")
        with open(conf, "w") as f:
            f.write('send host-name "lab-relayed";\nrequest subnet-mask, routers, '
                    "domain-name, domain-name-servers;\n")
        base = ["dhclient", "-4", "-cf", conf, "-lf", lab.path("relayed.leases"),
                "-pf", lab.path("relayed.pid"), "-sf", script]
        p = lab.spawn(ns, base + ["-d", "-v", down.if_b])
        self.wait_event("relayed", "BOUND", timeout=40)
        lab.run(ns, base + ["-r", "-v", down.if_b], timeout=30, check=True)
        lab.stop(p)
        cap.stop()
        lab.stop(relay)


def tshark_summary(path):
    """{message type name: count} of the DHCP messages in a capture, via tshark."""
    r = subprocess.run(["tshark", "-r", path, "-Y", "dhcp", "-T", "fields", "-e", "dhcp.option.dhcp"],
                       capture_output=True, text=True, timeout=60)
    names = {1: "DISCOVER", 2: "OFFER", 3: "REQUEST", 4: "DECLINE", 5: "ACK", 6: "NAK",
             7: "RELEASE", 8: "INFORM"}
    counts = {}
    for ln in r.stdout.split():
        for v in ln.split(","):
            if v.isdigit():
                n = names.get(int(v), v)
                counts[n] = counts.get(n, 0) + 1
    return counts


EXPECT = {
    "dhclient.pcapng": {"DISCOVER", "OFFER", "REQUEST", "ACK", "NAK", "RELEASE"},
    "udhcpc.pcap": {"DISCOVER", "OFFER", "REQUEST", "ACK", "RELEASE"},
    "cooked-any.pcapng": {"DISCOVER", "OFFER", "REQUEST", "ACK", "RELEASE"},
    "cooked-any-sll.pcap": {"DISCOVER", "OFFER", "REQUEST", "ACK", "RELEASE"},
    "dhcpcd.pcapng": {"DISCOVER", "OFFER", "REQUEST", "ACK", "RELEASE"},
    "perfdhcp.pcapng": {"DISCOVER", "OFFER", "REQUEST", "ACK"},
    "perfdhcp-relay.pcapng": {"DISCOVER", "OFFER", "REQUEST", "ACK"},
    "dhcrelay.pcapng": {"DISCOVER", "OFFER", "REQUEST", "ACK", "RELEASE"},
}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("outdir")
    ap.add_argument("--keep-lab", action="store_true", help="keep the lab temp dir (logs)")
    ap.add_argument("--only", nargs="*", help="run only these steps")
    args = ap.parse_args(argv)
    netlab.require_root()
    netlab.exit_on_sigterm()
    os.makedirs(args.outdir, exist_ok=True)
    steps = ["dhclient", "udhcpc", "dhcpcd", "perfdhcp", "dhcrelay"]
    if args.only:
        steps = [s for s in steps if s in args.only]
    with netlab.Lab(keep_dir=args.keep_lab) as lab:
        log(f"lab {lab.tag}, dir {lab.dir}")
        c = Corpus(lab, args.outdir)
        try:
            c.build()
            for step in steps:
                log(f"--- {step}")
                getattr(c, step)()
        except Exception:
            log("FAILED; kea log tail:\n" + (lab.tail(c.kea) if hasattr(c, "kea") else ""))
            raise
        # the config as used, with the per-run tag and temp dir made neutral so that reruns
        # produce the same file
        with open(c.kea_cfg) as f:
            text = f.read().replace(lab.dir, "LABDIR").replace(lab.tag, "TAG")
        with open(os.path.join(args.outdir, "kea-dhcp4.json"), "w") as f:
            f.write(text)
        if hasattr(c, "perf_report"):
            with open(os.path.join(args.outdir, "perfdhcp-report.txt"), "w") as f:
                f.write(c.perf_report + "\n--- relay run\n" + c.perf_relay_report)
    for fname in os.listdir(args.outdir):  # dumpcap creates 0600 files
        os.chmod(os.path.join(args.outdir, fname), 0o644)
    ok = True
    for fname, want in EXPECT.items():
        path = os.path.join(args.outdir, fname)
        if not os.path.exists(path):
            continue
        counts = tshark_summary(path)
        missing = want - set(counts)
        ok &= not missing
        log(f"{fname}: {os.path.getsize(path)} bytes {counts}" + (f" MISSING {missing}" if missing else ""))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
