"""The native name decision (_native/names.pyx) case by case, as Kea 2.2's code reads (no root,
no sockets): Dhcpv4Srv::processHostnameOption / processClientFqdnOption, D2ClientMgr's
qualifyName, generateFqdn and analyzeFqdn, isc::dns::Name's rules. The same cases run end to
end against kea-dhcp4 in test_client_names.py."""

from __future__ import annotations

import pytest

from fastdhcp import _core, reference

S, O, E, N = 1, 2, 4, 8


def decide(**kw):
    _, name, fwd, rev, option = _core.time_client_name(n=1, **kw)
    return name, fwd, rev, option


@pytest.mark.parametrize("host, suffix, want", [
    (b"laptop", "", "laptop"),
    (b"  Laptop\t", "", "laptop"),                    # trimmed (Kea's str::trim)
    (b"a_b.c", "", "ab.c"),                            # sanitised, not qualified (3 labels)
    (b"box", "example.org.", "box.example.org"),       # qualified, no trailing dot
    (b"box.", "example.org", "box.example.org"),
    (b"box.example.org", "example.org", "box.example.org"),   # already has it
    (b"foo.barexample.org", "example.org", "foo.barexample.org"),   # 3 labels: as is
    (b"foo", "Example.ORG", "foo.Example.ORG"),        # the suffix as configured
])
def test_host_name(host, suffix, want):
    name, fwd, rev, option = decide(host=host, suffix=suffix)
    assert name == want and option == bytes((12, len(want))) + want.encode()
    assert (fwd, rev) == (False, False)


@pytest.mark.parametrize("host", [b"", b"   ", b"a..b", b".a", b"x" * 64, b"a\\", b"a\\25"])
def test_a_host_name_that_is_no_dns_name_gets_no_name(host):
    assert decide(host=host) == ("", False, False, b"")


def test_the_root_name_is_replaced_by_a_generated_one():
    name, _, _, option = decide(host=b".", suffix="lab")
    assert name == "myhost-192-0-2-100.lab" and option[2:] == name.encode()


def test_a_custom_regex_scrubs_as_posix_extended_regexes_do():
    name, *_ = decide(host=b"Ab--c", char_set="[^a-z]")
    assert name == "bc"
    name, *_ = decide(host=b"ab--cd", char_set="-+")      # a run at a time: not a bracket
    assert name == "abcd"


def fqdn(flags, name):
    return bytes((flags, 0, 0)) + name


@pytest.mark.parametrize("flags, updates, want_flags, fwd, rev", [
    (S | E, False, N | O | E, False, False),
    (S | E, True, S | E, True, True),
    (E, True, E, False, True),
    (N | E, True, N | E, False, False),
    (0, True, 0, False, True),
])
def test_fqdn_flags(flags, updates, want_flags, fwd, rev):
    value = b"\x02pc\x03lab\x00" if flags & E else b"pc.lab."      # (E clear: ASCII)
    name, f, r, option = decide(fqdn=fqdn(flags, value), updates=updates)
    assert option[2] == want_flags and (f, r) == (fwd, rev) and name == "pc.lab."


def test_fqdn_partial_is_qualified_and_lowercased():
    name, _, _, option = decide(fqdn=fqdn(E, b"\x02PC"), suffix="Lab.Example")
    assert name == "pc.lab.example." and option[5:] == b"\x02pc\x03lab\x07example\x00"


def test_fqdn_ascii_answered_in_ascii():
    name, _, _, option = decide(fqdn=fqdn(0, b"Old.Example"))
    assert name == "old.example" + "." and option[5:] == b"old.example."


def test_fqdn_escapes_what_kea_escapes():
    name, *_ = decide(fqdn=fqdn(E, b"\x03a$b\x03lab\x00"), char_set="")
    assert name == "a\\$b.lab."


@pytest.mark.parametrize("value", [b"", b"\x05\x00", bytes((N | S | E, 0, 0)),
                                   bytes((E, 0, 0)) + b"\x40" + b"a" * 64 + b"\x00",
                                   bytes((E, 0, 0)) + b"\x02pc\x00\x01x",
                                   bytes((0, 0, 0)) + b"a..b"])
def test_a_malformed_fqdn_drops_the_packet(value):
    data = reference.discover(b"\x02\0\0\0\0\1", 1, extra_options=[(81, value)])
    with pytest.raises(Exception) as info:
        _core.decode(data)
    assert "81" in str(info.value) or "fqdn" in str(info.value).lower()
    with pytest.raises(Exception):
        reference.decode(data)
