"""``fastdhcp dump CAPTURE [--json]``: decode every DHCP datagram of a pcap/pcapng capture with
the native codec and print one line per message (or one JSON object per line); the records are
fastdhcp.tools.dump's, read by fastdhcp.tools.capture.

Exit status: 0 done; 1 the output could not be written, or the codec could not be loaded; 2 the
capture could not be read (what was read before the damage is printed first).
"""

from __future__ import annotations

import argparse
import sys

from . import EXIT_FAILURE, EXIT_OK, EXIT_USAGE


def register(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("dump", help="decode the DHCP messages in a pcap/pcapng capture",
                       description="Print every DHCPv4 message (UDP port 67/68) in a capture.")
    p.add_argument("capture", help="pcap or pcapng file")
    p.add_argument("--json", action="store_true", help="one JSON object per message")
    return p


def run(args: argparse.Namespace) -> int:
    import msgspec

    from ..tools.capture import CaptureError, dhcp_records
    from ..tools.dump import dump_line, dump_records
    encode = msgspec.json.Encoder().encode
    line = (lambda rec: encode(rec).decode()) if args.json else dump_line
    out = sys.stdout
    try:
        f = open(args.capture, "rb")
    except OSError as exc:
        return _unreadable(args.capture, exc.strerror or exc)
    with f:
        try:
            for rec in dump_records(dhcp_records(f)):
                _emit(out, line(rec) + "\n")
            _emit(out, "")
        except _OutputError as exc:
            print(f"fastdhcp dump: cannot write the output: {exc.__cause__.strerror}",
                  file=sys.stderr)
            return EXIT_FAILURE
        except CaptureError as exc:
            out.flush()             # what was read before the damage stays on stdout
            return _unreadable(args.capture, exc)
        except ImportError as exc:  # the extension is not built in a source tree
            print(f"fastdhcp dump: cannot load the codec: {exc}", file=sys.stderr)
            return EXIT_FAILURE
    return EXIT_OK


class _OutputError(Exception):
    """Writing stdout failed (disk full, closed descriptor); not the capture's fault."""


def _emit(out, text: str) -> None:
    try:
        if text:
            out.write(text)
        else:
            out.flush()
    except BrokenPipeError:
        raise                   # the reader left: main() ends quietly
    except OSError as exc:
        raise _OutputError from exc


def _unreadable(path: str, reason) -> int:
    print(f"fastdhcp dump: {path}: {reason}", file=sys.stderr)
    return EXIT_USAGE
