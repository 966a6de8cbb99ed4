# fastdhcp._core: the only compile unit of the native core. It includes the parts (one idea per
# file) and defines the Python surface. Users import these names from `fastdhcp`.

from libc.stdint cimport uint8_t, uint16_t, uint32_t, uint64_t
from libc.string cimport memcpy, memset
from libc.stdlib cimport calloc, free
cimport cython

from defs cimport *
from buf cimport *
from netsys cimport *
from pool cimport *
from leases cimport *
from allocator cimport *
from memfile cimport *
from mmsg cimport *
from commit cimport *
from pgsql cimport *
from engine cimport *
from loadgen cimport *
from classes cimport *
from names cimport *

import os

cdef extern from *:
    int __builtin_ctzll(unsigned long long x) nogil

from fastdhcp.leases.lease import Lease as PyLease
from fastdhcp._enums import LeaseState
from fastdhcp.packet import DropReason, MalformedPacket, Packet, Quirk

include "options.pyx"
include "wire.pyx"


# ---- edges: addresses and Packet objects (never on the hot path) --------------------------------

cdef uint32_t ip_to_u32(object addr) except? 0xFFFFFFFF:
    if isinstance(addr, int):
        if not 0 <= addr <= 0xFFFFFFFF:
            raise ValueError(f"address out of range: {addr}")
        return addr
    parts = str(addr).split(".")
    if len(parts) != 4 or not all(p.isdigit() and int(p) < 256 for p in parts):
        raise ValueError(f"not an IPv4 address: {addr!r}")
    return (int(parts[0]) << 24) | (int(parts[1]) << 16) | (int(parts[2]) << 8) | int(parts[3])


cdef str u32_to_ip(uint32_t a):
    return f"{a >> 24}.{(a >> 16) & 255}.{(a >> 8) & 255}.{a & 255}"


cdef bytes c_field(const uint8_t* p, int n):
    cdef int i = 0
    while i < n and p[i] != 0:
        i += 1
    return p[:i]


cdef object packet_to_python(const DhcpPacket* p):
    cdef uint16_t k
    cdef uint8_t code
    cdef const uint8_t* v
    cdef const uint8_t* rai
    options = []
    for k in range(p.n_codes):
        code = p.codes[k]
        v = opt_value(p, code)
        options.append((code, v[:p.opt[code].len]))
    relay = []
    if p.n_relay:
        rai = opt_value(p, OPT_RELAY_AGENT_INFO)
        for k in range(p.n_relay):
            relay.append((p.relay[k].code, rai[p.relay[k].off:p.relay[k].off + p.relay[k].len]))
    return Packet(
        op=p.op, htype=p.htype, hlen=p.hlen, hops=p.hops, xid=p.xid, secs=p.secs, flags=p.flags,
        ciaddr=u32_to_ip(p.ciaddr), yiaddr=u32_to_ip(p.yiaddr), siaddr=u32_to_ip(p.siaddr),
        giaddr=u32_to_ip(p.giaddr), chaddr=p.data[HDR_CHADDR:HDR_CHADDR + p.hlen],
        sname=b"" if p.overload & OVERLOAD_SNAME else c_field(p.data + HDR_SNAME, SNAME_LEN),
        file=b"" if p.overload & OVERLOAD_FILE else c_field(p.data + HDR_FILE, FILE_LEN),
        msg_type=p.msg_type, options=tuple(options), relay_info=tuple(relay),
        overload=p.overload, quirks=p.quirks)


cdef uint16_t check_lead(const uint8_t[::1] lead) except? 0xFFFF:
    # Validated once per call (the engine builds its leads at config load), so the builder can
    # walk them without bounds checks.
    cdef Py_ssize_t n = lead.shape[0], i = 0
    if n > LEAD_MAX:
        raise ValueError(f"lead options are {n} bytes; at most {LEAD_MAX}")
    while i < n:
        if lead[i] == OPT_PAD:
            i += 1
            continue
        if i + 1 >= n or i + 2 + lead[i + 1] > n:
            raise ValueError("lead is not a run of option TLVs")
        i += 2 + lead[i + 1]
    return <uint16_t>n


cdef uint8_t check_msg_type(int msg_type) except? 0:
    if not 0 <= msg_type <= 255:
        raise ValueError(f"message type {msg_type} does not fit one byte")
    return <uint8_t>msg_type


# ---- pre-encoded reply options -------------------------------------------------------------------

cdef class OptionSet:
    """Reply options encoded once (at config load) as wire TLVs, looked up by code when building.

    ``values`` maps option code -> value bytes; ``always_send`` lists codes sent even when the
    client's parameter request list does not ask for them. ``vendors`` maps an enterprise id to
    the OptionSet of its vendor-<id> space (sub-options of 125, each at most 255 bytes), which
    the reply builder packs as Kea's appendRequestedVendorOptions does."""

    cdef OptionSetC c
    cdef bytes blob
    cdef readonly frozenset codes
    cdef readonly dict vendors      # (keeps the sub-option sets c.vendor points to)

    def __init__(self, values=None, always_send=(), from_global=(), vendors=None):
        values = dict(values or {})
        chunks = []
        size = 0
        memset(&self.c, 0, sizeof(OptionSetC))
        for code in sorted(values):
            if not 1 <= code <= 254:
                raise ValueError(f"option code {code} cannot be sent (1..254)")
            wire = encode_tlvs(code, bytes(values[code]))
            if len(wire) > 0xFFFF:
                raise ValueError(f"option {code} is too large")
            self.c.off[code] = size
            self.c.len[code] = len(wire)
            self.c.present[code >> 6] |= (<uint64_t>1) << (code & 63)
            chunks.append(wire)
            size += len(wire)
            if size > 0xFFFF:
                raise ValueError("options exceed 64 KiB in total")
        for code in always_send:
            if not 1 <= code <= 254:
                raise ValueError(f"option code {code} cannot be sent (1..254)")
            self.c.always[code >> 6] |= (<uint64_t>1) << (code & 63)
        for code in from_global:            # (only read when client classes have options)
            if not 1 <= code <= 254:
                raise ValueError(f"option code {code} cannot be sent (1..254)")
            self.c.from_global[code >> 6] |= (<uint64_t>1) << (code & 63)
        self.blob = b"".join(chunks)
        self.c.blob = <const uint8_t*>self.blob
        self.codes = frozenset(values)
        self.vendors = dict(vendors or {})
        if len(self.vendors) > VENDOR_SETS_MAX:
            raise ValueError(f"options of more than {VENDOR_SETS_MAX} vendor spaces at one level")
        for enterprise, subs in sorted(self.vendors.items()):
            if not isinstance(subs, OptionSet):
                raise TypeError("vendors: {enterprise id: OptionSet}")
            if not 0 <= enterprise <= 0xFFFFFFFF:
                raise ValueError(f"enterprise id {enterprise} does not fit 32 bits")
            if any((<OptionSet>subs).c.len[k] > 2 + OPT_LEN_MAX for k in range(256)):
                raise ValueError(f"a sub-option of vendor-{enterprise} is over 255 bytes")
            self.c.vendor_id[self.c.n_vendor] = enterprise
            self.c.vendor[self.c.n_vendor] = &(<OptionSet>subs).c
            self.c.n_vendor += 1


cdef bytes encode_tlvs(int code, bytes value):
    # RFC 3396 §5: values over 255 bytes become consecutive instances of the same code.
    if not value:
        return bytes((code, 0))
    out = bytearray()
    for i in range(0, len(value), OPT_LEN_MAX):
        piece = value[i:i + OPT_LEN_MAX]
        out += bytes((code, len(piece)))
        out += piece
    return bytes(out)


include "mmsg.pyx"
include "batch.pyx"
include "pool.pyx"
include "leases.pyx"
include "leaseindex.pyx"         # lookups by host name, hardware address, client id, state
include "leasejson.pyx"          # Kea's lease JSON, for the lease commands
include "allocator.pyx"
include "memfile.pyx"

if sizeof(Lease) != 64:    # one cache line per record: the lease table's layout depends on it
    raise ImportError(f"fastdhcp._core: a lease record is {sizeof(Lease)} bytes, not 64")
include "pgsql.pyx"             # the lease database (PostgreSQL): a group's rows in one transaction
include "commit.pyx"
include "classes.pyx"           # client classification: compiled class tests
include "names.pyx"             # host names (12) and client FQDNs (81); DNS update requests
include "engine.pyx"
include "loadgen.pyx"
include "testing.pyx"
include "enums.pxi"           # NATIVE_ENUMS: generated by _native/enums.py


# ---- one-datagram API (tools, tests, the control API; the server uses PacketBatch) ----------------

cdef DhcpPacket* _one = <DhcpPacket*>calloc(1, sizeof(DhcpPacket))


cdef DhcpPacket* parse_one(const uint8_t[::1] data, bint requests_only, bint allow_bootp) except NULL:
    cdef DropCode dr
    cdef uint32_t n = data.shape[0]
    cdef const uint8_t* p = &data[0] if n else NULL
    dr = wire_parse(_one, p, n, requests_only, allow_bootp)
    if dr != DR_OK:
        raise MalformedPacket(dr)
    return _one


def decode(data, *, bint requests_only=False, bint allow_bootp=False):
    """Parse one datagram into a Packet; raises MalformedPacket(reason) if it must be dropped."""
    cdef bytes keep = bytes(data)    # the Packet's byte strings are cut from it
    return packet_to_python(parse_one(keep, requests_only, allow_bootp))


def build_reply(request, int msg_type, yiaddr, siaddr, const uint8_t[::1] lead, OptionSet options,
                bint echo_client_id=True):
    """Build the reply to one request datagram (see the reply rules in fastdhcp.packet)."""
    cdef bytes req = bytes(request)
    cdef DhcpPacket* p = parse_one(req, False, True)
    cdef uint16_t n_lead = check_lead(lead)
    cdef uint16_t skipped = 0
    cdef uint8_t out[REPLY_CAPACITY]
    cdef uint64_t written[4]
    cdef const uint8_t* lead_p = &lead[0] if n_lead else NULL
    opt_written_mask(lead_p, n_lead, written)
    cdef uint16_t n = wire_build_reply(p, out, check_msg_type(msg_type), ip_to_u32(yiaddr),
                                       ip_to_u32(siaddr), lead_p, n_lead, written,
                                       &options.c, NULL, NULL, echo_client_id, &skipped)
    return out[:n]


cdef int checked(object value, object bits, str name) except -1:
    if not isinstance(value, int) or not 0 <= value < (1 << bits):
        raise ValueError(f"{name} must be an integer of {bits} bits, not {value!r}")
    return 0


def encode(packet):
    """Serialise a Packet (see the encoding rules in fastdhcp.packet)."""
    if len(packet.chaddr) > CHADDR_LEN or len(packet.sname) > SNAME_LEN or len(packet.file) > FILE_LEN:
        raise ValueError("chaddr, sname or file is longer than its BOOTP field")
    for name, bits in (("op", 8), ("htype", 8), ("hlen", 8), ("hops", 8), ("xid", 32), ("secs", 16),
                       ("flags", 16)):
        checked(getattr(packet, name), bits, name)
    out = bytearray(HDR_OPTIONS)
    out[HDR_OP] = packet.op
    out[HDR_HTYPE] = packet.htype
    out[HDR_HLEN] = packet.hlen
    out[HDR_HOPS] = packet.hops
    out[HDR_XID:HDR_XID + 4] = packet.xid.to_bytes(4, "big")
    out[HDR_SECS:HDR_SECS + 2] = packet.secs.to_bytes(2, "big")
    out[HDR_FLAGS:HDR_FLAGS + 2] = packet.flags.to_bytes(2, "big")
    for off, addr in ((HDR_CIADDR, packet.ciaddr), (HDR_YIADDR, packet.yiaddr),
                      (HDR_SIADDR, packet.siaddr), (HDR_GIADDR, packet.giaddr)):
        out[off:off + 4] = ip_to_u32(addr).to_bytes(4, "big")
    out[HDR_CHADDR:HDR_CHADDR + len(packet.chaddr)] = packet.chaddr
    out[HDR_SNAME:HDR_SNAME + len(packet.sname)] = packet.sname
    out[HDR_FILE:HDR_FILE + len(packet.file)] = packet.file
    out[HDR_COOKIE:HDR_OPTIONS] = (<uint32_t>BOOTP_MAGIC_COOKIE).to_bytes(4, "big")
    for code, value in packet.options:
        if not 1 <= code <= 254:
            raise ValueError(f"option code {code} cannot be encoded (PAD and END are framing)")
        if code != OPT_OVERLOAD:     # framing: the encoder never overloads
            out += encode_tlvs(code, bytes(value))
    out.append(OPT_END)
    if len(out) < BOOTP_MIN_SIZE:
        out += bytes(BOOTP_MIN_SIZE - len(out))
    if len(out) > MAX_DATAGRAM:
        raise ValueError(f"encoded packet is {len(out)} bytes; at most {MAX_DATAGRAM}")
    return bytes(out)
