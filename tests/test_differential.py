"""Differential tests: the native codec and the pure-Python reference must agree (same Packet or
same DropReason, same reply bytes) on every corpus packet, every truncation of one, and a large
number of seeded mutations. FASTDHCP_FUZZ_COUNT / FASTDHCP_FUZZ_SEED change the run's size/seed.

A disagreement found here is saved under tests/data/regressions/ (by hand, with the command in the
failure message) so it is checked on every run from then on."""

import os
import pathlib
import random

import pytest
from hypothesis import given, settings, strategies as st

import fastdhcp
from fastdhcp import reference
from fastdhcp.packet import MalformedPacket

REGRESSIONS = pathlib.Path(__file__).parent / "data" / "regressions"
FUZZ_COUNT = int(os.environ.get("FASTDHCP_FUZZ_COUNT", "1000000"))
FUZZ_SEED = int(os.environ.get("FASTDHCP_FUZZ_SEED", "20261128"))
MODES = [dict(), dict(requests_only=True), dict(allow_bootp=True)]


def outcome(decode, data, **kw):
    try:
        return decode(data, **kw)
    except MalformedPacket as e:
        return e.reason


def assert_agree(data: bytes, **kw):
    native = outcome(fastdhcp.decode, data, **kw)
    ref = outcome(reference.decode, data, **kw)
    assert native == ref, f"codecs disagree on {data.hex()} ({kw}):\nnative    {native}\nreference {ref}"


def test_corpus_agrees(corpus):
    for _name, _frame, data in corpus:
        for kw in MODES:
            assert_agree(data, **kw)


def test_corpus_parses_cleanly(corpus):
    # Every real client and server packet must be accepted, not dropped.
    for name, frame, data in corpus:
        assert isinstance(fastdhcp.decode(data), fastdhcp.Packet), (name, frame)


def test_every_truncation_agrees(corpus):
    for _name, _frame, data in corpus:
        for n in range(len(data) + 1):
            assert_agree(data[:n])


def test_regressions_agree():
    for path in sorted(REGRESSIONS.glob("*.bin")):
        for kw in MODES:
            assert_agree(path.read_bytes(), **kw)


# ---- seeded mutations --------------------------------------------------------------------------

INTERESTING = (0, 1, 2, 3, 4, 52, 53, 54, 55, 57, 61, 82, 118, 127, 128, 254, 255)


def mutate(rng: random.Random, data: bytes) -> bytes:
    """One to four structure-aware edits: byte flips, special values (PAD, END, 52, 53, 82 ...)
    on the header, cookie, option codes and lengths, insertions, deletions, truncation, and
    overload planted in sname/file."""
    b = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        op = rng.random()
        if not b:
            b.append(rng.randrange(256))
        pos = rng.randrange(len(b))
        if op >= 0.45 and len(b) > 241 and rng.random() < 0.85:
            # Insertions and deletions in the header mostly just move the cookie: keep most of
            # them in the options area, where they exercise the TLV walk.
            pos = rng.randrange(240, len(b))
        if op < 0.25:
            b[pos] ^= 1 << rng.randrange(8)
        elif op < 0.45:
            # Aim at the options area most of the time: that is where parsers go wrong.
            if len(b) > 241 and rng.random() < 0.8:
                pos = rng.randrange(240, len(b))
            b[pos] = rng.choice(INTERESTING)
        elif op < 0.55:
            b[pos:pos] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
        elif op < 0.65:
            del b[pos:pos + rng.randint(1, 8)]
        elif op < 0.72:
            del b[rng.randrange(len(b) + 1):]
        elif op < 0.82 and len(b) >= 240:
            # Overload: a 52 option in the options field, options in file and/or sname.
            b[240:240] = bytes((52, 1, rng.randint(0, 4)))
            field = rng.choice((44, 108))
            tlv = bytes((rng.choice(INTERESTING), rng.randint(0, 20))) + bytes(rng.randint(0, 20))
            b[field:field + len(tlv)] = tlv
        elif len(b) > 242:
            # Repeat an option (RFC 3396 concatenation) or break a length byte.
            start = rng.randrange(240, len(b) - 2)
            b[start:start] = bytes((rng.choice(INTERESTING), rng.randint(0, 6))) + bytes(rng.randint(0, 6))
    return bytes(b)


def test_seeded_mutations_agree(corpus):
    rng = random.Random(FUZZ_SEED)
    seeds = [data for _n, _f, data in corpus]
    for i in range(FUZZ_COUNT):
        data = mutate(rng, rng.choice(seeds))
        kw = MODES[i % len(MODES)]
        native = outcome(fastdhcp.decode, data, **kw)
        ref = outcome(reference.decode, data, **kw)
        if native != ref:
            pytest.fail(f"mutation {i} (seed {FUZZ_SEED}) disagrees ({kw}): save it with\n"
                        f"  python -c \"open('{REGRESSIONS}/mut-{FUZZ_SEED}-{i}.bin','wb')"
                        f".write(bytes.fromhex('{data.hex()}'))\"\nnative    {native}\nreference {ref}")


# ---- generated packets (hypothesis): option layouts the corpus never shows --------------------

option = st.tuples(st.integers(1, 254), st.binary(max_size=40))


@settings(max_examples=3000, deadline=None)
@given(options=st.lists(option, max_size=12), op=st.integers(0, 3), hlen=st.integers(0, 40),
       overload=st.sampled_from([None, 1, 2, 3]), file_opts=st.lists(option, max_size=4),
       sname_opts=st.lists(option, max_size=3), tail=st.binary(max_size=8), end=st.booleans())
def test_generated_layouts_agree(options, op, hlen, overload, file_opts, sname_opts, tail, end):
    def tlvs(items):
        return b"".join(bytes((c, len(v))) + v for c, v in items)
    header = bytearray(236)
    header[0], header[1], header[2] = op, 1, hlen
    if overload:
        options = [(52, bytes((overload,)))] + options
        header[108:108 + 128] = tlvs(file_opts)[:127].ljust(128, b"\0")
        header[44:44 + 64] = tlvs(sname_opts)[:63].ljust(64, b"\0")
    body = bytes(header) + fastdhcp.packet.MAGIC_COOKIE + tlvs(options) + (b"\xff" if end else b"") + tail
    for kw in MODES:
        assert_agree(body, **kw)


# ---- replies and round trips -------------------------------------------------------------------

REPLY_OPTIONS = {1: bytes((255, 255, 255, 0)), 3: bytes((10, 0, 0, 1)), 6: bytes((10, 0, 0, 2, 10, 0, 0, 3)),
                 15: b"lab.example", 28: bytes((10, 0, 0, 255)), 42: bytes(4), 119: b"\x03lab\x07example\x00",
                 121: bytes((24, 10, 9, 0, 10, 0, 0, 1)), 252: b"http://wpad.lab.example/wpad.dat" * 12}
LEAD = bytes((54, 4, 10, 0, 0, 1, 51, 4, 0, 0, 14, 16, 58, 4, 0, 0, 7, 8, 59, 4, 0, 0, 12, 78))


def test_replies_agree_on_corpus(corpus):
    built = 0
    for _name, _frame, data in corpus:
        req = outcome(reference.decode, data)
        if not isinstance(req, fastdhcp.Packet) or req.op != 1:
            continue
        for msg_type, echo, always in ((2, True, ()), (5, True, (42, 252)), (6, False, (28,))):
            a = fastdhcp.build_reply(data, msg_type, "10.0.0.50", "10.0.0.1", LEAD,
                                     fastdhcp.OptionSet(REPLY_OPTIONS, always), echo)
            b = reference.build_reply(req, msg_type, "10.0.0.50", "10.0.0.1", LEAD, REPLY_OPTIONS,
                                      frozenset(always), echo)
            assert a == b, f"replies differ for {data.hex()}"
            built += 1
    assert built


def test_replies_agree_on_mutations(corpus):
    rng = random.Random(FUZZ_SEED + 1)
    requests = [d for _n, _f, d in corpus if d[0] == 1]
    options = fastdhcp.OptionSet(REPLY_OPTIONS, (42,))
    for _ in range(20000):
        data = mutate(rng, rng.choice(requests))
        req = outcome(reference.decode, data, allow_bootp=True)
        if not isinstance(req, fastdhcp.Packet):
            continue
        a = fastdhcp.build_reply(data, 5, "10.0.0.50", "0.0.0.0", LEAD, options, True)
        b = reference.build_reply(req, 5, "10.0.0.50", "0.0.0.0", LEAD, REPLY_OPTIONS, frozenset((42,)), True)
        assert a == b, f"replies differ for {data.hex()}"


def without_framing(p: fastdhcp.Packet):
    """A Packet's content less what encoding may legitimately change: overload (the encoder never
    overloads), quirks of the original framing."""
    return (
        p.op, p.htype, p.hlen, p.hops, p.xid, p.secs, p.flags, p.ciaddr, p.yiaddr, p.siaddr,
        p.giaddr, p.chaddr, p.sname, p.file, p.msg_type,
        tuple(o for o in p.options if o[0] != 52), p.relay_info)


def test_round_trip_keeps_every_field(corpus, codec):
    for name, frame, data in corpus:
        p = codec.decode(data)
        again = codec.decode(codec.encode(p))
        assert without_framing(again) == without_framing(p), (name, frame)
