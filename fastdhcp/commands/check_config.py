"""``fastdhcp check-config -c CONFIG``: validate without serving, as ``kea-dhcp4 -t`` does."""

from __future__ import annotations

import argparse


def register(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("check-config", help="validate a configuration without serving (kea-dhcp4 -t)",
                       description="Check a Kea Dhcp4 configuration: every problem with its JSON path.")
    p.add_argument("-c", "--config", required=True, help="Kea-format configuration file")
    return p


def run(args: argparse.Namespace) -> int:
    from ..config import run_check_config
    return run_check_config(args.config)
