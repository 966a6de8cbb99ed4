"""``fastdhcp serve -c CONFIG``: serve DHCPv4 as kea-dhcp4 would (fastdhcp.server)."""

from __future__ import annotations

import argparse


def register(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("serve", help="serve DHCPv4 with a Kea Dhcp4 configuration",
                       description="Serve DHCPv4 as kea-dhcp4 would with the same configuration.")
    p.add_argument("-c", "--config", required=True, help="Kea-format configuration file")
    p.add_argument("-p", "--port", type=int, default=67, help="server port (default 67)")
    p.add_argument("--durability", choices=("fsync", "write", "none"), default="fsync",
                   help="lease file: fdatasync before the ACKs (default), write only (Kea's "
                        "memfile), or no file")
    p.add_argument("--metrics", metavar="ADDRESS:PORT",
                   help="serve Prometheus metrics at http://ADDRESS:PORT/metrics (no "
                        "authentication: bind it where only the Prometheus server reaches)")
    p.add_argument("--log-sample", type=int, default=20, metavar="N",
                   help="Kea's per-packet messages (DHCP4_LEASE_ALLOC, DHCP4_PACKET_DROP_*, "
                        "ALLOC_ENGINE_V4_ALLOC_FAIL_*, ...): at most N of each kind per 10 s when "
                        "their logger is on, the rest counted (default 20; 0: every one, as Kea)")
    return p


def run(args: argparse.Namespace) -> int:
    from ..server import run as serve
    return serve(args.config, port=args.port, durability=args.durability,
                 metrics=args.metrics, log_sample=args.log_sample)
