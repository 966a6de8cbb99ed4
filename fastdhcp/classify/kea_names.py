"""Domain names as Kea 2.2's ``isc::dns::Name`` reads and prints them (src/lib/dns/name.cc,
labelsequence.cc): the fqdn fields of received options go through it, so their ``.hex`` and
``.text`` follow its rules (case folding, escapes, compression pointers).

A name is kept as its uncompressed wire form (``ndata``): length-prefixed labels ending with the
zero-length root label.
"""

from __future__ import annotations

__all__ = ["BadName", "MAX_WIRE", "from_text", "read_wire", "to_text"]

MAX_WIRE = 255          # RFC 1035 §2.3.4
MAX_LABEL = 63
_POINTER = 0xC0         # RFC 1035 §4.1.4: the two top bits mark a compression pointer
# LabelSequence::toText escapes these with a backslash
_SPECIAL = frozenset(b'"().;\\@$')


class BadName(ValueError):
    """What isc::dns::Name throws (DNSMessageFORMERR, EmptyLabel, TooLongLabel, ...)."""


def _lower(c: int) -> int:
    return c + 32 if 0x41 <= c <= 0x5A else c       # name.cc maptolower: ASCII only


def read_wire(buf: bytes, pos: int = 0, downcase: bool = False) -> tuple[bytes, int]:
    """One wire-format name starting at ``pos`` (Name::Name(InputBuffer&)): returns its
    uncompressed form and the position after it. A pointer must point before the start of the
    name and before any earlier pointer, so names cannot loop."""
    ndata = bytearray()
    current = begin = biggest = pos
    used = 0                   # bytes consumed before the first pointer
    seen_pointer = done = False
    remaining = 0
    state = "start"
    pointer = 0
    while current < len(buf) and not done:
        c = buf[current]
        current += 1
        if not seen_pointer:
            used += 1
        if state == "start":
            if c <= MAX_LABEL:
                if len(ndata) + c + 1 > MAX_WIRE:
                    raise BadName(f"wire name is too long: {len(ndata) + c + 1} bytes")
                ndata.append(c)
                done = c == 0
                remaining, state = c, "label"
            elif c & _POINTER == _POINTER:
                pointer, state = c & ~_POINTER, "pointer"
            else:
                raise BadName(f"unknown label character: {c}")
        elif state == "label":
            ndata.append(_lower(c) if downcase else c)
            remaining -= 1
            if remaining == 0:
                state = "start"
        else:
            pointer = pointer * 256 + c
            if pointer >= biggest:
                raise BadName(f"bad compression pointer (out of range): {pointer}")
            biggest = current = pointer
            seen_pointer, state = True, "start"
    if not done:
        raise BadName("incomplete wire-format name")
    return bytes(ndata), begin + used


def to_text(ndata: bytes, omit_final_dot: bool = False) -> bytes:
    """LabelSequence::toText: labels joined by '.', special characters backslash-escaped,
    bytes outside 0x21..0x7e as \\DDD; the root alone is '.'."""
    out = bytearray()
    pos = 0
    while pos < len(ndata):
        n = ndata[pos]
        pos += 1
        if n == 0:
            if not omit_final_dot or not out:
                out += b"."
            break
        if out:
            out += b"."
        for c in ndata[pos:pos + n]:
            if c in _SPECIAL:
                out += b"\\" + bytes((c,))
            elif 0x20 < c < 0x7F:
                out.append(c)
            else:
                out += b"\\%03d" % c
        pos += n
    return bytes(out)


def from_text(text: bytes, downcase: bool = False) -> bytes:
    """Name::Name(const std::string&) (name.cc stringParse): dotted text with \\c and \\DDD
    escapes to wire form; a missing final dot is supplied; '.' and '@' are the root."""
    if text in (b".", b"@"):
        return b"\x00"
    if text.startswith(b".") and len(text) > 1:
        raise BadName(f"non terminating empty label in {text!r}")
    ndata = bytearray()
    label = bytearray()
    i = 0

    def close() -> None:
        if not label:
            raise BadName(f"duplicate period in {text!r}")
        ndata.append(len(label))
        ndata.extend(label)
        label.clear()

    def add(c: int) -> None:
        if len(label) >= MAX_LABEL:
            raise BadName(f"label is too long in {text!r}")
        label.append(_lower(c) if downcase else c)

    while i < len(text):
        c = text[i]
        i += 1
        if c == 0x2E:                           # '.'
            close()
        elif c == 0x5C:                         # '\'
            if i >= len(text):
                raise BadName(f"incomplete textual name in {text!r}")
            if not label and text[i] == 0x5B:   # '\[' was a bit-string label
                raise BadName(f"invalid label type in {text!r}")
            if 0x30 <= text[i] <= 0x39:           # isdigit() in the C locale
                digits = text[i:i + 3]
                if len(digits) < 3 or not digits.isdigit():
                    raise BadName(f"mixture of escaped digit and non-digit in {text!r}")
                value = int(digits)
                if value > 255:
                    raise BadName(f"escaped decimal is too large in {text!r}")
                add(value)
                i += 3
            else:
                add(text[i])
                i += 1
        else:
            add(c)
        if len(ndata) + len(label) + 1 > MAX_WIRE:
            raise BadName(f"name is too long for termination in {text!r}")
    if label:
        close()
    if not ndata:
        raise BadName("incomplete textual name in <empty>")
    ndata.append(0)
    return bytes(ndata)
