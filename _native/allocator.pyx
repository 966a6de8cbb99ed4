# Assignment: which address a client gets. Subnets own pools (bitmaps); reservations pin
# addresses to clients; the lease table remembers who holds what. The decisions (offer, request,
# release, decline, reclaim) follow RFC 2131 §4.3 and Kea's allocation order: reservation, the
# client's current or previous address (affinity), the requested address, then the next free
# one. Included by _core.pyx; the engine calls the Allocator's cdef methods, Python its def ones.

from libc.stdlib cimport calloc, free, malloc, realloc
from libc.string cimport memcmp, memcpy, memset
from libc.stdint cimport int64_t


cdef inline uint32_t asg_resv_hash(uint32_t subnet, uint8_t kind, const uint8_t* p, uint8_t n) noexcept nogil:
    return lt_bytes_hash((<uint64_t>subnet << 8) | kind, p, n)


cdef uint32_t asg_find_resv(const Reservation* resv, uint32_t mask, const ByteArena* ids,
                            uint32_t subnet, uint8_t kind, const uint8_t* p, uint8_t n) noexcept nogil:
    cdef uint32_t h = asg_resv_hash(subnet, kind, p, n)
    cdef uint32_t i = h & mask
    cdef const Reservation* rv
    while resv[i].kind != 0:
        rv = &resv[i]
        if rv.hash == h and rv.kind == kind and rv.subnet == subnet and rv.id_len == n and \
                memcmp(ids.data + rv.id_off, p, n) == 0:
            return i
        i = (i + 1) & mask
    return NIL


# What the range holding addr maps to (binary search over sorted, disjoint ranges), or NIL.
cdef uint32_t range_find(const AddrRange* ranges, uint32_t n, uint32_t addr) noexcept nogil:
    cdef uint32_t lo = 0, hi = n, mid
    while lo < hi:
        mid = (lo + hi) >> 1
        if ranges[mid].last < addr:
            lo = mid + 1
        elif ranges[mid].first > addr:
            hi = mid
        else:
            return ranges[mid].value
    return NIL


SUBNET_COUNTERS = ("cumulative-assigned-addresses", "reclaimed-leases",
                   "reclaimed-declined-addresses", "v4-allocation-fail",
                   "v4-allocation-fail-subnet", "v4-allocation-fail-shared-network",
                   "v4-allocation-fail-no-pools", "v4-reservation-conflicts", "v4-lease-reuses",
                   "declined-while-assigned", "declined-reclaimed")
if len(SUBNET_COUNTERS) != SS_COUNT:
    raise ImportError(f"fastdhcp._core: {len(SUBNET_COUNTERS)} subnet counter names for {SS_COUNT}")


@cython.final
cdef class Allocator:
    """Subnets, pools, reservations and the lease table, with the allocation decisions.

    Addresses are host-order integers or dotted quads at this edge; ``now`` is unix seconds."""

    cdef LeaseTable t
    cdef Pool* pools
    cdef uint32_t n_pools
    cdef uint32_t* pool_subnet   # subnet index of each pool
    cdef ClGuard* pool_guard     # each pool's client-class guard (Kea's Pool::clientSupported)
    cdef const uint64_t* classes  # the classes of the packet being decided (the engine's)
    cdef uint64_t all_only[CL_WORDS]  # ... ALL alone, when no engine classifies
    cdef AddrRange* ranges
    cdef SubnetC* subnets
    cdef uint32_t n_subnets
    cdef Reservation* resv
    cdef uint32_t resv_mask      # open addressing over resv slots (kind 0 = empty)
    cdef uint32_t n_resv
    cdef ByteArena resv_ids
    cdef uint32_t* resv_set      # reserved addresses (open addressing; 0 = empty slot)
    cdef uint32_t resv_set_mask
    cdef uint8_t id_order[RK_KINDS]   # host-reservation-identifiers, in lookup order
    cdef uint8_t n_id_order
    cdef dict subnet_index       # id -> index (Python edge only)
    cdef public uint32_t offer_lifetime   # the soft hold of subnets without offer-lifetime
    cdef public uint32_t decline_probation
    cdef readonly uint32_t reused_lft     # the last request's: a cached lease's remaining time
    cdef NameChangeRing ncr      # DNS updates to send (names.pyx): expiry queues its removals

    def __cinit__(self, uint32_t capacity=1024, uint32_t offer_lifetime=60,
                  uint32_t decline_probation=86400):
        if lt_init(&self.t, capacity) != 0:
            raise MemoryError()
        self.subnet_index = {}
        self.offer_lifetime = offer_lifetime
        self.decline_probation = decline_probation
        self.resv_mask = 63
        self.resv = <Reservation*>calloc(self.resv_mask + 1, sizeof(Reservation))
        self.resv_set_mask = 63
        self.resv_set = <uint32_t*>calloc(self.resv_set_mask + 1, sizeof(uint32_t))
        if self.resv == NULL or self.resv_set == NULL:
            raise MemoryError()
        self.set_identifier_order(("hw-address", "duid", "circuit-id", "client-id"))
        self.all_only[0] = 1
        self.classes = self.all_only

    def __dealloc__(self):
        cdef uint32_t i
        lt_free_memory(&self.t)
        for i in range(self.n_pools):
            pool_free_memory(&self.pools[i])
        free(self.pools)
        free(self.pool_subnet)
        free(self.pool_guard)
        free(self.ranges)
        free(self.subnets)
        free(self.resv)
        free(self.resv_ids.data)
        free(self.resv_set)
        free(self.ncr.items)

    # ---- building (Python: config load) ----------------------------------------------------------

    def set_pool_guard(self, first, last, classes):
        """Only packets in one of ``classes`` (class bits: 0 is ALL) may take addresses of the
        pool ``first`` - ``last`` (every native piece of it); an empty collection: nobody."""
        cdef uint32_t a = ip_to_u32(first), b = ip_to_u32(last), p
        cdef ClGuard g
        memset(&g, 0, sizeof(ClGuard))
        g.on = 1
        for bit in classes:
            if not 0 <= bit < CL_MAX_CLASSES:
                raise ValueError(f"class bit {bit} out of range")
            g.mask[bit >> 6] |= 1ULL << (bit & 63)
        found = False
        for p in range(self.n_pools):
            if a <= self.pools[p].first and self.pools[p].first + self.pools[p].size - 1 <= b:
                self.pool_guard[p] = g
                found = True
        if not found:
            raise ValueError(f"no pool {first} - {last}")

    cdef void use_classes(self, const uint64_t* classes) noexcept:
        # the engine's per-packet class set, read by pool_allowed (NULL: ALL alone)
        self.classes = classes if classes != NULL else self.all_only

    def set_identifier_order(self, kinds):
        """Kea's host-reservation-identifiers: which identifiers a reservation lookup tries, in
        order ("hw-address", "duid", "circuit-id", "client-id"; others never match here)."""
        codes = [_RESV_KINDS[k] for k in kinds if k in _RESV_KINDS]
        for n, code in enumerate(codes):
            self.id_order[n] = code
        self.n_id_order = len(codes)

    def add_subnet(self, uint32_t subnet_id, str prefix, pools=(), bint match_client_id=True,
                   bint reservations_global=False, bint reservations_in_subnet=True,
                   offer_lifetime=None, cache_threshold=None, cache_max_age=None):
        """Add a subnet ``prefix`` ("10.0.0.0/8") with pools given as (first, last) addresses.
        A pool larger than 2^24 addresses is split into several. Pools must not overlap.
        ``offer_lifetime`` (Kea 2.6's offer-lifetime, seconds): an offer holds its address that
        long against everyone; unset or 0, an offer holds it for the Allocator's offer_lifetime
        only while other addresses are free (Kea 2.2 holds nothing for an offer).
        ``cache_threshold`` and ``cache_max_age``: Kea's lease caching, None when unspecified."""
        if cache_threshold is not None and not 0.0 < cache_threshold < 1.0:
            raise ValueError(f"cache-threshold {cache_threshold} must be greater than 0.0 and less than 1.0")
        if subnet_id == 0 or subnet_id in self.subnet_index:
            raise ValueError(f"subnet id {subnet_id} is zero or already used")
        net_s, _, plen_s = prefix.partition("/")
        plen = int(plen_s)
        if not 0 <= plen <= 32:
            raise ValueError(f"bad prefix length in {prefix!r}")
        mask = (0xFFFFFFFF << (32 - plen)) & 0xFFFFFFFF
        network = ip_to_u32(net_s) & mask
        pieces = []
        for first, last in pools:
            a, b = ip_to_u32(first), ip_to_u32(last)
            if a > b or (a & mask) != network or (b & mask) != network:
                raise ValueError(f"pool {first} - {last} is empty or outside {prefix}")
            while a <= b:
                n = min(b - a + 1, POOL_MAX_SIZE)
                pieces.append((a, n))
                a += n
        spans = sorted(self._range_list() + [(a, a + n - 1) for a, n in pieces])
        for (a1, b1), (a2, b2) in zip(spans, spans[1:]):
            if a2 <= b1:
                raise ValueError(f"pool starting at {u32_to_ip(a2)} overlaps another pool")
        self._grow_subnets()
        cdef SubnetC* s = &self.subnets[self.n_subnets]
        memset(s, 0, sizeof(SubnetC))
        s.id = subnet_id
        s.network = network
        s.mask = mask
        s.first_pool = self.n_pools
        s.match_client_id = match_client_id
        s.resv_global = reservations_global
        s.resv_in_subnet = reservations_in_subnet
        s.offer_strict = bool(offer_lifetime)
        s.offer_lft = offer_lifetime or 0
        if cache_threshold is not None:
            s.cache_flags |= CACHE_THRESHOLD
            s.cache_threshold = cache_threshold
        if cache_max_age is not None:
            s.cache_flags |= CACHE_MAX_AGE
            s.cache_max_age = cache_max_age
        for a, n in pieces:
            self._add_pool(a, n, self.n_subnets)
            s.total += n
        s.n_pools = len(pieces)
        self.subnet_index[subnet_id] = self.n_subnets
        self.n_subnets += 1

    cdef _grow_subnets(self):
        cdef SubnetC* grown = <SubnetC*>realloc(self.subnets, (self.n_subnets + 1) * sizeof(SubnetC))
        if grown == NULL:
            raise MemoryError()
        self.subnets = grown

    cdef _add_pool(self, uint32_t first, uint32_t size, uint32_t subnet):
        cdef Pool* pools = <Pool*>realloc(self.pools, (self.n_pools + 1) * sizeof(Pool))
        if pools == NULL:
            raise MemoryError()
        self.pools = pools
        cdef uint32_t* owner = <uint32_t*>realloc(self.pool_subnet, (self.n_pools + 1) * sizeof(uint32_t))
        if owner == NULL:
            raise MemoryError()
        self.pool_subnet = owner
        cdef ClGuard* guards = <ClGuard*>realloc(self.pool_guard, (self.n_pools + 1) * sizeof(ClGuard))
        if guards == NULL:
            raise MemoryError()
        self.pool_guard = guards
        memset(&self.pool_guard[self.n_pools], 0, sizeof(ClGuard))
        cdef AddrRange* ranges = <AddrRange*>realloc(self.ranges, (self.n_pools + 1) * sizeof(AddrRange))
        if ranges == NULL:
            raise MemoryError()
        self.ranges = ranges
        if pool_init(&self.pools[self.n_pools], first, size) != 0:
            pool_free_memory(&self.pools[self.n_pools])
            raise MemoryError()
        self.pool_subnet[self.n_pools] = subnet
        # keep ranges sorted by first address (insertion: pools are added at config load only)
        cdef uint32_t i = self.n_pools
        while i > 0 and self.ranges[i - 1].first > first:
            self.ranges[i] = self.ranges[i - 1]
            i -= 1
        self.ranges[i].first = first
        self.ranges[i].last = first + (size - 1)
        self.ranges[i].value = self.n_pools
        self.n_pools += 1

    cdef list _range_list(self):
        return [(self.ranges[i].first, self.ranges[i].last) for i in range(self.n_pools)]

    cdef uint32_t _pool_at(self, uint32_t addr) noexcept nogil:
        return range_find(self.ranges, self.n_pools, addr)

    def exclude(self, addr):
        """Mark an address unavailable for good (network, broadcast, the server's own)."""
        cdef uint32_t a = ip_to_u32(addr), p = self._pool_at(a)
        if p != NIL:
            pool_block(&self.pools[p], a - self.pools[p].first)

    def exclude_range(self, first, last):
        """Mark every pool address from first to last unavailable (a cluster: the blocks of
        the shards another server owns); how many were marked."""
        cdef uint32_t a = ip_to_u32(first), z = ip_to_u32(last), p, n = 0
        while a <= z:
            p = self._pool_at(a)
            if p != NIL:
                pool_block(&self.pools[p], a - self.pools[p].first)
                n += 1
            if a == 0xFFFFFFFF:
                break
            a += 1
        return n

    def add_reservation(self, subnet_id, addr=None, *, hw_address=None, client_id=None,
                        circuit_id=None, duid=None):
        """Reserve for the client with this identifier (exactly one) ``addr`` in ``subnet_id``
        (None: a global reservation, used by subnets with reservations-global). ``addr`` None
        reserves no address: the reservation carries a host name, options or boot fields only.
        A reserved in-pool address is taken out of the pool: nobody else is given it. Returns
        the reservation's ordinal (0, 1, ...), which names it to the engine."""
        ids = [(k, v) for k, v in ((RK_HW, hw_address), (RK_CLIENT_ID, client_id),
                                   (RK_CIRCUIT_ID, circuit_id), (RK_DUID, duid)) if v is not None]
        if len(ids) != 1:
            raise ValueError("a reservation names exactly one identifier")
        kind, ident = ids[0]
        ident = bytes(ident)
        if not 1 <= len(ident) <= RESV_ID_MAX:
            raise ValueError("reservation identifier must be 1..255 bytes")
        cdef uint32_t a = 0 if addr is None else ip_to_u32(addr)
        cdef uint32_t sn = GLOBAL_SCOPE
        cdef SubnetC* s
        if subnet_id is not None:
            if subnet_id not in self.subnet_index:
                raise ValueError(f"no subnet with id {subnet_id}")
            sn = self.subnet_index[subnet_id]
            s = &self.subnets[sn]
            if a and not subnet_has(s, a):
                raise ValueError(f"reserved address {u32_to_ip(a)} is outside subnet {subnet_id}")
        if asg_find_resv(self.resv, self.resv_mask, &self.resv_ids, sn, kind, ident, len(ident)) != NIL:
            raise ValueError("this identifier already has a reservation in this scope")
        if (self.n_resv + 1) * 2 > self.resv_mask + 1:
            self._grow_resv()
        cdef Reservation rv
        rv.subnet = sn
        rv.addr = a
        rv.kind = kind
        rv.id_len = len(ident)
        rv.id_off = arena_put(&self.resv_ids, ident, len(ident))
        if rv.id_off == NIL:
            raise MemoryError()
        rv.hash = asg_resv_hash(sn, kind, ident, len(ident))
        rv.ordinal = self.n_resv
        self._put_resv(&rv)
        self.n_resv += 1
        cdef uint32_t p
        if a:
            self._remember_reserved(a)
            p = self._pool_at(a)
            if p != NIL:
                pool_block(&self.pools[p], a - self.pools[p].first)
        return rv.ordinal

    # The set of reserved addresses: a declined reserved address must stay out of its pool
    # when its probation ends.
    cdef _remember_reserved(self, uint32_t a):
        cdef uint32_t* old
        cdef uint32_t old_slots, i
        if self.is_reserved(a):
            return
        if self.n_resv * 2 > self.resv_set_mask + 1:
            old, old_slots = self.resv_set, self.resv_set_mask + 1
            self.resv_set = <uint32_t*>calloc(old_slots * 2, sizeof(uint32_t))
            if self.resv_set == NULL:
                self.resv_set = old
                raise MemoryError()
            self.resv_set_mask = old_slots * 2 - 1
            for i in range(old_slots):
                if old[i]:
                    self._set_put(old[i])
            free(old)
        self._set_put(a)

    cdef void _set_put(self, uint32_t a) noexcept nogil:
        cdef uint32_t i = lt_mix(a) & self.resv_set_mask
        while self.resv_set[i]:
            i = (i + 1) & self.resv_set_mask
        self.resv_set[i] = a

    cdef bint is_reserved(self, uint32_t a) noexcept nogil:
        cdef uint32_t i = lt_mix(a) & self.resv_set_mask
        while self.resv_set[i]:
            if self.resv_set[i] == a:
                return True
            i = (i + 1) & self.resv_set_mask
        return False

    cdef void _put_resv(self, const Reservation* rv):
        cdef uint32_t i = rv.hash & self.resv_mask
        while self.resv[i].kind != 0:
            i = (i + 1) & self.resv_mask
        self.resv[i] = rv[0]

    cdef _grow_resv(self):
        cdef Reservation* old = self.resv
        cdef uint32_t old_slots = self.resv_mask + 1, i
        self.resv_mask = old_slots * 2 - 1
        self.resv = <Reservation*>calloc(old_slots * 2, sizeof(Reservation))
        if self.resv == NULL:
            self.resv = old
            self.resv_mask = old_slots - 1
            raise MemoryError()
        for i in range(old_slots):
            if old[i].kind != 0:
                self._put_resv(&old[i])
        free(old)

    # ---- decisions (C level; the engine calls these) ----------------------------------------------

    # The client's reservation (its slot in self.resv) for subnet sn, or NIL. With
    # reservations-global the global reservations are looked at first (Kea: the global host
    # wins), then, with reservations-in-subnet, the subnet's own; identifiers are tried in the
    # host-reservation-identifiers order.
    cdef uint32_t resv_find(self, uint32_t sn, const ClientIds* ids) noexcept nogil:
        cdef uint32_t i = NIL
        if self.n_resv == 0:
            return NIL
        if self.subnets[sn].resv_global:
            i = self.resv_find_in(GLOBAL_SCOPE, ids)
        if i == NIL and self.subnets[sn].resv_in_subnet:
            i = self.resv_find_in(sn, ids)
        return i

    cdef uint32_t resv_find_in(self, uint32_t scope, const ClientIds* ids) noexcept nogil:
        cdef uint32_t i
        cdef uint8_t k, kind, n
        cdef const uint8_t* p
        for k in range(self.n_id_order):
            kind = self.id_order[k]
            n = 0
            if kind == RK_HW:
                p, n = ids.hw, ids.hwlen
            elif kind == RK_CLIENT_ID:
                p, n = ids.cid, ids.cid_len
            elif kind == RK_CIRCUIT_ID:
                p, n = ids.circuit, ids.circuit_len
            elif kind == RK_DUID and ids.cid_len > 5 and ids.cid[0] == CLIENT_ID_TYPE_DUID:
                p, n = ids.cid + 5, ids.cid_len - 5       # type 255, IAID, then the DUID
            if n:
                i = asg_find_resv(self.resv, self.resv_mask, &self.resv_ids, scope, kind, p, n)
                if i != NIL:
                    return i
        return NIL

    # The address reserved for the client in subnet sn, or NIL (no reservation, or one without
    # an address for this subnet: a global reservation's address may lie in another subnet).
    # The reservation's ordinal goes to *ordinal when asked for.
    cdef uint32_t resv_addr(self, uint32_t sn, const ClientIds* ids, uint32_t* ordinal) noexcept nogil:
        cdef uint32_t i = self.resv_find(sn, ids), a
        if i == NIL:
            return NIL
        if ordinal != NULL:
            ordinal[0] = self.resv[i].ordinal
        a = self.resv[i].addr
        if a == 0 or not subnet_has(&self.subnets[sn], a):
            return NIL
        return a

    cdef inline bint held_by_other(self, uint32_t r, uint32_t mine) noexcept nogil:
        cdef uint8_t st
        if r == NIL or r == mine:
            return False
        st = self.t.rec[r].state
        return st == LS_OFFERED or st == LS_BOUND or st == LS_DECLINED

    # Take `addr` for the client: out of its pool if it is a pool address (it must be free, or
    # reserved for this client, which blocked it), dropping another client's stale record of it.
    cdef bint claim(self, uint32_t addr, uint32_t mine, bint reserved) noexcept nogil:
        return self.claim_at(addr, lt_find_addr(&self.t, addr), self._pool_at(addr), mine, reserved)

    # claim() when the caller has already looked up the address's record r and pool p.
    cdef bint claim_at(self, uint32_t addr, uint32_t r, uint32_t p, uint32_t mine,
                       bint reserved) noexcept nogil:
        cdef bint ours = r != NIL and r == mine
        if self.held_by_other(r, mine):
            return False
        if ours and (self.t.rec[r].state == LS_OFFERED or self.t.rec[r].state == LS_BOUND):
            return True                       # already ours
        # Can it be taken? Only then may another client's released/expired record of it go.
        if p == NIL:
            if not reserved:
                return False
        elif not reserved and not pool_alloc_specific(&self.pools[p], addr - self.pools[p].first):
            return False                      # (reserved in-pool addresses are blocked for us)
        if r != NIL and not ours:
            lt_delete(&self.t, r)
        return True

    # A free address of the subnet (NIL: all taken).
    # Whether the packet being decided may take addresses of pool p: an unguarded pool, or one
    # whose client-class the packet is in (Kea's Pool::clientSupported).
    cdef inline bint pool_allowed(self, uint32_t p) noexcept nogil:
        cdef const ClGuard* g = &self.pool_guard[p]
        if not g.on:
            return True
        return ((g.mask[0] & self.classes[0]) | (g.mask[1] & self.classes[1]) |
                (g.mask[2] & self.classes[2]) | (g.mask[3] & self.classes[3])) != 0

    cdef uint32_t alloc_any(self, SubnetC* s) noexcept nogil:
        cdef uint32_t k, p, i
        for k in range(s.n_pools):
            p = s.first_pool + (s.next_pool + k) % s.n_pools
            if not self.pool_allowed(p):
                continue
            i = pool_alloc_any(&self.pools[p])
            if i != POOL_NONE:
                s.next_pool = (p - s.first_pool)
                return self.pools[p].first + i
        return NIL

    # The next n allocations from subnet sn will most likely take the next n free addresses of
    # its current pool, in order. Once a pool has wrapped round, those carry other clients' stale
    # records, which each allocation must take over and drop from the key index: the record and
    # its key slot, each a miss in a table of millions. Fetch them for the whole batch at once (the
    # directory entries, read in order, give both), so that the misses overlap instead of queueing
    # one per allocation (the engine calls this for each batch it receives, bind_many for each
    # block of clients).
    cdef void prefetch_allocations(self, uint32_t sn, uint32_t n) noexcept nogil:
        cdef SubnetC* s = &self.subnets[sn]
        cdef Pool* pool
        cdef uint32_t i
        cdef const uint64_t* e
        cdef bint wrapped = False
        if s.n_pools == 0:
            return
        pool = &self.pools[s.first_pool + s.next_pool]
        i = pool.cursor
        while n:
            i = pool_find_from(pool, i)
            if i == POOL_NONE:
                if wrapped:
                    return
                wrapped = True             # allocation wraps round to the start: so do we
                i = 0
                continue
            prefetch_w(&pool.offered[0][i >> 6], 1)     # the offer's mark, set then cleared
            e = dir_at(&self.t.by_addr, pool.first + i)
            if e != NULL and e[0] != 0:    # a stale record: it, and its key slot
                prefetch_w(&self.t.rec[dir_rec(e[0])], 1)
                lt_prefetch_key(&self.t, <uint32_t>(e[0] >> 32))
            i += 1
            n -= 1

    # Move the client's record to `addr` (creating it if needed, or taking over `stale`, another
    # client's dead record of addr); returns the record.
    cdef uint32_t bind_record(self, uint32_t mine, uint32_t addr, const ClientKey* k,
                              uint32_t stale) noexcept nogil:
        if mine != NIL and self.t.rec[mine].addr != addr:
            if self.t.rec[mine].state == LS_BOUND:
                lt_journal(&self.t, mine, JR_DELETE)   # the file must not keep the old binding
            self.give_back(mine)
            lt_delete(&self.t, mine)
            mine = NIL
        if mine == NIL:
            mine = lt_reuse(&self.t, stale) if stale != NIL else lt_new(&self.t, addr)
            if mine == NIL:
                return NIL
            if not lt_set_client(&self.t, mine, k):
                return NIL
        return mine

    # The record's address goes back to its pool if the record held it.
    cdef void give_back(self, uint32_t r) noexcept nogil:
        cdef Lease* l = &self.t.rec[r]
        cdef uint32_t p
        if l.state == LS_OFFERED or l.state == LS_BOUND:
            if l.state == LS_BOUND:
                self.account(l, -1, 0)
            p = self._pool_at(l.addr)
            if p != NIL:
                pool_offer_unmark(&self.pools[p], l.addr - self.pools[p].first)
                pool_release(&self.pools[p], l.addr - self.pools[p].first)

    cdef inline void account(self, const Lease* l, int assigned, int declined) noexcept nogil:
        self.subnets[l.subnet].assigned += assigned
        self.subnets[l.subnet].declined += declined

    # A declined address leaves probation (or its record is replaced): it goes back to its pool,
    # unless it is reserved (then it stays out of the free bitmap, as every reserved address).
    cdef void end_decline(self, const Lease* l) noexcept nogil:
        cdef uint32_t p = self._pool_at(l.addr)
        self.account(l, 0, -1)
        if p != NIL and not self.is_reserved(l.addr):
            pool_unblock(&self.pools[p], l.addr - self.pools[p].first, False)

    cdef uint32_t offer_c(self, uint32_t sn, const ClientKey* k, const ClientIds* ids,
                          uint32_t requested, int64_t now, int* status) noexcept:
        cdef SubnetC* s = &self.subnets[sn]
        cdef uint32_t mine = lt_find_key(&self.t, k), target = NIL, addr, stale = NIL, p
        cdef uint32_t resv = self.resv_addr(sn, ids, NULL)
        cdef uint8_t st
        status[0] = AS_ACK
        if resv != NIL and self.claim(resv, mine, True):
            target = resv
        elif mine != NIL:
            addr = self.t.rec[mine].addr
            st = self.t.rec[mine].state
            p = self._pool_at(addr)
            if p != NIL and not self.pool_allowed(p):
                pass                   # a pool its classes no longer allow: a new address
            elif (st == LS_OFFERED or st == LS_BOUND) or self.claim(addr, mine, False):
                target = addr          # its current address, or its previous one (affinity)
        if resv != NIL and target != resv and self.held_by_other(lt_find_addr(&self.t, resv), mine):
            s.stat[SS_RESV_CONFLICTS] += 1     # another client holds the reserved address
        if target == NIL and requested != 0 and subnet_has(s, requested) and \
                self._pool_at(requested) != NIL and self.pool_subnet[self._pool_at(requested)] == sn and \
                self.pool_allowed(self._pool_at(requested)) and self.claim(requested, mine, False):
            target = requested
        while target == NIL:
            target = self.alloc_any(s)
            if target == NIL:
                if self.make_room(s, now):
                    continue
                status[0] = AS_NO_ADDRESS
                return NIL
            stale = lt_find_addr(&self.t, target)
            if stale != NIL and self.held_by_other(stale, mine):
                target = NIL                   # table and bitmap disagree: never take a live
                stale = NIL                    # lease; the address stays out, try the next
        # (another client's released/expired record of a fresh address is taken over)
        mine = self.bind_record(mine, target, k, stale if stale != mine else NIL)
        if mine == NIL:
            status[0] = AS_NO_MEMORY
            return NIL
        if self.t.rec[mine].state != LS_BOUND:      # held (again) for a while; bound stays bound
            lt_set_state(&self.t, mine, LS_OFFERED,
                         now + (s.offer_lft if s.offer_strict else self.offer_lifetime))
            p = self._pool_at(target)
            if p != NIL and not pool_is_blocked(&self.pools[p], target - self.pools[p].first):
                pool_offer_mark(&self.pools[p], target - self.pools[p].first)   # (a reserved one
                # is its client's alone: no other client could take it over)
        return target

    # Nothing is free in the subnet's pools: make an address free, if any can be, and say so.
    # What has lapsed (leases and offers past their time, probations ended) is reclaimed now
    # rather than at the next expiry pass: Kea 2.2 reuses an expired lease it comes to. Then,
    # unless the subnet has offer-lifetime, another client's mere offer gives way: the hold
    # decides between concurrent clients while there is a choice, and never withholds the last
    # addresses (nor lets a flood of DISCOVERs take the pool). Bounded: the expiry pass walks
    # only the seconds since the last one, and each offered mark looked at is taken or cleared.
    cdef bint make_room(self, SubnetC* s, int64_t now) noexcept:
        cdef uint32_t k, p, i, r
        cdef Pool* pool
        # what lapsed before this second (Kea's Lease::expired: expire < now); the timer's pass
        # takes the rest
        if self.reclaim_c(now - 1):
            return True        # (perhaps in another subnet: the caller tries, and asks again)
        if s.offer_strict:
            return False
        for k in range(s.n_pools):
            p = s.first_pool + (s.next_pool + k) % s.n_pools
            if not self.pool_allowed(p):
                continue
            pool = &self.pools[p]
            while pool.offered_count:
                i = pool_next_offered(pool)
                r = lt_find_addr(&self.t, pool.first + i)
                if r != NIL and self.t.rec[r].state == LS_OFFERED:
                    self.give_back(r)          # unmarked, and free again unless blocked
                    lt_delete(&self.t, r)
                    return True
                pool_offer_unmark(pool, i)     # (a mark without its offer: cleared)
        return False

    # Another client's record r of an address a client asks for gives way when it has lapsed
    # (the expiry pass has not come round to it yet: reclaimed now) or is a mere offer under a
    # soft hold (Kea 2.2 holds nothing for an offer: the first REQUEST wins), unless the address
    # is out of the pools or blocked (reserved: its client's alone). Returns the address's record
    # after that (NIL: none).
    cdef uint32_t give_way(self, uint32_t r, uint32_t addr, int64_t now) noexcept:
        cdef Lease* l = &self.t.rec[r]
        cdef uint32_t p = self._pool_at(addr)
        if l.state != LS_OFFERED and l.state != LS_BOUND and l.state != LS_DECLINED:
            return r
        if l.expire < now:              # lapsed, as Kea's Lease::expired has it
            self.reclaim_c(now - 1)
        elif l.state == LS_OFFERED and not self.subnets[l.subnet].offer_strict and p != NIL and \
                not pool_is_blocked(&self.pools[p], addr - self.pools[p].first):
            self.give_back(r)
            lt_delete(&self.t, r)
        return lt_find_addr(&self.t, addr)

    # Kea's lease caching (AllocEngine::setLeaseReusable, after updateLease4Information found
    # nothing to change): the remaining lifetime of the client's bound lease r when a renewal
    # (or a DISCOVER) for `lifetime` seconds may reuse it unchanged, else 0. Nothing may have
    # changed but the time: the hardware address, client id and host name are the same and the
    # lifetime is not shorter. An infinite lease is always reused; else the lease's age (since it
    # was last written) must be below its lifetime, within cache-max-age, and within
    # cache-threshold of the new lifetime; with neither set, nothing is reused.
    cdef uint32_t reusable(self, uint32_t sn, uint32_t r, const ClientKey* k, uint32_t lifetime,
                           const uint8_t* host, uint16_t host_len, uint8_t fqdn, int64_t now) noexcept nogil:
        cdef const SubnetC* s = &self.subnets[sn]
        cdef const Lease* l = &self.t.rec[r]
        cdef int64_t cltt, age
        cdef uint32_t max_age = 0
        if (s.cache_flags == 0 and lifetime != LFT_INFINITY) or l.state != LS_BOUND:
            return 0
        if host_len > HOST_MAX:
            host_len = HOST_MAX
        if l.htype != k.htype or l.hwlen != k.hwlen or l.cid_len != k.cid_len or \
                l.host_len != host_len or lifetime < l.valid_lft or \
                (l.flags & (LF_FQDN_FWD | LF_FQDN_REV)) != fqdn or \
                (l.hwlen and memcmp(lt_hw(l), k.hw, l.hwlen) != 0) or \
                (l.cid_len and memcmp(lt_cid(&self.t, l), k.cid, l.cid_len) != 0) or \
                (host_len and memcmp(lt_host(&self.t, l), host, host_len) != 0):
            return 0
        if lifetime == LFT_INFINITY:
            return LFT_INFINITY
        cltt = l.expire - l.valid_lft
        if now < cltt:
            return 0                           # time went backwards
        age = now - cltt
        if age >= l.valid_lft:
            return 0                           # expired
        if s.cache_flags & CACHE_MAX_AGE:
            max_age = s.cache_max_age
            if max_age == 0 or age > max_age:
                return 0
        if s.cache_flags & CACHE_THRESHOLD:
            max_age = <uint32_t>(lifetime * s.cache_threshold)
            if age > max_age:
                return 0
        if max_age == 0:
            return 0
        return <uint32_t>(l.valid_lft - age)

    # What a DISCOVER's OFFER of `addr` carries as its lifetime when it is the client's cached
    # bound lease (Kea runs the same reuse test for an offer): its remaining time, else 0.
    cdef uint32_t offer_reuse(self, uint32_t sn, const ClientKey* k, uint32_t addr, uint32_t lifetime,
                              const uint8_t* host, uint16_t host_len, uint8_t fqdn, int64_t now) noexcept nogil:
        cdef uint32_t mine
        if self.subnets[sn].cache_flags == 0 and lifetime != LFT_INFINITY:
            return 0
        mine = lt_find_key(&self.t, k)
        if mine == NIL or self.t.rec[mine].addr != addr:
            return 0
        return self.reusable(sn, mine, k, lifetime, host, host_len, fqdn, now)

    cdef int request_c(self, uint32_t sn, const ClientKey* k, const ClientIds* ids, uint32_t addr,
                       uint32_t lifetime, int64_t now, const uint8_t* host, uint16_t host_len,
                       uint8_t fqdn=0) noexcept:
        cdef SubnetC* s = &self.subnets[sn]
        cdef uint32_t mine = lt_find_key(&self.t, k), r
        cdef uint32_t resv = self.resv_addr(sn, ids, NULL)
        cdef uint32_t p
        cdef bint was_bound
        self.reused_lft = 0
        if not subnet_has(s, addr):
            return AS_NAK_WRONG_SUBNET
        if resv != NIL and resv != addr:
            if not self.held_by_other(lt_find_addr(&self.t, resv), mine):
                return AS_NAK_RESERVED_ELSEWHERE
            resv = NIL       # someone else still holds it: the dynamic address offered stands
        r = lt_find_addr(&self.t, addr)
        if self.held_by_other(r, mine):
            r = self.give_way(r, addr, now)
            if self.held_by_other(r, mine):
                return AS_NAK_TAKEN
        p = self._pool_at(addr)
        if resv == NIL and (p == NIL or self.pool_subnet[p] != sn or not self.pool_allowed(p)):
            return AS_NAK_UNAVAILABLE
        if not self.claim_at(addr, r, p, mine, resv != NIL):
            return AS_NAK_UNAVAILABLE
        if r == mine and r != NIL and self.t.rec[r].state == LS_BOUND:
            self.reused_lft = self.reusable(sn, r, k, lifetime, host, host_len, fqdn, now)
            if self.reused_lft:
                return AS_ACK                  # a cached lease: nothing changes, no row
        mine = self.bind_record(mine, addr, k, NIL)
        if mine == NIL or not lt_set_host(&self.t, mine, host, host_len):
            return AS_NO_MEMORY
        was_bound = self.t.rec[mine].state == LS_BOUND
        self.t.rec[mine].flags = (self.t.rec[mine].flags & ~(LF_FQDN_FWD | LF_FQDN_REV)) | fqdn
        self.t.rec[mine].valid_lft = lifetime
        lt_set_state(&self.t, mine, LS_BOUND, now + lifetime)
        if p != NIL:
            pool_offer_unmark(&self.pools[p], addr - self.pools[p].first)
        if not was_bound:
            self.account(&self.t.rec[mine], 1, 0)
            self.subnets[self.t.rec[mine].subnet].stat[SS_CUMULATIVE] += 1
        if not lt_journal(&self.t, mine, JR_UPSERT):
            return AS_NO_MEMORY
        return AS_ACK

    # Queue the removal of the DNS records of lease r, if it has any (Kea's queueNCR(CHG_REMOVE)).
    cdef void ncr_remove(self, uint32_t r) noexcept nogil:
        cdef const Lease* l = &self.t.rec[r]
        if self.ncr.cap and l.host_len and l.flags & (LF_FQDN_FWD | LF_FQDN_REV):
            ncr_put(&self.ncr, NCR_REMOVE, l.addr, l.expire - l.valid_lft, l.valid_lft,
                    lt_host(&self.t, l), l.host_len, l.flags & LF_FQDN_FWD, l.flags & LF_FQDN_REV,
                    self.subnets[l.subnet].ncr_conflict, lt_cid(&self.t, l), l.cid_len, l.htype,
                    lt_hw(l), l.hwlen)

    cdef bint release_c(self, const ClientKey* k, uint32_t addr, int64_t now) noexcept:
        cdef uint32_t mine = lt_find_key(&self.t, k)
        if mine == NIL or self.t.rec[mine].addr != addr:
            return False             # RFC 2131 §4.3.4: only the holder can release
        if self.t.rec[mine].state != LS_BOUND and self.t.rec[mine].state != LS_OFFERED:
            return False
        self.give_back(mine)
        if self.t.rec[mine].state == LS_BOUND:
            self.ncr_remove(mine)            # Kea's processRelease: its DNS records go too
        lt_set_state(&self.t, mine, LS_RELEASED, now)
        lt_journal(&self.t, mine, JR_UPSERT)
        return True

    cdef bint decline_c(self, const ClientKey* k, uint32_t addr, int64_t now) noexcept:
        cdef uint32_t mine = lt_find_key(&self.t, k), p
        if mine == NIL or self.t.rec[mine].addr != addr:
            return False
        if self.t.rec[mine].state != LS_BOUND and self.t.rec[mine].state != LS_OFFERED:
            return False
        self.give_back(mine)
        if self.t.rec[mine].state == LS_BOUND:
            self.ncr_remove(mine)            # Kea's declineLease: its DNS records go too
        p = self._pool_at(addr)
        if p != NIL:                 # probation: out of the pool until it ends
            pool_block(&self.pools[p], addr - self.pools[p].first)
        lt_clear_client(&self.t, mine)
        self.t.rec[mine].valid_lft = self.decline_probation
        lt_set_state(&self.t, mine, LS_DECLINED, now + self.decline_probation)
        self.account(&self.t.rec[mine], 0, 1)
        self.subnets[self.t.rec[mine].subnet].stat[SS_DECLINED_ASSIGNED] += 1
        lt_journal(&self.t, mine, JR_UPSERT)
        return True

    # Reclaim what has expired up to `now`: lapsed offers and leases return to their pools,
    # declined addresses come off probation. Walks only the wheel seconds that have passed.
    cdef uint32_t reclaim_c(self, int64_t now) noexcept:
        cdef uint32_t done = 0
        cdef int64_t sec, start
        cdef uint32_t n
        if self.t.wheel_time < 0 or now - self.t.wheel_time >= WHEEL_SLOTS:
            start = now - WHEEL_SLOTS + 1
        else:
            start = self.t.wheel_time + 1
        done += self.reclaim_list(&self.t.overdue, now)
        sec = start
        while sec <= now:
            done += self.reclaim_list(&self.t.wheel[<uint32_t>(sec & (WHEEL_SLOTS - 1))], now)
            sec += 1
        if now > self.t.wheel_time:
            self.t.wheel_time = now
        return done

    cdef uint32_t reclaim_list(self, uint32_t* head, int64_t now) noexcept:
        cdef uint32_t r = head[0], nxt, done = 0, p
        cdef bint was_bound
        cdef Lease* l
        while r != NIL:
            l = &self.t.rec[r]
            nxt = l.wheel_next
            if l.expire <= now:
                done += 1
                if l.state == LS_DECLINED:
                    self.subnets[l.subnet].stat[SS_RECLAIMED] += 1
                    self.subnets[l.subnet].stat[SS_RECLAIMED_DECLINED] += 1
                    self.subnets[l.subnet].stat[SS_DECLINED_RECLAIMED] += 1
                    self.end_decline(l)
                    lt_journal(&self.t, r, JR_DELETE)
                    lt_delete(&self.t, r)
                else:
                    was_bound = l.state == LS_BOUND
                    self.give_back(r)
                    if was_bound:
                        # Kea's reclaimExpiredLease: the removal of its DNS records queued,
                        # then the name forgotten (no second removal)
                        self.ncr_remove(r)
                        if l.host_len:
                            lt_set_host(&self.t, r, NULL, 0)
                        l.flags &= ~(LF_FQDN_FWD | LF_FQDN_REV)
                    lt_set_state(&self.t, r, LS_EXPIRED, l.expire)
                    if was_bound:
                        self.subnets[l.subnet].stat[SS_RECLAIMED] += 1
                        lt_journal(&self.t, r, JR_UPSERT)
            r = nxt
        return done

    # ---- Python edge: tools, tests, the control API ------------------------------------------

    cdef uint32_t _subnet(self, uint32_t subnet_id) except? 0xFFFFFFFF:
        try:
            return self.subnet_index[subnet_id]
        except KeyError:
            raise ValueError(f"no subnet with id {subnet_id}") from None

    cdef void _key(self, uint32_t sn, ClientKey* k, const uint8_t[::1] hw, uint8_t htype,
                   const uint8_t[::1] cid):
        cdef bint has_cid = cid is not None and cid.shape[0] != 0
        lt_key_make(k, sn, htype, &hw[0] if hw.shape[0] else NULL, <uint8_t>min(hw.shape[0], HW_MAX),
                    &cid[0] if has_cid else NULL, <uint8_t>min(cid.shape[0], CID_MAX) if has_cid else 0,
                    self.subnets[sn].match_client_id)

    cdef void _ids(self, ClientIds* ids, const uint8_t[::1] hw, const uint8_t[::1] cid,
                   const uint8_t[::1] circuit):
        memset(ids, 0, sizeof(ClientIds))
        if hw is not None and hw.shape[0]:
            ids.hw, ids.hwlen = &hw[0], <uint8_t>min(hw.shape[0], HW_MAX)
        if cid is not None and cid.shape[0]:
            ids.cid, ids.cid_len = &cid[0], <uint8_t>min(cid.shape[0], CID_MAX)
        if circuit is not None and circuit.shape[0]:
            ids.circuit, ids.circuit_len = &circuit[0], <uint8_t>min(circuit.shape[0], OPT_LEN_MAX)

    def offer(self, uint32_t subnet_id, bytes hw, *, int htype=1, bytes client_id=None,
              bytes circuit_id=None, requested=None, int64_t now):
        """DISCOVER: the address to offer (held for ``offer_lifetime`` seconds), or None when the
        subnet's pools are exhausted."""
        cdef uint32_t sn = self._subnet(subnet_id)
        cdef ClientKey k
        cdef ClientIds ids
        cdef int status
        self._key(sn, &k, hw, htype, client_id)
        self._ids(&ids, hw, client_id, circuit_id)
        cdef uint32_t a = self.offer_c(sn, &k, &ids, ip_to_u32(requested) if requested else 0,
                                       now, &status)
        if status == AS_NO_MEMORY:
            raise MemoryError()
        return None if a == NIL else u32_to_ip(a)

    def request(self, uint32_t subnet_id, bytes hw, address, *, int htype=1, bytes client_id=None,
                bytes circuit_id=None, uint32_t lifetime, int64_t now, str hostname="",
                bint fqdn_fwd=False, bint fqdn_rev=False):
        """REQUEST for ``address``: returns the outcome name, "ack" or why it is NAKed
        ("wrong-subnet", "taken", "unavailable", "reserved-elsewhere"). ``fqdn_fwd`` and
        ``fqdn_rev``: the DNS updates the lease records (Kea's lease columns)."""
        cdef uint32_t sn = self._subnet(subnet_id)
        cdef ClientKey k
        cdef ClientIds ids
        cdef bytes host = hostname.encode()[:HOST_MAX]
        self._key(sn, &k, hw, htype, client_id)
        self._ids(&ids, hw, client_id, circuit_id)
        cdef int st = self.request_c(sn, &k, &ids, ip_to_u32(address), lifetime, now, host, len(host),
                                     (LF_FQDN_FWD if fqdn_fwd else 0) | (LF_FQDN_REV if fqdn_rev else 0))
        if st == AS_NO_MEMORY:
            raise MemoryError()
        return _OUTCOMES[st]

    def release(self, uint32_t subnet_id, bytes hw, address, *, int htype=1, bytes client_id=None,
                int64_t now):
        """RELEASE: True if the client held the address and it went back to the pool."""
        cdef ClientKey k
        self._key(self._subnet(subnet_id), &k, hw, htype, client_id)
        return self.release_c(&k, ip_to_u32(address), now)

    def decline(self, uint32_t subnet_id, bytes hw, address, *, int htype=1, bytes client_id=None,
                int64_t now):
        """DECLINE: the address goes on probation for ``decline_probation`` seconds."""
        cdef ClientKey k
        self._key(self._subnet(subnet_id), &k, hw, htype, client_id)
        return self.decline_c(&k, ip_to_u32(address), now)

    def reclaim(self, int64_t now):
        """Reclaim everything that expired up to ``now``; returns how many leases changed."""
        return self.reclaim_c(now)

    def lease(self, address):
        """The lease record for an address (any state), or None."""
        cdef uint32_t r = lt_find_addr(&self.t, ip_to_u32(address))
        return None if r == NIL else self._lease(&self.t.rec[r])

    def lease_of(self, uint32_t subnet_id, bytes hw, *, int htype=1, bytes client_id=None):
        """The client's lease record in the subnet (any state), or None."""
        cdef ClientKey k
        self._key(self._subnet(subnet_id), &k, hw, htype, client_id)
        cdef uint32_t r = lt_find_key(&self.t, &k)
        return None if r == NIL else self._lease(&self.t.rec[r])

    def leases(self):
        """Every lease record, as Lease objects (a snapshot)."""
        cdef uint32_t r
        return [self._lease(&self.t.rec[r]) for r in range(self.t.used) if self.t.rec[r].state != LS_FREE]

    def drain_journal(self):
        """The changes recorded since the last drain, oldest first, as (op, Lease) with op
        "upsert" or "delete"; the ring is emptied."""
        cdef uint32_t i
        out = [("upsert" if self.t.journal[i].op == JR_UPSERT else "delete",
                self._lease(&self.t.journal[i].lease)) for i in range(self.t.journal_len)]
        self.t.journal_len = 0
        lt_compact_arena(&self.t)
        return out

    def table_info(self):
        """The lease table's sizes: records in use and allocated, key index slots, directory
        leaves, and the arena's bytes (all, and no longer referenced)."""
        return {"records": self.t.count, "record-capacity": self.t.capacity,
                "key-slots": self.t.index_mask + 1, "directory-leaves": self.t.by_addr.n_leaves,
                "arena-bytes": self.t.arena.len, "arena-dead-bytes": self.t.arena_dead}

    cdef object _lease(self, const Lease* l):
        cdef const SubnetC* s = &self.subnets[l.subnet]
        cdef uint32_t p = self._pool_at(l.addr)
        cdef uint32_t pool_in_subnet = p - s.first_pool if p != NIL else 0
        return PyLease(address=u32_to_ip(l.addr), hwaddr=lt_hw(l)[:l.hwlen],
                     client_id=lt_cid(&self.t, l)[:l.cid_len], valid_lifetime=l.valid_lft,
                     expire=l.expire, subnet_id=s.id, state=LeaseState(l.state),
                     hostname=lt_host(&self.t, l)[:l.host_len].decode("utf-8", "replace"),
                     fqdn_fwd=bool(l.flags & LF_FQDN_FWD), fqdn_rev=bool(l.flags & LF_FQDN_REV),
                     pool_id=pool_in_subnet, htype=l.htype)

    def stats(self, uint32_t subnet_id):
        """Kea's per-subnet statistics: total-addresses, assigned-addresses, declined-addresses,
        and free-addresses (what the pools can still hand out)."""
        cdef uint32_t sn = self._subnet(subnet_id), p
        cdef SubnetC* s = &self.subnets[sn]
        free_n = 0
        for p in range(s.first_pool, s.first_pool + s.n_pools):
            free_n += self.pools[p].free_count
        return {"total-addresses": s.total, "assigned-addresses": s.assigned,
                "declined-addresses": s.declined, "free-addresses": free_n}

    def counters(self, uint32_t subnet_id):
        """The subnet's cumulative counters (SUBNET_COUNTERS: Kea's subnet[id].* names, and
        the two that turn assigned-addresses into Kea's, which counts a declined address until
        its probation ends)."""
        cdef SubnetC* s = &self.subnets[self._subnet(subnet_id)]
        return {name: s.stat[k] for k, name in enumerate(SUBNET_COUNTERS)}

    @property
    def lease_count(self):
        return self.t.count

    def load(self, records, int64_t now):
        """Bulk-load leases (a restart): an iterable of tuples
        (address, hwaddr, client_id, valid_lifetime, expire, subnet_id, state, hostname[, fqdn_fwd,
        fqdn_rev]), state a
        LeaseState value. Later records for the same address win. Leases already expired at
        ``now`` are loaded as expired (their address stays free); declined ones block their
        address until their probation ends. Returns how many were loaded."""
        cdef uint32_t n = 0
        cdef int got
        cdef bytes host, hw_b, cid_b
        if hasattr(records, "__len__") and lt_reserve(&self.t, self.t.count + len(records)) != 0:
            raise MemoryError()
        cdef uint8_t fqdn
        for rec in records:
            address, hw, cid, valid, expire, subnet_id, state, hostname = rec[:8]
            fqdn = ((LF_FQDN_FWD if rec[8] else 0) | (LF_FQDN_REV if rec[9] else 0)) \
                if len(rec) >= 10 else 0
            # the identifiers straight from the bytes objects (no buffer acquisition per row)
            hw_b = hw
            cid_b = cid or b""
            host = hostname.encode()[:HOST_MAX] if hostname else b""
            got = self.load_one(self._subnet(subnet_id), ip_to_u32(address), 1, hw_b,
                                <uint8_t>min(len(hw_b), HW_MAX), cid_b,
                                <uint8_t>min(len(cid_b), CID_MAX), valid, expire, state, host,
                                len(host), now, fqdn)
            if got < 0:
                raise MemoryError()
            n += got
        return n

    def load_csv(self, const uint8_t[::1] data, int64_t now, uint32_t max_row_errors=0,
                 uint32_t first_line=2):
        """Bulk-load the rows of a Kea memfile v4 CSV (``data``: the file after its header line,
        which is line ``first_line - 1``), natively: the restart path. Later rows of an address
        win; valid_lifetime 0 is Kea's removal marker; rows of subnets not configured are
        skipped; bad rows are counted and skipped (ValueError past ``max_row_errors``, 0: no
        limit); an incomplete last line (a torn write) is ignored. Returns a dict: loaded,
        other_subnet, bad, bad_rows (up to 100 (line, reason)), torn."""
        return memfile_load(self, data, now, max_row_errors, first_line)

    def adopt(self, Allocator old, int64_t now):
        """Take over ``old``'s leases (a reload: the new configuration's tables start from what
        the running ones hold), natively, record by record as load() would from the lease file.
        Leases of subnets the new configuration no longer has are left behind. Returns how
        many were taken."""
        cdef uint32_t r, n = 0, i
        cdef int got
        cdef const Lease* l
        cdef uint32_t* to_new = <uint32_t*>malloc(max(old.n_subnets, 1) * sizeof(uint32_t))
        if to_new == NULL:
            raise MemoryError()
        try:
            for i in range(old.n_subnets):
                idx = self.subnet_index.get(old.subnets[i].id)
                to_new[i] = NIL if idx is None else idx
            if lt_reserve(&self.t, self.t.count + old.t.count) != 0:
                raise MemoryError()
            for r in range(old.t.used):
                l = &old.t.rec[r]
                if l.state == LS_FREE or to_new[l.subnet] == NIL:
                    continue
                got = self.load_one(to_new[l.subnet], l.addr, l.htype, lt_hw(l), l.hwlen,
                                    lt_cid(&old.t, l), l.cid_len, l.valid_lft, l.expire, l.state,
                                    lt_host(&old.t, l), l.host_len, now,
                                    l.flags & (LF_FQDN_FWD | LF_FQDN_REV))
                if got < 0:
                    raise MemoryError()
                n += got
        finally:
            free(to_new)
        return n

    # ---- the control channel's lease commands (fastdhcp.control.leases) -----------------------

    cdef uint32_t _next_listed(self, int64_t* a, uint32_t* visited, uint32_t max_visit) noexcept:
        """The record of the next lease a lease command lists (bound, declined,
        expired-reclaimed) at or after address ``a[0]``, which moves past it; NIL once
        ``max_visit`` directory entries are visited or the address space ends. Blocks of 1024
        addresses without a leaf are skipped in one step."""
        cdef uint32_t block, leaf, r
        cdef uint64_t e
        cdef const Lease* l
        while a[0] <= 0xFFFFFFFF and visited[0] < max_visit:
            block = <uint32_t>(a[0] >> DIR_LEAF_BITS)
            leaf = self.t.by_addr.top[block]
            visited[0] += 1
            if leaf == 0:
                a[0] = (<int64_t>block + 1) << DIR_LEAF_BITS
                continue
            e = self.t.by_addr.leaves[((<size_t>leaf - 1) << DIR_LEAF_BITS) | (a[0] & (DIR_LEAF - 1))]
            a[0] += 1
            if e == 0:
                continue
            r = dir_rec(e)
            l = &self.t.rec[r]
            if lt_kea_state(l) >= 0:
                return r
        return NIL

    def walk(self, after, uint32_t limit, uint32_t max_visit=1 << 20):
        """The leases a Kea lease command lists (bound, declined, expired-reclaimed; not offers
        or released ones), in address order from the first address past ``after`` (an int, -1
        for the start): at most ``limit`` of them, after visiting at most ``max_visit``
        directory entries. Returns (leases, next): ``next`` is where the next slice starts
        (the last address visited), or None at the end of the address space. Blocks of 1024
        addresses without a leaf are skipped in one step, so a walk costs the leases listed
        plus the blocks of the address space in between, never a sort of the table."""
        cdef int64_t a = <int64_t>after + 1
        cdef uint32_t r, visited = 0
        out = []
        while len(out) < limit:
            r = self._next_listed(&a, &visited, max_visit)
            if r == NIL:
                break
            out.append(self._lease(&self.t.rec[r]))
        return out, (None if a > 0xFFFFFFFF else a - 1)

    def walk_json(self, after, uint32_t limit, subnets=None, uint32_t max_visit=1 << 20):
        """As ``walk``, with each lease written as Kea's lease JSON object (leasejson.pyx) and
        the objects joined by ", " (no brackets): returns (text, count, next). ``subnets``: a
        collection of subnet ids to keep (None: all)."""
        cdef int64_t a = <int64_t>after + 1
        cdef uint32_t r, visited = 0, count = 0, p, pool_in_subnet
        cdef const Lease* l
        cdef const SubnetC* s
        cdef JsonOut o
        cdef char tmp[96]
        cdef int k
        cdef bytearray keep = None
        if subnets is not None:
            keep = bytearray(self.n_subnets)
            for sid in subnets:
                if sid in self.subnet_index:
                    keep[self.subnet_index[sid]] = 1
        o.p, o.n, o.cap = NULL, 0, 0
        try:
            jo_reserve(&o, <size_t>min(limit, 4096) * 256)
            while count < limit:
                r = self._next_listed(&a, &visited, max_visit)
                if r == NIL:
                    break
                l = &self.t.rec[r]
                if keep is not None and not keep[l.subnet]:
                    continue
                s = &self.subnets[l.subnet]
                if count:
                    jo_raw(&o, ", ", 2)
                count += 1
                jo_raw(&o, "{", 1)
                if l.cid_len:
                    jo_raw(&o, '"client-id": ', 13)
                    jo_hex(&o, lt_cid(&self.t, l), l.cid_len)
                    jo_raw(&o, ", ", 2)
                k = snprintf(tmp, sizeof(tmp), '"cltt": %lld, "fqdn-fwd": %s, "fqdn-rev": %s, '
                             '"hostname": ', <long long>(l.expire - l.valid_lft),
                             "true" if l.flags & LF_FQDN_FWD else "false",
                             "true" if l.flags & LF_FQDN_REV else "false")
                jo_raw(&o, tmp, k)
                jo_string(&o, lt_host(&self.t, l), l.host_len)
                jo_raw(&o, ', "hw-address": ', 16)
                jo_hex(&o, lt_hw(l), l.hwlen)
                k = snprintf(tmp, sizeof(tmp), ', "ip-address": "%u.%u.%u.%u"', l.addr >> 24,
                             (l.addr >> 16) & 255, (l.addr >> 8) & 255, l.addr & 255)
                jo_raw(&o, tmp, k)
                p = self._pool_at(l.addr)
                pool_in_subnet = p - s.first_pool if p != NIL else 0
                if pool_in_subnet:
                    jo_number(&o, ', "pool-id": ', pool_in_subnet)
                jo_number(&o, ', "state": ', 0 if l.state == LS_BOUND else
                          1 if l.state == LS_DECLINED else 2)
                jo_number(&o, ', "subnet-id": ', s.id)
                jo_number(&o, ', "valid-lft": ', l.valid_lft)
                jo_raw(&o, "}", 1)
            text = o.p[:o.n] if o.n else b""
        finally:
            free(o.p)
        return text, count, (None if a > 0xFFFFFFFF else a - 1)

    def lookup(self, str kind, value, subnet_id=None):
        """The listed leases (as ``walk`` lists them) whose ``kind`` is ``value``, in address
        order: "hostname" (str, compared case-insensitively), "hw-address" or "client-id"
        (bytes), "state" (Kea's number: 0 bound, 1 declined, 2 expired-reclaimed); only
        subnet ``subnet_id`` if given. Costs the leases of the value's chain, through the
        lookup indexes (leaseindex.pyx), built here on first use."""
        cdef int k = {"hostname": LX_HOST, "hw-address": LX_HW, "client-id": LX_CID,
                      "state": LX_STATE}[kind]
        cdef bytes want = b""
        cdef uint32_t h, r, sn = NIL
        cdef const Lease* l
        if k == LX_STATE:
            if not 0 <= value <= 2:
                return []
            h = <uint32_t>value
        else:
            want = value.encode("utf-8") if k == LX_HOST else bytes(value)
            if not want or len(want) > HOST_MAX:
                return []
            h = (lx_host_hash(want, len(want)) if k == LX_HOST else
                 lt_bytes_hash(k, want, len(want)))
        if subnet_id is not None:
            if subnet_id not in self.subnet_index:
                return []
            sn = self.subnet_index[subnet_id]
        if not self.prepare_lookups(0xFFFFFFFF):
            raise MemoryError()
        found = []
        r = lx_first(self.t.lookup, k, h)
        while r != NIL:
            l = &self.t.rec[r]
            if self.t.lookup.links[r].hash[k] == h and lt_kea_state(l) >= 0 and \
                    (sn == NIL or l.subnet == sn) and self._holds(l, k, want, h):
                found.append((l.addr, r))
            r = self.t.lookup.links[r].next[k]
        found.sort()
        return [self._lease(&self.t.rec[r]) for _, r in found]

    def prepare_lookups(self, uint32_t n):
        """Build the lookup indexes ``lookup`` uses, n records at a time: True once they are
        ready (False: call again; packet batches may run in between, the indexes follow their
        changes). Raises MemoryError if they cannot be had."""
        if lx_build(&self.t) != 0:
            raise MemoryError()
        return lx_build_step(&self.t, n)

    cdef bint _holds(self, const Lease* l, int k, bytes want, uint32_t h):
        # the record's own value, as chains share buckets and hashes can collide
        cdef const uint8_t* p = want
        cdef uint32_t n = len(want), i
        cdef uint8_t a, b
        if k == LX_STATE:
            return <uint32_t>lt_kea_state(l) == h
        if k == LX_HW:
            return l.hwlen == n and memcmp(lt_hw(l), p, n) == 0
        if k == LX_CID:
            return l.cid_len == n and memcmp(lt_cid(&self.t, l), p, n) == 0
        if l.host_len != n:
            return False
        for i in range(n):
            a, b = lt_host(&self.t, l)[i], p[i]
            if (a + 32 if 65 <= a <= 90 else a) != (b + 32 if 65 <= b <= 90 else b):
                return False
        return True

    def remove(self, address, int64_t now):
        """lease4-del: the lease of ``address`` ends as a RELEASE ends it (the address back to
        its pool, a removal row in the journal). True if there was a bound, offered or
        expired-reclaimed lease; a declined address stays on probation (False)."""
        cdef uint32_t r = lt_find_addr(&self.t, ip_to_u32(address))
        if r == NIL:
            return False
        cdef uint8_t st = self.t.rec[r].state
        if st == LS_BOUND or st == LS_OFFERED:
            self.give_back(r)
        elif st != LS_EXPIRED:
            return False
        lt_set_state(&self.t, r, LS_RELEASED, now)
        lt_journal(&self.t, r, JR_UPSERT)
        return True

    # One lease into the table, as load() and adopt() take them: 1 loaded, 0 skipped (an
    # address the file gives twice as held), -1 out of memory.
    cdef int load_one(self, uint32_t sn, uint32_t a, uint8_t htype, const uint8_t* hw,
                      uint8_t hwlen, const uint8_t* cid, uint8_t cid_len, uint32_t valid,
                      int64_t expire, uint8_t st, const uint8_t* host, uint16_t host_len,
                      int64_t now, uint8_t fqdn=0) noexcept:
        cdef uint32_t r, p
        cdef ClientKey k
        cdef uint8_t hw_copy[HW_MAX]
        cdef uint8_t cid_copy[CID_MAX]
        cdef uint8_t host_copy[HOST_MAX]
        # copies: adopt() passes pointers into another table's arena, which must stay untouched
        if hwlen:
            memcpy(hw_copy, hw, hwlen)
        if cid_len:
            memcpy(cid_copy, cid, cid_len)
        if host_len > HOST_MAX:
            host_len = HOST_MAX
        if host_len:
            memcpy(host_copy, host, host_len)
        r = lt_find_addr(&self.t, a)
        if r != NIL:                       # last record per address wins
            self.give_back(r)
            if self.t.rec[r].state == LS_DECLINED:
                self.end_decline(&self.t.rec[r])
            lt_delete(&self.t, r)
        if st == LS_BOUND and expire <= now:
            st = LS_EXPIRED                # reclaimed, not resurrected
        lt_key_make(&k, sn, htype, hw_copy, hwlen, cid_copy, cid_len, self.subnets[sn].match_client_id)
        r = lt_find_key(&self.t, &k)
        if r != NIL and st != LS_DECLINED:  # a client's newer lease replaces its older one
            self.give_back(r)
            lt_delete(&self.t, r)
        p = self._pool_at(a)
        if st == LS_BOUND or st == LS_OFFERED:
            if p != NIL and not pool_alloc_specific(&self.pools[p], a - self.pools[p].first) \
                    and not pool_is_blocked(&self.pools[p], a - self.pools[p].first):
                return 0                   # inconsistent file: address already taken
        r = lt_new(&self.t, a)
        if r == NIL:
            return -1
        self.t.rec[r].subnet = sn
        if st != LS_DECLINED:
            if not lt_set_client(&self.t, r, &k):
                return -1
            if host_len and not lt_set_host(&self.t, r, host_copy, host_len):
                return -1
            self.t.rec[r].flags |= fqdn
        elif p != NIL:
            pool_block(&self.pools[p], a - self.pools[p].first)
        self.t.rec[r].valid_lft = valid
        lt_set_state(&self.t, r, st, expire)
        if st == LS_OFFERED and p != NIL and not pool_is_blocked(&self.pools[p], a - self.pools[p].first):
            pool_offer_mark(&self.pools[p], a - self.pools[p].first)
        if st == LS_BOUND:
            self.account(&self.t.rec[r], 1, 0)
        elif st == LS_DECLINED:
            self.account(&self.t.rec[r], 0, 1)
        return 1


_RESV_KINDS = {"hw-address": RK_HW, "client-id": RK_CLIENT_ID, "circuit-id": RK_CIRCUIT_ID,
               "duid": RK_DUID}

_OUTCOMES = {AS_ACK: "ack", AS_NAK_WRONG_SUBNET: "wrong-subnet", AS_NAK_TAKEN: "taken",
             AS_NAK_UNAVAILABLE: "unavailable", AS_NAK_RESERVED_ELSEWHERE: "reserved-elsewhere"}
