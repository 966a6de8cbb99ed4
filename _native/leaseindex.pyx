# Lookup indexes of the lease table for the lease commands (lease4-get-by-hostname, -by-hw-address,
# -by-client-id, -by-state, lease4-get by identifier): a lookup costs the leases it finds, not a
# walk of a table of millions. Kea's memfile keeps such indexes on every lease; here they are
# built on the first lookup (one pass over the records) and from then on kept by lt_journal, the
# one place every change a command can see passes through (the lease file is what the commands
# list). A server nobody queries pays nothing for them, neither memory nor time per packet.
# The build goes in steps (lx_build_step) between which packet batches run: a record below
# `built` is kept by lt_journal, one above it is filed when the build reaches it. Dropped when the
# table grows (the next lookup rebuilds them at the new size). Included by _core.pyx.


# What a lease command lists: bound, declined and expired-reclaimed leases (offers are not yet
# leases in Kea's sense; released ones Kea has removed). Kea's state number, or -1.
cdef inline int lt_kea_state(const Lease* l) noexcept nogil:
    if l.state == LS_BOUND:
        return 0
    if l.state == LS_DECLINED:
        return 1
    if l.state == LS_EXPIRED:
        return 2
    return -1


# A host name's hash as its lookup compares it: ASCII lower-cased (Kea's memfile compares host
# names case-insensitively, as DNS does).
cdef uint32_t lx_host_hash(const uint8_t* p, uint32_t n) noexcept nogil:
    cdef uint8_t low[HOST_MAX]
    cdef uint32_t i
    if n > HOST_MAX:
        n = HOST_MAX
    for i in range(n):
        low[i] = p[i] + 32 if 65 <= p[i] <= 90 else p[i]
    return lt_bytes_hash(LX_HOST, low, n)


# The hash record r is filed under for `kind`, or False when it is not filed (not listed, or no
# value of that kind).
cdef bint lx_want(const LeaseTable* t, const Lease* l, int kind, uint32_t* h) noexcept nogil:
    cdef int state = lt_kea_state(l)
    if state < 0:
        return False
    if kind == LX_HOST:
        if not l.host_len:
            return False
        h[0] = lx_host_hash(lt_host(t, l), l.host_len)
    elif kind == LX_HW:
        if not l.hwlen:
            return False
        h[0] = lt_bytes_hash(LX_HW, lt_hw(l), l.hwlen)
    elif kind == LX_CID:
        if not l.cid_len:
            return False
        h[0] = lt_bytes_hash(LX_CID, lt_cid(t, l), l.cid_len)
    else:
        h[0] = <uint32_t>state
    return True


cdef void lx_unlink(LookupIndex* x, uint32_t r, int kind) noexcept nogil:
    cdef LookupLinks* k = &x.links[r]
    if k.prev[kind] != NIL:
        x.links[k.prev[kind]].next[kind] = k.next[kind]
    else:
        x.head[kind][k.hash[kind] & x.mask] = k.next[kind]
    if k.next[kind] != NIL:
        x.links[k.next[kind]].prev[kind] = k.prev[kind]
    k.linked &= ~(1 << kind)


cdef void lx_link(LookupIndex* x, uint32_t r, int kind, uint32_t h) noexcept nogil:
    cdef LookupLinks* k = &x.links[r]
    cdef uint32_t* head = &x.head[kind][h & x.mask]
    k.hash[kind] = h
    k.prev[kind] = NIL
    k.next[kind] = head[0]
    if head[0] != NIL:
        x.links[head[0]].prev[kind] = r
    head[0] = r
    k.linked |= 1 << kind


# File record r as it is now: unlinked where it no longer belongs, linked where it now does.
cdef void lx_note(LeaseTable* t, uint32_t r) noexcept nogil:
    cdef LookupIndex* x = t.lookup
    cdef LookupLinks* k
    cdef uint32_t h
    cdef int kind
    cdef bint want
    if x == NULL or r >= x.built:
        return
    k = &x.links[r]
    for kind in range(LX_KINDS):
        want = lx_want(t, &t.rec[r], kind, &h)
        if k.linked & (1 << kind):
            if want and k.hash[kind] == h:
                continue
            lx_unlink(x, r, kind)
        if want:
            lx_link(x, r, kind, h)


cdef void lx_free(LeaseTable* t) noexcept nogil:
    cdef int kind
    if t.lookup == NULL:
        return
    for kind in range(LX_KINDS):
        free(t.lookup.head[kind])
    if t.lookup.links != NULL:
        munmap(t.lookup.links, <size_t>t.lookup.capacity * sizeof(LookupLinks))
    free(t.lookup)
    t.lookup = NULL


# Start the indexes (empty; lx_build_step files the records). The links are faulted in as the
# build and later records reach them, a small page at a time: no huge pages here, whose first
# touch costs milliseconds. -1: no memory.
cdef int lx_build(LeaseTable* t) noexcept nogil:
    cdef LookupIndex* x
    cdef uint32_t buckets = 1
    cdef int kind
    if t.lookup != NULL:
        return 0
    x = <LookupIndex*>calloc(1, sizeof(LookupIndex))
    if x == NULL:
        return -1
    t.lookup = x
    while buckets < t.capacity:
        buckets <<= 1
    x.mask = buckets - 1
    x.capacity = t.capacity
    x.links = <LookupLinks*>mmap(NULL, <size_t>t.capacity * sizeof(LookupLinks),
                                 PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
    if x.links == MAP_FAILED:
        x.links = NULL
        lx_free(t)
        return -1
    for kind in range(LX_KINDS):
        x.head[kind] = <uint32_t*>malloc(<size_t>buckets * sizeof(uint32_t))
        if x.head[kind] == NULL:
            lx_free(t)
            return -1
        memset(x.head[kind], 0xFF, <size_t>buckets * sizeof(uint32_t))
    return 0


# File up to n more records; True once every record is filed (from then on `built` covers the
# whole capacity, so lt_journal keeps every record, new ones included).
cdef bint lx_build_step(LeaseTable* t, uint32_t n) noexcept nogil:
    cdef LookupIndex* x = t.lookup
    cdef uint32_t end
    if x.built >= t.used:
        x.built = x.capacity
        return True
    end = x.built + n if t.used - x.built > n else t.used
    while x.built < end:
        x.built += 1
        lx_note(t, x.built - 1)
    if x.built >= t.used:
        x.built = x.capacity
        return True
    return False


# The first record of the chain `kind`/`h` could be in (then LookupIndex.links[r].next[kind]);
# the caller compares each record's value, as chains share buckets.
cdef inline uint32_t lx_first(const LookupIndex* x, int kind, uint32_t h) noexcept nogil:
    return x.head[kind][h & x.mask]
