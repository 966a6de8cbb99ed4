"""The ``fastdhcp`` command: one small function per subcommand, registered in ``_build_parser``.

``fastdhcp dump CAPTURE [--json]`` decodes every DHCP datagram of a pcap/pcapng capture with the
native codec and prints one line per message (or one JSON object per line, in a shape that
``tests/test_dump.py`` checks field by field against tshark's view of the same capture).

Adding a subcommand: write ``cmd_NAME(args) -> int`` and a ``_add_NAME(subparsers)`` that
declares its arguments and sets ``func=cmd_NAME``; list the latter in ``_SUBCOMMANDS``.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Iterator

import msgspec

from .packet import MalformedPacket, Packet

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2       # argparse's own status for bad usage; also an unreadable input file


# --- dump -----------------------------------------------------------------------------------------

def _native_decode(data: bytes, **kwargs) -> Packet:
    # Resolved at call time: the extension is imported lazily by the package.
    import fastdhcp
    return fastdhcp.decode(data, **kwargs)


#: The codec ``dump`` decodes with. The native one by default; tests and tools may point it at
#: ``fastdhcp.reference.decode`` (same signature, same Packet, same MalformedPacket).
DUMP_DECODE: Callable[..., Packet] = _native_decode


def _options_table():
    from . import options
    return options


def _option_name(table, code: int) -> str:
    try:
        definition = table.by_code(code)
    except LookupError:
        definition = None
    return definition.name if definition is not None else f"option-{code}"


def _text(field: bytes) -> str:
    # sname/file are NUL-terminated strings in fixed fields (RFC 2131 §2); shown byte for byte.
    return field.decode("latin-1").replace("\x00", "")


def dump_records(datagrams: Iterator[tuple[int, bytes]]) -> Iterator[dict]:
    """One JSON-ready dict per DHCP datagram: the decoded message, or ``frame`` and ``error``."""
    table = None
    for frame, data in datagrams:
        if table is None:           # loaded on the first datagram: errors in the file come first
            table = _options_table()
        try:
            # BOOTP (no option 53) is shown, not dropped: a dump shows what is on the wire.
            p = DUMP_DECODE(data, allow_bootp=True)
        except MalformedPacket as exc:
            yield {"frame": frame, "error": exc.reason.label}
            continue
        yield {
            "frame": frame,
            "op": p.op, "htype": p.htype, "hlen": p.hlen, "hops": p.hops,
            "xid": p.xid, "secs": p.secs, "flags": p.flags,
            "ciaddr": p.ciaddr, "yiaddr": p.yiaddr, "siaddr": p.siaddr, "giaddr": p.giaddr,
            "chaddr": p.chaddr.hex(":"),
            "sname": _text(p.sname), "file": _text(p.file),
            "msg_type": p.msg_type_name,
            "options": [{"code": code, "name": _option_name(table, code),
                         "value": table.decode_value(code, value), "hex": value.hex()}
                        for code, value in p.options],
        }


def _dump_line(rec: dict) -> str:
    if "error" in rec:
        return f"frame {rec['frame']}: malformed ({rec['error']})"
    parts = [f"frame {rec['frame']}:", rec["msg_type"], f"xid=0x{rec['xid']:08x}",
             f"chaddr={rec['chaddr'] or '-'}"]
    parts += [f"{k}={rec[k]}" for k in ("ciaddr", "yiaddr", "giaddr") if rec[k] != "0.0.0.0"]
    parts += [f"{k}={rec[k]!r}" for k in ("sname", "file") if rec[k]]
    parts.append("options=[" + ", ".join(o["name"] for o in rec["options"]) + "]")
    return " ".join(parts)


def cmd_dump(args: argparse.Namespace) -> int:
    from .capture import CaptureError, dhcp_datagrams
    encode = msgspec.json.Encoder().encode
    line = (lambda rec: encode(rec).decode()) if args.json else _dump_line
    out = sys.stdout
    try:
        f = open(args.capture, "rb")
    except OSError as exc:
        return _unreadable(args.capture, exc.strerror or exc)
    with f:
        try:
            for rec in dump_records(dhcp_datagrams(f)):
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


def _add_dump(sub) -> None:
    p = sub.add_parser("dump", help="decode the DHCP messages in a pcap/pcapng capture",
                       description="Print every DHCPv4 message (UDP port 67/68) in a capture.")
    p.add_argument("capture", help="pcap or pcapng file")
    p.add_argument("--json", action="store_true", help="one JSON object per message")
    p.set_defaults(func=cmd_dump)


def cmd_serve(args: argparse.Namespace) -> int:
    from .server import run
    return run(args.config, port=args.port, durability=args.durability)


def _add_serve(sub) -> None:
    p = sub.add_parser("serve", help="serve DHCPv4 with a Kea Dhcp4 configuration",
                       description="Serve DHCPv4 as kea-dhcp4 would with the same configuration.")
    p.add_argument("-c", "--config", required=True, help="Kea-format configuration file")
    p.add_argument("-p", "--port", type=int, default=67, help="server port (default 67)")
    p.add_argument("--durability", choices=("fsync", "write", "none"), default="fsync",
                   help="lease file: fdatasync before the ACKs (default), write only (Kea's "
                        "memfile), or no file")
    p.set_defaults(func=cmd_serve)


def cmd_check_config(args: argparse.Namespace) -> int:
    from .config import run_check_config
    return run_check_config(args.config)


def _add_check_config(sub) -> None:
    p = sub.add_parser("check-config", help="validate a configuration without serving (kea-dhcp4 -t)",
                       description="Check a Kea Dhcp4 configuration: every problem with its JSON path.")
    p.add_argument("-c", "--config", required=True, help="Kea-format configuration file")
    p.set_defaults(func=cmd_check_config)


def cmd_demo(args: argparse.Namespace) -> int:
    from .demo import run_demo
    return run_demo(rate=args.rate, seconds=args.seconds)


def _add_demo(sub) -> None:
    p = sub.add_parser("demo", help="a namespace lab: a real client takes a lease, then a short load",
                       description="Build a throwaway network-namespace lab, serve it, show a real "
                                   "client's lease and a short load, and clean up (needs root).")
    p.add_argument("--rate", type=int, default=5000, help="offered DORA/s of the short load")
    p.add_argument("--seconds", type=int, default=5, help="length of the short load")
    p.set_defaults(func=cmd_demo)


def cmd_bench(args: argparse.Namespace) -> int:
    from .bench import main
    return main(args)


def _add_bench(sub) -> None:
    from .bench import add_arguments
    p = sub.add_parser("bench", help="a batched DHCPv4 load generator (relay or broadcast mode)",
                       description="Simulate many DHCPv4 clients against SERVER and report "
                                   "completed exchanges/s, losses and latency percentiles.")
    add_arguments(p)
    p.set_defaults(func=cmd_bench)


# --- the command ----------------------------------------------------------------------------------

def _add_leases(sub) -> None:
    from .leases_cli import add_parser
    add_parser(sub)


_SUBCOMMANDS = (_add_dump, _add_serve, _add_check_config, _add_bench, _add_leases, _add_demo)


def _build_parser() -> argparse.ArgumentParser:
    from . import __version__
    parser = argparse.ArgumentParser(prog="fastdhcp",
                                     description="fastdhcp, a DHCPv4 server compatible with Kea.")
    parser.add_argument("--version", action="version", version=f"fastdhcp {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for add in _SUBCOMMANDS:
        add(sub)
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
