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


# ---- markers: root, e2e, slow (registered in pyproject.toml) --------------------------------------
# A contributor without root runs `pytest -m "not root"`; CI (root) runs everything, and there a
# root test fails when it cannot get its lab, never skips (netlab.pytest_require_root).

LAB_SELF_TESTS = {"test_netlab"}   # the lab's own tests: root, but no server end to end
# Over 10 s: the sanitizer build. (tests/test_e2e_server.py, measured as root: none over 7 s.)
SLOW_MODULES = {"test_sanitizers"}
SLOW_TESTS: set[str] = set()      # "module::test" of single long tests


def _uses_lab(item) -> bool:
    """The test, or a fixture it depends on, takes a lab made by netlab.lab_fixture()."""
    info = getattr(item, "_fixtureinfo", None)
    return info is not None and any(
        getattr(d.func, "__qualname__", "").startswith("lab_fixture.")
        for defs in info.name2fixturedefs.values() for d in defs)


def _calls_require_root(item) -> bool:
    """The test function itself calls netlab's root check (a lab made in its body)."""
    fn = getattr(item, "function", None)
    code = getattr(fn, "__code__", None)
    return code is not None and any(
        getattr(fn.__globals__.get(name), "__name__", "") in ("pytest_require_root", "require_root")
        for name in code.co_names)


def pytest_collection_modifyitems(config, items):
    for item in items:
        module = item.module.__name__ if item.module else ""
        lab = _uses_lab(item)
        if lab or _calls_require_root(item):
            item.add_marker(pytest.mark.root)
            if lab and module not in LAB_SELF_TESTS:
                item.add_marker(pytest.mark.e2e)
        if module in SLOW_MODULES or f"{module}::{item.originalname}" in SLOW_TESTS:
            item.add_marker(pytest.mark.slow)
