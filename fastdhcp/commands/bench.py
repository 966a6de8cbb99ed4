"""``fastdhcp bench SERVER``: the load generator's command line (the generator: tools/bench.py).

Exit status: 0 done, 1 a duplicate address was ACKed, 2 the run could not start.
"""

from __future__ import annotations

import argparse
import json
import sys


def parse_mix(text: str) -> dict[str, float]:
    out = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, _, value = part.partition("=")
        try:
            out[name.strip()] = float(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"bad --mix entry {part!r}: use NAME=FRACTION") from None
    return out


def register(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("bench", help="a batched DHCPv4 load generator (relay or broadcast mode)",
                       description="Simulate many DHCPv4 clients against SERVER and report "
                                   "completed exchanges/s, losses and latency percentiles.")
    p.add_argument("server", nargs="?",
                   help="the server's address (relay mode: requests go to SERVER:67)")
    p.add_argument("--server", dest="servers", action="append", default=[], metavar="ADDRESS",
                   help="relay mode: one more server every request goes to, as a relay with "
                        "several helper addresses does; the first answer of each exchange "
                        "counts, and the report says which server gave it (repeatable)")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--giaddr", default="198.19.0.1",
                      help="relay mode: the relay address to bind and put in giaddr (a local "
                           "address; process i uses giaddr + i)")
    mode.add_argument("--interface", "-i", help="broadcast mode on this interface (port 68)")
    p.add_argument("--exchange", choices=("dora", "do"), default="dora")
    p.add_argument("--mix", type=parse_mix, default={},
                   help="fractions of other exchanges, e.g. renew=0.2,release=0.05,decline=0.01,"
                        "inform=0.05 (relay mode)")
    load = p.add_mutually_exclusive_group()
    load.add_argument("--rate", "-r", type=float, default=0.0, help="open loop: exchanges/s")
    load.add_argument("--window", "-w", type=int, default=0,
                      help="closed loop: exchanges kept outstanding (max throughput)")
    p.add_argument("--duration", "-d", type=float, default=None,
                   help="seconds (default 10; none when --count is given alone)")
    p.add_argument("--count", "-n", type=int, default=0, help="stop after this many exchanges")
    p.add_argument("--clients", "-R", type=int, default=50_000, help="distinct clients (50000)")
    p.add_argument("--mac-seed", type=lambda s: int(s.replace(":", ""), 16),
                   default=0x0A_00_00_00_00_00, help="first client MAC (hex; client i is +i)")
    p.add_argument("--timeout", type=float, default=2.0, help="seconds before an exchange is lost")
    p.add_argument("--subnet", help="check every yiaddr is in this prefix (a.b.c.d/len)")
    p.add_argument("--server-id", help="check every reply's option 54 is this address")
    p.add_argument("--procs", type=int, default=1, help="generator processes (relay mode)")
    p.add_argument("--cpus", type=lambda s: [int(x) for x in s.split(",")],
                   help="pin process i to the i-th of these CPUs, e.g. 1 or 2,3")
    p.add_argument("--batch", type=int, default=64, help="datagrams per sendmmsg/recvmmsg")
    p.add_argument("--server-port", type=int, default=67, help="the server's port (default 67)")
    p.add_argument("--port", type=int, dest="local_port",
                   help="local port (default 67 in relay mode, 68 in broadcast mode)")
    p.add_argument("--seed", type=int, default=1, help="seed of the exchange mix")
    p.add_argument("--hostnames", action="store_true",
                   help="clients send a host name (option 12, h<8 hex digits>), as most do")
    p.add_argument("--ack-log", help="write one line per ACK: chaddr,yiaddr,lease_time")
    p.add_argument("--json", dest="json_out", help="write the report as JSON to this file (- : stdout)")
    p.add_argument("--plot", help="PNG of rate and latency over time (needs matplotlib)")
    p.add_argument("--quiet", "-q", action="store_true", help="no live progress line")
    return p


def options_from(args: argparse.Namespace):
    """The generator's ``Options`` from the parsed command line."""
    from ..tools.bench import Options
    servers = ([args.server] if args.server else []) + args.servers
    if not servers:
        raise SystemExit("fastdhcp bench: a server address is needed (SERVER or --server)")
    if len(servers) > 1 and args.interface:
        raise SystemExit("fastdhcp bench: several servers are a relay's (relay mode): in "
                         "broadcast mode every server on the link hears the client anyway")
    return Options(server=servers[0], servers=servers[1:],
                   giaddr=None if args.interface else args.giaddr,
                   interface=args.interface, exchange=args.exchange, mix=args.mix,
                   rate=args.rate, window=args.window, count=args.count,
                   duration=args.duration if args.duration is not None else
                   (0.0 if args.count else 10.0),
                   clients=args.clients, mac_seed=args.mac_seed, timeout=args.timeout,
                   subnet=args.subnet, server_id=args.server_id, procs=args.procs, cpus=args.cpus,
                   batch=args.batch, ack_log=args.ack_log, plot=args.plot,
                   json_out=args.json_out, progress=not args.quiet, seed=args.seed,
                   server_port=args.server_port, local_port=args.local_port)


def run(args: argparse.Namespace) -> int:
    from ..tools.bench import BenchError, format_report, run as generate
    opts = options_from(args)
    try:
        rep = generate(opts)
    except BenchError as e:
        print(f"fastdhcp bench: {e}", file=sys.stderr)
        return 2
    if opts.json_out == "-":
        print(json.dumps(rep, indent=2))
    else:
        print(format_report(rep))
        if opts.json_out:
            with open(opts.json_out, "w") as f:
                json.dump(rep, f, indent=2)
    return 1 if rep["counters"]["duplicates"] else 0
