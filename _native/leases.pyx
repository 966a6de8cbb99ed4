# The lease table: one fixed-size record per lease, found in O(1) by address and by client key
# (subnet + client-id or hardware address), an expiry wheel that reclaims without scanning, a
# side arena for variable-length data, and the journal ring of changes to make durable.
# Memory grows with the leases held, never with the size of the pools. Included by _core.pyx.

from libc.stdlib cimport calloc, free, malloc, realloc
from libc.string cimport memcmp, memcpy, memset
from libc.stdint cimport int64_t


# ---- big arrays: records and indexes of millions of leases ----------------------------------------
# Anonymous mappings with transparent huge pages: lookups in a table of millions of leases touch
# random pages, and 2 MB pages cut the TLB misses that would otherwise dominate. Growing moves the
# mapping (mremap) without copying. The pages are faulted in (zeroed) when mapped or grown, not
# on first use: a first touch costs a 2 MB clear (0.3-3 ms on a VM whose host backs the page
# lazily), which would otherwise land on whichever packet happens to cross into the page.

cdef void* big_alloc(size_t n) noexcept nogil:
    cdef void* p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
    if p == MAP_FAILED:
        return NULL
    madvise(p, n, MADV_HUGEPAGE)
    madvise(p, n, MADV_POPULATE_WRITE)   # (an older kernel without it: faults on first use)
    return p


cdef void* big_grow(void* p, size_t old, size_t n) noexcept nogil:
    cdef void* q = mremap(p, old, n, MREMAP_MAYMOVE)
    if q == MAP_FAILED:
        return NULL
    madvise(q, n, MADV_HUGEPAGE)
    madvise(<char*>q + old, n - old, MADV_POPULATE_WRITE)
    return q


cdef void big_free(void* p, size_t n) noexcept nogil:
    if p != NULL:
        munmap(p, n)


# ---- address directory ---------------------------------------------------------------------------

cdef int dir_init(AddrDir* d) noexcept nogil:
    # The top level covers all of IPv4 (16 MB of address space) but only its touched pages are
    # ever backed: one page per 4 M addresses in use. No huge pages here, for that reason.
    d.top = <uint32_t*>mmap(NULL, DIR_TOP * sizeof(uint32_t), PROT_READ | PROT_WRITE,
                            MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0)
    if d.top == MAP_FAILED:
        d.top = NULL
        return -1
    d.cap_leaves = 16
    d.leaves = <uint64_t*>big_alloc(<size_t>d.cap_leaves * DIR_LEAF * sizeof(uint64_t))
    d.n_leaves = 0
    return 0 if d.leaves != NULL else -1


cdef void dir_free(AddrDir* d) noexcept nogil:
    if d.top != NULL:
        munmap(d.top, DIR_TOP * sizeof(uint32_t))
    big_free(d.leaves, <size_t>d.cap_leaves * DIR_LEAF * sizeof(uint64_t))
    memset(d, 0, sizeof(AddrDir))


# The entry of addr, or NULL when its block has no leaf.
cdef inline uint64_t* dir_at(const AddrDir* d, uint32_t addr) noexcept nogil:
    cdef uint32_t leaf = d.top[addr >> DIR_LEAF_BITS]
    if leaf == 0:
        return NULL
    return &d.leaves[((<size_t>leaf - 1) << DIR_LEAF_BITS) | (addr & (DIR_LEAF - 1))]


cdef inline uint32_t dir_rec(uint64_t e) noexcept nogil:
    return <uint32_t>e - 1       # record + 1 is stored, so an empty entry (0) comes back as NIL


cdef inline uint32_t dir_find(const AddrDir* d, uint32_t addr) noexcept nogil:
    cdef const uint64_t* e = dir_at(d, addr)
    return NIL if e == NULL else dir_rec(e[0])


# The entry for addr, making its leaf if it has none (fresh leaves come zeroed from mmap).
cdef uint64_t* dir_entry(AddrDir* d, uint32_t addr) noexcept nogil:
    cdef uint32_t* top = &d.top[addr >> DIR_LEAF_BITS]
    cdef uint64_t* grown
    if top[0] == 0:
        if d.n_leaves == d.cap_leaves:
            grown = <uint64_t*>big_grow(d.leaves, <size_t>d.cap_leaves * DIR_LEAF * sizeof(uint64_t),
                                        <size_t>d.cap_leaves * 2 * DIR_LEAF * sizeof(uint64_t))
            if grown == NULL:
                return NULL
            d.leaves = grown
            d.cap_leaves *= 2
        d.n_leaves += 1
        top[0] = d.n_leaves
    return &d.leaves[((<size_t>top[0] - 1) << DIR_LEAF_BITS) | (addr & (DIR_LEAF - 1))]


cdef inline void dir_clear(AddrDir* d, uint32_t addr, uint32_t r) noexcept nogil:
    cdef uint64_t* e = dir_at(d, addr)
    if e != NULL and dir_rec(e[0]) == r:
        e[0] = 0


# ---- hashing -----------------------------------------------------------------------------------

cdef extern from *:
    # Constants above 2^31: declared in C so Cython keeps them unsigned 32-bit.
    """
    #define FASTDHCP_MIX1 0x85EBCA6BU
    #define FASTDHCP_MIX2 0xC2B2AE35U
    """
    const uint32_t FASTDHCP_MIX1
    const uint32_t FASTDHCP_MIX2


cdef inline uint32_t lt_mix(uint32_t h) noexcept nogil:
    # murmur3 finaliser: spreads consecutive addresses over the whole table
    h ^= h >> 16
    h *= FASTDHCP_MIX1
    h ^= h >> 13
    h *= FASTDHCP_MIX2
    h ^= h >> 16
    return h


cdef extern from *:
    # 64x64->128-bit multiply folded to 64 bits, and unaligned little loads (one instruction each)
    """
    static inline uint64_t fastdhcp_mum(uint64_t a, uint64_t b) {
        __uint128_t r = (__uint128_t)a * b;
        return (uint64_t)r ^ (uint64_t)(r >> 64);
    }
    static inline uint64_t fastdhcp_rd32(const uint8_t* p) { uint32_t v; memcpy(&v, p, 4); return v; }
    static inline uint64_t fastdhcp_rd64(const uint8_t* p) { uint64_t v; memcpy(&v, p, 8); return v; }
    #define FASTDHCP_K0 0x9E3779B97F4A7C15ULL
    #define FASTDHCP_K1 0xC2B2AE3D27D4EB4FULL
    """
    uint64_t fastdhcp_mum(uint64_t a, uint64_t b) nogil
    uint64_t fastdhcp_rd32(const uint8_t* p) nogil
    uint64_t fastdhcp_rd64(const uint8_t* p) nogil
    const uint64_t FASTDHCP_K0
    const uint64_t FASTDHCP_K1


# Hash of a short byte string (a hardware address, a client id) under a seed. Every client key of
# every packet is hashed, so it works on whole words: a 6-byte MAC is four 32-bit loads (they
# overlap) and two multiplies, where a byte-at-a-time hash would take a dependent multiply per
# byte. Longer strings go 16 bytes a round. The length is mixed in, so overlaps cannot collide.
cdef uint32_t lt_bytes_hash(uint64_t seed, const uint8_t* p, uint32_t n) noexcept nogil:
    cdef uint64_t a, b
    cdef uint32_t q, total = n
    seed ^= FASTDHCP_K0
    if n <= 16:
        if n >= 4:
            q = (n >> 3) << 2                  # 0 for 4-7 bytes, 4 for 8-16
            a = (fastdhcp_rd32(p) << 32) | fastdhcp_rd32(p + q)
            b = (fastdhcp_rd32(p + n - 4) << 32) | fastdhcp_rd32(p + n - 4 - q)
        elif n:
            a = (<uint64_t>p[0] << 16) | (<uint64_t>p[n >> 1] << 8) | p[n - 1]
            b = 0
        else:
            a = 0
            b = 0
    else:
        while n > 16:
            seed = fastdhcp_mum(fastdhcp_rd64(p) ^ FASTDHCP_K1, fastdhcp_rd64(p + 8) ^ seed)
            p += 16
            n -= 16
        a = fastdhcp_rd64(p + n - 16)          # the last 16 bytes (overlapping the last round)
        b = fastdhcp_rd64(p + n - 8)
    return <uint32_t>fastdhcp_mum(FASTDHCP_K1 ^ total, fastdhcp_mum(a ^ FASTDHCP_K1, b ^ seed))


cdef inline void lt_key_ready(ClientKey* k) noexcept nogil:
    k.hash = lt_key_hash(k)


# The client key's hash: subnet, which identity (client id, or htype + hardware address), bytes.
cdef inline uint32_t lt_key_hash(const ClientKey* k) noexcept nogil:
    if k.cid_len:
        return lt_bytes_hash((<uint64_t>k.subnet << 16) | 0x100, k.cid, k.cid_len)
    return lt_bytes_hash((<uint64_t>k.subnet << 16) | 0x200 | k.htype, k.hw, k.hwlen)


# The client key, Kea's match-client-id: the client id (61) when the client sent one and its
# subnet matches on it, else htype + chaddr. The one rule for the engine, the Python edge and
# the loader.
cdef inline void lt_key_make(ClientKey* k, uint32_t sn, uint8_t htype, const uint8_t* hw,
                             uint8_t hwlen, const uint8_t* cid, uint8_t cid_len,
                             bint match_client_id) noexcept nogil:
    k.subnet = sn
    k.htype = htype
    k.hwlen = hwlen if hwlen <= HW_MAX else HW_MAX
    k.hw = hw
    if cid_len and match_client_id:
        k.cid, k.cid_len = cid, cid_len
    else:
        k.cid, k.cid_len = NULL, 0
    lt_key_ready(k)


# ---- key index slots: the record number and a tag, so probing never reads records --------------
# A slot is (tag << 32) | record; the tag is the key hash. A probe
# that meets another lease's slot is settled from the index line alone: in a table of millions
# of leases each record read is a cache (and TLB) miss, and an unsuccessful lookup at load 1/2
# would otherwise read ~1.5 records.


cdef inline uint64_t slot_make(uint32_t r, uint32_t tag) noexcept nogil:
    return ((<uint64_t>tag) << 32) | r


cdef inline uint32_t slot_rec(uint64_t s) noexcept nogil:
    return <uint32_t>s           # NIL in an empty slot (all ones)


cdef inline uint32_t slot_tag(uint64_t s) noexcept nogil:
    return <uint32_t>(s >> 32)


cdef extern from *:
    void prefetch_w "__builtin_prefetch"(const void* p, int rw) nogil


# Warm the index line a lookup or insert will touch, so that the misses of a batch overlap
# instead of queueing one after another (the engine and the bulk paths call these ahead). A
# home slot at the end of its line also gets the next line: a probe, or the backward shift of a
# deletion, reads the slot after it (1 in 8 slots, each then a full miss).
cdef inline void lt_prefetch_key(const LeaseTable* t, uint32_t hash) noexcept nogil:
    cdef uint32_t i = hash & t.index_mask
    prefetch_w(&t.by_key[i], 1)
    if (i & 7) == 7:
        prefetch_w(&t.by_key[(i + 1) & t.index_mask], 1)


cdef inline void lt_prefetch_addr(const LeaseTable* t, uint32_t addr) noexcept nogil:
    cdef const uint64_t* e = dir_at(&t.by_addr, addr)
    if e != NULL:
        prefetch_w(e, 1)


# ---- arena: variable-length data (long client ids, host names) ----------------------------------


cdef uint32_t arena_put(ByteArena* a, const uint8_t* p, uint32_t n) noexcept nogil:
    cdef uint64_t cap
    cdef uint8_t* grown
    if n == 0:
        return 0
    if <uint64_t>a.len + n > ARENA_MAX:
        return NIL
    if a.len + n > a.cap:
        cap = <uint64_t>a.cap * 2 if a.cap else 4096
        while cap < <uint64_t>a.len + n:
            cap *= 2
        if cap > ARENA_MAX:
            cap = ARENA_MAX
        grown = <uint8_t*>realloc(a.data, cap)
        if grown == NULL:
            return NIL
        a.data = grown
        a.cap = <uint32_t>cap
    memcpy(a.data + a.len, p, n)
    a.len += n
    return a.len - n


cdef inline bint lt_cid_inline(const Lease* l) noexcept nogil:
    return <uint32_t>l.hwlen + l.cid_len <= IDENT_INLINE


cdef inline const uint8_t* lt_hw(const Lease* l) noexcept nogil:
    return &l.ident[0]


cdef inline const uint8_t* lt_cid(const LeaseTable* t, const Lease* l) noexcept nogil:
    if lt_cid_inline(l):
        return &l.ident[l.hwlen]
    return t.arena.data + l.var_off


cdef inline const uint8_t* lt_host(const LeaseTable* t, const Lease* l) noexcept nogil:
    return t.arena.data + l.var_off + (0 if lt_cid_inline(l) else l.cid_len)


cdef inline uint32_t lt_var_len(const Lease* l) noexcept nogil:
    return (0 if lt_cid_inline(l) else l.cid_len) + l.host_len


# Store the record's client id and host name afresh (its hardware address is already set: it
# decides whether the client id fits inline).
cdef bint lt_set_var(LeaseTable* t, Lease* l, const uint8_t* cid, uint8_t cid_len,
                     const uint8_t* host, uint16_t host_len) noexcept nogil:
    cdef uint32_t off = 0, first = NIL
    t.arena_dead += lt_var_len(l)
    l.cid_len = cid_len
    l.host_len = <uint8_t>host_len
    if lt_cid_inline(l):
        if cid_len:
            memcpy(&l.ident[l.hwlen], cid, cid_len)
    else:
        first = arena_put(&t.arena, cid, cid_len)
        if first == NIL:
            return False
    if host_len:
        off = arena_put(&t.arena, host, host_len)
        if off == NIL:
            return False
        if first == NIL:
            first = off
    l.var_off = first if first != NIL else 0
    return True


# ---- the table ---------------------------------------------------------------------------------

cdef int lt_init(LeaseTable* t, uint32_t capacity) noexcept nogil:
    cdef uint32_t slots = 1
    memset(t, 0, sizeof(LeaseTable))
    if capacity < LT_MIN_CAPACITY:
        capacity = LT_MIN_CAPACITY
    while slots < <uint64_t>capacity * KEY_SLOTS_PER_RECORD:
        slots <<= 1
    t.rec = <Lease*>big_alloc(<size_t>capacity * sizeof(Lease))
    t.by_key = <uint64_t*>big_alloc(<size_t>slots * SLOT_BYTES)
    if t.rec == NULL or t.by_key == NULL or dir_init(&t.by_addr) != 0:
        return -1
    memset(t.by_key, 0xFF, <size_t>slots * SLOT_BYTES)
    memset(t.wheel, 0xFF, sizeof(t.wheel))
    t.overdue = NIL
    t.capacity = capacity
    t.index_mask = slots - 1
    t.free_head = NIL
    t.wheel_time = -1
    t.journal_cap = 1024
    t.journal = <JournalRecord*>malloc(t.journal_cap * sizeof(JournalRecord))
    return 0 if t.journal != NULL else -1


cdef void lt_free_memory(LeaseTable* t) noexcept nogil:
    big_free(t.rec, <size_t>t.capacity * sizeof(Lease))
    dir_free(&t.by_addr)
    big_free(t.by_key, <size_t>(t.index_mask + 1) * SLOT_BYTES)
    free(t.arena.data)
    free(t.journal)
    lx_free(t)
    memset(t, 0, sizeof(LeaseTable))


# (the caller has matched the key hash: it is the index slot's tag)
cdef inline bint lt_key_matches(const LeaseTable* t, const Lease* l, const ClientKey* k) noexcept nogil:
    if l.subnet != k.subnet:
        return False
    if k.cid_len:
        return (l.flags & LF_KEY_CID) and l.cid_len == k.cid_len and \
            memcmp(lt_cid(t, l), k.cid, k.cid_len) == 0
    return not (l.flags & LF_KEY_CID) and l.htype == k.htype and l.hwlen == k.hwlen and \
        lt_short_eq(lt_hw(l), k.hw, k.hwlen)


# Equality of a few bytes (a hardware address) without a library call.
cdef inline bint lt_short_eq(const uint8_t* a, const uint8_t* b, uint32_t n) noexcept nogil:
    cdef uint32_t i
    for i in range(n):
        if a[i] != b[i]:
            return False
    return True


cdef inline uint32_t lt_find_addr(const LeaseTable* t, uint32_t addr) noexcept nogil:
    return dir_find(&t.by_addr, addr)


cdef uint32_t lt_find_key(const LeaseTable* t, const ClientKey* k) noexcept nogil:
    cdef uint32_t h = k.hash
    cdef uint32_t i = h & t.index_mask, r
    cdef uint64_t s
    while True:
        s = t.by_key[i]
        r = slot_rec(s)
        if r == NIL or (slot_tag(s) == h and lt_key_matches(t, &t.rec[r], k)):
            return r
        i = (i + 1) & t.index_mask


# The key hash of a record, from its client identity (the same as lt_key_hash of its key).
cdef inline uint32_t lt_rec_hash(const LeaseTable* t, const Lease* l) noexcept nogil:
    cdef ClientKey k
    k.subnet = l.subnet
    k.htype = l.htype
    k.hwlen = l.hwlen
    k.hw = lt_hw(l)
    if l.flags & LF_KEY_CID:
        k.cid, k.cid_len = lt_cid(t, l), l.cid_len
    else:
        k.cid, k.cid_len = NULL, 0
    return lt_key_hash(&k)


# The key hash of record r as its directory entry has it (computed afresh if the entry is not
# r's, which the one-record-per-address rule should never let happen).
cdef inline uint32_t lt_hash_of(const LeaseTable* t, uint32_t r) noexcept nogil:
    cdef const uint64_t* e = dir_at(&t.by_addr, t.rec[r].addr)
    if e != NULL and dir_rec(e[0]) == r:
        return <uint32_t>(e[0] >> 32)
    return lt_rec_hash(t, &t.rec[r])


# Index record r under key hash `tag` (and note the hash in its directory entry).
cdef void lt_key_put(LeaseTable* t, uint32_t r, uint32_t tag) noexcept nogil:
    cdef uint64_t* idx = t.by_key
    cdef uint32_t i = tag & t.index_mask
    cdef uint64_t* e = dir_at(&t.by_addr, t.rec[r].addr)
    while slot_rec(idx[i]) != NIL:
        i = (i + 1) & t.index_mask
    idx[i] = slot_make(r, tag)
    if e != NULL and dir_rec(e[0]) == r:
        e[0] = ((<uint64_t>tag) << 32) | (<uint64_t>r + 1)


# Linear-probing deletion by backward shift: no tombstones, so lookups stay short forever.
cdef void lt_key_remove(LeaseTable* t, uint32_t r) noexcept nogil:
    cdef uint64_t* idx = t.by_key
    cdef uint32_t i = lt_hash_of(t, r) & t.index_mask, j, home
    while slot_rec(idx[i]) != r:
        if slot_rec(idx[i]) == NIL:
            return
        i = (i + 1) & t.index_mask
    j = i
    while True:
        idx[i] = <uint64_t>0xFFFFFFFFFFFFFFFF
        while True:
            j = (j + 1) & t.index_mask
            if slot_rec(idx[j]) == NIL:
                return
            home = slot_tag(idx[j]) & t.index_mask
            # move idx[j] back to i unless its home lies cyclically in (i, j]
            if (i <= j and (home <= i or home > j)) or (i > j and home <= i and home > j):
                break
        idx[i] = idx[j]
        i = j


cdef int lt_grow(LeaseTable* t) noexcept nogil:
    # Double the records and rebuild the key index at twice the slots (its load stays as it was).
    # The address directory holds record numbers, which do not move.
    cdef uint32_t cap = t.capacity * 2, slots = (t.index_mask + 1) * 2, r
    cdef Lease* rec = <Lease*>big_grow(t.rec, <size_t>t.capacity * sizeof(Lease), <size_t>cap * sizeof(Lease))
    if rec == NULL:
        return -1
    t.rec = rec
    t.capacity = cap
    cdef uint64_t* by_key = <uint64_t*>big_alloc(<size_t>slots * SLOT_BYTES)
    if by_key == NULL:                        # out of memory: keep the old index working
        return -1
    big_free(t.by_key, <size_t>(t.index_mask + 1) * SLOT_BYTES)
    t.by_key = by_key
    memset(t.by_key, 0xFF, <size_t>slots * SLOT_BYTES)
    t.index_mask = slots - 1
    lx_free(t)                                # (sized for the old capacity: the next lookup rebuilds)
    for r in range(t.used):
        if t.rec[r].state != LS_FREE and (t.rec[r].hwlen or t.rec[r].cid_len):
            lt_key_put(t, r, lt_hash_of(t, r))
    return 0


# Make room for n records up front (a bulk load knows its size): one growth instead of many.
cdef int lt_reserve(LeaseTable* t, uint32_t n) noexcept nogil:
    while t.capacity < n or (<uint64_t>n) * KEY_SLOTS_PER_RECORD > <uint64_t>t.index_mask + 1:
        if lt_grow(t) != 0:
            return -1
    return 0


# ---- expiry wheel: one slot per second; reclaim walks only the seconds that have passed ----------

cdef inline uint32_t* lt_wheel_head(LeaseTable* t, const Lease* l) noexcept nogil:
    if l.flags & LF_OVERDUE:
        return &t.overdue
    return &t.wheel[<uint32_t>(l.expire & (WHEEL_SLOTS - 1))]


cdef void lt_wheel_unlink(LeaseTable* t, uint32_t r) noexcept nogil:
    cdef Lease* l = &t.rec[r]
    if not (l.flags & LF_QUEUED):
        return
    if l.wheel_prev != NIL:
        t.rec[l.wheel_prev].wheel_next = l.wheel_next
    else:
        lt_wheel_head(t, l)[0] = l.wheel_next
    if l.wheel_next != NIL:
        t.rec[l.wheel_next].wheel_prev = l.wheel_prev
    l.wheel_prev = NIL
    l.wheel_next = NIL
    l.flags &= ~(LF_QUEUED | LF_OVERDUE)


cdef void lt_wheel_link(LeaseTable* t, uint32_t r) noexcept nogil:
    cdef Lease* l = &t.rec[r]
    cdef uint32_t* head
    l.flags |= LF_QUEUED
    if t.wheel_time >= 0 and l.expire <= t.wheel_time:
        l.flags |= LF_OVERDUE    # its second has been walked already: reclaim takes it next time
    head = lt_wheel_head(t, l)
    l.wheel_prev = NIL
    l.wheel_next = head[0]
    if l.wheel_next != NIL:
        t.rec[l.wheel_next].wheel_prev = r
    head[0] = r


# ---- records -----------------------------------------------------------------------------------

cdef uint32_t lt_new(LeaseTable* t, uint32_t addr) noexcept nogil:
    cdef uint32_t r
    cdef Lease* l
    cdef uint64_t* entry = dir_entry(&t.by_addr, addr)
    if entry == NULL:
        return NIL
    if t.free_head != NIL:
        r = t.free_head
        t.free_head = t.rec[r].wheel_next
        if t.free_head != NIL:   # the next new lease's record: fetch it while this one is filled
            prefetch_w(&t.rec[t.free_head], 1)
    else:
        if t.used == t.capacity or (<uint64_t>t.used + 1) * KEY_SLOTS_PER_RECORD > <uint64_t>t.index_mask + 1:
            if lt_grow(t) != 0:
                return NIL
        r = t.used
        t.used += 1
        if t.used < t.capacity:  # the next fresh record's line, while this one is filled
            prefetch_w(&t.rec[t.used], 1)
    l = &t.rec[r]
    memset(l, 0, sizeof(Lease))
    l.addr = addr
    l.wheel_prev = NIL
    l.wheel_next = NIL
    l.state = LS_OFFERED
    t.count += 1
    entry[0] = r + 1             # (the caller has dropped any older record of the address)
    return r


# Hand another client's stale record of an address (released or expired) over to a new lease
# of the same address: the record is emptied in place, so the address keeps its directory entry
# and no record goes through the free list. Returns r.
cdef uint32_t lt_reuse(LeaseTable* t, uint32_t r) noexcept nogil:
    cdef Lease* l = &t.rec[r]
    cdef uint32_t addr = l.addr
    lt_wheel_unlink(t, r)
    if l.hwlen or l.cid_len:
        lt_key_remove(t, r)
    t.arena_dead += lt_var_len(l)
    memset(l, 0, sizeof(Lease))
    l.addr = addr
    l.wheel_prev = NIL
    l.wheel_next = NIL
    l.state = LS_OFFERED
    return r


# Give the record its client (indexing it by key). A record without a client (declined) is
# only found by address.
cdef bint lt_set_client(LeaseTable* t, uint32_t r, const ClientKey* k) noexcept nogil:
    cdef Lease* l = &t.rec[r]
    cdef uint8_t host[HOST_MAX]
    cdef uint16_t host_len = l.host_len
    if l.hwlen or l.cid_len:
        lt_key_remove(t, r)
    l.subnet = k.subnet
    l.htype = k.htype
    if host_len:
        memcpy(host, lt_host(t, l), host_len)  # the arena may move while the id is stored
    t.arena_dead += lt_var_len(l)             # (lt_set_var must not count it again)
    l.cid_len = 0
    l.host_len = 0
    l.hwlen = k.hwlen if k.hwlen <= HW_MAX else HW_MAX
    if l.hwlen:
        memcpy(l.ident, k.hw, l.hwlen)
    if not lt_set_var(t, l, k.cid, k.cid_len, host, host_len):
        return False
    l.flags = (l.flags & ~LF_KEY_CID) | (LF_KEY_CID if k.cid_len else 0)
    if l.hwlen or l.cid_len:
        lt_key_put(t, r, k.hash)
    return True


# Replace the host name (from a buffer outside the arena), keeping the client id.
cdef bint lt_set_host(LeaseTable* t, uint32_t r, const uint8_t* host, uint16_t host_len) noexcept nogil:
    cdef Lease* l = &t.rec[r]
    cdef uint8_t cid[CID_MAX]
    cdef uint8_t cid_len = l.cid_len
    if host_len > HOST_MAX:
        host_len = HOST_MAX
    if host_len == l.host_len and (host_len == 0 or memcmp(lt_host(t, l), host, host_len) == 0):
        return True
    if cid_len:
        memcpy(cid, lt_cid(t, l), cid_len)
    return lt_set_var(t, l, cid, cid_len, host, host_len)


# Drop the client identity (a declined address belongs to nobody, RFC 2131 §4.3.3).
cdef void lt_clear_client(LeaseTable* t, uint32_t r) noexcept nogil:
    cdef Lease* l = &t.rec[r]
    if l.hwlen or l.cid_len:
        lt_key_remove(t, r)
    t.arena_dead += lt_var_len(l)
    l.hwlen = 0
    l.cid_len = 0
    l.host_len = 0
    l.htype = 0
    l.flags &= ~LF_KEY_CID


cdef void lt_delete(LeaseTable* t, uint32_t r) noexcept nogil:
    cdef Lease* l = &t.rec[r]
    lt_wheel_unlink(t, r)
    if l.hwlen or l.cid_len:
        lt_key_remove(t, r)
    dir_clear(&t.by_addr, l.addr, r)
    t.arena_dead += lt_var_len(l)
    l.state = LS_FREE
    lx_note(t, r)
    l.wheel_next = t.free_head
    t.free_head = r
    t.count -= 1


# Rewrite the arena with only what live records use, once dead bytes (host names replaced,
# records reused or deleted) are most of it and worth the pass: the arena would otherwise grow
# for as long as clients come and go. Journal records point into the arena, so this runs only
# when the journal is empty (just after a drain). Returns whether it compacted.
cdef bint lt_compact_arena(LeaseTable* t) noexcept nogil:
    cdef ByteArena fresh
    cdef uint32_t r, n, off
    cdef Lease* l
    if t.journal_len or t.arena_dead < (1 << 20) or t.arena_dead * 2 < t.arena.len:
        return False
    memset(&fresh, 0, sizeof(ByteArena))
    for r in range(t.used):
        l = &t.rec[r]
        n = lt_var_len(l)
        if l.state == LS_FREE or n == 0:
            continue
        off = arena_put(&fresh, t.arena.data + l.var_off, n)
        if off == NIL:             # out of memory: keep the old arena, nothing is lost
            free(fresh.data)
            return False
        l.var_off = off
    free(t.arena.data)
    t.arena = fresh
    t.arena_dead = 0
    return True


# Set state and expiry; queue it on the wheel if the state expires (offers, bound, declined).
cdef void lt_set_state(LeaseTable* t, uint32_t r, uint8_t state, int64_t expire) noexcept nogil:
    cdef Lease* l = &t.rec[r]
    lt_wheel_unlink(t, r)
    l.state = state
    l.expire = expire
    if state == LS_OFFERED or state == LS_BOUND or state == LS_DECLINED:
        lt_wheel_link(t, r)


# ---- journal ring: what must reach the lease file, drained by the server after each batch -------

cdef bint lt_journal(LeaseTable* t, uint32_t r, uint8_t op) noexcept nogil:
    cdef JournalRecord* grown
    if t.journal_len == t.journal_cap:
        grown = <JournalRecord*>realloc(t.journal, <size_t>t.journal_cap * 2 * sizeof(JournalRecord))
        if grown == NULL:
            return False
        t.journal = grown
        t.journal_cap *= 2
    t.journal[t.journal_len].lease = t.rec[r]
    t.journal[t.journal_len].op = op
    t.journal_len += 1
    lx_note(t, r)                # the lookup indexes, once built, follow every listed change
    return True
