"""A lease as Python sees it (tools, tests, the control API), and its Kea memfile CSV row.

The native table (fastdhcp._core.Allocator) holds leases as fixed-size C records; this is the
edge representation. Kea's memfile v4 columns (2.4+):
address,hwaddr,client_id,valid_lifetime,expire,subnet_id,fqdn_fwd,fqdn_rev,hostname,state,user_context,pool_id
"""

from __future__ import annotations

import re

import msgspec

from .._enums import LeaseState   # defined once, in _native/leases.pxd

KEA_V4_HEADER = ("address,hwaddr,client_id,valid_lifetime,expire,subnet_id,fqdn_fwd,fqdn_rev,"
                 "hostname,state,user_context,pool_id")


class Lease(msgspec.Struct, frozen=True):
    address: str
    hwaddr: bytes
    client_id: bytes
    valid_lifetime: int
    expire: int
    subnet_id: int
    state: LeaseState
    hostname: str = ""
    fqdn_fwd: bool = False
    fqdn_rev: bool = False
    pool_id: int = 0
    htype: int = 1

    def kea_row(self) -> str:
        """This lease as one line of Kea's memfile CSV (without the newline)."""
        return ",".join((
            self.address, _colon_hex(self.hwaddr), _colon_hex(self.client_id),
            str(0 if self.state == LeaseState.RELEASED else self.valid_lifetime),
            str(self.expire), str(self.subnet_id),
            str(int(self.fqdn_fwd)), str(int(self.fqdn_rev)), _csv_escape(self.hostname),
            str(self.state.kea_state), "", str(self.pool_id)))


def _colon_hex(b: bytes) -> str:
    return ":".join(f"{x:02x}" for x in b)


# Kea's CSV escapes commas in text columns as "&#x2c" and reads any "&#x" + two hex digits
# back. Control characters are escaped too (a line break would end the row), and "&" (so that
# a text that itself reads "&#x2c" comes back as it was).
_CSV_ESCAPED = re.compile(r"[,&\x00-\x1f\x7f]")
_CSV_ESCAPE = re.compile(r"&#x([0-9a-fA-F]{2})")


def _csv_escape(text: str) -> str:
    return _CSV_ESCAPED.sub(lambda m: f"&#x{ord(m.group()):02x}", text)


def csv_unescape(text: str) -> str:
    """A text column of a Kea CSV lease file as it was before escaping."""
    return _CSV_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text)
