"""``fastdhcp leases``: move a lease database between ISC dhcpd and Kea, so that a dhcpd user
migrates the clients' bindings along with the configuration (and can go back).

    fastdhcp leases import DHCPD_LEASES -c KEA_CONFIG -o LEASES4_CSV
    fastdhcp leases export LEASES4_CSV -o DHCPD_LEASES

``import`` turns dhcpd.leases into Kea's memfile CSV; each lease takes the id of the configured
subnet that holds it. ``export`` turns a Kea (2.0 or later) or fastdhcp lease file into
dhcpd.leases. What is kept, what is skipped and how the states map: ``fastdhcp.leases.dhcpd``.

Both print what they did on stdout and name each malformed block or row, with its line, on stderr.
Exit status: 0 done; 1 done, but part of the input was malformed (and skipped), or the output
could not be written; 2 an input could not be read (or the configuration cannot be used). The
output is written beside its final name and renamed over it when complete, so an interrupted run
never leaves half a lease file.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import os
import sys
import tempfile

from .. import __version__
from ..leases import dhcpd
from ..leases.lease import KEA_V4_HEADER
from . import EXIT_FAILURE, EXIT_OK
from . import EXIT_USAGE as EXIT_UNREADABLE

_DESCRIPTION = "Convert a lease database between ISC dhcpd (dhcpd.leases) and Kea (memfile CSV)."


class _EverySubnet:
    """``read_lease_file`` keeps the rows of known subnets; an export keeps them all."""

    def __contains__(self, subnet_id: int) -> bool:
        return True


def _write_whole(path: str, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same directory, renamed over
    ``path`` once it is on disk: a reader sees the old file or the new one, never half of one."""
    fd, temporary = tempfile.mkstemp(dir=os.path.dirname(os.path.abspath(path)),
                                     prefix=f".{os.path.basename(path)}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(temporary, 0o644)      # what dhcpd and Kea create lease files with
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


def _fail(action: str, message: str, status: int) -> int:
    print(f"fastdhcp leases {action}: {message}", file=sys.stderr)
    return status


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def cmd_import(args: argparse.Namespace) -> int:
    from ..config import load_config
    from ..errors import ConfigError
    try:
        with open(args.dhcpd_leases, "rb") as f:
            data = f.read()
    except OSError as exc:
        return _fail("import", f"{args.dhcpd_leases}: {exc.strerror or exc}", EXIT_UNREADABLE)
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        for problem in exc.problems:
            print(f"error: {problem}", file=sys.stderr)
        return _fail("import", f"{args.config}: the configuration cannot be used",
                     EXIT_UNREADABLE)

    parsed = dhcpd.parse_leases(data)
    conversion = dhcpd.to_kea(parsed.leases,
                              {subnet.prefix: subnet.id for subnet in config.subnets})
    errors = sorted(parsed.errors + conversion.errors)
    for line, reason in errors:
        print(f"{args.dhcpd_leases}:{line}: {reason}", file=sys.stderr)
    rows = "".join(row.kea_row() + "\n" for row in conversion.rows)
    try:
        _write_whole(args.output, KEA_V4_HEADER + "\n" + rows)
    except OSError as exc:
        return _fail("import", f"cannot write {args.output}: {exc.strerror or exc}",
                     EXIT_FAILURE)

    print(f"converted: {_plural(len(conversion.rows), 'lease')} "
          f"({args.dhcpd_leases} -> {args.output})")
    if conversion.skipped:
        reasons = collections.Counter(skip.reason for skip in conversion.skipped)
        print(f"skipped: {len(conversion.skipped)} ("
              + ", ".join(f"{count} {reason}" for reason, count in reasons.most_common()) + ")")
        if args.verbose:
            for skip in conversion.skipped:
                print(f"  {args.dhcpd_leases}:{skip.line}: lease {skip.address}: {skip.reason}")
    if errors:
        print(f"errors: {len(errors)} (listed on stderr; each named block was skipped)")
        return EXIT_FAILURE
    return EXIT_OK


def cmd_export(args: argparse.Namespace) -> int:
    from ..leases.memfile import read_lease_file
    # read_lease_file treats a missing file as an empty one (a server's first start).
    if not os.path.exists(args.kea_leases):
        return _fail("export", f"{args.kea_leases}: No such file or directory", EXIT_UNREADABLE)
    try:
        # Each bad row is logged as a warning (file:line, reason) as it is skipped: on stderr
        # unless logging was configured otherwise.
        records, bad_rows = read_lease_file(args.kea_leases, _EverySubnet())
    except OSError as exc:
        return _fail("export", f"{args.kea_leases}: {exc.strerror or exc}", EXIT_UNREADABLE)
    except ValueError as exc:       # not a Kea DHCPv4 lease file
        return _fail("export", str(exc), EXIT_UNREADABLE)

    leases = dhcpd.from_kea(records)
    text = dhcpd.format_leases(
        leases, f"fastdhcp {__version__} from {os.path.basename(args.kea_leases)}")
    try:
        _write_whole(args.output, text)
    except OSError as exc:
        return _fail("export", f"cannot write {args.output}: {exc.strerror or exc}",
                     EXIT_FAILURE)

    print(f"exported: {_plural(len(leases), 'lease')} ({args.kea_leases} -> {args.output})")
    if bad_rows:
        print(f"malformed rows: {bad_rows} (listed on stderr; each was skipped)")
        return EXIT_FAILURE
    return EXIT_OK


def register(sub) -> argparse.ArgumentParser:
    parser = sub.add_parser("leases", help="convert leases between ISC dhcpd and Kea",
                            description=_DESCRIPTION)
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    p = actions.add_parser("import", help="dhcpd.leases -> Kea memfile CSV",
                           description="Convert ISC dhcpd's lease file into Kea's memfile lease "
                                       "file, with the subnet ids of a Kea configuration.")
    p.add_argument("dhcpd_leases", metavar="DHCPD_LEASES", help="dhcpd's lease file")
    p.add_argument("-c", "--config", required=True,
                   help="the Kea-format configuration the leases will be served with")
    p.add_argument("-o", "--output", required=True, help="the Kea lease file to write")
    p.add_argument("-v", "--verbose", action="store_true", help="list every skipped lease")
    p.set_defaults(action_run=cmd_import)

    p = actions.add_parser("export", help="Kea memfile CSV -> dhcpd.leases",
                           description="Convert a Kea (or fastdhcp) memfile lease file into "
                                       "ISC dhcpd's lease file.")
    p.add_argument("kea_leases", metavar="LEASES4_CSV", help="Kea's lease file")
    p.add_argument("-o", "--output", required=True, help="the dhcpd lease file to write")
    p.set_defaults(action_run=cmd_export)
    return parser


def run(args: argparse.Namespace) -> int:
    return args.action_run(args)
