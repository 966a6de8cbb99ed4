# Hierarchical free-address bitmap over a contiguous range of up to 2^24 addresses (a /8).
# Level 0 has one bit per address (1 = free); each level above has one bit per word of the level
# below (1 = that word has a free bit). A second bitmap of the same shape marks the addresses held
# only by an offer. Finding the next free address from any point is a climb of
# at most `levels` words and a descent of as many, with count-trailing-zeros at each: no scan,
# whatever the pool size or fill. Included by _core.pyx.

from libc.stdlib cimport calloc, free
from libc.string cimport memset

cdef extern from *:
    int __builtin_ctzll(unsigned long long x) nogil


cdef inline uint64_t pool_mask_from(uint32_t i) noexcept nogil:
    return (<uint64_t>0xFFFFFFFFFFFFFFFF) << (i & 63)


# Set the first n bits of a level (all free), the rest of its last word clear.
cdef void pool_fill_level(uint64_t* words, uint32_t n) noexcept nogil:
    cdef uint32_t full = n >> 6, rest = n & 63
    memset(words, 0xFF, full * sizeof(uint64_t))
    if rest:
        words[full] = ((<uint64_t>1) << rest) - 1


cdef int pool_init(Pool* p, uint32_t first, uint32_t size) noexcept nogil:
    cdef uint32_t n = size, lv = 0, words
    memset(p, 0, sizeof(Pool))
    if size == 0 or size > POOL_MAX_SIZE:
        return -1
    p.first = first
    p.size = size
    p.free_count = size
    while True:
        words = (n + 63) >> 6
        p.nbits[lv] = n
        p.bits[lv] = <uint64_t*>calloc(words, sizeof(uint64_t))
        p.offered[lv] = <uint64_t*>calloc(words, sizeof(uint64_t))
        if p.bits[lv] == NULL or p.offered[lv] == NULL:
            return -1
        pool_fill_level(p.bits[lv], n)
        lv += 1
        if words == 1:
            break
        n = words
    p.levels = lv
    p.blocked = <uint64_t*>calloc((size + 63) >> 6, sizeof(uint64_t))
    return 0 if p.blocked != NULL else -1


cdef void pool_free_memory(Pool* p) noexcept nogil:
    cdef uint32_t lv
    for lv in range(POOL_MAX_LEVELS):
        free(p.bits[lv])
        free(p.offered[lv])
        p.bits[lv] = NULL
        p.offered[lv] = NULL
    free(p.blocked)
    p.blocked = NULL


cdef inline bint pool_is_free(const Pool* p, uint32_t i) noexcept nogil:
    return (p.bits[0][i >> 6] >> (i & 63)) & 1


cdef inline bint pool_is_blocked(const Pool* p, uint32_t i) noexcept nogil:
    return (p.blocked[i >> 6] >> (i & 63)) & 1


# Clear bit i of a hierarchical bitmap (bits: the free one or the offered one); a word that
# becomes empty clears its bit one level up, and so on.
cdef inline void pool_bit_clear(const Pool* p, uint64_t** bits, uint32_t i) noexcept nogil:
    cdef uint32_t lv = 0
    cdef uint64_t* w
    while lv < p.levels:
        w = &bits[lv][i >> 6]
        w[0] &= ~((<uint64_t>1) << (i & 63))
        if w[0] != 0:
            return
        i >>= 6
        lv += 1


# Set bit i; a word that was empty sets its bit one level up, and so on.
cdef inline void pool_bit_set(const Pool* p, uint64_t** bits, uint32_t i) noexcept nogil:
    cdef uint32_t lv = 0
    cdef uint64_t* w
    cdef uint64_t before
    while lv < p.levels:
        w = &bits[lv][i >> 6]
        before = w[0]
        w[0] = before | ((<uint64_t>1) << (i & 63))
        if before != 0:
            return
        i >>= 6
        lv += 1


# The first set index >= i, or POOL_NONE: climb while the rest of the word is empty, then
# descend by ctz. At most 2 * levels word reads.
cdef uint32_t pool_bit_find(const Pool* p, uint64_t** bits, uint32_t i) noexcept nogil:
    cdef uint32_t lv = 0
    cdef uint64_t word
    while True:
        if lv >= p.levels or i >= p.nbits[lv]:
            return POOL_NONE
        word = bits[lv][i >> 6] & pool_mask_from(i)
        if word:
            i = (i & ~(<uint32_t>63)) + <uint32_t>__builtin_ctzll(word)
            break
        i = (i >> 6) + 1        # the next word of this level, as a bit index one level up
        lv += 1
    while lv > 0:
        lv -= 1
        i = (i << 6) + <uint32_t>__builtin_ctzll(bits[lv][i])
    return i


# Address i taken out of the free set.
cdef inline void pool_take(Pool* p, uint32_t i) noexcept nogil:
    p.free_count -= 1
    pool_bit_clear(p, p.bits, i)


# Address i back in the free set.
cdef inline void pool_put(Pool* p, uint32_t i) noexcept nogil:
    p.free_count += 1
    pool_bit_set(p, p.bits, i)


# The first free index >= i, or POOL_NONE.
cdef inline uint32_t pool_find_from(const Pool* p, uint32_t i) noexcept nogil:
    return pool_bit_find(p, p.bits, i)


# Mark (or unmark) address i as held by an offer only; both are idempotent, so the allocator
# calls them wherever a record may enter or leave the offered state.
cdef inline void pool_offer_mark(Pool* p, uint32_t i) noexcept nogil:
    if not (p.offered[0][i >> 6] >> (i & 63)) & 1:
        p.offered_count += 1
        pool_bit_set(p, p.offered, i)


cdef inline void pool_offer_unmark(Pool* p, uint32_t i) noexcept nogil:
    if (p.offered[0][i >> 6] >> (i & 63)) & 1:
        p.offered_count -= 1
        pool_bit_clear(p, p.offered, i)


# The next offered address after the offer cursor (wrapping once), or POOL_NONE; the cursor
# moves past it, so that successive calls go round the offers instead of taking one back and forth.
cdef uint32_t pool_next_offered(Pool* p) noexcept nogil:
    cdef uint32_t i
    if p.offered_count == 0:
        return POOL_NONE
    i = pool_bit_find(p, p.offered, p.offer_cursor)
    if i == POOL_NONE:
        i = pool_bit_find(p, p.offered, 0)
    p.offer_cursor = i + 1 if i + 1 < p.size else 0
    return i


# Allocate-any: the next free address after the cursor, wrapping once. The cursor moves past
# what it hands out, so a just-released address is not given straight to the next client.
cdef uint32_t pool_alloc_any(Pool* p) noexcept nogil:
    cdef uint32_t i
    if p.free_count == 0:
        return POOL_NONE
    i = pool_find_from(p, p.cursor)
    if i == POOL_NONE:
        i = pool_find_from(p, 0)
    pool_take(p, i)
    p.cursor = i + 1 if i + 1 < p.size else 0
    return i


cdef bint pool_alloc_specific(Pool* p, uint32_t i) noexcept nogil:
    if i >= p.size or not pool_is_free(p, i):
        return False
    pool_take(p, i)
    return True


# Return an address to the free set, unless it is blocked (reserved, declined, excluded).
cdef bint pool_release(Pool* p, uint32_t i) noexcept nogil:
    if i >= p.size or pool_is_free(p, i) or pool_is_blocked(p, i):
        return False
    pool_put(p, i)
    return True


# Mark unavailable: taken out of the free set (if free) and kept out of it by release.
cdef void pool_block(Pool* p, uint32_t i) noexcept nogil:
    if pool_is_blocked(p, i):
        return
    p.blocked[i >> 6] |= (<uint64_t>1) << (i & 63)
    if pool_is_free(p, i):
        pool_take(p, i)


# Unmark: free again unless someone holds it (the caller says, since it owns the lease table).
cdef void pool_unblock(Pool* p, uint32_t i, bint held) noexcept nogil:
    if not pool_is_blocked(p, i):
        return
    p.blocked[i >> 6] &= ~((<uint64_t>1) << (i & 63))
    if not held:
        pool_put(p, i)
