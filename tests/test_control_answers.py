"""An answer written in parts (a long lease list serialised slice by slice) is byte for byte
the answer written in one go."""

from __future__ import annotations

import json

from fastdhcp.control.answers import Serialised, answer, to_json
from fastdhcp.control.dispatch import dump_parts, dumps


def test_a_serialised_list_is_written_as_if_it_were_the_list():
    leases = [{"ip-address": f"10.0.0.{i}", "valid-lft": 600, "hostname": "a\"b"}
              for i in range(5)]
    parts = []
    for i in range(0, 5, 2):
        if parts:
            parts.append(b", ")
        parts.append(to_json(leases[i:i + 2])[1:-1].encode())
    streamed = answer(0, "5 IPv4 lease(s) found.", {"leases": Serialised(parts, 5)})
    whole = answer(0, "5 IPv4 lease(s) found.", {"leases": leases})
    assert dumps(streamed) == dumps(whole)
    assert b"".join(dump_parts([streamed])) == dumps([whole])      # (HTTP's one-element list)
    assert json.loads(dumps(streamed))["arguments"]["leases"] == leases


def test_an_empty_serialised_list_is_an_empty_list():
    assert json.loads(dumps(answer(3, "0 IPv4 lease(s) found.",
                                   {"leases": Serialised([], 0)})))["arguments"]["leases"] == []
