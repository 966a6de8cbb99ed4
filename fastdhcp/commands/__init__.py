"""The ``fastdhcp`` subcommands, one module each.

Every module here exposes the same two things, and ``fastdhcp.cli`` lists the modules:

* ``register(subparsers) -> argparse.ArgumentParser``: add the subcommand, with its help text and
  its arguments, and return its parser (the CLI points it at ``run``);
* ``run(args) -> int``: do it; the return value is the exit status.

A module imports what its ``run`` needs inside ``run``, so that ``fastdhcp --help`` and every
other subcommand start without loading the server, the native core or the lab.
"""

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2       # argparse's own status for bad usage; also an unreadable input file
