"""``fastdhcp demo``: a throwaway namespace lab, served, shown and removed (fastdhcp.tools.demo)."""

from __future__ import annotations

import argparse


def register(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("demo", help="a namespace lab: a real client takes a lease, then a short load",
                       description="Build a throwaway network-namespace lab, serve it, show a real "
                                   "client's lease and a short load, and clean up (needs root).")
    p.add_argument("--rate", type=int, default=5000, help="offered DORA/s of the short load")
    p.add_argument("--seconds", type=int, default=5, help="length of the short load")
    return p


def run(args: argparse.Namespace) -> int:
    from ..tools.demo import run_demo
    return run_demo(rate=args.rate, seconds=args.seconds)
