"""Kea's answer to a control command: ``{"result": N, "text": "...", "arguments": {...}}``.

The result codes are Kea's (src/lib/cc/command_interpreter.h): scripts branch on them.
"""

from __future__ import annotations

import json
from typing import Any

SUCCESS = 0            # CONTROL_RESULT_SUCCESS
ERROR = 1              # CONTROL_RESULT_ERROR
UNSUPPORTED = 2        # CONTROL_RESULT_COMMAND_UNSUPPORTED: no such command
EMPTY = 3              # CONTROL_RESULT_EMPTY: done, but nothing found or affected
CONFLICT = 4           # CONTROL_RESULT_CONFLICT (Kea 2.4+): the change collides with a lease


class CommandError(Exception):
    """Raised by a handler: the command is answered with ``result`` and ``text``."""

    def __init__(self, text: str, result: int = ERROR, arguments: Any = None):
        super().__init__(text)
        self.result, self.text, self.arguments = result, text, arguments


def to_json(document: Any) -> str:
    """JSON as the answers are written (Kea writes map keys in sorted order)."""
    return json.dumps(document, sort_keys=True, separators=(", ", ": "))


class Serialised:
    """A JSON list already written, in ``parts``: a long answer (a million leases) is written
    slice by slice between packet batches, not by one call that would hold the loop for a
    second; the socket writes the parts as they are, without joining them."""

    __slots__ = ("parts", "count")

    def __init__(self, parts: list[bytes], count: int):
        self.parts, self.count = parts, count


def answer(result: int = SUCCESS, text: str = "", arguments: Any = None) -> dict:
    """Kea's createAnswer: ``text`` only when there is one, ``arguments`` only when given."""
    out: dict[str, Any] = {"result": result}
    if text:
        out["text"] = text
    if arguments is not None:
        out["arguments"] = arguments
    return out
