"""Where a command ends in the unix socket's byte stream (Kea's JSONFeed), however the bytes
are cut into reads."""

from __future__ import annotations

import json

import pytest

from fastdhcp.control.jsonfeed import JsonFeed

DOCS = [
    b'{"command": "x", "arguments": {"a": "b\\\\\\"}{", "c": [1, {"d": "]"}]}} trailing',
    b'  \r\n[1, 2, [3]]xx',
    b'{"s": "\\\\"}z',
    b'{"s": "\\u007b{"}',
]


def feed_in(data, step, limit=1 << 20):
    f = JsonFeed(limit)
    for i in range(0, len(data), step):
        f.feed(data[i:i + step])
        if f.done:
            break
    return f


@pytest.mark.parametrize("doc", DOCS)
def test_the_command_ends_where_its_value_closes_whatever_the_reads(doc):
    for step in range(1, len(doc) + 1):
        f = feed_in(doc, step)
        assert f.done and not f.error, step
        json.loads(f.text())


def test_a_first_character_that_starts_no_map_or_list_is_an_error():
    f = feed_in(b"  nope", 2)
    assert f.done and f.error == "invalid first character n"


def test_more_than_the_limit_is_an_error_and_nothing_is_kept():
    f = feed_in(b'{"a": "' + b"x" * 5000 + b'"}', 1000, limit=4096)
    assert f.done and f.error == "command is larger than 4096 bytes" and f.text() == b""


def test_an_unfinished_command_at_the_end_of_input_is_an_error():
    f = feed_in(b'{"command": "x"', 4)
    assert not f.done
    f.end()
    assert f.done and "not complete JSON" in f.error
