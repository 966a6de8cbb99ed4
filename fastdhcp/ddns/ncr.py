"""One NameChangeRequest as kea-dhcp-ddns reads it (Kea's dhcp_ddns/ncr_msg.cc): JSON text
prefixed by its length (2 bytes, network order), the DHCID computed as RFC 4701 §3.3 says."""

from __future__ import annotations

import hashlib
import struct
import time
from typing import NamedTuple

CHG_ADD, CHG_REMOVE = 0, 1                  # Kea's NameChangeType
ID_HWADDR, ID_CLIENTID = 0, 1               # the engine's identifier kinds
_DHCID_HWADDR, _DHCID_CLIENTID, _DHCID_DUID = 0, 1, 2   # RFC 4701 §3.3 identifier types
_DIGEST_SHA256 = 1


class NameChange(NamedTuple):
    """What Engine.take_name_changes gives, one request."""

    change: int
    address: str
    cltt: int
    valid_lifetime: int
    fqdn: str
    forward: bool
    reverse: bool
    conflict_resolution: bool
    id_type: int
    identifier: bytes


def fqdn_wire(name: str) -> bytes:
    """The name in DNS wire form, lower-cased and absolute (Kea's writeFqdn(..., downcase))."""
    labels = [label for label in name.lower().encode().rstrip(b".").split(b".") if label]
    return b"".join(bytes((len(label),)) + label for label in labels) + b"\0"


def dhcid(id_type: int, identifier: bytes, fqdn: str) -> bytes:
    """The DHCID RDATA (RFC 4701 §3.3): identifier type (2 bytes), digest type 1, then
    SHA-256 of the identifier and the name in wire form. A client id holding a DUID (type 255,
    RFC 4361 §6.1) is identified by the DUID, as Kea's D2Dhcid::fromClientId does."""
    if id_type == ID_CLIENTID and identifier[:1] == b"\xff" and len(identifier) > 5:
        kind, data = _DHCID_DUID, identifier[5:]
    elif id_type == ID_CLIENTID:
        kind, data = _DHCID_CLIENTID, identifier
    else:
        kind, data = _DHCID_HWADDR, identifier       # htype + chaddr
    digest = hashlib.sha256(data + fqdn_wire(fqdn)).digest()
    return struct.pack("!HB", kind, _DIGEST_SHA256) + digest


def ddns_ttl(lifetime: int) -> int:
    """RFC 4702 §5 as Kea's calculateDdnsTtl reads it: a third of the lease, at least 10 min."""
    return 600 if lifetime < 1800 else lifetime // 3


def _text_time(t: int) -> str:
    return time.strftime("%Y%m%d%H%M%S", time.gmtime(t))


def to_json(c: NameChange) -> str:
    """The request's JSON, field for field and in the order Kea's NameChangeRequest::toJSON
    writes it (lease-expires-on = cltt + TTL, lease-length = TTL, as queueNCR sets them)."""
    ttl = ddns_ttl(c.valid_lifetime)
    # (Kea's setFqdn reads the lease's name as a DNS name and writes it back: absolute)
    fqdn = c.fqdn if c.fqdn.endswith(".") else c.fqdn + "."
    fqdn = fqdn.replace("\\", "\\\\").replace('"', '\\"')
    return (f'{{"change-type":{c.change},'
            f'"forward-change":{"true" if c.forward else "false"},'
            f'"reverse-change":{"true" if c.reverse else "false"},'
            f'"fqdn":"{fqdn}","ip-address":"{c.address}",'
            f'"dhcid":"{dhcid(c.id_type, c.identifier, c.fqdn).hex().upper()}",'
            f'"lease-expires-on":"{_text_time(c.cltt + ttl)}","lease-length":{ttl},'
            f'"use-conflict-resolution":{"true" if c.conflict_resolution else "false"}}}')


def to_wire(c: NameChange) -> bytes:
    """One UDP datagram: the JSON's length, then the JSON (Kea's toFormat(FMT_JSON))."""
    text = to_json(c).encode()
    return struct.pack("!H", len(text)) + text
