# Option index pass: TLVs of the options field and, with overload (52), of file and sname; RFC 3396
# concatenation of repeated options; validation of the options the server reads; option 82
# sub-options. Included by _core.pyx.

from libc.string cimport memcpy


cdef inline const uint8_t* opt_value(const DhcpPacket* p, uint8_t code) noexcept nogil:
    cdef const OptRef* r = &p.opt[code]
    if r.in_scratch:
        return p.scratch + r.off
    return p.data + r.off


cdef inline void opt_reset(DhcpPacket* p) noexcept nogil:
    cdef uint16_t i
    for i in range(p.n_codes):
        p.opt[p.codes[i]].count = 0
        p.opt[p.codes[i]].len = 0
        p.opt[p.codes[i]].in_scratch = 0
    p.n_codes = 0
    p.n_relay = 0
    p.needs_concat = 0
    p.bad_vendor = 0


# Index the TLVs in data[start:end]. In the options field (main) END is optional (quirk NO_END)
# and bytes after it are only inspected for the TRAILING_AFTER_END quirk. In file/sname the field
# boundary ends the run and option 52 is not allowed (RFC 2131 §4.1: it lives in 'options').
cdef DropCode opt_scan(DhcpPacket* p, uint16_t start, uint16_t end, bint main) noexcept nogil:
    cdef const uint8_t* d = p.data
    cdef uint16_t i = start, j
    cdef uint8_t code, n
    cdef OptRef* r
    while i < end:
        code = d[i]
        if code == OPT_PAD:
            i += 1
            continue
        if code == OPT_END:
            if main:
                for j in range(i + 1, end):
                    if d[j] != 0:
                        p.quirks |= Q_TRAILING_AFTER_END
                        break
            return DR_OK
        if i + 1 >= end:
            return DR_OPTION_OVERRUN
        n = d[i + 1]
        if <uint32_t>i + 2 + n > end:
            return DR_OPTION_OVERRUN
        if code == OPT_OVERLOAD and not main:
            return DR_BAD_OVERLOAD
        if (code == OPT_VIVCO or code == OPT_VIVSO) and not vendor_instance_valid(code, d + i + 2, n):
            p.bad_vendor = 1                 # (Kea unpacks each instance before fusing them)
        r = &p.opt[code]
        if r.count == 0:
            r.off = i + 2
            r.len = n
            r.count = 1
            p.codes[p.n_codes] = code
            p.n_codes += 1
        else:
            r.len += n
            if r.count < 255:
                r.count += 1
            p.needs_concat = 1
        i += 2 + n
    if main:
        p.quirks |= Q_NO_END   # e.g. clients that fill the datagram exactly and omit END
    return DR_OK


# Copy the values of repeated options into scratch, joined in wire order (RFC 3396 §6: options,
# then file, then sname). Rare path: only runs when some code appeared twice.
cdef void opt_gather_field(DhcpPacket* p, uint16_t start, uint16_t end, uint16_t* fill) noexcept nogil:
    cdef const uint8_t* d = p.data
    cdef uint16_t i = start
    cdef uint8_t code, n
    cdef OptRef* r
    while i < end:
        code = d[i]
        if code == OPT_PAD:
            i += 1
            continue
        if code == OPT_END:
            return
        n = d[i + 1]            # bounds were proven by opt_scan
        r = &p.opt[code]
        if r.count > 1:
            memcpy(p.scratch + r.off + fill[code], d + i + 2, n)
            fill[code] += n
        i += 2 + n


cdef void opt_concatenate(DhcpPacket* p) noexcept nogil:
    cdef uint16_t fill[256]
    cdef uint16_t used = 0, k
    cdef OptRef* r
    for k in range(p.n_codes):
        r = &p.opt[p.codes[k]]
        fill[p.codes[k]] = 0
        if r.count > 1:
            r.off = used        # scratch region of this code
            r.in_scratch = 1
            used += r.len
    opt_gather_field(p, HDR_OPTIONS, p.size, fill)
    if p.overload & OVERLOAD_FILE:
        opt_gather_field(p, HDR_FILE, HDR_FILE + FILE_LEN, fill)
    if p.overload & OVERLOAD_SNAME:
        opt_gather_field(p, HDR_SNAME, HDR_SNAME + SNAME_LEN, fill)


# The overload value, read before file/sname are scanned. With repeated 52s (absurd but legal
# under RFC 3396) the one-byte value sits in whichever instance is non-empty.
cdef int opt_overload_value(const DhcpPacket* p) noexcept nogil:
    cdef const OptRef* r = &p.opt[OPT_OVERLOAD]
    cdef uint16_t i = HDR_OPTIONS
    cdef uint8_t code, n
    if r.len != 1:
        return -1
    if r.count == 1:
        return p.data[r.off]
    while i < p.size:
        code = p.data[i]
        if code == OPT_PAD:
            i += 1
            continue
        if code == OPT_END:
            break
        n = p.data[i + 1]
        if code == OPT_OVERLOAD and n == 1:
            return p.data[i + 2]
        i += 2 + n
    return -1


# RFC 3046 §2.0: sub-options are plain TLVs, no PAD and no END.
cdef DropCode opt_parse_relay_info(DhcpPacket* p) noexcept nogil:
    cdef const OptRef* r = &p.opt[OPT_RELAY_AGENT_INFO]
    cdef const uint8_t* v = opt_value(p, OPT_RELAY_AGENT_INFO)
    cdef uint16_t i = 0
    cdef uint8_t n
    while i < r.len:
        if i + 1 >= r.len:
            return DR_BAD_RELAY_INFO
        n = v[i + 1]
        if <uint32_t>i + 2 + n > r.len or p.n_relay >= MAX_RELAY_SUBOPTIONS:
            return DR_BAD_RELAY_INFO
        p.relay[p.n_relay].code = v[i]
        p.relay[p.n_relay].len = n
        p.relay[p.n_relay].off = i + 2
        p.n_relay += 1
        i += 2 + n
    return DR_OK


cdef inline bint opt_len_is(const DhcpPacket* p, uint8_t code, uint16_t n) noexcept nogil:
    return p.opt[code].count == 0 or p.opt[code].len == n


# Steps 7-10 of the contract (fastdhcp/packet.py): message type, lengths of the options the
# server reads, relay info, quirks.
# The client's option 125 as Kea 2.2 unpacks it into an OptionVendor: one instance (repeats are
# fused into a generic option), an enterprise id, then one block whose sub-options all fit (a
# truncated one stops Kea's unpacking: SkipRemainingOptionsError, no 125). Later blocks unread.
cdef bint opt_vendor_block(const DhcpPacket* p, uint32_t* vendor_id, const uint8_t** subs,
                           uint8_t* subs_len) noexcept nogil:
    cdef const uint8_t* v
    cdef uint16_t n, i = 0
    if p.opt[OPT_VIVSO].count != 1 or p.opt[OPT_VIVSO].len < 4:
        return False
    v, n = opt_value(p, OPT_VIVSO), p.opt[OPT_VIVSO].len
    vendor_id[0] = rd_u32(v)
    subs[0], subs_len[0] = v + 5, 0
    if n == 4:
        return True
    if 5 + <uint16_t>v[4] > n:
        return False
    while i < v[4]:
        if i + 2 > v[4] or i + 2 + v[5 + i + 1] > v[4]:
            return False
        i += 2 + v[5 + i + 1]
    subs_len[0] = v[4]
    return True


# Rule 9c: one instance of a V-I vendor option as Kea 2.2 unpacks it. 124
# (OptionVendorClass): an enterprise id, then tuples that fit, the enterprise id of each later
# block skipped unread, and a tuple after it. 125 (OptionVendor) of DOCSIS (4491), whose
# sub-options Kea types: oro (1) of at least one byte, tftp-servers (2) whole addresses. A 125
# that does not fit its block is not a reason: Kea stops unpacking there and carries on.
cdef bint vendor_instance_valid(uint8_t code, const uint8_t* v, uint8_t n) noexcept nogil:
    cdef uint32_t pos = 0, end
    if code == OPT_VIVCO:
        if n < 4:
            return False
        v, n = v + 4, n - 4
        while pos < n:
            if n - pos - 1 < v[pos]:
                return False
            pos += 1 + v[pos]
            if pos != n:
                pos += 4
                if pos + 1 >= n:
                    return False
        return True
    if n < 5 or rd_u32(v) != VENDOR_DOCSIS or 5 + <uint32_t>v[4] > n:
        return True
    end = 5 + <uint32_t>v[4]
    pos = 5
    while pos + 2 <= end and pos + 2 + v[pos + 1] <= end:
        if (v[pos] == 1 and v[pos + 1] == 0) or (v[pos] == 2 and v[pos + 1] % 4):
            return False
        pos += 2 + v[pos + 1]
    return True


cdef DropCode opt_validate(DhcpPacket* p, bint allow_bootp) noexcept nogil:
    cdef const OptRef* mt = &p.opt[OPT_MESSAGE_TYPE]
    cdef uint8_t t
    if mt.count == 0:
        if not allow_bootp:
            return DR_NO_MESSAGE_TYPE
        p.msg_type = MT_BOOTP
    else:
        if mt.len != 1:
            return DR_BAD_MESSAGE_TYPE
        t = opt_value(p, OPT_MESSAGE_TYPE)[0]
        if t == 0 or t > MT_MAX:
            return DR_BAD_MESSAGE_TYPE
        p.msg_type = t
    if not (opt_len_is(p, OPT_REQUESTED_ADDRESS, 4) and opt_len_is(p, OPT_LEASE_TIME, 4)
            and opt_len_is(p, OPT_SERVER_ID, 4) and opt_len_is(p, OPT_SUBNET_SELECTION, 4)
            and opt_len_is(p, OPT_MAX_MESSAGE_SIZE, 2)):
        return DR_BAD_OPTION_LENGTH
    if p.opt[OPT_CLIENT_ID].count and p.opt[OPT_CLIENT_ID].len < 2:
        return DR_BAD_OPTION_LENGTH
    if p.opt[OPT_RELAY_AGENT_INFO].count:
        if opt_parse_relay_info(p) != DR_OK:
            return DR_BAD_RELAY_INFO
    if p.opt[OPT_CLIENT_FQDN].count and \
            not fqdn_valid(opt_value(p, OPT_CLIENT_FQDN), p.opt[OPT_CLIENT_FQDN].len):
        return DR_BAD_CLIENT_FQDN            # (Kea's Option4ClientFqdn throws: the packet drops)
    if p.bad_vendor:
        return DR_BAD_VENDOR_OPTION          # (Kea's OptionVendorClass / OptionVendor throw)
    if p.opt[OPT_HOST_NAME].count and p.opt[OPT_HOST_NAME].len == 0:
        p.quirks |= Q_EMPTY_HOSTNAME
    if p.opt[OPT_MAX_MESSAGE_SIZE].count and rd_u16(opt_value(p, OPT_MAX_MESSAGE_SIZE)) < DEFAULT_MAX_MESSAGE:
        p.quirks |= Q_SMALL_MAX_SIZE
    return DR_OK


# Append one value as TLVs split into 255-byte pieces; returns the new position.
cdef inline uint16_t opt_put(uint8_t* out, uint16_t pos, uint8_t code, const uint8_t* v, uint16_t n) noexcept nogil:
    cdef uint16_t piece
    if n == 0:
        out[pos] = code
        out[pos + 1] = 0
        return pos + 2
    while n > 0:
        piece = 255 if n > 255 else n
        out[pos] = code
        out[pos + 1] = <uint8_t>piece
        memcpy(out + pos + 2, v, piece)
        pos += 2 + piece
        v += piece
        n -= piece
    return pos


cdef inline uint16_t opt_copy_if_fits(uint8_t* out, uint16_t pos, uint16_t room, const OptionSetC* os,
                                      uint8_t code, uint16_t* skipped) noexcept nogil:
    if <uint32_t>pos + os.len[code] > room:
        skipped[0] += 1
        return pos
    memcpy(out + pos, os.blob + os.off[code], os.len[code])
    return pos + os.len[code]


# The codes a reply has before its optional options: 53 and those of the lead TLVs (a valid run,
# checked by the caller; PAD allowed). Computed once per lead, not per reply.
cdef void opt_written_mask(const uint8_t* lead, uint16_t lead_len, uint64_t* mask) noexcept nogil:
    cdef uint16_t k = 0
    mask[0] = mask[1] = mask[2] = mask[3] = 0
    bit_set(mask, OPT_MESSAGE_TYPE)
    while k < lead_len:
        if lead[k] == OPT_PAD:
            k += 1
            continue
        bit_set(mask, lead[k])
        k += 2 + lead[k + 1]


# The reply's options after 53 and the lead: PRL order, then always-send, then echoes and END.
# Optional options that would not fit the client's size limit are skipped, never truncated.
# `top` (may be NULL) overlays `os`: a code it holds is taken from it (a global reservation's
# own options over the subnet's, without a merged set per reservation and subnet).
# Where a reply's option `code` comes from when client classes have options: the overlay (a
# global reservation's own), then the set's own levels (host, pool, subnet, shared network),
# then the classes in join order, then the set's global-level values (Kea's CfgOptionList order).
cdef inline const OptionSetC* opt_source(const OptionSetC* os, const OptionSetC* top,
                                         const ClassSets* cls, uint8_t code) noexcept nogil:
    cdef int k
    if top != NULL and bit_test(top.present, code):
        return top
    if bit_test(os.present, code) and not bit_test(os.from_global, code):
        return os
    for k in range(cls.n):
        if bit_test(cls.set[k].present, code):
            return cls.set[k]
    if bit_test(os.present, code):
        return os
    return NULL


# The options the request's parameter request list names, in its order, each from the tier
# opt_source picks (without classes: the overlay's, else the set's).
cdef uint16_t opt_append_requested(const DhcpPacket* req, uint8_t* out, uint16_t pos,
                                   uint16_t room, uint64_t* seen, const OptionSetC* os,
                                   const OptionSetC* top, const ClassSets* cls,
                                   uint16_t* skipped) noexcept nogil:
    cdef uint16_t k
    cdef const uint8_t* prl
    cdef uint8_t code
    cdef const OptionSetC* src
    if not req.opt[OPT_PARAMETER_LIST].count:
        return pos
    prl = opt_value(req, OPT_PARAMETER_LIST)
    for k in range(req.opt[OPT_PARAMETER_LIST].len):
        code = prl[k]
        if bit_test(seen, code):
            continue
        bit_set(seen, code)
        src = opt_source(os, top, cls, code)
        if src != NULL:
            pos = opt_copy_if_fits(out, pos, room, src, code, skipped)
    return pos


# The always-send options of a packet whose classes have options: in code order, from every
# tier, each from the tier opt_source picks.
cdef uint16_t opt_append_always_tiers(uint8_t* out, uint16_t pos, uint16_t room, uint64_t* seen,
                                      const OptionSetC* os, const OptionSetC* top,
                                      const ClassSets* cls, uint16_t* skipped) noexcept nogil:
    cdef uint64_t pending
    cdef uint16_t w
    cdef int j
    cdef uint8_t code
    cdef const OptionSetC* src
    for w in range(4):
        pending = os.always[w] & os.present[w]
        if top != NULL:
            pending |= top.always[w] & top.present[w]
        for j in range(cls.n):
            pending |= cls.set[j].always[w] & cls.set[j].present[w]
        pending &= ~seen[w]
        while pending:
            code = <uint8_t>(w * 64 + __builtin_ctzll(pending))
            pending &= pending - 1
            bit_set(seen, code)
            src = opt_source(os, top, cls, code)
            if src != NULL:
                pos = opt_copy_if_fits(out, pos, room, src, code, skipped)
    return pos


# Whether the request's parameter request list (55) names `code`.
cdef inline bint opt_requests(const DhcpPacket* req, uint8_t code) noexcept nogil:
    cdef const uint8_t* prl
    cdef uint16_t k
    if not req.opt[OPT_PARAMETER_LIST].count:
        return False
    prl = opt_value(req, OPT_PARAMETER_LIST)
    for k in range(req.opt[OPT_PARAMETER_LIST].len):
        if prl[k] == code:
            return True
    return False


# Whether any tier always sends `code` (always-send is sticky across levels).
cdef inline bint tier_always(const OptionSetC* os, const OptionSetC* top, const ClassSets* cls,
                             uint8_t code) noexcept nogil:
    cdef int k
    if bit_test(os.always, code) and bit_test(os.present, code):
        return True
    if top != NULL and bit_test(top.always, code) and bit_test(top.present, code):
        return True
    for k in range(cls.n):
        if bit_test(cls.set[k].always, code) and bit_test(cls.set[k].present, code):
            return True
    return False


# ---- option 125: the sub-options of vendor spaces (Kea's appendRequestedVendorOptions) ---------

# The one sub-option `code` of a block of TLVs (NULL when absent or repeated: a repeat is fused).
cdef const uint8_t* opt_sole_tlv(const uint8_t* v, uint16_t n, uint8_t code) noexcept nogil:
    cdef const uint8_t* found = NULL
    cdef uint16_t i = 0
    while i + 2 <= n:
        if v[i] == code:
            if found != NULL:
                return NULL
            found = v + i
        i += 2 + v[i + 1]
    return found


cdef inline const OptionSetC* vendor_set(const OptionSetC* t, uint32_t vendor_id) noexcept nogil:
    cdef int k
    if t == NULL:
        return NULL
    for k in range(t.n_vendor):
        if t.vendor_id[k] == vendor_id:
            return t.vendor[k]
    return NULL


cdef inline bint any_vendor(const OptionSetC* os, const OptionSetC* top,
                            const ClassSets* cls) noexcept nogil:
    cdef int k
    if os.n_vendor or (top != NULL and top.n_vendor):
        return True
    for k in range(cls.n):
        if cls.set[k].n_vendor:
            return True
    return False


# Where sub-option `code` of an enterprise comes from: opt_source's order over the tiers' sets.
cdef const OptionSetC* vendor_source(const OptionSetC* os, const OptionSetC* top,
                                     const ClassSets* cls, uint32_t vendor_id,
                                     uint8_t code) noexcept nogil:
    cdef const OptionSetC* v = vendor_set(top, vendor_id)
    cdef int k
    if v != NULL and bit_test(v.present, code):
        return v
    v = vendor_set(os, vendor_id)
    if v != NULL and bit_test(v.present, code) and not bit_test(v.from_global, code):
        return v
    for k in range(cls.n):
        v = vendor_set(cls.set[k], vendor_id)
        if v != NULL and bit_test(v.present, code):
            return v
    v = vendor_set(os, vendor_id)
    if v != NULL and bit_test(v.present, code):
        return v
    return NULL


cdef inline void vendor_always(const OptionSetC* t, uint32_t vendor_id, uint64_t* want) noexcept nogil:
    cdef const OptionSetC* v = vendor_set(t, vendor_id)
    cdef int w
    if v != NULL:
        for w in range(4):
            want[w] |= v.always[w] & v.present[w]


cdef inline uint16_t opt_copy_tlv(uint8_t* out, uint16_t pos, uint16_t room, const uint8_t* wire,
                                  uint16_t n, uint16_t* skipped) noexcept nogil:
    if <uint32_t>pos + n > room:
        skipped[0] += 1
        return pos
    memcpy(out + pos, wire, n)
    return pos + n


# Option 125 of a reply: the enterprise is the configured 125's the reply carries (`conf`, its
# TLV, when 55 or always-send put it there), else the client's own; the sub-options wanted are
# the always-send ones of that vendor space at any tier and, for DOCSIS, what the client's ORO
# names; each comes from the first tier that has it, unless the configured 125 has it already.
# Sub-options are packed in code order (Kea's option multimap). Nothing added, no configured
# 125: no 125. The configured option is not changed for later replies (Kea 2.2 adds the
# sub-options to the configuration's own object: docs/kea-differences.md).
cdef uint16_t opt_append_vendor(const DhcpPacket* req, uint8_t* out, uint16_t pos, uint16_t room,
                                const OptionSetC* os, const OptionSetC* top, const ClassSets* cls,
                                const uint8_t* conf, uint16_t conf_len,
                                uint16_t* skipped) noexcept nogil:
    cdef uint32_t vendor_id = 0
    cdef const uint8_t* csubs = NULL
    cdef const uint8_t* oro
    cdef const uint8_t* tlv[128]
    cdef const uint8_t* t
    cdef const OptionSetC* src
    cdef uint8_t csubs_len = 0, code
    cdef uint64_t want[4]
    cdef uint64_t have[4]
    cdef uint8_t val[512]
    cdef uint16_t n_tlv = 0, k, j, used = 0, vlen, rest = 0
    cdef bint client = opt_vendor_block(req, &vendor_id, &csubs, &csubs_len)
    cdef bint added = False
    cdef const uint8_t* cv = conf + 2 if conf != NULL else NULL
    cdef uint16_t cn = conf[1] if conf != NULL else 0
    if conf != NULL and cn >= 4:
        vendor_id = rd_u32(cv)
    elif not client:
        if conf != NULL:                 # (a configured value too short to name a vendor)
            return opt_copy_tlv(out, pos, room, conf, conf_len, skipped)
        return pos
    want[0] = want[1] = want[2] = want[3] = 0
    have[0] = have[1] = have[2] = have[3] = 0
    if vendor_id == VENDOR_DOCSIS and client:
        oro = opt_sole_tlv(csubs, csubs_len, DOCSIS_ORO)
        if oro != NULL:
            for k in range(oro[1]):
                bit_set(want, oro[2 + k])
    vendor_always(top, vendor_id, want)
    vendor_always(os, vendor_id, want)
    for k in range(cls.n):
        vendor_always(cls.set[k], vendor_id, want)
    # the configured 125's own sub-options (its first block) stay, in their place by code
    if conf != NULL and cn >= 5:
        k = 0
        while k + 2 <= cv[4] and 5 + k + 2 + cv[5 + k + 1] <= cn and n_tlv < 128:
            tlv[n_tlv] = cv + 5 + k
            n_tlv += 1
            used += 2 + cv[5 + k + 1]
            bit_set(have, cv[5 + k])
            k += 2 + cv[5 + k + 1]
        rest = cn - 5 - cv[4] if 5 + cv[4] <= cn else 0
    for k in range(256):
        code = <uint8_t>k
        if not bit_test(want, code) or bit_test(have, code) or n_tlv >= 128:
            continue
        src = vendor_source(os, top, cls, vendor_id, code)
        if src == NULL:
            continue
        if used + src.len[code] > OPT_LEN_MAX:     # data-len is one byte (RFC 3925 §4)
            skipped[0] += 1
            continue
        tlv[n_tlv] = src.blob + src.off[code]
        n_tlv += 1
        used += src.len[code]
        added = True
    if not added:
        if conf != NULL:
            return opt_copy_tlv(out, pos, room, conf, conf_len, skipped)
        return pos
    for k in range(1, n_tlv):                      # insertion sort by code, stable
        t = tlv[k]
        j = k
        while j > 0 and tlv[j - 1][0] > t[0]:
            tlv[j] = tlv[j - 1]
            j -= 1
        tlv[j] = t
    wr_u32(val, vendor_id)
    val[4] = <uint8_t>used
    vlen = 5
    for k in range(n_tlv):
        memcpy(val + vlen, tlv[k], 2 + tlv[k][1])
        vlen += 2 + tlv[k][1]
    if rest and vlen + rest <= sizeof(val):       # a configured value's further blocks
        memcpy(val + vlen, cv + 5 + cv[4], rest)
        vlen += rest
    if <uint32_t>pos + tlv_wire_len(vlen) > room:
        skipped[0] += 1
        return pos
    return opt_put(out, pos, OPT_VIVSO, val, vlen)


cdef uint16_t opt_append_reply(const DhcpPacket* req, uint8_t* out, uint16_t pos, uint16_t limit,
                               const uint64_t* written, const OptionSetC* os, const OptionSetC* top,
                               const ClassSets* cls, bint echo_client_id,
                               uint16_t* skipped) noexcept nogil:
    cdef uint64_t seen[4]
    cdef uint64_t pending
    cdef uint32_t reserve = 1
    cdef uint16_t room, w
    cdef uint8_t code
    cdef ClassSets no_classes
    cdef const OptionSetC* src
    cdef const uint8_t* conf = NULL
    cdef uint16_t conf_len = 0
    cdef bint vendor
    cdef bint echo_cid = echo_client_id and req.opt[OPT_CLIENT_ID].count
    cdef bint echo_rai = req.opt[OPT_RELAY_AGENT_INFO].count
    # A code appears once per reply (RFC 3396 would join repeats): `written` holds 53 and the
    # lead's codes (opt_written_mask), and the echoes are the builder's own.
    seen[0], seen[1], seen[2], seen[3] = written[0], written[1], written[2], written[3]
    bit_set(seen, OPT_CLIENT_ID)
    bit_set(seen, OPT_RELAY_AGENT_INFO)
    if echo_cid:
        reserve += tlv_wire_len(req.opt[OPT_CLIENT_ID].len)
    if echo_rai:
        reserve += tlv_wire_len(req.opt[OPT_RELAY_AGENT_INFO].len)
    room = <uint16_t>(limit - reserve) if limit > reserve else 0
    if cls == NULL:
        no_classes.n = 0
        cls = &no_classes
    # 125 is built last from its tiers when any has vendor-space options: note the configured
    # one a pass would have copied (55 names it, or some tier always sends it)
    vendor = any_vendor(os, top, cls) and not bit_test(seen, OPT_VIVSO)
    if vendor:
        bit_set(seen, OPT_VIVSO)
        src = opt_source(os, top, cls, OPT_VIVSO)
        if src != NULL and (opt_requests(req, OPT_VIVSO) or tier_always(os, top, cls, OPT_VIVSO)):
            conf, conf_len = src.blob + src.off[OPT_VIVSO], src.len[OPT_VIVSO]
    pos = opt_append_requested(req, out, pos, room, seen, os, top, cls, skipped)
    if cls.n:
        pos = opt_append_always_tiers(out, pos, room, seen, os, top, cls, skipped)
    else:
        if top != NULL:
            for w in range(4):
                pending = top.always[w] & top.present[w] & ~seen[w]
                while pending:
                    code = <uint8_t>(w * 64 + __builtin_ctzll(pending))
                    pending &= pending - 1
                    bit_set(seen, code)
                    pos = opt_copy_if_fits(out, pos, room, top, code, skipped)
        for w in range(4):
            pending = os.always[w] & os.present[w] & ~seen[w]
            while pending:                   # (always-send is sticky: the overlay's value goes)
                code = <uint8_t>(w * 64 + __builtin_ctzll(pending))
                pending &= pending - 1
                pos = opt_copy_if_fits(out, pos, room,
                                       top if top != NULL and bit_test(top.present, code) else os,
                                       code, skipped)
    if vendor:
        pos = opt_append_vendor(req, out, pos, room, os, top, cls, conf, conf_len, skipped)
    if echo_cid:    # RFC 6842
        pos = opt_put(out, pos, OPT_CLIENT_ID, opt_value(req, OPT_CLIENT_ID), req.opt[OPT_CLIENT_ID].len)
    if echo_rai:    # RFC 3046 §2.2: copied unchanged, as the last option
        pos = opt_put(out, pos, OPT_RELAY_AGENT_INFO, opt_value(req, OPT_RELAY_AGENT_INFO),
                      req.opt[OPT_RELAY_AGENT_INFO].len)
    out[pos] = OPT_END
    return pos + 1
