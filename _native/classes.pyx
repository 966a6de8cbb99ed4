# Client classification: the compiled class tests (fastdhcp/classify/compile.py) evaluated per
# packet on a small value stack, with Kea 2.2's semantics (src/lib/eval/token.cc), no Python and
# no allocation: values are slices of the packet, of the constants or of a per-packet scratch
# buffer. A test whose evaluation fails (Kea throws) leaves the packet out of the class.
# Included by _core.pyx.

from libc.stdio cimport snprintf
from libc.string cimport memcmp, memcpy

cdef extern from "<arpa/inet.h>" nogil:
    const char* inet_ntop(int af, const void* src, char* dst, unsigned int size)
    int AF_INET, AF_INET6

cdef extern from "<string.h>" nogil:
    const void* memchr(const void* s, int c, size_t n)
    size_t strlen(const char* s)

cdef const uint8_t* CL_TRUE = <const uint8_t*>"true"
cdef const uint8_t* CL_FALSE = <const uint8_t*>"false"
cdef const uint8_t* CL_HEX = <const uint8_t*>"0123456789abcdef"


cdef inline ClSlice cl_empty() noexcept nogil:
    cdef ClSlice s
    s.p, s.n = CL_TRUE, 0
    return s


cdef inline ClSlice cl_bool(bint b) noexcept nogil:
    cdef ClSlice s
    s.p, s.n = (CL_TRUE, 4) if b else (CL_FALSE, 5)
    return s


# Token::toBool: exactly 'true' or 'false', else the evaluation fails (-1).
cdef inline int cl_truth(ClSlice s) noexcept nogil:
    if s.n == 4 and memcmp(s.p, CL_TRUE, 4) == 0:
        return 1
    if s.n == 5 and memcmp(s.p, CL_FALSE, 5) == 0:
        return 0
    return -1


# Room for n bytes in the scratch buffer (NULL when the test has made too much).
cdef inline uint8_t* cl_room(uint8_t* scratch, uint32_t* used, uint32_t n) noexcept nogil:
    if used[0] + n > CL_SCRATCH:
        return NULL
    used[0] += n
    return scratch + used[0] - n


cdef inline ClSlice cl_u32(uint8_t* scratch, uint32_t* used, uint32_t v, bint* ok) noexcept nogil:
    cdef ClSlice s
    cdef uint8_t* o = cl_room(scratch, used, 4)
    s.p, s.n = o, 4
    if o == NULL:
        ok[0] = False
        return s
    o[0], o[1], o[2], o[3] = v >> 24, (v >> 16) & 255, (v >> 8) & 255, v & 255
    return s


# Sub-option `sub` of a TLV-encoded value (option 82 is indexed by the parser; others are
# scanned: a few bytes). Absent: p NULL.
cdef ClSlice cl_find_tlv(const uint8_t* v, uint32_t n, uint32_t sub) noexcept nogil:
    cdef ClSlice s
    cdef uint32_t i = 0
    s.p, s.n = NULL, 0
    while i + 2 <= n:
        if i + 2 + v[i + 1] > n:
            break
        if v[i] == sub:
            s.p, s.n = v + i + 2, v[i + 1]
            return s
        i += 2 + v[i + 1]
    return s


cdef inline ClSlice cl_option(const DhcpPacket* p, uint32_t code) noexcept nogil:
    cdef ClSlice s
    if code < 256 and p.opt[code].count:
        s.p, s.n = opt_value(p, <uint8_t>code), p.opt[code].len
    else:
        s.p, s.n = NULL, 0
    return s


cdef inline ClSlice cl_relay4(const DhcpPacket* p, uint32_t sub) noexcept nogil:
    cdef ClSlice s
    cdef uint32_t k
    cdef const uint8_t* rai
    s.p, s.n = NULL, 0
    if not p.opt[OPT_RELAY_AGENT_INFO].count:
        return s
    rai = opt_value(p, OPT_RELAY_AGENT_INFO)
    for k in range(p.n_relay):
        if p.relay[k].code == sub:
            s.p, s.n = rai + p.relay[k].off, p.relay[k].len
            return s
    return s


# What the vendor instructions give back (by value, so that the evaluator's own locals never
# have their address taken by an out-of-line call): the value, and the scratch bytes it used
# (-1: the evaluation fails).
ctypedef struct ClVendorValue:
    ClSlice v
    int took


cdef inline ClVendorValue cl_vv(ClSlice v, int took) noexcept nogil:
    cdef ClVendorValue r
    r.v, r.took = v, took
    return r


cdef inline ClSlice cl_be32(uint8_t* room, uint32_t v) noexcept nogil:
    cdef ClSlice s
    room[0], room[1], room[2], room[3] = v >> 24, (v >> 16) & 255, (v >> 8) & 255, v & 255
    s.p, s.n = room, 4
    return s


# Sub-option `sub` of the client's 125 block as Kea 2.2's tokens read it: repeats fused (RFC
# 3396: the data joined, in scratch; a typed DOCSIS option's fused data is empty). took -2:
# absent. (A DOCSIS block Kea cannot type was dropped by the parser: rule 9c.)
cdef ClVendorValue cl_vendor_sub(const uint8_t* v, uint8_t n, uint32_t vendor_id, uint32_t sub,
                                 uint8_t* room, uint32_t room_left) noexcept nogil:
    cdef uint32_t i = 0, count = 0, total = 0
    cdef const uint8_t* first = NULL
    cdef ClSlice out
    while i + 2 <= n:
        if v[i] == sub:
            if first == NULL:
                first = v + i
            count += 1
            total += v[i + 1]
        i += 2 + v[i + 1]
    if count == 0:
        return cl_vv(cl_empty(), -2)
    if count == 1:
        out.p, out.n = first + 2, first[1]
        return cl_vv(out, 0)
    out.p, out.n = first, 0
    if vendor_id == VENDOR_DOCSIS and (sub == 1 or sub == 2):
        return cl_vv(out, 0)
    if total > room_left:
        return cl_vv(out, -1)
    out.p, i = room, 0
    while i + 2 <= n:
        if v[i] == sub:
            memcpy(room + out.n, v + i + 2, v[i + 1])
            out.n += v[i + 1]
        i += 2 + v[i + 1]
    return cl_vv(out, <int>total)


# OP_VENDOR: option 125 (Kea's TokenVendor); a missing option or another enterprise is Kea's
# pushFailure ('' or 'false').
cdef ClVendorValue cl_vendor(const DhcpPacket* p, uint32_t field, uint32_t enterprise,
                             uint32_t sub, uint8_t* room, uint32_t room_left) noexcept nogil:
    cdef uint32_t vendor_id
    cdef const uint8_t* subs
    cdef uint8_t subs_len
    cdef ClVendorValue r
    if not opt_vendor_block(p, &vendor_id, &subs, &subs_len) or (enterprise and
                                                                  enterprise != vendor_id):
        return cl_vv(cl_bool(False) if field == VF_EXISTS or field == VF_OPTION_EXISTS else
                     cl_empty(), 0)
    if field == VF_EXISTS:
        return cl_vv(cl_bool(True), 0)
    if field == VF_ENTERPRISE:
        if room_left < 4:
            return cl_vv(cl_empty(), -1)
        return cl_vv(cl_be32(room, vendor_id), 4)
    r = cl_vendor_sub(subs, subs_len, vendor_id, sub, room, room_left)
    if field == VF_OPTION_EXISTS and r.took != -1:
        return cl_vv(cl_bool(r.took != -2), 0)
    if r.took == -2:
        r.took = 0
    return r


# OP_VENDOR_CLASS: option 124 as OptionVendorClass unpacks it in Kea 2.2: the first
# enterprise id, then a tuple (length, data) per block, the later blocks' enterprise ids
# skipped unread (one that does not parse was dropped by the parser: rule 9c; -1 is kept for
# the tests' own datagrams). A repeat is fused: absent.
cdef ClVendorValue cl_vendor_class(const DhcpPacket* p, uint32_t field, uint32_t enterprise,
                                   uint32_t index, uint8_t* room,
                                   uint32_t room_left) noexcept nogil:
    cdef const uint8_t* v
    cdef uint32_t n, pos = 0, k = 0, vendor_id
    cdef ClSlice out = cl_bool(False) if field == VF_EXISTS else cl_empty()
    if p.opt[OPT_VIVCO].count != 1:
        return cl_vv(out, 0)
    v, n = opt_value(p, OPT_VIVCO), p.opt[OPT_VIVCO].len
    if n < 4:
        return cl_vv(out, -1)
    vendor_id = rd_u32(v)
    v, n = v + 4, n - 4
    while pos < n:                         # (every tuple checked: Kea unpacks them all)
        if n - pos - 1 < v[pos]:
            return cl_vv(out, -1)
        if k == index and field == VF_DATA:
            out.p, out.n = v + pos + 1, v[pos]
        k += 1
        pos += 1 + v[pos]
        if pos != n:
            pos += 4
            if pos + 1 >= n:
                return cl_vv(out, -1)
    if enterprise and enterprise != vendor_id:
        return cl_vv(cl_bool(False) if field == VF_EXISTS else cl_empty(), 0)
    if field == VF_EXISTS:
        return cl_vv(cl_bool(True), 0)
    if field == VF_ENTERPRISE:
        if room_left < 4:
            return cl_vv(out, -1)
        return cl_vv(cl_be32(room, vendor_id), 4)
    return cl_vv(out, 0)


# Pkt4::len(): the header and every option as Kea re-packs it (no cookie, END or padding).
cdef uint32_t cl_pkt_len(const DhcpPacket* p) noexcept nogil:
    cdef uint32_t n = 236, k
    for k in range(p.n_codes):
        n += 2 + p.opt[p.codes[k]].len
    return n


# The value of a class test for one packet: 1 ('true'), 0 ('false'), -1 when Kea would throw.
cdef int cl_eval(const uint32_t* code, uint32_t n_code, const uint8_t* consts,
                 const uint32_t* const_at, const ClInput* inp, uint8_t* scratch) noexcept nogil:
    cdef ClSlice st[CL_STACK]
    cdef int sp = 0, t1, t2
    cdef uint32_t pc = 0, w, op, a, used = 0, i, j, k, fields
    cdef int32_t start, length, size, field
    cdef const DhcpPacket* p = <const DhcpPacket*>inp.pkt
    cdef ClSlice x, y, z
    cdef ClVendorValue vv
    cdef uint8_t* o
    cdef bint ok = True
    cdef char text[64]
    cdef long long v
    while pc < n_code:
        w = code[pc]
        pc += 1
        op, a = w & 0xFF, w >> 8
        if sp >= CL_STACK - 1:          # (the compiler keeps tests far below)
            return -1
        if op == OP_CONST:
            st[sp].p, st[sp].n = consts + const_at[2 * a], const_at[2 * a + 1]
            sp += 1
        elif op == OP_OPTION or op == OP_OPTION_STRING:
            x = cl_option(p, a)
            if op == OP_OPTION_STRING:
                while x.n and x.p[x.n - 1] == 0:     # OptionString drops trailing NULs
                    x.n -= 1
            st[sp] = x
            sp += 1
        elif op == OP_OPTION_EXISTS:             # a | 0x100: a string option, which Kea
            x = cl_option(p, a & 0xFF)           # unpacks as absent when empty or all NULs
            if a & 0x100:
                while x.n and x.p[x.n - 1] == 0:
                    x.n -= 1
                st[sp] = cl_bool(x.n != 0)
            else:
                st[sp] = cl_bool(x.p != NULL)
            sp += 1
        elif op == OP_RELAY4:
            st[sp] = cl_relay4(p, a)
            sp += 1
        elif op == OP_RELAY4_EXISTS:
            st[sp] = cl_bool(cl_relay4(p, a).p != NULL)
            sp += 1
        elif op == OP_SUBOPTION or op == OP_SUBOPTION_EXISTS:
            x = cl_option(p, a)
            y = cl_find_tlv(x.p, x.n, code[pc]) if x.p != NULL else x
            pc += 1
            st[sp] = y if op == OP_SUBOPTION else cl_bool(y.p != NULL)
            sp += 1
        elif op == OP_PKT4:
            if a == PKT4_MAC:
                st[sp].p, st[sp].n = p.data + HDR_CHADDR, p.hlen
            elif a == PKT4_HLEN:
                st[sp] = cl_u32(scratch, &used, p.hlen, &ok)
            elif a == PKT4_HTYPE:
                st[sp] = cl_u32(scratch, &used, p.htype, &ok)
            elif a == PKT4_MSGTYPE:
                st[sp] = cl_u32(scratch, &used, p.msg_type, &ok)
            elif a == PKT4_TRANSID:
                st[sp] = cl_u32(scratch, &used, p.xid, &ok)
            else:
                st[sp] = cl_u32(scratch, &used, p.ciaddr if a == PKT4_CIADDR else
                                p.giaddr if a == PKT4_GIADDR else
                                p.yiaddr if a == PKT4_YIADDR else p.siaddr, &ok)
            sp += 1
        elif op == OP_PKT:
            if a == PKT_IFACE:
                st[sp].p, st[sp].n = inp.iface, inp.iface_len
            else:
                st[sp] = cl_u32(scratch, &used, inp.src if a == PKT_SRC else
                                inp.dst if a == PKT_DST else cl_pkt_len(p), &ok)
            sp += 1
        elif op == OP_SUBSTRING:                 # TokenSubstring::evaluate
            start, length = <int32_t>code[pc], <int32_t>code[pc + 1]
            pc += 2
            x = st[sp - 1]
            if x.n == 0:
                continue
            size = <int32_t>x.n
            if length == CL_ALL:
                length = size
            if start < -size or start >= size:
                st[sp - 1].n = 0
                continue
            if start < 0:
                start += size
            if length < 0:
                length = -length
                if length <= start:
                    start -= length
                else:
                    length, start = start, 0
            if length > size - start:
                length = size - start
            st[sp - 1].p, st[sp - 1].n = x.p + start, <uint32_t>length
        elif op == OP_SPLIT:                     # TokenSplit::evaluate: boost::split
            field = <int32_t>code[pc]
            pc += 1
            y, x = st[sp - 1], st[sp - 2]        # delimiters, string
            sp -= 1
            if x.n == 0 or y.n == 0:
                continue
            fields, i, k = 1, 0, 0               # the field-th run between delimiters
            z.p, z.n = x.p, 0
            for j in range(x.n + 1):
                if j == x.n or memchr(y.p, x.p[j], y.n) != NULL:
                    if <int32_t>fields == field:
                        z.p, z.n, k = x.p + i, j - i, 1
                        break
                    fields += 1
                    i = j + 1
            if not k:
                z.n = 0
            st[sp - 1] = z
        elif op == OP_CONCAT:
            y, x = st[sp - 1], st[sp - 2]
            sp -= 1
            o = cl_room(scratch, &used, x.n + y.n)
            if o == NULL:
                return -1
            memcpy(o, x.p, x.n)
            memcpy(o + x.n, y.p, y.n)
            st[sp - 1].p, st[sp - 1].n = o, x.n + y.n
        elif op == OP_IFELSE:
            z, y, x = st[sp - 1], st[sp - 2], st[sp - 3]
            sp -= 2
            t1 = cl_truth(x)
            if t1 < 0:
                return -1
            st[sp - 1] = y if t1 else z
        elif op == OP_HEXSTRING:
            y, x = st[sp - 1], st[sp - 2]        # separator, binary
            sp -= 1
            k = x.n * 2 + (x.n - 1) * y.n if x.n else 0
            o = cl_room(scratch, &used, k)
            if o == NULL and k:
                return -1
            j = 0
            for i in range(x.n):
                if i:
                    memcpy(o + j, y.p, y.n)
                    j += y.n
                o[j], o[j + 1] = CL_HEX[x.p[i] >> 4], CL_HEX[x.p[i] & 15]
                j += 2
            st[sp - 1].p, st[sp - 1].n = o, k
        elif op == OP_ADDRTOTEXT:
            x = st[sp - 1]
            if x.n == 0:
                continue
            if x.n != 4 and x.n != 16:
                return -1
            if inet_ntop(AF_INET if x.n == 4 else AF_INET6, x.p, text, sizeof(text)) == NULL:
                return -1
            k = <uint32_t>strlen(text)
            o = cl_room(scratch, &used, k)
            if o == NULL:
                return -1
            memcpy(o, text, k)
            st[sp - 1].p, st[sp - 1].n = o, k
        elif op == OP_INTTOTEXT:
            x = st[sp - 1]
            if x.n == 0:
                continue
            if x.n != (a & 0xFF) // 8:
                return -1
            v = 0
            for i in range(x.n):
                v = (v << 8) | x.p[i]
            if a & 0x100 and v >= (1LL << ((a & 0xFF) - 1)):
                v -= 1LL << (a & 0xFF)
            k = <uint32_t>snprintf(text, sizeof(text), "%lld", v)
            o = cl_room(scratch, &used, k)
            if o == NULL:
                return -1
            memcpy(o, text, k)
            st[sp - 1].p, st[sp - 1].n = o, k
        elif op == OP_LCASE or op == OP_UCASE:
            x = st[sp - 1]
            o = cl_room(scratch, &used, x.n)
            if o == NULL and x.n:
                return -1
            for i in range(x.n):
                o[i] = x.p[i]
                if op == OP_LCASE and 65 <= o[i] <= 90:
                    o[i] += 32
                elif op == OP_UCASE and 97 <= o[i] <= 122:
                    o[i] -= 32
            st[sp - 1].p, st[sp - 1].n = o, x.n
        elif op == OP_EQUAL:
            y, x = st[sp - 1], st[sp - 2]
            sp -= 1
            st[sp - 1] = cl_bool(x.n == y.n and (x.n == 0 or memcmp(x.p, y.p, x.n) == 0))
        elif op == OP_NOT:
            t1 = cl_truth(st[sp - 1])
            if t1 < 0:
                return -1
            st[sp - 1] = cl_bool(not t1)
        elif op == OP_AND or op == OP_OR:        # both sides were evaluated (Kea 2.2)
            t2, t1 = cl_truth(st[sp - 1]), cl_truth(st[sp - 2])
            sp -= 1
            if t1 < 0 or t2 < 0:
                return -1
            st[sp - 1] = cl_bool((t1 and t2) if op == OP_AND else (t1 or t2))
        elif op == OP_VENDOR or op == OP_VENDOR_CLASS:
            vv = (cl_vendor if op == OP_VENDOR else cl_vendor_class)(
                p, a, code[pc], code[pc + 1], scratch + used, CL_SCRATCH - used)
            if vv.took < 0:
                return -1
            used += <uint32_t>vv.took
            st[sp] = vv.v
            pc += 2
            sp += 1
        elif op == OP_MEMBER:
            st[sp] = cl_bool(a < CL_MAX_CLASSES and (inp.classes[a >> 6] >> (a & 63)) & 1)
            sp += 1
        else:
            return -1
        if not ok:
            return -1
    if sp != 1:
        return -1
    return cl_truth(st[0])



# ---- the class tests of a configuration (Python builds them once per load) ----------------------

cdef class ClassTests:
    """The compiled tests of a configuration's classes, in their order (compile.py makes the
    programs). ``evaluate`` runs one on a datagram: the tests' native path, for the tests."""

    cdef bytes code                # every program's words, one after the other
    cdef bytes consts
    cdef bytes const_at            # (offset, length) pairs, uint32
    cdef list starts               # program k: words [starts[k], starts[k + 1])
    cdef list const_base           # program k's constant 0 is pair const_base[k]
    cdef uint32_t c_starts[CL_MAX_CLASSES + 1]     # the same, for the engine's loop
    cdef uint32_t c_base[CL_MAX_CLASSES]

    def __cinit__(self):
        self.code, self.consts, self.const_at, self.starts, self.const_base = b"", b"", b"", [0], []

    def add(self, words, constants):
        """Program k (returned): ``words`` its instructions (ints), ``constants`` the byte
        strings OP_CONST refers to, numbered from 0 for this program."""
        import struct
        if len(self.starts) > CL_MAX_CLASSES - 1:
            raise ValueError(f"more than {CL_MAX_CLASSES - 1} class tests")
        at, blob = [], bytearray()
        for c in constants:
            at += [len(self.consts) + len(blob), len(c)]
            blob += c
        self.const_base.append(len(self.const_at) // 8)
        self.consts += bytes(blob)
        self.const_at += struct.pack(f"={len(at)}I", *at)
        self.code += struct.pack(f"={len(words)}I", *[w & 0xFFFFFFFF for w in words])
        self.starts.append(len(self.code) // 4)
        k = len(self.starts) - 2
        self.c_base[k] = self.const_base[k]
        self.c_starts[k], self.c_starts[k + 1] = self.starts[k], self.starts[k + 1]
        return k

    def __len__(self):
        return len(self.starts) - 1

    def evaluate(self, int k, datagram, str iface="", src="0.0.0.0", dst="255.255.255.255",
                 joined=()):
        """Test k on one datagram (parsed as the engine parses it; BOOTP allowed): True, False,
        or None where Kea throws. ``joined``: the class numbers the packet is in already."""
        cdef bytes keep = bytes(datagram)
        cdef DhcpPacket* p = parse_one(keep, False, True)
        cdef ClInput inp
        cdef uint8_t scratch[CL_SCRATCH]
        cdef bytes name = iface.encode()
        cdef const uint8_t* code = <const uint8_t*>self.code
        cdef int r
        memset(&inp, 0, sizeof(ClInput))
        inp.pkt = p
        inp.iface, inp.iface_len = name, len(name)
        inp.src, inp.dst = ip_to_u32(src), ip_to_u32(dst)
        for c in joined:
            inp.classes[c >> 6] |= 1ULL << (c & 63)
        cdef const uint8_t* consts = <const uint8_t*>self.consts
        cdef const uint8_t* const_at = <const uint8_t*>self.const_at
        r = cl_eval(<const uint32_t*>code + <uint32_t>self.starts[k],
                    self.starts[k + 1] - self.starts[k], consts,
                    <const uint32_t*>const_at + 2 * <uint32_t>self.const_base[k], &inp, scratch)
        return None if r < 0 else bool(r)

    def time_evaluation(self, int k, datagram, uint32_t n, str iface=""):
        """Nanoseconds per evaluation of test k on one datagram, over n native evaluations
        (the benchmarks' figure: what the engine pays per class per packet)."""
        cdef bytes keep = bytes(datagram)
        cdef DhcpPacket* p = parse_one(keep, False, True)
        cdef ClInput inp
        cdef uint8_t scratch[CL_SCRATCH]
        cdef bytes name = iface.encode()
        cdef const uint32_t* code = <const uint32_t*><const uint8_t*>self.code
        cdef const uint32_t* at = <const uint32_t*><const uint8_t*>self.const_at
        cdef const uint8_t* consts = <const uint8_t*>self.consts
        cdef uint32_t i, start = self.c_starts[k], length = self.c_starts[k + 1] - self.c_starts[k]
        cdef uint32_t base = self.c_base[k]
        cdef uint64_t t0
        cdef int hits = 0
        memset(&inp, 0, sizeof(ClInput))
        inp.pkt = p
        inp.iface, inp.iface_len = name, len(name)
        t0 = fastdhcp_mono_ns()
        for i in range(n):
            hits += cl_eval(code + start, length, consts, at + 2 * base, &inp, scratch) == 1
        return (fastdhcp_mono_ns() - t0) / n, hits
