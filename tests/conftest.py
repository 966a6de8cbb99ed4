"""Shared fixtures: one parametrised `codec` runs a test against both codecs (native and reference),
and `corpus` yields every DHCP datagram of the captures under tests/data/corpus."""

import pathlib

import pytest

import fastdhcp
from fastdhcp import reference
from fastdhcp.tools.capture import dhcp_datagrams

CORPUS_DIR = pathlib.Path(__file__).parent / "data" / "corpus"


class Codec:
    """The same three calls over either implementation, so a test is written once."""

    def __init__(self, name, decode, encode, build_reply):
        self.name = name
        self.decode = decode
        self.encode = encode
        self._build_reply = build_reply

    def build_reply(self, request: bytes, msg_type, yiaddr, siaddr, lead=b"", options=None,
                    always_send=(), echo_client_id=True) -> bytes:
        return self._build_reply(request, msg_type, yiaddr, siaddr, lead, dict(options or {}),
                                 frozenset(always_send), echo_client_id)


def _native_reply(request, msg_type, yiaddr, siaddr, lead, options, always_send, echo):
    return fastdhcp.build_reply(request, msg_type, yiaddr, siaddr, lead,
                                fastdhcp.OptionSet(options, always_send), echo)


def _reference_reply(request, msg_type, yiaddr, siaddr, lead, options, always_send, echo):
    return reference.build_reply(reference.decode(request, allow_bootp=True), msg_type, yiaddr,
                                 siaddr, lead, options, always_send, echo)


NATIVE = Codec("native", fastdhcp.decode, fastdhcp.encode, _native_reply)
REFERENCE = Codec("reference", reference.decode, reference.encode, _reference_reply)


@pytest.fixture(params=[NATIVE, REFERENCE], ids=lambda c: c.name)
def codec(request) -> Codec:
    return request.param


def corpus_files():
    return sorted(p for p in CORPUS_DIR.glob("*.pcap*"))


def corpus_datagrams():
    """(file name, frame number, datagram) for every DHCP datagram of the committed corpus."""
    out = []
    for path in corpus_files():
        for frame, data in dhcp_datagrams(path):
            out.append((path.name, frame, data))
    return out


@pytest.fixture(scope="session")
def corpus():
    items = corpus_datagrams()
    assert items, f"no DHCP datagrams found under {CORPUS_DIR}"
    return items

