# The lease file as Kea's memfile writes and reads it (CSV, 12 columns of lease4 in Kea 2.4+,
# 11 in 2.0/2.2): the row writer behind every batch's commit, and the parser behind the bulk load
# of a restart and the compaction's check of each row. Included by _core.pyx.

from libc.stdlib cimport free, malloc
from libc.stdint cimport int64_t


# One row per record, in Kea's 12-column v4 format. A deletion (or a release: Kea deletes released
# leases) is Kea's own removal marker: the lease with valid_lifetime 0.

cdef inline uint32_t csv_put(uint8_t* out, uint32_t pos, const char* s) noexcept nogil:
    while s[0] != 0:
        out[pos] = <uint8_t>s[0]
        pos += 1
        s += 1
    return pos


cdef uint32_t csv_u64(uint8_t* out, uint32_t pos, uint64_t v) noexcept nogil:
    cdef uint8_t tmp[24]
    cdef int n = 0
    if v == 0:
        out[pos] = CH_0
        return pos + 1
    while v:
        tmp[n] = <uint8_t>(CH_0 + v % 10)
        v //= 10
        n += 1
    while n:
        n -= 1
        out[pos] = tmp[n]
        pos += 1
    return pos


cdef uint32_t csv_addr(uint8_t* out, uint32_t pos, uint32_t a) noexcept nogil:
    cdef int s
    for s in range(24, -8, -8):
        pos = csv_u64(out, pos, (a >> s) & 255)
        if s:
            out[pos] = CH_DOT
            pos += 1
    return pos


cdef uint32_t csv_hex(uint8_t* out, uint32_t pos, const uint8_t* p, uint32_t n) noexcept nogil:
    cdef const char* digits = b"0123456789abcdef"
    cdef uint32_t i
    for i in range(n):
        if i:
            out[pos] = CH_COLON
            pos += 1
        out[pos] = <uint8_t>digits[p[i] >> 4]
        out[pos + 1] = <uint8_t>digits[p[i] & 15]
        pos += 2
    return pos


cdef uint32_t lt_csv_row(const LeaseTable* t, const JournalRecord* j, uint32_t subnet_id,
                         uint32_t pool_in_subnet, uint8_t* out) noexcept nogil:
    cdef const Lease* l = &j.lease
    cdef uint32_t pos = 0, i
    cdef bint gone = j.op == JR_DELETE or l.state == LS_RELEASED
    cdef const uint8_t* host
    pos = csv_addr(out, pos, l.addr)
    out[pos] = CH_COMMA
    pos = csv_hex(out, pos + 1, lt_hw(l), l.hwlen)
    out[pos] = CH_COMMA
    pos = csv_hex(out, pos + 1, lt_cid(t, l), l.cid_len)
    out[pos] = CH_COMMA
    pos = csv_u64(out, pos + 1, 0 if gone else l.valid_lft)
    out[pos] = CH_COMMA
    pos = csv_u64(out, pos + 1, <uint64_t>l.expire if l.expire > 0 else 0)
    out[pos] = CH_COMMA
    pos = csv_u64(out, pos + 1, subnet_id)
    out[pos] = CH_COMMA
    pos = csv_put(out, pos + 1, b"1," if l.flags & LF_FQDN_FWD else b"0,")
    pos = csv_put(out, pos, b"1," if l.flags & LF_FQDN_REV else b"0,")
    host = lt_host(t, l)
    for i in range(l.host_len):
        # Kea escapes commas in text columns as "&#x2c" and reads any "&#x" + two hex digits
        # back. A control byte (a client's host name option may carry any) is escaped too, or
        # a line break would end the row and the rest be read back as a lease of the client's
        # making; and "&", so that a name which itself reads "&#x2c" comes back as it was.
        if host[i] == CH_COMMA or host[i] == CH_AMP or host[i] < CH_SPACE or host[i] == CH_DEL:
            pos = csv_put(out, pos, b"&#x")
            pos = csv_hex(out, pos, &host[i], 1)
        else:
            out[pos] = host[i]
            pos += 1
    out[pos] = CH_COMMA
    pos += 1
    if gone or l.state == LS_BOUND or l.state == LS_OFFERED:
        out[pos] = CH_0           # 0: default
    elif l.state == LS_DECLINED:
        out[pos] = CH_0 + 1       # 1: declined
    else:
        out[pos] = CH_0 + 2       # 2: expired-reclaimed
    out[pos + 1] = CH_COMMA
    out[pos + 2] = CH_COMMA       # user_context: empty
    pos = csv_u64(out, pos + 3, pool_in_subnet)
    out[pos] = CH_NL
    return pos + 1


# ---- Kea memfile CSV rows -> leases (the bulk load of a restart) --------------------------------
# One row (without its newline) into a CsvLease; the 11 columns of Kea 2.0/2.2 or the 12 of 2.4+.
# Returns CSV_OK or what is wrong; the caller counts and skips bad rows.


cdef bint csv_addr_parse(const uint8_t* p, uint32_t n, uint32_t* out) noexcept nogil:
    cdef uint32_t v = 0, part = 0, dots = 0, digits = 0, i
    for i in range(n):
        if p[i] == CH_DOT:
            if digits == 0 or dots == 3:
                return False
            v = (v << 8) | part
            part = digits = 0
            dots += 1
        elif CH_0 <= p[i] <= CH_9 and digits < 3:
            part = part * 10 + (p[i] - CH_0)
            digits += 1
            if part > 255:
                return False
        else:
            return False
    if dots != 3 or digits == 0:
        return False
    out[0] = (v << 8) | part
    return True


cdef bint csv_uint_parse(const uint8_t* p, uint32_t n, uint64_t limit, uint64_t* out) noexcept nogil:
    cdef uint64_t v = 0
    cdef uint32_t i
    if n == 0 or n > 20:
        return False
    for i in range(n):
        if not CH_0 <= p[i] <= CH_9:
            return False
        v = v * 10 + (p[i] - CH_0)
        if v > limit:
            return False
    out[0] = v
    return True


cdef inline int csv_nibble(uint8_t c) noexcept nogil:
    if CH_0 <= c <= CH_9:
        return c - CH_0
    if CH_LOWER_A <= c <= CH_LOWER_A + 5:
        return c - CH_LOWER_A + 10
    if CH_UPPER_A <= c <= CH_UPPER_A + 5:
        return c - CH_UPPER_A + 10
    return -1


# "aa:bb:cc" (Kea also accepts bare hex digit pairs) into out; False if malformed or too long.
cdef bint csv_hex_parse(const uint8_t* p, uint32_t n, uint8_t* out, uint32_t room,
                        uint8_t* out_len) noexcept nogil:
    cdef uint32_t i = 0, k = 0
    cdef int hi, lo
    while i < n:
        if p[i] == CH_COLON:
            i += 1
            continue
        if i + 1 >= n or k >= room:
            return False
        hi, lo = csv_nibble(p[i]), csv_nibble(p[i + 1])
        if hi < 0 or lo < 0:
            return False
        out[k] = <uint8_t>(hi * 16 + lo)
        k += 1
        i += 2
    out_len[0] = <uint8_t>k
    return True


# A boolean column as Kea's CSVRow::readAtBool takes it: "1" or "true".
cdef inline bint csv_true(const uint8_t* p, uint32_t n) noexcept nogil:
    return (n == 1 and p[0] == 49) or (n == 4 and memcmp(p, b"true", 4) == 0)


cdef int csv_parse_row(const uint8_t* p, uint32_t n, CsvLease* out) noexcept nogil:
    cdef uint32_t start[CSV_MAX_FIELDS]
    cdef uint32_t flen[CSV_MAX_FIELDS]
    cdef uint32_t nf = 0, i, s = 0, k
    cdef uint64_t v
    cdef const uint8_t* h
    for i in range(n + 1):
        if i == n or p[i] == CH_COMMA:
            if nf == CSV_MAX_FIELDS:
                return CSV_BAD_COLUMNS
            start[nf] = s
            flen[nf] = i - s
            nf += 1
            s = i + 1
    if nf != 11 and nf != 12:
        return CSV_BAD_COLUMNS
    if not csv_addr_parse(p + start[0], flen[0], &out.addr):
        return CSV_BAD_ADDRESS
    if not csv_hex_parse(p + start[1], flen[1], out.hw, HW_MAX, &out.hwlen):
        return CSV_BAD_HWADDR
    if not csv_hex_parse(p + start[2], flen[2], out.cid, 255, &out.cid_len):
        return CSV_BAD_CLIENT_ID
    if not csv_uint_parse(p + start[3], flen[3], 0xFFFFFFFF, &v):
        return CSV_BAD_NUMBER
    out.valid = <uint32_t>v
    if not csv_uint_parse(p + start[4], flen[4], <uint64_t>1 << 62, &v):
        return CSV_BAD_NUMBER
    out.expire = <int64_t>v
    if not csv_uint_parse(p + start[5], flen[5], 0xFFFFFFFF, &v):
        return CSV_BAD_NUMBER
    out.subnet_id = <uint32_t>v
    v = 0
    if flen[9] and not csv_uint_parse(p + start[9], flen[9], 3, &v):
        return CSV_BAD_STATE
    out.kea_state = <uint8_t>v
    out.fqdn = (LF_FQDN_FWD if csv_true(p + start[6], flen[6]) else 0) | \
        (LF_FQDN_REV if csv_true(p + start[7], flen[7]) else 0)
    # the host name, with Kea's escapes ("&#x" and two hex digits, as for a comma) undone
    h = p + start[8]
    out.host_len = 0
    k = 0
    while k < flen[8]:
        if out.host_len >= HOST_MAX:
            return CSV_BAD_HOSTNAME
        if k + 5 <= flen[8] and h[k] == CH_AMP and h[k + 1] == CH_HASH and h[k + 2] == CH_LOWER_X and \
                csv_nibble(h[k + 3]) >= 0 and csv_nibble(h[k + 4]) >= 0:      # "&#x2c"
            out.host[out.host_len] = <uint8_t>(csv_nibble(h[k + 3]) * 16 + csv_nibble(h[k + 4]))
            k += 5
        else:
            out.host[out.host_len] = h[k]
            k += 1
        out.host_len += 1
    return CSV_OK


# Kea's memfile states: 0 default (bound), 1 declined, 2 expired-reclaimed, 3 released.
cdef inline uint8_t kea_state_to_ls(uint8_t kea) noexcept nogil:
    if kea == 1:
        return LS_DECLINED
    if kea == 2:
        return LS_EXPIRED
    if kea == 3:
        return LS_RELEASED
    return LS_BOUND


# The restart path of Allocator.load_csv: every row of the file parsed natively and loaded as
# load() would take it.
cdef dict memfile_load(Allocator a, const uint8_t[::1] data, int64_t now, uint32_t max_row_errors,
                       uint32_t first_line):
    cdef Py_ssize_t n = data.shape[0], pos = 0, end
    cdef const uint8_t* base = &data[0] if n else NULL
    cdef uint32_t line = first_line, loaded = 0, other = 0, bad = 0, rows = 0, sn, lo, hi, mid
    cdef int why, got
    cdef uint8_t st
    cdef CsvLease row
    cdef Py_ssize_t k
    ids = sorted(a.subnet_index.items())
    cdef uint32_t n_ids = len(ids)
    cdef uint32_t* sid = <uint32_t*>malloc(max(n_ids, 1) * 2 * sizeof(uint32_t))
    if sid == NULL:
        raise MemoryError()
    for k, (subnet_id, index) in enumerate(ids):
        sid[2 * k], sid[2 * k + 1] = subnet_id, index
    bad_rows = []
    torn = False
    try:
        for k in range(n):
            if base[k] == CH_NL:
                rows += 1
        if lt_reserve(&a.t, a.t.count + rows) != 0:
            raise MemoryError()
        while pos < n:
            end = pos
            while end < n and base[end] != CH_NL:
                end += 1
            if end == n:
                torn = True                   # no newline: the write was cut short
                break
            if end > pos and base[end - 1] == CH_CR:
                why = csv_parse_row(base + pos, <uint32_t>(end - pos - 1), &row)
            else:
                why = csv_parse_row(base + pos, <uint32_t>(end - pos), &row)
            pos = end + 1
            line += 1
            if why != CSV_OK:
                bad += 1
                if len(bad_rows) < 100:
                    bad_rows.append((line - 1, _CSV_WHY[why]))
                if max_row_errors and bad > max_row_errors:
                    raise ValueError(f"more than {max_row_errors} bad lease rows (the last "
                                     f"at line {line - 1}: {_CSV_WHY[why]})")
                continue
            lo, hi, sn = 0, n_ids, NIL           # the configured subnet with this id
            while lo < hi:
                mid = (lo + hi) >> 1
                if sid[2 * mid] < row.subnet_id:
                    lo = mid + 1
                elif sid[2 * mid] > row.subnet_id:
                    hi = mid
                else:
                    sn = sid[2 * mid + 1]
                    break
            if sn == NIL:
                other += 1
                continue
            st = kea_state_to_ls(row.kea_state) if row.valid else LS_RELEASED
            got = a.load_one(sn, row.addr, 1, row.hw, row.hwlen, row.cid, row.cid_len,
                                row.valid, row.expire, st, row.host, row.host_len, now, row.fqdn)
            if got < 0:
                raise MemoryError()
            loaded += got
    finally:
        free(sid)
    return {"loaded": loaded, "other_subnet": other, "bad": bad, "bad_rows": bad_rows,
            "torn": torn}


def lease_row_error(const uint8_t[:] row):
    """Why a lease file row (without its line end) would be skipped as bad at load, or None:
    the loader's own parser, for tools that must agree with it (the compaction)."""
    cdef CsvLease out
    cdef int why = csv_parse_row(&row[0] if len(row) else NULL, len(row), &out)
    return None if why == CSV_OK else _CSV_WHY[why]


_CSV_WHY = {CSV_BAD_COLUMNS: "not 11 or 12 columns", CSV_BAD_ADDRESS: "bad address",
            CSV_BAD_HWADDR: "bad hwaddr", CSV_BAD_CLIENT_ID: "bad client_id",
            CSV_BAD_NUMBER: "bad valid_lifetime, expire or subnet_id", CSV_BAD_STATE: "bad state",
            CSV_BAD_HOSTNAME: "host name too long"}
