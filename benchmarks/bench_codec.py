"""Parse and build cost per packet: native through the batch API (as the server uses it) next to
the pure-Python reference. Targets on the 2-core machine: parse a typical DHCPREQUEST <= 150 ns,
build a typical ACK <= 200 ns, native >= 100x the reference.

    taskset -c 1 python -m pytest benchmarks/bench_codec.py
"""

import pathlib

import pytest

import fastdhcp
from fastdhcp import reference
from fastdhcp.tools.capture import dhcp_datagrams

CORPUS = pathlib.Path(__file__).resolve().parent.parent / "tests" / "data" / "corpus"

BATCH = 64
LEAD = bytes((54, 4, 10, 0, 0, 1, 51, 4, 0, 0, 14, 16, 58, 4, 0, 0, 7, 8, 59, 4, 0, 0, 12, 78))
OPTIONS = {1: bytes((255, 255, 255, 0)), 3: bytes((10, 0, 0, 1)), 6: bytes((10, 0, 0, 2, 10, 0, 0, 3)),
           15: b"lab.example", 28: bytes((10, 0, 0, 255)), 42: bytes((10, 0, 0, 4))}


def typical_request() -> bytes:
    """The first DHCPREQUEST dhclient sent in the committed corpus (SELECTING, with PRL, client
    id and host name): what a server sees most."""
    for _frame, data in dhcp_datagrams(CORPUS / "dhclient.pcapng"):
        p = fastdhcp.decode(data)
        if p.op == 1 and p.msg_type == 3 and p.option(54) is not None:
            return data
    raise AssertionError("no dhclient DHCPREQUEST in tests/data/corpus")


@pytest.fixture(scope="module")
def request_bytes():
    return typical_request()


def test_parse_request_native(benchmark, request_bytes):
    batch = fastdhcp.PacketBatch(BATCH)
    batch.load([request_bytes] * BATCH)
    benchmark.extra_info["packets_per_call"] = BATCH
    assert benchmark(batch.parse) == BATCH


def test_parse_request_reference(benchmark, request_bytes):
    assert benchmark(reference.decode, request_bytes).msg_type == 3


def test_build_ack_native(benchmark, request_bytes):
    batch = fastdhcp.PacketBatch(BATCH)
    batch.load([request_bytes] * BATCH)
    assert batch.parse() == BATCH
    options = fastdhcp.OptionSet(OPTIONS)
    benchmark.extra_info["packets_per_call"] = BATCH
    # Addresses as host-order integers, as the engine holds them (strings are parsed per call).
    assert benchmark(batch.build_replies, 5, 0x0A000032, 0, LEAD, options) == BATCH
    assert fastdhcp.decode(batch.reply(0)).msg_type == 5


def test_build_ack_reference(benchmark, request_bytes):
    req = reference.decode(request_bytes)
    reply = benchmark(reference.build_reply, req, 5, "10.0.0.50", "0.0.0.0", LEAD, OPTIONS)
    assert reference.decode(reply).msg_type == 5
