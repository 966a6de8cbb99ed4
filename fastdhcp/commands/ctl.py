"""``fastdhcp ctl``: send one control command to a running server, as kea-shell and socat do,
over Kea's unix control socket or an HTTP/HTTPS control socket (fastdhcp's own, or
kea-ctrl-agent's).

    fastdhcp ctl -s /run/kea/kea4-ctrl-socket lease4-get ip-address=192.0.2.10
    fastdhcp ctl --url https://127.0.0.1:8000/ --ca ca.pem --cert me.pem --key me.key list-commands

``key=value`` pairs make the arguments map; each value is JSON when it parses as JSON
(``limit=10`` is a number, ``from=start`` a string). The answer is printed on stdout as indented
JSON (``--raw``: as received). Exit status: the answer's Kea result code (0 success, 1 error,
2 unsupported, 3 empty; any other code counts as 1), 4 when no answer came (the transport
failed: no socket, refused, 401, TLS, timeout, an answer that is not JSON), 64 when the command
line cannot be used (EX_USAGE); argparse's own complaints (an unknown option) exit 2 with
"usage:" on stderr and nothing on stdout. Operator's page: docs/ctl.md.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import socket
import sys
from typing import Any

from . import EXIT_FAILURE

EXIT_TRANSPORT = 4      # no answer: a Kea result code is never this here (see _status)
EXIT_USAGE = 64         # EX_USAGE (sysexits.h): 2 is taken by Kea's "unsupported"
KEA_RESULTS = {0: "success", 1: "error", 2: "unsupported", 3: "empty"}

SOCKET_ENV, URL_ENV = "FASTDHCP_CTL_SOCKET", "FASTDHCP_CTL_URL"


class UsageError(Exception):
    """The command line cannot be used; nothing was sent."""


class TransportError(Exception):
    """No usable answer came back; the message says why."""


# --- the command --------------------------------------------------------------------------

def _json_or_text(value: str) -> Any:
    def refuse(constant: str) -> Any:
        raise ValueError(constant)      # NaN and Infinity are not JSON: keep them as text
    try:
        return json.loads(value, parse_constant=refuse)
    except ValueError:
        return value


def pairs_to_arguments(pairs: list[str]) -> dict:
    """``["limit=10", "from=start"]`` -> ``{"limit": 10, "from": "start"}``. A key is taken as
    written (Kea's argument names contain dashes and, in a few commands, dots)."""
    arguments: dict[str, Any] = {}
    for pair in pairs:
        key, equals, value = pair.partition("=")
        if not equals or not key:
            raise UsageError(f"{pair!r} is not key=value")
        if key in arguments:
            raise UsageError(f"{key!r} is given twice")
        arguments[key] = _json_or_text(value)
    return arguments


def _json_arguments(text: str) -> dict:
    if text == "-":
        text = sys.stdin.read()
    try:
        arguments = json.loads(text)
    except ValueError as exc:
        raise UsageError(f"--json is not JSON: {exc}") from None
    if not isinstance(arguments, dict):
        raise UsageError("--json must be a JSON object (the command's arguments map)")
    return arguments


def command_document(args: argparse.Namespace) -> dict:
    """What is sent: ``{"command": ..., "arguments": {...}, "service": [...]}``, the arguments
    only when some were given (Kea tells a missing map from an empty one in a few commands)."""
    if args.json is not None and args.pairs:
        raise UsageError("give the arguments as key=value pairs or as --json, not both")
    document: dict[str, Any] = {"command": args.command}
    if args.json is not None:
        document["arguments"] = _json_arguments(args.json)
    elif args.pairs:
        document["arguments"] = pairs_to_arguments(args.pairs)
    if args.service:
        document["service"] = args.service
    return document


# --- where it goes ------------------------------------------------------------------------

def _destination(args: argparse.Namespace) -> tuple[str | None, str | None]:
    """(socket, url), exactly one set: the command line's, else the environment's."""
    if args.socket and args.url:
        raise UsageError("give -s SOCKET or --url URL, not both")
    if args.socket or args.url:
        return args.socket, args.url
    sock, url = os.environ.get(SOCKET_ENV), os.environ.get(URL_ENV)
    if sock and url:
        raise UsageError(f"both {SOCKET_ENV} and {URL_ENV} are set: give -s or --url")
    if not (sock or url):
        raise UsageError(f"where to? give -s SOCKET or --url URL (or set {SOCKET_ENV} "
                         f"or {URL_ENV})")
    return sock, url


def _check_options(args: argparse.Namespace, url: str | None) -> None:
    https = bool(url) and url.lower().startswith("https:")
    if not url and (args.user or args.password or args.password_file):
        raise UsageError("a unix control socket takes no credentials (--user is for --url)")
    if (args.ca or args.cert or args.key) and not https:
        raise UsageError("--ca, --cert and --key are for https:// URLs")
    if args.key and not args.cert:
        raise UsageError("--key needs --cert")
    if (args.password or args.password_file) and not args.user:
        raise UsageError("a password needs --user")
    if args.password and args.password_file:
        raise UsageError("give --password or --password-file, not both")
    if args.user and not (args.password or args.password_file):
        raise UsageError("--user needs --password or --password-file")
    if args.timeout <= 0:
        raise UsageError("--timeout must be a positive number of seconds")


def _password(args: argparse.Namespace) -> str:
    if args.password is not None:
        return args.password
    try:
        with open(args.password_file, encoding="utf-8") as f:
            return f.readline().rstrip("\r\n")      # the first line, as Kea's password-file
    except OSError as exc:
        raise UsageError(f"--password-file {args.password_file}: "
                         f"{exc.strerror or exc}") from None


# --- the transports -----------------------------------------------------------------------

def send_unix(path: str, body: bytes, timeout: float) -> bytes:
    """Kea's unix socket: write the command, read until the server closes (it answers one
    command per connection and knows where the command ends from the JSON itself, so no
    half-close is needed: e2e.control and socat send it the same way)."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(timeout)
            s.connect(path)
            s.sendall(body)
            parts = []
            while chunk := s.recv(1 << 16):
                parts.append(chunk)
    except FileNotFoundError:
        raise TransportError("no such socket (is the server running, with this "
                             "control-socket?)") from None
    except ConnectionRefusedError:
        raise TransportError("connection refused (nobody listens: a stale socket file?)") from None
    except TimeoutError:
        raise TransportError(f"no answer within {timeout:g} s (--timeout)") from None
    except OSError as exc:
        raise TransportError(exc.strerror or str(exc)) from None
    if not parts:
        raise TransportError("the server closed the connection without an answer")
    return b"".join(parts)


def _tls_context(ca: str | None, cert: str | None, key: str | None):
    import ssl
    if ca and not os.path.exists(ca):
        raise UsageError(f"--ca {ca}: No such file or directory")
    try:
        context = ssl.create_default_context(cafile=ca if ca and not os.path.isdir(ca) else None,
                                             capath=ca if ca and os.path.isdir(ca) else None)
        if cert:
            context.load_cert_chain(cert, key)
    except (OSError, ssl.SSLError) as exc:
        what = "--cert/--key" if cert else "--ca"
        reason = getattr(exc, "reason", None) or exc.strerror or exc
        raise UsageError(f"{what}: cannot be loaded: {reason}") from None
    return context


def _tls_failure(exc, has_cert: bool) -> str:
    import ssl
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"TLS: the server's certificate is not trusted: {exc.verify_message} (check --ca)"
    reason = getattr(exc, "reason", None) or str(exc)
    hint = "" if has_cert else " (the server may want a client certificate: --cert/--key)"
    return f"TLS: {reason}{hint}"


def send_http(url: str, body: bytes, *, timeout: float, authorization: str | None,
              ca: str | None, cert: str | None, key: str | None) -> bytes:
    """POST the command as kea-shell does; the body of a 200 answer."""
    import http.client
    import ssl
    from urllib.parse import urlsplit
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"--url {url}: not an http:// or https:// URL")
    if parts.username is not None:
        raise UsageError(f"--url {url}: give credentials with --user and --password-file, "
                         "not in the URL")
    try:
        port = parts.port
    except ValueError:
        raise UsageError(f"--url {url}: bad port") from None
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    headers = {"Content-Type": "application/json"}
    if authorization:
        headers["Authorization"] = authorization
    if scheme == "https":
        conn = http.client.HTTPSConnection(parts.hostname, port, timeout=timeout,
                                           context=_tls_context(ca, cert, key))
    else:
        conn = http.client.HTTPConnection(parts.hostname, port, timeout=timeout)
    try:
        conn.request("POST", target, body=body, headers=headers)
        response = conn.getresponse()
        answer = response.read()
    except ssl.SSLError as exc:
        raise TransportError(_tls_failure(exc, bool(cert))) from None
    except ConnectionRefusedError:
        raise TransportError("connection refused (nothing listens there)") from None
    except TimeoutError:
        raise TransportError(f"no answer within {timeout:g} s (--timeout)") from None
    except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
        # A TLS server that wants a client certificate may just hang up on one without it.
        hint = "" if scheme == "http" or cert else \
            " (the server may want a client certificate: --cert/--key)"
        raise TransportError(f"the server closed the connection without an answer{hint}") \
            from None
    except http.client.HTTPException as exc:
        raise TransportError(f"not an HTTP answer: {exc!r}") from None
    except OSError as exc:
        raise TransportError(exc.strerror or str(exc)) from None
    finally:
        conn.close()
    if response.status == 401:
        check = "check --user/--password" if authorization else \
            "the socket wants credentials: --user and --password-file"
        raise TransportError(f"401 Unauthorized ({check})")
    if response.status != 200:
        detail = answer.decode("utf-8", errors="replace").strip()[:100]
        raise TransportError(f"HTTP {response.status} {response.reason}"
                             + (f": {detail}" if detail else ""))
    return answer


# --- the answer ---------------------------------------------------------------------------

def _status(result: Any) -> int:
    """The exit status for one Kea result code. Codes past 3 (Kea 2.4's 4, "conflict") count
    as an error, so that 4 always means that no answer came."""
    if type(result) is int and result in KEA_RESULTS:
        return result
    return EXIT_FAILURE


def _answers(decoded: Any) -> list:
    """The answer maps: a unix socket sends one, an HTTP socket a list (one per service)."""
    answers = decoded if isinstance(decoded, list) else [decoded]
    if not answers or not all(isinstance(a, dict) and "result" in a for a in answers):
        raise TransportError("the answer is not a Kea answer (no \"result\")")
    return answers


def _show(raw: bytes, args: argparse.Namespace) -> int:
    text = raw.decode("utf-8", errors="replace")
    try:
        decoded = json.loads(text)
    except ValueError:
        shown = text if len(text) <= 60 else text[:60] + "..."
        raise TransportError(f"the answer is not JSON: {shown!r}") from None
    answers = _answers(decoded)
    if args.raw:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
    else:
        shown = answers[0] if len(answers) == 1 else answers
        print(json.dumps(shown, indent=2, sort_keys=True, ensure_ascii=False))
    sys.stdout.flush()
    status = 0
    for a in answers:
        if a["result"] != 0:
            meaning = KEA_RESULTS.get(a["result"], "error")
            print(f"fastdhcp ctl: {args.command}: result {a['result']} ({meaning})"
                  + (f": {a['text']}" if a.get("text") else ""), file=sys.stderr)
            status = status or _status(a["result"])
    return status


# --- the subcommand -----------------------------------------------------------------------

_EPILOG = f"""\
The socket or URL may come from the environment, {SOCKET_ENV} or {URL_ENV},
used when neither -s nor --url is given.

Exit status: the answer's result code (0 success, 1 error, 2 unsupported, 3 empty; any other
code counts as 1); 4 no answer (cannot connect, 401, TLS, timeout, not JSON); 64 the command
line cannot be used. argparse's own errors (an unknown option) exit 2 with "usage:" on stderr
and nothing on stdout, unlike Kea's result 2, whose answer is always printed.
"""


def register(sub) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "ctl", help="send a control command to a running server (as kea-shell)",
        description="Send one control command to fastdhcp or Kea over a unix control socket\n"
                    "or an HTTP(S) control socket, and print the answer as JSON.",
        epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("-s", "--socket", metavar="SOCKET",
                   help=f"the unix control socket's path (default: ${SOCKET_ENV})")
    p.add_argument("--url", metavar="URL",
                   help=f"an http:// or https:// control socket (default: ${URL_ENV})")
    p.add_argument("command", metavar="COMMAND", help="the command, e.g. list-commands")
    p.add_argument("pairs", nargs="*", metavar="key=value",
                   help="an argument; the value is JSON when it parses (10, true, [1,2], "
                        "\"007\"), else a string")
    p.add_argument("--json", metavar="OBJECT",
                   help="the whole arguments map as a JSON object; - reads it from stdin")
    p.add_argument("--service", action="append", metavar="NAME",
                   help="add \"service\": [NAME] (kea-ctrl-agent forwards to it); repeatable")
    p.add_argument("--user", help="basic authentication's user (HTTP)")
    p.add_argument("--password", help="its password (visible to ps: prefer --password-file)")
    p.add_argument("--password-file", metavar="FILE", help="its password: FILE's first line")
    p.add_argument("--ca", metavar="FILE_OR_DIR",
                   help="the CA certificates that the server's certificate must chain to "
                        "(default: the system's)")
    p.add_argument("--cert", metavar="FILE", help="the client certificate (PEM) for HTTPS")
    p.add_argument("--key", metavar="FILE", help="its private key (default: in --cert's file)")
    p.add_argument("--timeout", type=float, default=10.0, metavar="S",
                   help="give up when the server has been silent this long (default 10)")
    p.add_argument("--raw", action="store_true",
                   help="print the answer exactly as received (one line; HTTP's list kept)")
    return p


def run(args: argparse.Namespace) -> int:
    where = "?"
    try:
        sock, url = _destination(args)
        where = sock or url
        _check_options(args, url)
        body = json.dumps(command_document(args)).encode()
        if sock:
            raw = send_unix(sock, body, args.timeout)
        else:
            auth = None
            if args.user:
                token = base64.b64encode(f"{args.user}:{_password(args)}".encode()).decode()
                auth = f"Basic {token}"
            raw = send_http(url, body, timeout=args.timeout, authorization=auth,
                                   ca=args.ca, cert=args.cert, key=args.key)
        return _show(raw, args)
    except UsageError as exc:
        print(f"fastdhcp ctl: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except TransportError as exc:
        print(f"fastdhcp ctl: {where}: {exc}", file=sys.stderr)
        return EXIT_TRANSPORT
