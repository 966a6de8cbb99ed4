# BOOTP fixed header and magic cookie -> DhcpPacket (the whole parse, in the contract's order),
# and the reply header written in place from the request. Included by _core.pyx.

from libc.string cimport memcpy, memset


cdef DropCode wire_parse(DhcpPacket* p, const uint8_t* data, uint32_t size,
                           bint requests_only, bint allow_bootp) noexcept nogil:
    cdef DropCode dr
    cdef int ov
    opt_reset(p)
    p.data = data
    p.quirks = 0
    p.overload = 0
    p.msg_type = 0
    if size < MIN_MESSAGE:
        return DR_TOO_SHORT
    if size > MAX_DATAGRAM:
        return DR_TOO_LONG
    p.size = <uint16_t>size
    p.op = data[HDR_OP]
    if p.op != 1 and p.op != 2:
        return DR_BAD_OP
    if requests_only and p.op != 1:
        return DR_NOT_BOOTREQUEST
    if rd_u32(data + HDR_COOKIE) != BOOTP_MAGIC_COOKIE:
        return DR_BAD_MAGIC_COOKIE
    p.htype = data[HDR_HTYPE]
    p.hlen = data[HDR_HLEN]
    if p.hlen > CHADDR_LEN:     # some broken stacks send hlen > 16; the field is only 16 bytes
        p.hlen = CHADDR_LEN
        p.quirks |= Q_HLEN_CLAMPED
    p.hops = data[HDR_HOPS]
    p.xid = rd_u32(data + HDR_XID)
    p.secs = rd_u16(data + HDR_SECS)
    p.flags = rd_u16(data + HDR_FLAGS)
    p.ciaddr = rd_u32(data + HDR_CIADDR)
    p.yiaddr = rd_u32(data + HDR_YIADDR)
    p.siaddr = rd_u32(data + HDR_SIADDR)
    p.giaddr = rd_u32(data + HDR_GIADDR)

    dr = opt_scan(p, HDR_OPTIONS, p.size, True)
    if dr != DR_OK:
        return dr
    if p.opt[OPT_OVERLOAD].count:       # RFC 2132 §9.3: options continue in file and/or sname
        ov = opt_overload_value(p)
        if ov < 1 or ov > 3:
            return DR_BAD_OVERLOAD
        p.overload = <uint8_t>ov
        if ov & OVERLOAD_FILE:
            dr = opt_scan(p, HDR_FILE, HDR_FILE + FILE_LEN, False)
            if dr != DR_OK:
                return dr
        if ov & OVERLOAD_SNAME:
            dr = opt_scan(p, HDR_SNAME, HDR_SNAME + SNAME_LEN, False)
            if dr != DR_OK:
                return dr
    if p.needs_concat:
        opt_concatenate(p)
    return opt_validate(p, allow_bootp)


# RFC 2131 §4.1 size rule for the reply: what the client says it accepts (57, never below 576),
# capped at one Ethernet MTU, less the IP and UDP headers that 57 includes.
cdef inline uint16_t wire_reply_limit(const DhcpPacket* req) noexcept nogil:
    cdef uint32_t m = DEFAULT_MAX_MESSAGE
    if req.opt[OPT_MAX_MESSAGE_SIZE].count:
        m = rd_u16(opt_value(req, OPT_MAX_MESSAGE_SIZE))
        if m < DEFAULT_MAX_MESSAGE:
            m = DEFAULT_MAX_MESSAGE
        if m > MAX_REPLY_MESSAGE:
            m = MAX_REPLY_MESSAGE
    return <uint16_t>(m - IP_UDP_HEADERS)


# Build a whole reply into out (room for REPLY_CAPACITY bytes) from a parsed request.
# RFC 2131 Table 3 says which header fields are copied; options follow opt_append_reply.
cdef uint16_t wire_build_reply(const DhcpPacket* req, uint8_t* out, uint8_t msg_type,
                               uint32_t yiaddr, uint32_t siaddr, const uint8_t* lead,
                               uint16_t lead_len, const uint64_t* written, const OptionSetC* os,
                               const OptionSetC* top, const ClassSets* cls, bint echo_client_id,
                               uint16_t* skipped) noexcept nogil:
    cdef uint16_t pos
    memset(out, 0, HDR_OPTIONS)
    out[HDR_OP] = 2
    out[HDR_HTYPE] = req.htype
    out[HDR_HLEN] = req.hlen
    out[HDR_HOPS] = req.hops
    wr_u32(out + HDR_XID, req.xid)
    wr_u16(out + HDR_FLAGS, req.flags)
    if msg_type == MT_ACK:
        wr_u32(out + HDR_CIADDR, req.ciaddr)
    wr_u32(out + HDR_YIADDR, yiaddr)
    wr_u32(out + HDR_SIADDR, siaddr)
    wr_u32(out + HDR_GIADDR, req.giaddr)
    memcpy(out + HDR_CHADDR, req.data + HDR_CHADDR, req.hlen)
    wr_u32(out + HDR_COOKIE, BOOTP_MAGIC_COOKIE)
    out[HDR_OPTIONS] = OPT_MESSAGE_TYPE
    out[HDR_OPTIONS + 1] = 1
    out[HDR_OPTIONS + 2] = msg_type
    pos = HDR_OPTIONS + 3
    if lead_len:                 # (memcpy from NULL is undefined even for 0 bytes)
        memcpy(out + pos, lead, lead_len)
        pos += lead_len
    pos = opt_append_reply(req, out, pos, wire_reply_limit(req), written, os, top, cls,
                           echo_client_id, skipped)
    if pos < BOOTP_MIN_SIZE:
        memset(out + pos, 0, BOOTP_MIN_SIZE - pos)
        pos = BOOTP_MIN_SIZE
    return pos


# ---- raw frames: a unicast reply on a directly attached link (RFC 2131 §4.1) ----------------------
# To yiaddr (a client without an address cannot answer ARP) or to ciaddr (one whose ARP nobody
# answers, and no neighbour entry per client): Ethernet + IPv4 + UDP headers are written into the
# headroom before the DHCP payload, checksums included, as Kea's raw sockets write them
# (protocol_util.cc writeIpUdpHeader: TOS low delay, DF, TTL 128, UDP checksum computed).

cdef inline uint32_t wire_sum(const uint8_t* p, uint32_t n, uint32_t acc) noexcept nogil:
    cdef uint32_t i = 0
    while i + 1 < n:
        acc += (<uint32_t>p[i] << 8) | p[i + 1]
        i += 2
    if i < n:
        acc += <uint32_t>p[i] << 8
    return acc


cdef inline uint16_t wire_fold(uint32_t acc) noexcept nogil:
    while acc >> 16:
        acc = (acc & 0xFFFF) + (acc >> 16)
    return <uint16_t>(~acc & 0xFFFF)


# Write the 42 header bytes in front of payload[0:n] (from port 67 to dst_port); returns the frame
# start (payload - 42).
cdef uint8_t* wire_frame(uint8_t* payload, uint16_t n, const uint8_t* src_mac, const uint8_t* dst_mac,
                         uint32_t src_ip, uint32_t dst_ip, uint16_t dst_port) noexcept nogil:
    cdef uint8_t* f = payload - FRAME_HEADERS
    cdef uint8_t* ip = f + 14
    cdef uint8_t* udp = f + 34
    cdef uint16_t udp_len = n + 8
    cdef uint32_t acc
    memcpy(f, dst_mac, 6)
    memcpy(f + 6, src_mac, 6)
    f[12] = 0x08                 # IPv4
    f[13] = 0x00
    ip[0] = 0x45                 # version 4, 20-byte header
    ip[1] = 0x10                 # TOS low delay, as Kea marks it
    wr_u16(ip + 2, udp_len + 20)
    wr_u16(ip + 4, 0)            # identification
    wr_u16(ip + 6, 0x4000)       # don't fragment
    ip[8] = 128                  # TTL, as Kea's
    ip[9] = 17                   # UDP
    wr_u16(ip + 10, 0)
    wr_u32(ip + 12, src_ip)
    wr_u32(ip + 16, dst_ip)
    wr_u16(ip + 10, wire_fold(wire_sum(ip, 20, 0)))
    wr_u16(udp, 67)
    wr_u16(udp + 2, dst_port)
    wr_u16(udp + 4, udp_len)
    wr_u16(udp + 6, 0)
    # UDP checksum over the pseudo-header (addresses, protocol, length), header and payload
    acc = (src_ip >> 16) + (src_ip & 0xFFFF) + (dst_ip >> 16) + (dst_ip & 0xFFFF) + 17 + udp_len
    acc = wire_sum(udp, udp_len, acc)
    acc = wire_fold(acc)
    wr_u16(udp + 6, <uint16_t>(acc if acc else 0xFFFF))
    return f
