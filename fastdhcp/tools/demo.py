"""``fastdhcp demo``: a whole lab in one command, then gone.

It builds two links in network namespaces of its own (nothing touches the machine's real
interfaces), starts ``fastdhcp serve`` with a Kea-style configuration, lets busybox's udhcpc take a
lease on the client link and shows what it was given, drives a short load through the relay link
with Kea's perfdhcp, prints the server's counters and lease file, and removes everything.

    lab:  [cli] udhcpc --veth 192.0.2.0/24-- [srv] fastdhcp --veth 198.51.100.0/24-- [gen] perfdhcp
                                                  (relay address 198.51.100.2 -> 10.20.0.0/16)
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import sys
import time

from .._lab.netlab import Lab, require_root

CLIENT_SCRIPT = """#!/bin/sh
# udhcpc calls this with the lease in its environment; keep what it was given
[ "$1" = bound ] && env | grep -E '^(ip|subnet|router|dns|domain|lease|serverid)=' > "$0.out"
exit 0
"""


def demo_config(lab: Lab, client_if: str, relay_if: str) -> dict:
    return {"Dhcp4": {
        "interfaces-config": {"interfaces": [client_if, relay_if], "dhcp-socket-type": "raw"},
        "lease-database": {"type": "memfile", "persist": True, "name": lab.path("leases4.csv")},
        "valid-lifetime": 3600, "renew-timer": 1800, "rebind-timer": 3150,
        "authoritative": True,
        "option-data": [{"name": "domain-name-servers", "data": "192.0.2.53"},
                        {"name": "domain-name", "data": "demo.example"}],
        "subnet4": [
            {"id": 1, "subnet": "192.0.2.0/24", "interface": client_if,
             "pools": [{"pool": "192.0.2.100 - 192.0.2.199"}],
             "option-data": [{"name": "routers", "data": "192.0.2.1"}]},
            {"id": 2, "subnet": "10.20.0.0/16", "relay": {"ip-addresses": ["198.51.100.2"]},
             "pools": [{"pool": "10.20.0.10 - 10.20.255.250"}],
             "option-data": [{"name": "routers", "data": "10.20.0.1"}]},
        ]}}


def step(text: str) -> None:
    print(f"\n== {text}", flush=True)


def run_demo(rate: int = 5000, seconds: int = 5) -> int:
    require_root()
    for tool in ("udhcpc", "perfdhcp"):
        if shutil.which(tool) is None:
            print(f"demo: {tool} is missing (bash .ci/setup installs it)", file=sys.stderr)
            return 1
    with Lab(prefix="fdd") as lab:
        step("building the lab (network namespaces, veth links)")
        srv, cli, gen = lab.netns("srv"), lab.netns("cli"), lab.netns("gen")
        client_link = lab.link(srv, cli, "192.0.2.1/24")
        relay_link = lab.link(srv, gen, "198.51.100.1/24", "198.51.100.2/24")
        lab.ip(gen, "route", "add", "10.20.0.0/16", "via", "198.51.100.1")
        print(f"   server {client_link.if_a} 192.0.2.1/24, {relay_link.if_a} 198.51.100.1/24")

        step("starting fastdhcp serve with a Kea-format configuration")
        cfg_path = lab.path("kea-dhcp4.json")
        with open(cfg_path, "w") as f:
            json.dump(demo_config(lab, client_link.if_a, relay_link.if_a), f, indent=2)
        server = lab.spawn(srv, [sys.executable, "-m", "fastdhcp", "serve", "-c", cfg_path],
                           log=lab.path("server.log"))
        lab.wait_udp_listen(srv, 67, proc=server)
        print(f"   config {cfg_path}")

        step("a real client (busybox udhcpc) asks for a lease")
        script = lab.path("udhcpc.sh")
        with open(script, "w") as f:
            f.write(CLIENT_SCRIPT)
        os.chmod(script, 0o755)
        t = time.perf_counter()
        r = lab.run(cli, ["udhcpc", "-i", client_link.if_b, "-q", "-n", "-f", "-t", "4", "-T", "1",
                          "-s", script], timeout=30)
        if r.returncode != 0 or not os.path.exists(script + ".out"):
            print(f"   udhcpc got no lease (exit {r.returncode}):\n{r.stderr}")
            print(lab.tail(server))
            return 1
        print(f"   lease obtained in {(time.perf_counter() - t) * 1000:.0f} ms:")
        for line in open(script + ".out"):
            print(f"     {line.strip()}")

        step(f"a short load: perfdhcp as a relay, {rate} exchanges/s offered for {seconds} s")
        r = lab.run(gen, ["taskset", "-c", "1", "perfdhcp", "-4", "-l", "198.51.100.2",
                          "-r", str(rate), "-R", str(rate * seconds * 2), "-p", str(seconds),
                          "198.51.100.1"], timeout=seconds + 30)
        report = r.stdout + r.stderr
        for key in ("sent packets", "received packets", "drops", "avg delay"):
            for line in report.splitlines():
                if key in line:
                    print(f"   {line.strip()}")
        m = re.findall(r"received packets:\s*(\d+)", report)
        if len(m) >= 2:
            print(f"   => {int(m[1]) / seconds:,.0f} completed DORA exchanges/s")

        step("what the server did")
        lab.signal(server, signal.SIGUSR1)          # the server logs its counters
        time.sleep(0.3)
        lab.stop(server)
        rows = open(lab.path("leases4.csv")).read().splitlines()
        print(f"   lease file: {len(rows) - 1} rows, e.g.\n     {rows[0]}\n     {rows[1] if len(rows) > 1 else ''}")
        for line in lab.tail(server).splitlines():
            if "stats" in line or "serving" in line:
                print(f"   {line[line.find(']') + 2:][:400]}")
        step("cleaning up (namespaces and processes removed)")
    return 0
