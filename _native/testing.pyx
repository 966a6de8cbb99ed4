# Loops for benchmarks and load tests, and the bitmap pool on its own: no Python object per
# operation, so a benchmark times the native code and not the interpreter. Nothing on the
# server's path calls these; the public classes (Allocator, Engine) carry none of them.
# Included by _core.pyx.

from libc.string cimport memcpy, memset

cdef extern from *:
    # A cheap CPU tick counter for benchmark loops that time part of each iteration.
    """
    #if defined(__x86_64__) || defined(__i386__)
    #include <x86intrin.h>
    static inline unsigned long long fastdhcp_ticks(void) { return __rdtsc(); }
    #else
    #include <time.h>
    static inline unsigned long long fastdhcp_ticks(void) {
        struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t);
        return (unsigned long long)t.tv_sec * 1000000000ULL + t.tv_nsec;
    }
    #endif
    """
    unsigned long long fastdhcp_ticks() nogil

# The ticks one timer read adds to a timed stretch of code (a VM's rdtsc takes ~20 ns, as much
# as a cached table operation): timed benchmark loops take it off what they report.
cdef uint64_t ticks_per_read() noexcept nogil:
    cdef uint64_t best = <uint64_t>-1, t0, t1
    cdef int i
    for i in range(2000):
        t0 = fastdhcp_ticks()
        t1 = fastdhcp_ticks()
        if t1 - t0 < best:
            best = t1 - t0
    return best


cdef extern from *:
    uint64_t __builtin_bswap64(uint64_t x) nogil


# (count, ticks in the timed parts, ticks in all) of a timed loop that read the timer twice per
# timed part: the reads' own cost comes off both.
cdef tuple timed_result(uint32_t count, uint64_t in_part, uint64_t total, uint32_t parts):
    cdef uint64_t per_read = ticks_per_read()
    cdef uint64_t part_cost = min(in_part, <uint64_t>parts * per_read)
    cdef uint64_t all_cost = min(total, <uint64_t>parts * 2 * per_read)
    return count, in_part - part_cost, total - all_cost


# The MAC v into hw[0:6] (hw has room for 8) with one 64-bit store: the benchmark loops hash it
# at once with word loads, which byte stores could not forward to (a stall on every load).
cdef inline void mac_word(uint64_t v, uint8_t* hw8) noexcept nogil:
    cdef uint64_t w = __builtin_bswap64(v << 16)
    memcpy(hw8, &w, 8)




# The key hashes of the synthetic clients mac_start .. +n (n <= PREFETCH_BLOCK) into hashes,
# their key slots prefetched: the benchmark loops' stand-in for the engine's batch pre-pass.
cdef void prefetch_clients(Allocator alloc, uint32_t sn, uint64_t mac_start, uint32_t n,
                           uint32_t* hashes) noexcept nogil:
    cdef uint8_t hw[8]
    cdef ClientKey k
    cdef uint32_t j
    mac_word(mac_start, hw)
    lt_key_make(&k, sn, 1, hw, 6, NULL, 0, False)     # synthetic clients: keyed by MAC
    for j in range(n):
        mac_word(mac_start + j, hw)
        lt_key_ready(&k)
        hashes[j] = k.hash
        lt_prefetch_key(&alloc.t, k.hash)

def bind_many(Allocator alloc, uint32_t subnet_id, uint32_t count, uint64_t mac_start, *, int64_t now,
              uint32_t lifetime=3600, bint commit=True):
    """``count`` synthetic clients (MACs mac_start, mac_start+1, ...) each do offer +
    request (only offer with commit=False), natively. Returns how many got an address
    (fewer when the pools run out)."""
    cdef uint32_t sn = alloc._subnet(subnet_id), i, j, a, bound = 0
    cdef uint32_t hashes[PREFETCH_BLOCK]
    cdef uint8_t hw[8]
    cdef ClientKey k
    cdef ClientIds ids
    cdef int status
    memset(&ids, 0, sizeof(ClientIds))
    mac_word(mac_start, hw)
    lt_key_make(&k, sn, 1, hw, 6, NULL, 0, False)     # synthetic clients: keyed by MAC
    ids.hw, ids.hwlen = hw, 6
    for i in range(count):
        if i % PREFETCH_BLOCK == 0:       # as the engine does over a received batch
            prefetch_clients(alloc, sn, mac_start + i, min(PREFETCH_BLOCK, count - i), hashes)
            alloc.prefetch_allocations(sn, min(PREFETCH_BLOCK, count - i))
        mac_word(mac_start + i, hw)
        k.hash = hashes[i % PREFETCH_BLOCK]
        a = alloc.offer_c(sn, &k, &ids, 0, now, &status)
        if a == NIL:
            if status == AS_NO_MEMORY:
                raise MemoryError()
            break
        if not commit:
            bound += 1
        elif alloc.request_c(sn, &k, &ids, a, lifetime, now, NULL, 0) == AS_ACK:
            bound += 1
        alloc.t.journal_len = 0  # drained as the server does after each batch (not persisted)
    return bound

def churn_many(Allocator alloc, uint32_t subnet_id, uint32_t count, uint64_t mac_start, *, int64_t now,
               uint32_t window=1, uint32_t lifetime=3600, bint commit=True, bint timed=False):
    """``count`` synthetic clients each do offer + request (only offer with commit=False)
    and release the address again ``window`` clients later, natively: allocation in a pool
    with only ``window`` free addresses (the last ones go at the end too). Returns how many
    got an address; with timed=True also the CPU ticks spent allocating and in the whole
    loop (less what reading the timer cost), whose ratio is the allocation's share of the
    time."""
    cdef uint32_t sn = alloc._subnet(subnet_id), i, a, bound = 0, r
    cdef uint32_t hashes[PREFETCH_BLOCK]
    cdef uint8_t hw[8]
    cdef ClientKey k
    cdef ClientIds ids
    cdef int status
    cdef uint64_t start = 0, t0 = 0, in_alloc = 0
    if window == 0:
        raise ValueError("window must be at least 1")
    memset(&ids, 0, sizeof(ClientIds))
    mac_word(mac_start, hw)
    lt_key_make(&k, sn, 1, hw, 6, NULL, 0, False)     # synthetic clients: keyed by MAC
    ids.hw, ids.hwlen = hw, 6
    if timed:
        start = fastdhcp_ticks()
    for i in range(count + window):
        if i < count:
            if i % PREFETCH_BLOCK == 0:   # as bind_many (only `window` addresses are free)
                prefetch_clients(alloc, sn, mac_start + i, min(PREFETCH_BLOCK, count - i), hashes)
                alloc.prefetch_allocations(sn, min(PREFETCH_BLOCK, count - i, window))
            mac_word(mac_start + i, hw)
            k.hash = hashes[i % PREFETCH_BLOCK]
            if timed:
                t0 = fastdhcp_ticks()
            a = alloc.offer_c(sn, &k, &ids, 0, now, &status)
            if a == NIL:
                if status == AS_NO_MEMORY:
                    raise MemoryError()
            elif not commit or alloc.request_c(sn, &k, &ids, a, lifetime, now, NULL, 0) == AS_ACK:
                bound += 1
            if timed:
                in_alloc += fastdhcp_ticks() - t0
        if i + 1 >= window and i + 1 - window < count:   # the client `window` back leaves
            mac_word(mac_start + i + 1 - window, hw)
            lt_key_ready(&k)
            r = lt_find_key(&alloc.t, &k)
            if r != NIL:
                alloc.release_c(&k, alloc.t.rec[r].addr, now)
        alloc.t.journal_len = 0
    if timed:
        return timed_result(bound, in_alloc, fastdhcp_ticks() - start, count)
    return bound

def release_many(Allocator alloc, uint32_t subnet_id, uint32_t count, uint64_t mac_start, *, int64_t now):
    """The synthetic clients of ``bind_many`` release their leases, natively. Returns how many
    did."""
    cdef uint32_t sn = alloc._subnet(subnet_id), i, r, released = 0
    cdef uint8_t hw[8]
    cdef ClientKey k
    mac_word(mac_start, hw)
    lt_key_make(&k, sn, 1, hw, 6, NULL, 0, False)     # synthetic clients: keyed by MAC
    for i in range(count):
        mac_word(mac_start + i, hw)
        lt_key_ready(&k)
        r = lt_find_key(&alloc.t, &k)
        if r != NIL and alloc.release_c(&k, alloc.t.rec[r].addr, now):
            released += 1
        alloc.t.journal_len = 0
    return released

def lookup_many(Allocator alloc, uint32_t subnet_id, uint32_t count, uint64_t mac_start):
    """Find ``count`` clients' leases by client key and then by address, natively.
    Returns how many were found both ways."""
    cdef uint32_t sn = alloc._subnet(subnet_id), i, r, found = 0
    cdef uint8_t hw[8]
    cdef ClientKey k
    mac_word(mac_start, hw)
    lt_key_make(&k, sn, 1, hw, 6, NULL, 0, False)     # synthetic clients: keyed by MAC
    with nogil:
        for i in range(count):
            mac_word(mac_start + i, hw)
            lt_key_ready(&k)
            r = lt_find_key(&alloc.t, &k)
            if r != NIL and lt_find_addr(&alloc.t, alloc.t.rec[r].addr) == r:
                found += 1
    return found


def key_hash(uint32_t subnet_index, bytes hw, *, int htype=1, bytes client_id=None):
    """The lease table's hash of a client key (tests build index collisions with it)."""
    cdef ClientKey k
    cdef const uint8_t* cid = NULL
    cdef uint8_t cid_len = 0
    if client_id:
        cid, cid_len = client_id, <uint8_t>min(len(client_id), CID_MAX)
    lt_key_make(&k, subnet_index, htype, hw, <uint8_t>min(len(hw), HW_MAX), cid, cid_len, True)
    return k.hash


cdef class AddressPool:
    """One bitmap pool on its own (tests and benchmarks of the allocator core)."""

    cdef Pool p

    def __cinit__(self, first, last):
        cdef uint32_t a = ip_to_u32(first), b = ip_to_u32(last)
        if b < a or <uint64_t>b - a + 1 > POOL_MAX_SIZE:
            raise ValueError("a pool holds 1 to 2^24 addresses")
        if pool_init(&self.p, a, b - a + 1) != 0:
            pool_free_memory(&self.p)
            raise MemoryError()

    def __dealloc__(self):
        pool_free_memory(&self.p)

    cdef uint32_t _index(self, addr) except? 0xFFFFFFFF:
        cdef uint32_t a = ip_to_u32(addr)
        if a < self.p.first or a - self.p.first >= self.p.size:
            raise ValueError(f"{u32_to_ip(a)} is not in this pool")
        return a - self.p.first

    def allocate(self):
        """The next free address after the cursor (as an int), or None when full."""
        cdef uint32_t i = pool_alloc_any(&self.p)
        return None if i == POOL_NONE else self.p.first + i

    def allocate_many(self, uint32_t n):
        """Allocate n addresses in one call (benchmarks); returns how many were allocated."""
        cdef uint32_t k, got = 0
        with nogil:
            for k in range(n):
                if pool_alloc_any(&self.p) == POOL_NONE:
                    break
                got += 1
        return got

    def churn_many(self, uint32_t n, bint timed=False):
        """n times: allocate-any, then release what was allocated (benchmarks of an almost full
        pool). Returns how many allocations succeeded; with timed=True also the CPU ticks spent
        allocating and in the whole loop (less what reading the timer cost)."""
        cdef uint32_t k, i, got = 0
        cdef uint64_t start = 0, t0 = 0, in_alloc = 0
        with nogil:
            if timed:
                start = fastdhcp_ticks()
            for k in range(n):
                if timed:
                    t0 = fastdhcp_ticks()
                i = pool_alloc_any(&self.p)
                if timed:
                    in_alloc += fastdhcp_ticks() - t0
                if i == POOL_NONE:
                    break
                pool_release(&self.p, i)
                got += 1
        if timed:
            return timed_result(got, in_alloc, fastdhcp_ticks() - start, n)
        return got

    def allocate_specific(self, addr):
        return pool_alloc_specific(&self.p, self._index(addr))

    def release(self, addr):
        return pool_release(&self.p, self._index(addr))

    def block(self, addr):
        pool_block(&self.p, self._index(addr))

    def unblock(self, addr, bint held=False):
        pool_unblock(&self.p, self._index(addr), held)

    def is_free(self, addr):
        return pool_is_free(&self.p, self._index(addr))

    def fill(self, double fraction):
        """Take the first ``fraction`` of the addresses (benchmarks: a pool at 90 % or 99.99 %)."""
        cdef uint32_t n = <uint32_t>(self.p.size * fraction), i
        with nogil:
            for i in range(n):
                if pool_is_free(&self.p, i):
                    pool_take(&self.p, i)
        return n

    @property
    def size(self):
        return self.p.size

    @property
    def free_count(self):
        return self.p.free_count

    @property
    def levels(self):
        return self.p.levels

    @property
    def first(self):
        return self.p.first


def time_client_name(bytes host=None, bytes fqdn=None, *, str suffix="", bint updates=False,
                     str char_set="[^A-Za-z0-9.-]", int replace=RCM_NEVER, uint32_t n=100_000):
    """What the engine does with a client's option 12 (``host``) or 81 (``fqdn``: its value),
    timed: (ns per packet over n packets, the lease's name, fqdn_fwd, fqdn_rev, the reply's
    option bytes). The benchmark's view of names.pyx; nothing on the server path."""
    cdef NamePolicy pol
    cdef ClientName cn
    cdef uint8_t out[300]
    cdef uint16_t w = 0
    cdef uint32_t i
    cdef int64_t t0, t1
    cdef const uint8_t* v12 = NULL
    cdef const uint8_t* v81 = NULL
    cdef int n12 = -1, n81 = -1
    memset(&pol, 0, sizeof(NamePolicy))
    name_policy_set(&pol, updates, False, False, replace, False, True, "myhost", suffix,
                    char_set, "")
    if host is not None:
        v12, n12 = <const uint8_t*>host, len(host)
    if fqdn is not None:
        v81, n81 = <const uint8_t*>fqdn, len(fqdn)
    t0 = mono_ns()
    for i in range(n):
        name_decide(&pol, v12, n12, v81, n81, NULL, 0, &cn)
        name_finish(&pol, 0xC0000264 + (i & 255), &cn)
        w = name_option(&cn, out)
    t1 = mono_ns()
    if pol.regex != NULL:
        regfree(pol.regex)
        free(pol.regex)
    return ((t1 - t0) / <double>max(n, 1), cn.text[:cn.len].decode("utf-8", "replace"),
            bool(cn.fwd), bool(cn.rev), out[:w])
