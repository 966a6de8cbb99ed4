"""ISC dhcpd's lease database (dhcpd.leases(5)): read it, write it, and map its leases to and from
the rows of Kea's memfile lease file. ``fastdhcp leases import|export`` is built on this module.

Reading is liberal, as a migration has to be: ``#`` comments, quoted strings with dhcpd's escapes
(``\\ooo`` octal, ``\\xHH``, ``\\n``...), dates written ``W YYYY/MM/DD HH:MM:SS`` (UTC), ``epoch N``
or ``never``, a ``uid`` quoted or in hex. Statements the conversion does not need are skipped, as
are the top-level ``server-duid``, ``failover peer``, ``host``, ``group``, ``class``, ``subclass``,
``authoring-byte-order`` and ``db-time-format``. dhcpd appends a lease's new state to the file, so
the last block of an address wins. A malformed block is reported with the line it starts on and
skipped (an earlier block of the same address then stands); the rest of the file still loads.

dhcpd -> Kea, one memfile row per lease:
- ``expire`` = ``ends``, ``valid_lifetime`` = ``ends`` - ``starts`` (``cltt`` if ``starts`` is
  missing). ``ends never`` becomes Kea's infinite lifetime, valid_lifetime 0xFFFFFFFF, with
  expire = starts + 0xFFFFFFFF as Kea computes it. It is not capped: the memfile's expire column is
  64-bit, and a cap would lose ``starts``, which the export recovers as expire - valid_lifetime.
- ``hardware ethernet`` -> hwaddr (Kea's memfile has no hardware type; the export writes
  ethernet), ``uid`` -> client_id, ``client-hostname`` -> hostname.
- binding state ``active`` (and dynamic ``bootp``) -> 0, default; ``abandoned`` -> 1, declined;
  ``free``, ``expired``, ``released`` and ``reset`` -> 2, expired-reclaimed. dhcpd keeps a free
  lease's client to give it the same address again, as Kea keeps reclaimed leases, and expired and
  released are the steps by which dhcpd's leases become free. ``backup`` and ``reserved`` mark
  which failover peer may hand an address out; they bind no client and are skipped.
- skipped, with the reason: a lease with neither hardware address nor uid, unless abandoned (such
  are free addresses, and Kea refuses the row); a zero lifetime (Kea reads valid_lifetime 0 as
  "deleted"); an address in no subnet of the caller's map.

Kea -> dhcpd: state 0 -> ``active`` (next binding state ``free``), 1 -> ``abandoned``, 2 (and
Kea's released, 3) -> ``free``; ``starts`` = ``cltt`` = expire - valid_lifetime, ``ends`` =
expire, or ``never`` for the infinite lifetime. dhcpd -> Kea -> dhcpd -> Kea gives the same rows.
"""

from __future__ import annotations

import datetime
import ipaddress
import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import NamedTuple

from .lease import Lease, LeaseState

#: ``ends never``: later than any time, so comparisons with a clock need no special case.
NEVER = 2**63 - 1
#: Kea's infinite valid lifetime (Lease::INFINITY_LFT), the 0xFFFFFFFF of RFC 2131 §3.3.
INFINITE_LIFETIME = 0xFFFFFFFF

BINDING_STATES = frozenset(("free", "active", "expired", "released", "abandoned", "reset",
                            "backup", "reserved", "bootp"))

_IGNORED_TOP_LEVEL = frozenset(("server-duid", "failover", "host", "group", "class", "subclass",
                                "authoring-byte-order", "db-time-format"))


@dataclass
class DhcpdLease:
    """One ``lease`` block. Times are Unix seconds (UTC), None when the block does not give them;
    a lease with no ``binding state`` (dhcpd 2 files) is active until it ends."""

    address: str
    line: int = field(default=0, compare=False)     # where the block starts; 0 if not from a file
    starts: int | None = None
    ends: int | None = None                         # NEVER for ``ends never``
    tstp: int | None = None
    cltt: int | None = None
    binding_state: str = "active"
    next_binding_state: str | None = None
    hardware_type: str = "ethernet"
    hardware_address: bytes = b""
    uid: bytes = b""                                # the client identifier, option 61's value
    client_hostname: str = ""
    variables: dict[str, str] = field(default_factory=dict)        # ``set NAME = VALUE;``
    agent_options: dict[str, bytes] = field(default_factory=dict)  # ``option agent.circuit-id``


class ParsedLeases(NamedTuple):
    leases: list[DhcpdLease]                # the last valid block of each address, in file order
    errors: list[tuple[int, str]]           # (line, reason) of each malformed block or statement


# --- reading -------------------------------------------------------------------------------------

_TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<comment>\#[^\n]*)
  | (?P<string>"[^"\\]*(?:\\.[^"\\]*)*")
  | (?P<punct>[{};=,])
  | (?P<word>[^\s{};=,"\#]+)
  | (?P<unterminated>")
""", re.VERBOSE | re.DOTALL)

_STRING_ESCAPE = re.compile(r"\\(?:([0-7]{1,3})|x([0-9a-fA-F]{1,2})|(.))", re.DOTALL)
_NAMED_ESCAPES = {"t": "\t", "r": "\r", "n": "\n", "b": "\b"}
_HEX_OCTET = re.compile(r"[0-9a-fA-F]{1,2}")
_DATE = re.compile(r"(\d{4})/(\d{1,2})/(\d{1,2})")
_TIME = re.compile(r"(\d{1,2}):(\d{1,2}):(\d{1,2})")


class _Token(NamedTuple):
    kind: str               # "word", "string" or the punctuation character itself
    value: str | bytes      # a string's value is its bytes, escapes resolved
    line: int


class _Malformed(Exception):
    """A lease block, or one of its statements, that makes no sense: the block is skipped."""


class _Skip(Exception):
    """A sound lease with nothing for Kea to keep (the reason is the message)."""


def _unescape(body: str) -> bytes:
    # dhcpd's lexer: octal up to three digits (kept to a byte, as dhcpd stores a char), \xHH,
    # \t \r \n \b, and any other escaped character stands for itself (\" and \\).
    def resolve(m: re.Match) -> str:
        octal, hexa, other = m.groups()
        if octal:
            return chr(int(octal, 8) & 0xFF)
        if hexa:
            return chr(int(hexa, 16))
        return _NAMED_ESCAPES.get(other, other)
    return _STRING_ESCAPE.sub(resolve, body).encode("latin-1")


def _tokenize(text: str, errors: list[tuple[int, str]]) -> list[_Token]:
    tokens = []
    line, scanned = 1, 0
    for m in _TOKEN.finditer(text):
        kind = m.lastgroup
        if kind in ("space", "comment"):
            continue
        line += text.count("\n", scanned, m.start())
        scanned = m.start()
        if kind == "string":
            tokens.append(_Token("string", _unescape(m.group()[1:-1]), line))
        elif kind == "punct":
            tokens.append(_Token(m.group(), m.group(), line))
        elif kind == "word":
            tokens.append(_Token("word", m.group(), line))
        else:
            errors.append((line, "unterminated string"))
    return tokens


def _word(token: _Token) -> str:
    if token.kind != "word":
        raise _Malformed(f"expected a word, found {_shown(token)}")
    return token.value.lower()


def _shown(token: _Token) -> str:
    if token.kind == "string":
        return '"' + token.value.decode("latin-1") + '"'
    return token.value


def _parse_date(words: list[_Token]) -> int:
    texts = [_shown(t) for t in words]
    if texts == ["never"]:
        return NEVER
    if len(texts) == 2 and texts[0] == "epoch" and texts[1].isdigit():
        return int(texts[1])
    # The weekday is optional here; dhcpd writes it and ignores it too.
    date_and_time = texts[1:] if len(texts) == 3 and texts[0].isdigit() else texts
    date = _DATE.fullmatch(date_and_time[0]) if len(date_and_time) == 2 else None
    clock = _TIME.fullmatch(date_and_time[1]) if date else None
    try:
        if not clock:
            raise ValueError
        moment = datetime.datetime(*map(int, date.groups() + clock.groups()),
                                   tzinfo=datetime.UTC)
    except ValueError:
        raise _Malformed(f"bad date {' '.join(texts)!r}") from None
    return int(moment.timestamp())


def _parse_hex(token: _Token) -> bytes:
    octets = token.value.split(":") if token.kind == "word" else []
    if not octets or not all(_HEX_OCTET.fullmatch(o) for o in octets):
        raise _Malformed(f"bad hexadecimal value {_shown(token)}")
    return bytes(int(o, 16) for o in octets)


def _data(token: _Token) -> bytes:
    """A value dhcpd writes either quoted or as colon-separated hex (uid, agent options)."""
    return token.value if token.kind == "string" else _parse_hex(token)


def _text(token: _Token) -> str:
    if token.kind != "string":
        raise _Malformed(f"expected a quoted string, found {_shown(token)}")
    return token.value.decode("utf-8", errors="replace")


def _binding_state(words: list[_Token]) -> str:
    if len(words) != 1 or _word(words[0]) not in BINDING_STATES:
        raise _Malformed(f"bad binding state {' '.join(_shown(w) for w in words)!r}")
    return _word(words[0])


def _apply(lease: DhcpdLease, words: list[_Token]) -> None:
    """Fold one statement of a lease block into ``lease``; statements not listed are skipped."""
    keyword, args = _word(words[0]), words[1:]
    names = [t.value.lower() if t.kind == "word" else None for t in words[:3]]
    if keyword in ("starts", "ends", "tstp", "cltt"):
        setattr(lease, keyword, _parse_date(args))
    elif names[:2] == ["binding", "state"]:
        lease.binding_state = _binding_state(words[2:])
    elif names == ["next", "binding", "state"]:
        lease.next_binding_state = _binding_state(words[3:])
    elif keyword == "abandoned":                    # dhcpd 2's spelling of the state
        lease.binding_state = "abandoned"
    elif keyword == "hardware":
        if len(args) != 2:
            raise _Malformed("'hardware' needs a type and an address")
        lease.hardware_type = _word(args[0])
        lease.hardware_address = _parse_hex(args[1])
    elif keyword == "uid":
        if len(args) != 1:
            raise _Malformed("'uid' needs one value")
        lease.uid = _data(args[0])
    elif keyword == "client-hostname":
        if len(args) != 1:
            raise _Malformed("'client-hostname' needs one quoted string")
        lease.client_hostname = _text(args[0])
    elif keyword == "set":
        if len(args) < 3 or args[1].kind != "=":
            raise _Malformed("'set' needs NAME = VALUE")
        value = args[2:]
        lease.variables[_shown(args[0])] = (_text(value[0]) if len(value) == 1 and
                                            value[0].kind == "string"
                                            else " ".join(_shown(v) for v in value))
    elif keyword == "option" and args and _word(args[0]).startswith("agent."):
        if len(args) != 2:
            raise _Malformed(f"'option {_shown(args[0])}' needs one value")
        lease.agent_options[_word(args[0])] = _data(args[1])


class _Parser:
    def __init__(self, tokens: list[_Token], errors: list[tuple[int, str]]) -> None:
        self.tokens = tokens
        self.errors = errors

    def parse(self) -> list[DhcpdLease]:
        latest: dict[str, DhcpdLease] = {}
        i = 0
        while i < len(self.tokens):
            token = self.tokens[i]
            if token.kind == "word" and token.value.lower() == "lease":
                i, lease = self._lease(i)
                if lease is not None:
                    latest.pop(lease.address, None)     # the later block wins
                    latest[lease.address] = lease
            elif token.kind == "word":
                i, _, complete = self._statement_end(i)
                if token.value.lower() not in _IGNORED_TOP_LEVEL:
                    self.errors.append((token.line,
                                        f"unknown statement {token.value!r} skipped"))
                elif not complete:
                    self.errors.append((token.line, f"{token.value!r}: missing ';' or '}}'"))
            else:
                self.errors.append((token.line, f"unexpected {_shown(token)!r} skipped"))
                i += 1
        return list(latest.values())

    def _starts_lease_block(self, i: int) -> bool:
        tokens = self.tokens
        return (i + 2 < len(tokens) and tokens[i].kind == "word"
                and tokens[i].value.lower() == "lease" and tokens[i + 2].kind == "{")

    def _statement_end(self, i: int) -> tuple[int, int, bool]:
        """The statement at ``i``: (index after it, index of the ';' or '{' ending its words,
        whether it is complete). A block is skipped whole, nested blocks included. An incomplete
        statement ends, unconsumed, at a '}' closing the enclosing block or at a new lease block
        (so that a lost ';' or '}' costs one block, not the rest of the file)."""
        depth, words_end = 0, None
        j = i
        while j < len(self.tokens):
            kind = self.tokens[j].kind
            if depth == 0 and j > i and self._starts_lease_block(j):
                break
            if kind == ";" and depth == 0:
                return j + 1, j, True
            if kind == "{":
                if depth == 0:
                    words_end = j
                depth += 1
            elif kind == "}":
                if depth == 0:
                    return j, j, False
                depth -= 1
                if depth == 0:
                    return j + 1, words_end, True
            j += 1
        return j, j, False

    def _lease(self, i: int) -> tuple[int, DhcpdLease | None]:
        tokens, start_line = self.tokens, self.tokens[i].line
        if not self._starts_lease_block(i):
            self.errors.append((start_line, "'lease' must be followed by an address and '{'"))
            return self._statement_end(i)[0], None
        address = _shown(tokens[i + 1])
        try:
            address = str(ipaddress.IPv4Address(address))
        except ValueError:
            problem = f"lease {address}: not an IPv4 address"
        else:
            problem = None
        lease = DhcpdLease(address, line=start_line)
        j = i + 3
        while j < len(tokens) and tokens[j].kind != "}" and not self._starts_lease_block(j):
            after, words_end, complete = self._statement_end(j)
            if problem is None and words_end > j:       # not an empty statement
                try:
                    if not complete:
                        raise _Malformed("missing ';'")
                    _apply(lease, tokens[j:words_end])
                except _Malformed as exc:
                    problem = f"lease {address}: {exc} (line {tokens[j].line})"
            j = after
        if j == len(tokens) or tokens[j].kind != "}":
            # The file ends, or the next block begins, before this one closed (a truncated copy,
            # a bad edit): report this block and resume with the next.
            self.errors.append((start_line, f"lease {address}: no closing '}}'"))
            return j, None
        if problem is not None:
            self.errors.append((start_line, problem))
            return j + 1, None
        return j + 1, lease


def parse_leases(data: bytes) -> ParsedLeases:
    """Parse the contents of a dhcpd.leases file. Never raises on bad input: each malformed part
    is in ``errors`` with its line, and the rest is parsed."""
    errors: list[tuple[int, str]] = []
    # latin-1 maps every byte to one character, so quoted strings come back byte for byte.
    tokens = _tokenize(data.decode("latin-1"), errors)
    leases = _Parser(tokens, errors).parse()
    errors.sort()
    return ParsedLeases(leases, errors)


# --- writing -------------------------------------------------------------------------------------

def _quote(data: bytes) -> str:
    """A quoted string as dhcpd writes one: printable ASCII as is (with \\" and \\\\), every other
    byte as a three-digit octal escape."""
    out = []
    for byte in data:
        char = chr(byte)
        if char in '"\\':
            out.append("\\" + char)
        elif 0x20 <= byte < 0x7F:
            out.append(char)
        else:
            out.append(f"\\{byte:03o}")
    return '"' + "".join(out) + '"'


def _format_date(moment: int) -> str:
    if moment == NEVER:
        return "never"
    t = time.gmtime(moment)
    # dhcpd's weekday counts from Sunday = 0; struct_time's from Monday = 0.
    return (f"{(t.tm_wday + 1) % 7} {t.tm_year:04d}/{t.tm_mon:02d}/{t.tm_mday:02d} "
            f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d}")


def format_lease(lease: DhcpdLease) -> str:
    """One ``lease`` block, statements in the order dhcpd writes them."""
    lines = [f"lease {lease.address} {{"]
    for name in ("starts", "ends", "tstp", "cltt"):
        moment = getattr(lease, name)
        if moment is not None:
            lines.append(f"  {name} {_format_date(moment)};")
    lines.append(f"  binding state {lease.binding_state};")
    if lease.next_binding_state:
        lines.append(f"  next binding state {lease.next_binding_state};")
    if lease.hardware_address:
        lines.append(f"  hardware {lease.hardware_type} {lease.hardware_address.hex(':')};")
    if lease.uid:
        lines.append(f"  uid {_quote(lease.uid)};")
    for name, value in lease.agent_options.items():
        lines.append(f"  option {name} {_quote(value)};")
    for name, value in lease.variables.items():
        lines.append(f"  set {name} = {_quote(value.encode())};")
    if lease.client_hostname:
        lines.append(f"  client-hostname {_quote(lease.client_hostname.encode())};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def format_leases(leases: Iterable[DhcpdLease], written_by: str) -> str:
    """A whole dhcpd.leases file: dhcpd's header comments, then one block per lease."""
    header = ("# The format of this file is documented in the dhcpd.leases(5) manual page.\n"
              f"# This lease file was written by {written_by}\n"
              "\n"
              "# authoring-byte-order entry is generated, DO NOT DELETE\n"
              "authoring-byte-order little-endian;\n"
              "\n")
    return header + "".join(format_lease(lease) for lease in leases)


# --- dhcpd -> Kea ---------------------------------------------------------------------------------

_KEA_STATE = {"active": LeaseState.BOUND, "bootp": LeaseState.BOUND,
              "abandoned": LeaseState.DECLINED,
              "free": LeaseState.EXPIRED, "expired": LeaseState.EXPIRED,
              "released": LeaseState.EXPIRED, "reset": LeaseState.EXPIRED}

SKIP_NO_CLIENT = "no hardware address or uid"
SKIP_ZERO_LIFETIME = "zero lifetime (ends = starts)"
SKIP_NO_SUBNET = "in no configured subnet"


class SkippedLease(NamedTuple):
    line: int
    address: str
    reason: str


class KeaConversion(NamedTuple):
    rows: list[Lease]                       # by address
    skipped: list[SkippedLease]             # leases with nothing Kea should keep, and why
    errors: list[tuple[int, str]]           # (line, reason) of leases that make no sense


def _subnet_finder(prefixes: Mapping[str, int]) -> Callable[[int], int | None]:
    """The subnet id of an address by longest prefix match, in at most 33 dict look-ups."""
    by_length: dict[int, dict[int, int]] = {}
    for prefix, subnet_id in prefixes.items():
        network = ipaddress.IPv4Network(prefix, strict=False)
        by_length.setdefault(network.prefixlen, {})[int(network.network_address)] = subnet_id
    levels = [((0xFFFFFFFF << (32 - length)) & 0xFFFFFFFF, networks)
              for length, networks in sorted(by_length.items(), reverse=True)]

    def find(address: int) -> int | None:
        for mask, networks in levels:
            subnet_id = networks.get(address & mask)
            if subnet_id is not None:
                return subnet_id
        return None
    return find


def _kea_row(lease: DhcpdLease, find_subnet: Callable[[int], int | None]) -> Lease:
    state = _KEA_STATE.get(lease.binding_state)
    if state is None:
        raise _Skip(f"binding state {lease.binding_state}")
    if not (lease.hardware_address or lease.uid) and state != LeaseState.DECLINED:
        raise _Skip(SKIP_NO_CLIENT)
    begins = lease.starts if lease.starts is not None else lease.cltt
    if lease.ends is None:
        raise _Malformed("no 'ends'")
    if begins is None:
        raise _Malformed("no 'starts' or 'cltt'")
    valid = INFINITE_LIFETIME if lease.ends == NEVER else lease.ends - begins
    if not 0 <= valid <= INFINITE_LIFETIME:
        raise _Malformed(f"lifetime {valid}s is outside Kea's 0..{INFINITE_LIFETIME}")
    if valid == 0:
        raise _Skip(SKIP_ZERO_LIFETIME)
    subnet_id = find_subnet(int(ipaddress.IPv4Address(lease.address)))
    if subnet_id is None:
        raise _Skip(SKIP_NO_SUBNET)
    # (control characters in the name are escaped when the row is written)
    return Lease(address=lease.address, hwaddr=lease.hardware_address, client_id=lease.uid,
                 valid_lifetime=valid, expire=begins + valid, subnet_id=subnet_id, state=state,
                 hostname=lease.client_hostname)


def to_kea(leases: Iterable[DhcpdLease], subnets: Mapping[str, int]) -> KeaConversion:
    """Kea memfile rows for ``leases``; ``subnets`` maps each prefix ("10.0.0.0/24") to the Kea
    subnet id its leases get."""
    find_subnet = _subnet_finder(subnets)
    rows, skipped, errors = [], [], []
    for lease in leases:
        try:
            rows.append(_kea_row(lease, find_subnet))
        except _Skip as exc:
            skipped.append(SkippedLease(lease.line, lease.address, str(exc)))
        except _Malformed as exc:
            errors.append((lease.line, f"lease {lease.address}: {exc}"))
    rows.sort(key=lambda row: int(ipaddress.IPv4Address(row.address)))
    return KeaConversion(rows, skipped, errors)


# --- Kea -> dhcpd ---------------------------------------------------------------------------------

_DHCPD_STATE = {LeaseState.BOUND: "active", LeaseState.DECLINED: "abandoned",
                LeaseState.EXPIRED: "free", LeaseState.RELEASED: "free"}


def from_kea(records: Iterable[tuple]) -> list[DhcpdLease]:
    """dhcpd leases, by address, for the records of a Kea lease file as
    ``fastdhcp.leases.memfile.read_lease_file`` returns them (file order): the last row of an address
    wins and a row with valid_lifetime 0 (Kea's deletion marker) removes the lease."""
    latest: dict[str, tuple] = {}
    for record in records:
        address, valid = record[0], record[3]
        if valid == 0:
            latest.pop(address, None)
        else:
            latest[address] = record
    leases = []
    for address, hwaddr, client_id, valid, expire, _subnet_id, state, hostname in sorted(
            latest.values(), key=lambda record: int(ipaddress.IPv4Address(record[0]))):
        binding_state = _DHCPD_STATE[LeaseState(state)]
        starts = expire - valid
        leases.append(DhcpdLease(
            address, starts=starts, ends=NEVER if valid == INFINITE_LIFETIME else expire,
            cltt=starts, binding_state=binding_state,
            next_binding_state="free" if binding_state == "active" else None,
            hardware_address=hwaddr, uid=client_id, client_hostname=hostname))
    return leases
