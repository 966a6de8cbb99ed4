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


class Streamed:
    """An answer whose one long list is written to the socket slice by slice as it is made,
    never held whole: lease4-get-all of a million leases is 200 MB, which would otherwise sit
    in memory and be freed in one go (tens of ms of the loop). ``step(state)`` makes the next
    slice: (JSON text of some items joined by ", ", how many, the next state or None at the
    end), from ``start``; ``finish(count, listing)`` is the answer with ``listing`` (a
    Serialised) where the list goes. The answer's text before the list must not depend on the
    list (Kea's key order puts ``arguments`` first: lease4-get-all's is ``{"leases": [...]}``).
    The unix socket streams it (dispatch.write_streamed); HTTP, which sends the length first,
    collects it."""

    __slots__ = ("step", "start", "finish")

    def __init__(self, step: Any, start: Any, finish: Any):
        self.step, self.start, self.finish = step, start, finish


def answer(result: int = SUCCESS, text: str = "", arguments: Any = None) -> dict:
    """Kea's createAnswer: ``text`` only when there is one, ``arguments`` only when given."""
    out: dict[str, Any] = {"result": result}
    if text:
        out["text"] = text
    if arguments is not None:
        out["arguments"] = arguments
    return out
