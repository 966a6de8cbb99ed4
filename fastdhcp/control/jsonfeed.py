"""Where one JSON command ends in a byte stream (Kea's JSONFeed, src/lib/cc/json_feed.cc).

A unix-socket client sends its command and waits, without closing: the command ends when its
top-level ``{...}`` (or ``[...]``) closes, counted outside strings. The feed keeps the bytes up
to a limit and reports an error instead of growing past it.
"""

from __future__ import annotations


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
        for i, b in enumerate(chunk):
            if not self.started:
                if b in b" \t\r\n":
                    continue
                if b not in b"{[":
                    self.error = f"invalid first character {chr(b)!r}"
                    self.done = True
                    return
                self.started = True
            if self.in_string:
                if self.escaped:
                    self.escaped = False
                elif b == 0x5C:          # backslash
                    self.escaped = True
                elif b == 0x22:          # quote
                    self.in_string = False
            elif b == 0x22:
                self.in_string = True
            elif b in b"{[":
                self.depth += 1
            elif b in b"}]":
                self.depth -= 1
                if self.depth == 0:
                    self.parts.append(chunk[:i + 1])
                    self.done = True
                    return
        self.parts.append(chunk)

    def end(self) -> None:
        """The client closed its side: what came is all there is."""
        if not self.done:
            self.done = True
            if not self.error:
                self.error = "unexpected end of input: the command is not complete JSON"

    def text(self) -> bytes:
        return b"".join(self.parts)
