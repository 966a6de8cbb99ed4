#!/usr/bin/env python3
"""What 20 client classes cost the whole server: `fastdhcp bench` closed loop against fastdhcp
with the same configuration without classes and with 20 (PXE and UEFI by options 60 and 93,
vendor classes, circuit ids of option 82, MAC prefixes, member() chains, a DROP that matches
nobody, two pool guards), and kea-dhcp4 2.2 with the 20 classes in the same run; repeats
interleaved. fastdhcp evaluates the classes something reads (the DROP chain, the two guards'
classes: 6 of the 20); Kea evaluates all 20.

    python benchmarks/classes_bench.py [--quick] [--json FILE]

The lab, servers and pinning are server_bench.py's (server on one core, generator on the other,
relay topology, a fresh server per measurement). Printed: DORA/s and p99 REQUEST->ACK of each,
and the ratio with/without classes. Timings are for reading, never for passing anything.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import durability_bench as db  # noqa: E402
import generator_bench as gb  # noqa: E402
import server_bench as sb  # noqa: E402

netlab = sb.netlab


def twenty_classes() -> list[dict]:
    """Twenty classes of the kinds real configurations have; none matches the bench's clients
    but every one is evaluated for every packet (Kea evaluates them all too)."""
    out = [
        {"name": "pxe", "test": "substring(option[60].hex, 0, 9) == 'PXEClient'"},
        {"name": "uefi-x64", "test": "member('pxe') and option[93].hex == 0x0007"},
        {"name": "uefi-x64-http", "test": "member('pxe') and option[93].hex == 0x0010"},
        {"name": "bios", "test": "member('pxe') and option[93].hex == 0x0000"},
        {"name": "ipxe", "test": "option[77].hex == 'iPXE'"},
        {"name": "arm64", "test": "option[93].hex == 0x000b"},
        {"name": "cisco-phone", "test": "substring(option[60].hex, 0, 13) == 'Cisco Systems'"},
        {"name": "polycom", "test": "substring(option[60].hex, 0, 7) == 'Polycom'"},
        {"name": "msft", "test": "option[60].hex == 'MSFT 5.0'"},
        {"name": "udhcp", "test": "substring(option[60].hex, 0, 5) == 'udhcp'"},
    ]
    for port in range(1, 7):
        out.append({"name": f"port-{port}", "test": f"relay4[1].hex == 'ge-0/0/{port}'"})
    out += [
        {"name": "lab-macs", "test": "substring(pkt4.mac, 0, 3) == 0x00163e"},
        {"name": "vm-macs", "test": "substring(pkt4.mac, 0, 3) == 0x525400"},
        {"name": "known-switch", "test": "relay4[2].hex == 'core-sw-1' and not member('lab-macs')"},
        {"name": "DROP", "test": "pkt4.mac == 0x0000deadbeef or member('known-switch') and "
                                 "member('vm-macs')"},
    ]
    assert len(out) == 20
    return out


class ClassesBench(db.DurabilityBench):
    def with_classes(self, on: bool):
        cfg = json.loads(json.dumps(self.config))
        if on:
            cfg["Dhcp4"]["client-classes"] = twenty_classes()
            # two pool guards (the PXE clients' and port 1's pools, out of the bench clients'
            # way: they take the open pool after them)
            cfg["Dhcp4"]["subnet4"][0]["pools"] = [
                {"pool": "198.19.0.10 - 198.19.0.99", "client-class": "pxe"},
                {"pool": "198.19.0.100 - 198.19.0.199", "client-class": "port-1"},
            ] + cfg["Dhcp4"]["subnet4"][0]["pools"]
        with open(self.config_path, "w") as f:
            json.dump(cfg, f)

    def run(self, name, rep, on):
        label = f"r{rep}-{name}-{'classes' if on else 'plain'}"
        self.with_classes(on)
        try:
            return self.run_bench(name, label, ["--window", "256", "--duration", "6",
                                                "--timeout", "2", "--clients", "20000"], 6.0)
        finally:
            self.restore_config()


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="1 repeat")
    p.add_argument("--json", metavar="FILE")
    raw = p.parse_args(argv)
    args = sb.parse_args(["--servers", "fastdhcp"] + (["--quick"] if raw.quick else []))
    args.budget = 300.0 if raw.quick else 900.0
    netlab.require_root()
    netlab.exit_on_sigterm()
    lab = netlab.Lab(keep_dir=True)
    keys = [("fastdhcp-plain", "fastdhcp", False), ("fastdhcp-classes", "fastdhcp", True),
            ("kea-classes", "kea", True)]
    try:
        b = ClassesBench(lab, args)
        res = gb.interleaved(lambda rep, name, on: b.run(name, rep, on), keys, args.repeats,
                             "classes_bench")
    finally:
        lab.close()
        shutil.rmtree(lab.dir, ignore_errors=True)
    med = gb.med

    def rate(key):
        return med([r["completed_per_second"] for r in res[key]])
    print("\nclosed loop (window 256, 6 s), 20 client classes evaluated per packet:")
    for key in res:
        print(f"  {key:<18} {gb.cell(rate(key))} DORA/s")
    if rate("fastdhcp-plain") and rate("fastdhcp-classes"):
        print(f"  fastdhcp with/without classes: "
              f"{rate('fastdhcp-classes')['median'] / rate('fastdhcp-plain')['median']:.1%}")
    if raw.json:
        with open(raw.json, "w") as f:
            json.dump(res, f, indent=1, default=str)


if __name__ == "__main__":
    main()
