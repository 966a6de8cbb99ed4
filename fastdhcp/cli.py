"""The ``fastdhcp`` command: the subcommands of ``fastdhcp.commands``, one module each.

Adding a subcommand: write ``fastdhcp/commands/NAME.py`` with ``register(subparsers)`` (declares
the subcommand and its arguments, returns its parser) and ``run(args) -> int`` (does it, returns
the exit status), and list the module in ``COMMANDS``.
"""

from __future__ import annotations

import argparse
import os
import sys

from .commands import EXIT_OK, bench, check_config, ctl, db, demo, dump, leases, serve

#: In the order ``fastdhcp --help`` lists them.
COMMANDS = (dump, serve, check_config, bench, leases, db, ctl, demo)


def _build_parser() -> argparse.ArgumentParser:
    from . import __version__
    parser = argparse.ArgumentParser(prog="fastdhcp",
                                     description="fastdhcp, a DHCPv4 server compatible with Kea.")
    parser.add_argument("--version", action="version", version=f"fastdhcp {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for command in COMMANDS:
        command.register(sub).set_defaults(func=command.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _build_parser().parse_args(argv)
    try:
        return args.func(args)
    except BrokenPipeError:
        # `fastdhcp dump x.pcap | head`: the reader left, which is not an error. Point stdout at
        # /dev/null so that the interpreter's final flush does not raise again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
