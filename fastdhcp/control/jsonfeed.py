"""Where one JSON command ends in a byte stream (Kea's JSONFeed, src/lib/cc/json_feed.cc).

A unix-socket client sends its command and waits, without closing: the command ends when its
top-level ``{...}`` (or ``[...]``) closes, counted outside strings. The feed keeps the bytes up
to a limit and reports an error instead of growing past it.
"""

from __future__ import annotations

import re

_NOT_SPACE = re.compile(rb"[^ \t\r\n]")
_IN_STRING = re.compile(rb'["\\]')
_STRUCTURE = re.compile(rb'["{}\[\]]')


class JsonFeed:
    def __init__(self, limit: int):
        self.limit = limit
        self.parts: list[bytes] = []
        self.size = 0
        self.depth = 0
        self.started = False
        self.in_string = False
        self.escaped = False
        self.done = False
        self.error = ""

    def feed(self, chunk: bytes) -> None:
        if self.done:
            return
        self.size += len(chunk)
        if self.size > self.limit:
            self.error = f"command is larger than {self.limit} bytes"
            self.done = True
            self.parts.clear()
            return
        # (jumps from one character that matters to the next with a regular expression: a
        # 64 MiB string costs a scan in C, not a Python step per byte, so the loop the packets
        # share is never held for long)
        n = len(chunk)
        pos = 0
        if self.escaped and n:
            self.escaped, pos = False, 1          # the character after a chunk-ending backslash
        while pos < n:
            if not self.started:
                m = _NOT_SPACE.search(chunk, pos)
                if m is None:
                    break
                if chunk[m.start()] not in b"{[":
                    self.error = f"invalid first character {chr(chunk[m.start()])}"  # (Kea's text)
                    self.done = True
                    return
                self.started, pos = True, m.start()
            if self.in_string:
                m = _IN_STRING.search(chunk, pos)
                if m is None:
                    break
                at = m.start()
                if chunk[at] == 0x5C:             # backslash: the next character is taken as is
                    if at + 1 < n:
                        pos = at + 2
                    else:
                        self.escaped, pos = True, n
                    continue
                self.in_string, pos = False, at + 1
                continue
            m = _STRUCTURE.search(chunk, pos)
            if m is None:
                break
            at = m.start()
            b = chunk[at]
            if b == 0x22:
                self.in_string = True
            elif b in b"{[":
                self.depth += 1
            else:
                self.depth -= 1
                if self.depth == 0:
                    self.parts.append(chunk[:at + 1])
                    self.done = True
                    return
            pos = at + 1
        self.parts.append(chunk)

    def end(self) -> None:
        """The client closed its side: what came is all there is."""
        if not self.done:
            self.done = True
            if not self.error:
                self.error = "unexpected end of input: the command is not complete JSON"

    def text(self) -> bytes:
        return b"".join(self.parts)
