# Kea's lease objects as JSON text (Lease4::toElement as lease_cmds answers them), written
# natively for the commands that list many leases: keys sorted and ", " / ": " separators, as
# fastdhcp.control writes every answer (answers.to_json), so the text is byte for byte what
# json.dumps of control/leases.py's lease_json gives. A page of 1,000 leases costs a fraction of
# a millisecond instead of a thousand Python objects. Included by _core.pyx before allocator.pyx.

from libc.stdio cimport snprintf

import json as _json

cdef struct JsonOut:
    char* p
    size_t n
    size_t cap

cdef const char* _HEXDIGITS = b"0123456789abcdef"


cdef int jo_reserve(JsonOut* o, size_t more) except -1:
    cdef size_t cap
    cdef char* grown
    if o.n + more <= o.cap:
        return 0
    cap = max(o.cap * 2, o.n + more + 4096)
    grown = <char*>realloc(o.p, cap)
    if grown == NULL:
        raise MemoryError()
    o.p, o.cap = grown, cap
    return 0


cdef inline int jo_raw(JsonOut* o, const char* s, size_t k) except -1:
    jo_reserve(o, k)
    memcpy(o.p + o.n, s, k)
    o.n += k
    return 0


cdef int jo_hex(JsonOut* o, const uint8_t* b, uint8_t k) except -1:
    """"aa:bb:..." (an empty value is "")."""
    cdef uint8_t i
    jo_reserve(o, 3 * <size_t>k + 2)
    o.p[o.n] = b'"'
    o.n += 1
    for i in range(k):
        if i:
            o.p[o.n] = b':'
            o.n += 1
        o.p[o.n] = _HEXDIGITS[b[i] >> 4]
        o.p[o.n + 1] = _HEXDIGITS[b[i] & 15]
        o.n += 2
    o.p[o.n] = b'"'
    o.n += 1
    return 0


cdef int jo_string(JsonOut* o, const uint8_t* s, uint16_t k) except -1:
    """A JSON string as json.dumps writes it (ensure_ascii): short escapes for the usual
    control characters, \\u00XX for the others and DEL; a name with non-ASCII bytes goes through
    Python's json (UTF-8, invalid bytes replaced, as lease_json decodes it)."""
    cdef uint16_t i
    cdef uint8_t c
    for i in range(k):
        if s[i] >= 0x80:
            text = _json.dumps((<bytes>s[:k]).decode("utf-8", "replace")).encode()
            return jo_raw(o, text, len(text))
    jo_reserve(o, 6 * <size_t>k + 2)
    o.p[o.n] = b'"'
    o.n += 1
    for i in range(k):
        c = s[i]
        if c == b'"' or c == b'\\':
            o.p[o.n] = b'\\'
            o.p[o.n + 1] = c
            o.n += 2
        elif 0x20 <= c < 0x7f:           # (json.dumps escapes DEL too)
            o.p[o.n] = c
            o.n += 1
        elif c == b'\n' or c == b'\r' or c == b'\t' or c == 8 or c == 12:
            o.p[o.n] = b'\\'
            o.p[o.n + 1] = (b'n' if c == b'\n' else b'r' if c == b'\r' else b't' if c == b'\t'
                            else b'b' if c == 8 else b'f')
            o.n += 2
        else:
            memcpy(o.p + o.n, b"\\u00", 4)
            o.p[o.n + 4] = _HEXDIGITS[c >> 4]
            o.p[o.n + 5] = _HEXDIGITS[c & 15]
            o.n += 6
    o.p[o.n] = b'"'
    o.n += 1
    return 0


cdef int jo_number(JsonOut* o, const char* key, long long v) except -1:
    """``"key": v`` after ", " (every number field but the first follows another field)."""
    cdef char tmp[64]
    cdef int k = snprintf(tmp, sizeof(tmp), "%s%lld", key, v)
    return jo_raw(o, tmp, k)
